//! The configuration of a VMware-style cluster (vSphere HA / FDM), with the defaults of
//! vSphere 5.x-6.x and their sources.

use std::collections::{BTreeMap, BTreeSet};

use core::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cluster::notice::IsolationAction;
use crate::cluster::vm::{VmConfigError, VmSpec, VmStorage, validate_vms};
use crate::{NodeId, ProcessId};

/// The timers of the FDM agents. The defaults reproduce the documented timelines:
/// slave failure declared at T+15 s (T+18 s with heartbeat datastores), master failure
/// answered by restarts at T+35 s, isolation declared at T+30 s and answered at T+60 s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FdmTimers {
    /// Network heartbeats master <-> slave, datastore heartbeats and election messages.
    ///
    /// src: DD: network heartbeats every 1 s.
    pub heartbeat: Duration,
    /// How long an election lasts.
    ///
    /// src: DD: election ~15 s.
    pub election: Duration,
    /// A slave that hears no master heartbeat for this long starts an election.
    ///
    /// src: DD: master failure, T+10 s election.
    pub master_silence: Duration,
    /// The master starts watching a silent slave's datastore heartbeats after this long.
    ///
    /// src: DD: T+3 s master watches datastore
    /// heartbeats.
    pub watch_datastores_after: Duration,
    /// A silent slave is unreachable after this long, and the master starts pinging it.
    ///
    /// src: DD: T+10 s unreachable.
    pub unreachable_after: Duration,
    /// How long the master pings an unreachable slave before deciding.
    ///
    /// src: DD: ping for 5 s, T+15 s dead without
    /// heartbeat datastores.
    pub ping: Duration,
    /// How long the master watches datastore heartbeats (from `watch_datastores_after`)
    /// before a slave with heartbeat datastores is declared dead; also the window in which
    /// a partitioned or isolated host must keep heartbeating its datastores.
    ///
    /// src: DD: T+3 s to T+18 s.
    pub datastore_window: Duration,
    /// After an election, how long a new master collects the slaves' state (it reads the
    /// protected list at once) before it restarts VMs.
    ///
    /// src: DD: T+25 s reads the protected list, T+35 s
    /// restarts.
    pub master_settle: Duration,
    /// How long a host without heartbeats pings its isolation address before it declares
    /// itself isolated.
    ///
    /// src: DD: elected alone at T+25 s, isolated at
    /// T+30 s.
    pub isolation_ping: Duration,
    /// `das.config.fdm.isolationPolicyDelaySec`: the delay between declaring isolation and
    /// applying the isolation response.
    ///
    /// src: DD: isolationPolicyDelaySec 30, response at
    /// T+60 s.
    pub isolation_policy_delay: Duration,
    /// How long a datastore honours a host's disk locks after its last heartbeat
    /// (the VMFS on-disk lock lease).
    ///
    /// src: model choice: VMFS locks lapse when their holder stops
    /// heartbeating the volume; 12 s keeps a dead host's locks shorter than the 15 s
    /// after which the master declares it dead, so restarts are not refused.
    pub lock_lease: Duration,
}

impl Default for FdmTimers {
    fn default() -> FdmTimers {
        FdmTimers {
            heartbeat: Duration::from_secs(1),
            election: Duration::from_secs(15),
            master_silence: Duration::from_secs(10),
            watch_datastores_after: Duration::from_secs(3),
            unreachable_after: Duration::from_secs(10),
            ping: Duration::from_secs(5),
            datastore_window: Duration::from_secs(15),
            master_settle: Duration::from_secs(10),
            isolation_ping: Duration::from_secs(5),
            isolation_policy_delay: Duration::from_secs(30),
            lock_lease: Duration::from_secs(12),
        }
    }
}

