//! Roles: the election, becoming master or slave, and the master's heartbeats.
//!
//! Agents elect a master (most datastores wins, ties go to the highest host id; each
//! network partition elects its own), and two masters that meet after a partition
//! heals settle it the same way. Which role an agent holds decides which of the other
//! concerns run at all, so the transitions between roles are kept together here.

use std::collections::BTreeMap;

use super::watch::HostView;
use super::{FdmAgent, FdmTimer, MasterState, Out, Role};
use crate::cluster::notice::ClusterNotice;
use crate::cluster::vmware::msg::VmwareMsg;
use crate::{Effect, NodeId};

impl FdmAgent {
    pub(super) fn start_election(&mut self, out: &mut Out) {
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

    pub(super) fn send_election(&self, out: &mut Out) {
        let datastores = self.cfg.score(self.me);
        for h in self.others() {
            out.push(Effect::Send {
                to: h,
                msg: VmwareMsg::Election { datastores },
            });
        }
    }

    pub(super) fn become_slave(&mut self, master: NodeId, out: &mut Out) {
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

    pub(super) fn become_master(&mut self, alone: bool, out: &mut Out) {
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
    pub(super) fn leave_master_timers(&mut self, out: &mut Out) {
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

    pub(super) fn send_master_heartbeat(&self, out: &mut Out) {
        let datastores = self.cfg.score(self.me);
        for h in self.others() {
            out.push(Effect::Send {
                to: h,
                msg: VmwareMsg::MasterHeartbeat { datastores },
            });
        }
    }

    pub(super) fn on_master_heartbeat(&mut self, from: NodeId, datastores: u8, out: &mut Out) {
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

    pub(super) fn on_election(&mut self, from: NodeId, datastores: u8, out: &mut Out) {
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
}
