//! Protection and restarts: the master's protected list (which VMs run where) and the
//! restart of protected VMs on the live hosts, in restart-priority order, at most
//! `max_concurrent_power_ons` per host at once, retried on the configured schedule.
//!
//! This is the master's bookkeeping only; the power-on itself runs on the chosen host
//! (`vms`).

use std::collections::BTreeSet;
use std::sync::Arc;

use super::watch::HostState;
use super::{FdmAgent, FdmTimer, Out, Role};
use crate::cluster::notice::{ClusterNotice, NotRestartable};
use crate::cluster::vmware::msg::VmwareMsg;
use crate::{Effect, NodeId, ProcessId};

/// Where a VM's restart is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Phase {
    /// Waiting for a host with a free power-on slot.
    Queued,
    /// This host was asked to power it on.
    InFlight(NodeId),
    /// The last attempt failed; waiting for the next one's time.
    Backoff,
    /// No live host can run it; waits for a host that can to come back.
    Blocked,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct Restart {
    /// Attempts started.
    attempts: u8,
    pub(super) phase: Phase,
    /// The next attempt's time has come while this one was in flight.
    due: bool,
}

impl FdmAgent {
    /// `h` reports it runs `running`: protect those VMs there; forget VMs it stopped
    /// running on its own (an operator power-off).
    pub(super) fn apply_inventory(
        &mut self,
        h: NodeId,
        running: &BTreeSet<ProcessId>,
        out: &mut Out,
    ) {
        let Role::Master(m) = &mut self.role else {
            return;
        };
        let mut changed = false;
        let mut settled = Vec::new();
        for v in running {
            if self.cfg.vm(*v).is_none() {
                continue;
            }
            if m.protected.get(v) != Some(&h) {
                m.protected.insert(*v, h);
                changed = true;
            }
            if let Some(r) = m.restarts.get(v) {
                if !matches!(r.phase, Phase::InFlight(_)) {
                    settled.push(*v);
                }
            }
        }
        for v in settled {
            m.restarts.remove(&v);
            out.push(Effect::CancelTimer(FdmTimer::Retry(v)));
        }
        if !m.settling {
            let before = m.protected.len();
            let restarts = &m.restarts;
            m.protected
                .retain(|v, host| *host != h || running.contains(v) || restarts.contains_key(v));
            changed |= m.protected.len() != before;
        }
        if changed {
            self.write_protected(out);
        }
    }

    pub(super) fn write_protected(&self, out: &mut Out) {
        let Role::Master(m) = &self.role else {
            return;
        };
        if m.settling {
            return;
        }
        for ds in self.cfg.mounts_of(self.me) {
            out.push(Effect::Send {
                to: *ds,
                msg: VmwareMsg::DsWriteProtected(m.protected.clone()),
            });
        }
    }

    pub(super) fn queue_restart(&mut self, v: ProcessId) {
        if let Role::Master(m) = &mut self.role {
            m.restarts.entry(v).or_insert(Restart {
                attempts: 0,
                phase: Phase::Queued,
                due: false,
            });
        }
    }

