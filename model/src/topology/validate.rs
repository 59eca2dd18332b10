//! The rules a lab must keep for its HA to mean anything: [`Topology::validate`].

use super::{ElementKind, Relation, StorageKind, Topology, TopologyError};
use crate::{Net, NodeId};

impl Topology {
    /// Checks every rule and returns every broken one, in a fixed order (rule by rule,
    /// each by ascending element id), so tests can compare the whole list.
    ///
    /// Placement: every VM runs on exactly one host, has a datastore its host mounts;
    /// local storage is on one host and mounted only there; a host is in at most one
    /// cluster and nested on at most one host, without cycles.
    /// Replication: a replicated resource has two peers, on different physical hosts,
    /// with a replication network and a Heartbeat ring between them, every ring one
    /// uses reaching the other. Restart: a protected VM is protected by its host's
    /// cluster, which has a second host that mounts its (not only local) datastores.
    /// Tie-breakers: a witness is placed on a physical host under no peer and shares a
    /// replication network with each; each peer reaches each ping node. Services: each
    /// runs in some VM and has one preferred VM.
    pub fn validate(&self) -> Result<(), Vec<TopologyError>> {
        let mut errors = Vec::new();
        self.check_placement(&mut errors);
        self.check_storage(&mut errors);
        self.check_hosts(&mut errors);
        self.check_pairs(&mut errors);
        self.check_restart(&mut errors);
        self.check_tie_breakers(&mut errors);
        self.check_services(&mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn names(&self, ids: &[NodeId]) -> Vec<String> {
        ids.iter().map(|&i| self.label(i)).collect()
    }

    fn check_placement(&self, errors: &mut Vec<TopologyError>) {
        for vm in self.of_kind(ElementKind::Vm) {
            let hosts = self.targets(vm, Relation::RunsOn);
            match hosts[..] {
                [] => errors.push(TopologyError::VmNotPlaced { vm: self.label(vm) }),
                [_] => {}
                _ => errors.push(TopologyError::VmOnSeveralHosts {
                    vm: self.label(vm),
                    hosts: self.names(&hosts),
                }),
            }
            let stores = self.datastores_of(vm);
            if stores.is_empty() {
                errors.push(TopologyError::VmWithoutDatastore { vm: self.label(vm) });
            }
            for host in hosts {
                let mounted = self.targets(host, Relation::Mounts);
                for s in stores.iter().filter(|s| !mounted.contains(s)) {
                    errors.push(TopologyError::DatastoreNotMounted {
                        vm: self.label(vm),
                        storage: self.label(*s),
                        host: self.label(host),
                    });
                }
            }
        }
    }

    fn check_storage(&self, errors: &mut Vec<TopologyError>) {
        for s in self.of_kind(ElementKind::Storage) {
            if self.storage_kind(s) != Some(StorageKind::Local) {
                continue;
            }
            let on = self.targets(s, Relation::LocatedOn);
            if on.len() != 1 {
                errors.push(TopologyError::LocalStorageNotOnOneHost {
                    storage: self.label(s),
                    hosts: self.names(&on),
                });
            }
            for h in self.sources(s, Relation::Mounts) {
                if !on.contains(&h) {
                    errors.push(TopologyError::LocalStorageMountedElsewhere {
                        storage: self.label(s),
                        host: self.label(h),
                    });
                }
            }
        }
    }

    fn check_hosts(&self, errors: &mut Vec<TopologyError>) {
        for h in self.of_kind(ElementKind::Host) {
            let clusters = self.targets(h, Relation::MemberOf);
            if clusters.len() > 1 {
                errors.push(TopologyError::HostInSeveralClusters {
                    host: self.label(h),
                    clusters: self.names(&clusters),
                });
            }
            let under = self.targets(h, Relation::NestedOn);
            if under.len() > 1 {
                errors.push(TopologyError::NestedOnSeveralHosts {
                    host: self.label(h),
                    hosts: self.names(&under),
                });
            }
        }
        // One error per cycle, named by its lowest host.
        let mut reported = std::collections::BTreeSet::new();
        for h in self.of_kind(ElementKind::Host) {
            if self.physical_host(h).is_none() && !reported.contains(&h) {
                let cycle = self.cycle_from(h);
                if cycle.first() == Some(&h) {
                    errors.push(TopologyError::NestingCycle {
                        host: self.label(h),
                    });
                }
                reported.extend(cycle);
            }
        }
    }

    /// The hosts on the nesting cycle reached from `h`, ascending.
    fn cycle_from(&self, h: NodeId) -> Vec<NodeId> {
        let mut seen = Vec::new();
        let mut cur = h;
        while !seen.contains(&cur) {
            seen.push(cur);
            match self.targets(cur, Relation::NestedOn).first() {
                Some(&up) => cur = up,
                None => return Vec::new(),
            }
        }
        // `cur` is the first host seen twice: the cycle starts there.
        let start = seen.iter().position(|&x| x == cur).unwrap_or(0);
        let mut cycle = seen.split_off(start);
        cycle.sort();
        cycle
    }

    fn check_pairs(&self, errors: &mut Vec<TopologyError>) {
        for s in self.of_kind(ElementKind::Storage) {
            if self.storage_kind(s) != Some(StorageKind::Replicated) {
                continue;
            }
            let vms = self.sources(s, Relation::DiskOn);
            if vms.len() != 2 {
                errors.push(TopologyError::ReplicatedStorageNotAPair {
                    storage: self.label(s),
                    vms: self.names(&vms),
                });
            }
        }
        for pair in self.drbd_pairs() {
            let [a, b] = pair.peers;
            let (an, bn) = (self.label(a), self.label(b));
            if let (Some(ha), Some(hb)) = (self.physical_host_of(a), self.physical_host_of(b))
                && ha == hb
            {
                errors.push(TopologyError::DrbdPeersOnSameHost {
                    a: an.clone(),
                    b: bn.clone(),
                    host: self.label(ha),
                });
            }
            if self.replication_networks(&pair).is_empty() {
                errors.push(TopologyError::NoReplicationNetwork {
                    storage: self.label(pair.resource),
                    a: an.clone(),
                    b: bn.clone(),
                });
            }
            if self.heartbeat_rings(a, b).is_empty() {
                errors.push(TopologyError::NoHeartbeatRing {
                    a: an.clone(),
                    b: bn.clone(),
                });
            }
            for (me, peer) in [(a, b), (b, a)] {
                let peer_rings = self.targets(peer, Relation::HeartbeatOn);
                for ring in self.targets(me, Relation::HeartbeatOn) {
                    if !matches!(self.net_role(ring), Some(Net::Ring(_))) {
                        continue;
                    }
                    // Reported on the side that is missing: the peer does not send
                    // on the ring, or cannot reach it.
                    if !peer_rings.contains(&ring) || !self.reaches(peer, ring) {
                        errors.push(TopologyError::RingDoesNotConnectPeers {
                            ring: self.label(ring),
                            from: self.label(me),
                            peer: self.label(peer),
                        });
                    }
                }
            }
        }
        for vm in self.of_kind(ElementKind::Vm) {
            for n in self.targets(vm, Relation::HeartbeatOn) {
                if !matches!(self.net_role(n), Some(Net::Ring(_))) {
                    errors.push(TopologyError::HeartbeatOnNonRing {
                        vm: self.label(vm),
                        network: self.label(n),
                    });
                }
            }
        }
    }

    fn check_restart(&self, errors: &mut Vec<TopologyError>) {
        for vm in self.of_kind(ElementKind::Vm) {
            let Some((cluster, _)) = self.restart_policy(vm) else {
                continue;
            };
            let (vn, cn) = (self.label(vm), self.label(cluster));
            let stores = self.datastores_of(vm);
            if let Some(&local) = stores
                .iter()
                .find(|s| self.storage_kind(**s) == Some(StorageKind::Local))
            {
                errors.push(TopologyError::RestartOnLocalStorage {
                    vm: vn,
                    storage: self.label(local),
                });
                continue;
            }
            let Some(host) = self.vm_host(vm) else {
                continue; // VmNotPlaced says it.
            };
            if self.cluster_of(host) != Some(cluster) {
                errors.push(TopologyError::RestartOutsideCluster {
                    vm: vn,
                    cluster: cn,
                });
                continue;
            }
            let hosts = self.hosts_of(cluster).len();
            if hosts < 2 {
                errors.push(TopologyError::ClusterTooSmallForRestart {
                    cluster: cn,
                    vm: vn,
                    hosts,
                });
                continue;
            }
            if !stores.is_empty() && !self.is_restartable(vm) {
                errors.push(TopologyError::NoRestartTarget {
                    vm: vn,
                    cluster: cn,
                });
            }
        }
    }

    fn check_tie_breakers(&self, errors: &mut Vec<TopologyError>) {
        let pairs = self.drbd_pairs();
        for w in self.witnesses() {
            let Some(wh) = self.physical_host_of(w) else {
                if self.vm_host(w).is_none() {
                    errors.push(TopologyError::WitnessNotPlaced {
                        witness: self.label(w),
                    });
                }
                continue;
            };
            for pair in &pairs {
                for peer in pair.peers {
                    if self.physical_host_of(peer) == Some(wh) {
                        errors.push(TopologyError::WitnessOnPeerHost {
                            witness: self.label(w),
                            peer: self.label(peer),
                            host: self.label(wh),
                        });
                    }
                }
                for peer in pair.peers {
                    let shared = self
                        .targets(pair.resource, Relation::ReplicatesOver)
                        .into_iter()
                        .filter(|&n| self.net_role(n) == Some(Net::Replication))
                        .any(|n| self.reaches(w, n) && self.reaches(peer, n));
                    if !shared {
                        errors.push(TopologyError::WitnessCannotReachPeer {
                            witness: self.label(w),
                            peer: self.label(peer),
                        });
                    }
                }
            }
        }
        for p in self.ping_nodes() {
            let nets = self.targets(p, Relation::AttachedTo);
            for pair in &pairs {
                for vm in pair.peers {
                    if !nets.iter().any(|&n| self.reaches(vm, n)) {
                        errors.push(TopologyError::PingNodeUnreachable {
                            ping: self.label(p),
                            vm: self.label(vm),
                        });
                    }
                }
            }
        }
    }

    fn check_services(&self, errors: &mut Vec<TopologyError>) {
        for s in self.services() {
            let edges = self.neighbours(
                s,
                Relation::RunsIn { preferred: false },
                petgraph::Direction::Outgoing,
            );
            if edges.is_empty() {
                errors.push(TopologyError::ServiceNotPlaced {
                    service: self.label(s),
                });
                continue;
            }
            let count = edges
                .iter()
                .filter(|(_, r)| *r == Relation::RunsIn { preferred: true })
                .count();
            if count != 1 {
                errors.push(TopologyError::ServicePreferredCount {
                    service: self.label(s),
                    count,
                });
            }
        }
    }
}
