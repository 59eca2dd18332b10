//! The Masakari engine: the host-failure recovery workflow.
//!
//! On a host-down notification it fences the host and waits `stonith_wait`; if the host
//! is known off it disables its compute service, waits
//! `wait_period_after_service_update` (so Nova counts the service down and accepts the
//! evacuation), lists the host's instances and evacuates them with 3 workers, each
//! evacuation to be confirmed within `wait_period_after_evacuation`, trying the steps
//! of the segment's recovery method in turn (src: MI, MS). VMs on local storage are not evacuated.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use super::config::{OpenStackConfig, Placement};
use super::msg::{EvacuateOutcome, OpenStackMsg};
use crate::cluster::{ClusterCommand, ClusterNotice, NotRestartable};
use crate::{Effect, Input, Machine, Net, NodeId, ProcessId, Time};

/// The engine's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EngineTimer {
    /// `stonith_wait` after fencing this host.
    StonithWait(NodeId),
    /// `wait_period_after_service_update` after disabling this host's service.
    ServiceWait(NodeId),
    /// The evacuation of this VM had `wait_period_after_evacuation` to be confirmed.
    Confirm(ProcessId),
}

/// Where the recovery of one failed host is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecoveryPhase {
    /// Fenced, waiting `stonith_wait`; `fenced` is the answer, once it comes.
    Fencing {
        /// Whether the host is known off, once STONITH answered.
        fenced: Option<bool>,
    },
    /// Service disabled, waiting `wait_period_after_service_update`.
    Waiting,
    /// Asked Nova for the host's instances.
    Listing,
    /// Evacuating.
    Evacuating,
    /// Fencing failed: listing the instances only to report them not restartable.
    Aborted,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Recovery {
    phase: RecoveryPhase,
    /// VMs waiting for a worker, with the recovery-method step to try next.
    queue: VecDeque<(ProcessId, u8)>,
    /// VMs being evacuated, with the step tried.
    in_flight: BTreeMap<ProcessId, u8>,
    /// The reserved host taken into use, once enabled.
    reserved: Option<NodeId>,
}

/// The Masakari engine.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MasakariEngine {
    cfg: Arc<OpenStackConfig>,
    recoveries: BTreeMap<NodeId, Recovery>,
}

type Out = Vec<Effect<MasakariEngine>>;

impl MasakariEngine {
    /// An idle engine.
    pub fn new(cfg: Arc<OpenStackConfig>) -> MasakariEngine {
        MasakariEngine {
            cfg,
            recoveries: BTreeMap::new(),
        }
    }

    /// Where the recovery of `host` is, if one runs.
    pub fn recovery(&self, host: NodeId) -> Option<RecoveryPhase> {
        self.recoveries.get(&host).map(|r| r.phase)
    }

    fn to_controller(&self, msg: OpenStackMsg, out: &mut Out) {
        out.push(Effect::Send {
            to: self.cfg.controller,
            msg,
        });
    }

    fn on_host_down(&mut self, reporter: NodeId, host: NodeId, out: &mut Out) {
        // One workflow per host; a report from a host being recovered is not trusted.
        if !self.cfg.computes.contains(&host)
            || self.recoveries.contains_key(&host)
            || self.recoveries.contains_key(&reporter)
        {
            return;
        }
        self.recoveries.insert(
            host,
            Recovery {
                phase: RecoveryPhase::Fencing { fenced: None },
                queue: VecDeque::new(),
                in_flight: BTreeMap::new(),
                reserved: None,
            },
        );
        out.push(Effect::Event(ClusterNotice::HostFailed(host)));
        out.push(Effect::Fence(host));
        out.push(Effect::SetTimer {
            id: EngineTimer::StonithWait(host),
            after: self.cfg.timers.stonith_wait,
        });
    }

    fn on_stonith_wait(&mut self, host: NodeId, out: &mut Out) {
        let wait = self.cfg.timers.wait_after_service_update;
        let Some(r) = self.recoveries.get_mut(&host) else {
            return;
        };
        let RecoveryPhase::Fencing { fenced } = r.phase else {
            return;
        };
        if fenced == Some(true) {
            r.phase = RecoveryPhase::Waiting;
            self.to_controller(OpenStackMsg::DisableService { host }, out);
            out.push(Effect::SetTimer {
                id: EngineTimer::ServiceWait(host),
                after: wait,
            });
        } else {
            // Not known off: evacuating could run its VMs twice.
            r.phase = RecoveryPhase::Aborted;
            self.to_controller(OpenStackMsg::ListInstances { host }, out);
        }
    }

    fn on_instances(&mut self, host: NodeId, vms: Vec<ProcessId>, out: &mut Out) {
        let cfg = Arc::clone(&self.cfg);
        let Some(r) = self.recoveries.get_mut(&host) else {
            return;
        };
        match r.phase {
            RecoveryPhase::Listing => {
                for vm in vms {
                    match cfg.vm(vm) {
                        Some(s) if s.storage.movable() => r.queue.push_back((vm, 0)),
                        Some(_) => out.push(Effect::Event(ClusterNotice::VmNotRestartable {
                            vm,
                            reason: NotRestartable::LocalStorage,
                        })),
                        None => {}
                    }
                }
                r.phase = RecoveryPhase::Evacuating;
                self.dispatch(host, out);
            }
            RecoveryPhase::Aborted => {
                for vm in vms {
                    out.push(Effect::Event(ClusterNotice::VmNotRestartable {
                        vm,
                        reason: NotRestartable::HostNotFenced,
                    }));
                }
                self.recoveries.remove(&host);
                out.push(Effect::Event(ClusterNotice::HostRecoveryFinished(host)));
            }
            _ => {}
        }
    }

