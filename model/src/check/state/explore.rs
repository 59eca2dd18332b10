//! Which actions are possible in a state: the events whose window allows them now
//! (`docs/verification.md`, "Timed semantics"), housekeeping, and the faults within the
//! budget.

use crate::NodeId;
use crate::check::config::{A, B, DRBD, FaultKind, SERVICE};
use crate::guest::GuestTimer;
use crate::membership::MembershipTimer;
use crate::replication::{ReplicaTimer, Role};
use crate::resources::ResourceTimer;

use super::{Action, AnyTimer, Down, Driver, Ms, NEVER, State, ix};

impl Driver {
    /// Whether the monitor of resource `p` on guest `n` could find anything but the
    /// expected answer.
    pub(super) fn monitor_matters(&self, s: &State, n: NodeId, p: crate::ProcessId) -> bool {
        let i = ix(n);
        if p == SERVICE {
            return s.killed[i];
        }
        if p == DRBD {
            return s.guests[i].as_ref().is_some_and(|g| {
                let r = g.replica();
                r.role() == Role::Primary && r.disk() != crate::replication::DiskState::UpToDate
            });
        }
        true
    }

    /// Whether firing `timer` of `node` is *housekeeping*: a periodic timer whose firing
    /// the checker does not offer as a choice but carries out when time passes its
    /// deadline ([`Action::Advance`], and on the way to any other timer): Heartbeat's
    /// `Keepalive` (heartbeats, pings to the ping node, the quorum device's poll), DRBD's
    /// keep-alive `Ping`, `ConnectRetry` and `WitnessPing`, Heartbeat's `Warn` (a
    /// notice: a late peer counts as alive, `membership::member`), and a resource monitor
    /// that cannot find a failure (its agent's answer is then known and taken at once).
    /// Everything they send is delivered within the step ([`Driver::immediate`]) except
    /// a `ConnectRetry`'s handshake, which stops the advance.
    pub fn housekeeping(&self, s: &State, node: NodeId, timer: AnyTimer) -> bool {
        match timer {
            AnyTimer::Guest(GuestTimer::Membership(
                MembershipTimer::Keepalive | MembershipTimer::Warn,
            ))
            | AnyTimer::Guest(GuestTimer::Replica(
                ReplicaTimer::Ping | ReplicaTimer::ConnectRetry | ReplicaTimer::WitnessPing,
            )) => true,
            AnyTimer::Guest(GuestTimer::Resources(ResourceTimer::Monitor(p))) => {
                !self.monitor_matters(s, node, p)
            }
            _ => false,
        }
    }

    /// The latest time by which some pending event that is not a timer must happen
    /// (messages, disk, OCF actions, fencing, handlers): time cannot pass beyond it.
    pub fn window_deadline(&self, s: &State) -> Ms {
        let channels = s.channels.values().filter_map(|q| q.front().map(|m| m.1));
        let disks = s.disk_queue.iter().filter_map(|q| q.front().map(|r| r.1));
        let procs = s.procs.iter().map(|p| p.2);
        let fences = s.fences.values().copied();
        let handlers = s.handlers.values().copied();
        channels
            .chain(disks)
            .chain(procs)
            .chain(fences)
            .chain(handlers)
            .min()
            .unwrap_or(NEVER)
    }

    /// Whether the script's `step` can happen now: its guest runs (and for
    /// `kill-service` its service runs, for `disk-failure` its disk still works), its cut
    /// is not in place yet (`partition`) or is (`heal`). A step that cannot happen now
    /// waits until it can.
    fn script_step_possible(&self, s: &State, step: crate::check::script::ScriptStep) -> bool {
        use crate::check::script::ScriptStep as St;
        let up = |n: NodeId| s.guests[ix(n)].is_some();
        match step {
            St::Crash(n) | St::PowerOff(n) => up(n),
            St::KillService(n) => up(n) && s.running[ix(n)],
            St::DiskFailure(n) => up(n) && !s.disk_failed[ix(n)],
            St::Partition(c) => !s.cuts.contains(&c),
            St::Heal(c) => s.cuts.contains(&c),
        }
    }

