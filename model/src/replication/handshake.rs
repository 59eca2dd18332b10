//! The connect-time handshake: who syncs from whom, or split brain.
//!
//! Both nodes run [`decide`] on the same pair of [`HandshakeParams`] and reach mirrored
//! decisions, as DRBD's `drbd_sync_handshake` does on both ends of a connection (src:
//! Linux `drbd_receiver.c`: `drbd_sync_handshake`, `drbd_asb_recover_0p/1p/2p`).

use serde::{Deserialize, Serialize};

use super::bitmap::Bitmap;
use super::config::{AfterSb0Pri, AfterSb1Pri, AfterSb2Pri, ReplicaConfig, RrConflict};
use super::uuid::{GenerationIds, UuidComparison, UuidView, compare};
use super::{DiskState, Role};
use crate::{HandlerRequest, NodeId};

/// What one node tells the other when connecting (DRBD's `P_UUIDS`, `P_STATE`, and the
/// bitmap exchange folded into one message).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HandshakeParams {
    /// The sender.
    pub node: NodeId,
    /// Its generation identifiers.
    pub uuids: GenerationIds,
    /// Its disk state.
    pub disk: DiskState,
    /// Its role.
    pub role: Role,
    /// Whether it crashed while Primary and has not resynced since.
    pub crashed_primary: bool,
    /// `connect --discard-my-data`: the operator resolves split brain against this node.
    pub discard_my_data: bool,
    /// Its out-of-sync blocks; the count is what `discard-least-changes` compares.
    pub bitmap: Bitmap,
}

impl HandshakeParams {
    fn view(&self) -> UuidView {
        UuidView {
            uuids: self.uuids,
            crashed_primary: self.crashed_primary,
            role: self.role,
        }
    }
}

/// What the connection becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Outcome {
    /// Connected, no resync.
    Connected,
    /// This node sends the out-of-sync blocks (all blocks if `full`).
    SyncSource {
        /// Whole-device resync.
        full: bool,
    },
    /// This node receives the out-of-sync blocks (all blocks if `full`).
    SyncTarget {
        /// Whole-device resync.
        full: bool,
    },
    /// The connection is dropped and the node goes StandAlone.
    Disconnect(HandshakeRefusal),
}

/// Why the handshake dropped the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HandshakeRefusal {
    /// The two data sets share no history ("Unrelated data, aborting!").
    UnrelatedData,
    /// Split brain that no policy resolved ("Split-Brain detected but unresolved").
    SplitBrain,
    /// This node would be sync source with an Inconsistent disk.
    SourceIsInconsistent,
    /// This node is Primary and would be sync target (`rr-conflict`).
    PrimaryWouldBeTarget,
}

/// How a detected split brain was handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SplitBrain {
    /// Primaries at the time of the handshake (selects the after-sb-Npri policy).
    pub primaries: u8,
    /// `Some(true)`: resolved and this node's changes are discarded; `Some(false)`:
    /// resolved and the peer's are; `None`: not resolved.
    pub discard_mine: Option<bool>,
    /// Resolved by `--discard-my-data` rather than by a policy.
    pub manual: bool,
}

/// The full result of the handshake on one node.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HandshakeDecision {
    /// `drbd_uuid_compare`'s rule and verdict.
    pub comparison: UuidComparison,
    /// What the connection becomes.
    pub outcome: Outcome,
    /// Set when split brain was detected.
    pub split_brain: Option<SplitBrain>,
    /// Handlers to run.
    pub handlers: Vec<HandlerRequest>,
}

/// Unresolved, as DRBD's recovery functions return by default.
const UNRESOLVED: i32 = -100;

