//! Carrying a machine's effects out on a [`State`]: messages into channels, timers into
//! the map, disk requests into the queue, and the rest, each with its deadline;
//! delivering messages; booting and powering guests off.

use core::time::Duration;

use crate::check::config::{A, B, PING, QDEVICE, SERVICE, WITNESS};
use crate::guest::{Guest, GuestCommand, GuestMsg, GuestNotice};
use crate::membership::{PingNode, QuorumDevice};
use crate::replication::{ReplicaNotice, Role, Witness};
use crate::{Effect, HandlerRequest, Input, Machine, Net, NodeId, Time};

use super::{AnyTimer, Down, Driver, Log, NEVER, State, bit, ix, ms_of};
use crate::check::config::FencePeerChoice;

impl Driver {
    /// Whether a network between `p` and `q` is cut.
    pub fn is_cut(&self, s: &State, p: NodeId, q: NodeId, net: Net) -> bool {
        s.cuts.iter().any(|c| c.covers(p, q, net))
    }

    /// Whether node `n` runs (third-party nodes always run when configured).
    pub fn is_up(&self, s: &State, n: NodeId) -> bool {
        match n {
            A | B => s.guests[ix(n)].is_some(),
            other => self.cfg.has_node(other),
        }
    }

    pub(super) fn send(
        &self,
        s: &mut State,
        from: NodeId,
        to: NodeId,
        msg: GuestMsg,
        log: &mut Option<&mut Log>,
    ) {
        let net = Guest::net(&msg);
        if !self.is_up(s, to) || self.is_cut(s, from, to, net) {
            return;
        }
        let _ = log;
        if Self::immediate(from, to, &msg) {
            s.immediate.push_back((from, to, msg));
        } else {
            s.channels
                .entry((from, to, net))
                .or_default()
                .push_back((msg, self.cfg.timing.message_max_ms));
        }
    }

    /// Whether a message is delivered within the step that sent it (a reduction,
    /// `docs/verification.md`): membership traffic (heartbeats, ping node, quorum
    /// device), the witness' traffic and DRBD's keep-alives (`Ping`/`PingAck`, which
    /// DRBD sends on its own meta socket, so they overtake the data).
    pub fn immediate(from: NodeId, to: NodeId, msg: &GuestMsg) -> bool {
        use crate::replication::{ConnMsg, ReplicaMsg};
        matches!(msg, GuestMsg::Membership(_))
            || from == WITNESS
            || to == WITNESS
            || matches!(
                msg,
                GuestMsg::Replica(ReplicaMsg::Conn {
                    msg: ConnMsg::Ping | ConnMsg::PingAck,
                    ..
                })
            )
    }

    pub(super) fn set_timer(&self, s: &mut State, n: NodeId, t: AnyTimer, after: Duration) {
        s.timers.insert((n, t), ms_of(after));
    }