/// The HA configuration of one VMware-style cluster; vCenter pushes the same one to every
/// agent.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VmwareConfig {
    /// The hosts (one FDM agent each).
    pub hosts: BTreeSet<NodeId>,
    /// The datastores each host mounts, in the order vCenter prefers them for heartbeats.
    /// A host's election score is how many it mounts.
    pub mounts: BTreeMap<NodeId, Vec<NodeId>>,
    /// How many of its mounted datastores each host uses for datastore heartbeats.
    ///
    /// src: DD: 2 heartbeat datastores per host by
    /// default.
    pub heartbeat_datastores: usize,
    /// The isolation address (`das.isolationaddress`, by default the management
    /// network's gateway) a host pings to tell isolation from a partition; `None`: never
    /// declare isolation.
    pub isolation_address: Option<NodeId>,
    /// What an isolated host does with its VMs.
    ///
    /// src: DD: leave powered on (default 5.0+).
    pub isolation_response: IsolationAction,
    /// The protected VMs.
    pub vms: Vec<VmSpec>,
    /// The datastore holding each movable VM's files; a VM not listed lives on the first
    /// datastore its home host mounts.
    pub vm_datastores: BTreeMap<ProcessId, NodeId>,
    /// At most this many concurrent power-ons per host.
    ///
    /// src: DD: at most 32 concurrent power-ons per
    /// host.
    pub max_concurrent_power_ons: usize,
    /// When each restart attempt starts, from the first one.
    ///
    /// src: DD: retries at T0, +2, +6, +14, +30 min
    /// (5 tries).
    pub restart_attempts: Vec<Duration>,
    /// The agents' timers.
    pub timers: FdmTimers,
}

impl VmwareConfig {
    /// The defaults for `hosts`, with no datastores and no VMs yet.
    pub fn new(hosts: impl IntoIterator<Item = NodeId>) -> VmwareConfig {
        VmwareConfig {
            hosts: hosts.into_iter().collect(),
            mounts: BTreeMap::new(),
            heartbeat_datastores: 2,
            isolation_address: None,
            isolation_response: IsolationAction::LeavePoweredOn,
            vms: Vec::new(),
            vm_datastores: BTreeMap::new(),
            max_concurrent_power_ons: 32,
            restart_attempts: [0u64, 2, 6, 14, 30]
                .iter()
                .map(|m| Duration::from_secs(m * 60))
                .collect(),
            timers: FdmTimers::default(),
        }
    }

    /// The datastores `host` mounts.
    pub fn mounts_of(&self, host: NodeId) -> &[NodeId] {
        self.mounts.get(&host).map_or(&[], Vec::as_slice)
    }

    /// The datastores `host` heartbeats for HA (the first `heartbeat_datastores` of its
    /// mounts).
    pub fn heartbeat_datastores_of(&self, host: NodeId) -> &[NodeId] {
        let m = self.mounts_of(host);
        &m[..m.len().min(self.heartbeat_datastores)]
    }

    /// `host`'s election score: how many datastores it mounts.
    pub fn score(&self, host: NodeId) -> u8 {
        u8::try_from(self.mounts_of(host).len()).unwrap_or(u8::MAX)
    }

    /// The VM `id`.
    pub fn vm(&self, id: ProcessId) -> Option<&VmSpec> {
        self.vms.iter().find(|v| v.id == id)
    }

    /// The datastore holding `vm`'s files (and lock); `None` for local storage.
    pub fn datastore_of(&self, vm: &VmSpec) -> Option<NodeId> {
        if vm.storage == VmStorage::Local {
            return None;
        }
        self.vm_datastores
            .get(&vm.id)
            .copied()
            .or_else(|| self.mounts_of(vm.home).first().copied())
    }

    /// Whether `host` can run `vm`: its home for local storage, a host mounting its
    /// datastore otherwise.
    pub fn can_run(&self, host: NodeId, vm: &VmSpec) -> bool {
        match self.datastore_of(vm) {
            None => host == vm.home,
            Some(ds) => self.mounts_of(host).contains(&ds),
        }
    }

    /// Every datastore some host mounts.
    pub fn datastores(&self) -> BTreeSet<NodeId> {
        self.mounts.values().flatten().copied().collect()
    }

