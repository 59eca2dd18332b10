//! The stateright [`Model`] over [`State`], and the properties it checks: the safety
//! properties of [`crate::properties`] (the simulator's oracles are the same
//! definitions) on a [`View`] of each state, and the reachability of a failover.

use stateright::Model;

use super::config::{A, B, CheckConfig, CheckConfigError, Start};
use std::collections::BTreeMap;

use core::time::Duration;

use super::state::{Action, AnyTimer, Driver, Log, State, bit, ix};
use crate::properties::{GuestView, Observation, Presence, Property};
use crate::replication::uuid::GenerationIds;
use crate::replication::{DiskState, Role};
use crate::{NodeId, WriteId};

/// The model of one configuration: two guests (replica + membership + resource manager
/// each), optionally a witness, a ping node, a quorum device and the VM-restart layer.
#[derive(Clone, Debug)]
pub struct CheckModel {
    /// The driver that runs the machines on a state.
    pub driver: Driver,
    init: State,
}

/// *No split brain* ([`Property::SplitBrain`]): never two Primaries whose data
/// generations diverged.
pub const NO_SPLIT_BRAIN: &str = Property::SplitBrain.name();
/// *No acknowledged write lost from every replica* ([`Property::LostWrite`]).
pub const NO_LOST_EVERYWHERE: &str = Property::LostWrite.name();
/// *No acknowledged write missing on a Primary* ([`Property::MissingWrite`]).
pub const NO_MISSING_WRITE: &str = Property::MissingWrite.name();
/// The property this checker called "no lost acknowledged write" before the two
/// durability properties were told apart: [`NO_MISSING_WRITE`].
pub const NO_LOST_WRITE: &str = NO_MISSING_WRITE;
/// *No stale primary* ([`Property::StalePrimary`]).
pub const NO_STALE_PRIMARY: &str = Property::StalePrimary.name();
/// *Failover happens* (reachability, see [`failover`]).
pub const FAILOVER: &str = "failover happens";

/// Every property, in report order: the safety properties of [`crate::properties`] in
/// [`Property::ALL`] order, then failover.
pub const PROPERTIES: [&str; 5] = [
    NO_SPLIT_BRAIN,
    NO_LOST_EVERYWHERE,
    NO_MISSING_WRITE,
    NO_STALE_PRIMARY,
    FAILOVER,
];

fn primary(s: &State, i: usize) -> bool {
    s.guests[i]
        .as_ref()
        .is_some_and(|g| g.replica().role() == Role::Primary)
}

/// A state as the properties see it: the guests' replicas (a guest that is down shows
/// its persisted generations), the acknowledged writes and the abstract disks, where
/// write `w` lives in block `w` alone, so "held" is "on the disk".
#[derive(Clone, Copy, Debug)]
pub struct View<'a>(pub &'a State);

impl Observation for View<'_> {
    fn guests(&self) -> impl Iterator<Item = GuestView> + '_ {
        let s = self.0;
        [A, B].into_iter().map(move |node| {
            let i = ix(node);
            match &s.guests[i] {
                Some(g) => {
                    let r = g.replica();
                    GuestView {
                        node,
                        presence: Presence::Up,
                        role: r.role(),
                        disk: r.disk(),
                        generations: r.uuids(),
                    }
                }
                None => GuestView {
                    node,
                    presence: Presence::Down,
                    role: Role::Secondary,
                    disk: DiskState::Diskless,
                    generations: s.meta[i]
                        .as_ref()
                        .map_or(GenerationIds::JUST_CREATED, |m| m.uuids),
                },
            }
        })
    }

    fn acknowledged(&self) -> impl Iterator<Item = WriteId> + '_ {
        let acked = self.0.acked;
        (1..8).filter(move |&w| acked & bit(w) != 0).map(WriteId)
    }

    fn holds(&self, guest: NodeId, write: WriteId) -> bool {
        self.0.on_disk[ix(guest)] & bit(write.0) != 0
    }

    fn acknowledged_before_promotion(&self, guest: NodeId, write: WriteId) -> bool {
        self.0.must_have[ix(guest)] & bit(write.0) != 0
    }

    fn serves(&self, guest: NodeId) -> bool {
        let i = ix(guest);
        primary(self.0, i) && self.0.running[i]
    }
}

