//! The FDM agent: vSphere HA's per-host agent, master or slave.
//!
//! One agent per host. Agents elect a master (most datastores wins, ties go to the
//! highest host id; each network partition elects its own); the master exchanges network
//! heartbeats with the slaves every second, tells a failed slave from an isolated or a
//! partitioned one by its datastore heartbeats, its poweron file and pings, and restarts
//! the protected VMs of failed hosts on the others, in restart-priority order, at most 32
//! power-ons per host at once, retrying at T0, +2, +6, +14 and +30 min. A slave that
//! hears no master elects itself, pings its isolation address and, without an answer,
//! declares itself isolated and applies the isolation response (src: FACTS
//! "VMware-style cluster HA" (DD); `docs/sections/cluster.md` has the timelines).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::config::VmwareConfig;
use super::msg::{PowerOnFile, VmwareMsg};
use crate::cluster::ClusterCommand;
use crate::cluster::host_vms::{HostVms, VmOutcome, VmPhase};
use crate::cluster::notice::{ClusterNotice, IsolationAction, NotRestartable};
use crate::{Effect, Input, Machine, Net, NodeId, ProcessId, Time};

/// The agent's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FdmTimer {
    /// Every `heartbeat`: network and datastore heartbeats, election messages, the
    /// master's datastore reads and pings.
    Tick,
    /// A slave's master has been silent for `master_silence`.
    MasterSilent,
    /// The election is over.
    ElectionEnd,
    /// The next step of the master's watch over a host.
    Watch(NodeId),
    /// A new master has collected the slaves' state.
    Settle,
    /// The isolation address has had `isolation_ping` to answer.
    IsolationCheck,
    /// `isolationPolicyDelaySec` has passed since this host declared itself isolated.
    IsolationResponse,
    /// The next restart attempt of a VM is due.
    Retry(ProcessId),
}

/// The agent's role, as the world sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AgentRole {
    /// Not booted.
    Down,
    /// Electing a master.
    Election,
    /// Slave of this master.
    Slave(NodeId),
    /// Master (of its partition).
    Master,
    /// Isolated: no network heartbeats and no answer from the isolation address.
    Isolated,
}

/// What the master knows of another host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HostStatus {
    /// Its network heartbeats arrive.
    Alive,
    /// Silent, not classified yet.
    Silent,
    /// Silent on the network, alive on its datastores, no isolation flag.
    Partitioned,
    /// Silent on the network, alive on its datastores, isolation flag set.
    Isolated,
    /// Dead: its VMs are restarted elsewhere.
    Failed,
}

/// How far the master's watch over a silent host has got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Stage {
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
enum HostState {
    Alive,
    Silent(Stage),
    /// Partitioned or isolated (see `HostView::isolated`).
    Unreachable,
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct HostView {
    state: HostState,
    /// Its VMs, from its heartbeats (or its poweron file while unreachable).
    running: BTreeSet<ProcessId>,
    /// A datastore heartbeat was seen in the current window.
    ds_seen: bool,
    /// It answered a ping in the current window.
    pong: bool,
    /// Its poweron file carries the isolation flag.
    isolated: bool,
}

impl HostView {
    fn settling() -> HostView {
        HostView {
            state: HostState::Silent(Stage::Settling),
            running: BTreeSet::new(),
            ds_seen: false,
            pong: false,
            isolated: false,
        }
    }

    fn status(&self) -> HostStatus {
        match self.state {
            HostState::Alive => HostStatus::Alive,
            HostState::Silent(_) => HostStatus::Silent,
            HostState::Unreachable if self.isolated => HostStatus::Isolated,
            HostState::Unreachable => HostStatus::Partitioned,
            HostState::Failed => HostStatus::Failed,
        }
    }
}

/// Where a VM's restart is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Phase {
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
struct Restart {
    /// Attempts started.
    attempts: u8,
    phase: Phase,
    /// The next attempt's time has come while this one was in flight.
    due: bool,
}

/// The master's state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct MasterState {
    hosts: BTreeMap<NodeId, HostView>,
    /// Protected VMs and the host each runs (or last ran) on.
    protected: BTreeMap<ProcessId, NodeId>,
    restarts: BTreeMap<ProcessId, Restart>,
    /// Collecting state after the election: no restarts, no protected-list writes.
    settling: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Role {
    Down,
    Election {
        /// The best candidate heard so far (score, id), possibly this agent.
        best: (u8, NodeId),
        /// Another candidate was heard.
        heard: bool,
    },
    Slave {
        master: NodeId,
    },
    Master(Box<MasterState>),
    Isolated {
        responded: bool,
    },
}

/// One host's FDM agent.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FdmAgent {
    cfg: Arc<VmwareConfig>,
    me: NodeId,
    role: Role,
    vms: HostVms,
    /// The isolation flag as last written to the poweron file.
    isolated_flag: bool,
    /// While pinging the isolation address: whether it answered.
    iso_check: Option<bool>,
}