    /// Checks what vCenter would refuse.
    pub fn validate(&self) -> Result<(), VmwareConfigError> {
        if self.hosts.is_empty() {
            return Err(VmwareConfigError::NoHosts);
        }
        validate_vms(&self.vms, &self.hosts)?;
        let datastores = self.datastores();
        for (host, mounts) in &self.mounts {
            if !self.hosts.contains(host) {
                return Err(VmwareConfigError::MountsOfUnknownHost(*host));
            }
            if let Some(ds) = mounts.iter().find(|d| self.hosts.contains(d)) {
                return Err(VmwareConfigError::DatastoreIsAHost(*ds));
            }
        }
        if let Some(a) = self.isolation_address {
            if self.hosts.contains(&a) || datastores.contains(&a) {
                return Err(VmwareConfigError::IsolationAddressTaken(a));
            }
        }
        for vm in &self.vms {
            if vm.storage.movable() && self.datastore_of(vm).is_none() {
                return Err(VmwareConfigError::NoDatastore(vm.id));
            }
        }
        for (vm, ds) in &self.vm_datastores {
            if !datastores.contains(ds) {
                return Err(VmwareConfigError::UnknownDatastore { vm: *vm, ds: *ds });
            }
        }
        if self.max_concurrent_power_ons == 0 {
            return Err(VmwareConfigError::NoPowerOns);
        }
        if self.restart_attempts.is_empty()
            || self.restart_attempts.windows(2).any(|w| w[0] >= w[1])
        {
            return Err(VmwareConfigError::RestartAttempts(
                self.restart_attempts.clone(),
            ));
        }
        let t = &self.timers;
        if t.heartbeat.is_zero() {
            return Err(VmwareConfigError::Timer("heartbeat"));
        }
        if t.election.is_zero() || t.master_silence.is_zero() || t.master_settle.is_zero() {
            return Err(VmwareConfigError::Timer(
                "election/master_silence/master_settle",
            ));
        }
        if t.watch_datastores_after.is_zero()
            || t.unreachable_after <= t.watch_datastores_after
            || t.ping.is_zero()
        {
            return Err(VmwareConfigError::Timer(
                "watch_datastores_after < unreachable_after, ping > 0",
            ));
        }
        if t.watch_datastores_after + t.datastore_window < t.unreachable_after + t.ping {
            return Err(VmwareConfigError::Timer(
                "datastore_window ends before the ping does",
            ));
        }
        if t.isolation_ping.is_zero() || t.lock_lease.is_zero() {
            return Err(VmwareConfigError::Timer("isolation_ping/lock_lease"));
        }
        Ok(())
    }
}

/// A configuration vCenter would refuse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VmwareConfigError {
    /// `hosts` is empty.
    #[error("hosts: a cluster needs at least one host")]
    NoHosts,
    /// A VM is misconfigured.
    #[error(transparent)]
    Vm(#[from] VmConfigError),
    /// `mounts` names a host not in `hosts`.
    #[error("mounts: {0} is not a host of the cluster")]
    MountsOfUnknownHost(NodeId),
    /// A datastore id is also a host id.
    #[error("mounts: datastore {0} is also a host")]
    DatastoreIsAHost(NodeId),
    /// The isolation address is a host or a datastore.
    #[error("isolation_address: {0} is a host or a datastore")]
    IsolationAddressTaken(NodeId),
    /// A movable VM's home mounts no datastore and none is given.
    #[error("vm_datastores: VM {0} has shared storage but no datastore")]
    NoDatastore(ProcessId),
    /// `vm_datastores` names a datastore no host mounts.
    #[error("vm_datastores[{vm}]: {ds} is not mounted by any host")]
    UnknownDatastore {
        /// The VM.
        vm: ProcessId,
        /// The datastore.
        ds: NodeId,
    },
    /// `max_concurrent_power_ons` is zero.
    #[error("max_concurrent_power_ons: must be at least 1")]
    NoPowerOns,
    /// `restart_attempts` is empty or not strictly increasing.
    #[error("restart_attempts: {0:?} must be non-empty and strictly increasing")]
    RestartAttempts(Vec<Duration>),
    /// A timer is zero or the timers are out of order.
    #[error("timers: {0}")]
    Timer(&'static str),
}
