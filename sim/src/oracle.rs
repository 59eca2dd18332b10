//! The checker's properties as the simulator's oracles: `model::properties`, asked of
//! the simulated lab after every event.
//!
//! [`SimView`] shows the lab to the properties: each guest's replica (role, disk, data
//! generations; a guest that is down shows its persisted generations, a hung guest keeps
//! its role), the application writes of the world's [`crate::world::Ledger`] and the
//! guests' virtual disks (a write is held where its block has it or a later write). The
//! [`Oracle`] asks after every harness event that recorded something or completed a disk
//! write, and after every change the world makes itself (a scripted fault, a VM that
//! boots or dies). Other events (a heartbeat, a timer that changes nothing observable)
//! cannot change what the properties read — roles, disk states, generations and
//! acknowledgements all come with a record — so skipping them changes no verdict and
//! keeps the oracles cheap. A guest that goes down without a record (STONITH) can only
//! end a violation, never start one.

use core::fmt;

use model::Time;
use model::properties::{GuestView, Observation, Overlap, Presence, Violation, violations};
use model::replication::uuid::GenerationIds;
use model::replication::{DiskState, Role};
use model::{NodeId, WriteId};
use serde::{Deserialize, Serialize};

use crate::node::SimNode;
use crate::world::World;

/// The lab as the properties see it, at one instant (the guests' views are taken once:
/// the properties ask for them per write).
#[derive(Clone, Debug)]
pub struct SimView<'a> {
    world: &'a World,
    guests: Vec<GuestView>,
}

impl<'a> SimView<'a> {
    /// The lab now.
    pub fn new(world: &'a World) -> SimView<'a> {
        SimView {
            world,
            guests: guest_views(world),
        }
    }
}

fn guest_views(w: &World) -> Vec<GuestView> {
    w.guests
        .keys()
        .map(|&node| {
            let presence = if !w.lab.is_up(node) {
                Presence::Down
            } else if w.is_hung(node) {
                Presence::Hung
            } else {
                Presence::Up
            };
            match w.lab.try_node(node) {
                Some(SimNode::Guest(g)) => {
                    let r = g.replica();
                    GuestView {
                        node,
                        presence,
                        role: r.role(),
                        disk: r.disk(),
                        generations: r.uuids(),
                    }
                }
                // No replica: the single node serves its local disk as it is.
                Some(_) => GuestView {
                    node,
                    presence,
                    role: Role::Primary,
                    disk: DiskState::UpToDate,
                    generations: GenerationIds::JUST_CREATED,
                },
                None => GuestView {
                    node,
                    presence,
                    role: Role::Secondary,
                    disk: DiskState::Diskless,
                    generations: w
                        .lab
                        .persisted(node)
                        .map_or(GenerationIds::JUST_CREATED, |m| m.uuids),
                },
            }
        })
        .collect()
}

impl Observation for SimView<'_> {
    fn guests(&self) -> impl Iterator<Item = GuestView> + '_ {
        self.guests.iter().copied()
    }

    fn acknowledged(&self) -> impl Iterator<Item = WriteId> + '_ {
        self.world.ledger.to_check()
    }

    fn holds(&self, guest: NodeId, write: WriteId) -> bool {
        let w = self.world;
        w.ledger.block_of(write).is_some_and(|block| {
            w.lab
                .disk(guest)
                .block(block)
                .and_then(model::Payload::as_u64)
                .is_some_and(|have| have >= write.0)
        })
    }

    fn acknowledged_before_promotion(&self, guest: NodeId, write: WriteId) -> bool {
        self.world
            .ledger
            .acknowledged_before_promotion(guest, write)
    }

    fn serves(&self, guest: NodeId) -> bool {
        self.world.serves(guest)
    }
}

/// A violation and when it was found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Found {
    /// Virtual seconds since boot.
    pub at: f64,
    /// What was violated.
    pub violation: Violation,
}

/// `split brain: a and b are Primary ... (at 331.204s)`.
impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at {:.3} s)", self.violation, self.at)
    }
}

/// An interval in which an [`Overlap`] held: `[from, to)` virtual seconds; `to` is the
/// end of the run for one still going on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OverlapSpan {
    /// Which.
    pub overlap: Overlap,
    /// Since.
    pub from: f64,
    /// Until.
    pub to: f64,
}

/// The oracles of one run: the first violations and the overlaps seen.
#[derive(Debug, Default)]
pub struct Oracle {
    /// Disk writes completed on the guests at the last look.
    disk_writes: u64,
    /// Every property violated at the first event that violated any.
    found: Vec<Found>,
    /// Overlaps going on, since when.
    open: Vec<(Overlap, Time)>,
    /// Overlaps that ended.
    spans: Vec<OverlapSpan>,
}

fn secs(t: Time) -> f64 {
    t.as_nanos() as f64 / 1e9
}

impl Oracle {
    /// No violation, no overlap yet.
    pub fn new() -> Oracle {
        Oracle::default()
    }

    /// After one harness event, whose records the world has taken in (`recorded`: they
    /// changed what the properties read): asks the properties if so or if the event
    /// completed a disk write. Returns whether a property is violated.
    pub fn after_event(&mut self, w: &World, recorded: bool) -> bool {
        let writes = w.guest_disk_writes();
        if recorded || writes != self.disk_writes {
            self.disk_writes = writes;
            self.evaluate(w);
        }
        self.violated()
    }

    /// After the world changed the lab itself: asks the properties. Returns whether a
    /// property is violated.
    pub fn after_world(&mut self, w: &mut World) -> bool {
        w.observe();
        self.disk_writes = w.guest_disk_writes();
        self.evaluate(w);
        self.violated()
    }

    /// Whether a property was violated.
    pub fn violated(&self) -> bool {
        !self.found.is_empty()
    }

    /// The properties violated at the first event that violated any.
    pub fn found(&self) -> &[Found] {
        &self.found
    }

    fn evaluate(&mut self, w: &World) {
        let view = SimView::new(w);
        let now = w.lab.now();
        for o in Overlap::ALL {
            let on = o.happens(&view);
            let pos = self.open.iter().position(|(x, _)| *x == o);
            match (on, pos) {
                (true, None) => self.open.push((o, now)),
                (false, Some(i)) => {
                    let (_, from) = self.open.remove(i);
                    self.spans.push(OverlapSpan {
                        overlap: o,
                        from: secs(from),
                        to: secs(now),
                    });
                }
                _ => {}
            }
        }
        if self.found.is_empty() {
            let at = secs(now);
            self.found = violations(&view)
                .into_iter()
                .map(|violation| Found { at, violation })
                .collect();
        }
    }

    /// The overlaps of the run, in the order they began; one still going on ends at
    /// `end`.
    pub fn overlaps(&self, end: Time) -> Vec<OverlapSpan> {
        let mut out = self.spans.clone();
        out.extend(self.open.iter().map(|&(overlap, from)| OverlapSpan {
            overlap,
            from: secs(from),
            to: secs(end),
        }));
        out.sort_by(|x, y| x.from.total_cmp(&y.from));
        out
    }
}