type Out = Vec<Effect<FdmAgent>>;

impl FdmAgent {
    /// The agent of host `me`, not booted (send [`ClusterCommand::Boot`]). The
    /// configuration should have passed [`VmwareConfig::validate`].
    pub fn new(cfg: Arc<VmwareConfig>, me: NodeId) -> FdmAgent {
        FdmAgent {
            cfg,
            me,
            role: Role::Down,
            vms: HostVms::default(),
            isolated_flag: false,
            iso_check: None,
        }
    }

    /// This host.
    pub fn id(&self) -> NodeId {
        self.me
    }

    /// The agent's role.
    pub fn role(&self) -> AgentRole {
        match &self.role {
            Role::Down => AgentRole::Down,
            Role::Election { .. } => AgentRole::Election,
            Role::Slave { master } => AgentRole::Slave(*master),
            Role::Master(_) => AgentRole::Master,
            Role::Isolated { .. } => AgentRole::Isolated,
        }
    }

    /// The VMs running on this host.
    pub fn running(&self) -> BTreeSet<ProcessId> {
        self.vms.running()
    }

    /// As master: what it knows of `host`.
    pub fn host_status(&self, host: NodeId) -> Option<HostStatus> {
        match &self.role {
            Role::Master(m) => m.hosts.get(&host).map(HostView::status),
            _ => None,
        }
    }

    /// As master: the protected VMs and their hosts.
    pub fn protected(&self) -> Option<&BTreeMap<ProcessId, NodeId>> {
        match &self.role {
            Role::Master(m) => Some(&m.protected),
            _ => None,
        }
    }

    /// As master: VMs with a restart not yet finished.
    pub fn pending_restarts(&self) -> BTreeSet<ProcessId> {
        match &self.role {
            Role::Master(m) => m.restarts.keys().copied().collect(),
            _ => BTreeSet::new(),
        }
    }

    fn others(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.cfg
            .hosts
            .iter()
            .copied()
            .filter(move |h| *h != self.me)
    }

    /// The heartbeat datastores of `host` that this host can read.
    fn readable_hb_datastores(&self, host: NodeId) -> Vec<NodeId> {
        let mine = self.cfg.mounts_of(self.me);
        self.cfg
            .heartbeat_datastores_of(host)
            .iter()
            .copied()
            .filter(|d| mine.contains(d))
            .collect()
    }

    fn write_file(&self, out: &mut Out) {
        let file = PowerOnFile {
            running: self.vms.running(),
            isolated: self.isolated_flag,
        };
        for ds in self.cfg.heartbeat_datastores_of(self.me) {
            out.push(Effect::Send {
                to: *ds,
                msg: VmwareMsg::DsPowerOnFile(file.clone()),
            });
        }
    }

    fn send_to_hb_datastores(&self, host: NodeId, msg: &VmwareMsg, out: &mut Out) {
        for ds in self.readable_hb_datastores(host) {
            out.push(Effect::Send {
                to: ds,
                msg: msg.clone(),
            });
        }
    }

    // ---- roles ------------------------------------------------------------------

    fn boot(&mut self, out: &mut Out) {
        let t = self.cfg.timers;
        out.push(Effect::SetTimer {
            id: FdmTimer::Tick,
            after: t.heartbeat,
        });
        self.heartbeat_datastores(out);
        self.write_file(out);
        self.start_election(out);
    }

    fn start_election(&mut self, out: &mut Out) {
        self.leave_master_timers(out);
        self.leave_isolation(out);
        self.iso_check = None;
        out.push(Effect::CancelTimer(FdmTimer::MasterSilent));
        self.role = Role::Election {
            best: (self.cfg.score(self.me), self.me),
            heard: false,
        };
        out.push(Effect::Event(ClusterNotice::ElectionStarted));
        out.push(Effect::SetTimer {
            id: FdmTimer::ElectionEnd,
            after: self.cfg.timers.election,
        });
        self.send_election(out);
    }

