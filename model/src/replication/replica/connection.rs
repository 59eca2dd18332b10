//! The connection to the peer: connect and disconnect, the Hello/HelloAck handshake and
//! its outcome, losing the connection, and the messages of a session.
//!
//! A connection is a session (`SessionId`): this file decides when one starts and ends
//! and what each side knows of the other meanwhile. `on_conn` takes every message of the
//! current session; most it passes to the concern they belong to (write
//! acknowledgements to the write path, resync start and pause to the resync), the rest
//! it handles in place, among them the peer's writes, resync data and `SyncDone` on the
//! target, the peer's state, pings and promotion requests.

use super::io::RemoteHalf;
use super::promote::PromoteWait;
use super::resync::{Resync, SyncPlan};
use super::{Out, Replica, ReplicaTimer};
use crate::replication::bitmap::Bitmap;
use crate::replication::config::FencingPolicy;
use crate::replication::handshake::{HandshakeDecision, HandshakeParams, Outcome, decide};
use crate::replication::msg::{ConnMsg, ReplicaMsg, SessionId};
use crate::replication::notice::{PromoteRefused, ReplicaNotice};
use crate::replication::{ConnState, DiskState, PeerRole, Protocol, Role};
use crate::{DiskOp, DiskRequest, DiskToken, Effect};

impl Replica {
    fn current_session(&self) -> SessionId {
        SessionId {
            boot: self.boots,
            attempt: self.attempt,
        }
    }

    pub(super) fn send_hello(&mut self, out: &mut Out) {
        self.attempt += 1;
        let params = self.params();
        out.push(Effect::Send {
            to: self.cfg.peer,
            msg: ReplicaMsg::Hello {
                session: self.current_session(),
                params: params.clone(),
            },
        });
        self.hello = Some(params);
        out.push(Effect::SetTimer {
            id: ReplicaTimer::ConnectRetry,
            after: self.cfg.timers.connect_int,
        });
    }

    pub(super) fn connect(&mut self, discard_my_data: bool, out: &mut Out) {
        if self.cfg.witness.is_some() && !self.witness.started {
            self.witness.started = true;
            self.ping_witness(false, out);
        }
        if self.conn != ConnState::StandAlone {
            return;
        }
        self.discard_my_data = discard_my_data;
        self.persist(out);
        self.set_conn(ConnState::Connecting, out);
        if self.initiator() {
            self.send_hello(out);
        }
    }

    pub(super) fn disconnect(&mut self, out: &mut Out) {
        if let Some(session) = self.session {
            out.push(Effect::Send {
                to: self.cfg.peer,
                msg: ReplicaMsg::Disconnect { session },
            });
        }
        self.connection_lost(ConnState::StandAlone, out);
    }

