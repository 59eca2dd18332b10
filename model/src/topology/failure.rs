//! What a single failure does to a topology, decided from its structure alone: which
//! VMs go down, which can be restarted where, and whether a service survives — the
//! study's Y/N table without timing (the simulator adds the timing).

use core::fmt;
use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{Relation, StorageKind, Topology};
use crate::NodeId;

/// One failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Failure {
    /// The service stops inside this VM; the VM itself keeps running (the study's
    /// software failure: the service stopped by hand).
    Software(NodeId),
    /// The host loses power, and with it every host nested on it, every VM on those,
    /// and every storage that is located only on them (the study's hardware failure).
    Host(NodeId),
    /// Every member host of the cluster fails at once (the study's cluster failure).
    Cluster(NodeId),
}

/// The study's three failure experiments, as applied to the active VM of a service.
/// Files spell them `software`, `hardware`, `cluster`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    /// Stop the service in its active VM.
    #[serde(alias = "Software")]
    Software,
    /// Power off the physical host under the active VM.
    #[serde(alias = "Hardware")]
    Hardware,
    /// Lose the whole cluster the active VM's host is a member of.
    #[serde(alias = "Cluster")]
    Cluster,
}

impl FailureClass {
    /// The three, in the order of the study's tables.
    pub const ALL: [FailureClass; 3] = [
        FailureClass::Software,
        FailureClass::Hardware,
        FailureClass::Cluster,
    ];

    /// The key used in files.
    pub fn key(self) -> &'static str {
        match self {
            FailureClass::Software => "software",
            FailureClass::Hardware => "hardware",
            FailureClass::Cluster => "cluster",
        }
    }
}

impl fmt::Display for FailureClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// How a service gets through a failure.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Recovery {
    /// The failure did not touch the VM the service runs in.
    Unaffected,
    /// Heartbeat moves the service to the DRBD peer.
    Failover {
        /// The VM the service ran in.
        from: NodeId,
        /// The peer that takes over.
        to: NodeId,
    },
    /// No peer is left, but the cluster restarts a VM of the service on another host
    /// (which then starts the service).
    Restart {
        /// The VM restarted.
        vm: NodeId,
        /// The hosts it could be restarted on, ascending.
        hosts: Vec<NodeId>,
    },
    /// Nothing brings the service back.
    Lost,
}

impl Recovery {
    /// Whether the service comes back (the study's Y).
    pub fn survives(&self) -> bool {
        *self != Recovery::Lost
    }
}

impl Topology {
    /// The hosts a failure takes down: the host and what is nested on it, or every
    /// member of the cluster and what is nested on them.
    pub fn down_hosts(&self, failure: &Failure) -> BTreeSet<NodeId> {
        match *failure {
            Failure::Software(_) => BTreeSet::new(),
            Failure::Host(h) => self.hosts_under(h),
            Failure::Cluster(c) => self
                .hosts_of(c)
                .into_iter()
                .flat_map(|h| self.hosts_under(h))
                .collect(),
        }
    }

    /// The storage a failure takes down: local or shared storage all of whose hosts
    /// are down (shared storage located on no host is an external array and stays).
    pub fn down_storage(&self, failure: &Failure) -> BTreeSet<NodeId> {
        let hosts = self.down_hosts(failure);
        self.store_ids()
            .filter(|&s| {
                let on = self.targets(s, Relation::LocatedOn);
                !on.is_empty() && on.iter().all(|h| hosts.contains(h))
            })
            .collect()
    }

    /// The VMs a failure takes down, ascending: those on a down host, and those with a
    /// datastore that is down. A software failure takes no VM down.
    pub fn affected_by(&self, failure: &Failure) -> Vec<NodeId> {
        let hosts = self.down_hosts(failure);
        let stores = self.down_storage(failure);
        self.of_kind(super::ElementKind::Vm)
            .into_iter()
            .filter(|&vm| {
                self.vm_host(vm).is_some_and(|h| hosts.contains(&h))
                    || self.datastores_of(vm).iter().any(|s| stores.contains(s))
            })
            .collect()
    }

    /// The VMs that go down when `host` fails.
    pub fn affected_by_host_failure(&self, host: NodeId) -> Vec<NodeId> {
        self.affected_by(&Failure::Host(host))
    }

    /// The hosts the cluster could restart `vm` on after `failure` (empty if it cannot).
    pub fn restart_hosts(&self, vm: NodeId, failure: &Failure) -> Vec<NodeId> {
        self.restart_targets(vm, &self.down_hosts(failure), &self.down_storage(failure))
    }

    /// How `service` gets through `failure`: untouched if its active VM is; else
    /// Heartbeat fails over to the DRBD peer if the peer is up and a ring connects
    /// them; else the cluster restarts a downed VM of the service (the active one
    /// first) if it can; else it is lost. A software failure is never repaired by a VM
    /// restart: the VM is still running, and the study's clusters restart VMs, not
    /// services.
    pub fn recovery(&self, service: NodeId, failure: &Failure) -> Recovery {
        let Some(active) = self.preferred_vm(service) else {
            return Recovery::Lost;
        };
        let vms = self.service_vms(service);
        let down: BTreeSet<NodeId> = self.affected_by(failure).into_iter().collect();
        let failed = |vm: NodeId| down.contains(&vm) || *failure == Failure::Software(vm);
        if !failed(active) {
            return Recovery::Unaffected;
        }
        if let Some(to) = self
            .failover_partner(active)
            .filter(|p| vms.contains(p) && !failed(*p))
        {
            return Recovery::Failover { from: active, to };
        }
        let order = core::iter::once(active).chain(vms.iter().copied().filter(|&v| v != active));
        for vm in order {
            if down.contains(&vm) {
                let hosts = self.restart_hosts(vm, failure);
                if !hosts.is_empty() {
                    return Recovery::Restart { vm, hosts };
                }
            }
        }
        Recovery::Lost
    }

    /// The study's failure of a class for a service: on its active VM, the physical
    /// host under it, or the cluster of its host. `None` if the service is placed
    /// nowhere, or (cluster) its host is in no cluster.
    pub fn study_failure(&self, service: NodeId, class: FailureClass) -> Option<Failure> {
        let active = self.preferred_vm(service)?;
        match class {
            FailureClass::Software => Some(Failure::Software(active)),
            FailureClass::Hardware => self.physical_host_of(active).map(Failure::Host),
            FailureClass::Cluster => self
                .vm_host(active)
                .and_then(|h| self.cluster_of(h))
                .map(Failure::Cluster),
        }
    }

    /// Every single failure of the topology: a software failure in each VM that runs a
    /// service, each host, each cluster; sorted.
    pub fn single_failures(&self) -> Vec<Failure> {
        let mut v: Vec<Failure> = Vec::new();
        let mut service_vms: BTreeSet<NodeId> = BTreeSet::new();
        for s in self.services() {
            service_vms.extend(self.service_vms(s));
        }
        v.extend(service_vms.into_iter().map(Failure::Software));
        v.extend(
            self.of_kind(super::ElementKind::Host)
                .into_iter()
                .map(Failure::Host),
        );
        v.extend(
            self.of_kind(super::ElementKind::Cluster)
                .into_iter()
                .map(Failure::Cluster),
        );
        v.sort();
        v
    }

    fn store_ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.of_kind(super::ElementKind::Storage)
            .into_iter()
            .filter(|&s| {
                matches!(
                    self.storage_kind(s),
                    Some(StorageKind::Local | StorageKind::Shared)
                )
            })
    }
}
