//! A quorum device: the third vote of a two-node cluster (corosync-qnetd with the
//! ffsplit algorithm).
//!
//! While both members report their peer alive they are one partition and both get the
//! vote. When a member asks as a partition of one (it lost its peer), the device gives
//! the vote to at most one such member, the first to ask, and keeps giving it to that
//! member while it keeps asking; the other side is refused. The grant is a lease: the
//! device forgets a member that has not asked for [`QuorumDevice::lease`], which is
//! longer than a member goes on counting a vote without renewal (deadtime). So the
//! holder has stopped counting the vote before the device can give it to the other side,
//! as long as a message takes less than one keepalive (src: Red Hat HA add-on reference
//! "Quorum Devices": ffsplit "provides exactly one vote to the partition with the highest
//! number of active nodes"; VQ for votequorum).

use core::time::Duration;

use serde::{Deserialize, Serialize};

use super::config::MembershipConfig;
use super::msg::MembershipMsg;
use crate::{Effect, Input, Machine, Net, NodeId, Time};

/// The device's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeviceTimer {
    /// This member has not asked for a lease: forget it.
    Expire(NodeId),
}

/// What the device reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeviceNotice {
    /// The device now gives its split vote to this member (or to none).
    Holder(Option<NodeId>),
}

/// A quorum device for one two-node cluster.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct QuorumDevice {
    me: NodeId,
    lease: Duration,
    /// The member that has the vote as a partition of one.
    holder: Option<NodeId>,
}

impl QuorumDevice {
    /// A device at `me` that forgets a silent member after `lease`.
    pub fn new(me: NodeId, lease: Duration) -> QuorumDevice {
        QuorumDevice {
            me,
            lease,
            holder: None,
        }
    }

    /// A device at `me` for members configured like `member`: the lease is deadtime plus
    /// one keepalive, longer than a member counts an unrenewed vote (deadtime).
    pub fn for_members(me: NodeId, member: &MembershipConfig) -> QuorumDevice {
        QuorumDevice::new(me, member.deadtime + member.keepalive)
    }

    /// Its node id.
    pub fn id(&self) -> NodeId {
        self.me
    }

    /// How long the device remembers a silent member.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// The member holding the split vote.
    pub fn holder(&self) -> Option<NodeId> {
        self.holder
    }

    fn set_holder(&mut self, holder: Option<NodeId>, out: &mut Vec<Effect<QuorumDevice>>) {
        if self.holder != holder {
            self.holder = holder;
            out.push(Effect::Event(DeviceNotice::Holder(holder)));
        }
    }
}

impl Machine for QuorumDevice {
    type Msg = MembershipMsg;
    type Timer = DeviceTimer;
    type Command = core::convert::Infallible;
    type Meta = ();
    type Notice = DeviceNotice;

    fn net(msg: &MembershipMsg) -> Net {
        msg.net()
    }

    fn handle(&mut self, _now: Time, input: Input<Self>, out: &mut Vec<Effect<Self>>) {
        match input {
            Input::Recv {
                from,
                msg: MembershipMsg::VoteRequest { alone },
            } => {
                out.push(Effect::SetTimer {
                    id: DeviceTimer::Expire(from),
                    after: self.lease,
                });
                let granted = if alone {
                    match self.holder {
                        None => {
                            self.set_holder(Some(from), out);
                            true
                        }
                        Some(h) => h == from,
                    }
                } else {
                    // The holder sees its peer again: the split is over.
                    if self.holder == Some(from) {
                        self.set_holder(None, out);
                    }
                    self.holder.is_none()
                };
                out.push(Effect::Send {
                    to: from,
                    msg: MembershipMsg::Vote { alone, granted },
                });
            }
            Input::Timer(DeviceTimer::Expire(n)) if self.holder == Some(n) => {
                self.set_holder(None, out);
            }
            _ => {}
        }
    }
}
