//! Where the machines of a lab sit, derived from its [`Topology`]: the clusters and
//! their hosts, each guest's home host, whether the guests' VMs are on shared storage,
//! with the ids of [`super::ids`].
//!
//! The topology is the one description of a lab (the study's architectures are
//! `Topology::build`); the simulator places its machines from this layout and the lab
//! harness will too, so a host in a report is the same host in both.

use std::collections::BTreeMap;

use thiserror::Error;

use super::ids::{
    FIRST_CONTROLLER, FIRST_DATASTORE, FIRST_ENGINE, FIRST_HOST, GUEST_A, GUEST_B, MAX_CLUSTERS,
    MAX_HOSTS,
};
use crate::NodeId;
use crate::cluster::VmStorage;
use crate::topology::{ElementKind, StorageKind, Topology};

/// One cluster of the lab.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterLayout {
    /// The cluster's name in the topology.
    pub name: String,
    /// Its hosts, in the topology's order.
    pub hosts: Vec<NodeId>,
    /// Its shared datastore (VMware), unused on OpenStack.
    pub datastore: NodeId,
    /// Its Nova controller (OpenStack), unused on VMware.
    pub controller: NodeId,
    /// Its Masakari engine (OpenStack), unused on VMware.
    pub engine: NodeId,
}

/// The placement of a lab's machines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabLayout {
    /// The clusters; the first holds guest A.
    pub clusters: Vec<ClusterLayout>,
    /// Guest -> the host it starts on.
    pub home: BTreeMap<NodeId, NodeId>,
    /// The guests' VMs' storage.
    pub storage: VmStorage,
    /// Host -> its name in the topology.
    pub host_names: BTreeMap<NodeId, String>,
}

/// Why a topology gives no layout.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum LayoutError {
    /// No service, or a service in no VM.
    #[error("the topology has no service running in a VM")]
    NoService,
    /// More guests than the pair.
    #[error("the service runs in {0} VMs; a lab has one or two guests")]
    TooManyGuests(usize),
    /// A guest VM runs on no host.
    #[error("VM '{0}' runs on no host")]
    Unplaced(String),
    /// A guest's host is in no cluster.
    #[error("host '{0}' of VM '{1}' is in no cluster")]
    NoCluster(String, String),
    /// Beyond the id ranges.
    #[error("{what}: {count} (at most {max})")]
    TooMany {
        /// Clusters or hosts.
        what: &'static str,
        /// How many the topology has.
        count: usize,
        /// How many a lab may have.
        max: usize,
    },
}

impl LabLayout {
    /// The layout of `topology`: its first service's VMs are the guests (the preferred
    /// VM is guest A), the clusters that hold a guest's home host are the lab's
    /// clusters (guest A's first), their hosts numbered from
    /// [`super::ids::FIRST_HOST`] in that order. The guests' storage is shared when
    /// every datastore of guest A's VM is shared (the combined architecture), else
    /// local (the VM cannot be restarted elsewhere).
    pub fn from_topology(topology: &Topology) -> Result<LabLayout, LayoutError> {
        let name = |id: NodeId| topology.name_of(id).unwrap_or("?").to_string();
        let service = *topology.services().first().ok_or(LayoutError::NoService)?;
        let preferred = topology
            .preferred_vm(service)
            .ok_or(LayoutError::NoService)?;
        let mut vms = vec![preferred];
        vms.extend(
            topology
                .service_vms(service)
                .into_iter()
                .filter(|&v| v != preferred),
        );
        if vms.len() > 2 {
            return Err(LayoutError::TooManyGuests(vms.len()));
        }
        let mut clusters: Vec<NodeId> = Vec::new();
        let mut homes = Vec::new();
        for &vm in &vms {
            let host = topology
                .vm_host(vm)
                .ok_or_else(|| LayoutError::Unplaced(name(vm)))?;
            let cluster = topology
                .cluster_of(host)
                .ok_or_else(|| LayoutError::NoCluster(name(host), name(vm)))?;
            if !clusters.contains(&cluster) {
                clusters.push(cluster);
            }
            homes.push(host);
        }
        if clusters.len() > MAX_CLUSTERS {
            return Err(LayoutError::TooMany {
                what: "clusters",
                count: clusters.len(),
                max: MAX_CLUSTERS,
            });
        }
        let hosts: usize = clusters.iter().map(|&c| topology.hosts_of(c).len()).sum();
        if hosts > MAX_HOSTS {
            return Err(LayoutError::TooMany {
                what: "hosts",
                count: hosts,
                max: MAX_HOSTS,
            });
        }
        let mut ids: BTreeMap<NodeId, NodeId> = BTreeMap::new();
        let mut host_names = BTreeMap::new();
        let mut next = FIRST_HOST;
        let mut layouts = Vec::new();
        for (i, &c) in clusters.iter().enumerate() {
            let mut hosts = Vec::new();
            for h in topology.hosts_of(c) {
                let id = NodeId(next);
                next += 1;
                ids.insert(h, id);
                host_names.insert(id, name(h));
                hosts.push(id);
            }
            let i = i as u16;
            layouts.push(ClusterLayout {
                name: name(c),
                hosts,
                datastore: NodeId(FIRST_DATASTORE + i),
                controller: NodeId(FIRST_CONTROLLER + i),
                engine: NodeId(FIRST_ENGINE + i),
            });
        }
        let home = [GUEST_A, GUEST_B]
            .into_iter()
            .zip(homes)
            .map(|(g, h)| (g, ids[&h]))
            .collect();
        let stores = topology.datastores_of(preferred);
        let shared = !stores.is_empty()
            && stores.iter().all(|&s| {
                topology.storage_kind(s) == Some(StorageKind::Shared)
                    && topology
                        .element(s)
                        .is_some_and(|e| e.kind() == ElementKind::Storage)
            });
        Ok(LabLayout {
            clusters: layouts,
            home,
            storage: if shared {
                VmStorage::Shared
            } else {
                VmStorage::Local
            },
            host_names,
        })
    }

