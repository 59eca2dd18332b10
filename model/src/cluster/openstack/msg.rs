//! What nova-compute, the host monitors, the Nova controller and the Masakari engine say
//! to each other (REST calls and RPCs in the real system).

use serde::{Deserialize, Serialize};

use crate::{Net, NodeId, ProcessId};

/// How an evacuation ended, as Nova tells the requester.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EvacuateOutcome {
    /// The VM runs on this host now.
    Done(NodeId),
    /// Refused: the VM's host is not down (src: NOVA:
    /// evacuate is refused until service_down_time unless the service is forced down).
    Refused,
    /// The scheduler found no valid host (or the requested host cannot take it).
    NoValidHost,
    /// The rebuild on the target failed, or the VM cannot be evacuated (local disk).
    Failed,
}

/// Every message of an OpenStack-style cluster. Ring heartbeats travel on
/// [`Net::Ring`]`(0)`, everything else on [`Net::Management`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OpenStackMsg {
    /// nova-compute -> controller: the periodic service report.
    ServiceReport,
    /// Host monitor <-> host monitor: the compute hosts' cluster-stack heartbeat.
    RingHeartbeat,
    /// Host monitor -> engine: a host-down notification.
    HostDown {
        /// The host that left the membership.
        host: NodeId,
    },
    /// Engine -> controller: disable a compute service.
    DisableService {
        /// Its host.
        host: NodeId,
    },
    /// Engine -> controller: enable a compute service (a reserved host taken into use).
    EnableService {
        /// Its host.
        host: NodeId,
    },
    /// Engine -> controller: list the instances on a host.
    ListInstances {
        /// The host.
        host: NodeId,
    },
    /// Controller -> engine: the instances on a host.
    Instances {
        /// The host.
        host: NodeId,
        /// Its instances, in id order.
        vms: Vec<ProcessId>,
    },
    /// Engine -> controller: evacuate a VM, to `target` or wherever the scheduler likes.
    Evacuate {
        /// The VM.
        vm: ProcessId,
        /// The requested host, if any.
        target: Option<NodeId>,
    },
    /// Controller -> engine: how an evacuation ended.
    EvacuateResult {
        /// The VM.
        vm: ProcessId,
        /// How.
        outcome: EvacuateOutcome,
    },
    /// Controller -> compute: rebuild (boot) an evacuated VM here.
    Rebuild {
        /// The VM.
        vm: ProcessId,
    },
    /// Compute -> controller: the rebuild's result.
    RebuildResult {
        /// The VM.
        vm: ProcessId,
        /// Whether it booted.
        ok: bool,
    },
}

impl OpenStackMsg {
    /// The network this message travels on.
    pub fn net(&self) -> Net {
        match self {
            OpenStackMsg::RingHeartbeat => Net::Ring(0),
            _ => Net::Management,
        }
    }
}
