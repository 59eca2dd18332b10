//! The names of the study's lab, with where each comes from.
//!
//! src: STUDY (the lab) unless a line says otherwise; the thesis' screenshots and
//! appendix B are cited as "thesis fig." / "thesis app. B" (the Chinese original in
//! `seed/`).

use super::Platform;

/// The three IBM System x3650 M4 hosts (2 x Xeon E5-2620, 128 GB, 8 x 600 GB SAS,
/// 4 x 1 GbE, dual PSU). src: STUDY (the lab).
pub const PHYSICAL_HOSTS: [&str; 3] = ["x3650-1", "x3650-2", "x3650-3"];

/// The DRBD resource. src: STUDY (the idea) (resource `ha`; thesis fig. 4.6
/// `0:ha Connected Primary/Secondary UpToDate/UpToDate C /storage ext4`).
pub const RESOURCE: &str = "ha";

/// The service network clients (ApacheBench, tpcc-mysql from the tester laptop) use.
pub const PUBLIC: &str = "public";
/// The DRBD replication link (1 GbE; thesis app. B: `address 192.168.159.11`).
pub const REPLICATION: &str = "drbd";
/// The Heartbeat rings. Two: see `docs/architecture.md` (topology).
pub const RINGS: [&str; 2] = ["hb0", "hb1"];
/// The cluster's management network (vCenter/FDM heartbeats, Nova/Masakari).
pub const MANAGEMENT: &str = "management";
/// The storage network of the combined architecture's shared datastores.
pub const STORAGE: &str = "storage";
/// The witness [`super::Topology::with_witness`] adds (not in the study).
pub const WITNESS: &str = "witness";
/// The ping node [`super::Topology::with_ping_node`] adds (not in the study).
pub const PING_NODE: &str = "gateway";

/// The two guests of the pair (the first alone in the single-node architecture): the
/// hostnames in the thesis' screenshots, `OSnode1`/`OSnode2` on OpenStack (thesis figs.
/// 4.6 to 4.9) and `node1`/`node2` on VMware (thesis fig. 4.13).
pub fn vm_names(platform: Platform) -> [&'static str; 2] {
    match platform {
        Platform::Vmware => ["node1", "node2"],
        Platform::OpenStack => ["OSnode1", "OSnode2"],
    }
}

/// The cluster of the one-cluster architectures.
pub fn cluster_name(platform: Platform) -> &'static str {
    match platform {
        Platform::Vmware => "vsphere-ha",
        Platform::OpenStack => "openstack",
    }
}

/// The two clusters of the combined architecture: primary, backup.
pub fn cluster_names(platform: Platform) -> [&'static str; 2] {
    match platform {
        Platform::Vmware => ["vsphere-ha-primary", "vsphere-ha-backup"],
        Platform::OpenStack => ["openstack-primary", "openstack-backup"],
    }
}

/// The nested hypervisors of the combined architecture: primary cluster's two, then
/// the backup cluster's two.
pub fn nested_host_names(platform: Platform) -> [&'static str; 4] {
    match platform {
        Platform::Vmware => ["esxi-p1", "esxi-p2", "esxi-b1", "esxi-b2"],
        Platform::OpenStack => ["compute-p1", "compute-p2", "compute-b1", "compute-b2"],
    }
}

/// A physical host's local datastore.
pub fn local_datastore(host: &str) -> String {
    format!("{host}-local")
}

/// The combined architecture's shared datastores: primary cluster's, backup's.
pub const SHARED_DATASTORES: [&str; 2] = ["primary-datastore", "backup-datastore"];
