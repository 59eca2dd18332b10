//! Repairs: what brings the lab back after a failure, for long runs with failure and
//! repair processes (`crate::availability`).
//!
//! A repaired host powers on and its cluster agent boots and rejoins the cluster (FDM
//! joins or elects a master, nova-compute reports again: `ClusterCommand::Boot`), as
//! `model::testing::Cluster::restart` does for any machine. A VM that no layer will
//! start again — the cluster layer forgot it after STONITH powered it off, or every host
//! that could run it was down when its restart was due — is powered on by an operator
//! ([`World::operator_power_on`]). Long runs also let go of the harness' records once
//! they are taken in ([`World::forget_records`]), so memory does not grow with the years.

use model::NodeId;
use model::cluster::ClusterCommand;

use super::{FS, SERVICE, World, vm_of};
use crate::node::SimCommand;

impl World {
    /// Powers a repaired `host` on: a fresh cluster agent boots and rejoins. Nothing
    /// happens if it runs or is not a host of the lab.
    pub fn power_on_host(&mut self, host: NodeId) {
        if self.lab.is_up(host) {
            return;
        }
        let Some(machine) = self.host_machines.get(&host).cloned() else {
            return;
        };
        self.lab.restart(host, machine);
        self.lab
            .command(host, SimCommand::Cluster(ClusterCommand::Boot));
        self.couple();
    }

    /// The cluster hosts of the lab, in order.
    pub fn hosts(&self) -> Vec<NodeId> {
        self.host_machines.keys().copied().collect()
    }

    /// Whether a STONITH power-off of `guest` still keeps its VM off: it was fenced and
    /// no operator powered it on since.
    pub(super) fn fence_holds(&self, guest: NodeId) -> bool {
        let since = self.operator_on.get(&guest).copied();
        self.fenced_guests
            .iter()
            .any(|(t, g)| *g == guest && since.is_none_or(|on| *t > on))
    }

    /// The guests whose VM runs on no host now.
    pub fn vms_off(&self) -> Vec<NodeId> {
        self.guests
            .keys()
            .copied()
            .filter(|&g| self.coupling.host_of(g).is_none())
            .collect()
    }

    /// An operator powers guest `g`'s VM on (vCenter "power on", `nova start`): on its
    /// home host if that runs, else on the first running host of its cluster. Returns
    /// the host, or `None` if its VM runs already or no host of its cluster runs.
    pub fn operator_power_on(&mut self, g: NodeId) -> Option<NodeId> {
        if self.coupling.host_of(g).is_some() {
            return None;
        }
        let home = self.layout.home.get(&g).copied()?;
        let cluster = self.layout.cluster_of(home)?;
        let host = std::iter::once(home)
            .chain(cluster.hosts.iter().copied())
            .find(|&h| self.lab.is_up(h) && !self.lab.is_paused(h))?;
        self.operator_on.insert(g, self.lab.now());
        self.lab
            .command(host, SimCommand::Cluster(ClusterCommand::PowerOn(vm_of(g))));
        self.couple();
        Some(host)
    }

    /// An operator restarts the service on guest `g` (`service start` by hand): only
    /// where the guest runs with its file system mounted and the service is gone, so a
    /// group the HA software moved meanwhile is left alone.
    pub fn restart_service(&mut self, g: NodeId) {
        let running = |p| self.lab.processes(g).get(p).is_some_and(|x| x.running);
        if self.lab.is_up(g) && !self.is_hung(g) && running(FS) && !running(SERVICE) {
            self.lab.set_running(g, SERVICE, true);
        }
    }

    /// Takes in the records so far ([`World::observe`]) and lets the harness forget
    /// them: a long run keeps only what the ledger needs.
    pub fn forget_records(&mut self) {
        let _ = self.observe();
        let _ = self.lab.take_records();
        self.records_seen = 0;
    }
}