    /// Every action possible in `s`, in a deterministic order that is also the
    /// tie-break of the canonical counterexample (`check::canonical`): the system's
    /// prompt reactions first (deliveries, disk, agents, fencing), then the
    /// environment's faults, then timers, and application writes last. Among the
    /// shortest counterexamples the canonical one therefore lets the system react before
    /// anything else happens and issues writes as late as it can: a write is cut off by a
    /// partition made before it, not by one that lands while its data is on the wire,
    /// the order the timed simulator reproduces.
    pub fn actions(&self, s: &State, out: &mut Vec<Action>) {
        for (&(from, to, net), q) in &s.channels {
            if !q.is_empty() {
                out.push(Action::Deliver { from, to, net });
            }
        }
        for n in [A, B] {
            if !s.disk_queue[ix(n)].is_empty() {
                out.push(Action::DiskDone { node: n });
            }
        }
        for &(node, request, _) in &s.procs {
            out.push(Action::ProcessDone { node, request });
        }
        for &(by, target, _) in s.fences.keys() {
            out.push(Action::Fence { by, target });
        }
        for (&(node, peer), &d) in &s.handlers {
            if d != NEVER {
                out.push(Action::FencePeer { node, peer });
            }
        }
        let kinds = &self.cfg.budget.kinds;
        // While the fault script runs, its next step is the only fault on offer.
        let scripted = self
            .cfg
            .budget
            .script
            .get(usize::from(s.script_done))
            .copied();
        if let Some(step) = scripted
            && self.script_step_possible(s, step)
        {
            out.push(step.action());
        }
        let budget_open = scripted.is_none() && s.faults_left > 0;
        for n in [A, B] {
            let i = ix(n);
            match (s.guests[i].as_ref(), s.down[i]) {
                (None, Down::Crashed) => out.push(Action::Reboot { node: n }),
                (None, Down::HostDown)
                    if self.cfg.cluster_layer != crate::check::config::ClusterLayer::Off =>
                {
                    out.push(Action::ClusterRestart { node: n });
                }
                (Some(_), _) if budget_open => {
                    if kinds.contains(&FaultKind::Crash) {
                        out.push(Action::Crash { node: n });
                    }
                    if kinds.contains(&FaultKind::PowerOff) {
                        out.push(Action::PowerOff { node: n });
                    }
                    if kinds.contains(&FaultKind::KillService) && s.running[i] {
                        out.push(Action::KillService { node: n });
                    }
                    if kinds.contains(&FaultKind::DiskFailure) && !s.disk_failed[i] {
                        out.push(Action::DiskFailure { node: n });
                    }
                }
                _ => {}
            }
        }
        for &c in &self.cfg.budget.cuts {
            if s.cuts.contains(&c) {
                if self.cfg.budget.heal {
                    out.push(Action::Heal(c));
                }
            } else if budget_open && kinds.contains(&FaultKind::Partition) {
                out.push(Action::Partition(c));
            }
        }
        if budget_open && kinds.contains(&FaultKind::LoseMessage) {
            for (&(from, to, net), q) in &s.channels {
                if !q.is_empty() {
                    out.push(Action::Lose { from, to, net });
                }
            }
        }
        // Urgency: a timer may fire only if no pending event must happen strictly
        // before its deadline; the other timers' deadlines (which housekeeping on the way
        // may push back) are checked when it fires (`apply`).
        let h = self.window_deadline(s);
        let mut housekeeping = NEVER;
        let mut other = NEVER;
        for (&(node, timer), &left) in &s.timers {
            if self.housekeeping(s, node, timer) {
                housekeeping = housekeeping.min(left);
            } else {
                other = other.min(left);
                if left <= h {
                    out.push(Action::Timer { node, timer });
                }
            }
        }
        if housekeeping != NEVER && housekeeping <= h.min(other) {
            out.push(Action::Advance);
        }
        for n in [A, B] {
            if let Some(g) = s.guests[ix(n)].as_ref()
                && s.writes_left > 0
                && g.replica().role() == Role::Primary
            {
                out.push(Action::Write { node: n });
            }
        }
    }
}
