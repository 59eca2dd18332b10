//! A node of a VMware-style cluster: a host's FDM agent, a datastore, or the isolation
//! address. All speak [`VmwareMsg`], so one driver runs a whole cluster with machines of
//! this one type.

use std::collections::BTreeSet;
use std::convert::Infallible;

use super::agent::{FdmAgent, FdmTimer};
use super::datastore::{Datastore, DatastoreTimer};
use super::gateway::IsolationAddress;
use super::msg::VmwareMsg;
use crate::cluster::{ClusterCommand, ClusterNotice, VmRestartLayer};
use crate::machine::{Compose, delegate};
use crate::{Effect, Input, Machine, Net, ProcessId, Time};

/// An FDM agent, a datastore or the isolation address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum VmwareNode {
    /// A host's agent (boxed: much larger than the others).
    Agent(Box<FdmAgent>),
    /// A shared datastore.
    Datastore(Datastore),
    /// The isolation address.
    Gateway(IsolationAddress),
}

/// Any part's timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VmwareTimer {
    /// An agent's timer.
    Agent(FdmTimer),
    /// A datastore's timer.
    Datastore(DatastoreTimer),
}

impl From<FdmAgent> for VmwareNode {
    fn from(a: FdmAgent) -> VmwareNode {
        VmwareNode::Agent(Box::new(a))
    }
}

impl From<Datastore> for VmwareNode {
    fn from(d: Datastore) -> VmwareNode {
        VmwareNode::Datastore(d)
    }
}

impl From<IsolationAddress> for VmwareNode {
    fn from(g: IsolationAddress) -> VmwareNode {
        VmwareNode::Gateway(g)
    }
}

impl VmwareNode {
    /// The agent, if this is one.
    pub fn agent(&self) -> Option<&FdmAgent> {
        match self {
            VmwareNode::Agent(a) => Some(a),
            _ => None,
        }
    }

    /// The datastore, if this is one.
    pub fn datastore(&self) -> Option<&Datastore> {
        match self {
            VmwareNode::Datastore(d) => Some(d),
            _ => None,
        }
    }
}

impl Compose<FdmAgent> for VmwareNode {
    fn lift_msg(msg: VmwareMsg) -> VmwareMsg {
        msg
    }
    fn lift_timer(timer: FdmTimer) -> VmwareTimer {
        VmwareTimer::Agent(timer)
    }
    fn lift_meta((): ()) -> Option<()> {
        None
    }
    fn lift_notice(notice: ClusterNotice) -> ClusterNotice {
        notice
    }
}

impl Compose<Datastore> for VmwareNode {
    fn lift_msg(msg: VmwareMsg) -> VmwareMsg {
        msg
    }
    fn lift_timer(timer: DatastoreTimer) -> VmwareTimer {
        VmwareTimer::Datastore(timer)
    }
    fn lift_meta((): ()) -> Option<()> {
        None
    }
    fn lift_notice(notice: Infallible) -> ClusterNotice {
        match notice {}
    }
}

impl Compose<IsolationAddress> for VmwareNode {
    fn lift_msg(msg: VmwareMsg) -> VmwareMsg {
        msg
    }
    fn lift_timer(timer: Infallible) -> VmwareTimer {
        match timer {}
    }
    fn lift_meta((): ()) -> Option<()> {
        None
    }
    fn lift_notice(notice: Infallible) -> ClusterNotice {
        match notice {}
    }
}

impl Machine for VmwareNode {
    type Msg = VmwareMsg;
    type Timer = VmwareTimer;
    type Command = ClusterCommand;
    type Meta = ();
    type Notice = ClusterNotice;

    fn net(msg: &VmwareMsg) -> Net {
        msg.net()
    }

    fn handle(&mut self, now: Time, input: Input<Self>, out: &mut Vec<Effect<Self>>) {
        match self {
            VmwareNode::Agent(a) => {
                let input = match input {
                    Input::Recv { from, msg } => Input::Recv { from, msg },
                    Input::Timer(VmwareTimer::Agent(t)) => Input::Timer(t),
                    Input::Timer(VmwareTimer::Datastore(_)) => return,
                    Input::Disk(d) => Input::Disk(d),
                    Input::HandlerDone(h) => Input::HandlerDone(h),
                    Input::Process(p) => Input::Process(p),
                    Input::FenceDone { node, success } => Input::FenceDone { node, success },
                    Input::Command(c) => Input::Command(c),
                };
                delegate(&mut **a, now, input, out);
            }
            VmwareNode::Datastore(d) => {
                let input = match input {
                    Input::Recv { from, msg } => Input::Recv { from, msg },
                    Input::Timer(VmwareTimer::Datastore(t)) => Input::Timer(t),
                    _ => return,
                };
                delegate(d, now, input, out);
            }
            VmwareNode::Gateway(g) => {
                let input = match input {
                    Input::Recv { from, msg } => Input::Recv { from, msg },
                    _ => return,
                };
                delegate(g, now, input, out);
            }
        }
    }
}

impl VmRestartLayer for VmwareNode {
    fn vms_running(&self) -> BTreeSet<ProcessId> {
        self.agent().map(FdmAgent::running).unwrap_or_default()
    }

    fn is_coordinator(&self) -> bool {
        self.agent()
            .is_some_and(|a| a.role() == super::agent::AgentRole::Master)
    }
}
