//! Isolation: a master that hears no other host pings its isolation address and,
//! without an answer, declares itself isolated, flags its poweron file and, after
//! `isolationPolicyDelaySec`, applies the isolation response.
//!
//! This is how a host tells its own isolation from a partition or the death of the
//! others; it only concerns this host, whereas the master's watch (`watch`) judges the
//! others.

use super::watch::HostState;
use super::{FdmAgent, FdmTimer, Out, Role};
use crate::Effect;
use crate::cluster::notice::{ClusterNotice, IsolationAction};
use crate::cluster::vmware::msg::VmwareMsg;

impl FdmAgent {
    /// Clears the isolation flag if this host was isolated.
    pub(super) fn leave_isolation(&mut self, out: &mut Out) {
        if let Role::Isolated { .. } = self.role {
            out.push(Effect::CancelTimer(FdmTimer::IsolationResponse));
        }
        if self.isolated_flag {
            self.isolated_flag = false;
            self.write_file(out);
        }
    }

    /// A master that hears no other host pings its isolation address.
    pub(super) fn maybe_check_isolation(&mut self, out: &mut Out) {
        let Role::Master(m) = &self.role else {
            return;
        };
        let Some(gw) = self.cfg.isolation_address else {
            return;
        };
        if self.iso_check.is_some()
            || m.hosts.is_empty()
            || m.hosts.values().any(|v| v.state == HostState::Alive)
        {
            return;
        }
        self.iso_check = Some(false);
        out.push(Effect::Send {
            to: gw,
            msg: VmwareMsg::Ping,
        });
        out.push(Effect::SetTimer {
            id: FdmTimer::IsolationCheck,
            after: self.cfg.timers.isolation_ping,
        });
    }

    pub(super) fn declare_isolated(&mut self, out: &mut Out) {
        self.leave_master_timers(out);
        self.iso_check = None;
        self.role = Role::Isolated { responded: false };
        out.push(Effect::Event(ClusterNotice::HostIsolated(self.me)));
        self.isolated_flag = true;
        self.write_file(out);
        out.push(Effect::SetTimer {
            id: FdmTimer::IsolationResponse,
            after: self.cfg.timers.isolation_policy_delay,
        });
    }

    pub(super) fn isolation_response(&mut self, out: &mut Out) {
        let Role::Isolated { responded } = &mut self.role else {
            return;
        };
        if *responded {
            return;
        }
        *responded = true;
        let action = self.cfg.isolation_response;
        out.push(Effect::Event(ClusterNotice::IsolationResponse {
            host: self.me,
            action,
        }));
        if action != IsolationAction::LeavePoweredOn {
            for vm in self.vms.running() {
                self.vms.stop(self.me, vm, out);
            }
        }
    }
}