    /// A reserved host for the VMs of `failed`: the one already in use, or the first
    /// that is neither failed nor being recovered.
    fn reserved_host(&self, failed: NodeId) -> Option<NodeId> {
        if let Some(r) = self.recoveries.get(&failed).and_then(|r| r.reserved) {
            return Some(r);
        }
        self.cfg
            .reserved_hosts
            .iter()
            .copied()
            .find(|h| *h != failed && !self.recoveries.contains_key(h))
    }

    /// Gives evacuations to free workers; finishes the recovery when nothing is left.
    fn dispatch(&mut self, host: NodeId, out: &mut Out) {
        let steps = self.cfg.recovery_method.steps();
        let workers = self.cfg.evacuate_workers;
        let confirm = self.cfg.timers.wait_after_evacuation;
        let reserved = self.reserved_host(host);
        let controller = self.cfg.controller;
        let Some(r) = self.recoveries.get_mut(&host) else {
            return;
        };
        if r.phase != RecoveryPhase::Evacuating {
            return;
        }
        while r.in_flight.len() < workers {
            let Some((vm, step)) = r.queue.pop_front() else {
                break;
            };
            let target = match steps.get(usize::from(step)) {
                Some(Placement::Auto) => None,
                Some(Placement::Reserved) => match reserved {
                    Some(rh) => {
                        if r.reserved.is_none() {
                            r.reserved = Some(rh);
                            out.push(Effect::Send {
                                to: controller,
                                msg: OpenStackMsg::EnableService { host: rh },
                            });
                        }
                        Some(rh)
                    }
                    None => {
                        fail_attempt(r, vm, step, steps.len(), out);
                        continue;
                    }
                },
                None => continue,
            };
            r.in_flight.insert(vm, step);
            out.push(Effect::Send {
                to: controller,
                msg: OpenStackMsg::Evacuate { vm, target },
            });
            out.push(Effect::SetTimer {
                id: EngineTimer::Confirm(vm),
                after: confirm,
            });
        }
        if r.queue.is_empty() && r.in_flight.is_empty() {
            self.recoveries.remove(&host);
            out.push(Effect::Event(ClusterNotice::HostRecoveryFinished(host)));
        }
    }

    /// The evacuation of `vm` ended (`None`: not confirmed in time).
    fn on_evacuated(&mut self, vm: ProcessId, outcome: Option<EvacuateOutcome>, out: &mut Out) {
        let steps = self.cfg.recovery_method.steps().len();
        let Some((host, r)) = self
            .recoveries
            .iter_mut()
            .find(|(_, r)| r.in_flight.contains_key(&vm))
        else {
            return;
        };
        let host = *host;
        let Some(step) = r.in_flight.remove(&vm) else {
            return;
        };
        if outcome.is_some() {
            out.push(Effect::CancelTimer(EngineTimer::Confirm(vm)));
        }
        if !matches!(outcome, Some(EvacuateOutcome::Done(_))) {
            fail_attempt(r, vm, step, steps, out);
        }
        self.dispatch(host, out);
    }
}

/// Attempt `step` of `vm` failed: try the method's next step first, or give up.
fn fail_attempt(r: &mut Recovery, vm: ProcessId, step: u8, steps: usize, out: &mut Out) {
    out.push(Effect::Event(ClusterNotice::VmRestartFailed {
        vm,
        attempt: step.saturating_add(1),
    }));
    if usize::from(step) + 1 < steps {
        r.queue.push_front((vm, step + 1));
    } else {
        out.push(Effect::Event(ClusterNotice::VmNotRestartable {
            vm,
            reason: NotRestartable::RetriesExhausted,
        }));
    }
}

impl Machine for MasakariEngine {
    type Msg = OpenStackMsg;
    type Timer = EngineTimer;
    type Command = ClusterCommand;
    type Meta = ();
    type Notice = ClusterNotice;

    fn net(msg: &OpenStackMsg) -> Net {
        msg.net()
    }

    fn handle(&mut self, _now: Time, input: Input<Self>, out: &mut Vec<Effect<Self>>) {
        match input {
            Input::Recv { from, msg } => match msg {
                OpenStackMsg::HostDown { host } => self.on_host_down(from, host, out),
                OpenStackMsg::Instances { host, vms } => self.on_instances(host, vms, out),
                OpenStackMsg::EvacuateResult { vm, outcome } => {
                    self.on_evacuated(vm, Some(outcome), out)
                }
                _ => {}
            },
            Input::FenceDone { node, success } => {
                if let Some(r) = self.recoveries.get_mut(&node) {
                    if let RecoveryPhase::Fencing { fenced } = &mut r.phase {
                        *fenced = Some(success);
                        out.push(Effect::Event(ClusterNotice::HostFenced {
                            host: node,
                            success,
                        }));
                    }
                }
            }
            Input::Timer(EngineTimer::StonithWait(h)) => self.on_stonith_wait(h, out),
            Input::Timer(EngineTimer::ServiceWait(h)) => {
                if let Some(r) = self.recoveries.get_mut(&h) {
                    if r.phase == RecoveryPhase::Waiting {
                        r.phase = RecoveryPhase::Listing;
                        self.to_controller(OpenStackMsg::ListInstances { host: h }, out);
                    }
                }
            }
            Input::Timer(EngineTimer::Confirm(vm)) => self.on_evacuated(vm, None, out),
            Input::Command(_) | Input::Disk(_) | Input::HandlerDone(_) | Input::Process(_) => {}
        }
    }
}
