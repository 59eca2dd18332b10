//! Which actions are possible in a state: the timer-ordering constraints
//! (`docs/verification.md`) and the faults within the budget.

use std::collections::VecDeque;

use crate::check::config::{A, B, DRBD, FaultKind, FencePeerChoice, QDEVICE, SERVICE, WITNESS};
use crate::guest::{GuestMsg, GuestTimer};
use crate::membership::{DeviceTimer, MembershipTimer};
use crate::replication::witness::WitnessTimer;
use crate::replication::{ReplicaTimer, Role};
use crate::resources::ResourceTimer;
use crate::{Net, NodeId};

use super::{Action, AnyTimer, Down, Driver, State, ix, other};

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

    pub(super) fn in_flight(
        &self,
        s: &State,
        from: NodeId,
        to: NodeId,
        pred: impl Fn(&GuestMsg) -> bool,
    ) -> bool {
        s.channels
            .iter()
            .any(|(&(f, t, _), q)| f == from && t == to && q.iter().any(&pred))
    }

    /// Whether a heartbeat of `peer` could still reach `me` on ring `r`.
    pub(super) fn heartbeat_possible(&self, s: &State, me: NodeId, r: u8) -> bool {
        let peer = other(me);
        let in_flight = s
            .channels
            .get(&(peer, me, Net::Ring(r)))
            .is_some_and(|q| !q.is_empty());
        in_flight || (self.is_up(s, peer) && !self.is_cut(s, me, peer, Net::Ring(r)))
    }

    /// The timer-ordering constraints (see `docs/verification.md`): whether `timer` of
    /// `node` may fire in `s`.
    pub fn timer_allowed(&self, s: &State, node: NodeId, timer: AnyTimer) -> bool {
        let peer = other(node);
        match timer {
            AnyTimer::Guest(GuestTimer::Membership(t)) => match t {
                // Message delay < keepalive: at most one heartbeat per ring in flight.
                MembershipTimer::Keepalive => (0..self.cfg.rings).all(|r| {
                    s.channels
                        .get(&(node, peer, Net::Ring(r)))
                        .is_none_or(VecDeque::is_empty)
                }),
                // keepalive + delay < warntime, deadtime: a live, reachable peer's
                // heartbeat always arrives first.
                MembershipTimer::Warn | MembershipTimer::Dead => {
                    (0..self.cfg.rings).all(|r| !self.heartbeat_possible(s, node, r))
                }
                MembershipTimer::RingDead(r) => !self.heartbeat_possible(s, node, r),
                MembershipTimer::PingDead(p) => {
                    self.is_cut(s, node, p, Net::Public) && !self.in_flight(s, p, node, |_| true)
                }
                MembershipTimer::DeviceExpire => {
                    self.is_cut(s, node, QDEVICE, Net::Public)
                        && !self.in_flight(s, QDEVICE, node, |_| true)
                }
                // A fence always completes within fence_timeout.
                MembershipTimer::FenceTimeout => !s.fences.iter().any(|&(by, _, _)| by == node),
                MembershipTimer::IpfailGrace | MembershipTimer::FenceDelay => true,
            },
            AnyTimer::Guest(GuestTimer::Replica(t)) => match t {
                // RTT < ping-timeout: the timeout fires only when the answer cannot come.
                ReplicaTimer::PingTimeout => {
                    (!self.is_up(s, peer) || self.is_cut(s, node, peer, Net::Replication))
                        && !self.in_flight(s, peer, node, |m| matches!(m, GuestMsg::Replica(_)))
                }
                // A retry over a cut link only bumps the attempt counter.
                ReplicaTimer::ConnectRetry => {
                    self.is_up(s, peer) && !self.is_cut(s, node, peer, Net::Replication)
                }
                ReplicaTimer::WitnessTimeout => {
                    self.is_cut(s, node, WITNESS, Net::Replication)
                        && !self.in_flight(s, WITNESS, node, |_| true)
                }
                // A keep-alive over a working connection changes nothing.
                ReplicaTimer::Ping => {
                    let connected = |n: NodeId| {
                        s.guests[ix(n)]
                            .as_ref()
                            .is_some_and(|g| g.replica().conn().is_connected())
                    };
                    !(connected(node)
                        && connected(peer)
                        && !self.is_cut(s, node, peer, Net::Replication))
                }
                ReplicaTimer::ResyncTick | ReplicaTimer::WitnessPing => true,
            },
            AnyTimer::Guest(GuestTimer::RetryPromote) => true,
            AnyTimer::Guest(GuestTimer::Resources(t)) => match t {
                // A healthy monitor changes nothing but its call number.
                ResourceTimer::Monitor(p) => self.monitor_matters(s, node, p),
                // OCF actions complete within op_timeout.
                ResourceTimer::OpTimeout(_) => false,
                ResourceTimer::FailureExpiry(_) => true,
            },
            // Lease: the witness forgets a node only after the node stopped counting
            // the witness' vote (expiry 2 x ping-int + ping-timeout > ping-int +
            // ping-timeout).
            AnyTimer::Witness(WitnessTimer::Expire(n)) => {
                let i = ix(n);
                (!self.is_up(s, n) || !s.witness_up[i]) && !self.in_flight(s, n, WITNESS, |_| true)
            }
            // Lease: the device forgets a member only after the member stopped counting
            // its vote (lease deadtime + keepalive > deadtime).
            AnyTimer::Device(DeviceTimer::Expire(n)) => {
                (!self.is_up(s, n)
                    || !s.timers.contains(&(
                        n,
                        AnyTimer::Guest(GuestTimer::Membership(MembershipTimer::DeviceExpire)),
                    )))
                    && !self.in_flight(s, n, QDEVICE, |_| true)
            }
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
        for &(node, request) in &s.procs {
            out.push(Action::ProcessDone { node, request });
        }
        for &(by, target, _) in &s.fences {
            out.push(Action::Fence { by, target });
        }
        if self.fence_peer_handler() != FencePeerChoice::Hang {
            for &(node, peer) in &s.handlers {
                out.push(Action::FencePeer { node, peer });
            }
        }
        let kinds = &self.cfg.budget.kinds;
        for n in [A, B] {
            let i = ix(n);
            match (s.guests[i].as_ref(), s.down[i]) {
                (None, Down::Crashed) => out.push(Action::Reboot { node: n }),
                (None, Down::HostDown)
                    if self.cfg.cluster_layer != crate::check::config::ClusterLayer::Off =>
                {
                    out.push(Action::ClusterRestart { node: n });
                }
                (Some(_), _) if s.faults_left > 0 => {
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
            } else if s.faults_left > 0 && kinds.contains(&FaultKind::Partition) {
                out.push(Action::Partition(c));
            }
        }
        if s.faults_left > 0 && kinds.contains(&FaultKind::LoseMessage) {
            for (&(from, to, net), q) in &s.channels {
                if !q.is_empty() {
                    out.push(Action::Lose { from, to, net });
                }
            }
        }
        for &(node, timer) in &s.timers {
            if self.timer_allowed(s, node, timer) {
                out.push(Action::Timer { node, timer });
            }
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
