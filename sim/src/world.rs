//! The simulated lab of one trial: guests on hosts, hosts in clusters, the cluster layer,
//! and the glue between the layers.
//!
//! The layout follows the study (and `model::topology`'s builders): the single-node and
//! DRBD + Heartbeat architectures use one cluster of two hosts; the combined architecture
//! lays the pair across a primary and a backup cluster, each guest on shared storage of
//! its cluster and protected by that cluster's VM restart. What the world adds to the
//! machines is what no machine does: a host that dies takes its guests with it, and a
//! guest VM that the cluster layer boots on some host brings the guest back there from its
//! replica's metadata.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use core::time::Duration;

use model::cluster::openstack::{ComputeHost, MasakariEngine, NovaController, OpenStackConfig};
use model::cluster::vmware::{Datastore, FdmAgent, IsolationAddress, VmwareConfig};
use model::cluster::{ClusterCommand, VmSpec, VmStorage};
use model::guest::{Guest, GuestCommand, GuestConfig};
use model::membership::MembershipConfig;
use model::replication::uuid::GenerationIds;
use model::replication::{DiskState, Protocol, ReplicaConfig, ReplicaMeta, Role};
use model::resources::{GroupConfig, ResourceKind, ResourceSpec};
use model::testing::{Cluster, VirtualDisk, VirtualNetwork, VirtualProcess};
use model::{NodeId, ProcessId};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::node::{SimCommand, SimNode};
use crate::profile::Profile;
use crate::scenario::{Architecture, Cell, Platform};
use crate::timing::{SharedState, SimTiming};

/// Guest A, the preferred node (the active VM at the start of every trial).
pub const GUEST_A: NodeId = NodeId(0);
/// Guest B, the standby.
pub const GUEST_B: NodeId = NodeId(1);
/// The group's replica resource.
pub const DRBD: ProcessId = ProcessId(1);
/// The file system on the DRBD device.
pub const FS: ProcessId = ProcessId(2);
/// The service address.
pub const IP: ProcessId = ProcessId(3);
/// The service (Apache or MySQL).
pub const SERVICE: ProcessId = ProcessId(4);
/// The isolation address (vSphere HA's gateway).
const GATEWAY: NodeId = NodeId(25);

/// A node's name in timelines: the guests `a` and `b`, hosts `h10`..`h13`, datastores
/// `ds20`/`ds21`, the isolation address `gw`, Nova controllers `nova30`/`nova31`,
/// Masakari engines `masakari32`/`masakari33`.
pub fn node_name(node: NodeId) -> String {
    match node.0 {
        0 => "a".into(),
        1 => "b".into(),
        10..=19 => format!("h{}", node.0),
        20..=24 => format!("ds{}", node.0),
        25 => "gw".into(),
        30 | 31 => format!("nova{}", node.0),
        32 | 33 => format!("masakari{}", node.0),
        n => format!("n{n}"),
    }
}

/// The VM of a guest, as the cluster layer knows it.
pub fn vm_of(guest: NodeId) -> ProcessId {
    ProcessId(100 + guest.0)
}

/// One cluster of the lab.
#[derive(Clone, Debug)]
pub struct ClusterLayout {
    /// Its hosts.
    pub hosts: Vec<NodeId>,
    /// Its shared datastore (VMware) — unused on OpenStack.
    pub datastore: NodeId,
    /// Its Nova controller and Masakari engine (OpenStack) — unused on VMware.
    pub controller: NodeId,
    /// The Masakari engine.
    pub engine: NodeId,
}

/// The placement of one trial's machines.
#[derive(Clone, Debug)]
pub struct Layout {
    /// The clusters; the first holds guest A.
    pub clusters: Vec<ClusterLayout>,
    /// Guest -> the host it starts on.
    pub home: BTreeMap<NodeId, NodeId>,
    /// Guest VMs' storage.
    pub storage: VmStorage,
}

impl Layout {
    /// The layout of `architecture`.
    pub fn of(architecture: Architecture) -> Layout {
        let primary = ClusterLayout {
            hosts: vec![NodeId(10), NodeId(11)],
            datastore: NodeId(20),
            controller: NodeId(30),
            engine: NodeId(32),
        };
        let backup = ClusterLayout {
            hosts: vec![NodeId(12), NodeId(13)],
            datastore: NodeId(21),
            controller: NodeId(31),
            engine: NodeId(33),
        };
        match architecture {
            Architecture::SingleNode => Layout {
                clusters: vec![primary],
                home: BTreeMap::from([(GUEST_A, NodeId(10))]),
                storage: VmStorage::Local,
            },
            Architecture::DrbdHeartbeat => Layout {
                clusters: vec![primary],
                home: BTreeMap::from([(GUEST_A, NodeId(10)), (GUEST_B, NodeId(11))]),
                storage: VmStorage::Local,
            },
            Architecture::Combined => Layout {
                clusters: vec![primary, backup],
                home: BTreeMap::from([(GUEST_A, NodeId(10)), (GUEST_B, NodeId(12))]),
                storage: VmStorage::Shared,
            },
        }
    }

