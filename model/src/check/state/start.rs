//! Where an exploration starts: both guests booted (and, for the `running` scenario, run
//! with real timer durations until the pair has settled).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use core::time::Duration;

use crate::check::config::{A, B, Cut, QDEVICE, WITNESS};
use crate::guest::Guest;
use crate::membership::QuorumDevice;
use crate::replication::{ReplicaMeta, Role, Witness, WitnessConfig};
use crate::{Machine, Net, Time};

use super::{Action, Down, Driver, Log, NEVER, State, ix};

impl Driver {
    /// The state before anything happened: both guests with identical, in-sync metadata
    /// (as after `create-md`, the initial sync and a clean shutdown), the witness and
    /// quorum device if configured, the configured start-up cuts; then booted.
    pub fn boot_state(&self, log: &mut Option<&mut Log>, boot_cuts: &[Cut]) -> State {
        let meta = ReplicaMeta {
            uuids: crate::replication::uuid::GenerationIds {
                current: 0x7A30_0000_0000_0000,
                bitmap: 0,
                history: [0, 0],
            },
            disk: crate::replication::DiskState::UpToDate,
            primary: false,
            crashed_primary: false,
            peer_outdated: false,
            bitmap: crate::replication::bitmap::Bitmap::new(),
            activity_log: BTreeSet::new(),
            uuid_counter: 1,
            boots: 1,
        };
        let mut s = State {
            guests: [None, None],
            down: [Down::Crashed; 2],
            meta: [Some(meta.clone()), Some(meta)],
            witness: self.cfg.drbd_quorum_witness.then(|| {
                Witness::new(WitnessConfig {
                    me: WITNESS,
                    timers: self.cfg.guest(A).replica.timers,
                })
            }),
            device: (self.cfg.has_node(QDEVICE))
                .then(|| QuorumDevice::for_members(QDEVICE, &self.cfg.guest(A).membership)),
            channels: BTreeMap::new(),
            timers: BTreeMap::new(),
            disk_queue: [VecDeque::new(), VecDeque::new()],
            procs: Vec::new(),
            fences: BTreeMap::new(),
            handlers: BTreeMap::new(),
            cuts: BTreeSet::new(),
            running: [false; 2],
            killed: [false; 2],
            disk_failed: [false; 2],
            on_disk: [0; 2],
            acked: 0,
            must_have: [0; 2],
            witness_up: [false; 2],
            faults_left: self.cfg.budget.faults,
            script_done: 0,
            writes_left: self.cfg.budget.writes,
            next_write: 0,
            immediate: VecDeque::new(),
        };
        if self.cfg.start == crate::check::config::Start::Partitioned {
            s.cuts.insert(Cut::between(A, B, None));
        }
        s.cuts.extend(boot_cuts.iter().copied());
        for n in [A, B] {
            self.boot(&mut s, n, log);
        }
        while let Some((from, to, msg)) = s.immediate.pop_front() {
            if self.is_up(&s, to) && !self.is_cut(&s, from, to, Guest::net(&msg)) {
                self.deliver(&mut s, from, to, msg, log);
            }
        }
        s
    }

    /// One event of a timed, zero-latency run: the first pending message, disk or OCF
    /// completion, fence or handler that does not hang; else time passes to the earliest
    /// timer (every timer, housekeeping included, fires as an event of its own). Returns
    /// `false` if nothing is pending.
    pub fn step_timed(&self, s: &mut State, log: &mut Log) -> bool {
        let log = &mut Some(log);
        let first = if let Some(&(from, to, net)) = s.channels.keys().next() {
            Some(Action::Deliver { from, to, net })
        } else if let Some(n) = [A, B]
            .into_iter()
            .find(|&n| !s.disk_queue[ix(n)].is_empty())
        {
            Some(Action::DiskDone { node: n })
        } else if let Some(&(node, request, _)) = s.procs.first() {
            Some(Action::ProcessDone { node, request })
        } else if let Some(&(by, target, _)) = s.fences.keys().next() {
            Some(Action::Fence { by, target })
        } else if let Some((&(node, peer), _)) = s.handlers.iter().find(|(_, d)| **d != NEVER) {
            Some(Action::FencePeer { node, peer })
        } else {
            None
        };
        if let Some(a) = first {
            return self.apply(s, &a, log);
        }
        let Some((&(node, timer), &left)) = s.timers.iter().min_by_key(|(k, l)| (**l, **k)) else {
            return false;
        };
        self.elapse(s, left, log);
        self.fire(s, node, timer, log);
        true
    }

    /// The `running` scenario's start: boot both guests and run them, with every message
    /// and completion instantaneous and timers at their configured durations, until `a`
    /// runs the group as Primary and nothing but timers is pending. Also returns the log
    /// (its time is the start-up run's; the state's timers keep the time left to each).
    pub fn settled_state(&self) -> (State, Log) {
        let mut log = Log::default();
        // DRBD connects before Heartbeat starts the resources (Heartbeat's initdead,
        // drbddisk's wait-for-connection): keep the rings quiet until the replicas have
        // shaken hands.
        // With `boot_order = "together"` nothing is held back.
        let held = match self.cfg.boot_order {
            crate::check::config::BootOrder::DrbdFirst => self.cfg.rings,
            crate::check::config::BootOrder::Together => 0,
        };
        let rings: Vec<Cut> = (0..held)
            .map(|r| Cut::between(A, B, Some(Net::Ring(r))))
            .collect();
        let mut s = self.boot_state(&mut Some(&mut log), &rings);
        let connected = |s: &State| {
            s.guests.iter().all(|g| {
                g.as_ref()
                    .is_some_and(|g| g.replica().conn() == crate::replication::ConnState::Connected)
            })
        };
        for _ in 0..10_000 {
            if connected(&s) && s.channels.is_empty() {
                break;
            }
            if !self.step_timed(&mut s, &mut log) {
                break;
            }
        }
        for c in &rings {
            s.cuts.remove(c);
        }
        log.events.clear();
        for _ in 0..100_000 {
            let settled = s.guests[0]
                .as_ref()
                .is_some_and(|g| g.replica().role() == Role::Primary)
                && s.running[0]
                && s.guests[1].as_ref().is_some_and(|g| {
                    g.replica().conn() == crate::replication::ConnState::Connected
                })
                && log.now >= Time::ZERO + Duration::from_secs(40)
                && s.channels.is_empty()
                && s.disk_queue.iter().all(VecDeque::is_empty)
                && s.procs.is_empty();
            if settled {
                break;
            }
            if !self.step_timed(&mut s, &mut log) {
                break;
            }
            log.events.clear();
        }
        (s, log)
    }
}
