//! Roles: promotion and demotion, `drbdadm outdate`, and the `fence-peer` handler.
//!
//! A promotion is a small state machine of its own (`PromoteWait`): it may wait for the
//! peer's writes still on their way to the disk, the connected peer's consent, the
//! witness' consent or `fence-peer`'s exit code, and is evaluated again (`try_promote`)
//! when what it waited for arrives, whichever concern that input belongs to.

use super::{Out, Replica};
use crate::replication::bitmap::Bitmap;
use crate::replication::config::{FencingPolicy, QuorumPolicy};
use crate::replication::msg::ConnMsg;
use crate::replication::notice::{PromoteRefused, ReplicaNotice};
use crate::replication::{ConnState, DiskState, PeerRole, Role};
use crate::{Effect, HandlerRequest, IoError};

/// What a promotion is waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum PromoteWait {
    /// Nothing yet: evaluate.
    Nothing,
    /// The connected peer's consent.
    Peer,
    /// The witness' consent.
    Witness,
    /// The `fence-peer` handler.
    FencePeer,
    /// The writes received from the peer that are still on their way to the local disk.
    PeerWrites,
}

/// A promotion in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct PendingPromote {
    pub(super) force: bool,
    pub(super) waiting: PromoteWait,
    pub(super) peer_granted: bool,
    pub(super) witness_granted: bool,
    pub(super) fence_exit: Option<u8>,
}

impl Replica {
    pub(super) fn refuse_promote(&mut self, why: PromoteRefused, out: &mut Out) {
        self.promote = None;
        out.push(Effect::Event(ReplicaNotice::PromoteRefused(why)));
    }

    /// Evaluates the pending promotion again if it waited for `what`.
    pub(super) fn resume_promote(&mut self, what: PromoteWait, out: &mut Out) {
        if let Some(p) = self.promote.as_mut().filter(|p| p.waiting == what) {
            p.waiting = PromoteWait::Nothing;
            self.try_promote(out);
        }
    }

    /// Evaluates the pending promotion: refuses it, waits for the peer writes still in
    /// flight to the disk, the peer, the witness or `fence-peer`, or promotes
    /// (`drbd_set_role` with `is_valid_state`).
    pub(super) fn try_promote(&mut self, out: &mut Out) {
        let Some(mut p) = self.promote else {
            return;
        };
        if self.disk <= DiskState::Failed {
            return self.refuse_promote(PromoteRefused::NoLocalDisk, out);
        }
        // Writes received from the peer are written before this node can become Primary:
        // DRBD's receiver does not leave the connection until its peer requests
        // (`active_ee`) are on disk (drbd_receiver.c `conn_disconnect` ->
        // `drbd_disconnected` -> `_drbd_wait_ee_list_empty`). So a write the old Primary
        // acknowledged on `RecvAck` (protocol B) survives its crash. The connection is
        // folded to Connecting at once here, so the promotion waits instead. (A peer
        // that is still Primary keeps sending: it is refused or, dual-primary, joined.)
        if self.peer_writes > 0 && self.peer_role != PeerRole::Primary {
            p.waiting = PromoteWait::PeerWrites;
            self.promote = Some(p);
            return;
        }
        if self.cfg.quorum == QuorumPolicy::Majority && !self.quorum {
            return self.refuse_promote(PromoteRefused::NoQuorum, out);
        }
        let mut forced = false;
        if let Some(session) = self.session {
            if self.peer_role == PeerRole::Primary && !self.cfg.allow_two_primaries {
                return self.refuse_promote(PromoteRefused::PeerIsPrimary, out);
            }
            // `primary --force` on a connected pair whose peer has no better data: the
            // initial sync after `create-md`.
            let force_disk = p.force
                && self.disk >= DiskState::Inconsistent
                && self.peer_disk <= DiskState::Inconsistent;
            if self.disk < DiskState::UpToDate && !force_disk {
                return self.refuse_promote(PromoteRefused::NoUpToDateDisk(self.disk), out);
            }
            if !p.peer_granted {
                p.waiting = PromoteWait::Peer;
                self.promote = Some(p);
                self.send_conn(session, ConnMsg::PromoteRequest, out);
                return;
            }
            if self.disk < DiskState::UpToDate {
                forced = true;
                self.set_disk(DiskState::UpToDate, out);
            }
        } else {
            if self.cfg.witness.is_some() && !p.witness_granted {
                p.waiting = PromoteWait::Witness;
                self.promote = Some(p);
                self.ping_witness(true, out);
                return;
            }
            let fencing = self.cfg.fencing >= FencingPolicy::ResourceOnly;
            let peer_unknown = self.peer_disk > DiskState::Outdated && !self.peer_outdated;
            if self.disk < DiskState::UpToDate {
                // A Consistent disk becomes UpToDate once the peer is known outdated.
                let may_fence_to_uptodate = self.disk == DiskState::Consistent && fencing;
                if p.force && self.disk >= DiskState::Inconsistent {
                    forced = true;
                    self.set_disk(DiskState::UpToDate, out);
                } else if !may_fence_to_uptodate {
                    return self.refuse_promote(PromoteRefused::NoUpToDateDisk(self.disk), out);
                }
            }
            if fencing && peer_unknown {
                match p.fence_exit {
                    None => {
                        p.waiting = PromoteWait::FencePeer;
                        self.promote = Some(p);
                        self.call_fence_peer(out);
                        return;
                    }
                    Some(exit) if !p.force => {
                        return self.refuse_promote(PromoteRefused::PeerNotOutdated(exit), out);
                    }
                    // "Forced into split brain situation!"
                    Some(_) => {}
                }
            }
            if self.disk == DiskState::Consistent {
                // The peer is outdated now: this disk is the newest.
                self.set_disk(DiskState::UpToDate, out);
            }
        }
        self.become_primary(forced, out);
    }