    /// Feeds one input to guest `n` and carries its effects out.
    pub fn feed(&self, s: &mut State, n: NodeId, input: Input<Guest>, log: &mut Option<&mut Log>) {
        let i = ix(n);
        let now = log.as_deref().map_or(Time::ZERO, |l| l.now);
        let Some(g) = s.guests[i].as_mut() else {
            return;
        };
        let was_primary = g.replica().role() == Role::Primary;
        let mut out = Vec::new();
        g.handle(now, input, &mut out);
        let is_primary = g.replica().role() == Role::Primary;
        if is_primary && !was_primary {
            s.must_have[i] = s.acked;
        } else if !is_primary {
            s.must_have[i] = 0;
        }
        for e in out {
            match e {
                Effect::Send { to, msg } => self.send(s, n, to, msg, log),
                Effect::SetTimer { id, after } => {
                    self.set_timer(s, n, AnyTimer::Guest(id), after);
                }
                Effect::CancelTimer(id) => {
                    s.timers.remove(&(n, AnyTimer::Guest(id)));
                }
                Effect::Disk(req) => s.disk_queue[i].push_back((req, self.cfg.timing.disk_max_ms)),
                Effect::Persist(meta) => s.meta[i] = Some(meta),
                Effect::Handler(HandlerRequest::FencePeer { peer }) => {
                    let hangs = self.fence_peer_handler() == FencePeerChoice::Hang;
                    let deadline = if hangs {
                        NEVER
                    } else {
                        self.cfg.timing.handler_max_ms
                    };
                    s.handlers.insert((n, peer), deadline);
                    if let Some(l) = log.as_deref_mut() {
                        l.note(
                            n,
                            format!(
                                "fence-peer handler runs against {}",
                                crate::check::config::node_name(peer)
                            ),
                        );
                    }
                }
                Effect::Handler(h) => {
                    if let Some(l) = log.as_deref_mut() {
                        l.note(n, format!("handler {h:?}"));
                    }
                }
                Effect::Process(req) => s.procs.push((n, req, self.cfg.timing.ocf_max_ms)),
                Effect::Fence(target) => {
                    s.fences
                        .insert((n, target, true), self.cfg.timing.fence_max_ms);
                    if let Some(l) = log.as_deref_mut() {
                        l.note(
                            n,
                            format!(
                                "STONITH request against {}",
                                crate::check::config::node_name(target)
                            ),
                        );
                    }
                }
                Effect::Ack(w) => {
                    s.acked |= bit(w.0);
                    if let Some(l) = log.as_deref_mut() {
                        l.note(n, format!("write {} acknowledged", w.0));
                    }
                }
                Effect::WriteFailed { write, error } => {
                    if let Some(l) = log.as_deref_mut() {
                        l.note(n, format!("write {} failed: {error:?}", write.0));
                    }
                }
                Effect::ReadDone { .. } => {}
                Effect::Event(notice) => {
                    if let GuestNotice::Replica(ReplicaNotice::Witness(_, up)) = notice {
                        s.witness_up[i] = up;
                    }
                    if let Some(l) = log.as_deref_mut() {
                        if let Some(text) = describe(&notice) {
                            l.note(n, text);
                        }
                    }
                }
            }
        }
    }

    pub(super) fn feed_witness(
        &self,
        s: &mut State,
        input: Input<Witness>,
        log: &mut Option<&mut Log>,
    ) {
        self.feed_helper(
            s,
            WITNESS,
            |s| s.witness.as_mut(),
            input,
            GuestMsg::Replica,
            AnyTimer::Witness,
            log,
        );
    }

    pub(super) fn feed_device(
        &self,
        s: &mut State,
        input: Input<QuorumDevice>,
        log: &mut Option<&mut Log>,
    ) {
        self.feed_helper(
            s,
            QDEVICE,
            |s| s.device.as_mut(),
            input,
            GuestMsg::Membership,
            AnyTimer::Device,
            log,
        );
    }

