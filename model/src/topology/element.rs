//! The things a lab is made of: the vertices of the topology graph.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::Net;

/// Which virtualization platform a cluster runs.
///
/// The study built every architecture twice, once on each (STUDY, the three
/// architectures compared); the platform decides which cluster-HA flavour
/// (`model::cluster`) drives a cluster's VM restarts, not the shape of the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// vSphere 6.0 ESXi hosts with vCenter HA (FDM agents on the hosts).
    Vmware,
    /// OpenStack (VMware Integrated OpenStack) whose control plane is made HA by
    /// Pacemaker + Corosync; VM restart by evacuation (Masakari-like).
    OpenStack,
}

impl Platform {
    /// Both platforms, in the order the study's tables list them.
    pub const ALL: [Platform; 2] = [Platform::Vmware, Platform::OpenStack];

    /// The key used in files (profiles, results, schedules): `vmware`, `openstack`.
    pub fn key(self) -> &'static str {
        match self {
            Platform::Vmware => "vmware",
            Platform::OpenStack => "openstack",
        }
    }

    /// The name people read.
    pub fn label(self) -> &'static str {
        match self {
            Platform::Vmware => "VMware",
            Platform::OpenStack => "OpenStack",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// The service the study put under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ServiceKind {
    /// Apache httpd, loaded with ApacheBench.
    Apache,
    /// MySQL, loaded with tpcc-mysql.
    Mysql,
}

impl ServiceKind {
    /// Both services, in the order the study's tables list them.
    pub const ALL: [ServiceKind; 2] = [ServiceKind::Apache, ServiceKind::Mysql];

    /// The name of the service (its init script and OCF/LSB resource on Ubuntu 12.04,
    /// the guests' system: src STUDY (the lab)).
    pub fn daemon(self) -> &'static str {
        match self {
            ServiceKind::Apache => "apache2",
            ServiceKind::Mysql => "mysql",
        }
    }
}

impl fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.daemon())
    }
}

/// Where a disk lives, which decides whether a VM can be restarted on another host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum StorageKind {
    /// A datastore on one host's own disks: gone while that host is down, and only
    /// that host can run a VM from it (STUDY (the idea): without shared storage a VM
    /// cannot be restarted elsewhere).
    Local,
    /// A datastore several hosts mount. Located on no host it is an external SAN/NAS
    /// that no host failure takes down; located on hosts it is served by them
    /// (mirrored, vSAN-like) and survives while any of them is up.
    Shared,
    /// A DRBD resource: a block device mirrored between two VMs over a replication
    /// network, each copy on its VM's own virtual disk.
    Replicated,
}

impl fmt::Display for StorageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageKind::Local => f.write_str("local"),
            StorageKind::Shared => f.write_str("shared"),
            StorageKind::Replicated => f.write_str("replicated"),
        }
    }
}

/// How a replicated resource appears inside the guests: what the resource agents
/// (`drbddisk`, `Filesystem`) are configured with.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Volume {
    /// The DRBD device.
    pub device: String,
    /// The backing disk inside the guest.
    pub disk: String,
    /// Where the file system is mounted.
    pub mount_point: String,
    /// The file system type.
    pub fs: String,
}

impl Volume {
    /// The study's volume: `/dev/drbd0` on `/dev/sdb1` (the guests' second, 10 GB
    /// disk), ext4 mounted at `/storage`.
    ///
    /// src: STUDY (the idea) (resource `ha`, `/dev/drbd0`, ext4 at `/storage`) and the
    /// thesis' appendix B (`disk /dev/sdb1`, guests with 20 GB + 10 GB disks).
    pub fn study() -> Volume {
        Volume {
            device: "/dev/drbd0".into(),
            disk: "/dev/sdb1".into(),
            mount_point: "/storage".into(),
            fs: "ext4".into(),
        }
    }
}

/// What kind of element a vertex is, to check the endpoints of relations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ElementKind {
    /// [`Element::Cluster`].
    Cluster,
    /// [`Element::Host`].
    Host,
    /// [`Element::Network`].
    Network,
    /// [`Element::Vm`].
    Vm,
    /// [`Element::Service`].
    Service,
    /// [`Element::Storage`].
    Storage,
    /// [`Element::Witness`].
    Witness,
    /// [`Element::PingNode`].
    PingNode,
}

impl fmt::Display for ElementKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            ElementKind::Cluster => "cluster",
            ElementKind::Host => "host",
            ElementKind::Network => "network",
            ElementKind::Vm => "vm",
            ElementKind::Service => "service",
            ElementKind::Storage => "storage",
            ElementKind::Witness => "witness",
            ElementKind::PingNode => "ping node",
        };
        f.write_str(s)
    }
}

/// One vertex of the lab graph. Names are unique within a topology, so errors and
/// traces can name elements.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Element {
    /// A virtualization cluster: its member hosts restart each other's protected VMs.
    Cluster {
        /// Name.
        name: String,
        /// Which HA flavour restarts its VMs.
        platform: Platform,
    },
    /// A hypervisor host: physical, or nested (a hypervisor running as a VM on another
    /// host, see [`super::Relation::NestedOn`]).
    Host {
        /// Name.
        name: String,
    },
    /// A network (a VLAN / port group) with one role; the role is the [`Net`] the
    /// machines' messages on it use, so drivers can partition it.
    Network {
        /// Name.
        name: String,
        /// What it carries.
        role: Net,
    },
    /// A guest.
    Vm {
        /// Name (the guest's hostname, as in `ha.cf` and `drbd.conf`).
        name: String,
    },
    /// A service the study measured.
    Service {
        /// Name.
        name: String,
        /// Which one.
        kind: ServiceKind,
    },
    /// A datastore or a replicated resource.
    Storage {
        /// Name (for a replicated resource, the DRBD resource name).
        name: String,
        /// Local, shared or replicated.
        kind: StorageKind,
        /// For a replicated resource, how the guests see it.
        volume: Option<Volume>,
    },
    /// A DRBD diskless tie-breaker (quorum witness) of the topology's replicated
    /// resources.
    Witness {
        /// Name.
        name: String,
    },
    /// A Heartbeat ping node (`ping` in `ha.cf`, used by ipfail): an address outside the
    /// pair, typically the gateway, that tells a node whether its own network is up.
    PingNode {
        /// Name.
        name: String,
    },
}

impl Element {
    /// The element's name.
    pub fn name(&self) -> &str {
        match self {
            Element::Cluster { name, .. }
            | Element::Host { name }
            | Element::Network { name, .. }
            | Element::Vm { name }
            | Element::Service { name, .. }
            | Element::Storage { name, .. }
            | Element::Witness { name }
            | Element::PingNode { name } => name,
        }
    }

    /// The element's kind.
    pub fn kind(&self) -> ElementKind {
        match self {
            Element::Cluster { .. } => ElementKind::Cluster,
            Element::Host { .. } => ElementKind::Host,
            Element::Network { .. } => ElementKind::Network,
            Element::Vm { .. } => ElementKind::Vm,
            Element::Service { .. } => ElementKind::Service,
            Element::Storage { .. } => ElementKind::Storage,
            Element::Witness { .. } => ElementKind::Witness,
            Element::PingNode { .. } => ElementKind::PingNode,
        }
    }
}

impl fmt::Display for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind(), self.name())
    }
}