    /// The cluster `host` belongs to.
    pub fn cluster_of(&self, host: NodeId) -> Option<&ClusterLayout> {
        self.clusters.iter().find(|c| c.hosts.contains(&host))
    }
}

/// Seconds as a duration: negative and NaN are zero, too large saturates (a validated
/// profile or schedule never gets there).
pub fn secs(s: f64) -> Duration {
    Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(Duration::MAX)
}

/// The configuration of guest `me`.
pub fn guest_config(profile: &Profile, cell: Cell, me: NodeId, peer: NodeId) -> GuestConfig {
    let mut replica = ReplicaConfig::new(me, peer, profile.drbd.blocks);
    replica.protocol = match profile.drbd.protocol.as_str() {
        "A" => Protocol::A,
        "B" => Protocol::B,
        _ => Protocol::C,
    };
    replica.resync_rate = profile.drbd.resync_rate_mib << 20;
    let h = &profile.heartbeat;
    let deadtime = if cell.architecture == Architecture::Combined {
        h.combined_deadtime
    } else {
        h.deadtime
    };
    let mut membership = MembershipConfig::heartbeat(me, peer).with_deadtime(secs(deadtime));
    membership.keepalive = secs(h.keepalive);
    membership.initdead = secs(h.initdead.max(deadtime));
    membership.rings = h.rings;
    let service = &profile.services[&cell.service];
    let op_timeout = secs(profile.resources.op_timeout);
    let spec = |id, name: &str, kind, monitor: Option<f64>| {
        let mut r = ResourceSpec::new(id, name, kind);
        if let Some(m) = monitor {
            r.monitor_interval = secs(m);
        }
        r.op_timeout = op_timeout;
        r
    };
    let resources = vec![
        spec(DRBD, "drbddisk::ha", ResourceKind::Replica, None),
        spec(
            FS,
            "Filesystem::/dev/drbd0::/storage::ext4",
            ResourceKind::Filesystem,
            Some(profile.filesystem.monitor_interval),
        ),
        spec(IP, "IPaddr2", ResourceKind::Address, None),
        spec(
            SERVICE,
            cell.service.key(),
            ResourceKind::Service,
            Some(service.monitor_interval),
        ),
    ];
    let mut group = GroupConfig::new(me, peer, GUEST_A, resources);
    group.auto_failback = profile.resources.auto_failback;
    group.migration_threshold = profile.resources.migration_threshold;
    GuestConfig {
        replica,
        membership,
        group,
    }
}

/// Replica metadata of a pair that finished its initial sync: both UpToDate, equal
/// generations, nothing out of sync.
fn synced_meta() -> ReplicaMeta {
    ReplicaMeta {
        uuids: GenerationIds {
            current: 0x5EED_0000_0000_0010,
            bitmap: 0,
            history: [0x5EED_0000_0000_0008, 0],
        },
        disk: DiskState::UpToDate,
        primary: false,
        crashed_primary: false,
        peer_outdated: false,
        bitmap: Default::default(),
        activity_log: Default::default(),
        uuid_counter: 1,
        boots: 0,
    }
}

/// The running world of one trial.
#[derive(Debug)]
pub struct World {
    /// The machines.
    pub lab: Cluster<SimNode>,
    /// The trial's cell.
    pub cell: Cell,
    /// The layout.
    pub layout: Layout,
    /// The guests, with their configuration.
    pub guests: BTreeMap<NodeId, GuestConfig>,
    /// Guest -> the host it currently runs on (absent while its VM is down).
    pub placement: BTreeMap<NodeId, NodeId>,
    /// What the world shares with the timing model.
    pub shared: Rc<RefCell<SharedState>>,
    /// Guest (re)boots after the start, with their times.
    pub boots: Vec<(model::Time, NodeId, NodeId)>,
    profile: Profile,
    fence_rng: ChaCha8Rng,
    /// Hung nodes and when they go on.
    resumes: Vec<(model::Time, Vec<NodeId>)>,
    /// VMs a scripted cluster restart boots: (when, guest, host).
    scripted_boots: Vec<(model::Time, NodeId, NodeId)>,
}

