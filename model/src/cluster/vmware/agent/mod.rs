//! The FDM agent: vSphere HA's per-host agent, master or slave.
//!
//! One agent per host. Agents elect a master (most datastores wins, ties go to the
//! highest host id; each network partition elects its own); the master exchanges network
//! heartbeats with the slaves every second, tells a failed slave from an isolated or a
//! partitioned one by its datastore heartbeats, its poweron file and pings, and restarts
//! the protected VMs of failed hosts on the others, in restart-priority order, at most 32
//! power-ons per host at once, retrying at T0, +2, +6, +14 and +30 min. A slave that
//! hears no master elects itself, pings its isolation address and, without an answer,
//! declares itself isolated and applies the isolation response (src: DD;
//! `docs/architecture.md` has the timelines).
//!
//! This file holds the [`FdmAgent`] itself: its public types ([`FdmTimer`],
//! [`AgentRole`], [`HostStatus`]), its role and the master's state, the constructor and
//! accessors, the helpers that write to the datastores, boot, the periodic tick, and the
//! [`Machine`] impl that dispatches each input. The rest is split by concern, an
//! `impl FdmAgent` block per file:
//!
//! * `election`: the election, becoming master or slave, the master's heartbeats;
//! * `isolation`: a lone master pinging its isolation address, declaring itself
//!   isolated, the isolation response;
//! * `watch`: the master's watch over the other hosts (alive, failed, partitioned or
//!   isolated), and the settling of a new master;
//! * `restart`: the protected list and the restarts of protected VMs;
//! * `vms`: powering VMs on and off on this host.

mod election;
mod isolation;
mod restart;
mod vms;
mod watch;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::config::VmwareConfig;
use super::msg::{PowerOnFile, VmwareMsg};
use crate::cluster::ClusterCommand;
use crate::cluster::host_vms::HostVms;
use crate::cluster::notice::ClusterNotice;
use crate::{Effect, Input, Machine, Net, NodeId, ProcessId, Time};
use restart::Restart;
use watch::{HostState, HostView, Stage};

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

    fn heartbeat_datastores(&self, out: &mut Out) {
        for ds in self.cfg.mounts_of(self.me) {
            out.push(Effect::Send {
                to: *ds,
                msg: VmwareMsg::DsHeartbeat,
            });
        }
    }

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
                VmwareMsg::DsLockLost { vm } => self.on_lock_lost(vm, out),
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
