//! The Nova controller: the service table (a compute service is down after
//! `service_down_time` without a report), the instance locations, the scheduler, and
//! evacuation, which it refuses while the VM's host is not down.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::config::OpenStackConfig;
use super::msg::{EvacuateOutcome, OpenStackMsg};
use crate::cluster::{ClusterCommand, ClusterNotice, NotRestartable};
use crate::{Effect, Input, Machine, Net, NodeId, ProcessId, Time};

/// The controller's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ControllerTimer {
    /// No report from this host's compute service for `service_down_time`.
    ServiceDown(NodeId),
}

/// One compute service in Nova's service table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Service {
    /// Its reports arrive (`service_down_time` has not run out).
    pub up: bool,
    /// Disabled: the scheduler places nothing on it.
    pub disabled: bool,
    /// Forced down by an operator (`nova service-force-down`).
    pub forced_down: bool,
}

impl Service {
    /// Whether Nova counts it as down.
    pub fn is_down(self) -> bool {
        !self.up || self.forced_down
    }
}

/// An evacuation in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Evacuation {
    target: NodeId,
    /// Who wants to hear the outcome (the Masakari engine); none for an operator.
    requester: Option<NodeId>,
}

/// The Nova controller.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NovaController {
    cfg: Arc<OpenStackConfig>,
    services: BTreeMap<NodeId, Service>,
    /// Where each instance is (its home until evacuated).
    location: BTreeMap<ProcessId, NodeId>,
    evacuating: BTreeMap<ProcessId, Evacuation>,
}

type Out = Vec<Effect<NovaController>>;

impl NovaController {
    /// The controller with every compute service up and reserved hosts disabled. Send
    /// [`ClusterCommand::Boot`] to start the service-down clocks.
    pub fn new(cfg: Arc<OpenStackConfig>) -> NovaController {
        let services = cfg
            .computes
            .iter()
            .map(|h| {
                (
                    *h,
                    Service {
                        up: true,
                        disabled: cfg.reserved_hosts.contains(h),
                        forced_down: false,
                    },
                )
            })
            .collect();
        let location = cfg.vms.iter().map(|v| (v.id, v.home)).collect();
        NovaController {
            cfg,
            services,
            location,
            evacuating: BTreeMap::new(),
        }
    }

    /// The service of `host`.
    pub fn service(&self, host: NodeId) -> Option<Service> {
        self.services.get(&host).copied()
    }

    /// Where Nova has `vm`.
    pub fn location(&self, vm: ProcessId) -> Option<NodeId> {
        self.location.get(&vm).copied()
    }

    fn reply(&self, vm: ProcessId, outcome: EvacuateOutcome, to: Option<NodeId>, out: &mut Out) {
        if let Some(to) = to {
            out.push(Effect::Send {
                to,
                msg: OpenStackMsg::EvacuateResult { vm, outcome },
            });
        }
    }

    /// `nova evacuate`: refused while the VM's host is up; otherwise rebuild it on
    /// `target` or on the scheduler's choice.
    fn evacuate(
        &mut self,
        vm: ProcessId,
        target: Option<NodeId>,
        requester: Option<NodeId>,
        out: &mut Out,
    ) {
        let (Some(spec), Some(from)) = (self.cfg.vm(vm), self.location.get(&vm).copied()) else {
            self.reply(vm, EvacuateOutcome::Failed, requester, out);
            return;
        };
        if self.services.get(&from).is_some_and(|s| !s.is_down()) {
            out.push(Effect::Event(ClusterNotice::EvacuationRefused {
                vm,
                host: from,
            }));
            self.reply(vm, EvacuateOutcome::Refused, requester, out);
            return;
        }
        if !spec.storage.movable() {
            out.push(Effect::Event(ClusterNotice::VmNotRestartable {
                vm,
                reason: NotRestartable::LocalStorage,
            }));
            self.reply(vm, EvacuateOutcome::Failed, requester, out);
            return;
        }
        let usable = |h: &NodeId| {
            *h != from
                && self
                    .services
                    .get(h)
                    .is_some_and(|s| !s.is_down() && !s.disabled)
        };
        let chosen = match target {
            Some(t) => Some(t).filter(usable),
            None => self
                .services
                .keys()
                .filter(|h| usable(h))
                .min_by_key(|h| {
                    let load = self.location.values().filter(|l| *l == *h).count()
                        + self.evacuating.values().filter(|e| e.target == **h).count();
                    (load, **h)
                })
                .copied(),
        };
        let Some(target) = chosen else {
            self.reply(vm, EvacuateOutcome::NoValidHost, requester, out);
            return;
        };
        self.evacuating.insert(vm, Evacuation { target, requester });
        out.push(Effect::Event(ClusterNotice::VmRestartStarted {
            vm,
            host: target,
        }));
        out.push(Effect::Send {
            to: target,
            msg: OpenStackMsg::Rebuild { vm },
        });
    }