impl World {
    /// Builds the lab of `cell`, seeded with `seed`, at time zero: hosts and cluster
    /// layer booted, guest VMs being powered on.
    ///
    /// # Panics
    ///
    /// If `profile` makes guests the model refuses; [`Profile::validate`] (which
    /// `Profile::from_toml` and the trial functions call) rules that out.
    pub fn new(profile: &Profile, cell: Cell, seed: u64) -> World {
        let layout = Layout::of(cell.architecture);
        let shared = Rc::new(RefCell::new(SharedState::default()));
        let mut lab = Cluster::new();
        lab.net = VirtualNetwork::new(Duration::ZERO);
        lab.set_timing(Box::new(SimTiming::new(
            profile,
            cell,
            seed,
            Rc::clone(&shared),
        )));
        lab.fencing = model::testing::FenceBehaviour::Works(Duration::from_secs(2));
        let disk = || VirtualDisk::new(Duration::ZERO);

        // Guests, not yet running: their VMs boot first.
        let mut guests = BTreeMap::new();
        let pair = cell.architecture != Architecture::SingleNode;
        for &g in layout.home.keys() {
            let peer = if g == GUEST_A { GUEST_B } else { GUEST_A };
            let cfg = guest_config(profile, cell, g, peer);
            let machine = if pair {
                match Guest::restart(cfg.clone(), Some(synced_meta())) {
                    Ok(guest) => SimNode::Guest(Box::new(guest)),
                    Err(e) => panic!("the profile makes an invalid guest: {e}"),
                }
            } else {
                SimNode::Unmanaged
            };
            lab.add(g, machine, disk());
            lab.crash(g);
            for p in [FS, IP, SERVICE] {
                lab.processes_mut(g)
                    .add(p, VirtualProcess::uniform(Duration::from_secs(1)));
            }
            guests.insert(g, cfg);
        }

        // The cluster layer.
        for cluster in &layout.clusters {
            let vms: Vec<VmSpec> = layout
                .home
                .iter()
                .filter(|(_, h)| cluster.hosts.contains(h))
                .map(|(&g, &h)| {
                    VmSpec::new(vm_of(g), format!("guest-{g}"), h).with_storage(layout.storage)
                })
                .collect();
            match cell.platform {
                Platform::Vmware => {
                    let mut cfg = VmwareConfig::new(cluster.hosts.iter().copied());
                    for h in &cluster.hosts {
                        cfg.mounts.insert(*h, vec![cluster.datastore]);
                    }
                    cfg.isolation_address = Some(GATEWAY);
                    cfg.vms = vms.clone();
                    let cfg = Arc::new(cfg);
                    lab.add(
                        cluster.datastore,
                        SimNode::Vmware(Datastore::new(cfg.timers.lock_lease).into()),
                        disk(),
                    );
                    for h in &cluster.hosts {
                        lab.add(
                            *h,
                            SimNode::Vmware(FdmAgent::new(Arc::clone(&cfg), *h).into()),
                            disk(),
                        );
                    }
                }
                Platform::Openstack => {
                    let mut cfg = OpenStackConfig::new(
                        cluster.hosts.iter().copied(),
                        cluster.controller,
                        cluster.engine,
                    );
                    cfg.vms = vms.clone();
                    let cfg = Arc::new(cfg);
                    lab.add(
                        cluster.controller,
                        SimNode::OpenStack(NovaController::new(Arc::clone(&cfg)).into()),
                        disk(),
                    );
                    lab.add(
                        cluster.engine,
                        SimNode::OpenStack(MasakariEngine::new(Arc::clone(&cfg)).into()),
                        disk(),
                    );
                    for h in &cluster.hosts {
                        lab.add(
                            *h,
                            SimNode::OpenStack(ComputeHost::new(&cfg, *h).into()),
                            disk(),
                        );
                    }
                }
            }
            // Every host can boot every guest VM of its cluster.
            for h in &cluster.hosts {
                for v in &vms {
                    lab.processes_mut(*h)
                        .add(v.id, VirtualProcess::uniform(Duration::from_secs(1)));
                }
            }
        }
        if cell.platform == Platform::Vmware {
            lab.add(GATEWAY, SimNode::Vmware(IsolationAddress.into()), disk());
        }
        let boot = SimCommand::Cluster(ClusterCommand::Boot);
        for cluster in &layout.clusters {
            if cell.platform == Platform::Openstack {
                lab.command(cluster.controller, boot.clone());
            }
            for h in &cluster.hosts {
                lab.command(*h, boot.clone());
            }
        }
        for (&g, &h) in &layout.home {
            lab.command(h, SimCommand::Cluster(ClusterCommand::PowerOn(vm_of(g))));
        }
        World {
            lab,
            cell,
            layout,
            guests,
            placement: BTreeMap::new(),
            shared,
            boots: Vec::new(),
            profile: profile.clone(),
            fence_rng: crate::rng::stream(seed, "fence-delay"),
            resumes: Vec::new(),
            scripted_boots: Vec::new(),
        }
    }

