//! nova-compute on one host: reports its service state to the controller every
//! `report_interval`, boots the instances it is given and rebuilds evacuated ones.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::config::OpenStackConfig;
use super::msg::OpenStackMsg;
use crate::cluster::host_vms::{HostVms, VmOutcome, VmPhase};
use crate::cluster::{ClusterCommand, ClusterNotice};
use crate::{Effect, Input, Machine, Net, NodeId, ProcessId, Time};

/// nova-compute's timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ComputeTimer {
    /// Time for the next service report.
    Report,
}

/// nova-compute on one host.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NovaCompute {
    cfg: Arc<OpenStackConfig>,
    me: NodeId,
    booted: bool,
    vms: HostVms,
}

type Out = Vec<Effect<NovaCompute>>;

impl NovaCompute {
    /// The service of host `me`, not started (send [`ClusterCommand::Boot`]).
    pub fn new(cfg: Arc<OpenStackConfig>, me: NodeId) -> NovaCompute {
        NovaCompute {
            cfg,
            me,
            booted: false,
            vms: HostVms::default(),
        }
    }

    /// The instances running here.
    pub fn running(&self) -> BTreeSet<ProcessId> {
        self.vms.running()
    }

    fn report(&self, out: &mut Out) {
        out.push(Effect::Send {
            to: self.cfg.controller,
            msg: OpenStackMsg::ServiceReport,
        });
        out.push(Effect::SetTimer {
            id: ComputeTimer::Report,
            after: self.cfg.timers.report_interval,
        });
    }

    /// Boots `vm` here; `requester` hears how it went.
    fn start(&mut self, vm: ProcessId, requester: Option<NodeId>, out: &mut Out) {
        let runnable = self
            .cfg
            .vm(vm)
            .is_some_and(|s| s.storage.movable() || s.home == self.me);
        match self.vms.phase(vm) {
            Some(VmPhase::Running) => self.answer(vm, true, requester, out),
            Some(_) => {}
            None if runnable => self.vms.boot(self.me, vm, requester, out),
            None => self.answer(vm, false, requester, out),
        }
    }

    fn answer(&self, vm: ProcessId, ok: bool, requester: Option<NodeId>, out: &mut Out) {
        if let Some(to) = requester {
            out.push(Effect::Send {
                to,
                msg: OpenStackMsg::RebuildResult { vm, ok },
            });
        }
    }
}

impl Machine for NovaCompute {
    type Msg = OpenStackMsg;
    type Timer = ComputeTimer;
    type Command = ClusterCommand;
    type Meta = ();
    type Notice = ClusterNotice;

    fn net(msg: &OpenStackMsg) -> Net {
        msg.net()
    }

    fn handle(&mut self, _now: Time, input: Input<Self>, out: &mut Vec<Effect<Self>>) {
        if !self.booted {
            if let Input::Command(ClusterCommand::Boot) = input {
                self.booted = true;
                self.report(out);
            }
            return;
        }
        match input {
            Input::Timer(ComputeTimer::Report) => self.report(out),
            Input::Command(ClusterCommand::PowerOn(vm)) => self.start(vm, None, out),
            Input::Command(ClusterCommand::PowerOff(vm)) => {
                self.vms.stop(self.me, vm, out);
            }
            Input::Recv {
                from,
                msg: OpenStackMsg::Rebuild { vm },
            } => self.start(vm, Some(from), out),
            Input::Process(ev) => match self.vms.on_event(ev) {
                Some(VmOutcome::Started { vm, requester }) => {
                    out.push(Effect::Event(ClusterNotice::VmPoweredOn {
                        vm,
                        host: self.me,
                    }));
                    self.answer(vm, true, requester, out);
                }
                Some(VmOutcome::StartFailed { vm, requester }) => {
                    self.answer(vm, false, requester, out)
                }
                Some(VmOutcome::Stopped { vm }) => {
                    out.push(Effect::Event(ClusterNotice::VmPoweredOff {
                        vm,
                        host: self.me,
                    }))
                }
                None => {}
            },
            _ => {}
        }
    }
}