    /// The connection is gone (ping timeout, reset, `disconnect`, or the peer reconnected).
    pub(super) fn connection_lost(&mut self, next: ConnState, out: &mut Out) {
        out.push(Effect::CancelTimer(ReplicaTimer::ConnectRetry));
        if !self.conn.is_connected() {
            self.hello = None;
            self.set_conn(next, out);
            if next == ConnState::Connecting && self.initiator() {
                self.send_hello(out);
            }
            return;
        }
        // "Lost contact to peer's copy of the data" (src: `drbd_state.c`
        // `after_state_ch`): a usable peer disk.
        let had_peer_data = self.peer_disk >= DiskState::Inconsistent
            && self.peer_disk != DiskState::DUnknown
            && self.peer_disk != DiskState::Outdated;
        for w in self.pending.values_mut() {
            if matches!(w.remote, RemoteHalf::Sent | RemoteHalf::Received) {
                w.remote = RemoteHalf::Lost;
                for b in super::io::run(w.block, w.count) {
                    self.bitmap.set(b);
                }
            }
        }
        self.resync = Resync::default();
        self.sync_plan = None;
        self.session = None;
        self.hello = None;
        self.ping_outstanding = false;
        for t in [
            ReplicaTimer::Ping,
            ReplicaTimer::PingTimeout,
            ReplicaTimer::ResyncTick,
        ] {
            out.push(Effect::CancelTimer(t));
        }
        self.set_peer(PeerRole::Unknown, DiskState::DUnknown, out);
        self.set_conn(next, out);
        if let Some(p) = self.promote {
            if p.waiting == PromoteWait::Peer {
                self.refuse_promote(PromoteRefused::ConnectionLost, out);
            }
        }
        if self.role == Role::Primary {
            if self.cfg.fencing == FencingPolicy::ResourceAndStonith {
                self.susp_fen = true;
            }
            if self.cfg.witness.is_some() {
                self.witness.outdating_peer = true;
                self.ping_witness(false, out);
            }
            if had_peer_data && self.uuids.bitmap == 0 && self.disk >= DiskState::UpToDate {
                if self.io_suspended() {
                    self.new_cur_uuid_pending = true;
                } else {
                    self.new_current_uuid(out);
                }
            }
            if self.cfg.fencing >= FencingPolicy::ResourceOnly {
                self.call_fence_peer(out);
            }
        }
        self.update_quorum(out);
        self.persist(out);
        self.sync_io(out);
        self.progress_all(out);
        if next == ConnState::Connecting && self.initiator() {
            self.send_hello(out);
        }
    }

    pub(super) fn on_hello(&mut self, session: SessionId, params: HandshakeParams, out: &mut Out) {
        if self.initiator() {
            return;
        }
        if self.conn == ConnState::StandAlone {
            out.push(Effect::Send {
                to: self.cfg.peer,
                msg: ReplicaMsg::Disconnect { session },
            });
            return;
        }
        if self.session == Some(session) {
            return;
        }
        if self.conn.is_connected() {
            // The peer opened a new connection: the old one is dead.
            self.connection_lost(ConnState::Connecting, out);
        }
        let mine = self.params();
        let decision = decide(&self.cfg, &mine, &params, true);
        out.push(Effect::Send {
            to: self.cfg.peer,
            msg: ReplicaMsg::HelloAck {
                session,
                params: mine,
            },
        });
        self.apply_handshake(session, decision, &params, out);
    }

    pub(super) fn on_hello_ack(
        &mut self,
        session: SessionId,
        params: HandshakeParams,
        out: &mut Out,
    ) {
        if !self.initiator()
            || self.conn != ConnState::Connecting
            || session != self.current_session()
        {
            return;
        }
        let Some(sent) = self.hello.take() else {
            return;
        };
        let now = self.params();
        let unchanged = sent.uuids == now.uuids
            && sent.disk == now.disk
            && sent.role == now.role
            && sent.crashed_primary == now.crashed_primary;
        if !unchanged {
            // The acceptor decided on stale parameters: start over.
            self.send_hello(out);
            return;
        }
        let decision = decide(&self.cfg, &sent, &params, false);
        self.apply_handshake(session, decision, &params, out);
    }