    fn send_election(&self, out: &mut Out) {
        let datastores = self.cfg.score(self.me);
        for h in self.others() {
            out.push(Effect::Send {
                to: h,
                msg: VmwareMsg::Election { datastores },
            });
        }
    }

    fn become_slave(&mut self, master: NodeId, out: &mut Out) {
        self.leave_master_timers(out);
        self.leave_isolation(out);
        self.iso_check = None;
        out.push(Effect::CancelTimer(FdmTimer::ElectionEnd));
        self.role = Role::Slave { master };
        out.push(Effect::SetTimer {
            id: FdmTimer::MasterSilent,
            after: self.cfg.timers.master_silence,
        });
        out.push(Effect::Send {
            to: master,
            msg: VmwareMsg::SlaveHeartbeat {
                running: self.vms.running(),
            },
        });
    }

    fn become_master(&mut self, alone: bool, out: &mut Out) {
        self.leave_isolation(out);
        out.push(Effect::CancelTimer(FdmTimer::MasterSilent));
        let hosts = self.others().map(|h| (h, HostView::settling())).collect();
        self.role = Role::Master(Box::new(MasterState {
            hosts,
            protected: BTreeMap::new(),
            restarts: BTreeMap::new(),
            settling: true,
        }));
        out.push(Effect::Event(ClusterNotice::MasterElected(self.me)));
        for ds in self.cfg.mounts_of(self.me) {
            out.push(Effect::Send {
                to: *ds,
                msg: VmwareMsg::DsReadProtected,
            });
        }
        let others: Vec<NodeId> = self.others().collect();
        for h in &others {
            self.send_to_hb_datastores(*h, &VmwareMsg::DsWatch { host: *h }, out);
        }
        out.push(Effect::SetTimer {
            id: FdmTimer::Settle,
            after: self.cfg.timers.master_settle,
        });
        self.send_master_heartbeat(out);
        if alone {
            self.maybe_check_isolation(out);
        }
    }

    /// Cancels the master's timers (it is leaving the role).
    fn leave_master_timers(&mut self, out: &mut Out) {
        if let Role::Master(m) = &self.role {
            out.push(Effect::CancelTimer(FdmTimer::Settle));
            for h in m.hosts.keys() {
                out.push(Effect::CancelTimer(FdmTimer::Watch(*h)));
            }
            for v in m.restarts.keys() {
                out.push(Effect::CancelTimer(FdmTimer::Retry(*v)));
            }
        }
    }

    /// Clears the isolation flag if this host was isolated.
    fn leave_isolation(&mut self, out: &mut Out) {
        if let Role::Isolated { .. } = self.role {
            out.push(Effect::CancelTimer(FdmTimer::IsolationResponse));
        }
        if self.isolated_flag {
            self.isolated_flag = false;
            self.write_file(out);
        }
    }

    fn send_master_heartbeat(&self, out: &mut Out) {
        let datastores = self.cfg.score(self.me);
        for h in self.others() {
            out.push(Effect::Send {
                to: h,
                msg: VmwareMsg::MasterHeartbeat { datastores },
            });
        }
    }

    fn heartbeat_datastores(&self, out: &mut Out) {
        for ds in self.cfg.mounts_of(self.me) {
            out.push(Effect::Send {
                to: *ds,
                msg: VmwareMsg::DsHeartbeat,
            });
        }
    }