    fn become_primary(&mut self, forced: bool, out: &mut Out) {
        self.promote = None;
        self.role = Role::Primary;
        let unmirrored = !self.conn.is_connected() || self.peer_disk <= DiskState::Failed;
        if (unmirrored && self.uuids.bitmap == 0) || forced {
            self.new_current_uuid(out);
        }
        self.uuids.current |= 1;
        out.push(Effect::Event(ReplicaNotice::Role(Role::Primary)));
        self.persist(out);
        if let Some(session) = self.session {
            self.send_state(session, out);
        }
        if self.cfg.witness.is_some() {
            self.ping_witness(false, out);
        }
        self.sync_io(out);
        if forced && self.conn == ConnState::Connected && self.peer_disk == DiskState::Inconsistent
        {
            if let Some(session) = self.session {
                self.start_sync_source(session, true, &Bitmap::new(), out);
            }
        }
    }

    pub(super) fn demote(&mut self, out: &mut Out) {
        if self.role == Role::Secondary {
            return;
        }
        self.fail_unanswered(IoError::NotPrimary, out);
        self.role = Role::Secondary;
        self.susp_fen = false;
        self.witness.outdating_peer = false;
        self.new_cur_uuid_pending = false;
        self.uuids.current &= !1;
        out.push(Effect::Event(ReplicaNotice::Role(Role::Secondary)));
        self.sync_io(out);
        self.persist(out);
        if let Some(session) = self.session {
            self.send_state(session, out);
        }
        if self.cfg.witness.is_some() {
            self.ping_witness(false, out);
        }
    }

    pub(super) fn outdate(&mut self, out: &mut Out) {
        if self.outdate_refusal().is_none() {
            self.set_disk(DiskState::Outdated, out);
            self.persist(out);
        }
    }

    /// Why `drbdadm outdate` would change nothing now, or `None` if it applies: only a
    /// disconnected Secondary with a disk at least Outdated can be outdated (an already
    /// Outdated one stays so).
    pub fn outdate_refusal(&self) -> Option<&'static str> {
        if self.role == Role::Secondary
            && !self.conn.is_connected()
            && self.disk >= DiskState::Outdated
        {
            None
        } else {
            Some("only a disconnected Secondary can be outdated")
        }
    }

    pub(super) fn call_fence_peer(&mut self, out: &mut Out) {
        if !self.fence_running {
            self.fence_running = true;
            out.push(Effect::Handler(HandlerRequest::FencePeer {
                peer: self.cfg.peer,
            }));
        }
    }

    /// `conn_try_outdate_peer`: acts on the `fence-peer` exit code.
    pub(super) fn fence_peer_done(&mut self, exit: u8, out: &mut Out) {
        self.fence_running = false;
        if !self.conn.is_connected() {
            let outdated = match exit {
                3 => Some(DiskState::Inconsistent),
                4 | 7 => Some(DiskState::Outdated),
                5 if self.disk == DiskState::UpToDate => Some(DiskState::Outdated),
                6 if self.role == Role::Secondary => {
                    // "Peer is primary, outdating myself."
                    self.set_disk(DiskState::Outdated, out);
                    self.persist(out);
                    None
                }
                _ => None,
            };
            if let Some(disk) = outdated {
                self.set_peer(PeerRole::Unknown, disk, out);
                self.peer_outdated = true;
                self.susp_fen = false;
                self.persist(out);
            }
        }
        self.sync_io(out);
        if let Some(mut p) = self.promote {
            if p.waiting == PromoteWait::FencePeer {
                p.fence_exit = Some(exit);
                p.waiting = PromoteWait::Nothing;
                self.promote = Some(p);
                self.try_promote(out);
            }
        }
    }
}
