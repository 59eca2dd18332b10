//! When two replicas' data have forked: DRBD's own test, applied at any instant.

use crate::replication::Role;
use crate::replication::uuid::{GenerationIds, UuidView, compare};

/// Whether the data generations `x` and `y` diverged: neither descends from the other,
/// so each side has (or may have) written data the other never had. This is exactly
/// what `drbd_uuid_compare` reports as split brain (verdict 100 or -100, rules 90 and
/// 100) or as unrelated data (-1000) when the two connect; a pair whose generations are
/// equal or where one is an ancestor of the other (rules 40-80: a resync in one
/// direction repairs it) has not diverged.
///
/// The comparison is made as if both were Secondary and neither had crashed as
/// Primary: those flags only pick the sync direction between *equal* generations
/// (rules 40 and 41), never make generations diverge.
pub fn diverged(x: &GenerationIds, y: &GenerationIds) -> bool {
    let view = |uuids: GenerationIds| UuidView {
        uuids,
        crashed_primary: false,
        role: Role::Secondary,
    };
    matches!(
        compare(&view(*x), &view(*y), false).verdict,
        100 | -100 | -1000
    )
}