/// Each safety property on a state, as stateright calls it.
fn holds<const P: usize>(_: &CheckModel, s: &State) -> bool {
    Property::ALL[P].holds(&View(s))
}

/// *Failover happens* (checked as `sometimes`): some reachable state has `b` — the guest
/// that does not run the group at the start — Primary with the service running, i.e.
/// the group moved (or, from a partitioned start, was started at all). stateright's
/// `eventually` is unsound on the cycles this model has (heartbeats), so the liveness
/// side is checked as reachability: a configuration where no schedule at all leads to a
/// take-over is reported as violated.
pub fn failover(_: &CheckModel, s: &State) -> bool {
    let i = ix(B);
    primary(s, i) && s.running[i]
}

impl CheckModel {
    /// The model of `cfg`; refuses a configuration the checker cannot run.
    pub fn new(cfg: CheckConfig) -> Result<CheckModel, CheckConfigError> {
        cfg.validate()?;
        let driver = Driver { cfg };
        let init = match driver.cfg.start {
            Start::Running => driver.settled_state().0,
            Start::Partitioned => {
                let mut log = Log::default();
                driver.boot_state(&mut Some(&mut log), &[])
            }
        };
        Ok(CheckModel { driver, init })
    }

    /// The configuration.
    pub fn config(&self) -> &CheckConfig {
        &self.driver.cfg
    }

    /// The initial state.
    pub fn init(&self) -> &State {
        &self.init
    }

    /// How long after the initial state each of its armed timers fires.
    pub fn init_timers(&self) -> BTreeMap<(NodeId, AnyTimer), Duration> {
        self.init
            .timers
            .iter()
            .map(|(&k, &left)| (k, Duration::from_millis(u64::from(left))))
            .collect()
    }

    /// A one-line summary of the guests in `s`: role/disk/connection of each.
    pub fn summary(s: &State) -> String {
        let mut parts = Vec::new();
        for n in [A, B] {
            let i = ix(n);
            parts.push(match &s.guests[i] {
                Some(g) => {
                    let r = g.replica();
                    format!(
                        "{n}: {:?}/{:?}/{:?}{} disk{:?}",
                        r.role(),
                        r.disk(),
                        r.conn(),
                        if s.running[i] { " service" } else { "" },
                        writes(s.on_disk[i]),
                    )
                }
                None => format!("{n}: down ({:?}) disk{:?}", s.down[i], writes(s.on_disk[i])),
            });
        }
        parts.join(" | ")
    }
}

/// The write ids in a bit set.
pub fn writes(mask: u8) -> Vec<u8> {
    (1..8).filter(|w| mask & (1 << w) != 0).collect()
}

impl Model for CheckModel {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        vec![self.init.clone()]
    }

    fn actions(&self, s: &State, actions: &mut Vec<Action>) {
        self.driver.actions(s, actions);
    }

    fn next_state(&self, last: &State, action: Action) -> Option<State> {
        let mut s = last.clone();
        self.driver.apply(&mut s, &action, &mut None).then_some(s)
    }

    fn format_step(&self, last: &State, action: Action) -> Option<String> {
        self.next_state(last, action).map(|s| Self::summary(&s))
    }

    fn properties(&self) -> Vec<stateright::Property<Self>> {
        vec![
            stateright::Property::always(NO_SPLIT_BRAIN, holds::<0>),
            stateright::Property::always(NO_LOST_EVERYWHERE, holds::<1>),
            stateright::Property::always(NO_MISSING_WRITE, holds::<2>),
            stateright::Property::always(NO_STALE_PRIMARY, holds::<3>),
            stateright::Property::sometimes(FAILOVER, failover),
        ]
    }
}
