//! Quorum and the witness: the vote count, the witness' pings and its answers.
//!
//! Quorum depends only on the connection and the witness link, and it feeds back into
//! I/O (frozen or failed without quorum) and promotion (refused without it, or waiting
//! for the witness' consent) without being part of either.

use super::promote::PromoteWait;
use super::{Out, Replica, ReplicaTimer};
use crate::replication::config::{OnNoQuorum, QuorumPolicy};
use crate::replication::msg::ReplicaMsg;
use crate::replication::notice::{PromoteRefused, ReplicaNotice};
use crate::replication::{DiskState, PeerRole, Role};
use crate::{Effect, IoError, NodeId};

/// State of the witness link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(super) struct WitnessLink {
    pub(super) started: bool,
    up: bool,
    vote: bool,
    pub(super) outstanding: bool,
    /// A Primary that lost its peer waits, I/O frozen, until the witness has recorded
    /// the peer as Outdated (DRBD 9 outdates an unreachable peer through the remaining
    /// nodes before it goes on writing).
    pub(super) outdating_peer: bool,
}

impl Replica {
    pub(super) fn update_quorum(&mut self, out: &mut Out) {
        let has = match self.cfg.quorum {
            QuorumPolicy::Off => true,
            QuorumPolicy::Majority => {
                let voters = 2 + u32::from(self.cfg.witness.is_some());
                let votes = 1
                    + u32::from(self.conn.is_connected())
                    + u32::from(self.witness.up && self.witness.vote);
                2 * votes > voters
            }
        };
        if has == self.quorum {
            return;
        }
        self.quorum = has;
        out.push(Effect::Event(ReplicaNotice::Quorum(has)));
        if !has && self.role == Role::Primary && self.cfg.on_no_quorum == OnNoQuorum::IoError {
            self.fail_unanswered(IoError::NoQuorum, out);
        }
        self.sync_io(out);
    }

    pub(super) fn ping_witness(&mut self, want_promote: bool, out: &mut Out) {
        let Some(witness) = self.cfg.witness else {
            return;
        };
        out.push(Effect::Send {
            to: witness,
            msg: ReplicaMsg::QuorumPing {
                role: self.role,
                current: self.uuids.current & !1,
                peer: self.cfg.peer,
                peer_in_sync: self.conn.is_connected() && self.peer_disk == DiskState::UpToDate,
                want_promote,
                outdate_peer: self.witness.outdating_peer,
            },
        });
        if !self.witness.outstanding {
            self.witness.outstanding = true;
            out.push(Effect::SetTimer {
                id: ReplicaTimer::WitnessTimeout,
                after: self.cfg.timers.ping_timeout,
            });
        }
        out.push(Effect::SetTimer {
            id: ReplicaTimer::WitnessPing,
            after: self.cfg.timers.ping_int,
        });
    }

    pub(super) fn witness_lost(&mut self, out: &mut Out) {
        let Some(w) = self.cfg.witness else {
            return;
        };
        self.witness.outstanding = false;
        if self.witness.up {
            self.witness.up = false;
            self.witness.vote = false;
            out.push(Effect::Event(ReplicaNotice::Witness(w, false)));
            self.update_quorum(out);
        }
        if self
            .promote
            .is_some_and(|p| p.waiting == PromoteWait::Witness)
        {
            self.refuse_promote(PromoteRefused::NoQuorum, out);
        }
    }

    pub(super) fn on_pong(
        &mut self,
        from: NodeId,
        vote: bool,
        promote_ok: bool,
        peer_outdated: bool,
        out: &mut Out,
    ) {
        self.witness.outstanding = false;
        out.push(Effect::CancelTimer(ReplicaTimer::WitnessTimeout));
        if !self.witness.up {
            self.witness.up = true;
            out.push(Effect::Event(ReplicaNotice::Witness(from, true)));
        }
        if self.witness.outdating_peer && peer_outdated && !self.conn.is_connected() {
            self.witness.outdating_peer = false;
            self.peer_outdated = true;
            self.set_peer(PeerRole::Unknown, DiskState::Outdated, out);
            self.persist(out);
        }
        self.witness.vote = vote;
        self.update_quorum(out);
        self.sync_io(out);
        if let Some(mut p) = self.promote {
            if p.waiting == PromoteWait::Witness {
                if promote_ok {
                    p.witness_granted = true;
                    p.waiting = PromoteWait::Nothing;
                    self.promote = Some(p);
                    self.try_promote(out);
                } else {
                    self.refuse_promote(PromoteRefused::WitnessRefused, out);
                }
            }
        }
    }
}
