//! The lab graph: the study's architectures validate, their Y/N table follows from
//! their structure, every validation rule fires on a topology that breaks it, and the
//! graph's ids and network roles drive real machines in the harness.

use core::time::Duration;

use model::replication::{
    ConnState, Replica, ReplicaCommand, ReplicaConfig, ReplicaNotice, ReplicationNode,
    ReplicationNotice, Role,
};
use model::testing::{Cluster, VirtualDisk, VirtualNetwork};
use model::topology::{
    Architecture, BuildError, Element, ElementKind, Failure, FailureClass, Platform, Recovery,
    Relation, RestartPriority, ServiceKind, StorageKind, Topology, TopologyError, Volume,
};
use model::{Effect, Net, NodeId};

type Res = Result<(), Box<dyn std::error::Error>>;

fn drbd() -> Topology {
    Topology::drbd_heartbeat(Platform::Vmware, ServiceKind::Apache)
}

fn single() -> Topology {
    Topology::single_node(Platform::Vmware, ServiceKind::Apache)
}

fn combined() -> Topology {
    Topology::combined(Platform::Vmware, ServiceKind::Apache)
}

fn s(x: &str) -> String {
    x.to_owned()
}

/// Asserts the topology breaks exactly these rules, in this order.
fn assert_errors(t: &Topology, expected: Vec<TopologyError>) {
    assert_eq!(t.validate(), Err(expected));
}

// ---------------------------------------------------------------------------------
// The builders.

#[test]
fn every_architecture_validates_on_both_platforms_with_both_services() -> Res {
    for arch in Architecture::ALL {
        for platform in Platform::ALL {
            for service in ServiceKind::ALL {
                let t = Topology::build(arch, platform, service);
                assert_eq!(t.validate(), Ok(()), "{arch} on {platform} with {service}");
                if arch != Architecture::SingleNode {
                    let t = t.with_witness()?.with_ping_node()?;
                    assert_eq!(t.validate(), Ok(()), "{arch} on {platform} + witness, ping");
                }
            }
        }
    }
    Ok(())
}

#[test]
fn the_drbd_heartbeat_pair_is_named_like_the_study() -> Res {
    for (platform, [n1, n2], cluster) in [
        (Platform::Vmware, ["node1", "node2"], "vsphere-ha"),
        (Platform::OpenStack, ["OSnode1", "OSnode2"], "openstack"),
    ] {
        let t = Topology::drbd_heartbeat(platform, ServiceKind::Mysql);
        let pair = t.drbd_pair().ok_or("no pair")?;
        // The guests come first: they are a and b, as in the replication tests.
        assert_eq!(pair.peers, [NodeId(0), NodeId(1)]);
        assert_eq!(t.name_of(NodeId(0)), Some(n1));
        assert_eq!(t.name_of(NodeId(1)), Some(n2));
        assert_eq!(
            t.element(pair.resource),
            Some(&Element::Storage {
                name: s("ha"),
                kind: StorageKind::Replicated,
                volume: Some(Volume {
                    device: s("/dev/drbd0"),
                    disk: s("/dev/sdb1"),
                    mount_point: s("/storage"),
                    fs: s("ext4"),
                }),
            })
        );
        let c = t.id(cluster)?;
        assert_eq!(t.platform(c), Some(platform));
        assert_eq!(t.hosts_of(c), vec![t.id("x3650-1")?, t.id("x3650-2")?]);
        assert_eq!(t.cluster_of(t.id("x3650-3")?), None, "x3650-3 is outside");
        assert_eq!(t.vm_host(NodeId(0)), Some(t.id("x3650-1")?));
        assert_eq!(t.vm_host(NodeId(1)), Some(t.id("x3650-2")?));
        assert_eq!(t.replication_networks(&pair), vec![t.id("drbd")?]);
        assert_eq!(t.net_role(t.id("drbd")?), Some(Net::Replication));
        assert_eq!(
            t.heartbeat_rings(NodeId(0), NodeId(1)),
            vec![t.id("hb0")?, t.id("hb1")?]
        );
        assert_eq!(t.net_role(t.id("hb1")?), Some(Net::Ring(1)));
        assert_eq!(t.failover_partner(NodeId(0)), Some(NodeId(1)));
        let svc = t.id("mysql")?;
        assert_eq!(t.services(), vec![svc]);
        assert_eq!(t.preferred_vm(svc), Some(NodeId(0)));
        assert_eq!(t.service_vms(svc), vec![NodeId(0), NodeId(1)]);
        assert!(!t.is_restartable(NodeId(0)), "local disks: no restart");
        assert_eq!(t.restart_policy(NodeId(0)), None);
    }
    Ok(())
}

