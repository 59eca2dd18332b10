//! Any machine of the membership layer, for drivers and tests that run a whole cluster
//! of members, ping nodes and a quorum device in one harness.

use std::convert::Infallible;

use super::device::{DeviceNotice, DeviceTimer, QuorumDevice};
use super::member::{Membership, MembershipCommand, MembershipTimer};
use super::msg::MembershipMsg;
use super::notice::MembershipNotice;
use super::ping::PingNode;
use crate::machine::{Compose, delegate};
use crate::{Effect, Input, Machine, Net, Time};

/// A member, a ping node or the quorum device.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MembershipNode {
    /// A cluster member.
    Member(Membership),
    /// A router the members ping.
    Ping(PingNode),
    /// The quorum device.
    Device(QuorumDevice),
}

/// Either timer kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MembershipNodeTimer {
    /// A member's timer.
    Member(MembershipTimer),
    /// The device's timer.
    Device(DeviceTimer),
}

/// Either notice kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MembershipNodeNotice {
    /// From a member.
    Member(MembershipNotice),
    /// From the device.
    Device(DeviceNotice),
}

impl From<Membership> for MembershipNode {
    fn from(m: Membership) -> MembershipNode {
        MembershipNode::Member(m)
    }
}

impl From<PingNode> for MembershipNode {
    fn from(p: PingNode) -> MembershipNode {
        MembershipNode::Ping(p)
    }
}

impl From<QuorumDevice> for MembershipNode {
    fn from(d: QuorumDevice) -> MembershipNode {
        MembershipNode::Device(d)
    }
}

impl MembershipNode {
    /// The member, if this is one.
    pub fn member(&self) -> Option<&Membership> {
        match self {
            MembershipNode::Member(m) => Some(m),
            _ => None,
        }
    }

    /// The quorum device, if this is it.
    pub fn device(&self) -> Option<&QuorumDevice> {
        match self {
            MembershipNode::Device(d) => Some(d),
            _ => None,
        }
    }
}

impl Compose<Membership> for MembershipNode {
    fn lift_msg(msg: MembershipMsg) -> MembershipMsg {
        msg
    }
    fn lift_timer(timer: MembershipTimer) -> MembershipNodeTimer {
        MembershipNodeTimer::Member(timer)
    }
    fn lift_meta((): ()) -> Option<()> {
        Some(())
    }
    fn lift_notice(notice: MembershipNotice) -> MembershipNodeNotice {
        MembershipNodeNotice::Member(notice)
    }
}

impl Compose<PingNode> for MembershipNode {
    fn lift_msg(msg: MembershipMsg) -> MembershipMsg {
        msg
    }
    fn lift_timer(timer: Infallible) -> MembershipNodeTimer {
        match timer {}
    }
    fn lift_meta((): ()) -> Option<()> {
        Some(())
    }
    fn lift_notice(notice: Infallible) -> MembershipNodeNotice {
        match notice {}
    }
}

impl Compose<QuorumDevice> for MembershipNode {
    fn lift_msg(msg: MembershipMsg) -> MembershipMsg {
        msg
    }
    fn lift_timer(timer: DeviceTimer) -> MembershipNodeTimer {
        MembershipNodeTimer::Device(timer)
    }
    fn lift_meta((): ()) -> Option<()> {
        Some(())
    }
    fn lift_notice(notice: DeviceNotice) -> MembershipNodeNotice {
        MembershipNodeNotice::Device(notice)
    }
}

impl Machine for MembershipNode {
    type Msg = MembershipMsg;
    type Timer = MembershipNodeTimer;
    type Command = MembershipCommand;
    type Meta = ();
    type Notice = MembershipNodeNotice;

    fn net(msg: &MembershipMsg) -> Net {
        msg.net()
    }

    fn handle(&mut self, now: Time, input: Input<Self>, out: &mut Vec<Effect<Self>>) {
        match self {
            MembershipNode::Member(m) => {
                let input = match input {
                    Input::Recv { from, msg } => Input::Recv { from, msg },
                    Input::Timer(MembershipNodeTimer::Member(t)) => Input::Timer(t),
                    Input::Timer(MembershipNodeTimer::Device(_)) => return,
                    Input::Disk(d) => Input::Disk(d),
                    Input::HandlerDone(h) => Input::HandlerDone(h),
                    Input::Process(p) => Input::Process(p),
                    Input::FenceDone { node, success } => Input::FenceDone { node, success },
                    Input::Command(c) => Input::Command(c),
                };
                delegate(m, now, input, out);
            }
            MembershipNode::Ping(p) => {
                if let Input::Recv { from, msg } = input {
                    delegate(p, now, Input::Recv { from, msg }, out);
                }
            }
            MembershipNode::Device(d) => {
                let input = match input {
                    Input::Recv { from, msg } => Input::Recv { from, msg },
                    Input::Timer(MembershipNodeTimer::Device(t)) => Input::Timer(t),
                    _ => return,
                };
                delegate(d, now, input, out);
            }
        }
    }
}
