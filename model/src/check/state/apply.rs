//! One step of the exploration: what each [`Action`] does to a [`State`].

use std::collections::{BTreeMap, VecDeque};

use crate::check::config::{A, B, FencePeerChoice, FencingChoice};
use crate::guest::{Guest, GuestCommand};
use crate::replication::{ReplicaCommand, dopd};
use crate::{
    DiskCompletion, DiskError, DiskOp, HandlerReply, HandlerRequest, Input, Machine, Net,
    OcfAction, OcfExit, Payload, ProcessEvent, WriteId,
};

use super::{Action, AnyTimer, Down, Driver, Log, Ms, NEVER, State, bit, ix};
use crate::NodeId;
use crate::guest::GuestTimer;
use crate::resources::ResourceTimer;

impl Driver {
    /// What the `fence-peer` handler does: `drbd.fence_peer`, or the handler that goes
    /// with the fencing policy (dopd with `resource-only`, STONITH with
    /// `resource-and-stonith`).
    pub fn fence_peer_handler(&self) -> FencePeerChoice {
        self.cfg.drbd.fence_peer.unwrap_or(match self.cfg.fencing {
            FencingChoice::ResourceAndStonith => FencePeerChoice::Stonith,
            FencingChoice::ResourceOnly | FencingChoice::DontCare => FencePeerChoice::Dopd,
        })
    }

    /// Carries out one action, then delivers the immediate messages it caused. Returns
    /// `false` if it is not possible in `s`.
    pub fn apply(&self, s: &mut State, action: &Action, log: &mut Option<&mut Log>) -> bool {
        let ok = match *action {
            Action::Timer { node, timer } => self.pass_time_and_fire(s, node, timer, log),
            Action::Advance => self.advance(s, log),
            _ => self.apply_one(s, action, log),
        };
        if !ok {
            return false;
        }
        self.flush_immediate(s, log);
        true
    }

    /// Time passes by `d` (at most every pending deadline): every deadline shrinks.
    pub fn elapse(&self, s: &mut State, d: Ms, log: &mut Option<&mut Log>) {
        if d == 0 {
            return;
        }
        let less = |x: &mut Ms| {
            if *x != NEVER {
                *x = x.saturating_sub(d);
            }
        };
        s.timers.values_mut().for_each(less);
        for q in s.channels.values_mut() {
            q.iter_mut().for_each(|m| less(&mut m.1));
        }
        for q in &mut s.disk_queue {
            q.iter_mut().for_each(|r| less(&mut r.1));
        }
        s.procs.iter_mut().for_each(|p| less(&mut p.2));
        s.fences.values_mut().for_each(less);
        s.handlers.values_mut().for_each(less);
        if let Some(l) = log.as_deref_mut() {
            l.now = l.now + core::time::Duration::from_millis(u64::from(d));
        }
    }

    /// Fires the armed timer `timer` of `node` now.
    pub(super) fn fire(
        &self,
        s: &mut State,
        node: NodeId,
        timer: AnyTimer,
        log: &mut Option<&mut Log>,
    ) {
        s.timers.remove(&(node, timer));
        match timer {
            AnyTimer::Guest(t) => self.feed(s, node, Input::Timer(t), log),
            AnyTimer::Witness(t) => self.feed_witness(s, Input::Timer(t), log),
            AnyTimer::Device(t) => self.feed_device(s, Input::Timer(t), log),
        }
        self.flush_immediate(s, log);
    }

    /// The pending events that are not timers, counted.
    fn windows(s: &State) -> usize {
        s.channels.values().map(VecDeque::len).sum::<usize>()
            + s.disk_queue.iter().map(VecDeque::len).sum::<usize>()
            + s.procs.len()
            + s.fences.len()
            + s.handlers.len()
    }

