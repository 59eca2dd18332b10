//! One step of the exploration: what each [`Action`] does to a [`State`].

use std::collections::VecDeque;

use crate::check::config::{A, B, FencePeerChoice, FencingChoice};
use crate::guest::{Guest, GuestCommand};
use crate::replication::{ReplicaCommand, dopd};
use crate::{
    DiskCompletion, DiskError, DiskOp, HandlerReply, HandlerRequest, Input, Machine, Net,
    OcfAction, OcfExit, Payload, ProcessEvent, WriteId,
};

use super::{Action, AnyTimer, Down, Driver, Log, State, bit, ix};

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
        if !self.apply_one(s, action, log) {
            return false;
        }
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
        true
    }

    pub(super) fn apply_one(
        &self,
        s: &mut State,
        action: &Action,
        log: &mut Option<&mut Log>,
    ) -> bool {
        match *action {
            Action::Deliver { from, to, net } => {
                let Some(msg) = s
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
                if !s.timers.remove(&(node, timer)) {
                    return false;
                }
                if let Some(l) = log.as_deref_mut() {
                    if let Some(at) = l.deadlines.remove(&(node, timer)) {
                        l.now = l.now.max(at);
                    }
                }
                match timer {
                    AnyTimer::Guest(t) => self.feed(s, node, Input::Timer(t), log),
                    AnyTimer::Witness(t) => self.feed_witness(s, Input::Timer(t), log),
                    AnyTimer::Device(t) => self.feed_device(s, Input::Timer(t), log),
                }
            }
            Action::DiskDone { node } => {
                let i = ix(node);
                let Some(req) = s.disk_queue[i].pop_front() else {
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
                let Some(pos) = s.procs.iter().position(|p| *p == (node, request)) else {
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
                let answer = if s.fences.remove(&(by, target, true)) {
                    true
                } else if s.fences.remove(&(by, target, false)) {
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
                if !s.handlers.remove(&(node, peer)) {
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
                s.faults_left -= 1;
                self.power_off(s, node, Down::Crashed);
            }
            Action::PowerOff { node } => {
                s.faults_left -= 1;
                self.power_off(s, node, Down::HostDown);
            }
            Action::Partition(c) => {
                s.faults_left -= 1;
                s.cuts.insert(c);
                s.channels.retain(|&(f, t, net), _| !c.covers(f, t, net));
            }
            Action::Heal(c) => {
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
                s.faults_left -= 1;
                s.disk_failed[ix(node)] = true;
                s.on_disk[ix(node)] = 0;
            }
            Action::KillService { node } => {
                s.faults_left -= 1;
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
