//! Structural questions the other layers ask of a topology: where a VM runs, which
//! hosts a cluster has, which networks a guest reaches, which VMs form the DRBD pair,
//! whether a VM can be restarted elsewhere.

use std::collections::BTreeSet;

use petgraph::Direction;

use super::{Element, ElementKind, Platform, Relation, RestartPriority, StorageKind, Topology};
use crate::{Net, NodeId};

/// The two diskful VMs of a replicated resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DrbdPair {
    /// The replicated storage element (the DRBD resource).
    pub resource: NodeId,
    /// The two VMs, lower id first.
    pub peers: [NodeId; 2],
}

impl DrbdPair {
    /// The other peer, if `vm` is one of the two.
    pub fn peer_of(&self, vm: NodeId) -> Option<NodeId> {
        match self.peers {
            [a, b] if a == vm => Some(b),
            [a, b] if b == vm => Some(a),
            _ => None,
        }
    }
}

/// Longest chain of `nested-on` followed; any real lab nests once.
const MAX_NESTING: usize = 64;

impl Topology {
    /// The member hosts of a cluster, ascending.
    pub fn hosts_of(&self, cluster: NodeId) -> Vec<NodeId> {
        self.sources(cluster, Relation::MemberOf)
    }

    /// The cluster a host is a member of (the first, if it wrongly has several).
    pub fn cluster_of(&self, host: NodeId) -> Option<NodeId> {
        self.targets(host, Relation::MemberOf).first().copied()
    }

    /// The platform of a cluster.
    pub fn platform(&self, cluster: NodeId) -> Option<Platform> {
        match self.element(cluster) {
            Some(Element::Cluster { platform, .. }) => Some(*platform),
            _ => None,
        }
    }

    /// The host a VM (or witness) runs on (the first, if it wrongly has several).
    pub fn vm_host(&self, vm: NodeId) -> Option<NodeId> {
        self.targets(vm, Relation::RunsOn).first().copied()
    }

    /// The VMs (and witnesses) that run directly on a host, ascending.
    pub fn vms_on(&self, host: NodeId) -> Vec<NodeId> {
        self.sources(host, Relation::RunsOn)
    }

    /// The physical host under a host: itself if it is not nested, else the end of its
    /// `nested-on` chain. `None` on a cycle.
    pub fn physical_host(&self, host: NodeId) -> Option<NodeId> {
        let mut h = host;
        for _ in 0..=MAX_NESTING {
            match self.targets(h, Relation::NestedOn).first() {
                None => return Some(h),
                Some(&up) if up == host => return None,
                Some(&up) => h = up,
            }
        }
        None
    }

    /// The physical host under a VM or witness.
    pub fn physical_host_of(&self, guest: NodeId) -> Option<NodeId> {
        self.vm_host(guest).and_then(|h| self.physical_host(h))
    }

    /// `host` and every host nested on it, directly or not: what its failure takes.
    pub fn hosts_under(&self, host: NodeId) -> BTreeSet<NodeId> {
        let mut down = BTreeSet::from([host]);
        let mut todo = vec![host];
        while let Some(h) = todo.pop() {
            for n in self.sources(h, Relation::NestedOn) {
                if down.insert(n) {
                    todo.push(n);
                }
            }
        }
        down
    }

    /// The role of a network.
    pub fn net_role(&self, network: NodeId) -> Option<Net> {
        match self.element(network) {
            Some(Element::Network { role, .. }) => Some(*role),
            _ => None,
        }
    }

    /// Whether `element` reaches `network`: it is attached, and so is everything under
    /// it (a guest's host, a nested host's host). A ping node only needs to be attached.
    pub fn reaches(&self, element: NodeId, network: NodeId) -> bool {
        let mut e = element;
        for _ in 0..=MAX_NESTING + 1 {
            if !self.targets(e, Relation::AttachedTo).contains(&network) {
                return false;
            }
            let under = match self.element(e).map(Element::kind) {
                Some(ElementKind::Vm | ElementKind::Witness) => self.vm_host(e),
                Some(ElementKind::Host) => self.targets(e, Relation::NestedOn).first().copied(),
                _ => None,
            };
            match under {
                Some(u) => e = u,
                None => {
                    // A guest placed nowhere reaches nothing.
                    return !matches!(
                        self.element(e).map(Element::kind),
                        Some(ElementKind::Vm | ElementKind::Witness)
                    );
                }
            }
        }
        false
    }

    /// The networks an element reaches, ascending.
    pub fn networks_reached(&self, element: NodeId) -> Vec<NodeId> {
        self.targets(element, Relation::AttachedTo)
            .into_iter()
            .filter(|&n| self.reaches(element, n))
            .collect()
    }

    /// The kind of a storage element.
    pub fn storage_kind(&self, storage: NodeId) -> Option<StorageKind> {
        match self.element(storage) {
            Some(Element::Storage { kind, .. }) => Some(*kind),
            _ => None,
        }
    }

    /// A VM's datastores (local or shared storage it has a disk on), ascending.
    pub fn datastores_of(&self, vm: NodeId) -> Vec<NodeId> {
        self.targets(vm, Relation::DiskOn)
            .into_iter()
            .filter(|&s| {
                matches!(
                    self.storage_kind(s),
                    Some(StorageKind::Local | StorageKind::Shared)
                )
            })
            .collect()
    }

