//! The states of the group and of its resources on one node.

use serde::{Deserialize, Serialize};

/// Where the group is on this node (what the last group notice said).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum GroupPhase {
    /// Nothing runs here.
    #[default]
    Stopped,
    /// Starting left to right.
    Starting,
    /// Everything runs here.
    Started,
    /// A soft failure is being repaired here: stopping down to the failed resource and
    /// starting up again.
    Recovering,
    /// Stopping right to left.
    Stopping,
    /// A stop failed: the node asked to be fenced and does nothing more.
    Fenced,
}

/// Where one resource is on this node.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum ResourceStatus {
    /// Not running here (the replica: unpromoted).
    #[default]
    Stopped,
    /// Its start (promote) is running.
    Starting,
    /// Running here (the replica: promoted).
    Started,
    /// Its stop (demote) is running.
    Stopping,
    /// A start or monitor failed: its state is unknown and it must be stopped before it
    /// can start again (src: PX, a failed resource is recovered by stop, then start).
    Failed,
}