#[test]
fn the_combined_architecture_spans_two_clusters_of_nested_hypervisors() -> Res {
    let t = Topology::combined(Platform::OpenStack, ServiceKind::Apache);
    let [a, b] = t.drbd_pair().ok_or("no pair")?.peers;
    let primary = t.id("openstack-primary")?;
    let backup = t.id("openstack-backup")?;
    assert_eq!(
        t.hosts_of(primary),
        vec![t.id("compute-p1")?, t.id("compute-p2")?]
    );
    assert_eq!(
        t.hosts_of(backup),
        vec![t.id("compute-b1")?, t.id("compute-b2")?]
    );
    assert_eq!(t.vm_host(a), Some(t.id("compute-p1")?));
    assert_eq!(t.vm_host(b), Some(t.id("compute-b1")?));
    assert_eq!(t.physical_host_of(a), Some(t.id("x3650-1")?));
    assert_eq!(t.physical_host_of(b), Some(t.id("x3650-3")?));
    // x3650-2 carries the second hypervisor of both clusters.
    assert_eq!(t.physical_host(t.id("compute-p2")?), Some(t.id("x3650-2")?));
    assert_eq!(t.physical_host(t.id("compute-b2")?), Some(t.id("x3650-2")?));
    assert_eq!(
        t.restart_policy(a),
        Some((primary, RestartPriority::Medium))
    );
    assert_eq!(t.restart_policy(b), Some((backup, RestartPriority::Medium)));
    assert!(t.is_restartable(a) && t.is_restartable(b));
    assert_eq!(t.datastores_of(a), vec![t.id("primary-datastore")?]);
    assert_eq!(
        t.storage_kind(t.id("primary-datastore")?),
        Some(StorageKind::Shared)
    );
    assert!(t.reaches(a, t.id("hb0")?));
    assert!(
        !t.reaches(a, t.id("storage")?),
        "guests have no storage interface"
    );
    assert!(t.reaches(t.id("compute-p1")?, t.id("storage")?));
    Ok(())
}

#[test]
fn the_single_node_has_one_vm_on_local_storage_and_no_pair() -> Res {
    let t = single();
    assert_eq!(t.drbd_pair(), None);
    assert_eq!(t.of_kind(ElementKind::Vm), vec![NodeId(0)]);
    assert_eq!(t.datastores_of(NodeId(0)), vec![t.id("x3650-1-local")?]);
    assert!(!t.is_restartable(NodeId(0)));
    assert_eq!(t.with_witness().err(), Some(BuildError::NoDrbdPair));
    Ok(())
}

#[test]
fn the_witness_goes_on_the_physical_host_without_a_peer() -> Res {
    let t = drbd().with_witness()?;
    let w = t.id("witness")?;
    assert_eq!(t.vm_host(w), Some(t.id("x3650-3")?));
    assert_eq!(t.networks_reached(w), vec![t.id("drbd")?]);
    let t = combined().with_witness()?;
    let w = t.id("witness")?;
    assert_eq!(
        t.vm_host(w),
        Some(t.id("x3650-2")?),
        "x3650-2 runs only spare hypervisors"
    );
    // No physical host left: x3650-3 nested on x3650-1.
    let mut t = drbd();
    t.relate(t.id("x3650-3")?, t.id("x3650-1")?, Relation::NestedOn)?;
    assert_eq!(t.with_witness().err(), Some(BuildError::NoFreeHost));
    Ok(())
}

// ---------------------------------------------------------------------------------
// The study's Y/N table, derived from the structure.

/// STUDY (the results): recovered in all trials (true) or never. The
/// study did not run the cluster failure on the single node; it cannot survive it.
const TABLE: [(FailureClass, Architecture, bool); 9] = [
    (FailureClass::Software, Architecture::SingleNode, false),
    (FailureClass::Software, Architecture::DrbdHeartbeat, true),
    (FailureClass::Software, Architecture::Combined, true),
    (FailureClass::Hardware, Architecture::SingleNode, false),
    (FailureClass::Hardware, Architecture::DrbdHeartbeat, true),
    (FailureClass::Hardware, Architecture::Combined, true),
    (FailureClass::Cluster, Architecture::SingleNode, false),
    (FailureClass::Cluster, Architecture::DrbdHeartbeat, false),
    (FailureClass::Cluster, Architecture::Combined, true),
];

#[test]
fn the_study_table_follows_from_the_structure() -> Res {
    for platform in Platform::ALL {
        for service in ServiceKind::ALL {
            for (class, arch, expected) in TABLE {
                let t = Topology::build(arch, platform, service);
                let svc = t.services()[0];
                let failure = t.study_failure(svc, class).ok_or("no such failure")?;
                let r = t.recovery(svc, &failure);
                assert_eq!(
                    r.survives(),
                    expected,
                    "{class} failure, {arch}, {platform}, {service}: {r:?}"
                );
            }
        }
    }
    Ok(())
}