    /// Feeds a helper machine (the witness, the quorum device) and carries out its
    /// sends, timers and notices; they have no disk, processes or fencing.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn feed_helper<P: Machine>(
        &self,
        s: &mut State,
        node: NodeId,
        part: impl FnOnce(&mut State) -> Option<&mut P>,
        input: Input<P>,
        lift_msg: impl Fn(P::Msg) -> GuestMsg,
        lift_timer: impl Fn(P::Timer) -> AnyTimer,
        log: &mut Option<&mut Log>,
    ) {
        let now = log.as_deref().map_or(Time::ZERO, |l| l.now);
        let Some(machine) = part(s) else {
            return;
        };
        let mut out = Vec::new();
        machine.handle(now, input, &mut out);
        for e in out {
            match e {
                Effect::Send { to, msg } => self.send(s, node, to, lift_msg(msg), log),
                Effect::SetTimer { id, after } => {
                    self.set_timer(s, node, lift_timer(id), after);
                }
                Effect::CancelTimer(id) => {
                    s.timers.remove(&(node, lift_timer(id)));
                }
                Effect::Event(notice) => {
                    if let Some(l) = log.as_deref_mut() {
                        l.note(node, format!("{notice:?}"));
                    }
                }
                _ => {}
            }
        }
    }

    /// Powers guest `n` off: its machine, timers, disk queue, OCF actions, handlers and
    /// the messages to and from it are gone; its disk blocks and metadata stay.
    pub fn power_off(&self, s: &mut State, n: NodeId, why: Down) {
        let i = ix(n);
        s.guests[i] = None;
        s.down[i] = why;
        s.timers.retain(|(m, _), _| *m != n);
        s.disk_queue[i].clear();
        s.procs.retain(|(m, _, _)| *m != n);
        s.handlers.retain(|(m, _), _| *m != n);
        s.fences = s
            .fences
            .iter()
            .map(|(&(by, t, answer), &d)| ((by, t, answer && by != n), d))
            .collect();
        s.channels.retain(|(f, t, _), _| *f != n && *t != n);
        s.running[i] = false;
        s.killed[i] = false;
        s.witness_up[i] = false;
        s.must_have[i] = 0;
    }

    /// Boots guest `n` from its persisted metadata (or from `meta` if given).
    pub fn boot(&self, s: &mut State, n: NodeId, log: &mut Option<&mut Log>) {
        let i = ix(n);
        let mut meta = s.meta[i].clone();
        if s.disk_failed[i]
            && let Some(m) = meta.as_mut()
        {
            // The metadata is on the failed disk: attach fails, the guest is Diskless.
            m.disk = crate::replication::DiskState::Diskless;
        }
        let Ok(g) = Guest::restart(self.cfg.guest(n), meta) else {
            return;
        };
        s.guests[i] = Some(g);
        s.down[i] = Down::Up;
        let fence_delay = self.cfg.fence_delay(n);
        self.feed(
            s,
            n,
            Input::Command(GuestCommand::Boot { fence_delay }),
            log,
        );
    }

    pub(super) fn deliver(
        &self,
        s: &mut State,
        from: NodeId,
        to: NodeId,
        msg: GuestMsg,
        log: &mut Option<&mut Log>,
    ) {
        match to {
            A | B => self.feed(s, to, Input::Recv { from, msg }, log),
            WITNESS => {
                if let GuestMsg::Replica(m) = msg {
                    self.feed_witness(s, Input::Recv { from, msg: m }, log);
                }
            }
            QDEVICE => {
                if let GuestMsg::Membership(m) = msg {
                    self.feed_device(s, Input::Recv { from, msg: m }, log);
                }
            }
            PING => {
                if let GuestMsg::Membership(m) = msg {
                    let mut p = PingNode::new(PING);
                    let mut out = Vec::new();
                    p.handle(Time::ZERO, Input::Recv { from, msg: m }, &mut out);
                    for e in out {
                        if let Effect::Send { to, msg } = e {
                            self.send(s, PING, to, GuestMsg::Membership(msg), log);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// A short text for the notices worth showing in a counterexample.
pub(super) fn describe(n: &GuestNotice) -> Option<String> {
    use crate::membership::MembershipNotice as M;
    use crate::resources::ResourceNotice as R;
    Some(match n {
        GuestNotice::Replica(r) => match r {
            ReplicaNotice::Role(role) => format!("replica {role:?}"),
            ReplicaNotice::Disk(d) => format!("disk {d:?}"),
            ReplicaNotice::Conn(c) => format!("connection {c:?}"),
            ReplicaNotice::NewCurrentUuid(u) => format!("new data generation {:X}", u >> 48),
            ReplicaNotice::Peer { .. } | ReplicaNotice::Resynced(_) => return None,
            other => format!("{other:?}"),
        },
        GuestNotice::Membership(m) => match m {
            M::PeerDead(p) => format!("peer {p} dead"),
            M::PeerAlive(p) => format!("peer {p} alive"),
            M::TakeOver => "take over".to_string(),
            M::GiveUp => "give up".to_string(),
            other => format!("{other:?}"),
        },
        GuestNotice::Resources(r) => match r {
            R::ResourceStarted(p) if *p == SERVICE => "service started".to_string(),
            R::ResourceStopped(p) if *p == SERVICE => "service stopped".to_string(),
            R::ResourceStarted(_) | R::ResourceStopped(_) => return None,
            other => format!("{other:?}"),
        },
    })
}
