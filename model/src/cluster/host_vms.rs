//! The VMs one host runs, as its agent (FDM, nova-compute) sees them: power-ons and
//! power-offs in progress, and which answer from the driver belongs to which.
//!
//! Both flavours' host machines keep one of these; a VM's boot is an OCF `Start` on the
//! managed process, a power-off a `Stop` (src: model/src/process.rs, the OCF mapping
//! every driver shares).

use std::collections::{BTreeMap, BTreeSet};

use super::notice::ClusterNotice;
use crate::{Effect, Machine, NodeId, OcfAction, OcfExit, ProcessEvent, ProcessId, ProcessRequest};

/// Where a VM is in its life on this host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum VmPhase {
    /// Waiting for something before the boot (VMware: the VM's disk lock).
    Preparing,
    /// `Start` requested; `call` is its call number.
    Booting {
        /// The request's call number.
        call: u64,
    },
    /// Running.
    Running,
    /// `Stop` requested.
    Stopping {
        /// The request's call number.
        call: u64,
    },
}

/// One VM on this host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Entry {
    phase: VmPhase,
    /// Who asked for the power-on and wants to hear how it went (the FDM master, the Nova
    /// controller), if anyone.
    requester: Option<NodeId>,
}

/// What the driver's answer meant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VmOutcome {
    /// The VM booted.
    Started {
        /// The VM.
        vm: ProcessId,
        /// Who asked.
        requester: Option<NodeId>,
    },
    /// The boot failed; the VM is not on this host any more.
    StartFailed {
        /// The VM.
        vm: ProcessId,
        /// Who asked.
        requester: Option<NodeId>,
    },
    /// The VM is powered off.
    Stopped {
        /// The VM.
        vm: ProcessId,
    },
}

/// The VMs of one host.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct HostVms {
    vms: BTreeMap<ProcessId, Entry>,
    /// The next call number; answers to older calls are recognised and dropped.
    next_call: u64,
}

impl HostVms {
    /// The VMs that run (booted and not yet powered off).
    pub(crate) fn running(&self) -> BTreeSet<ProcessId> {
        self.vms
            .iter()
            .filter(|(_, e)| matches!(e.phase, VmPhase::Running | VmPhase::Stopping { .. }))
            .map(|(vm, _)| *vm)
            .collect()
    }

    /// The phase of `vm`, if it is on this host.
    pub(crate) fn phase(&self, vm: ProcessId) -> Option<VmPhase> {
        self.vms.get(&vm).map(|e| e.phase)
    }

    /// Notes a power-on that first has to prepare (lock the disk).
    pub(crate) fn prepare(&mut self, vm: ProcessId, requester: Option<NodeId>) {
        self.vms.insert(
            vm,
            Entry {
                phase: VmPhase::Preparing,
                requester,
            },
        );
    }

    /// Boots `vm` on `host` (keeping the requester noted by [`HostVms::prepare`], if
    /// any), announcing it with [`ClusterNotice::VmStarting`].
    pub(crate) fn boot<M: Machine<Notice = ClusterNotice>>(
        &mut self,
        host: NodeId,
        vm: ProcessId,
        requester: Option<NodeId>,
        out: &mut Vec<Effect<M>>,
    ) {
        let call = self.take_call();
        let requester = requester.or_else(|| self.vms.get(&vm).and_then(|e| e.requester));
        self.vms.insert(
            vm,
            Entry {
                phase: VmPhase::Booting { call },
                requester,
            },
        );
        out.push(Effect::Event(ClusterNotice::VmStarting { vm, host }));
        out.push(Effect::Process(ProcessRequest {
            process: vm,
            action: OcfAction::Start,
            call,
        }));
    }

    /// Forgets a power-on that could not proceed; returns its requester.
    pub(crate) fn abandon(&mut self, vm: ProcessId) -> Option<NodeId> {
        self.vms.remove(&vm).and_then(|e| e.requester)
    }

    /// Powers `vm` off on `host` if it runs, announcing it with
    /// [`ClusterNotice::VmStopping`]; whether a `Stop` was requested.
    pub(crate) fn stop<M: Machine<Notice = ClusterNotice>>(
        &mut self,
        host: NodeId,
        vm: ProcessId,
        out: &mut Vec<Effect<M>>,
    ) -> bool {
        if self.phase(vm) != Some(VmPhase::Running) {
            return false;
        }
        let call = self.take_call();
        if let Some(e) = self.vms.get_mut(&vm) {
            e.phase = VmPhase::Stopping { call };
        }
        out.push(Effect::Event(ClusterNotice::VmStopping { vm, host }));
        out.push(Effect::Process(ProcessRequest {
            process: vm,
            action: OcfAction::Stop,
            call,
        }));
        true
    }

    /// Applies the driver's answer; `None` for an answer to an older call or another
    /// action (a failed stop leaves the VM running, as a power-off that did not happen).
    pub(crate) fn on_event(&mut self, ev: ProcessEvent) -> Option<VmOutcome> {
        let entry = *self.vms.get(&ev.process)?;
        match (entry.phase, ev.action) {
            (VmPhase::Booting { call }, OcfAction::Start) if call == ev.call => {
                if ev.exit == OcfExit::Success {
                    if let Some(e) = self.vms.get_mut(&ev.process) {
                        e.phase = VmPhase::Running;
                    }
                    Some(VmOutcome::Started {
                        vm: ev.process,
                        requester: entry.requester,
                    })
                } else {
                    self.vms.remove(&ev.process);
                    Some(VmOutcome::StartFailed {
                        vm: ev.process,
                        requester: entry.requester,
                    })
                }
            }
            (VmPhase::Stopping { call }, OcfAction::Stop) if call == ev.call => {
                if ev.exit == OcfExit::Success || ev.exit == OcfExit::NotRunning {
                    self.vms.remove(&ev.process);
                    Some(VmOutcome::Stopped { vm: ev.process })
                } else {
                    if let Some(e) = self.vms.get_mut(&ev.process) {
                        e.phase = VmPhase::Running;
                    }
                    None
                }
            }
            _ => None,
        }
    }

    fn take_call(&mut self) -> u64 {
        self.next_call += 1;
        self.next_call
    }
}