#[test]
fn how_each_architecture_recovers_from_the_studys_failures() -> Res {
    let (a, b) = (NodeId(0), NodeId(1));
    // Single node: nothing takes over.
    let t = single();
    let svc = t.services()[0];
    assert_eq!(t.recovery(svc, &Failure::Software(a)), Recovery::Lost);
    assert_eq!(
        t.recovery(svc, &Failure::Host(t.id("x3650-1")?)),
        Recovery::Lost
    );
    // DRBD + Heartbeat: Heartbeat fails over on software and host failure; the
    // cluster failure takes both guests.
    let t = drbd();
    let svc = t.services()[0];
    let to_b = Recovery::Failover { from: a, to: b };
    assert_eq!(t.recovery(svc, &Failure::Software(a)), to_b);
    assert_eq!(t.recovery(svc, &Failure::Host(t.id("x3650-1")?)), to_b);
    let cluster = Failure::Cluster(t.id("vsphere-ha")?);
    assert_eq!(t.affected_by(&cluster), vec![a, b]);
    assert_eq!(t.recovery(svc, &cluster), Recovery::Lost);
    // Combined: Heartbeat fails over, and the primary cluster could also restart the
    // guest on its other hypervisor (the study's slower path); after a whole cluster
    // failure only the failover is left.
    let t = combined();
    let svc = t.services()[0];
    let hw = Failure::Host(t.id("x3650-1")?);
    assert_eq!(t.recovery(svc, &hw), to_b);
    assert_eq!(t.restart_hosts(a, &hw), vec![t.id("esxi-p2")?]);
    let primary = Failure::Cluster(t.id("vsphere-ha-primary")?);
    assert_eq!(t.affected_by(&primary), vec![a]);
    assert_eq!(t.restart_hosts(a, &primary), vec![]);
    assert_eq!(t.recovery(svc, &primary), to_b);
    Ok(())
}

#[test]
fn every_single_failure_of_each_architecture() -> Res {
    // Single node: only the failures that miss its host (and its cluster) spare it.
    let t = single();
    let svc = t.services()[0];
    let spared: Vec<Failure> = t
        .single_failures()
        .into_iter()
        .filter(|f| t.recovery(svc, f).survives())
        .collect();
    assert_eq!(
        spared,
        vec![
            Failure::Host(t.id("x3650-2")?),
            Failure::Host(t.id("x3650-3")?)
        ]
    );
    // DRBD + Heartbeat: survives every single host, not its cluster.
    let t = drbd();
    let svc = t.services()[0];
    let lost: Vec<Failure> = t
        .single_failures()
        .into_iter()
        .filter(|f| !t.recovery(svc, f).survives())
        .collect();
    assert_eq!(lost, vec![Failure::Cluster(t.id("vsphere-ha")?)]);
    // Combined: survives every single failure, hosts physical or nested, and each
    // whole cluster.
    for platform in Platform::ALL {
        let t = Topology::combined(platform, ServiceKind::Mysql);
        let svc = t.services()[0];
        let failures = t.single_failures();
        assert_eq!(failures.len(), 2 + 7 + 2, "2 guests, 7 hosts, 2 clusters");
        for f in failures {
            assert!(t.recovery(svc, &f).survives(), "{platform}: {f:?}");
        }
    }
    Ok(())
}

#[test]
fn what_a_host_failure_takes_down() -> Res {
    let (a, b) = (NodeId(0), NodeId(1));
    let t = drbd();
    assert_eq!(t.affected_by_host_failure(t.id("x3650-1")?), vec![a]);
    assert_eq!(t.affected_by_host_failure(t.id("x3650-2")?), vec![b]);
    assert_eq!(t.affected_by_host_failure(t.id("x3650-3")?), vec![]);
    assert_eq!(
        t.down_storage(&Failure::Host(t.id("x3650-1")?)),
        [t.id("x3650-1-local")?].into()
    );
    let t = combined();
    // A physical host takes its nested hypervisors with it.
    assert_eq!(
        t.down_hosts(&Failure::Host(t.id("x3650-2")?)),
        [t.id("x3650-2")?, t.id("esxi-p2")?, t.id("esxi-b2")?].into()
    );
    // The datastores are mirrored over two physical hosts: x3650-2 takes neither.
    assert_eq!(t.affected_by_host_failure(t.id("x3650-2")?), vec![]);
    assert!(t.down_storage(&Failure::Host(t.id("x3650-2")?)).is_empty());
    assert_eq!(t.affected_by_host_failure(t.id("esxi-p1")?), vec![a]);
    assert_eq!(t.affected_by_host_failure(t.id("x3650-3")?), vec![b]);
    assert_eq!(
        t.restart_hosts(b, &Failure::Host(t.id("x3650-3")?)),
        vec![t.id("esxi-b2")?]
    );
    // A software failure takes no VM down.
    assert_eq!(t.affected_by(&Failure::Software(a)), vec![]);
    Ok(())
}