    /// Every replicated resource with exactly two VMs on it, by resource id.
    pub fn drbd_pairs(&self) -> Vec<DrbdPair> {
        self.of_kind(ElementKind::Storage)
            .into_iter()
            .filter(|&s| self.storage_kind(s) == Some(StorageKind::Replicated))
            .filter_map(|s| match self.sources(s, Relation::DiskOn)[..] {
                [a, b] => Some(DrbdPair {
                    resource: s,
                    peers: [a, b],
                }),
                _ => None,
            })
            .collect()
    }

    /// The DRBD pair (the study has one; the first by resource id if there are more).
    pub fn drbd_pair(&self) -> Option<DrbdPair> {
        self.drbd_pairs().first().copied()
    }

    /// The DRBD peer of a VM.
    pub fn drbd_peer(&self, vm: NodeId) -> Option<NodeId> {
        self.drbd_pairs().iter().find_map(|p| p.peer_of(vm))
    }

    /// The replication networks of a pair: networks its resource replicates over,
    /// with role [`Net::Replication`], that both peers reach.
    pub fn replication_networks(&self, pair: &DrbdPair) -> Vec<NodeId> {
        self.targets(pair.resource, Relation::ReplicatesOver)
            .into_iter()
            .filter(|&n| self.net_role(n) == Some(Net::Replication))
            .filter(|&n| pair.peers.iter().all(|&p| self.reaches(p, n)))
            .collect()
    }

    /// The Heartbeat rings between two VMs: ring networks both send heartbeats on and
    /// both reach, ascending.
    pub fn heartbeat_rings(&self, a: NodeId, b: NodeId) -> Vec<NodeId> {
        let on_b = self.targets(b, Relation::HeartbeatOn);
        self.targets(a, Relation::HeartbeatOn)
            .into_iter()
            .filter(|n| on_b.contains(n))
            .filter(|&n| matches!(self.net_role(n), Some(Net::Ring(_))))
            .filter(|&n| self.reaches(a, n) && self.reaches(b, n))
            .collect()
    }

    /// The VM's Heartbeat failover partner: its DRBD peer, if at least one ring
    /// connects them.
    pub fn failover_partner(&self, vm: NodeId) -> Option<NodeId> {
        self.drbd_peer(vm)
            .filter(|&p| !self.heartbeat_rings(vm, p).is_empty())
    }

    /// The cluster that restarts a VM, and its priority there.
    pub fn restart_policy(&self, vm: NodeId) -> Option<(NodeId, RestartPriority)> {
        self.neighbours(
            vm,
            Relation::ProtectedBy {
                priority: RestartPriority::Medium,
            },
            Direction::Outgoing,
        )
        .into_iter()
        .find_map(|(c, r)| match r {
            Relation::ProtectedBy { priority } => Some((c, priority)),
            _ => None,
        })
    }

    /// Whether the cluster could restart the VM on another host if its host failed
    /// alone: it has a restart policy of its host's cluster, its disks are not only on
    /// local storage, and another member host mounts all its datastores and reaches
    /// all its networks.
    pub fn is_restartable(&self, vm: NodeId) -> bool {
        !self
            .restart_targets(vm, &BTreeSet::new(), &BTreeSet::new())
            .is_empty()
    }

    /// The witnesses, ascending.
    pub fn witnesses(&self) -> Vec<NodeId> {
        self.of_kind(ElementKind::Witness)
    }

    /// The ping nodes, ascending.
    pub fn ping_nodes(&self) -> Vec<NodeId> {
        self.of_kind(ElementKind::PingNode)
    }

    /// The services, ascending.
    pub fn services(&self) -> Vec<NodeId> {
        self.of_kind(ElementKind::Service)
    }

    /// The VMs a service is configured in, ascending.
    pub fn service_vms(&self, service: NodeId) -> Vec<NodeId> {
        self.targets(service, Relation::RunsIn { preferred: false })
    }

    /// The VM a service runs in when all are up: the preferred one, else the first.
    pub fn preferred_vm(&self, service: NodeId) -> Option<NodeId> {
        let edges = self.neighbours(
            service,
            Relation::RunsIn { preferred: false },
            Direction::Outgoing,
        );
        edges
            .iter()
            .find(|(_, r)| *r == Relation::RunsIn { preferred: true })
            .or_else(|| edges.first())
            .map(|(v, _)| *v)
    }

    /// The hosts a VM could be restarted on while `down_hosts` and `down_storage` are
    /// down: members of the VM's restart cluster (which must be its host's cluster),
    /// up, other than its current host, that mount all its datastores (none local, none
    /// down) and reach every network the VM is attached to.
    pub(super) fn restart_targets(
        &self,
        vm: NodeId,
        down_hosts: &BTreeSet<NodeId>,
        down_storage: &BTreeSet<NodeId>,
    ) -> Vec<NodeId> {
        let Some((cluster, _)) = self.restart_policy(vm) else {
            return Vec::new();
        };
        let Some(current) = self.vm_host(vm) else {
            return Vec::new();
        };
        if self.cluster_of(current) != Some(cluster) {
            return Vec::new();
        }
        let stores = self.datastores_of(vm);
        if stores.is_empty()
            || stores.iter().any(|s| {
                self.storage_kind(*s) == Some(StorageKind::Local) || down_storage.contains(s)
            })
        {
            return Vec::new();
        }
        let nets = self.targets(vm, Relation::AttachedTo);
        self.hosts_of(cluster)
            .into_iter()
            .filter(|h| *h != current && !down_hosts.contains(h))
            .filter(|&h| {
                let mounted = self.targets(h, Relation::Mounts);
                stores.iter().all(|s| mounted.contains(s))
            })
            .filter(|&h| nets.iter().all(|&n| self.reaches(h, n)))
            .collect()
    }
}
