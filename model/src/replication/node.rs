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
pub enum ResourceNode {
    /// A diskful replica (boxed: it is much larger than the witness).
    Replica(Box<Replica>),
    /// A diskless tie-breaker.
    Witness(Witness),
}

/// Either machine's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceTimer {
    /// A replica's timer.
    Replica(ReplicaTimer),
    /// The witness' timer.
    Witness(WitnessTimer),
}

/// Either machine's notices.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ResourceNotice {
    /// From a replica.
    Replica(ReplicaNotice),
    /// From the witness.
    Witness(WitnessNotice),
}

impl From<Replica> for ResourceNode {
    fn from(r: Replica) -> ResourceNode {
        ResourceNode::Replica(Box::new(r))
    }
}

impl From<Witness> for ResourceNode {
    fn from(w: Witness) -> ResourceNode {
        ResourceNode::Witness(w)
    }
}

impl ResourceNode {
    /// The replica, if this is one.
    pub fn replica(&self) -> Option<&Replica> {
        match self {
            ResourceNode::Replica(r) => Some(r),
            ResourceNode::Witness(_) => None,
        }
    }

    /// The witness, if this is one.
    pub fn witness(&self) -> Option<&Witness> {
        match self {
            ResourceNode::Witness(w) => Some(w),
            ResourceNode::Replica(_) => None,
        }
    }
}

impl Compose<Replica> for ResourceNode {
    fn lift_msg(msg: ReplicaMsg) -> ReplicaMsg {
        msg
    }
    fn lift_timer(timer: ReplicaTimer) -> ResourceTimer {
        ResourceTimer::Replica(timer)
    }
    fn lift_meta(meta: ReplicaMeta) -> Option<ReplicaMeta> {
        Some(meta)
    }
    fn lift_notice(notice: ReplicaNotice) -> ResourceNotice {
        ResourceNotice::Replica(notice)
    }
}

impl Compose<Witness> for ResourceNode {
    fn lift_msg(msg: ReplicaMsg) -> ReplicaMsg {
        msg
    }
    fn lift_timer(timer: WitnessTimer) -> ResourceTimer {
        ResourceTimer::Witness(timer)
    }
    fn lift_meta((): ()) -> Option<ReplicaMeta> {
        None
    }
    fn lift_notice(notice: WitnessNotice) -> ResourceNotice {
        ResourceNotice::Witness(notice)
    }
}

impl Machine for ResourceNode {
    type Msg = ReplicaMsg;
    type Timer = ResourceTimer;
    type Command = ReplicaCommand;
    type Meta = ReplicaMeta;
    type Notice = ResourceNotice;

    fn net(_msg: &ReplicaMsg) -> Net {
        Net::Replication
    }

    fn handle(&mut self, now: Time, input: Input<Self>, out: &mut Vec<Effect<Self>>) {
        match self {
            ResourceNode::Replica(r) => {
                let input = match input {
                    Input::Recv { from, msg } => Input::Recv { from, msg },
                    Input::Timer(ResourceTimer::Replica(t)) => Input::Timer(t),
                    Input::Timer(ResourceTimer::Witness(_)) => return,
                    Input::Disk(d) => Input::Disk(d),
                    Input::HandlerDone(h) => Input::HandlerDone(h),
                    Input::Process(p) => Input::Process(p),
                    Input::FenceDone { node, success } => Input::FenceDone { node, success },
                    Input::Command(c) => Input::Command(c),
                };
                delegate(&mut **r, now, input, out);
            }
            ResourceNode::Witness(w) => {
                let input = match input {
                    Input::Recv { from, msg } => Input::Recv { from, msg },
                    Input::Timer(ResourceTimer::Witness(t)) => Input::Timer(t),
                    _ => return,
                };
                delegate(w, now, input, out);
            }
        }
    }
}
