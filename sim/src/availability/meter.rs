//! What one long run measures, from the lab's state after every event that can change
//! it: time up and down, outages, failovers, false failovers, split brains, lost
//! acknowledged writes, time degraded and resyncing.
//!
//! The service's state is read when the world says the machines recorded something the
//! properties read (a replica or resource notice, an acknowledgement), when the layers'
//! coupling booted or stopped a guest, and after every change the driver makes itself:
//! those are the only events that change what runs (the oracle's argument,
//! `crate::oracle`). A test compares this with reading after every event.

use std::collections::BTreeSet;

use model::properties::{Observation, Presence, Property};
use model::replication::{ConnState, DiskState};
use model::{NodeId, Time};

use crate::node::SimNode;
use crate::oracle::SimView;
use crate::world::World;

/// The lab's state as the meter counts it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct State {
    up: bool,
    degraded: bool,
    resyncing: bool,
}

/// Counters of one run.
#[derive(Debug)]
pub(super) struct Meter {
    /// Measuring since (the end of the warm-up).
    start: Time,
    last: Time,
    state: State,
    /// Seconds up, down, degraded, resyncing.
    pub up: f64,
    pub down: f64,
    pub degraded: f64,
    pub resyncing: f64,
    /// Outages begun (up -> down).
    pub outages: u64,
    /// The longest outage, seconds (one still going on counts up to the end).
    pub longest_outage: f64,
    down_since: Option<Time>,
    /// The service moved to another guest.
    pub failovers: u64,
    last_server: Option<NodeId>,
    /// Two Primaries, both up and answering: a standby took over from a healthy
    /// Primary.
    pub false_failovers: u64,
    healthy_two: bool,
    /// Two Primaries with diverged data (`model::properties`' split brain) began.
    pub split_brains: u64,
    split: bool,
    /// Acknowledged writes that no replica holds any more.
    lost: BTreeSet<u64>,
    /// Boots and stops of guests the coupling made so far.
    layer_len: usize,
    /// Whether the lab has a pair.
    pair: bool,
}

impl Meter {
    pub(super) fn new(w: &World, start: Time) -> Meter {
        let mut m = Meter {
            start,
            last: start,
            state: State::default(),
            up: 0.0,
            down: 0.0,
            degraded: 0.0,
            resyncing: 0.0,
            outages: 0,
            longest_outage: 0.0,
            down_since: None,
            failovers: 0,
            last_server: None,
            false_failovers: 0,
            healthy_two: false,
            split_brains: 0,
            split: false,
            lost: BTreeSet::new(),
            layer_len: w.layer_log.len(),
            pair: w.guests.len() > 1,
        };
        m.state = m.read(w);
        m.last_server = w.serving().first().copied();
        if !m.state.up {
            m.down_since = Some(start);
        }
        m
    }

    /// After one harness event (`recorded`: its records changed what the properties
    /// read).
    pub(super) fn after_event(&mut self, w: &World, recorded: bool) {
        if recorded || w.layer_log.len() != self.layer_len {
            self.layer_len = w.layer_log.len();
            self.evaluate(w);
        }
    }

    /// After the driver changed the lab.
    pub(super) fn evaluate(&mut self, w: &World) {
        let now = w.lab.now();
        self.account(now);
        let state = self.read(w);
        if self.state.up && !state.up {
            self.outages += 1;
            self.down_since = Some(now);
        }
        if !self.state.up && state.up {
            self.close_outage(now);
        }
        self.state = state;
        if let Some(&g) = w.serving().first() {
            if self.last_server.is_some_and(|x| x != g) {
                self.failovers += 1;
            }
            self.last_server = Some(g);
        }
        if self.pair {
            let view = SimView::new(w);
            let healthy_primaries = view
                .guests()
                .filter(|g| g.is_primary() && g.presence == Presence::Up)
                .count();
            let two = healthy_primaries > 1;
            if two && !self.healthy_two {
                self.false_failovers += 1;
            }
            self.healthy_two = two;
            let split = !Property::SplitBrain.holds(&view);
            if split && !self.split {
                self.split_brains += 1;
            }
            self.split = split;
        }
    }

    /// Counts acknowledged writes that no replica holds (each once).
    pub(super) fn check_writes(&mut self, w: &World) {
        let view = SimView::new(w);
        let guests: Vec<NodeId> = view.guests().map(|g| g.node).collect();
        let lost: Vec<u64> = view
            .acknowledged()
            .filter(|&x| !guests.iter().any(|&g| view.holds(g, x)))
            .map(|x| x.0)
            .collect();
        self.lost.extend(lost);
    }

    /// Acknowledged writes lost so far.
    pub(super) fn lost_writes(&self) -> u64 {
        self.lost.len() as u64
    }

    /// Ends the run at `end`.
    pub(super) fn finish(&mut self, end: Time) {
        self.account(end);
        if !self.state.up {
            self.close_outage(end);
        }
    }

    fn close_outage(&mut self, now: Time) {
        if let Some(since) = self.down_since.take() {
            self.longest_outage = self.longest_outage.max(secs(now) - secs(since));
        }
    }

    fn account(&mut self, now: Time) {
        if now <= self.last {
            return;
        }
        let dt = secs(now) - secs(self.last.max(self.start));
        self.last = now;
        if self.state.up {
            self.up += dt;
        } else {
            self.down += dt;
        }
        if self.state.degraded {
            self.degraded += dt;
        }
        if self.state.resyncing {
            self.resyncing += dt;
        }
    }

    fn read(&self, w: &World) -> State {
        let up = !w.serving().is_empty();
        if !self.pair {
            return State {
                up,
                degraded: false,
                resyncing: false,
            };
        }
        let mut connected = 0;
        let mut resyncing = false;
        for &g in w.guests.keys() {
            if let Some(SimNode::Guest(guest)) = w.lab.try_node(g) {
                let r = guest.replica();
                if r.conn() == ConnState::Connected && r.disk() == DiskState::UpToDate {
                    connected += 1;
                } else if r.conn().is_connected() {
                    resyncing = true;
                }
            }
        }
        State {
            up,
            degraded: !resyncing && connected < 2,
            resyncing,
        }
    }
}

fn secs(t: Time) -> f64 {
    t.as_nanos() as f64 / 1e9
}
