//! The isolation address: the management network's gateway, which answers pings.
//!
//! A host that hears no other agent pings it: an answer means the host is in a network
//! partition, silence that the host itself is isolated (src: DD:
//! isolation vs partition; `das.isolationaddress` defaults to the gateway).

use std::convert::Infallible;

use super::msg::VmwareMsg;
use crate::{Effect, Input, Machine, Net, Time};

/// The isolation address; stateless.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct IsolationAddress;

impl Machine for IsolationAddress {
    type Msg = VmwareMsg;
    type Timer = Infallible;
    type Command = Infallible;
    type Meta = ();
    type Notice = Infallible;

    fn net(msg: &VmwareMsg) -> Net {
        msg.net()
    }

    fn handle(&mut self, _now: Time, input: Input<Self>, out: &mut Vec<Effect<Self>>) {
        if let Input::Recv {
            from,
            msg: VmwareMsg::Ping,
        } = input
        {
            out.push(Effect::Send {
                to: from,
                msg: VmwareMsg::Pong,
            });
        }
    }
}
