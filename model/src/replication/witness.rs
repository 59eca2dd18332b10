//! The diskless tie-breaker: a third node that only votes.
//!
//! With `quorum majority` and a witness, each diskful node needs one more vote than
//! itself: the peer or the witness. The witness backs at most one Primary at a time, so a
//! Primary cut off from both peers loses quorum and freezes, while the other side can be
//! promoted with the witness' consent (src: UG9 "Quorum", "Using a diskless node as a
//! tiebreaker"; DRBD 9 reaches the same by cluster-wide two-phase state changes).
//!
//! A Primary that loses its peer but keeps the witness has the witness record the peer
//! as Outdated before it completes another write, and the witness refuses to let an
//! Outdated node be promoted; so writes acknowledged by one side alone can never be
//! missing on a node promoted later.
//!
//! The witness' view of who is present is a lease: it forgets a node that has not pinged
//! for [`WitnessConfig::expiry`], which is longer than the time a node keeps counting the
//! witness' vote without an answer (`ping-int` + `ping-timeout`). The safety of consent
//! therefore rests on message delays staying below `ping-int`; `docs/architecture.md`
//! says more.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;

use core::time::Duration;

use serde::{Deserialize, Serialize};

use super::Role;
use super::config::LinkTimers;
use super::msg::ReplicaMsg;
use crate::{Effect, Input, Machine, Net, NodeId, Time};

/// The witness' configuration.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WitnessConfig {
    /// This node.
    pub me: NodeId,
    /// The link timers the diskful nodes use.
    pub timers: LinkTimers,
}

impl WitnessConfig {
    /// How long the witness remembers a silent node: two ping intervals plus the ping
    /// timeout, longer than a node goes on counting the witness' vote without an answer.
    pub fn expiry(&self) -> Duration {
        2 * self.timers.ping_int + self.timers.ping_timeout
    }
}

/// What the witness knows of one diskful node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct NodeView {
    present: bool,
    role: Role,
}

/// The witness' timers: one expiry per node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WitnessTimer {
    /// Forget that this node is present.
    Expire(NodeId),
}

/// What the witness reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WitnessNotice {
    /// The witness now backs this Primary (or no one).
    Backs(Option<NodeId>),
    /// A node became present or absent.
    Present(NodeId, bool),
    /// The backed Primary had this node recorded as Outdated.
    Outdated(NodeId),
}

/// A diskless tie-breaker node.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Witness {
    cfg: WitnessConfig,
    nodes: BTreeMap<NodeId, NodeView>,
    /// The Primary the witness votes for; volatile, like a diskless node's state.
    backs: Option<NodeId>,
    /// Nodes the backed Primary had the witness record as Outdated.
    outdated: BTreeSet<NodeId>,
}

impl Witness {
    /// A witness that has heard from nobody yet.
    pub fn new(cfg: WitnessConfig) -> Witness {
        Witness {
            cfg,
            nodes: BTreeMap::new(),
            backs: None,
            outdated: BTreeSet::new(),
        }
    }

    /// The Primary the witness backs.
    pub fn backs(&self) -> Option<NodeId> {
        self.backs
    }

    /// Whether the witness has recorded `node` as Outdated.
    pub fn is_outdated(&self, node: NodeId) -> bool {
        self.outdated.contains(&node)
    }

    fn present(&self, node: NodeId) -> bool {
        self.nodes.get(&node).is_some_and(|v| v.present)
    }

    fn set_backs(&mut self, backs: Option<NodeId>, out: &mut Vec<Effect<Witness>>) {
        if self.backs != backs {
            self.backs = backs;
            out.push(Effect::Event(WitnessNotice::Backs(backs)));
        }
    }
}

impl Machine for Witness {
    type Msg = ReplicaMsg;
    type Timer = WitnessTimer;
    type Command = Infallible;
    type Meta = ();
    type Notice = WitnessNotice;

    fn net(_msg: &ReplicaMsg) -> Net {
        Net::Replication
    }

    fn handle(&mut self, _now: Time, input: Input<Self>, out: &mut Vec<Effect<Self>>) {
        match input {
            Input::Recv {
                from,
                msg:
                    ReplicaMsg::QuorumPing {
                        role,
                        peer,
                        peer_in_sync,
                        want_promote,
                        outdate_peer,
                        ..
                    },
            } => {
                if !self.present(from) {
                    out.push(Effect::Event(WitnessNotice::Present(from, true)));
                }
                self.nodes.insert(
                    from,
                    NodeView {
                        present: true,
                        role,
                    },
                );
                out.push(Effect::SetTimer {
                    id: WitnessTimer::Expire(from),
                    after: self.cfg.expiry(),
                });
                let vote = match role {
                    Role::Secondary => {
                        if self.backs == Some(from) && !want_promote {
                            // The backed Primary stepped down (or never made it).
                            self.set_backs(None, out);
                        }
                        true
                    }
                    Role::Primary => {
                        if self.backs.is_none() {
                            self.set_backs(Some(from), out);
                        }
                        self.backs == Some(from)
                    }
                };
                let backed = self.backs == Some(from);
                if backed && peer_in_sync {
                    self.outdated.remove(&peer);
                }
                let peer_outdated = backed && outdate_peer;
                if peer_outdated && self.outdated.insert(peer) {
                    out.push(Effect::Event(WitnessNotice::Outdated(peer)));
                }
                let other_primary = self
                    .nodes
                    .iter()
                    .any(|(&n, v)| n != from && v.present && v.role == Role::Primary);
                let backed_elsewhere = self.backs.is_some_and(|b| b != from && self.present(b));
                let promote_ok = want_promote
                    && role == Role::Secondary
                    && !other_primary
                    && !backed_elsewhere
                    && !self.outdated.contains(&from);
                if promote_ok {
                    self.set_backs(Some(from), out);
                }
                out.push(Effect::Send {
                    to: from,
                    msg: ReplicaMsg::QuorumPong {
                        vote,
                        promote_ok,
                        peer_outdated,
                    },
                });
            }
            Input::Recv { .. }
            | Input::Disk(_)
            | Input::HandlerDone(_)
            | Input::Process(_)
            | Input::FenceDone { .. } => {}
            Input::Command(never) => match never {},
            Input::Timer(WitnessTimer::Expire(node)) => {
                if let Some(v) = self.nodes.get_mut(&node) {
                    if v.present {
                        v.present = false;
                        out.push(Effect::Event(WitnessNotice::Present(node, false)));
                    }
                }
            }
        }
    }
}