    /// A master that hears no other host pings its isolation address.
    fn maybe_check_isolation(&mut self, out: &mut Out) {
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

    fn declare_isolated(&mut self, out: &mut Out) {
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

    fn isolation_response(&mut self, out: &mut Out) {
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

    // ---- the tick -----------------------------------------------------------------

    fn tick(&mut self, out: &mut Out) {
        out.push(Effect::SetTimer {
            id: FdmTimer::Tick,
            after: self.cfg.timers.heartbeat,
        });
        self.heartbeat_datastores(out);
        match &self.role {
            Role::Down => {}
            Role::Election { .. } => self.send_election(out),
            Role::Slave { master } => out.push(Effect::Send {
                to: *master,
                msg: VmwareMsg::SlaveHeartbeat {
                    running: self.vms.running(),
                },
            }),
            Role::Master(m) => {
                self.send_master_heartbeat(out);
                let mut reads = Vec::new();
                let mut pings = Vec::new();
                for (h, v) in &m.hosts {
                    match v.state {
                        HostState::Silent(stage) => {
                            reads.push(*h);
                            if matches!(stage, Stage::Pinging | Stage::Settling) {
                                pings.push(*h);
                            }
                        }
                        HostState::Unreachable => reads.push(*h),
                        HostState::Alive | HostState::Failed => {}
                    }
                }
                for h in reads {
                    self.send_to_hb_datastores(h, &VmwareMsg::DsRead { host: h }, out);
                }
                for h in pings {
                    out.push(Effect::Send {
                        to: h,
                        msg: VmwareMsg::Ping,
                    });
                }
                let mine = self.vms.running();
                self.apply_inventory(self.me, &mine, out);
            }
            Role::Isolated { .. } => {}
        }
        if self.iso_check.is_some() || matches!(self.role, Role::Isolated { .. }) {
            if let Some(gw) = self.cfg.isolation_address {
                out.push(Effect::Send {
                    to: gw,
                    msg: VmwareMsg::Ping,
                });
            }
        }
    }

    // ---- the master's watch over hosts --------------------------------------------------

    fn watch(&mut self, h: NodeId, out: &mut Out) {
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

    fn settle(&mut self, out: &mut Out) {
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

    // ---- protection and restarts --------------------------------------------------------

    /// `h` reports it runs `running`: protect those VMs there; forget VMs it stopped
    /// running on its own (an operator power-off).
    fn apply_inventory(&mut self, h: NodeId, running: &BTreeSet<ProcessId>, out: &mut Out) {
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

    fn write_protected(&self, out: &mut Out) {
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

    fn queue_restart(&mut self, v: ProcessId) {
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
    fn dispatch(&mut self, out: &mut Out) {
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

    fn attempt_failed(&mut self, v: ProcessId, out: &mut Out) {
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

    fn retry(&mut self, v: ProcessId, out: &mut Out) {
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

    fn on_power_on_result(&mut self, from: NodeId, v: ProcessId, ok: bool, out: &mut Out) {
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

    // ---- messages -------------------------------------------------------------------

    fn on_slave_heartbeat(&mut self, h: NodeId, running: BTreeSet<ProcessId>, out: &mut Out) {
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

    fn on_ds_status(
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

    fn on_master_heartbeat(&mut self, from: NodeId, datastores: u8, out: &mut Out) {
        match &self.role {
            Role::Down => {}
            Role::Election { .. } | Role::Isolated { .. } => self.become_slave(from, out),
            Role::Slave { master } => {
                if *master == from {
                    out.push(Effect::SetTimer {
                        id: FdmTimer::MasterSilent,
                        after: self.cfg.timers.master_silence,
                    });
                }
            }
            Role::Master(_) => {
                // Two masters meet after a partition heals: the weaker one steps down.
                if (datastores, from) > (self.cfg.score(self.me), self.me) {
                    self.become_slave(from, out);
                }
            }
        }
    }

    fn on_election(&mut self, from: NodeId, datastores: u8, out: &mut Out) {
        match &mut self.role {
            Role::Election { best, heard } => {
                *heard = true;
                if (datastores, from) > *best {
                    *best = (datastores, from);
                }
            }
            Role::Master(_) => out.push(Effect::Send {
                to: from,
                msg: VmwareMsg::MasterHeartbeat {
                    datastores: self.cfg.score(self.me),
                },
            }),
            Role::Isolated { .. } => self.start_election(out),
            Role::Down | Role::Slave { .. } => {}
        }
    }

    fn on_pong(&mut self, from: NodeId, out: &mut Out) {
        if Some(from) == self.cfg.isolation_address {
            if self.iso_check.is_some() {
                self.iso_check = Some(true);
            }
            if let Role::Isolated { .. } = self.role {
                // The network is back, at least to the gateway: no longer isolated.
                self.start_election(out);
            }
            return;
        }
        if let Role::Master(m) = &mut self.role {
            if let Some(view) = m.hosts.get_mut(&from) {
                if matches!(view.state, HostState::Silent(_)) {
                    view.pong = true;
                }
            }
        }
    }

    // ---- VMs on this host ------------------------------------------------------------

    /// Powers `vm` on here: lock its files on its datastore, then boot it.
    fn power_on(&mut self, vm: ProcessId, requester: Option<NodeId>, out: &mut Out) {
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

    fn on_lock_reply(&mut self, vm: ProcessId, granted: bool, out: &mut Out) {
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

    fn on_process(&mut self, ev: crate::ProcessEvent, out: &mut Out) {
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

impl Machine for FdmAgent {
    type Msg = VmwareMsg;
    type Timer = FdmTimer;
    type Command = ClusterCommand;
    type Meta = ();
    type Notice = ClusterNotice;

    fn net(msg: &VmwareMsg) -> Net {
        msg.net()
    }

    fn handle(&mut self, _now: Time, input: Input<Self>, out: &mut Vec<Effect<Self>>) {
        if self.role == Role::Down {
            if let Input::Command(ClusterCommand::Boot) = input {
                self.boot(out);
            }
            return;
        }
        match input {
            Input::Command(cmd) => match cmd {
                ClusterCommand::PowerOn(vm) => self.power_on(vm, None, out),
                ClusterCommand::PowerOff(vm) => {
                    self.vms.stop(self.me, vm, out);
                }
                ClusterCommand::Boot
                | ClusterCommand::Evacuate { .. }
                | ClusterCommand::ForceDown { .. } => {}
            },
            Input::Timer(t) => match t {
                FdmTimer::Tick => self.tick(out),
                FdmTimer::MasterSilent => {
                    if let Role::Slave { .. } = self.role {
                        self.start_election(out);
                    }
                }
                FdmTimer::ElectionEnd => {
                    if let Role::Election { best, heard } = self.role {
                        if best.1 == self.me {
                            self.become_master(!heard, out);
                        } else {
                            self.become_slave(best.1, out);
                        }
                    }
                }
                FdmTimer::Watch(h) => self.watch(h, out),
                FdmTimer::Settle => self.settle(out),
                FdmTimer::IsolationCheck => {
                    // Declared only if the address never answered and no slave joined.
                    let unanswered = self.iso_check.take() == Some(false);
                    let still_alone = match &self.role {
                        Role::Master(m) => !m.hosts.values().any(|v| v.state == HostState::Alive),
                        _ => false,
                    };
                    if unanswered && still_alone {
                        self.declare_isolated(out);
                    }
                }
                FdmTimer::IsolationResponse => self.isolation_response(out),
                FdmTimer::Retry(v) => self.retry(v, out),
            },
            Input::Recv { from, msg } => match msg {
                VmwareMsg::Election { datastores } => self.on_election(from, datastores, out),
                VmwareMsg::MasterHeartbeat { datastores } => {
                    self.on_master_heartbeat(from, datastores, out)
                }
                VmwareMsg::SlaveHeartbeat { running } => {
                    self.on_slave_heartbeat(from, running, out)
                }
                VmwareMsg::PowerOn { vm } => self.power_on(vm, Some(from), out),
                VmwareMsg::PowerOnResult { vm, ok } => self.on_power_on_result(from, vm, ok, out),
                VmwareMsg::Ping => out.push(Effect::Send {
                    to: from,
                    msg: VmwareMsg::Pong,
                }),
                VmwareMsg::Pong => self.on_pong(from, out),
                VmwareMsg::DsStatus {
                    host,
                    updated,
                    file,
                } => self.on_ds_status(host, updated, file, out),
                VmwareMsg::DsLockReply { vm, granted } => self.on_lock_reply(vm, granted, out),
                VmwareMsg::DsProtected(list) => {
                    if let Role::Master(m) = &mut self.role {
                        if m.settling {
                            for (v, h) in list {
                                if self.cfg.vm(v).is_some() {
                                    m.protected.entry(v).or_insert(h);
                                }
                            }
                        }
                    }
                }
                VmwareMsg::DsHeartbeat
                | VmwareMsg::DsPowerOnFile(_)
                | VmwareMsg::DsWatch { .. }
                | VmwareMsg::DsUnwatch { .. }
                | VmwareMsg::DsRead { .. }
                | VmwareMsg::DsLock { .. }
                | VmwareMsg::DsUnlock { .. }
                | VmwareMsg::DsWriteProtected(_)
                | VmwareMsg::DsReadProtected => {}
            },
            Input::Process(ev) => self.on_process(ev, out),
            Input::Disk(_) | Input::HandlerDone(_) | Input::FenceDone { .. } => {}
        }
    }
}