    /// The cluster `host` belongs to.
    pub fn cluster_of(&self, host: NodeId) -> Option<&ClusterLayout> {
        self.clusters.iter().find(|c| c.hosts.contains(&host))
    }

    /// Every host of the lab, cluster by cluster.
    pub fn hosts(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.clusters.iter().flat_map(|c| c.hosts.iter().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{Architecture, Platform, ServiceKind};

    fn layout(a: Architecture) -> LabLayout {
        let t = Topology::build(a, Platform::Vmware, ServiceKind::Apache);
        match LabLayout::from_topology(&t) {
            Ok(l) => l,
            Err(e) => panic!("{a:?}: {e}"),
        }
    }

    #[test]
    fn the_study_architectures_lay_out_as_in_the_lab() {
        let single = layout(Architecture::SingleNode);
        assert_eq!(single.clusters.len(), 1);
        assert_eq!(single.clusters[0].hosts, [NodeId(10), NodeId(11)]);
        assert_eq!(single.home, BTreeMap::from([(GUEST_A, NodeId(10))]));
        assert_eq!(single.storage, VmStorage::Local);
        assert_eq!(single.host_names[&NodeId(10)], "x3650-1");

        let pair = layout(Architecture::DrbdHeartbeat);
        assert_eq!(pair.clusters.len(), 1);
        assert_eq!(
            pair.home,
            BTreeMap::from([(GUEST_A, NodeId(10)), (GUEST_B, NodeId(11))])
        );
        assert_eq!(pair.storage, VmStorage::Local);

        let combined = layout(Architecture::Combined);
        assert_eq!(combined.clusters.len(), 2);
        assert_eq!(combined.clusters[0].hosts, [NodeId(10), NodeId(11)]);
        assert_eq!(combined.clusters[1].hosts, [NodeId(12), NodeId(13)]);
        assert_eq!(combined.clusters[1].datastore, NodeId(21));
        assert_eq!(
            combined.home,
            BTreeMap::from([(GUEST_A, NodeId(10)), (GUEST_B, NodeId(12))])
        );
        assert_eq!(combined.storage, VmStorage::Shared);
        assert_eq!(combined.host_names[&NodeId(12)], "esxi-b1");
        assert_eq!(
            combined.cluster_of(NodeId(13)).map(|c| c.engine),
            Some(NodeId(33))
        );
    }

    #[test]
    fn a_topology_without_a_service_is_refused() {
        assert_eq!(
            LabLayout::from_topology(&Topology::new()),
            Err(LayoutError::NoService)
        );
    }
}