    /// Whether `node` is a guest that runs.
    pub fn guest_up(&self, g: NodeId) -> bool {
        self.lab.is_up(g)
    }

    /// The guest's replica role, if it runs a replica.
    pub fn role(&self, g: NodeId) -> Option<Role> {
        match self.lab.try_node(g) {
            Some(SimNode::Guest(guest)) => Some(guest.replica().role()),
            _ => None,
        }
    }

    /// Whether the service answers from guest `g`: the guest runs, its replica (if any)
    /// is an UpToDate Primary, and the file system, the address and the service run.
    pub fn serves(&self, g: NodeId) -> bool {
        if !self.lab.is_up(g) {
            return false;
        }
        let replica_ok = match self.lab.try_node(g) {
            Some(SimNode::Guest(guest)) => {
                guest.replica().role() == Role::Primary
                    && guest.replica().disk() == DiskState::UpToDate
            }
            Some(SimNode::Unmanaged) => true,
            _ => false,
        };
        replica_ok
            && [FS, IP, SERVICE]
                .into_iter()
                .all(|p| self.lab.processes(g).get(p).is_some_and(|x| x.running))
    }

    /// The guests serving now.
    pub fn serving(&self) -> Vec<NodeId> {
        self.guests
            .keys()
            .copied()
            .filter(|&g| self.serves(g))
            .collect()
    }

    /// The host `node` names: a host itself, or the host a guest runs on.
    fn host_of(&self, node: NodeId) -> Option<NodeId> {
        if self.guests.contains_key(&node) {
            self.placement.get(&node).copied()
        } else {
            Some(node)
        }
    }

    /// Carries out a scripted fault now.
    pub fn apply(&mut self, fault: &crate::schedule::ScheduledFault) {
        use crate::schedule::{ScheduledFault as F, parse_net, parse_node};
        let node = |name: &str| parse_node(name);
        match fault {
            F::Partition { a, b, net } | F::Heal { a, b, net } => {
                let up = matches!(fault, F::Heal { .. });
                let (Some(a), Some(b)) = (node(a), node(b)) else {
                    return;
                };
                match net.as_deref().and_then(parse_net) {
                    Some(n) => self.lab.net.set_net_up(a, b, n, up),
                    None => self.lab.net.set_up(a, b, up),
                }
            }
            F::Crash { node: n } => {
                if let Some(g) = node(n) {
                    if self.lab.is_up(g) {
                        self.lab.crash(g);
                    }
                }
            }
            F::PowerOff { node: n } => {
                if let Some(h) = node(n).and_then(|n| self.host_of(n)) {
                    self.power_off_host(h);
                }
            }
            F::Hang { node: n, secs: d } => {
                if let Some(h) = node(n).and_then(|n| self.host_of(n)) {
                    let mut frozen = vec![h];
                    frozen.extend(
                        self.placement
                            .iter()
                            .filter(|(_, p)| **p == h)
                            .map(|(g, _)| *g),
                    );
                    for &f in &frozen {
                        if self.lab.try_node(f).is_some() {
                            self.lab.pause(f);
                        }
                    }
                    self.resumes.push((self.lab.now() + secs(*d), frozen));
                }
            }
            F::KillService { node: n } => {
                if let Some(p) = node(n).and_then(|g| self.lab.processes_mut(g).get_mut(SERVICE)) {
                    p.running = false;
                }
            }
            F::DiskFailure { node: n } => {
                if let Some(g) = node(n) {
                    self.lab.fail_disk(g);
                }
            }
            F::ClusterRestart { node: n } => {
                let Some(g) = node(n) else { return };
                let Some(h) = self.placement.get(&g).copied() else {
                    return;
                };
                // The VM dies where it was and boots on the other host of its cluster.
                if let Some(p) = self.lab.processes_mut(h).get_mut(vm_of(g)) {
                    p.running = false;
                }
                self.sync_layers();
                let other = self.layout.cluster_of(h).and_then(|c| {
                    c.hosts
                        .iter()
                        .copied()
                        .find(|&x| x != h && self.lab.is_up(x))
                });
                if let Some(other) = other {
                    let boot = self.profile.platforms[&self.cell.platform].vm_boot.mean();
                    self.scripted_boots
                        .push((self.lab.now() + secs(boot), g, other));
                }
            }
            F::LoseMessages { a, b, count } => {
                if let (Some(a), Some(b)) = (node(a), node(b)) {
                    self.lab.net.drop_next(a, b, *count);
                }
            }
        }
    }

