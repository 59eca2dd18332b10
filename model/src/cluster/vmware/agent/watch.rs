//! The master's watch over the other hosts: their network heartbeats, datastore
//! heartbeats, poweron files and pings tell a failed host from a partitioned or an
//! isolated one (`HostView`), and a new master's first look at them (`settle`).
//!
//! The outcome of the watch is what starts restarts (`restart`): a failed host's
//! protected VMs, and those an isolated host has powered off.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::restart::Phase;
use super::{FdmAgent, FdmTimer, HostStatus, Out, Role};
use crate::cluster::notice::ClusterNotice;
use crate::cluster::vmware::msg::{PowerOnFile, VmwareMsg};
use crate::{Effect, NodeId, ProcessId};

/// How far the master's watch over a silent host has got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Stage {
    /// A new master has not heard it yet (until `Settle`).
    Settling,
    /// Silent for `watch_datastores_after`: its datastore heartbeats are watched.
    WatchingDs,
    /// Silent for `unreachable_after`: pinged.
    Pinging,
    /// The ping went unanswered: the rest of the datastore window.
    DsWindow,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum HostState {
    Alive,
    Silent(Stage),
    /// Partitioned or isolated (see `HostView::isolated`).
    Unreachable,
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct HostView {
    pub(super) state: HostState,
    /// Its VMs, from its heartbeats (or its poweron file while unreachable).
    pub(super) running: BTreeSet<ProcessId>,
    /// A datastore heartbeat was seen in the current window.
    ds_seen: bool,
    /// It answered a ping in the current window.
    pub(super) pong: bool,
    /// Its poweron file carries the isolation flag.
    isolated: bool,
}

impl HostView {
    pub(super) fn settling() -> HostView {
        HostView {
            state: HostState::Silent(Stage::Settling),
            running: BTreeSet::new(),
            ds_seen: false,
            pong: false,
            isolated: false,
        }
    }

    pub(super) fn status(&self) -> HostStatus {
        match self.state {
            HostState::Alive => HostStatus::Alive,
            HostState::Silent(_) => HostStatus::Silent,
            HostState::Unreachable if self.isolated => HostStatus::Isolated,
            HostState::Unreachable => HostStatus::Partitioned,
            HostState::Failed => HostStatus::Failed,
        }
    }
}

impl FdmAgent {
    pub(super) fn watch(&mut self, h: NodeId, out: &mut Out) {
        let t = self.cfg.timers;
        let has_hb_ds = !self.readable_hb_datastores(h).is_empty();
        let Role::Master(m) = &mut self.role else {
            return;
        };
        let Some(view) = m.hosts.get_mut(&h) else {
            return;
        };
        let mut check_isolation = false;
        let mut fail = false;
        let mut classify = false;
        match view.state {
            HostState::Alive => {
                view.state = HostState::Silent(Stage::WatchingDs);
                view.ds_seen = false;
                view.pong = false;
                out.push(Effect::SetTimer {
                    id: FdmTimer::Watch(h),
                    after: t.unreachable_after.saturating_sub(t.watch_datastores_after),
                });
                check_isolation = true;
            }
            HostState::Silent(Stage::WatchingDs) => {
                view.state = HostState::Silent(Stage::Pinging);
                out.push(Effect::SetTimer {
                    id: FdmTimer::Watch(h),
                    after: t.ping,
                });
                out.push(Effect::Send {
                    to: h,
                    msg: VmwareMsg::Ping,
                });
            }
            HostState::Silent(Stage::Pinging) => {
                if view.pong {
                    restart_watch(view, h, t.unreachable_after, t.watch_datastores_after, out);
                } else if !has_hb_ds {
                    fail = true;
                } else {
                    view.state = HostState::Silent(Stage::DsWindow);
                    let end = t.watch_datastores_after + t.datastore_window;
                    out.push(Effect::SetTimer {
                        id: FdmTimer::Watch(h),
                        after: end.saturating_sub(t.unreachable_after + t.ping),
                    });
                }
            }
            HostState::Silent(Stage::DsWindow) => {
                if view.pong {
                    restart_watch(view, h, t.unreachable_after, t.watch_datastores_after, out);
                } else if view.ds_seen {
                    classify = true;
                } else {
                    fail = true;
                }
            }
            HostState::Unreachable => {
                if view.ds_seen {
                    view.ds_seen = false;
                    out.push(Effect::SetTimer {
                        id: FdmTimer::Watch(h),
                        after: t.datastore_window,
                    });
                } else {
                    fail = true;
                }
            }
            HostState::Silent(Stage::Settling) | HostState::Failed => {}
        }
        if check_isolation {
            // Watch its datastore heartbeats from now on.
            self.send_to_hb_datastores(h, &VmwareMsg::DsWatch { host: h }, out);
        }
        if fail {
            self.fail_host(h, out);
        } else if classify {
            self.mark_unreachable(h, out);
        }
        if check_isolation {
            self.maybe_check_isolation(out);
        }
    }

    /// `h` is alive on its datastores but silent on the network: partitioned or
    /// isolated.
    fn mark_unreachable(&mut self, h: NodeId, out: &mut Out) {
        let window = self.cfg.timers.datastore_window;
        let Role::Master(m) = &mut self.role else {
            return;
        };
        let Some(view) = m.hosts.get_mut(&h) else {
            return;
        };
        view.state = HostState::Unreachable;
        view.ds_seen = false;
        view.pong = false;
        out.push(Effect::Event(if view.isolated {
            ClusterNotice::HostIsolated(h)
        } else {
            ClusterNotice::HostPartitioned(h)
        }));
        out.push(Effect::SetTimer {
            id: FdmTimer::Watch(h),
            after: window,
        });
        self.restart_powered_off(h, out);
    }

    /// `h` is dead: restart its protected VMs elsewhere.
    fn fail_host(&mut self, h: NodeId, out: &mut Out) {
        let Role::Master(m) = &mut self.role else {
            return;
        };
        let Some(view) = m.hosts.get_mut(&h) else {
            return;
        };
        view.state = HostState::Failed;
        view.running.clear();
        view.ds_seen = false;
        view.pong = false;
        out.push(Effect::Event(ClusterNotice::HostFailed(h)));
        let in_flight: Vec<ProcessId> = m
            .restarts
            .iter()
            .filter(|(_, r)| r.phase == Phase::InFlight(h))
            .map(|(v, _)| *v)
            .collect();
        let lost: Vec<ProcessId> = m
            .protected
            .iter()
            .filter(|(_, host)| **host == h)
            .map(|(v, _)| *v)
            .collect();
        self.send_to_hb_datastores(h, &VmwareMsg::DsUnwatch { host: h }, out);
        for v in in_flight {
            self.attempt_failed(v, out);
        }
        for v in lost {
            self.queue_restart(v);
        }
        self.dispatch(out);
    }

    /// Restarts the protected VMs an isolated host has powered off (its poweron file no
    /// longer lists them).
    fn restart_powered_off(&mut self, h: NodeId, out: &mut Out) {
        let Role::Master(m) = &self.role else {
            return;
        };
        let Some(view) = m.hosts.get(&h) else {
            return;
        };
        if !(view.state == HostState::Unreachable && view.isolated) {
            return;
        }
        let off: Vec<ProcessId> = m
            .protected
            .iter()
            .filter(|(v, host)| **host == h && !view.running.contains(v))
            .map(|(v, _)| *v)
            .collect();
        if off.is_empty() {
            return;
        }
        for v in off {
            self.queue_restart(v);
        }
        self.dispatch(out);
    }

    pub(super) fn settle(&mut self, out: &mut Out) {
        let t = self.cfg.timers;
        let Role::Master(m) = &mut self.role else {
            return;
        };
        m.settling = false;
        let mut failed = Vec::new();
        let mut unreachable = Vec::new();
        for (h, view) in m.hosts.iter_mut() {
            if view.state != HostState::Silent(Stage::Settling) {
                continue;
            }
            if view.pong {
                restart_watch(view, *h, t.unreachable_after, t.watch_datastores_after, out);
            } else if view.ds_seen {
                unreachable.push(*h);
            } else {
                failed.push(*h);
            }
        }
        // Protected VMs that should run on a live host but do not (DD: "restarts all VMs
        // on the protected list that are not running").
        let mine = self.vms.running();
        let missing: Vec<ProcessId> = m
            .protected
            .iter()
            .filter(|(v, h)| {
                if **h == self.me {
                    !mine.contains(v)
                } else {
                    m.hosts
                        .get(h)
                        .is_some_and(|x| x.state == HostState::Alive && !x.running.contains(v))
                }
            })
            .map(|(v, _)| *v)
            .collect();
        for v in missing {
            self.queue_restart(v);
        }
        for h in unreachable {
            self.mark_unreachable(h, out);
        }
        for h in failed {
            self.fail_host(h, out);
        }
        self.write_protected(out);
        self.dispatch(out);
    }

    pub(super) fn on_slave_heartbeat(
        &mut self,
        h: NodeId,
        running: BTreeSet<ProcessId>,
        out: &mut Out,
    ) {
        let cfg = Arc::clone(&self.cfg);
        let readable = self.readable_hb_datastores(h);
        let Role::Master(m) = &mut self.role else {
            return;
        };
        let Some(view) = m.hosts.get_mut(&h) else {
            return;
        };
        if view.state != HostState::Alive {
            if matches!(view.state, HostState::Failed | HostState::Unreachable) {
                out.push(Effect::Event(ClusterNotice::HostRecovered(h)));
            }
            for ds in readable {
                out.push(Effect::Send {
                    to: ds,
                    msg: VmwareMsg::DsUnwatch { host: h },
                });
            }
        }
        view.state = HostState::Alive;
        view.ds_seen = false;
        view.pong = false;
        view.isolated = false;
        view.running = running.clone();
        out.push(Effect::SetTimer {
            id: FdmTimer::Watch(h),
            after: cfg.timers.watch_datastores_after,
        });
        let mut unblocked = false;
        for (v, r) in m.restarts.iter_mut() {
            if r.phase == Phase::Blocked && cfg.vm(*v).is_some_and(|s| cfg.can_run(h, s)) {
                r.phase = Phase::Queued;
                unblocked = true;
            }
        }
        self.apply_inventory(h, &running, out);
        if unblocked {
            self.dispatch(out);
        }
    }

    pub(super) fn on_ds_status(
        &mut self,
        host: NodeId,
        updated: bool,
        file: Option<PowerOnFile>,
        out: &mut Out,
    ) {
        let Role::Master(m) = &mut self.role else {
            return;
        };
        let Some(view) = m.hosts.get_mut(&host) else {
            return;
        };
        if matches!(view.state, HostState::Alive | HostState::Failed) {
            return;
        }
        view.ds_seen |= updated;
        let Some(file) = file else {
            return;
        };
        view.running = file.running;
        if view.state == HostState::Unreachable && view.isolated != file.isolated {
            out.push(Effect::Event(if file.isolated {
                ClusterNotice::HostIsolated(host)
            } else {
                ClusterNotice::HostPartitioned(host)
            }));
        }
        view.isolated = file.isolated;
        self.restart_powered_off(host, out);
    }
}

/// A silent host answered a ping: it is not dead (its agent may be); watch it again from
/// the start of the datastore window.
fn restart_watch(
    view: &mut HostView,
    h: NodeId,
    unreachable_after: core::time::Duration,
    watch_after: core::time::Duration,
    out: &mut Out,
) {
    view.state = HostState::Silent(Stage::WatchingDs);
    view.pong = false;
    view.ds_seen = false;
    out.push(Effect::SetTimer {
        id: FdmTimer::Watch(h),
        after: unreachable_after.saturating_sub(watch_after),
    });
}
