//! The VMs on this host: a power-on (lock the VM's files on its datastore, then boot
//! it), the process events of its VMs, and the answer to whoever asked for the power-on.
//!
//! Any agent runs these, whatever its role: for the master (on its own host or a slave's)
//! and for an operator's `PowerOn`.

use super::{FdmAgent, Out};
use crate::cluster::host_vms::{VmOutcome, VmPhase};
use crate::cluster::notice::ClusterNotice;
use crate::cluster::vmware::msg::VmwareMsg;
use crate::{Effect, NodeId, ProcessId};

impl FdmAgent {
    /// Powers `vm` on here: lock its files on its datastore, then boot it.
    pub(super) fn power_on(&mut self, vm: ProcessId, requester: Option<NodeId>, out: &mut Out) {
        let Some(spec) = self.cfg.vm(vm) else {
            self.report(vm, false, requester, out);
            return;
        };
        match self.vms.phase(vm) {
            Some(VmPhase::Running) => {
                self.report(vm, true, requester, out);
                return;
            }
            Some(VmPhase::Stopping { .. }) => {
                self.report(vm, false, requester, out);
                return;
            }
            // A power-on already under way answers when it ends.
            Some(VmPhase::Preparing | VmPhase::Booting { .. }) => return,
            None => {}
        }
        if !self.cfg.can_run(self.me, spec) {
            self.report(vm, false, requester, out);
            return;
        }
        match self.cfg.datastore_of(spec) {
            None => self.vms.boot(self.me, vm, requester, out),
            Some(ds) => {
                self.vms.prepare(vm, requester);
                out.push(Effect::Send {
                    to: ds,
                    msg: VmwareMsg::DsLock { vm },
                });
            }
        }
    }

    fn report(&mut self, vm: ProcessId, ok: bool, requester: Option<NodeId>, out: &mut Out) {
        match requester {
            None => {}
            Some(r) if r == self.me => self.on_power_on_result(self.me, vm, ok, out),
            Some(r) => out.push(Effect::Send {
                to: r,
                msg: VmwareMsg::PowerOnResult { vm, ok },
            }),
        }
    }

    fn unlock(&self, vm: ProcessId, out: &mut Out) {
        if let Some(ds) = self.cfg.vm(vm).and_then(|s| self.cfg.datastore_of(s)) {
            out.push(Effect::Send {
                to: ds,
                msg: VmwareMsg::DsUnlock { vm },
            });
        }
    }

    pub(super) fn on_lock_reply(&mut self, vm: ProcessId, granted: bool, out: &mut Out) {
        if self.vms.phase(vm) != Some(VmPhase::Preparing) {
            return;
        }
        if granted {
            self.vms.boot(self.me, vm, None, out);
        } else {
            let requester = self.vms.abandon(vm);
            self.report(vm, false, requester, out);
        }
    }

    /// Another host holds `vm`'s disk lock now: the instance here powers off (the
    /// datastore's `DsLockLost`).
    pub(super) fn on_lock_lost(&mut self, vm: ProcessId, out: &mut Out) {
        if self.vms.phase(vm) == Some(VmPhase::Running) {
            out.push(Effect::Event(ClusterNotice::LockLost { vm, host: self.me }));
            self.vms.stop(self.me, vm, out);
        }
    }

    pub(super) fn on_process(&mut self, ev: crate::ProcessEvent, out: &mut Out) {
        match self.vms.on_event(ev) {
            Some(VmOutcome::Started { vm, requester }) => {
                out.push(Effect::Event(ClusterNotice::VmPoweredOn {
                    vm,
                    host: self.me,
                }));
                self.write_file(out);
                self.report(vm, true, requester, out);
            }
            Some(VmOutcome::StartFailed { vm, requester }) => {
                self.unlock(vm, out);
                self.report(vm, false, requester, out);
            }
            Some(VmOutcome::Stopped { vm }) => {
                out.push(Effect::Event(ClusterNotice::VmPoweredOff {
                    vm,
                    host: self.me,
                }));
                self.unlock(vm, out);
                self.write_file(out);
            }
            None => {}
        }
    }
}