/// `drbd_asb_recover_0p`: positive keeps my data, negative discards it.
fn recover_0p(
    policy: AfterSb0Pri,
    cfg: &ReplicaConfig,
    me: &HandshakeParams,
    peer: &HandshakeParams,
    resolve_conflicts: bool,
) -> i32 {
    // Lowest bit of the bitmap UUID: was this node Primary when its changes began?
    let self_pri = me.uuids.bitmap & 1;
    let peer_pri = peer.uuids.bitmap & 1;
    let ch_self = me.bitmap.count();
    let ch_peer = peer.bitmap.count();
    let tie = if resolve_conflicts { -1 } else { 1 };
    let least_changes = || match ch_self.cmp(&ch_peer) {
        core::cmp::Ordering::Less => -1,
        core::cmp::Ordering::Greater => 1,
        core::cmp::Ordering::Equal => tie,
    };
    // The fall-through chain of DRBD's switch: younger -> older -> zero -> least.
    let zero_changes = |then_least: bool| {
        if ch_peer == 0 && ch_self == 0 {
            tie
        } else if ch_peer == 0 {
            1
        } else if ch_self == 0 {
            -1
        } else if then_least {
            least_changes()
        } else {
            UNRESOLVED
        }
    };
    let older = || match (self_pri, peer_pri) {
        (0, 1) => 1,
        (1, 0) => -1,
        _ => zero_changes(true),
    };
    match policy {
        AfterSb0Pri::Disconnect => UNRESOLVED,
        AfterSb0Pri::DiscardYoungerPrimary => match (self_pri, peer_pri) {
            (0, 1) => -1,
            (1, 0) => 1,
            _ => older(),
        },
        AfterSb0Pri::DiscardOlderPrimary => older(),
        AfterSb0Pri::DiscardZeroChanges => zero_changes(false),
        AfterSb0Pri::DiscardLeastChanges => least_changes(),
        AfterSb0Pri::DiscardNode(n) if n == cfg.me => -1,
        AfterSb0Pri::DiscardNode(_) => 1,
    }
}

/// `drbd_asb_recover_1p`. Returns the verdict and the handler to call, if any.
fn recover_1p(
    cfg: &ReplicaConfig,
    me: &HandshakeParams,
    peer: &HandshakeParams,
    rc: bool,
) -> (i32, Option<HandlerRequest>) {
    let hg = || recover_0p(cfg.after_sb_0pri, cfg, me, peer, rc);
    match cfg.after_sb_1pri {
        AfterSb1Pri::Disconnect => (UNRESOLVED, None),
        AfterSb1Pri::Consensus => {
            let hg = hg();
            let agree =
                (hg == -1 && me.role == Role::Secondary) || (hg == 1 && me.role == Role::Primary);
            (if agree { hg } else { UNRESOLVED }, None)
        }
        AfterSb1Pri::ViolentlyAs0p => (hg(), None),
        AfterSb1Pri::DiscardSecondary => (if me.role == Role::Primary { 1 } else { -1 }, None),
        AfterSb1Pri::CallPriLostAfterSb => pri_lost_after_sb(hg(), me.role),
    }
}

/// `drbd_asb_recover_2p`.
fn recover_2p(
    cfg: &ReplicaConfig,
    me: &HandshakeParams,
    peer: &HandshakeParams,
    rc: bool,
) -> (i32, Option<HandlerRequest>) {
    let hg = || recover_0p(cfg.after_sb_0pri, cfg, me, peer, rc);
    match cfg.after_sb_2pri {
        AfterSb2Pri::Disconnect => (UNRESOLVED, None),
        AfterSb2Pri::ViolentlyAs0p => (hg(), None),
        AfterSb2Pri::CallPriLostAfterSb => pri_lost_after_sb(hg(), me.role),
    }
}

/// A Primary whose data is to be discarded must demote first. Its device is in use (the
/// file system on it is mounted: that is why it is Primary in an HA stack), so the demote
/// fails as DRBD's does on an open device, and the `pri-lost-after-sb` handler runs; the
/// split brain stays unresolved on this node.
fn pri_lost_after_sb(hg: i32, role: Role) -> (i32, Option<HandlerRequest>) {
    if hg == -1 && role == Role::Primary {
        (UNRESOLVED, Some(HandlerRequest::PrimaryLostAfterSplitBrain))
    } else {
        (hg, None)
    }
}

