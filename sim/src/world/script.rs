//! Scripted events: what a schedule does to the lab, and the application writes the
//! world issues for the probe and for a schedule.

use model::guest::GuestCommand;
use model::replication::ReplicaCommand;
use model::world::GuestChange;
use model::{BlockNo, NodeId, Payload, WriteId};

use super::{SERVICE, World, secs, vm_of};
use crate::node::{SimCommand, SimNode};
use crate::schedule::{ScheduledFault, parse_net, parse_node};

impl World {
    /// The host `node` names: a host itself, or the host a guest runs on.
    fn host_of(&self, node: NodeId) -> Option<NodeId> {
        if self.guests.contains_key(&node) {
            self.coupling.host_of(node)
        } else {
            Some(node)
        }
    }

    /// Issues an application write of block `block` on guest `g` (the ledger numbers
    /// it); `None` if `g` runs no replica now, so nothing was written.
    pub fn write(&mut self, g: NodeId, block: BlockNo) -> Option<WriteId> {
        if !matches!(self.lab.try_node(g), Some(SimNode::Guest(_))) {
            return None;
        }
        let id = self.ledger.issue(block);
        self.lab.command(
            g,
            SimCommand::Guest(GuestCommand::Replica(ReplicaCommand::Write {
                id,
                block,
                count: 1,
                data: Payload::from_u64(id.0),
            })),
        );
        Some(id)
    }

    /// Carries out a scripted fault now. Names were checked against the lab before the
    /// run (`Schedule::validate_for`); a fault whose target is gone by now (a crash of a
    /// guest that is already down) does nothing.
    pub fn apply(&mut self, fault: &ScheduledFault) {
        use ScheduledFault as F;
        let node = |name: &str| parse_node(name);
        match fault {
            F::Partition { a, b, net } | F::Heal { a, b, net } => {
                let up = matches!(fault, F::Heal { .. });
                let (Some(a), Some(b)) = (node(a), node(b)) else {
                    return;
                };
                match net.as_deref().and_then(parse_net) {
                    Some(n) => self.lab.net.set_net_up(a, b, n, up),
                    None => self.lab.net.set_up(a, b, up),
                }
            }
            F::CutOneWay { from, to, net } | F::HealOneWay { from, to, net } => {
                let up = matches!(fault, F::HealOneWay { .. });
                let (Some(from), Some(to)) = (node(from), node(to)) else {
                    return;
                };
                let net = net.as_deref().and_then(parse_net);
                self.lab.net.set_one_way_up(from, to, net, up);
            }
            F::Crash { node: n } => {
                if let Some(g) = node(n) {
                    if self.lab.is_up(g) {
                        self.lab.crash(g);
                    }
                }
            }
            F::Reboot { node: n } => {
                if let Some(g) = node(n) {
                    self.reboot(g);
                }
            }
            F::PowerOff { node: n } => {
                if let Some(h) = node(n).and_then(|n| self.host_of(n)) {
                    self.power_off_host(h);
                }
            }
            F::Hang { node: n, secs: d } => {
                if let Some(h) = node(n).and_then(|n| self.host_of(n)) {
                    let mut frozen = vec![h];
                    frozen.extend(self.coupling.guests_on(h));
                    for &f in &frozen {
                        if self.lab.try_node(f).is_some() {
                            self.lab.pause(f);
                        }
                        // The fence agents power a guest off through its hypervisor,
                        // which answers nobody while it hangs.
                        if self.guests.contains_key(&f) {
                            self.lab.fence_unreachable.insert(f);
                        }
                    }
                    self.resumes.push((self.lab.now() + secs(*d), frozen));
                }
            }
            F::KillService { node: n } => {
                if let Some(g) = node(n) {
                    self.lab.set_running(g, SERVICE, false);
                }
            }
            F::DiskFailure { node: n } => {
                if let Some(g) = node(n) {
                    self.lab.fail_disk(g);
                }
            }
            F::ClusterRestart { node: n } => {
                let Some(g) = node(n) else { return };
                self.scripted_cluster_restart(g);
            }
            // The harness drops the next messages between two nodes on any network; a
            // schedule's `net` (the checker names the message's network) is where the
            // dropped message travelled, and with one message in flight per network at
            // a time that is the next one.
            F::LoseMessages { a, b, count, .. } => {
                if let (Some(a), Some(b)) = (node(a), node(b)) {
                    self.lab.net.drop_next(a, b, *count);
                }
            }
            F::Write { node: n, write } => {
                if let Some(g) = node(n) {
                    self.write(g, *write);
                }
            }
        }
    }

    /// A crashed guest boots again where its VM runs, from its replica's metadata (the
    /// VM's reset button); nothing happens if it runs or its VM does not.
    fn reboot(&mut self, g: NodeId) {
        if self.lab.is_up(g) {
            return;
        }
        if let Some(GuestChange::Boot { guest, host }) = self.coupling.reset(g) {
            self.guest_boot(guest, host);
        }
    }

    /// The cluster layer restarts `g`'s VM on another host of its cluster (the two-layer
    /// race), after the platform's boot time.
    fn scripted_cluster_restart(&mut self, g: NodeId) {
        let Some(h) = self.coupling.host_of(g) else {
            return;
        };
        // The VM dies where it was and boots on the other host of its cluster.
        self.lab.set_running(h, vm_of(g), false);
        self.couple();
        let other = self.layout.cluster_of(h).and_then(|c| {
            c.hosts
                .iter()
                .copied()
                .find(|&x| x != h && self.lab.is_up(x))
        });
        if let Some(other) = other {
            let boot = self.profile.platforms[&self.cell.platform].vm_boot.mean();
            self.scripted_boots
                .push((self.lab.now() + secs(boot), g, other));
        }
    }

    /// Ends hangs, boots scripted restarts and finishes `fence-peer` helpers that are
    /// due.
    pub(super) fn run_scripted(&mut self) {
        let now = self.lab.now();
        let (due, later): (Vec<_>, Vec<_>) = self.resumes.drain(..).partition(|(t, _)| *t <= now);
        self.resumes = later;
        for (_, nodes) in due {
            for n in nodes {
                if self.lab.try_node(n).is_some() && self.lab.is_paused(n) {
                    self.lab.resume(n);
                }
                self.lab.fence_unreachable.remove(&n);
            }
        }
        let (due, later): (Vec<_>, Vec<_>) = self
            .scripted_boots
            .drain(..)
            .partition(|(t, _, _)| *t <= now);
        self.scripted_boots = later;
        for (_, g, h) in due {
            self.lab.set_running(h, vm_of(g), true);
        }
        self.finish_fence_peers();
    }
}