#[test]
fn without_heartbeat_the_cluster_restart_is_what_is_left() -> Res {
    let (a, b) = (NodeId(0), NodeId(1));
    let mut t = combined();
    for ring in ["hb0", "hb1"] {
        t.unrelate(b, t.id(ring)?, Relation::HeartbeatOn);
        t.unrelate(a, t.id(ring)?, Relation::HeartbeatOn);
    }
    assert_eq!(t.failover_partner(a), None);
    let svc = t.services()[0];
    let hw = Failure::Host(t.id("x3650-1")?);
    assert_eq!(
        t.recovery(svc, &hw),
        Recovery::Restart {
            vm: a,
            hosts: vec![t.id("esxi-p2")?]
        }
    );
    // A software failure is not repaired by a VM restart.
    assert_eq!(t.recovery(svc, &Failure::Software(a)), Recovery::Lost);
    // The passive side's failure does not touch the service.
    assert_eq!(
        t.recovery(svc, &Failure::Host(t.id("x3650-3")?)),
        Recovery::Unaffected
    );
    // The whole primary cluster: no hypervisor left to restart on, no peer to fail
    // over to.
    let both = Failure::Cluster(t.id("vsphere-ha-primary")?);
    assert_eq!(t.recovery(svc, &both), Recovery::Lost);
    Ok(())
}

// ---------------------------------------------------------------------------------
// Every validation rule, each on a topology that breaks only it.

#[test]
fn a_vm_on_no_host() -> Res {
    let mut t = single();
    assert_eq!(t.unrelate(NodeId(0), t.id("x3650-1")?, Relation::RunsOn), 1);
    assert_errors(&t, vec![TopologyError::VmNotPlaced { vm: s("node1") }]);
    Ok(())
}

#[test]
fn a_vm_on_two_hosts() -> Res {
    let mut t = single();
    t.relate(NodeId(0), t.id("x3650-2")?, Relation::RunsOn)?;
    assert_errors(
        &t,
        vec![
            TopologyError::VmOnSeveralHosts {
                vm: s("node1"),
                hosts: vec![s("x3650-1"), s("x3650-2")],
            },
            TopologyError::DatastoreNotMounted {
                vm: s("node1"),
                storage: s("x3650-1-local"),
                host: s("x3650-2"),
            },
        ],
    );
    Ok(())
}

#[test]
fn a_vm_without_a_datastore() -> Res {
    let mut t = single();
    t.unrelate(NodeId(0), t.id("x3650-1-local")?, Relation::DiskOn);
    assert_errors(
        &t,
        vec![TopologyError::VmWithoutDatastore { vm: s("node1") }],
    );
    Ok(())
}

#[test]
fn a_datastore_its_host_does_not_mount() -> Res {
    let mut t = single();
    t.unrelate(t.id("x3650-1")?, t.id("x3650-1-local")?, Relation::Mounts);
    assert_errors(
        &t,
        vec![TopologyError::DatastoreNotMounted {
            vm: s("node1"),
            storage: s("x3650-1-local"),
            host: s("x3650-1"),
        }],
    );
    Ok(())
}

#[test]
fn local_storage_on_two_hosts() -> Res {
    let mut t = single();
    t.relate(
        t.id("x3650-1-local")?,
        t.id("x3650-2")?,
        Relation::LocatedOn,
    )?;
    assert_errors(
        &t,
        vec![TopologyError::LocalStorageNotOnOneHost {
            storage: s("x3650-1-local"),
            hosts: vec![s("x3650-1"), s("x3650-2")],
        }],
    );
    Ok(())
}

#[test]
fn local_storage_mounted_by_another_host() -> Res {
    let mut t = single();
    t.relate(t.id("x3650-2")?, t.id("x3650-1-local")?, Relation::Mounts)?;
    assert_errors(
        &t,
        vec![TopologyError::LocalStorageMountedElsewhere {
            storage: s("x3650-1-local"),
            host: s("x3650-2"),
        }],
    );
    Ok(())
}

#[test]
fn a_host_in_two_clusters() -> Res {
    let mut t = single();
    let other = t.add_cluster("other", Platform::OpenStack)?;
    t.relate(t.id("x3650-1")?, other, Relation::MemberOf)?;
    assert_errors(
        &t,
        vec![TopologyError::HostInSeveralClusters {
            host: s("x3650-1"),
            clusters: vec![s("vsphere-ha"), s("other")],
        }],
    );
    Ok(())
}

