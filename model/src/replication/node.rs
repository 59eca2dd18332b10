//! A node of a replicated resource: a diskful [`Replica`] or the diskless [`Witness`].
//!
//! Both speak [`ReplicaMsg`], so a driver that runs one resource runs machines of this one
//! type.

use super::meta::ReplicaMeta;
use super::msg::ReplicaMsg;
use super::notice::ReplicaNotice;
use super::replica::{Replica, ReplicaCommand, ReplicaTimer};
use super::witness::{Witness, WitnessNotice, WitnessTimer};
use crate::machine::{Compose, delegate};
use crate::{Effect, Input, Machine, Net, Time};

/// A diskful replica or a witness.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ReplicationNode {
    /// A diskful replica (boxed: it is much larger than the witness).
    Replica(Box<Replica>),
    /// A diskless tie-breaker.
    Witness(Witness),
}

/// Either machine's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReplicationTimer {
    /// A replica's timer.
    Replica(ReplicaTimer),
    /// The witness' timer.
    Witness(WitnessTimer),
}

/// Either machine's notices.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ReplicationNotice {
    /// From a replica.
    Replica(ReplicaNotice),
    /// From the witness.
    Witness(WitnessNotice),
}

impl From<Replica> for ReplicationNode {
    fn from(r: Replica) -> ReplicationNode {
        ReplicationNode::Replica(Box::new(r))
    }
}

impl From<Witness> for ReplicationNode {
    fn from(w: Witness) -> ReplicationNode {
        ReplicationNode::Witness(w)
    }
}

impl ReplicationNode {
    /// The replica, if this is one.
    pub fn replica(&self) -> Option<&Replica> {
        match self {
            ReplicationNode::Replica(r) => Some(r),
            ReplicationNode::Witness(_) => None,
        }
    }

    /// The witness, if this is one.
    pub fn witness(&self) -> Option<&Witness> {
        match self {
            ReplicationNode::Witness(w) => Some(w),
            ReplicationNode::Replica(_) => None,
        }
    }
}

impl Compose<Replica> for ReplicationNode {
    fn lift_msg(msg: ReplicaMsg) -> ReplicaMsg {
        msg
    }
    fn lift_timer(timer: ReplicaTimer) -> ReplicationTimer {
        ReplicationTimer::Replica(timer)
    }
    fn lift_meta(meta: ReplicaMeta) -> Option<ReplicaMeta> {
        Some(meta)
    }
    fn lift_notice(notice: ReplicaNotice) -> ReplicationNotice {
        ReplicationNotice::Replica(notice)
    }
}

impl Compose<Witness> for ReplicationNode {
    fn lift_msg(msg: ReplicaMsg) -> ReplicaMsg {
        msg
    }
    fn lift_timer(timer: WitnessTimer) -> ReplicationTimer {
        ReplicationTimer::Witness(timer)
    }
    fn lift_meta((): ()) -> Option<ReplicaMeta> {
        None
    }
    fn lift_notice(notice: WitnessNotice) -> ReplicationNotice {
        ReplicationNotice::Witness(notice)
    }
}

impl Machine for ReplicationNode {
    type Msg = ReplicaMsg;
    type Timer = ReplicationTimer;
    type Command = ReplicaCommand;
    type Meta = ReplicaMeta;
    type Notice = ReplicationNotice;

    fn net(_msg: &ReplicaMsg) -> Net {
        Net::Replication
    }

    fn handle(&mut self, now: Time, input: Input<Self>, out: &mut Vec<Effect<Self>>) {
        match self {
            ReplicationNode::Replica(r) => {
                let input = match input {
                    Input::Recv { from, msg } => Input::Recv { from, msg },
                    Input::Timer(ReplicationTimer::Replica(t)) => Input::Timer(t),
                    Input::Timer(ReplicationTimer::Witness(_)) => return,
                    Input::Disk(d) => Input::Disk(d),
                    Input::HandlerDone(h) => Input::HandlerDone(h),
                    Input::Process(p) => Input::Process(p),
                    Input::FenceDone { node, success } => Input::FenceDone { node, success },
                    Input::Command(c) => Input::Command(c),
                };
                delegate(&mut **r, now, input, out);
            }
            ReplicationNode::Witness(w) => {
                let input = match input {
                    Input::Recv { from, msg } => Input::Recv { from, msg },
                    Input::Timer(ReplicationTimer::Witness(t)) => Input::Timer(t),
                    _ => return,
                };
                delegate(w, now, input, out);
            }
        }
    }
}
