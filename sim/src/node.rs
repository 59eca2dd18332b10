//! The simulator's one machine type: any machine of the lab.
//!
//! The harness runs machines of one type, so the simulated world wraps every kind it
//! drives: the guests of the DRBD + Heartbeat pair, an unmanaged guest (the study's
//! "single node", whose services nobody watches), and the two flavours of the
//! virtualization-cluster layer. They never message each other across kinds: guests talk
//! to guests, agents to agents; the world connects the layers (a host that dies takes its
//! guests with it, a VM the cluster layer boots brings a guest back).

use model::cluster::openstack::{OpenStackMsg, OpenStackNode, OpenStackTimer};
use model::cluster::vmware::{VmwareMsg, VmwareNode, VmwareTimer};
use model::cluster::{ClusterCommand, ClusterNotice};
use model::guest::{Guest, GuestCommand, GuestMsg, GuestNotice, GuestTimer};
use model::machine::{Compose, delegate};
use model::replication::ReplicaMeta;
use model::{Effect, Input, Machine, Net, Time};
use serde::{Deserialize, Serialize};

/// Any machine of the simulated lab.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SimNode {
    /// A guest of the DRBD + Heartbeat pair.
    Guest(Box<Guest>),
    /// A guest without any HA software: its services are started once and nobody
    /// watches them.
    Unmanaged,
    /// A vSphere-HA-style machine (agent, datastore, isolation address).
    Vmware(VmwareNode),
    /// A Nova/Masakari-style machine.
    OpenStack(OpenStackNode),
}

/// Any machine's message.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SimMsg {
    /// Between guests.
    Guest(GuestMsg),
    /// Between vSphere-HA machines.
    Vmware(VmwareMsg),
    /// Between OpenStack machines.
    OpenStack(OpenStackMsg),
}

/// Any machine's timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SimTimer {
    /// A guest's.
    Guest(GuestTimer),
    /// A vSphere-HA machine's.
    Vmware(VmwareTimer),
    /// An OpenStack machine's.
    OpenStack(OpenStackTimer),
}

/// Any machine's notice.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SimNotice {
    /// A guest's.
    Guest(GuestNotice),
    /// The cluster layer's (both flavours report alike).
    Cluster(ClusterNotice),
}

/// A command for any machine.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SimCommand {
    /// For a guest.
    Guest(GuestCommand),
    /// For a cluster-layer machine.
    Cluster(ClusterCommand),
}

impl Compose<Guest> for SimNode {
    fn lift_msg(msg: GuestMsg) -> SimMsg {
        SimMsg::Guest(msg)
    }
    fn lift_timer(timer: GuestTimer) -> SimTimer {
        SimTimer::Guest(timer)
    }
    fn lift_meta(meta: ReplicaMeta) -> Option<ReplicaMeta> {
        Some(meta)
    }
    fn lift_notice(notice: GuestNotice) -> SimNotice {
        SimNotice::Guest(notice)
    }
}

impl Compose<VmwareNode> for SimNode {
    fn lift_msg(msg: VmwareMsg) -> SimMsg {
        SimMsg::Vmware(msg)
    }
    fn lift_timer(timer: VmwareTimer) -> SimTimer {
        SimTimer::Vmware(timer)
    }
    fn lift_meta((): ()) -> Option<ReplicaMeta> {
        None
    }
    fn lift_notice(notice: ClusterNotice) -> SimNotice {
        SimNotice::Cluster(notice)
    }
}

impl Compose<OpenStackNode> for SimNode {
    fn lift_msg(msg: OpenStackMsg) -> SimMsg {
        SimMsg::OpenStack(msg)
    }
    fn lift_timer(timer: OpenStackTimer) -> SimTimer {
        SimTimer::OpenStack(timer)
    }
    fn lift_meta((): ()) -> Option<ReplicaMeta> {
        None
    }
    fn lift_notice(notice: ClusterNotice) -> SimNotice {
        SimNotice::Cluster(notice)
    }
}

/// `input` for a part, if its message, timer and command are the part's kind.
macro_rules! lower {
    ($input:expr, $msg:path, $timer:path, $cmd:path) => {
        match $input {
            Input::Recv {
                from,
                msg: $msg(msg),
            } => Some(Input::Recv { from, msg }),
            Input::Timer($timer(t)) => Some(Input::Timer(t)),
            Input::Command($cmd(c)) => Some(Input::Command(c)),
            Input::Disk(d) => Some(Input::Disk(d)),
            Input::HandlerDone(h) => Some(Input::HandlerDone(h)),
            Input::Process(p) => Some(Input::Process(p)),
            Input::FenceDone { node, success } => Some(Input::FenceDone { node, success }),
            _ => None,
        }
    };
}

impl Machine for SimNode {
    type Msg = SimMsg;
    type Timer = SimTimer;
    type Command = SimCommand;
    type Meta = ReplicaMeta;
    type Notice = SimNotice;

    fn net(msg: &SimMsg) -> Net {
        match msg {
            SimMsg::Guest(m) => Guest::net(m),
            SimMsg::Vmware(m) => VmwareNode::net(m),
            SimMsg::OpenStack(m) => OpenStackNode::net(m),
        }
    }

    fn handle(&mut self, now: Time, input: Input<Self>, out: &mut Vec<Effect<Self>>) {
        match self {
            SimNode::Guest(g) => {
                if let Some(i) = lower!(input, SimMsg::Guest, SimTimer::Guest, SimCommand::Guest) {
                    delegate(&mut **g, now, i, out);
                }
            }
            SimNode::Unmanaged => {}
            SimNode::Vmware(v) => {
                if let Some(i) =
                    lower!(input, SimMsg::Vmware, SimTimer::Vmware, SimCommand::Cluster)
                {
                    delegate(v, now, i, out);
                }
            }
            SimNode::OpenStack(o) => {
                if let Some(i) = lower!(
                    input,
                    SimMsg::OpenStack,
                    SimTimer::OpenStack,
                    SimCommand::Cluster
                ) {
                    delegate(o, now, i, out);
                }
            }
        }
    }
}
