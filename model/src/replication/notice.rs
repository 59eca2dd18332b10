//! What a replica reports about itself, for traces, status and tests.

use serde::{Deserialize, Serialize};

use super::handshake::{HandshakeRefusal, Outcome, SplitBrain};
use super::{ConnState, DiskState, PeerRole, Role};
use crate::{BlockNo, NodeId};

/// Why a promotion was refused: DRBD's `SS_*` state-change errors that matter for
/// failover (src: `drbd_state.c` `is_valid_state`, `drbd_nl.c` `drbd_set_role`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
pub enum PromoteRefused {
    /// The local disk is detached or failed.
    #[error("no local disk")]
    NoLocalDisk,
    /// No UpToDate disk to be Primary on (`SS_NO_UP_TO_DATE_DISK`).
    #[error("local disk is {0}, not UpToDate")]
    NoUpToDateDisk(DiskState),
    /// The peer is Primary and two Primaries are not allowed (`SS_TWO_PRIMARIES`).
    #[error("the peer is Primary and allow-two-primaries is off")]
    PeerIsPrimary,
    /// Fencing is on and the peer's disk is not known to be Outdated
    /// (`SS_PRIMARY_NOP`); `fence-peer` answered with this exit code.
    #[error("peer may be UpToDate; fencing requires it outdated first (fence-peer exit {0})")]
    PeerNotOutdated(u8),
    /// Quorum is lost.
    #[error("no quorum")]
    NoQuorum,
    /// The witness knows of another Primary, or backs another node.
    #[error("the witness backs another Primary")]
    WitnessRefused,
    /// The connected peer refused the cluster-wide state change, or another state change
    /// was under way (`SS_CONCURRENT_ST_CHG`).
    #[error("the peer refused the state change")]
    PeerRefused,
    /// The connection was lost while the promotion waited for the peer.
    #[error("the connection was lost during the state change")]
    ConnectionLost,
}

/// An observable change in a replica.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReplicaNotice {
    /// Own role changed.
    Role(Role),
    /// Own disk state changed.
    Disk(DiskState),
    /// Connection state changed.
    Conn(ConnState),
    /// The peer's role or disk as this node knows them changed.
    Peer {
        /// The peer's role.
        role: PeerRole,
        /// The peer's disk.
        disk: DiskState,
    },
    /// A new data generation was started (`drbd_uuid_new_current`).
    NewCurrentUuid(u64),
    /// The handshake ran: which rule of `drbd_uuid_compare` decided, and the outcome.
    Handshake {
        /// The rule number.
        rule: u16,
        /// The outcome.
        outcome: Outcome,
    },
    /// Split brain was detected.
    SplitBrain(SplitBrain),
    /// The handshake refused the connection.
    Refused(HandshakeRefusal),
    /// A resync started.
    SyncStarted {
        /// The peer's role in it: this node is source if true.
        source: bool,
        /// Blocks to transfer.
        blocks: u64,
    },
    /// A resync finished.
    SyncFinished {
        /// Blocks this node sent (source) or wrote (target) in this connection.
        blocks: u64,
    },
    /// A block was resynced (target side).
    Resynced(BlockNo),
    /// A promotion was refused.
    PromoteRefused(PromoteRefused),
    /// Application I/O is frozen (fencing or lost quorum).
    IoSuspended,
    /// Application I/O resumed.
    IoResumed,
    /// Quorum gained (`true`) or lost (`false`).
    Quorum(bool),
    /// The witness at this node became reachable (`true`) or not.
    Witness(NodeId, bool),
}