/// `drbd_sync_handshake` on the node whose parameters are `me`.
///
/// `resolve_conflicts` must be true on exactly one of the two nodes.
pub fn decide(
    cfg: &ReplicaConfig,
    me: &HandshakeParams,
    peer: &HandshakeParams,
    resolve_conflicts: bool,
) -> HandshakeDecision {
    let comparison = compare(&me.view(), &peer.view(), resolve_conflicts);
    let mut hg = comparison.verdict;
    let mut handlers = Vec::new();
    let mut split_brain = None;
    let done = |outcome, split_brain, handlers| HandshakeDecision {
        comparison,
        outcome,
        split_brain,
        handlers,
    };

    if hg == -1000 {
        return done(
            Outcome::Disconnect(HandshakeRefusal::UnrelatedData),
            None,
            handlers,
        );
    }

    let (mydisk, peerdisk) = (me.disk, peer.disk);
    if (mydisk == DiskState::Inconsistent && peerdisk > DiskState::Inconsistent)
        || (peerdisk == DiskState::Inconsistent && mydisk > DiskState::Inconsistent)
    {
        // "Becoming sync source/target due to disk states."
        let full = hg == -100 || hg.abs() == 2;
        hg = if mydisk > DiskState::Inconsistent {
            1
        } else {
            -1
        };
        if full {
            hg *= 2;
        }
    }

    if hg == 100 {
        // Auto-recoverable split brain: the after-sb policy chosen by the Primary count.
        let primaries = u8::from(me.role == Role::Primary) + u8::from(peer.role == Role::Primary);
        let (resolved, handler) = match primaries {
            0 => (
                recover_0p(cfg.after_sb_0pri, cfg, me, peer, resolve_conflicts),
                None,
            ),
            1 => recover_1p(cfg, me, peer, resolve_conflicts),
            _ => recover_2p(cfg, me, peer, resolve_conflicts),
        };
        handlers.extend(handler);
        hg = resolved;
        split_brain = Some(SplitBrain {
            primaries,
            discard_mine: (hg.abs() < 100).then_some(hg < 0),
            manual: false,
        });
    }

    if hg == -100 {
        // Manual resolution: `connect --discard-my-data` on exactly one side.
        if me.discard_my_data && !peer.discard_my_data {
            hg = -1;
        }
        if !me.discard_my_data && peer.discard_my_data {
            hg = 1;
        }
        let primaries = u8::from(me.role == Role::Primary) + u8::from(peer.role == Role::Primary);
        split_brain = Some(SplitBrain {
            primaries,
            discard_mine: (hg.abs() < 100).then_some(hg < 0),
            manual: hg.abs() < 100,
        });
    }

    if hg == -100 {
        handlers.push(HandlerRequest::SplitBrain);
        return done(
            Outcome::Disconnect(HandshakeRefusal::SplitBrain),
            split_brain,
            handlers,
        );
    }

    if hg > 0 && mydisk <= DiskState::Inconsistent {
        return done(
            Outcome::Disconnect(HandshakeRefusal::SourceIsInconsistent),
            split_brain,
            handlers,
        );
    }

    if hg < 0 && me.role == Role::Primary && me.disk >= DiskState::Consistent {
        if cfg.rr_conflict == RrConflict::CallPriLost {
            handlers.push(HandlerRequest::PrimaryLost);
        }
        return done(
            Outcome::Disconnect(HandshakeRefusal::PrimaryWouldBeTarget),
            split_brain,
            handlers,
        );
    }

    let full = hg.abs() >= 2;
    let outcome = match hg.signum() {
        1 => Outcome::SyncSource { full },
        -1 => Outcome::SyncTarget { full },
        _ => Outcome::Connected,
    };
    done(outcome, split_brain, handlers)
}