    /// Ends hangs and boots scripted restarts that are due.
    fn run_scripted(&mut self) {
        let now = self.lab.now();
        let (due, later): (Vec<_>, Vec<_>) = self.resumes.drain(..).partition(|(t, _)| *t <= now);
        self.resumes = later;
        for (_, nodes) in due {
            for n in nodes {
                if self.lab.try_node(n).is_some() && self.lab.is_paused(n) {
                    self.lab.resume(n);
                }
            }
        }
        let (due, later): (Vec<_>, Vec<_>) = self
            .scripted_boots
            .drain(..)
            .partition(|(t, _, _)| *t <= now);
        self.scripted_boots = later;
        for (_, g, h) in due {
            if let Some(p) = self.lab.processes_mut(h).get_mut(vm_of(g)) {
                p.running = true;
            }
        }
    }

    /// Connects the layers: guests whose VM died go down; guests whose VM came up on
    /// some host boot there.
    pub fn sync_layers(&mut self) {
        self.run_scripted();
        let guests: Vec<NodeId> = self.guests.keys().copied().collect();
        for g in guests {
            let vm = vm_of(g);
            let running_on = self
                .layout
                .clusters
                .iter()
                .flat_map(|c| c.hosts.iter().copied())
                .find(|&h| {
                    self.lab.is_up(h) && self.lab.processes(h).get(vm).is_some_and(|p| p.running)
                });
            match (self.placement.get(&g).copied(), running_on) {
                (Some(h), Some(now)) if h == now => {}
                (Some(_), None) => self.guest_down(g),
                (placed, Some(h)) => {
                    if placed.is_some() {
                        self.guest_down(g);
                    }
                    self.guest_boot(g, h);
                }
                (None, None) => {}
            }
        }
    }

    /// A guest's VM stopped (its host died, or the cluster layer powered it off).
    fn guest_down(&mut self, g: NodeId) {
        if self.lab.is_up(g) {
            let mounted = self.lab.processes(g).get(FS).is_some_and(|p| p.running);
            let service = self
                .lab
                .processes(g)
                .get(SERVICE)
                .is_some_and(|p| p.running);
            let mut s = self.shared.borrow_mut();
            s.fs_dirty |= mounted;
            s.service_crashed |= service;
            drop(s);
            self.lab.crash(g);
        }
        self.placement.remove(&g);
    }

    /// A guest's VM booted on `host`: the guest comes up from its replica's metadata.
    fn guest_boot(&mut self, g: NodeId, host: NodeId) {
        let Some(cfg) = self.guests.get(&g).cloned() else {
            return;
        };
        self.placement.insert(g, host);
        self.boots.push((self.lab.now(), g, host));
        match self.cell.architecture {
            Architecture::SingleNode => {
                self.lab.restart(g, SimNode::Unmanaged);
                // No HA software: the services are started by the guest's init scripts.
                for p in [FS, IP, SERVICE] {
                    if let Some(x) = self.lab.processes_mut(g).get_mut(p) {
                        x.running = true;
                    }
                }
            }
            _ => {
                let meta = self
                    .lab
                    .persisted(g)
                    .cloned()
                    .or_else(|| Some(synced_meta()));
                match Guest::restart(cfg, meta) {
                    Ok(guest) => self.lab.restart(g, SimNode::Guest(Box::new(guest))),
                    Err(e) => panic!("the profile makes an invalid guest: {e}"),
                }
                let max = self.profile.heartbeat.keepalive;
                let fence_delay = secs(self.fence_rng.random_range(0.0..=max));
                self.lab
                    .command(g, SimCommand::Guest(GuestCommand::Boot { fence_delay }));
            }
        }
    }

    /// Powers `host` off, and the guests on it with it.
    pub fn power_off_host(&mut self, host: NodeId) {
        if self.lab.is_up(host) {
            self.lab.crash(host);
        }
        self.sync_layers();
    }
}
