//! The simulated lab of one trial: guests on hosts, hosts in clusters, the cluster layer,
//! and the glue between the layers.
//!
//! The layout is built from `model::topology`'s description of each architecture
//! (`model::world::LabLayout`): the single-node and DRBD + Heartbeat architectures use
//! one cluster of two hosts; the combined architecture lays the pair across a primary
//! and a backup cluster, each guest on shared storage of its cluster and protected by
//! that cluster's VM restart. The two layers are joined by `model::world::LayerCoupling`,
//! driven by the harness' process events: a host that dies takes its guests with it in
//! the same event, and a guest VM that the cluster layer boots on some host brings the
//! guest back there from its replica's metadata in the event its boot finishes. The
//! world's own timed actions (scripted restarts, hangs that end, `fence-peer` helpers,
//! the watchdog) happen exactly at their time ([`World::run_until`]); nothing is polled.
//!
//! A schedule made by the checker carries the pair's configuration
//! (`model::schedule::PairConfig`): [`World::with_config`] sets the guests up with it
//! (protocol, fencing, after-split-brain policies, STONITH, quorum, rings, a partitioned
//! start) and runs the `fence-peer` helper its fencing policy needs (`handlers`). The
//! world also keeps the [`Ledger`] of application writes and feeds it from the
//! machines' records ([`World::observe`]), so the properties can be asked after every
//! event (`crate::oracle`).

mod describe;
mod handlers;
mod layers;
mod ledger;
mod repair;
mod script;
mod watchdog;

pub use ledger::Ledger;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::Arc;

use core::time::Duration;

use model::cluster::openstack::{ComputeHost, MasakariEngine, NovaController, OpenStackConfig};
use model::cluster::vmware::{Datastore, FdmAgent, IsolationAddress, VmwareConfig};
use model::cluster::{ClusterCommand, ClusterNotice, VmSpec};
use model::guest::GuestNotice;
use model::guest::{Guest, GuestConfig};
use model::membership::MembershipConfig;
use model::replication::uuid::GenerationIds;
use model::replication::{DiskState, Protocol, ReplicaConfig, ReplicaMeta, ReplicaNotice, Role};
use model::resources::{GroupConfig, ResourceKind, ResourceSpec};
use model::schedule::{PairConfig, Start};
use model::testing::{Cluster, VirtualDisk, VirtualNetwork, VirtualProcess};
use model::world::{GuestChange, LayerCoupling};
use model::{Effect, HandlerRequest};
use model::{Net, NodeId, ProcessId};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::node::{SimCommand, SimNode, SimNotice};
use crate::profile::{Failover, HostHa, Profile, WatchdogAction};
use crate::scenario::{Architecture, Cell, Platform};
use crate::timing::{SharedState, SimTiming};

pub use model::world::ids::{GUEST_A, GUEST_B, node_name, vm_of};
pub use model::world::{ClusterLayout, LabLayout as Layout};

/// The group's replica resource.
pub const DRBD: ProcessId = model::world::ids::group::REPLICA;
/// The file system on the DRBD device.
pub const FS: ProcessId = model::world::ids::group::FILESYSTEM;
/// The service address.
pub const IP: ProcessId = model::world::ids::group::ADDRESS;
/// The service (Apache or MySQL).
pub const SERVICE: ProcessId = model::world::ids::group::SERVICE;
/// The isolation address (vSphere HA's gateway).
const GATEWAY: NodeId = model::world::ids::ISOLATION_ADDRESS;
/// How long the lab's fence device takes to power a node off, for Heartbeat's STONITH
/// and for DRBD's `stonith_admin-fence-peer` alike. calibrated: an IPMI or hypervisor
/// power-off answers within seconds.
pub const STONITH_TIME: Duration = Duration::from_secs(2);

/// The layout of `architecture`'s lab, from its topology (hosts and clusters are the
/// same on both platforms).
pub fn layout_of(architecture: Architecture) -> Layout {
    let topology = model::topology::Topology::build(
        architecture,
        Platform::Vmware,
        model::topology::ServiceKind::Apache,
    );
    Layout::from_topology(&topology)
        .unwrap_or_else(|e| panic!("the built-in {architecture} topology has no layout: {e}"))
}