#[test]
fn a_hypervisor_nested_on_two_hosts() -> Res {
    let mut t = combined();
    t.relate(t.id("esxi-p1")?, t.id("x3650-3")?, Relation::NestedOn)?;
    assert_errors(
        &t,
        vec![TopologyError::NestedOnSeveralHosts {
            host: s("esxi-p1"),
            hosts: vec![s("x3650-1"), s("x3650-3")],
        }],
    );
    Ok(())
}

#[test]
fn hosts_nested_on_each_other() -> Res {
    let mut t = single();
    let (h1, h2) = (t.id("x3650-1")?, t.id("x3650-2")?);
    t.relate(h1, h2, Relation::NestedOn)?;
    t.relate(h2, h1, Relation::NestedOn)?;
    assert_eq!(t.physical_host(h1), None);
    assert_errors(&t, vec![TopologyError::NestingCycle { host: s("x3650-1") }]);
    Ok(())
}

#[test]
fn a_replicated_resource_with_one_peer() -> Res {
    let mut t = drbd();
    t.unrelate(NodeId(1), t.id("ha")?, Relation::DiskOn);
    assert_eq!(t.drbd_pair(), None);
    assert_errors(
        &t,
        vec![TopologyError::ReplicatedStorageNotAPair {
            storage: s("ha"),
            vms: vec![s("node1")],
        }],
    );
    Ok(())
}

#[test]
fn drbd_peers_on_the_same_host() -> Res {
    let mut t = drbd();
    let (h1, b) = (t.id("x3650-1")?, NodeId(1));
    t.place(b, h1)?;
    t.unrelate(b, t.id("x3650-2-local")?, Relation::DiskOn);
    t.relate(b, t.id("x3650-1-local")?, Relation::DiskOn)?;
    assert_errors(
        &t,
        vec![TopologyError::DrbdPeersOnSameHost {
            a: s("node1"),
            b: s("node2"),
            host: s("x3650-1"),
        }],
    );
    Ok(())
}

#[test]
fn drbd_peers_on_the_same_physical_host_through_different_clusters() -> Res {
    // Each guest on the hypervisor its cluster runs on x3650-2: different hosts and
    // clusters, one physical host.
    let mut t = combined();
    t.place(NodeId(0), t.id("esxi-p2")?)?;
    t.place(NodeId(1), t.id("esxi-b2")?)?;
    assert_errors(
        &t,
        vec![TopologyError::DrbdPeersOnSameHost {
            a: s("node1"),
            b: s("node2"),
            host: s("x3650-2"),
        }],
    );
    Ok(())
}

#[test]
fn drbd_without_a_replication_network() -> Res {
    let expected = vec![TopologyError::NoReplicationNetwork {
        storage: s("ha"),
        a: s("node1"),
        b: s("node2"),
    }];
    // The resource names no network.
    let mut t = drbd();
    t.unrelate(t.id("ha")?, t.id("drbd")?, Relation::ReplicatesOver);
    assert_errors(&t, expected.clone());
    // The network is there, but node2's host has no interface on it.
    let mut t = drbd();
    t.unrelate(t.id("x3650-2")?, t.id("drbd")?, Relation::AttachedTo);
    assert!(!t.reaches(NodeId(1), t.id("drbd")?));
    assert_errors(&t, expected.clone());
    // The resource replicates over the public network: not a replication network.
    let mut t = drbd();
    t.unrelate(t.id("ha")?, t.id("drbd")?, Relation::ReplicatesOver);
    t.relate(t.id("ha")?, t.id("public")?, Relation::ReplicatesOver)?;
    assert_errors(&t, expected);
    Ok(())
}

#[test]
fn drbd_without_a_heartbeat_ring() -> Res {
    let mut t = drbd();
    for vm in [NodeId(0), NodeId(1)] {
        for ring in ["hb0", "hb1"] {
            t.unrelate(vm, t.id(ring)?, Relation::HeartbeatOn);
        }
    }
    assert_eq!(t.failover_partner(NodeId(0)), None);
    assert_errors(
        &t,
        vec![TopologyError::NoHeartbeatRing {
            a: s("node1"),
            b: s("node2"),
        }],
    );
    Ok(())
}

#[test]
fn a_heartbeat_ring_that_misses_a_peer() -> Res {
    // node2's host has no interface on hb1: node1's heartbeats there reach nobody.
    let mut t = drbd();
    t.unrelate(t.id("x3650-2")?, t.id("hb1")?, Relation::AttachedTo);
    assert_errors(
        &t,
        vec![TopologyError::RingDoesNotConnectPeers {
            ring: s("hb1"),
            from: s("node1"),
            peer: s("node2"),
        }],
    );
    // node1 stops sending on hb0: node2's heartbeats there reach nobody.
    let mut t = drbd();
    t.unrelate(NodeId(0), t.id("hb0")?, Relation::HeartbeatOn);
    assert_eq!(t.heartbeat_rings(NodeId(0), NodeId(1)), vec![t.id("hb1")?]);
    assert_errors(
        &t,
        vec![TopologyError::RingDoesNotConnectPeers {
            ring: s("hb0"),
            from: s("node2"),
            peer: s("node1"),
        }],
    );
    Ok(())
}

