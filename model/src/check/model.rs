//! The stateright [`Model`] over [`State`], and the properties it checks.

use stateright::{Model, Property};

use super::config::{A, B, CheckConfig, CheckConfigError, Start};
use super::state::{Action, Driver, State, ix};
use crate::replication::{DiskState, Role};

/// The model of one configuration: two guests (replica + membership + resource manager
/// each), optionally a witness, a ping node, a quorum device and the VM-restart layer.
#[derive(Clone, Debug)]
pub struct CheckModel {
    /// The driver that runs the machines on a state.
    pub driver: Driver,
    init: State,
}

/// Property names, as the checker reports them.
pub const NO_SPLIT_BRAIN: &str = "no split brain";
/// Property names, as the checker reports them.
pub const NO_LOST_WRITE: &str = "no lost acknowledged write";
/// Property names, as the checker reports them.
pub const NO_STALE_PRIMARY: &str = "no stale primary";
/// Property names, as the checker reports them.
pub const FAILOVER: &str = "failover happens";

/// Every property, in report order.
pub const PROPERTIES: [&str; 4] = [NO_SPLIT_BRAIN, NO_LOST_WRITE, NO_STALE_PRIMARY, FAILOVER];

fn primary(s: &State, i: usize) -> bool {
    s.guests[i]
        .as_ref()
        .is_some_and(|g| g.replica().role() == Role::Primary)
}

/// *No split brain*: never are both guests Primary at once while each has acknowledged
/// a write the other has never had on its disk. That is the moment the acknowledged-write
/// history forks into two lines: whichever side a later resync keeps, the other side's
/// acknowledged writes are gone. (A Primary that crashed, or was fenced, before the
/// other was promoted is not a split: what it acknowledged alone is the business of
/// [`no_lost_write`].)
pub fn no_split_brain(_: &CheckModel, s: &State) -> bool {
    if !(primary(s, 0) && primary(s, 1)) {
        return true;
    }
    let a_alone = s.acked[0] & !s.seen[1];
    let b_alone = s.acked[1] & !s.seen[0];
    a_alone == 0 || b_alone == 0
}

/// *No lost acknowledged write*: every write acknowledged to the application before a
/// guest was promoted is on that guest's disk for as long as it stays Primary (so on the
/// disk of every replica that is Primary later).
pub fn no_lost_write(_: &CheckModel, s: &State) -> bool {
    (0..2).all(|i| !primary(s, i) || s.must_have[i] & !s.on_disk[i] == 0)
}

/// *No stale primary*: a Primary never serves from an Inconsistent or Outdated disk.
pub fn no_stale_primary(_: &CheckModel, s: &State) -> bool {
    (0..2).all(|i| {
        s.guests[i].as_ref().is_none_or(|g| {
            let r = g.replica();
            r.role() != Role::Primary
                || !matches!(r.disk(), DiskState::Inconsistent | DiskState::Outdated)
        })
    })
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
            Start::Running => driver.settled_state(),
            Start::Partitioned => driver.boot_state(&mut None, &[]),
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

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always(NO_SPLIT_BRAIN, no_split_brain),
            Property::always(NO_LOST_WRITE, no_lost_write),
            Property::always(NO_STALE_PRIMARY, no_stale_primary),
            Property::sometimes(FAILOVER, failover),
        ]
    }
}
