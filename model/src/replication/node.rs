//! A node of a replicated resource: a diskful [`Replica`] or the diskless [`Witness`].
//!
//! Both speak [`ReplicaMsg`], so a driver that runs one resource runs machines of this one
//! type.

use super::meta::ReplicaMeta;
use super::msg::ReplicaMsg;
use super::notice::ReplicaNotice;
use super::replica::{Replica, ReplicaCommand, ReplicaTimer};
use super::witness::{Witness, WitnessNotice, WitnessTimer};
use crate::{Effect, Input, Machine, Time};

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

/// Runs `inner` on `input` translated for machine `I`, and translates its effects back.
fn delegate<I: Machine<Msg = ReplicaMsg>>(
    inner: &mut I,
    now: Time,
    input: Input<I>,
    out: &mut Vec<Effect<ResourceNode>>,
    timer: fn(I::Timer) -> ResourceTimer,
    notice: fn(I::Notice) -> ResourceNotice,
    meta: fn(I::Meta) -> Option<ReplicaMeta>,
) {
    let mut inner_out = Vec::new();
    inner.handle(now, input, &mut inner_out);
    out.extend(inner_out.into_iter().filter_map(|e| {
        Some(match e {
            Effect::Send { to, msg } => Effect::Send { to, msg },
            Effect::SetTimer { id, after } => Effect::SetTimer {
                id: timer(id),
                after,
            },
            Effect::CancelTimer(id) => Effect::CancelTimer(timer(id)),
            Effect::Disk(r) => Effect::Disk(r),
            Effect::Persist(m) => Effect::Persist(meta(m)?),
            Effect::Handler(h) => Effect::Handler(h),
            Effect::Fence(n) => Effect::Fence(n),
            Effect::Ack(w) => Effect::Ack(w),
            Effect::WriteFailed { write, error } => Effect::WriteFailed { write, error },
            Effect::ReadDone { read, result } => Effect::ReadDone { read, result },
            Effect::Event(n) => Effect::Event(notice(n)),
        })
    }));
}

impl Machine for ResourceNode {
    type Msg = ReplicaMsg;
    type Timer = ResourceTimer;
    type Command = ReplicaCommand;
    type Meta = ReplicaMeta;
    type Notice = ResourceNotice;

    fn handle(&mut self, now: Time, input: Input<Self>, out: &mut Vec<Effect<Self>>) {
        match self {
            ResourceNode::Replica(r) => {
                let input = match input {
                    Input::Recv { from, msg } => Input::Recv { from, msg },
                    Input::Timer(ResourceTimer::Replica(t)) => Input::Timer(t),
                    Input::Timer(ResourceTimer::Witness(_)) => return,
                    Input::Disk(d) => Input::Disk(d),
                    Input::HandlerDone(h) => Input::HandlerDone(h),
                    Input::Command(c) => Input::Command(c),
                };
                delegate(
                    &mut **r,
                    now,
                    input,
                    out,
                    ResourceTimer::Replica,
                    ResourceNotice::Replica,
                    Some,
                );
            }
            ResourceNode::Witness(w) => {
                let input = match input {
                    Input::Recv { from, msg } => Input::Recv { from, msg },
                    Input::Timer(ResourceTimer::Witness(t)) => Input::Timer(t),
                    _ => return,
                };
                delegate(
                    w,
                    now,
                    input,
                    out,
                    ResourceTimer::Witness,
                    ResourceNotice::Witness,
                    |()| None,
                );
            }
        }
    }
}