#[test]
fn heartbeats_on_a_network_that_is_not_a_ring() -> Res {
    let mut t = drbd();
    t.relate(NodeId(0), t.id("public")?, Relation::HeartbeatOn)?;
    assert_errors(
        &t,
        vec![TopologyError::HeartbeatOnNonRing {
            vm: s("node1"),
            network: s("public"),
        }],
    );
    Ok(())
}

#[test]
fn a_restart_policy_on_local_storage() -> Res {
    let mut t = drbd();
    let c = t.id("vsphere-ha")?;
    t.relate(
        NodeId(0),
        c,
        Relation::ProtectedBy {
            priority: RestartPriority::High,
        },
    )?;
    assert!(!t.is_restartable(NodeId(0)));
    assert_errors(
        &t,
        vec![TopologyError::RestartOnLocalStorage {
            vm: s("node1"),
            storage: s("x3650-1-local"),
        }],
    );
    Ok(())
}

#[test]
fn a_restart_policy_of_another_cluster() -> Res {
    let mut t = combined();
    let (primary, backup) = (t.id("vsphere-ha-primary")?, t.id("vsphere-ha-backup")?);
    let medium = Relation::ProtectedBy {
        priority: RestartPriority::Medium,
    };
    assert_eq!(t.unrelate(NodeId(0), primary, medium), 1);
    t.relate(NodeId(0), backup, medium)?;
    assert!(!t.is_restartable(NodeId(0)));
    assert_errors(
        &t,
        vec![TopologyError::RestartOutsideCluster {
            vm: s("node1"),
            cluster: s("vsphere-ha-backup"),
        }],
    );
    Ok(())
}

#[test]
fn a_cluster_too_small_to_restart() -> Res {
    let mut t = combined();
    t.unrelate(
        t.id("esxi-p2")?,
        t.id("vsphere-ha-primary")?,
        Relation::MemberOf,
    );
    assert!(!t.is_restartable(NodeId(0)));
    assert_errors(
        &t,
        vec![TopologyError::ClusterTooSmallForRestart {
            cluster: s("vsphere-ha-primary"),
            vm: s("node1"),
            hosts: 1,
        }],
    );
    Ok(())
}

#[test]
fn no_other_host_mounts_the_datastore() -> Res {
    let mut t = combined();
    t.unrelate(
        t.id("esxi-p2")?,
        t.id("primary-datastore")?,
        Relation::Mounts,
    );
    assert!(!t.is_restartable(NodeId(0)));
    assert_errors(
        &t,
        vec![TopologyError::NoRestartTarget {
            vm: s("node1"),
            cluster: s("vsphere-ha-primary"),
        }],
    );
    Ok(())
}

#[test]
fn a_witness_on_no_host() -> Res {
    let mut t = drbd().with_witness()?;
    t.unrelate(t.id("witness")?, t.id("x3650-3")?, Relation::RunsOn);
    assert_errors(
        &t,
        vec![TopologyError::WitnessNotPlaced {
            witness: s("witness"),
        }],
    );
    Ok(())
}

#[test]
fn a_witness_under_a_peer() -> Res {
    // On the physical host under node1's nested hypervisor.
    let mut t = combined().with_witness()?;
    t.place(t.id("witness")?, t.id("x3650-1")?)?;
    assert_errors(
        &t,
        vec![TopologyError::WitnessOnPeerHost {
            witness: s("witness"),
            peer: s("node1"),
            host: s("x3650-1"),
        }],
    );
    Ok(())
}

#[test]
fn a_witness_off_the_replication_network() -> Res {
    let mut t = drbd().with_witness()?;
    t.unrelate(t.id("x3650-3")?, t.id("drbd")?, Relation::AttachedTo);
    assert_errors(
        &t,
        vec![
            TopologyError::WitnessCannotReachPeer {
                witness: s("witness"),
                peer: s("node1"),
            },
            TopologyError::WitnessCannotReachPeer {
                witness: s("witness"),
                peer: s("node2"),
            },
        ],
    );
    Ok(())
}

#[test]
fn a_ping_node_a_peer_cannot_reach() -> Res {
    let mut t = drbd().with_ping_node()?;
    t.unrelate(NodeId(1), t.id("public")?, Relation::AttachedTo);
    assert_errors(
        &t,
        vec![TopologyError::PingNodeUnreachable {
            ping: s("gateway"),
            vm: s("node2"),
        }],
    );
    Ok(())
}

