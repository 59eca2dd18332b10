//! What a replica keeps on stable storage: DRBD's metadata area.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::DiskState;
use super::bitmap::Bitmap;
use super::uuid::GenerationIds;

/// The crash-surviving part of a replica (src: UG84 internals "DRBD meta data": UUIDs,
/// flags, bitmap, activity log).
///
/// The connection state is deliberately absent: it is volatile in DRBD too.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReplicaMeta {
    /// Generation identifiers.
    pub uuids: GenerationIds,
    /// The disk state to come back with (`MDF_CONSISTENT`, `MDF_WAS_UP_TO_DATE`,
    /// `MDF_OUTDATED` folded into one value): Inconsistent, Outdated, Consistent or
    /// UpToDate.
    pub disk: DiskState,
    /// The node was Primary when this was written (`MDF_PRIMARY_IND`); found set at
    /// restart, it means the node crashed as Primary.
    pub primary: bool,
    /// The node was the crashed Primary and has not resynced since (`MDF_CRASHED_PRIMARY`).
    pub crashed_primary: bool,
    /// The peer is known to be Outdated (`MDF_PEER_OUT_DATED`).
    pub peer_outdated: bool,
    /// Out-of-sync blocks.
    pub bitmap: Bitmap,
    /// Extents of the activity log.
    pub activity_log: BTreeSet<u64>,
    /// How many UUIDs this node has made (keeps fresh UUIDs unique across restarts).
    pub uuid_counter: u64,
    /// How many times the replica has started.
    pub boots: u32,
}