    /// Fires every housekeeping timer that is due now (a healthy monitor's answer is
    /// taken at once).
    fn housekeeping_due(&self, s: &mut State, log: &mut Option<&mut Log>) {
        for _ in 0..64 {
            let Some((node, timer)) = s
                .timers
                .iter()
                .find(|&(&(n, t), &left)| left == 0 && self.housekeeping(s, n, t))
                .map(|(&k, _)| k)
            else {
                break;
            };
            self.fire(s, node, timer, log);
            if let AnyTimer::Guest(GuestTimer::Resources(ResourceTimer::Monitor(p))) = timer
                && let Some(&(_, request, _)) = s.procs.iter().rev().find(|(n, r, _)| {
                    *n == node && r.process == p && r.action == OcfAction::Monitor
                })
            {
                self.apply_one(s, &Action::ProcessDone { node, request }, log);
                self.flush_immediate(s, log);
            }
        }
    }

    /// [`Action::Timer`]: time passes to the deadline of `timer` of `node`, housekeeping
    /// runs on the way (at an equal instant, housekeeping first), and the timer fires.
    /// Not possible if another event must happen strictly before it, or if housekeeping
    /// re-arms or cancels it on the way.
    fn pass_time_and_fire(
        &self,
        s: &mut State,
        node: NodeId,
        timer: AnyTimer,
        log: &mut Option<&mut Log>,
    ) -> bool {
        if self.housekeeping(s, node, timer) {
            return false;
        }
        for _ in 0..100_000 {
            let Some(&left) = s.timers.get(&(node, timer)) else {
                return false;
            };
            if self.window_deadline(s) < left {
                return false;
            }
            let mut next_housekeeping = NEVER;
            let mut next_other = NEVER;
            for (&(n, t), &l) in &s.timers {
                if self.housekeeping(s, n, t) {
                    next_housekeeping = next_housekeeping.min(l);
                } else if (n, t) != (node, timer) {
                    next_other = next_other.min(l);
                }
            }
            if next_housekeeping <= left && next_housekeeping <= next_other {
                self.elapse(s, next_housekeeping, log);
                self.housekeeping_due(s, log);
                // Housekeeping may have re-armed the target: it must still be due then.
                if s.timers.get(&(node, timer)) != Some(&(left - next_housekeeping)) {
                    return false;
                }
                continue;
            }
            if next_other < left {
                return false;
            }
            self.elapse(s, left, log);
            self.fire(s, node, timer, log);
            return true;
        }
        false
    }

    /// [`Action::Advance`]: time passes, housekeeping running at its deadlines, until
    /// housekeeping starts a message, disk or OCF request (the step ends there), or a
    /// timer that housekeeping armed (or re-armed) on the way comes due first (it fires,
    /// the step ends). Not possible if a timer armed before, or a pending event, comes
    /// first: [`Action::Timer`] and the event's own action are those steps.
    fn advance(&self, s: &mut State, log: &mut Option<&mut Log>) -> bool {
        let armed: BTreeMap<(NodeId, AnyTimer), Ms> = s.timers.clone();
        // Quiet for twice the longest time any pending timer had left: only periodic
        // housekeeping runs from here on, and nothing new will happen.
        let horizon = armed
            .values()
            .filter(|&&d| d != NEVER)
            .max()
            .copied()
            .unwrap_or(0);
        let horizon = horizon.saturating_mul(2).max(1);
        let mut elapsed: Ms = 0;
        while elapsed <= horizon {
            let mut next_housekeeping = NEVER;
            let mut next_other: Option<(Ms, (NodeId, AnyTimer))> = None;
            for (&(n, t), &l) in &s.timers {
                if self.housekeeping(s, n, t) {
                    next_housekeeping = next_housekeeping.min(l);
                } else if next_other.is_none_or(|(o, _)| l < o) {
                    next_other = Some((l, (n, t)));
                }
            }
            let h = self.window_deadline(s);
            if let Some((l, key)) = next_other
                && l < next_housekeeping
            {
                // Armed before with this very deadline: `Action::Timer`'s step.
                let old = armed
                    .get(&key)
                    .is_some_and(|&d| d == l.saturating_add(elapsed));
                if old || l > h {
                    return false;
                }
                self.elapse(s, l, log);
                self.fire(s, key.0, key.1, log);
                return true;
            }
            if next_housekeeping == NEVER || next_housekeeping > h {
                return false;
            }
            self.elapse(s, next_housekeeping, log);
            elapsed = elapsed.saturating_add(next_housekeeping);
            let before = Self::windows(s);
            self.housekeeping_due(s, log);
            if Self::windows(s) > before {
                return true;
            }
        }
        false
    }