    fn apply_handshake(
        &mut self,
        session: SessionId,
        d: HandshakeDecision,
        peer: &HandshakeParams,
        out: &mut Out,
    ) {
        out.push(Effect::CancelTimer(ReplicaTimer::ConnectRetry));
        out.push(Effect::Event(ReplicaNotice::Handshake {
            rule: d.comparison.rule,
            outcome: d.outcome,
        }));
        if let Some(fixed) = d.comparison.corrected_self {
            self.uuids = fixed;
        }
        if let Some(sb) = d.split_brain {
            out.push(Effect::Event(ReplicaNotice::SplitBrain(sb)));
        }
        out.extend(d.handlers.into_iter().map(Effect::Handler));
        if let Outcome::Disconnect(why) = d.outcome {
            out.push(Effect::Send {
                to: self.cfg.peer,
                msg: ReplicaMsg::Disconnect { session },
            });
            out.push(Effect::Event(ReplicaNotice::Refused(why)));
            self.hello = None;
            self.set_conn(ConnState::StandAlone, out);
            self.persist(out);
            return;
        }
        self.session = Some(session);
        self.discard_my_data = false;
        self.ping_outstanding = false;
        self.susp_fen = false;
        self.witness.outdating_peer = false;
        self.peer_outdated = false;
        self.resync = Resync::default();
        out.push(Effect::SetTimer {
            id: ReplicaTimer::Ping,
            after: self.cfg.timers.ping_int,
        });
        let mut peer_disk = peer.disk;
        match d.outcome {
            Outcome::Connected => {
                // Consistent and Outdated vanish when connected (`sanitize_state`).
                if matches!(self.disk, DiskState::Consistent | DiskState::Outdated) {
                    self.set_disk(DiskState::UpToDate, out);
                }
                if matches!(peer_disk, DiskState::Consistent | DiskState::Outdated) {
                    peer_disk = DiskState::UpToDate;
                }
                self.crashed_primary = false;
                self.set_peer(peer.role.into(), peer_disk, out);
                self.set_conn(ConnState::Connected, out);
            }
            // Neither side touches its bitmap or identifiers until both agree: the
            // target says so, then the source starts (DRBD: the bitmap exchange, then
            // `drbd_gen_and_send_sync_uuid`). A peer that refused drops the connection
            // instead, and nothing has changed.
            Outcome::SyncSource { full } => {
                self.set_peer(peer.role.into(), peer_disk, out);
                self.sync_plan = Some(SyncPlan {
                    full,
                    peer_bitmap: peer.bitmap.clone(),
                });
                self.set_conn(ConnState::WFBitMapS, out);
            }
            Outcome::SyncTarget { full } => {
                self.set_peer(peer.role.into(), peer_disk.max(DiskState::UpToDate), out);
                self.sync_plan = Some(SyncPlan {
                    full,
                    peer_bitmap: peer.bitmap.clone(),
                });
                self.set_conn(ConnState::WFBitMapT, out);
                self.send_conn(session, ConnMsg::SyncReady, out);
            }
            Outcome::Disconnect(_) => {}
        }
        self.update_quorum(out);
        self.persist(out);
        self.sync_io(out);
        if self
            .promote
            .is_some_and(|p| p.waiting == PromoteWait::FencePeer)
        {
            // Connected again: the peer's state is known; decide afresh.
            if let Some(p) = self.promote.as_mut() {
                p.waiting = PromoteWait::Nothing;
            }
            self.try_promote(out);
        }
    }

