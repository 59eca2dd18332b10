//! DRBD's `fence-peer` helper, as the simulated lab runs it.
//!
//! The guest machine asks for the helper with `Effect::Handler(FencePeer)` and waits for
//! its exit code; which helper a stack runs is the lab's business (`docs/architecture.md`,
//! "The guest composition"). The lab runs the one that goes with the replica's fencing
//! policy, as the checker does:
//!
//! * `resource-and-stonith`: `stonith_admin-fence-peer.sh` powers the peer off through the
//!   fence device (taking [`super::STONITH_TIME`], like Heartbeat's own STONITH here) and
//!   exits 7, "peer was STONITHed";
//! * otherwise dopd: over a Heartbeat ring that reaches the peer, `drbdadm outdate` there
//!   (`model::replication::dopd::answer`); exit 5 when no ring reaches it or it is down
//!   or hung. dopd's round trip is a message each way on a LAN: the answer comes at the
//!   next tick of the world (within 100 ms).

use model::guest::GuestCommand;
use model::replication::{FencingPolicy, ReplicaCommand, dopd};
use model::{HandlerReply, HandlerRequest, Net, NodeId, Time};

use super::{STONITH_TIME, World};
use crate::node::{SimCommand, SimNode};

/// A `fence-peer` helper that is running.
#[derive(Clone, Debug)]
pub(super) struct FencePeer {
    /// When it finishes.
    due: Time,
    /// The guest that runs it.
    caller: NodeId,
    /// The caller's boot it belongs to (an answer never reaches a later boot).
    boot: u64,
    /// The peer to fence.
    peer: NodeId,
}

impl World {
    /// `caller` started its `fence-peer` helper against `peer`.
    pub(super) fn fence_peer_requested(&mut self, caller: NodeId, peer: NodeId) {
        let stonith = self
            .guests
            .get(&caller)
            .is_some_and(|c| c.replica.fencing == FencingPolicy::ResourceAndStonith);
        let after = if stonith {
            STONITH_TIME
        } else {
            core::time::Duration::ZERO
        };
        self.fence_peers.push(FencePeer {
            due: self.lab.now() + after,
            caller,
            boot: self.boot_count(caller),
            peer,
        });
    }

    /// When the next helper returns.
    pub(super) fn fence_peer_due(&self) -> Option<Time> {
        self.fence_peers.iter().map(|f| f.due).min()
    }

    /// Finishes the helpers that are due.
    pub(super) fn finish_fence_peers(&mut self) {
        let now = self.lab.now();
        let (due, later): (Vec<_>, Vec<_>) = self.fence_peers.drain(..).partition(|f| f.due <= now);
        self.fence_peers = later;
        for f in due {
            if !self.lab.is_up(f.caller) || self.boot_count(f.caller) != f.boot {
                continue;
            }
            let stonith = self
                .guests
                .get(&f.caller)
                .is_some_and(|c| c.replica.fencing == FencingPolicy::ResourceAndStonith);
            let exit_code = if stonith {
                if self.lab.fence_unreachable.contains(&f.peer) {
                    // The power-off could not be carried out: the helper fails.
                    1
                } else {
                    if self.lab.is_up(f.peer) {
                        self.lab.crash(f.peer);
                        self.fenced(f.peer);
                    }
                    7
                }
            } else {
                self.dopd(f.caller, f.peer)
            };
            self.lab.handler_done(
                f.caller,
                HandlerReply {
                    request: HandlerRequest::FencePeer { peer: f.peer },
                    exit_code,
                },
            );
        }
    }

    /// dopd: the exit code of `drbdadm outdate` on `peer`, reached over a Heartbeat ring
    /// from `caller`; outdates the peer when that is the answer.
    fn dopd(&mut self, caller: NodeId, peer: NodeId) -> u8 {
        let rings = self.guests.get(&caller).map_or(1, |c| c.membership.rings);
        // dopd talks over the Heartbeat rings.
        // dopd asks and hears back over the same ring: both directions must pass.
        let ring_up = (0..rings).any(|r| {
            self.lab.net.is_up(caller, peer, Net::Ring(r))
                && self.lab.net.is_up(peer, caller, Net::Ring(r))
        });
        let answer = match self.lab.try_node(peer) {
            Some(SimNode::Guest(g)) if ring_up && !self.lab.is_paused(peer) => {
                dopd::answer(g.replica())
            }
            _ => dopd::PEER_UNREACHABLE,
        };
        if answer == dopd::PEER_OUTDATED {
            self.lab.command(
                peer,
                SimCommand::Guest(GuestCommand::Replica(ReplicaCommand::Outdate)),
            );
        }
        answer
    }
}
