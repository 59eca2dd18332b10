//! What the two resource managers of a group tell each other, on the cluster ring.
//!
//! Pacemaker keeps one cluster-wide view (the CIB) and one node (the DC) decides where
//! every resource runs; Heartbeat v1 had the two nodes negotiate through its messaging
//! layer. Here each node decides for itself from what the peer last said, with one rule
//! per situation so that both reach the same answer (see `docs/architecture.md`).

use serde::{Deserialize, Serialize};

use crate::{OcfExit, ProcessId};

/// What one node tells the other about itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PeerStatus {
    /// The group runs, starts or stops here: some resource may be up.
    pub active: bool,
    /// This node could run the group: it was started (or told to take over), is not
    /// banned by a hard error, has no fatal error, and no resource has reached the
    /// migration threshold.
    pub eligible: bool,
}

/// A message between the resource managers of the two nodes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ResourceMsg {
    /// This node's status; sent when the peer becomes reachable and whenever it changes.
    Status {
        /// The status.
        status: PeerStatus,
        /// Answer with your own status (sent when the peer becomes reachable).
        ask: bool,
    },
    /// The group is completely stopped here, the replica demoted last: start it.
    Handover,
    /// The handover was refused: this node cannot run the group.
    Declined,
    /// A resource failed with a fatal error (OCF 6): the group may run nowhere.
    Blocked {
        /// The resource.
        id: ProcessId,
        /// Its exit.
        exit: OcfExit,
    },
}