    /// Delivers the messages sent for immediate delivery.
    fn flush_immediate(&self, s: &mut State, log: &mut Option<&mut Log>) {
        let mut budget = 10_000;
        while let Some((from, to, msg)) = s.immediate.pop_front() {
            budget -= 1;
            if budget == 0 {
                s.immediate.clear();
                break;
            }
            if self.is_up(s, from)
                && self.is_up(s, to)
                && !self.is_cut(s, from, to, Guest::net(&msg))
            {
                self.deliver(s, from, to, msg, log);
            }
        }
    }

    /// The fault script's next step, as an action, while it runs.
    fn script_next(&self, s: &State) -> Option<Action> {
        self.cfg
            .budget
            .script
            .get(usize::from(s.script_done))
            .map(|step| step.action())
    }

    /// A fault happened: the script's next step if it is that one (the script is free),
    /// else one fault of the budget.
    fn spend_fault(&self, s: &mut State, action: &Action) {
        if self.script_next(s).as_ref() == Some(action) {
            s.script_done += 1;
        } else {
            s.faults_left = s.faults_left.saturating_sub(1);
        }
    }

    pub(super) fn apply_one(
        &self,
        s: &mut State,
        action: &Action,
        log: &mut Option<&mut Log>,
    ) -> bool {
        match *action {
            Action::Deliver { from, to, net } => {
                let Some((msg, _)) = s
                    .channels
                    .get_mut(&(from, to, net))
                    .and_then(VecDeque::pop_front)
                else {
                    return false;
                };
                if s.channels
                    .get(&(from, to, net))
                    .is_some_and(VecDeque::is_empty)
                {
                    s.channels.remove(&(from, to, net));
                }
                self.deliver(s, from, to, msg, log);
            }
            Action::Timer { node, timer } => {
                // Only when due now (the start-up run); `apply` passes time first.
                if s.timers.get(&(node, timer)) != Some(&0) {
                    return false;
                }
                self.fire(s, node, timer, log);
            }
            Action::Advance => return self.advance(s, log),
            Action::DiskDone { node } => {
                let i = ix(node);
                let Some((req, _)) = s.disk_queue[i].pop_front() else {
                    return false;
                };
                let result = match req.op {
                    _ if s.disk_failed[i] => Err(DiskError::Io),
                    DiskOp::Write {
                        block,
                        count,
                        ref data,
                    } => {
                        for (k, blk) in (0..count).zip(block..) {
                            let b = bit(blk);
                            let holds = data.block(k, count).as_u64() == Some(blk) && b != 0;
                            if holds {
                                s.on_disk[i] |= b;
                            } else {
                                s.on_disk[i] &= !b;
                            }
                        }
                        Ok(None)
                    }
                    // The checker reads single blocks only (the resync's).
                    DiskOp::Read { block, count } => {
                        let b = bit(block);
                        Ok((count == 1 && s.on_disk[i] & b != 0).then(|| Payload::from_u64(block)))
                    }
                };
                self.feed(
                    s,
                    node,
                    Input::Disk(DiskCompletion {
                        token: req.token,
                        result,
                    }),
                    log,
                );
            }
            Action::ProcessDone { node, request } => {
                let Some(pos) = s.procs.iter().position(|p| (p.0, p.1) == (node, request)) else {
                    return false;
                };
                s.procs.remove(pos);
                let i = ix(node);
                let exit = match request.action {
                    OcfAction::Start | OcfAction::Promote => {
                        s.running[i] = true;
                        s.killed[i] = false;
                        OcfExit::Success
                    }
                    OcfAction::Stop | OcfAction::Demote => {
                        s.running[i] = false;
                        s.killed[i] = false;
                        OcfExit::Success
                    }
                    OcfAction::Monitor => {
                        if s.running[i] {
                            OcfExit::Success
                        } else {
                            OcfExit::NotRunning
                        }
                    }
                };
                self.feed(
                    s,
                    node,
                    Input::Process(ProcessEvent {
                        process: request.process,
                        action: request.action,
                        call: request.call,
                        exit,
                    }),
                    log,
                );
            }
            Action::Fence { by, target } => {
                let answer = if s.fences.remove(&(by, target, true)).is_some() {
                    true
                } else if s.fences.remove(&(by, target, false)).is_some() {
                    false
                } else {
                    return false;
                };
                if matches!(target, A | B) && s.guests[ix(target)].is_some() {
                    self.power_off(s, target, Down::Fenced);
                }
                if answer {
                    self.feed(
                        s,
                        by,
                        Input::FenceDone {
                            node: target,
                            success: true,
                        },
                        log,
                    );
                }
            }
            Action::FencePeer { node, peer } => {
                if s.handlers.remove(&(node, peer)).is_none_or(|d| d == NEVER) {
                    return false;
                }
                let exit_code = match self.fence_peer_handler() {
                    // Never returns: `actions` never offers this step.
                    FencePeerChoice::Hang => return false,
                    // stonith_admin-fence-peer.sh: power the peer off, "peer was STONITHed".
                    FencePeerChoice::Stonith => {
                        if s.guests[ix(peer)].is_some() {
                            self.power_off(s, peer, Down::Fenced);
                        }
                        7
                    }
                    // dopd: over a Heartbeat ring, if one reaches the peer, `drbdadm
                    // outdate` there; a Primary refuses (6), see `replication::dopd`.
                    FencePeerChoice::Dopd => {
                        let reachable =
                            (0..self.cfg.rings).any(|r| !self.is_cut(s, node, peer, Net::Ring(r)));
                        let answer = s.guests[ix(peer)]
                            .as_ref()
                            .filter(|_| reachable)
                            .map_or(dopd::PEER_UNREACHABLE, |g| dopd::answer(g.replica()));
                        if answer == dopd::PEER_OUTDATED {
                            self.feed(
                                s,
                                peer,
                                Input::Command(GuestCommand::Replica(ReplicaCommand::Outdate)),
                                log,
                            );
                        }
                        answer
                    }
                    // A handler that exits N and does nothing to the peer.
                    fixed => fixed.fixed_exit().unwrap_or(dopd::PEER_UNREACHABLE),
                };
                self.feed(
                    s,
                    node,
                    Input::HandlerDone(HandlerReply {
                        request: HandlerRequest::FencePeer { peer },
                        exit_code,
                    }),
                    log,
                );
            }
            Action::Reboot { node } | Action::ClusterRestart { node } => {
                self.boot(s, node, log);
            }
            Action::Crash { node } => {
                self.spend_fault(s, action);
                self.power_off(s, node, Down::Crashed);
            }
            Action::PowerOff { node } => {
                self.spend_fault(s, action);
                self.power_off(s, node, Down::HostDown);
            }
            Action::Partition(c) => {
                self.spend_fault(s, action);
                s.cuts.insert(c);
                s.channels.retain(|&(f, t, net), _| !c.covers(f, t, net));
            }
            Action::Heal(c) => {
                if self.script_next(s) == Some(action.clone()) {
                    s.script_done += 1;
                }
                s.cuts.remove(&c);
            }
            Action::Lose { from, to, net } => {
                s.faults_left -= 1;
                if let Some(q) = s.channels.get_mut(&(from, to, net)) {
                    q.pop_front();
                    if q.is_empty() {
                        s.channels.remove(&(from, to, net));
                    }
                }
            }
            Action::DiskFailure { node } => {
                self.spend_fault(s, action);
                s.disk_failed[ix(node)] = true;
                s.on_disk[ix(node)] = 0;
            }
            Action::KillService { node } => {
                self.spend_fault(s, action);
                s.running[ix(node)] = false;
                s.killed[ix(node)] = true;
            }
            Action::Write { node } => {
                s.writes_left -= 1;
                s.next_write += 1;
                let w = u64::from(s.next_write);
                self.feed(
                    s,
                    node,
                    Input::Command(GuestCommand::Replica(ReplicaCommand::Write {
                        id: WriteId(w),
                        block: w,
                        count: 1,
                        data: Payload::from_u64(w),
                    })),
                    log,
                );
            }
        }
        true
    }
}