    /// Starts every queued restart that has a host with a free power-on slot, in
    /// restart-priority order.
    pub(super) fn dispatch(&mut self, out: &mut Out) {
        let cfg = Arc::clone(&self.cfg);
        let me = self.me;
        let my_load = self.vms.running().len();
        let Role::Master(m) = &mut self.role else {
            return;
        };
        if m.settling {
            return;
        }
        let mut queued: Vec<(crate::cluster::RestartPriority, ProcessId)> = m
            .restarts
            .iter()
            .filter(|(_, r)| r.phase == Phase::Queued)
            .filter_map(|(v, _)| cfg.vm(*v).map(|s| (s.priority, *v)))
            .collect();
        queued.sort();
        let mut starts = Vec::new();
        for (_, v) in queued {
            let Some(spec) = cfg.vm(v) else {
                continue;
            };
            // Live hosts that can run it: this master and its live slaves.
            let candidates: Vec<NodeId> = core::iter::once(me)
                .chain(
                    m.hosts
                        .iter()
                        .filter(|(_, x)| x.state == HostState::Alive)
                        .map(|(h, _)| *h),
                )
                .filter(|h| cfg.can_run(*h, spec))
                .collect();
            if candidates.is_empty() {
                if let Some(r) = m.restarts.get_mut(&v) {
                    r.phase = Phase::Blocked;
                }
                out.push(Effect::Event(ClusterNotice::VmNotRestartable {
                    vm: v,
                    reason: if spec.storage.movable() {
                        NotRestartable::NoCompatibleHost
                    } else {
                        NotRestartable::LocalStorage
                    },
                }));
                continue;
            }
            let in_flight = |h: NodeId| {
                m.restarts
                    .values()
                    .filter(|r| r.phase == Phase::InFlight(h))
                    .count()
            };
            let target = candidates
                .iter()
                .filter(|h| in_flight(**h) < cfg.max_concurrent_power_ons)
                .min_by_key(|h| {
                    let load = if **h == me {
                        my_load
                    } else {
                        m.hosts.get(h).map_or(0, |x| x.running.len())
                    };
                    (load + in_flight(**h), **h)
                })
                .copied();
            let Some(target) = target else {
                continue;
            };
            let Some(r) = m.restarts.get_mut(&v) else {
                continue;
            };
            r.attempts = r.attempts.saturating_add(1);
            r.phase = Phase::InFlight(target);
            r.due = false;
            let k = usize::from(r.attempts);
            if let (Some(next), Some(this)) =
                (cfg.restart_attempts.get(k), cfg.restart_attempts.get(k - 1))
            {
                out.push(Effect::SetTimer {
                    id: FdmTimer::Retry(v),
                    after: next.saturating_sub(*this),
                });
            }
            out.push(Effect::Event(ClusterNotice::VmRestartStarted {
                vm: v,
                host: target,
            }));
            starts.push((v, target));
        }
        for (v, target) in starts {
            if target == me {
                self.power_on(v, Some(me), out);
            } else {
                out.push(Effect::Send {
                    to: target,
                    msg: VmwareMsg::PowerOn { vm: v },
                });
            }
        }
    }

    pub(super) fn attempt_failed(&mut self, v: ProcessId, out: &mut Out) {
        let max = self.cfg.restart_attempts.len();
        let Role::Master(m) = &mut self.role else {
            return;
        };
        let Some(r) = m.restarts.get_mut(&v) else {
            return;
        };
        out.push(Effect::Event(ClusterNotice::VmRestartFailed {
            vm: v,
            attempt: r.attempts,
        }));
        if usize::from(r.attempts) >= max {
            m.restarts.remove(&v);
            m.protected.remove(&v);
            out.push(Effect::CancelTimer(FdmTimer::Retry(v)));
            out.push(Effect::Event(ClusterNotice::VmNotRestartable {
                vm: v,
                reason: NotRestartable::RetriesExhausted,
            }));
            self.write_protected(out);
        } else if r.due {
            r.due = false;
            r.phase = Phase::Queued;
        } else {
            r.phase = Phase::Backoff;
        }
    }

    pub(super) fn retry(&mut self, v: ProcessId, out: &mut Out) {
        let Role::Master(m) = &mut self.role else {
            return;
        };
        let Some(r) = m.restarts.get_mut(&v) else {
            return;
        };
        match r.phase {
            Phase::Backoff => {
                r.phase = Phase::Queued;
                self.dispatch(out);
            }
            Phase::InFlight(_) => r.due = true,
            Phase::Queued | Phase::Blocked => {}
        }
    }

    pub(super) fn on_power_on_result(
        &mut self,
        from: NodeId,
        v: ProcessId,
        ok: bool,
        out: &mut Out,
    ) {
        let Role::Master(m) = &mut self.role else {
            return;
        };
        if m.restarts.get(&v).map(|r| r.phase) != Some(Phase::InFlight(from)) {
            return;
        }
        if ok {
            m.restarts.remove(&v);
            m.protected.insert(v, from);
            if let Some(view) = m.hosts.get_mut(&from) {
                view.running.insert(v);
            }
            out.push(Effect::CancelTimer(FdmTimer::Retry(v)));
            out.push(Effect::Event(ClusterNotice::VmRestarted {
                vm: v,
                host: from,
            }));
            self.write_protected(out);
        } else {
            self.attempt_failed(v, out);
        }
        self.dispatch(out);
    }
}
