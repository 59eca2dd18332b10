//! The safety properties of the replicated pair, defined once for every driver.
//!
//! The model checker (`model::check`) asks them of every state it explores; the
//! simulator (`sim`) asks them after every event of a run, as oracles. Each driver only
//! builds an [`Observation`] of its guests — role, disk state and data generations of
//! each replica, which acknowledged writes each disk holds, which writes were
//! acknowledged before a guest became Primary — and the definitions here decide. So
//! "split brain" or "lost write" cannot mean one thing in a counterexample and another
//! in its replay.
//!
//! * [`Property::SplitBrain`]: two Primaries whose data generations diverged
//!   ([`diverged`]: what DRBD's handshake would call split brain if they connected now).
//! * [`Property::LostWrite`]: an acknowledged write that no replica's disk holds any more
//!   (a crash before it reached any disk, a resync or an after-split-brain policy that
//!   overwrote it everywhere).
//! * [`Property::MissingWrite`]: a Primary whose disk lacks a write acknowledged before it
//!   was promoted (the application reads old data after a failover).
//! * [`Property::StalePrimary`]: a Primary on an Inconsistent or Outdated disk.
//!
//! Besides the properties, two service-level facts are worth reporting without being
//! violations ([`Overlap`]): two Primaries at one instant (one may still be demoting, or
//! hung, and DRBD will sort it out without a fork) and two guests serving at once.
//! `docs/verification.md` ("Properties") gives the reasons for each definition.

mod generations;
mod violation;

pub use generations::diverged;
pub use violation::{Detail, Violation};

use serde::{Deserialize, Serialize};

use crate::replication::uuid::GenerationIds;
use crate::replication::{DiskState, Role};
use crate::{NodeId, WriteId};

/// Whether a guest runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Presence {
    /// It runs.
    Up,
    /// Its host hangs: it keeps its state (and its role) but does nothing and serves
    /// nobody until the host goes on.
    Hung,
    /// It is powered off or crashed; only its disk and metadata remain.
    Down,
}

/// What the properties read of one guest at one instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GuestView {
    /// The guest.
    pub node: NodeId,
    /// Whether it runs.
    pub presence: Presence,
    /// Its replica's role (a guest that is down is no Primary, whatever it was).
    pub role: Role,
    /// Its replica's disk state.
    pub disk: DiskState,
    /// Its replica's data-generation identifiers (a guest that is down: the persisted
    /// ones).
    pub generations: GenerationIds,
}

impl GuestView {
    /// Whether the guest is a Primary now: it runs (or hangs) with its replica promoted.
    pub fn is_primary(&self) -> bool {
        self.presence != Presence::Down && self.role == Role::Primary
    }
}

/// What a driver shows the properties: its guests, and the writes it acknowledged.
///
/// A write is *held* by a disk when the disk's block has that write's data or the data
/// of a later write to the same block (the application overwrote it; its durability is
/// no longer in question). A driver whose writes overwrite blocks may yield from
/// [`Observation::acknowledged`], for each block, only the newest acknowledged write and,
/// for each Primary, the newest acknowledged before its promotion: because a later write
/// held implies the earlier one held, the verdicts are the same.
pub trait Observation {
    /// Every guest of the pair (the replicas), up or not.
    fn guests(&self) -> impl Iterator<Item = GuestView> + '_;
    /// The writes acknowledged to the application so far (see the trait's note).
    fn acknowledged(&self) -> impl Iterator<Item = WriteId> + '_;
    /// Whether `guest`'s disk holds `write` now (see the trait's note). The disk of a
    /// guest that is down still counts: it is there when the guest comes back.
    fn holds(&self, guest: NodeId, write: WriteId) -> bool;
    /// Whether `write` was acknowledged before `guest` last became Primary; asked only of
    /// Primaries.
    fn acknowledged_before_promotion(&self, guest: NodeId, write: WriteId) -> bool;
    /// Whether the service answers from `guest` now (for [`Overlap::TwoServing`]).
    fn serves(&self, guest: NodeId) -> bool;
}

/// A safety property: something that must never happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Property {
    /// Never two Primaries whose data generations diverged.
    SplitBrain,
    /// Never an acknowledged write that no replica holds.
    LostWrite,
    /// Never a Primary without a write acknowledged before its promotion.
    MissingWrite,
    /// Never a Primary on an Inconsistent or Outdated disk.
    StalePrimary,
}

