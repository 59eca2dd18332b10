//! What FDM agents, datastores and the isolation address say to each other.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::{Net, NodeId, ProcessId};

/// A host's "poweron file" on a heartbeat datastore: which VMs it runs and whether it
/// has declared itself isolated. The master reads it for hosts it cannot hear (src:
/// DD: isolated = datastore heartbeat alive and the
/// isolation flag set).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PowerOnFile {
    /// The VMs the host runs.
    pub running: BTreeSet<ProcessId>,
    /// The isolation flag.
    pub isolated: bool,
}

/// Every message of a VMware-style cluster. Agent <-> agent and agent <-> isolation
/// address travel on [`Net::Management`]; agent <-> datastore on [`Net::Storage`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VmwareMsg {
    /// An agent in an election announces itself; `datastores` is its score.
    Election {
        /// How many datastores the sender mounts.
        datastores: u8,
    },
    /// The master's network heartbeat (to every host, so electing hosts join it and a
    /// master of another partition notices it after a heal).
    MasterHeartbeat {
        /// The master's score, to settle a meeting of two masters.
        datastores: u8,
    },
    /// A slave's network heartbeat, with the VMs it runs (the master protects them).
    SlaveHeartbeat {
        /// The VMs the slave runs.
        running: BTreeSet<ProcessId>,
    },
    /// The master asks a host to power a VM on (a restart).
    PowerOn {
        /// The VM.
        vm: ProcessId,
    },
    /// The host's answer to `PowerOn`.
    PowerOnResult {
        /// The VM.
        vm: ProcessId,
        /// Whether it booted.
        ok: bool,
    },
    /// ICMP echo: the master pings an unreachable slave, a host pings its isolation
    /// address.
    Ping,
    /// ICMP echo reply.
    Pong,
    /// A host's heartbeat on a datastore (the VMFS heartbeat, which also keeps its disk
    /// locks).
    DsHeartbeat,
    /// A host writes its poweron file.
    DsPowerOnFile(PowerOnFile),
    /// The master starts watching `host`'s datastore heartbeats (forgets earlier ones).
    DsWatch {
        /// The watched host.
        host: NodeId,
    },
    /// The master stops watching `host`.
    DsUnwatch {
        /// The host.
        host: NodeId,
    },
    /// The master reads `host`'s heartbeat and poweron file.
    DsRead {
        /// The host.
        host: NodeId,
    },
    /// The answer to `DsRead`.
    DsStatus {
        /// The host read about.
        host: NodeId,
        /// Whether it heartbeated since the master's previous read (or watch).
        updated: bool,
        /// Its poweron file, if it wrote one.
        file: Option<PowerOnFile>,
    },
    /// A host asks for the lock on a VM's files before powering it on.
    DsLock {
        /// The VM.
        vm: ProcessId,
    },
    /// The answer to `DsLock`.
    DsLockReply {
        /// The VM.
        vm: ProcessId,
        /// Whether the requester holds the lock now.
        granted: bool,
    },
    /// A host releases a VM's lock (the VM is powered off).
    DsUnlock {
        /// The VM.
        vm: ProcessId,
    },
    /// The datastore to a host that heartbeats again: another host took `vm`'s lock
    /// while this host's lease had lapsed (a hang, a storage cut). The instance here
    /// cannot reacquire its disk locks; ESXi asks and vSphere HA answers that it powers
    /// off, "leaving just the instance that has the disk locks" (src: vSphere
    /// Availability 6.7, VM split-brain).
    DsLockLost {
        /// The VM.
        vm: ProcessId,
    },
    /// The master writes the protected list: each protected VM and the host it runs on.
    DsWriteProtected(BTreeMap<ProcessId, NodeId>),
    /// A new master reads the protected list.
    DsReadProtected,
    /// The answer to `DsReadProtected`.
    DsProtected(BTreeMap<ProcessId, NodeId>),
}

impl VmwareMsg {
    /// The network this message travels on.
    pub fn net(&self) -> Net {
        match self {
            VmwareMsg::Election { .. }
            | VmwareMsg::MasterHeartbeat { .. }
            | VmwareMsg::SlaveHeartbeat { .. }
            | VmwareMsg::PowerOn { .. }
            | VmwareMsg::PowerOnResult { .. }
            | VmwareMsg::Ping
            | VmwareMsg::Pong => Net::Management,
            VmwareMsg::DsHeartbeat
            | VmwareMsg::DsPowerOnFile(_)
            | VmwareMsg::DsWatch { .. }
            | VmwareMsg::DsUnwatch { .. }
            | VmwareMsg::DsRead { .. }
            | VmwareMsg::DsStatus { .. }
            | VmwareMsg::DsLock { .. }
            | VmwareMsg::DsLockReply { .. }
            | VmwareMsg::DsUnlock { .. }
            | VmwareMsg::DsLockLost { .. }
            | VmwareMsg::DsWriteProtected(_)
            | VmwareMsg::DsReadProtected
            | VmwareMsg::DsProtected(_) => Net::Storage,
        }
    }
}