#[test]
fn a_service_in_no_vm() -> Res {
    let mut t = single();
    let svc = t.id("apache2")?;
    t.unrelate(svc, NodeId(0), Relation::RunsIn { preferred: false });
    assert_errors(
        &t,
        vec![TopologyError::ServiceNotPlaced {
            service: s("apache2"),
        }],
    );
    Ok(())
}

#[test]
fn a_service_preferring_both_nodes() -> Res {
    let mut t = drbd();
    let svc = t.id("apache2")?;
    t.unrelate(svc, NodeId(1), Relation::RunsIn { preferred: false });
    t.relate(svc, NodeId(1), Relation::RunsIn { preferred: true })?;
    assert_errors(
        &t,
        vec![TopologyError::ServicePreferredCount {
            service: s("apache2"),
            count: 2,
        }],
    );
    Ok(())
}

#[test]
fn errors_name_the_elements_involved() {
    let e = TopologyError::DrbdPeersOnSameHost {
        a: s("node1"),
        b: s("node2"),
        host: s("x3650-1"),
    };
    assert_eq!(
        e.to_string(),
        "drbd peers `node1` and `node2` both run on physical host `x3650-1`"
    );
}

// ---------------------------------------------------------------------------------
// Editing the graph.

#[test]
fn malformed_edits_are_refused_and_change_nothing() -> Res {
    let mut t = drbd();
    let before = t.relations();
    assert_eq!(
        t.add_host("x3650-1"),
        Err(BuildError::DuplicateName {
            name: s("x3650-1"),
            existing: t.id("x3650-1")?,
        })
    );
    assert_eq!(
        t.relate(NodeId(0), t.id("x3650-1")?, Relation::MemberOf),
        Err(BuildError::WrongEndpoints {
            relation: "member-of",
            from: s("node1"),
            from_kind: ElementKind::Vm,
            to: s("x3650-1"),
            to_kind: ElementKind::Host,
        })
    );
    let missing = NodeId(u16::try_from(t.len())?);
    assert_eq!(
        t.relate(NodeId(0), missing, Relation::RunsOn),
        Err(BuildError::UnknownElement { id: missing })
    );
    assert_eq!(
        t.place(NodeId(0), t.id("drbd")?).map_err(|e| e.to_string()),
        Err(s(
            "relation runs-on cannot go from vm `node1` to network `drbd`"
        ))
    );
    assert_eq!(
        t.id("nope"),
        Err(BuildError::UnknownName { name: s("nope") })
    );
    // Adding an edge twice keeps one.
    t.relate(NodeId(0), t.id("x3650-1")?, Relation::RunsOn)?;
    assert_eq!(t.relations(), before);
    assert_eq!(t.validate(), Ok(()));
    Ok(())
}

#[test]
fn ids_are_the_insertion_order_and_graph_indices() -> Res {
    let mut t = Topology::new();
    assert!(t.is_empty());
    let h = t.add_host("h")?;
    let v = t.add_vm("v")?;
    assert_eq!((h, v), (NodeId(0), NodeId(1)));
    t.relate(v, h, Relation::RunsOn)?;
    let g = t.graph();
    assert_eq!(g.node_count(), 2);
    assert_eq!(
        g.node_weight(petgraph::graph::NodeIndex::new(1))
            .map(|e| e.name()),
        Some("v")
    );
    assert_eq!(t.ids().collect::<Vec<_>>(), vec![h, v]);
    assert_eq!(t.vms_on(h), vec![v]);
    Ok(())
}

// ---------------------------------------------------------------------------------
// DOT.

#[test]
fn dot_mentions_every_element_and_every_relation() -> Res {
    for arch in Architecture::ALL {
        let t = Topology::build(arch, Platform::OpenStack, ServiceKind::Mysql);
        let t = if arch == Architecture::SingleNode {
            t.with_ping_node()?
        } else {
            t.with_witness()?.with_ping_node()?
        };
        let dot = t.to_dot();
        assert!(dot.starts_with("digraph topology {\n") && dot.ends_with("}\n"));
        for id in t.ids() {
            let name = t.name_of(id).ok_or("unnamed")?;
            assert!(
                dot.contains(&format!("  n{} [", id.0)),
                "{arch}: vertex {name}"
            );
            assert!(dot.contains(name), "{arch}: {name}");
        }
        let edges = dot.lines().filter(|l| l.contains(" -> ")).count();
        assert_eq!(edges, t.relations().len(), "{arch}");
        for (from, to, rel) in t.relations() {
            assert!(
                dot.contains(&format!(
                    "  n{} -> n{} [label=\"{}",
                    from.0,
                    to.0,
                    rel.label()
                )),
                "{arch}: {from} {rel} {to}"
            );
        }
    }
    let dot = drbd().to_dot();
    assert!(dot.contains("/dev/drbd0 on /dev/sdb1"));
    assert!(dot.contains("role: ring1"));
    let mut t = Topology::new();
    t.add_host("quote\"d")?;
    assert!(t.to_dot().contains("quote\\\"d"));
    Ok(())
}

