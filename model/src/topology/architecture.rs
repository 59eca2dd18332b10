//! The study's three architectures on each platform, built on the study's lab.
//!
//! Every builder lays out the same three physical hosts and adds the guests first, so
//! the DRBD peers are `NodeId(0)` and `NodeId(1)` (`a`, `b`). What the study does not
//! say is decided here and written down in `docs/architecture.md` (topology): the
//! one-cluster architectures use a cluster of `x3650-1` and `x3650-2` (the thesis'
//! "failover cluster managing two physical hosts"), `x3650-3` carries the management
//! plane; the combined architecture's two clusters are made of nested hypervisors,
//! `x3650-2` carrying the second hypervisor of both.

use core::fmt;

use serde::{Deserialize, Serialize};

use super::lab::{self, PHYSICAL_HOSTS};
use super::{
    BuildError, Element, Platform, Relation, RestartPriority, ServiceKind, StorageKind, Topology,
    Volume,
};
use crate::{Net, NodeId};

/// The study's architectures (STUDY (the three architectures compared)). Files spell
/// them `single_node`, `drbd_heartbeat`, `combined`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    /// One VM on local storage, no HA.
    #[serde(alias = "SingleNode")]
    SingleNode,
    /// Two VMs on different hosts of one cluster, DRBD + Heartbeat.
    #[serde(alias = "DrbdHeartbeat")]
    DrbdHeartbeat,
    /// The DRBD + Heartbeat pair across two clusters, each VM also restarted by its
    /// cluster.
    #[serde(alias = "Combined")]
    Combined,
}

impl Architecture {
    /// The three, in the order of the study's tables.
    pub const ALL: [Architecture; 3] = [
        Architecture::SingleNode,
        Architecture::DrbdHeartbeat,
        Architecture::Combined,
    ];

    /// The key used in files.
    pub fn key(self) -> &'static str {
        match self {
            Architecture::SingleNode => "single_node",
            Architecture::DrbdHeartbeat => "drbd_heartbeat",
            Architecture::Combined => "combined",
        }
    }

    /// The name people read.
    pub fn label(self) -> &'static str {
        match self {
            Architecture::SingleNode => "single node",
            Architecture::DrbdHeartbeat => "DRBD + Heartbeat",
            Architecture::Combined => "combined",
        }
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The networks of a builder, by role.
struct Nets {
    public: NodeId,
    replication: Option<NodeId>,
    rings: Vec<NodeId>,
    all: Vec<NodeId>,
}

impl Topology {
    /// One of the study's architectures.
    pub fn build(architecture: Architecture, platform: Platform, service: ServiceKind) -> Topology {
        match architecture {
            Architecture::SingleNode => Topology::single_node(platform, service),
            Architecture::DrbdHeartbeat => Topology::drbd_heartbeat(platform, service),
            Architecture::Combined => Topology::combined(platform, service),
        }
    }

    /// The single-node architecture: one VM on `x3650-1`'s local datastore, in the
    /// cluster of `x3650-1` and `x3650-2` but without restart protection (its disk is
    /// local: the study's point). Networks: public, management.
    pub fn single_node(platform: Platform, service: ServiceKind) -> Topology {
        let mut t = Topology::new();
        let vm = t.push(Element::Vm {
            name: lab::vm_names(platform)[0].into(),
        });
        let hosts = t.physical_hosts();
        let cluster = t.push(Element::Cluster {
            name: lab::cluster_name(platform).into(),
            platform,
        });
        for &h in &hosts[..2] {
            t.link(h, cluster, Relation::MemberOf);
        }
        let nets = t.networks(false, false);
        t.attach_all(&hosts, &nets.all);
        t.link(vm, nets.public, Relation::AttachedTo);
        let store = t.local_datastore(hosts[0]);
        t.link(vm, hosts[0], Relation::RunsOn);
        t.link(vm, store, Relation::DiskOn);
        t.add_service_in(service, &[vm]);
        t
    }

