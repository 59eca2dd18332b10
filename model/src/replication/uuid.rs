//! Data-generation identifiers and DRBD's `drbd_uuid_compare`.
//!
//! A replica's data has a *generation*: the current UUID names it, the bitmap UUID names
//! the generation since which the out-of-sync bitmap has been tracking changes, and two
//! history UUIDs remember older generations. Comparing the tuples of two nodes at connect
//! time tells which one has the newer data, whether a bitmap-based resync suffices, and
//! whether the two histories diverged (split brain) or never met (unrelated data).
//!
//! src: UG84 "DRBD internals: data generation identifiers" and Linux
//! `drivers/block/drbd/drbd_receiver.c` `drbd_uuid_compare` (DRBD 8.4, protocol >= 96).
//! As in DRBD, the lowest bit of a UUID records whether its owner was Primary when the
//! UUID was set, and comparisons ignore it.

use core::fmt;

use serde::{Deserialize, Serialize};

use super::Role;
use crate::NodeId;

/// The current UUID of freshly created metadata (`UUID_JUST_CREATED`, src: `drbd_int.h`).
pub const UUID_JUST_CREATED: u64 = 4;

/// What the sync source adds to its bitmap UUID to make the next one at resync start
/// (`UUID_NEW_BM_OFFSET`, src: `drbd_int.h`).
pub const UUID_NEW_BM_OFFSET: u64 = 1 << 48;

/// Ignore the "was Primary" bit.
fn g(uuid: u64) -> u64 {
    uuid & !1
}

/// The four generation identifiers of one replica.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GenerationIds {
    /// The current data generation.
    pub current: u64,
    /// The generation since which the bitmap tracks changes; 0 when in sync.
    pub bitmap: u64,
    /// Older generations, newest first.
    pub history: [u64; 2],
}

impl GenerationIds {
    /// Fresh metadata: no data yet.
    pub const JUST_CREATED: GenerationIds = GenerationIds {
        current: UUID_JUST_CREATED,
        bitmap: 0,
        history: [0, 0],
    };

    /// Pushes `uuid` into the history, dropping the oldest (`drbd_uuid_move_history` plus
    /// the store into `UI_HISTORY_START`).
    pub fn push_history(&mut self, uuid: u64) {
        self.history[1] = self.history[0];
        self.history[0] = uuid;
    }

    /// Starts a new data generation (`drbd_uuid_new_current`): the current UUID becomes
    /// the bitmap UUID and `fresh` becomes current.
    pub fn new_current(&mut self, fresh: u64, primary: bool) {
        self.bitmap = self.current;
        self.current = with_primary_bit(fresh, primary);
    }

    /// Sets the bitmap UUID as `drbd_uuid_set(UI_BITMAP)` does: a non-zero old value is
    /// rotated into the history first.
    pub fn set_bitmap(&mut self, uuid: u64) {
        if self.bitmap != 0 {
            self.push_history(self.bitmap);
        }
        self.bitmap = uuid;
    }
}

/// `uuid` with its "was Primary" bit set or cleared.
pub fn with_primary_bit(uuid: u64, primary: bool) -> u64 {
    if primary { uuid | 1 } else { uuid & !1 }
}

impl fmt::Debug for GenerationIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:X}:{:X}:{:X}:{:X}",
            self.current, self.bitmap, self.history[0], self.history[1]
        )
    }
}

impl fmt::Display for GenerationIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A fresh, deterministic UUID: the `counter`-th one made by `node`.
///
/// DRBD draws random UUIDs; a protocol machine may not draw randomness, and a UUID only
/// has to differ from every other one ever made, so this mixes the node and a counter
/// kept in the metadata (SplitMix64 finaliser) and never yields 0 or the just-created
/// value.
pub fn fresh_uuid(node: NodeId, counter: u64) -> u64 {
    let mut z = (u64::from(node.0) << 48 ^ counter).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    let z = g(z);
    if z == 0 || z == UUID_JUST_CREATED {
        z | 0x100
    } else {
        z
    }
}

/// One side of the comparison: what `drbd_uuid_compare` reads of a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UuidView {
    /// The node's generation identifiers.
    pub uuids: GenerationIds,
    /// Whether it crashed while Primary (`CRASHED_PRIMARY`, sent as flag bit 2).
    pub crashed_primary: bool,
    /// Its role now.
    pub role: Role,
}

/// The outcome of `drbd_uuid_compare`, from the comparing node's point of view.
///
/// `verdict` keeps DRBD's numbers: 0 no sync; 1 / -1 become sync source / target with a
/// bitmap-based resync; 2 / -2 the same with a full resync; 100 split brain that the
/// after-split-brain policies may resolve; -100 split brain to be resolved by hand;
/// -1000 unrelated data (decided by rule 100, as in DRBD).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UuidComparison {
    /// Which rule of `drbd_uuid_compare` decided (its `rule_nr`).
    pub rule: u16,
    /// The verdict (see the type's doc).
    pub verdict: i32,
    /// Rules 34 and 71 correct this node's own identifiers: the corrected tuple.
    pub corrected_self: Option<GenerationIds>,
}