    pub(super) fn on_conn(&mut self, session: SessionId, msg: ConnMsg, out: &mut Out) {
        if self.session != Some(session) {
            // Not our connection: tell the sender, like a TCP reset.
            out.push(Effect::Send {
                to: self.cfg.peer,
                msg: ReplicaMsg::Disconnect { session },
            });
            return;
        }
        match msg {
            ConnMsg::Data {
                write,
                block,
                count,
                data,
            } => {
                if self.cfg.protocol == Protocol::B {
                    self.send_conn(session, ConnMsg::RecvAck { write }, out);
                }
                if self.disk <= DiskState::Failed {
                    self.send_conn(session, ConnMsg::NegAck { write }, out);
                    return;
                }
                if count == 0 || block.checked_add(u64::from(count)).is_none() {
                    // Nothing a correct peer sends: fail it rather than write nothing.
                    self.send_conn(session, ConnMsg::NegAck { write }, out);
                    return;
                }
                self.peer_writes += 1;
                out.push(Effect::Disk(DiskRequest {
                    token: DiskToken::PeerWrite(write, block, count),
                    op: DiskOp::Write { block, count, data },
                }));
            }
            ConnMsg::RecvAck { write } => self.remote_progress(write, RemoteHalf::Received, out),
            ConnMsg::WriteAck { write } => self.remote_progress(write, RemoteHalf::Written, out),
            ConnMsg::NegAck { write } => self.remote_progress(write, RemoteHalf::Lost, out),
            ConnMsg::SyncReady => {
                if self.conn == ConnState::WFBitMapS {
                    if let Some(plan) = self.sync_plan.take() {
                        self.start_sync_source(session, plan.full, &plan.peer_bitmap, out);
                    }
                }
            }
            ConnMsg::SyncUuid { uuid, full } => {
                if self.conn == ConnState::WFBitMapT {
                    if let Some(plan) = self.sync_plan.take() {
                        self.start_sync_target(plan.full, &plan.peer_bitmap, out);
                    }
                } else if self.conn == ConnState::Connected && self.role == Role::Secondary {
                    // A resync the peer started on its own (after `primary --force`).
                    self.start_sync_target(full, &Bitmap::new(), out);
                }
                if self.conn.is_sync_target() {
                    self.uuids.current = uuid & !1 | u64::from(self.role == Role::Primary);
                    self.uuids.bitmap = 0;
                    self.persist(out);
                }
            }
            ConnMsg::SyncData { block, data } => {
                if self.conn.is_sync_target() && self.disk > DiskState::Failed {
                    out.push(Effect::Disk(DiskRequest {
                        token: DiskToken::ResyncWrite(block),
                        op: DiskOp::Write {
                            block,
                            count: 1,
                            data,
                        },
                    }));
                }
            }
            ConnMsg::SyncAck { block } => {
                if self.conn.is_sync_source() && self.resync.sent.remove(&block) {
                    self.bitmap.clear(block);
                    self.resync.done += 1;
                    self.maybe_finish_resync(session, out);
                }
            }
            ConnMsg::SyncDone { uuids } => {
                if self.conn.is_sync_target() {
                    let blocks = self.resync.done;
                    self.uuids = uuids;
                    self.uuids.current = uuids.current & !1 | u64::from(self.role == Role::Primary);
                    self.bitmap = Bitmap::new();
                    self.crashed_primary = false;
                    self.set_disk(DiskState::UpToDate, out);
                    self.set_peer(self.peer_role, DiskState::UpToDate, out);
                    self.set_conn(ConnState::Connected, out);
                    out.push(Effect::Event(ReplicaNotice::SyncFinished { blocks }));
                    self.persist(out);
                }
            }
            ConnMsg::SyncPaused(paused) => self.set_paused(paused, out),
            ConnMsg::Invalidated => self.on_invalidated(session, out),
            ConnMsg::State { role, disk } => {
                let disk = match disk {
                    DiskState::Consistent | DiskState::Outdated
                        if self.conn == ConnState::Connected =>
                    {
                        DiskState::UpToDate
                    }
                    d => d,
                };
                self.set_peer(role.into(), disk, out);
            }
            ConnMsg::PromoteRequest => {
                let busy = self.promote.is_some_and(|p| p.waiting == PromoteWait::Peer);
                // Concurrent promotions: the node holding RESOLVE_CONFLICTS wins.
                let granted = (self.role != Role::Primary || self.cfg.allow_two_primaries)
                    && (!busy || self.initiator());
                if granted {
                    self.set_peer(PeerRole::Primary, self.peer_disk, out);
                }
                self.send_conn(session, ConnMsg::PromoteReply { granted }, out);
            }
            ConnMsg::PromoteReply { granted } => {
                if let Some(mut p) = self.promote {
                    if p.waiting == PromoteWait::Peer {
                        if granted {
                            p.peer_granted = true;
                            p.waiting = PromoteWait::Nothing;
                            self.promote = Some(p);
                            self.try_promote(out);
                        } else {
                            self.refuse_promote(PromoteRefused::PeerRefused, out);
                        }
                    }
                }
            }
            ConnMsg::Ping => self.send_conn(session, ConnMsg::PingAck, out),
            ConnMsg::PingAck => {
                self.ping_outstanding = false;
                out.push(Effect::CancelTimer(ReplicaTimer::PingTimeout));
            }
        }
    }
}