    /// The DRBD + Heartbeat architecture: `node1` on `x3650-1`, `node2` on `x3650-2`,
    /// both in the one cluster, each on its host's local datastore, resource `ha`
    /// replicated over `drbd`, Heartbeat on rings `hb0` and `hb1`; no restart
    /// protection (local disks).
    pub fn drbd_heartbeat(platform: Platform, service: ServiceKind) -> Topology {
        let mut t = Topology::new();
        let vms = t.guests(platform);
        let hosts = t.physical_hosts();
        let cluster = t.push(Element::Cluster {
            name: lab::cluster_name(platform).into(),
            platform,
        });
        for &h in &hosts[..2] {
            t.link(h, cluster, Relation::MemberOf);
        }
        let nets = t.networks(true, false);
        t.attach_all(&hosts, &nets.all);
        for (i, &vm) in vms.iter().enumerate() {
            let store = t.local_datastore(hosts[i]);
            t.link(vm, hosts[i], Relation::RunsOn);
            t.link(vm, store, Relation::DiskOn);
        }
        t.pair_guests(&vms, &nets);
        t.add_service_in(service, &vms);
        t
    }

    /// The combined architecture: the DRBD + Heartbeat pair with `node1` in a primary
    /// cluster and `node2` in a backup cluster, each VM protected by its cluster's
    /// restart (priority Medium, vSphere HA's default) on a shared datastore.
    ///
    /// The two clusters are made of nested hypervisors, because the lab has three
    /// physical hosts and each cluster needs two for a restart: the primary cluster
    /// runs on `x3650-1` and `x3650-2`, the backup cluster on `x3650-3` and `x3650-2`;
    /// each cluster's shared datastore is mirrored over the physical hosts of its two
    /// hypervisors and mounted by both, over the `storage` network.
    pub fn combined(platform: Platform, service: ServiceKind) -> Topology {
        let mut t = Topology::new();
        let vms = t.guests(platform);
        let physical = t.physical_hosts();
        let names = lab::nested_host_names(platform);
        // Primary: on x3650-1 and x3650-2; backup: on x3650-3 and x3650-2.
        let under = [physical[0], physical[1], physical[2], physical[1]];
        let nested: Vec<NodeId> = names
            .iter()
            .zip(under)
            .map(|(name, p)| {
                let h = t.push(Element::Host {
                    name: (*name).into(),
                });
                t.link(h, p, Relation::NestedOn);
                h
            })
            .collect();
        let clusters = lab::cluster_names(platform).map(|name| {
            t.push(Element::Cluster {
                name: name.into(),
                platform,
            })
        });
        let nets = t.networks(true, true);
        let mut all_hosts = physical.to_vec();
        all_hosts.extend(&nested);
        t.attach_all(&all_hosts, &nets.all);
        for side in 0..2 {
            let members = [nested[2 * side], nested[2 * side + 1]];
            let store = t.push(Element::Storage {
                name: lab::SHARED_DATASTORES[side].into(),
                kind: StorageKind::Shared,
                volume: None,
            });
            for &h in &members {
                t.link(h, clusters[side], Relation::MemberOf);
                t.link(h, store, Relation::Mounts);
                if let Some(p) = t.physical_host(h) {
                    t.link(store, p, Relation::LocatedOn);
                }
            }
            let vm = vms[side];
            t.link(vm, members[0], Relation::RunsOn);
            t.link(vm, store, Relation::DiskOn);
            t.link(
                vm,
                clusters[side],
                Relation::ProtectedBy {
                    priority: RestartPriority::default(),
                },
            );
        }
        t.pair_guests(&vms, &nets);
        t.add_service_in(service, &vms);
        t
    }

    /// Adds a DRBD witness (a diskless tie-breaker, which the study did not have) on
    /// the first physical host that carries no DRBD peer, attached to the pair's
    /// replication networks.
    pub fn with_witness(mut self) -> Result<Topology, BuildError> {
        let pair = self.drbd_pair().ok_or(BuildError::NoDrbdPair)?;
        let taken: Vec<Option<NodeId>> = pair
            .peers
            .iter()
            .map(|&p| self.physical_host_of(p))
            .collect();
        let host = self
            .of_kind(super::ElementKind::Host)
            .into_iter()
            .find(|&h| self.physical_host(h) == Some(h) && !taken.contains(&Some(h)))
            .ok_or(BuildError::NoFreeHost)?;
        let nets: Vec<NodeId> = self
            .targets(pair.resource, Relation::ReplicatesOver)
            .into_iter()
            .filter(|&n| self.net_role(n) == Some(Net::Replication))
            .collect();
        let w = self.add_witness(lab::WITNESS)?;
        self.relate(w, host, Relation::RunsOn)?;
        for n in nets {
            self.relate(w, n, Relation::AttachedTo)?;
        }
        Ok(self)
    }

