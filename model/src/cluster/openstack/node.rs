//! A node of an OpenStack-style cluster: a compute host (nova-compute and the host
//! monitor), the Nova controller, or the Masakari engine. All speak [`OpenStackMsg`], so
//! one driver runs a whole cluster with machines of this one type.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::compute::{ComputeTimer, NovaCompute};
use super::config::OpenStackConfig;
use super::controller::{ControllerTimer, NovaController};
use super::engine::{EngineTimer, MasakariEngine};
use super::hostmonitor::{HostMonitor, MonitorTimer};
use super::msg::OpenStackMsg;
use crate::cluster::{ClusterCommand, ClusterNotice, VmRestartLayer};
use crate::machine::{Compose, delegate};
use crate::{Effect, Input, Machine, Net, NodeId, ProcessId, Time};

/// One compute host: nova-compute and masakari-hostmonitor side by side.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ComputeHost {
    /// nova-compute.
    pub nova: NovaCompute,
    /// The host monitor and its ring membership.
    pub monitor: HostMonitor,
}

impl ComputeHost {
    /// Compute host `me`, not booted.
    pub fn new(cfg: &Arc<OpenStackConfig>, me: NodeId) -> ComputeHost {
        ComputeHost {
            nova: NovaCompute::new(Arc::clone(cfg), me),
            monitor: HostMonitor::new(Arc::clone(cfg), me),
        }
    }

    /// As [`ComputeHost::new`], its host monitor polling first `phase` after boot (see
    /// [`HostMonitor::with_poll_phase`]).
    pub fn with_poll_phase(
        cfg: &Arc<OpenStackConfig>,
        me: NodeId,
        phase: core::time::Duration,
    ) -> ComputeHost {
        let mut host = ComputeHost::new(cfg, me);
        host.monitor = host.monitor.with_poll_phase(phase);
        host
    }
}

/// A compute host, the Nova controller or the Masakari engine.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum OpenStackNode {
    /// A compute host (boxed: the largest variant).
    Compute(Box<ComputeHost>),
    /// The Nova controller.
    Controller(NovaController),
    /// The Masakari engine.
    Engine(MasakariEngine),
}

/// Any part's timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OpenStackTimer {
    /// nova-compute's.
    Compute(ComputeTimer),
    /// The host monitor's.
    Monitor(MonitorTimer),
    /// The controller's.
    Controller(ControllerTimer),
    /// The engine's.
    Engine(EngineTimer),
}

impl From<ComputeHost> for OpenStackNode {
    fn from(c: ComputeHost) -> OpenStackNode {
        OpenStackNode::Compute(Box::new(c))
    }
}

impl From<NovaController> for OpenStackNode {
    fn from(c: NovaController) -> OpenStackNode {
        OpenStackNode::Controller(c)
    }
}

impl From<MasakariEngine> for OpenStackNode {
    fn from(e: MasakariEngine) -> OpenStackNode {
        OpenStackNode::Engine(e)
    }
}

impl OpenStackNode {
    /// The compute host, if this is one.
    pub fn compute(&self) -> Option<&ComputeHost> {
        match self {
            OpenStackNode::Compute(c) => Some(c),
            _ => None,
        }
    }

    /// The controller, if this is it.
    pub fn controller(&self) -> Option<&NovaController> {
        match self {
            OpenStackNode::Controller(c) => Some(c),
            _ => None,
        }
    }

    /// The engine, if this is it.
    pub fn engine(&self) -> Option<&MasakariEngine> {
        match self {
            OpenStackNode::Engine(e) => Some(e),
            _ => None,
        }
    }
}

macro_rules! compose {
    ($part:ty, $timer:ty, $variant:ident) => {
        impl Compose<$part> for OpenStackNode {
            fn lift_msg(msg: OpenStackMsg) -> OpenStackMsg {
                msg
            }
            fn lift_timer(timer: $timer) -> OpenStackTimer {
                OpenStackTimer::$variant(timer)
            }
            fn lift_meta((): ()) -> Option<()> {
                None
            }
            fn lift_notice(notice: ClusterNotice) -> ClusterNotice {
                notice
            }
        }
    };
}

compose!(NovaCompute, ComputeTimer, Compute);
compose!(HostMonitor, MonitorTimer, Monitor);
compose!(NovaController, ControllerTimer, Controller);
compose!(MasakariEngine, EngineTimer, Engine);

/// `input` for a part whose own timers `timer` picks out of the whole's; `None` if the
/// input is another part's timer.
fn narrow<P: Machine<Msg = OpenStackMsg, Command = ClusterCommand>>(
    input: Input<OpenStackNode>,
    timer: impl FnOnce(OpenStackTimer) -> Option<P::Timer>,
) -> Option<Input<P>> {
    Some(match input {
        Input::Recv { from, msg } => Input::Recv { from, msg },
        Input::Timer(t) => Input::Timer(timer(t)?),
        Input::Disk(d) => Input::Disk(d),
        Input::HandlerDone(h) => Input::HandlerDone(h),
        Input::Process(p) => Input::Process(p),
        Input::FenceDone { node, success } => Input::FenceDone { node, success },
        Input::Command(c) => Input::Command(c),
    })
}

impl Machine for OpenStackNode {
    type Msg = OpenStackMsg;
    type Timer = OpenStackTimer;
    type Command = ClusterCommand;
    type Meta = ();
    type Notice = ClusterNotice;

    fn net(msg: &OpenStackMsg) -> Net {
        msg.net()
    }

    fn handle(&mut self, now: Time, input: Input<Self>, out: &mut Vec<Effect<Self>>) {
        match self {
            OpenStackNode::Compute(c) => {
                let to_monitor = matches!(
                    input,
                    Input::Recv {
                        msg: OpenStackMsg::RingHeartbeat,
                        ..
                    } | Input::Timer(OpenStackTimer::Monitor(_))
                );
                let boot = matches!(input, Input::Command(ClusterCommand::Boot));
                if boot || !to_monitor {
                    let nova = narrow::<NovaCompute>(input.clone(), |t| match t {
                        OpenStackTimer::Compute(t) => Some(t),
                        _ => None,
                    });
                    if let Some(i) = nova {
                        delegate(&mut c.nova, now, i, out);
                    }
                }
                if boot || to_monitor {
                    let monitor = narrow::<HostMonitor>(input, |t| match t {
                        OpenStackTimer::Monitor(t) => Some(t),
                        _ => None,
                    });
                    if let Some(i) = monitor {
                        delegate(&mut c.monitor, now, i, out);
                    }
                }
            }
            OpenStackNode::Controller(c) => {
                if let Some(i) = narrow::<NovaController>(input, |t| match t {
                    OpenStackTimer::Controller(t) => Some(t),
                    _ => None,
                }) {
                    delegate(c, now, i, out);
                }
            }
            OpenStackNode::Engine(e) => {
                if let Some(i) = narrow::<MasakariEngine>(input, |t| match t {
                    OpenStackTimer::Engine(t) => Some(t),
                    _ => None,
                }) {
                    delegate(e, now, i, out);
                }
            }
        }
    }
}

impl VmRestartLayer for OpenStackNode {
    fn vms_running(&self) -> BTreeSet<ProcessId> {
        self.compute().map(|c| c.nova.running()).unwrap_or_default()
    }

    fn is_coordinator(&self) -> bool {
        matches!(self, OpenStackNode::Engine(_))
    }
}
