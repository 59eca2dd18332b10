//! dopd (drbd-peer-outdater), Heartbeat's `fence-peer` helper for `fencing
//! resource-only`: what it answers when it reaches the peer.
//!
//! The caller's helper asks its local dopd, which sends `start_outdate` over the
//! Heartbeat ring to the peer's dopd; that one runs `drbdadm outdate` on its node and
//! converts the exit code (src: dopd.c `msg_start_outdate`: 0 -> 4, 5 -> 3, 17 -> 6,
//! anything else -> 5). `drbdsetup outdate` exits 0 on success (also when already
//! Outdated), 5 for `SS_LOWER_THAN_OUTDATED`, 17 for `SS_NO_UP_TO_DATE_DISK` and 11 for
//! any other refusal (src: drbdsetup.c, state-change errors). Which refusal DRBD 8.4
//! gives follows `is_valid_state` (src: drbd_state.c): a disconnected Primary would lose
//! its last UpToDate disk (`SS_NO_UP_TO_DATE_DISK`: "peer is Primary", 6); a connected
//! node refuses to be Outdated (`SS_CONNECTED_OUTDATES`: 5, as if unreachable); a disk
//! below Outdated cannot be outdated (`SS_LOWER_THAN_OUTDATED`: 3, "peer is Inconsistent
//! or worse"). A peer that cannot be reached at all is 5, the driver's part.
//!
//! The caller acts on the answer in [`Replica`]'s `conn_try_outdate_peer`: 6 outdates the
//! caller's own disk instead.

use super::{DiskState, Replica, Role};

/// `fence-peer` exit: the peer's disk is Inconsistent or worse.
pub const PEER_INCONSISTENT: u8 = 3;
/// `fence-peer` exit: the peer is (now) Outdated.
pub const PEER_OUTDATED: u8 = 4;
/// `fence-peer` exit: the peer could not be reached (or refused for another reason).
pub const PEER_UNREACHABLE: u8 = 5;
/// `fence-peer` exit: the peer is Primary and refused to be outdated.
pub const PEER_PRIMARY: u8 = 6;

/// What dopd answers a caller whose request reached `target`: the exit code of
/// `drbdadm outdate` on `target`, converted as dopd does. When the answer is
/// [`PEER_OUTDATED`], the driver must also outdate `target`
/// ([`super::ReplicaCommand::Outdate`]).
pub fn answer(target: &Replica) -> u8 {
    if target.disk() < DiskState::Outdated {
        PEER_INCONSISTENT
    } else if target.conn().is_connected() {
        PEER_UNREACHABLE
    } else if target.role() == Role::Primary {
        PEER_PRIMARY
    } else {
        PEER_OUTDATED
    }
}