    fn on_rebuild_result(&mut self, from: NodeId, vm: ProcessId, ok: bool, out: &mut Out) {
        let Some(e) = self.evacuating.get(&vm).copied() else {
            return;
        };
        if e.target != from {
            return;
        }
        self.evacuating.remove(&vm);
        let outcome = if ok {
            self.location.insert(vm, from);
            out.push(Effect::Event(ClusterNotice::VmRestarted { vm, host: from }));
            EvacuateOutcome::Done(from)
        } else {
            EvacuateOutcome::Failed
        };
        self.reply(vm, outcome, e.requester, out);
    }
}

impl Machine for NovaController {
    type Msg = OpenStackMsg;
    type Timer = ControllerTimer;
    type Command = ClusterCommand;
    type Meta = ();
    type Notice = ClusterNotice;

    fn net(msg: &OpenStackMsg) -> Net {
        msg.net()
    }

    fn handle(&mut self, _now: Time, input: Input<Self>, out: &mut Vec<Effect<Self>>) {
        let down_time = self.cfg.timers.service_down_time;
        match input {
            Input::Command(ClusterCommand::Boot) => {
                for h in self.services.keys() {
                    out.push(Effect::SetTimer {
                        id: ControllerTimer::ServiceDown(*h),
                        after: down_time,
                    });
                }
            }
            Input::Command(ClusterCommand::Evacuate { vm }) => self.evacuate(vm, None, None, out),
            Input::Command(ClusterCommand::ForceDown { host }) => {
                if let Some(s) = self.services.get_mut(&host) {
                    if !s.is_down() {
                        out.push(Effect::Event(ClusterNotice::ServiceDown(host)));
                    }
                    s.forced_down = true;
                }
            }
            Input::Command(_) => {}
            Input::Timer(ControllerTimer::ServiceDown(h)) => {
                if let Some(s) = self.services.get_mut(&h) {
                    if !s.is_down() {
                        out.push(Effect::Event(ClusterNotice::ServiceDown(h)));
                    }
                    s.up = false;
                }
            }
            Input::Recv { from, msg } => match msg {
                OpenStackMsg::ServiceReport => {
                    if let Some(s) = self.services.get_mut(&from) {
                        if !s.up && !s.forced_down {
                            out.push(Effect::Event(ClusterNotice::ServiceUp(from)));
                        }
                        s.up = true;
                        out.push(Effect::SetTimer {
                            id: ControllerTimer::ServiceDown(from),
                            after: down_time,
                        });
                    }
                }
                OpenStackMsg::DisableService { host } => {
                    if let Some(s) = self.services.get_mut(&host) {
                        if !s.disabled {
                            s.disabled = true;
                            out.push(Effect::Event(ClusterNotice::ComputeDisabled(host)));
                        }
                    }
                }
                OpenStackMsg::EnableService { host } => {
                    if let Some(s) = self.services.get_mut(&host) {
                        if s.disabled {
                            s.disabled = false;
                            out.push(Effect::Event(ClusterNotice::ComputeEnabled(host)));
                        }
                    }
                }
                OpenStackMsg::ListInstances { host } => {
                    let vms = self
                        .location
                        .iter()
                        .filter(|(_, h)| **h == host)
                        .map(|(v, _)| *v)
                        .collect();
                    out.push(Effect::Send {
                        to: from,
                        msg: OpenStackMsg::Instances { host, vms },
                    });
                }
                OpenStackMsg::Evacuate { vm, target } => self.evacuate(vm, target, Some(from), out),
                OpenStackMsg::RebuildResult { vm, ok } => self.on_rebuild_result(from, vm, ok, out),
                _ => {}
            },
            _ => {}
        }
    }
}