/// The study's lab (STUDY, the lab): three hosts, a vSphere HA cluster of two and a
/// third host that holds the combined architecture's other guest, so the backup cluster
/// has no second host to restart it on. Guest A starts on the first cluster's second
/// host if `a_on_second`, else its first: in a two-host cluster its host is sometimes
/// the HA master, whose failure takes longer to detect (DD).
pub fn study_layout(architecture: Architecture, a_on_second: bool) -> Layout {
    let mut layout = layout_of(architecture);
    let (a_home, other) = match layout.clusters.first().map(|c| c.hosts.as_slice()) {
        Some([first, second, ..]) if a_on_second => (*second, *first),
        Some([first, second, ..]) => (*first, *second),
        _ => return layout,
    };
    layout.home.insert(GUEST_A, a_home);
    match architecture {
        Architecture::SingleNode => {}
        Architecture::DrbdHeartbeat => {
            layout.home.insert(GUEST_B, other);
        }
        Architecture::Combined => {
            if let Some(backup) = layout.clusters.get_mut(1) {
                backup.hosts.truncate(1);
            }
        }
    }
    layout
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
    let v1 = profile.setup.failover == Failover::HeartbeatV1;
    // Heartbeat v1 runs its resource scripts to the end and never monitors them.
    let op_timeout = if v1 {
        secs(crate::limits::MAX_SECS)
    } else {
        secs(profile.resources.op_timeout)
    };
    let spec = |id, name: &str, kind, monitor: Option<f64>| {
        let mut r = ResourceSpec::new(id, name, kind);
        if v1 {
            r.monitor_interval = Duration::ZERO;
        } else if let Some(m) = monitor {
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

/// Checks that `pair` makes guests the model accepts in the lab of `cell` (with the
/// profile's timers and group); the error names the model's field.
pub fn check_pair(
    profile: &Profile,
    cell: Cell,
    pair: &PairConfig,
) -> Result<(), model::guest::GuestConfigError> {
    for (me, peer) in [(GUEST_A, GUEST_B), (GUEST_B, GUEST_A)] {
        let mut cfg = guest_config(profile, cell, me, peer);
        pair.apply_to(&mut cfg);
        cfg.validate()?;
    }
    Ok(())
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
    /// Which guest runs on which host: the coupling of the two layers.
    pub coupling: LayerCoupling,
    /// What the coupling did, when: guests that went down with their VM and booted (a
    /// fenced guest's VM that a restart begun before the fence brings up is powered off
    /// again at once, and its guest does not boot: not logged).
    pub layer_log: Vec<(model::Time, GuestChange)>,
    /// A guest's VM started on a host while its instance on another host still ran
    /// (not frozen by a hang): when, which guest. The cluster layer's disk locks (or
    /// Nova's evacuation rules) must keep this empty; the newer instance wins.
    pub vm_split_brains: Vec<(model::Time, NodeId)>,
    /// VM instances powering off because another host took their disk lock: (host, VM).
    lock_lost: BTreeSet<(NodeId, ProcessId)>,
    /// Guests STONITH powered off, when.
    pub fenced_guests: Vec<(model::Time, NodeId)>,
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
    /// The schedule's configuration of the pair, if it brought one.
    pub pair: Option<PairConfig>,
    /// The Heartbeat rings are cut until both replicas have connected (a schedule's
    /// `running` start).
    hold_rings: bool,
    /// The application writes: issued, acknowledged, owed by each Primary.
    pub ledger: Ledger,
    /// Records of the harness taken into the ledger so far.
    records_seen: usize,
    /// `fence-peer` helpers running.
    fence_peers: Vec<handlers::FencePeer>,
    /// The service watchdog (study trials only): its next check.
    watchdog_next: Option<model::Time>,
    /// Guests the watchdog has sent into a handover, until their file system stops.
    handing_over: Vec<NodeId>,
    /// Service restarts the watchdog started: (done at, guest).
    restarts: Vec<(model::Time, NodeId)>,
    /// When the watchdog acted, on which guest.
    pub watchdog_acts: Vec<(model::Time, NodeId)>,
    watchdog_rng: ChaCha8Rng,
    /// Each host's cluster-layer machine as it was built, not yet booted: a repaired
    /// host boots a fresh one (`repair`).
    host_machines: BTreeMap<NodeId, SimNode>,
    /// When an operator last powered each guest's VM on (`repair`): a fence before
    /// that no longer keeps the VM off.
    operator_on: BTreeMap<NodeId, model::Time>,
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
        World::with_config(profile, cell, seed, None)
    }

    /// [`World::new`] with the pair set up as `pair` says (a schedule's configuration):
    /// its choices replace the profile's in both guests, and a partitioned start cuts
    /// every network between them before they boot.
    ///
    /// # Panics
    ///
    /// As [`World::new`], and if `pair` makes guests the model refuses; [`check_pair`]
    /// checks that first.
    pub fn with_config(
        profile: &Profile,
        cell: Cell,
        seed: u64,
        pair: Option<&PairConfig>,
    ) -> World {
        // A scripted run keeps the what-if lab: Pacemaker-style monitors, four hosts,
        // Nova + Masakari on OpenStack, no watchdog.
        let mut what_if = profile.clone();
        what_if.setup.failover = Failover::Pacemaker;
        if let Some(p) = what_if.platforms.get_mut(&Platform::OpenStack) {
            p.host_ha = HostHa::Masakari;
        }
        World::build(
            &what_if,
            cell,
            seed,
            pair,
            layout_of(cell.architecture),
            false,
        )
    }

    /// The lab of one of the study's trials: the profile's setup (failover software,
    /// watchdog, each platform's host HA) in the study's three-host lab, guest A on a
    /// host drawn per trial.
    pub fn study(profile: &Profile, cell: Cell, seed: u64) -> World {
        let mut rng = crate::rng::stream(seed, "placement");
        let a_on_first = rng.random_bool(0.5);
        let layout = study_layout(cell.architecture, !a_on_first);
        World::build(profile, cell, seed, None, layout, true)
    }

    fn build(
        profile: &Profile,
        cell: Cell,
        seed: u64,
        pair: Option<&PairConfig>,
        layout: Layout,
        watchdog: bool,
    ) -> World {
        let shared = Rc::new(RefCell::new(SharedState::default()));
        let mut lab = Cluster::new();
        lab.watch_processes();
        lab.net = VirtualNetwork::new(Duration::ZERO);
        lab.set_timing(Box::new(SimTiming::new(
            profile,
            cell,
            seed,
            Rc::clone(&shared),
        )));
        lab.fencing = model::testing::FenceBehaviour::Works(STONITH_TIME);
        let disk = || VirtualDisk::new(Duration::ZERO);

        // Guests, not yet running: their VMs boot first.
        let mut guests = BTreeMap::new();
        for &g in layout.home.keys() {
            let peer = if g == GUEST_A { GUEST_B } else { GUEST_A };
            let mut cfg = guest_config(profile, cell, g, peer);
            if let Some(p) = pair {
                p.apply_to(&mut cfg);
            }
            let machine = if cell.architecture != Architecture::SingleNode {
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
        let mut host_machines = BTreeMap::new();
        for cluster in &layout.clusters {
            let vms: Vec<VmSpec> = layout
                .home
                .iter()
                .filter(|(_, h)| cluster.hosts.contains(h))
                .map(|(&g, &h)| {
                    VmSpec::new(vm_of(g), format!("guest-{g}"), h).with_storage(layout.storage)
                })
                .collect();
            match profile.platforms[&cell.platform].host_ha {
                HostHa::VsphereHa => {
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
                        let agent = SimNode::Vmware(FdmAgent::new(Arc::clone(&cfg), *h).into());
                        host_machines.insert(*h, agent.clone());
                        lab.add(*h, agent, disk());
                    }
                }
                HostHa::Masakari => {
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
                    // Each hostmonitor polls at its own phase, drawn per trial: the
                    // real service's cycle runs from whenever it started, so a host
                    // failure meets it anywhere in its interval, not always at the same
                    // point after the warm-up.
                    let mut phase_rng = crate::rng::stream(seed, "hostmonitor-phase");
                    let interval = cfg.timers.monitoring_interval.as_secs_f64();
                    for h in &cluster.hosts {
                        let phase = {
                            use rand::Rng;
                            Duration::from_secs_f64(phase_rng.random_range(0.0..interval))
                        };
                        let compute = SimNode::OpenStack(
                            ComputeHost::with_poll_phase(&cfg, *h, phase).into(),
                        );
                        host_machines.insert(*h, compute.clone());
                        lab.add(*h, compute, disk());
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
        let host_ha = profile.platforms[&cell.platform].host_ha;
        if host_ha == HostHa::VsphereHa {
            lab.add(GATEWAY, SimNode::Vmware(IsolationAddress.into()), disk());
        }
        let boot = SimCommand::Cluster(ClusterCommand::Boot);
        for cluster in &layout.clusters {
            if host_ha == HostHa::Masakari {
                lab.command(cluster.controller, boot.clone());
            }
            for h in &cluster.hosts {
                lab.command(*h, boot.clone());
            }
        }
        for (&g, &h) in &layout.home {
            lab.command(h, SimCommand::Cluster(ClusterCommand::PowerOn(vm_of(g))));
        }
        // A schedule's configuration starts as the checker's does: `partitioned`, every
        // network between the guests cut; `running`, the replicas connect before
        // Heartbeat starts the group (drbddisk's wait-for-connection), so a promotion
        // never needs the fence-peer helper at boot. The rings come up in `couple`.
        let hold_rings = match pair.map(|p| p.start) {
            Some(Start::Partitioned) => {
                lab.net.set_up(GUEST_A, GUEST_B, false);
                false
            }
            Some(Start::Running) => {
                for r in 0..2 {
                    lab.net.set_net_up(GUEST_A, GUEST_B, Net::Ring(r), false);
                }
                true
            }
            None => false,
        };
        World {
            lab,
            cell,
            layout,
            coupling: LayerCoupling::new(guests.keys().copied()),
            layer_log: Vec::new(),
            vm_split_brains: Vec::new(),
            lock_lost: BTreeSet::new(),
            fenced_guests: Vec::new(),
            guests,
            shared,
            boots: Vec::new(),
            profile: profile.clone(),
            fence_rng: crate::rng::stream(seed, "fence-delay"),
            resumes: Vec::new(),
            scripted_boots: Vec::new(),
            pair: pair.cloned(),
            hold_rings,
            ledger: Ledger::default(),
            records_seen: 0,
            fence_peers: Vec::new(),
            watchdog_next: (watchdog
                && profile.watchdog.action != WatchdogAction::None
                && cell.architecture != Architecture::SingleNode)
                .then(|| {
                    let mut rng = crate::rng::stream(seed, "watchdog-phase");
                    model::Time::ZERO + secs(rng.random_range(0.0..profile.watchdog.cycle))
                }),
            handing_over: Vec::new(),
            restarts: Vec::new(),
            watchdog_acts: Vec::new(),
            watchdog_rng: crate::rng::stream(seed, "watchdog"),
            host_machines,
            operator_on: BTreeMap::new(),
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

    /// Whether the service answers from guest `g`: the guest runs and is not hung (nor
    /// its host), its replica (if any) is an UpToDate Primary, and the file system, the
    /// address and the service run.
    pub fn serves(&self, g: NodeId) -> bool {
        if !self.lab.is_up(g) || self.is_hung(g) {
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

    /// Whether guest `g` (or the host it runs on) hangs: its state is frozen and it
    /// answers nobody.
    pub fn is_hung(&self, g: NodeId) -> bool {
        let paused = |n: NodeId| self.lab.try_node(n).is_some() && self.lab.is_paused(n);
        paused(g) || self.coupling.host_of(g).is_some_and(paused)
    }

    /// How many times guest `g` has booted since the start.
    pub fn boot_count(&self, g: NodeId) -> u64 {
        self.boots.iter().filter(|(_, x, _)| *x == g).count() as u64
    }

    /// Takes in what the machines recorded since the last call, in order:
    /// acknowledgements and promotions into the [`Ledger`], `fence-peer` requests to
    /// the helper. Returns whether a guest's replica or resources reported a change or
    /// acknowledged a write (if not, nothing the properties read has changed but disk
    /// contents: roles, disk states and generations change with a replica notice, what
    /// runs with a resource notice).
    pub fn observe(&mut self) -> bool {
        let end = self.lab.records().len();
        let mut relevant = false;
        for i in self.records_seen..end {
            let r = &self.lab.records()[i];
            let node = r.node;
            match &r.effect {
                Effect::Ack(w) => {
                    self.ledger.acknowledged(*w);
                    relevant = true;
                }
                Effect::Event(SimNotice::Guest(GuestNotice::Replica(n))) => {
                    match n {
                        ReplicaNotice::Role(Role::Primary) => self.ledger.promoted(node),
                        ReplicaNotice::Role(Role::Secondary) => self.ledger.demoted(node),
                        _ => {}
                    }
                    relevant = true;
                }
                Effect::Event(SimNotice::Guest(GuestNotice::Resources(_))) => relevant = true,
                Effect::Event(SimNotice::Cluster(ClusterNotice::LockLost { vm, host })) => {
                    self.lock_lost.insert((*host, *vm));
                }
                Effect::Handler(HandlerRequest::FencePeer { peer }) => {
                    let peer = *peer;
                    self.fence_peer_requested(node, peer);
                }
                _ => {}
            }
        }
        self.records_seen = end;
        relevant
    }

    /// Whether both guests run a replica that is connected to the other.
    fn replicas_connected(&self) -> bool {
        [GUEST_A, GUEST_B].into_iter().all(|g| {
            matches!(self.lab.try_node(g), Some(SimNode::Guest(guest))
                if guest.replica().conn() == model::replication::ConnState::Connected)
        })
    }

    /// Disk writes completed on the guests' disks so far (a change means a disk's
    /// contents may have changed).
    pub fn guest_disk_writes(&self) -> u64 {
        self.guests.keys().map(|&g| self.lab.disk(g).writes()).sum()
    }

    /// The guests serving now.
    pub fn serving(&self) -> Vec<NodeId> {
        self.guests
            .keys()
            .copied()
            .filter(|&g| self.serves(g))
            .collect()
    }
}