/// `drbd_uuid_compare`: compares `me` with `peer`.
///
/// `resolve_conflicts` is DRBD's `RESOLVE_CONFLICTS` flag, true on exactly one node of a
/// connection; it breaks the tie when both nodes crashed as Primary.
pub fn compare(me: &UuidView, peer: &UuidView, resolve_conflicts: bool) -> UuidComparison {
    let decide = |rule, verdict| UuidComparison {
        rule,
        verdict,
        corrected_self: None,
    };
    let (mu, pu) = (me.uuids, peer.uuids);
    let mut self_ = g(mu.current);
    let mut peer_ = g(pu.current);

    if self_ == UUID_JUST_CREATED && peer_ == UUID_JUST_CREATED {
        return decide(10, 0);
    }
    if (self_ == UUID_JUST_CREATED || self_ == 0) && peer_ != UUID_JUST_CREATED {
        return decide(20, -2);
    }
    if self_ != UUID_JUST_CREATED && (peer_ == UUID_JUST_CREATED || peer_ == 0) {
        return decide(30, 2);
    }

    if self_ == peer_ {
        if pu.bitmap == 0 && mu.bitmap != 0 {
            // I was sync source and the resync finished (or never started) on the peer.
            if g(mu.bitmap) == g(pu.history[0]) && g(mu.history[0]) == g(pu.history[1]) {
                // I missed the resync-finished event: catch up.
                let mut fixed = mu;
                fixed.push_history(mu.bitmap);
                fixed.bitmap = 0;
                return UuidComparison {
                    rule: 34,
                    verdict: 1,
                    corrected_self: Some(fixed),
                };
            }
            return decide(36, 1);
        }
        if mu.bitmap == 0 && pu.bitmap != 0 {
            if g(mu.history[0]) == g(pu.bitmap) && g(mu.history[1]) == g(pu.history[0]) {
                // The peer missed the resync-finished event; it corrects itself (its 34).
                return decide(35, -1);
            }
            return decide(37, -1);
        }

        // Common power failure: equal current, no bitmap UUID.
        let rct = u8::from(me.crashed_primary) + 2 * u8::from(peer.crashed_primary);
        if rct == 0 {
            return decide(40, 0);
        }
        if me.role == Role::Primary || peer.role == Role::Primary {
            // A current Primary is present: it is the source.
            if me.role == Role::Primary && peer.role == Role::Primary {
                return decide(41, -100);
            }
            return decide(41, if me.role == Role::Primary { 1 } else { -1 });
        }
        // Both Secondary: recovery from a simultaneous hard crash.
        let verdict = match rct {
            1 => 1,
            2 => -1,
            _ if resolve_conflicts => -1,
            _ => 1,
        };
        return decide(40, verdict);
    }

    peer_ = g(pu.bitmap);
    if self_ == peer_ {
        return decide(50, -1);
    }

    peer_ = g(pu.history[0]);
    if self_ == peer_ && peer_.wrapping_add(UUID_NEW_BM_OFFSET) == g(pu.bitmap) {
        // The peer's last sync UUID did not get through: the peer undoes its start of
        // resync as source (it applies rule 71 to itself).
        return decide(51, -1);
    }

    self_ = g(mu.current);
    if pu.history.iter().any(|&h| g(h) == self_) {
        return decide(60, -2);
    }

    self_ = g(mu.bitmap);
    peer_ = g(pu.current);
    if self_ == peer_ {
        return decide(70, 1);
    }

    self_ = g(mu.history[0]);
    if self_ == peer_ && self_.wrapping_add(UUID_NEW_BM_OFFSET) == g(mu.bitmap) {
        // My last sync UUID did not get through: undo my start of resync as source.
        let mut fixed = mu;
        fixed.bitmap = mu.history[0];
        fixed.history[0] = mu.history[1];
        return UuidComparison {
            rule: 71,
            verdict: 1,
            corrected_self: Some(fixed),
        };
    }

    peer_ = g(pu.current);
    if mu.history.iter().any(|&h| g(h) == peer_) {
        return decide(80, 2);
    }

    self_ = g(mu.bitmap);
    peer_ = g(pu.bitmap);
    if self_ == peer_ && self_ != 0 {
        return decide(90, 100);
    }

    for &s in &mu.history {
        for &p in &pu.history {
            // As in DRBD, two all-zero histories count as a match.
            if g(s) == g(p) {
                return decide(100, -100);
            }
        }
    }

    // Unrelated data is the last outcome of rule 100: DRBD 8.4 leaves `rule_nr` at 100
    // and returns -1000, so it logs "uuid_compare()=-1000 by rule 100" (src:
    // drbd_receiver.c `drbd_uuid_compare`, `drbd_sync_handshake`).
    decide(100, -1000)
}
