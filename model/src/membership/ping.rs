//! A ping node: a router the guests ping (ipfail's `ping` directive in ha.cf).

use std::convert::Infallible;

use super::msg::MembershipMsg;
use crate::{Effect, Input, Machine, Net, NodeId, Time};

/// A router that answers pings on the public network and does nothing else. Whether a
/// member reaches it is decided by the network (partitions), not by the router.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PingNode {
    me: NodeId,
}

impl PingNode {
    /// The ping node at `me`.
    pub fn new(me: NodeId) -> PingNode {
        PingNode { me }
    }

    /// Its node id.
    pub fn id(&self) -> NodeId {
        self.me
    }
}

impl Machine for PingNode {
    type Msg = MembershipMsg;
    type Timer = Infallible;
    type Command = Infallible;
    type Meta = ();
    type Notice = Infallible;

    fn net(msg: &MembershipMsg) -> Net {
        msg.net()
    }

    fn handle(&mut self, _now: Time, input: Input<Self>, out: &mut Vec<Effect<Self>>) {
        if let Input::Recv {
            from,
            msg: MembershipMsg::Ping,
        } = input
        {
            out.push(Effect::Send {
                to: from,
                msg: MembershipMsg::Pong,
            });
        }
    }
}