impl Property {
    /// Every property, in report order.
    pub const ALL: [Property; 4] = [
        Property::SplitBrain,
        Property::LostWrite,
        Property::MissingWrite,
        Property::StalePrimary,
    ];

    /// The name reports use.
    pub const fn name(self) -> &'static str {
        match self {
            Property::SplitBrain => "no split brain",
            Property::LostWrite => "no acknowledged write lost from every replica",
            Property::MissingWrite => "no acknowledged write missing on a Primary",
            Property::StalePrimary => "no stale primary",
        }
    }

    /// Whether the property holds in `o`; the first violation found otherwise.
    pub fn check(self, o: &impl Observation) -> Result<(), Violation> {
        let detail = match self {
            Property::SplitBrain => split_brain(o),
            Property::LostWrite => lost_write(o),
            Property::MissingWrite => missing_write(o),
            Property::StalePrimary => stale_primary(o),
        };
        match detail {
            None => Ok(()),
            Some(detail) => Err(Violation {
                property: self,
                detail,
            }),
        }
    }

    /// Whether the property holds in `o` (what the checker asks of every state).
    pub fn holds(self, o: &impl Observation) -> bool {
        self.check(o).is_ok()
    }
}

impl core::fmt::Display for Property {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Every property violated in `o`, in [`Property::ALL`] order.
pub fn violations(o: &impl Observation) -> Vec<Violation> {
    Property::ALL
        .into_iter()
        .filter_map(|p| p.check(o).err())
        .collect()
}

/// Two Primaries whose generations diverged. Two Primaries where one's generation
/// descends from the other's (the old Primary is hung, frozen or still demoting while
/// the new one took over) have not forked the data: that is an [`Overlap`], and the
/// write properties say whether anything acknowledged went missing.
fn split_brain(o: &impl Observation) -> Option<Detail> {
    for x in o.guests().filter(GuestView::is_primary) {
        for y in o.guests().filter(|y| y.node > x.node && y.is_primary()) {
            if diverged(&x.generations, &y.generations) {
                return Some(Detail::SplitBrain {
                    first: x.node,
                    second: y.node,
                    generations: [x.generations, y.generations],
                });
            }
        }
    }
    None
}

fn lost_write(o: &impl Observation) -> Option<Detail> {
    o.acknowledged()
        .find(|&w| !o.guests().any(|g| o.holds(g.node, w)))
        .map(|write| Detail::LostWrite { write })
}

fn missing_write(o: &impl Observation) -> Option<Detail> {
    o.guests().filter(GuestView::is_primary).find_map(|g| {
        o.acknowledged()
            .find(|&w| o.acknowledged_before_promotion(g.node, w) && !o.holds(g.node, w))
            .map(|write| Detail::MissingWrite {
                guest: g.node,
                write,
            })
    })
}

fn stale_primary(o: &impl Observation) -> Option<Detail> {
    o.guests()
        .filter(GuestView::is_primary)
        .find(|g| matches!(g.disk, DiskState::Inconsistent | DiskState::Outdated))
        .map(|g| Detail::StalePrimary {
            guest: g.node,
            disk: g.disk,
        })
}

/// A service-level fact worth reporting that is not a violation by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Overlap {
    /// Two guests are Primary at once, diverged or not (a hung or frozen old Primary, a
    /// demotion still under way; with diverged generations it is also a split brain).
    TwoPrimaries,
    /// The service answers from two guests at once (clients may reach either: the
    /// service-level split brain the study's clients would see).
    TwoServing,
}

impl Overlap {
    /// Both, in report order.
    pub const ALL: [Overlap; 2] = [Overlap::TwoPrimaries, Overlap::TwoServing];

    /// The name reports use.
    pub const fn name(self) -> &'static str {
        match self {
            Overlap::TwoPrimaries => "two primaries",
            Overlap::TwoServing => "two serving guests",
        }
    }

    /// Whether it is happening in `o`.
    pub fn happens(self, o: &impl Observation) -> bool {
        match self {
            Overlap::TwoPrimaries => o.guests().filter(GuestView::is_primary).count() > 1,
            Overlap::TwoServing => o.guests().filter(|g| o.serves(g.node)).count() > 1,
        }
    }
}

impl core::fmt::Display for Overlap {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests;