// ---------------------------------------------------------------------------------
// The graph drives machines: its ids are the replicas' ids, its network roles are the
// harness' partitions, its failure queries say what to crash.

const BLOCKS: u64 = 1024;

fn role(lab: &Cluster<ReplicationNode>, n: NodeId) -> Option<Role> {
    lab.node(n).replica().map(Replica::role)
}

fn conn(lab: &Cluster<ReplicationNode>, n: NodeId) -> Option<ConnState> {
    lab.node(n).replica().map(Replica::conn)
}

fn conn_lost_at(lab: &Cluster<ReplicationNode>, n: NodeId) -> Option<model::Time> {
    lab.records()
        .iter()
        .find(|r| {
            r.node == n
                && r.effect
                    == Effect::Event(ReplicationNotice::Replica(ReplicaNotice::Conn(
                        ConnState::Connecting,
                    )))
        })
        .map(|r| r.time)
}

#[test]
fn the_topology_drives_a_replica_pair_through_the_harness() -> Res {
    let t = combined();
    let pair = t.drbd_pair().ok_or("no pair")?;
    let [a, b] = pair.peers;
    let repl = t.replication_networks(&pair);
    let repl_role = t.net_role(repl[0]).ok_or("no role")?;
    let mut lab: Cluster<ReplicationNode> = Cluster::new();
    lab.net = VirtualNetwork::new(Duration::from_millis(1));
    for (me, peer) in [(a, b), (b, a)] {
        let c = ReplicaConfig::new(me, peer, BLOCKS);
        lab.add(
            me,
            ReplicationNode::from(Replica::new(c)),
            VirtualDisk::new(Duration::from_millis(2)),
        );
    }
    for n in [a, b] {
        lab.command(
            n,
            ReplicaCommand::Connect {
                discard_my_data: false,
            },
        );
    }
    lab.run_for(Duration::from_secs(1));
    let svc = t.services()[0];
    let active = t.preferred_vm(svc).ok_or("no active vm")?;
    assert_eq!(active, a);
    lab.command(active, ReplicaCommand::Promote { force: true });
    lab.run_for(Duration::from_secs(5));
    assert_eq!(role(&lab, a), Some(Role::Primary));
    assert_eq!(conn(&lab, b), Some(ConnState::Connected));
    // Cutting a heartbeat ring's role does not touch DRBD...
    let hb0 = t.net_role(t.id("hb0")?).ok_or("no role")?;
    assert_eq!(hb0, Net::Ring(0));
    lab.partition_net(a, b, hb0);
    lab.run_for(Duration::from_secs(25));
    assert_eq!(conn(&lab, b), Some(ConnState::Connected));
    lab.heal_net(a, b, hb0);
    // ...cutting the topology's replication role does, within ping-int (10 s) +
    // ping-timeout (0.5 s) of the last answered ping.
    assert_eq!(repl_role, Net::Replication);
    lab.take_records();
    let cut = lab.now();
    lab.partition_net(a, b, repl_role);
    lab.run_for(Duration::from_secs(12));
    let lost = conn_lost_at(&lab, b).ok_or("b never noticed the cut")?;
    assert!(
        lost > cut && lost <= cut + Duration::from_millis(10_500),
        "{lost:?} vs {cut:?}"
    );
    lab.heal_net(a, b, repl_role);
    lab.run_for(Duration::from_secs(15));
    assert_eq!(
        conn(&lab, b),
        Some(ConnState::Connected),
        "reconnects after the heal"
    );
    lab.take_records();
    // The study's hardware failure: crash what the topology says it takes down.
    let hw = t
        .study_failure(svc, FailureClass::Hardware)
        .ok_or("no failure")?;
    assert_eq!(hw, Failure::Host(t.id("x3650-1")?));
    let crashed = t.affected_by(&hw);
    assert_eq!(crashed, vec![a]);
    let t0 = lab.now();
    for vm in &crashed {
        lab.crash(*vm);
    }
    lab.run_for(Duration::from_secs(15));
    let lost = conn_lost_at(&lab, b).ok_or("b never noticed the crash")?;
    assert!(
        lost > t0 && lost <= t0 + Duration::from_millis(10_500),
        "{lost:?} vs {t0:?}"
    );
    // The recovery the topology predicts is a failover to b: b can be promoted.
    assert_eq!(t.recovery(svc, &hw), Recovery::Failover { from: a, to: b });
    lab.command(b, ReplicaCommand::Promote { force: false });
    lab.run_for(Duration::from_millis(100));
    assert_eq!(role(&lab, b), Some(Role::Primary));
    Ok(())
}