    /// Adds a Heartbeat ping node (the gateway, for ipfail; the study did not have
    /// one) on every public network.
    pub fn with_ping_node(mut self) -> Result<Topology, BuildError> {
        let nets: Vec<NodeId> = self
            .of_kind(super::ElementKind::Network)
            .into_iter()
            .filter(|&n| self.net_role(n) == Some(Net::Public))
            .collect();
        let p = self.add_ping_node(lab::PING_NODE)?;
        for n in nets {
            self.relate(p, n, Relation::AttachedTo)?;
        }
        Ok(self)
    }

    /// The pair's VMs, first, so they are `a` and `b`.
    fn guests(&mut self, platform: Platform) -> [NodeId; 2] {
        lab::vm_names(platform).map(|name| self.push(Element::Vm { name: name.into() }))
    }

    fn physical_hosts(&mut self) -> [NodeId; 3] {
        PHYSICAL_HOSTS.map(|name| self.push(Element::Host { name: name.into() }))
    }

    /// The lab's networks: public and management always, replication and both rings
    /// for a pair, storage for shared datastores.
    fn networks(&mut self, pair: bool, storage: bool) -> Nets {
        let mut all = Vec::new();
        let mut net = |t: &mut Topology, name: &str, role: Net| {
            let n = t.push(Element::Network {
                name: name.into(),
                role,
            });
            all.push(n);
            n
        };
        let public = net(self, lab::PUBLIC, Net::Public);
        let mut replication = None;
        let mut rings = Vec::new();
        if pair {
            replication = Some(net(self, lab::REPLICATION, Net::Replication));
            for (r, name) in (0u8..).zip(lab::RINGS) {
                rings.push(net(self, name, Net::Ring(r)));
            }
        }
        net(self, lab::MANAGEMENT, Net::Management);
        if storage {
            net(self, lab::STORAGE, Net::Storage);
        }
        Nets {
            public,
            replication,
            rings,
            all,
        }
    }

    fn attach_all(&mut self, hosts: &[NodeId], nets: &[NodeId]) {
        for &h in hosts {
            for &n in nets {
                self.link(h, n, Relation::AttachedTo);
            }
        }
    }

    /// A physical host's local datastore, located on and mounted by it.
    fn local_datastore(&mut self, host: NodeId) -> NodeId {
        let name = lab::local_datastore(&self.label(host));
        let s = self.push(Element::Storage {
            name,
            kind: StorageKind::Local,
            volume: None,
        });
        self.link(s, host, Relation::LocatedOn);
        self.link(host, s, Relation::Mounts);
        s
    }

    /// Makes the two guests a DRBD + Heartbeat pair: resource `ha` on both, replicated
    /// over the replication network, heartbeats on every ring; the guests get
    /// interfaces on the public, replication and ring networks.
    fn pair_guests(&mut self, vms: &[NodeId; 2], nets: &Nets) {
        let ha = self.push(Element::Storage {
            name: lab::RESOURCE.into(),
            kind: StorageKind::Replicated,
            volume: Some(Volume::study()),
        });
        for &vm in vms {
            self.link(vm, nets.public, Relation::AttachedTo);
            if let Some(r) = nets.replication {
                self.link(vm, r, Relation::AttachedTo);
            }
            for &ring in &nets.rings {
                self.link(vm, ring, Relation::AttachedTo);
                self.link(vm, ring, Relation::HeartbeatOn);
            }
            self.link(vm, ha, Relation::DiskOn);
        }
        if let Some(r) = nets.replication {
            self.link(ha, r, Relation::ReplicatesOver);
        }
    }

    /// The service, configured in `vms`, the first preferred (the node `haresources`
    /// names).
    fn add_service_in(&mut self, kind: ServiceKind, vms: &[NodeId]) {
        let s = self.push(Element::Service {
            name: kind.daemon().into(),
            kind,
        });
        for (i, &vm) in vms.iter().enumerate() {
            self.link(s, vm, Relation::RunsIn { preferred: i == 0 });
        }
    }
}
