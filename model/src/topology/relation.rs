//! How the elements of a lab relate: the edges of the topology graph.

use core::fmt;

use serde::{Deserialize, Serialize};

use super::ElementKind;

/// A VM's restart priority: the cluster layer's own type, so a topology and the
/// machines built from it cannot disagree.
pub use crate::cluster::RestartPriority;

/// A directed edge of the lab graph. Each relation has fixed endpoint kinds
/// ([`Relation::endpoints`]), checked when the edge is added, so the rules of
/// [`super::Topology::validate`] only deal with meaning, never with shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Relation {
    /// Host -> Cluster: the host is a member (a host belongs to at most one cluster, as
    /// in vCenter and in a Masakari segment).
    MemberOf,
    /// Host -> Host: the first is a nested hypervisor running as a VM on the second, so
    /// the second's failure is the first's.
    NestedOn,
    /// Host | Vm | Witness | PingNode -> Network: has an interface on it. A guest
    /// reaches a network only if its host does too.
    AttachedTo,
    /// Vm | Witness -> Host: runs there now.
    RunsOn,
    /// Vm -> Storage: one of the VM's disks is there (its system disk on a datastore,
    /// its DRBD device on a replicated resource).
    DiskOn,
    /// Storage -> Host: the storage's bytes are on that host's disks.
    LocatedOn,
    /// Host -> Storage: the host has the datastore mounted, so it can run VMs from it.
    Mounts,
    /// Service -> Vm: the service is configured in that VM (Heartbeat's `haresources`
    /// on both nodes of a pair); `preferred` is the node named in `haresources`, where
    /// the service runs when both are up.
    RunsIn {
        /// Whether this is the service's preferred (initially active) VM.
        preferred: bool,
    },
    /// Storage -> Network: the replicated resource mirrors over that network (the
    /// `address` lines of `drbd.conf`).
    ReplicatesOver,
    /// Vm -> Network: the VM's Heartbeat sends keepalives on that network (a `bcast`
    /// or `ucast` media line of `ha.cf`); the network's role is the ring number.
    HeartbeatOn,
    /// Vm -> Cluster: the cluster restarts the VM when its host fails (vSphere HA
    /// protection, Masakari instance HA).
    ProtectedBy {
        /// Restart order among the cluster's VMs.
        priority: RestartPriority,
    },
}

impl Relation {
    /// The kinds this relation may go from and to.
    pub fn endpoints(&self) -> (&'static [ElementKind], &'static [ElementKind]) {
        use ElementKind as K;
        match self {
            Relation::MemberOf => (&[K::Host], &[K::Cluster]),
            Relation::NestedOn => (&[K::Host], &[K::Host]),
            Relation::AttachedTo => (&[K::Host, K::Vm, K::Witness, K::PingNode], &[K::Network]),
            Relation::RunsOn => (&[K::Vm, K::Witness], &[K::Host]),
            Relation::DiskOn => (&[K::Vm], &[K::Storage]),
            Relation::LocatedOn => (&[K::Storage], &[K::Host]),
            Relation::Mounts => (&[K::Host], &[K::Storage]),
            Relation::RunsIn { .. } => (&[K::Service], &[K::Vm]),
            Relation::ReplicatesOver => (&[K::Storage], &[K::Network]),
            Relation::HeartbeatOn => (&[K::Vm], &[K::Network]),
            Relation::ProtectedBy { .. } => (&[K::Vm], &[K::Cluster]),
        }
    }

    /// A short label (DOT edges, errors).
    pub fn label(&self) -> &'static str {
        match self {
            Relation::MemberOf => "member-of",
            Relation::NestedOn => "nested-on",
            Relation::AttachedTo => "attached-to",
            Relation::RunsOn => "runs-on",
            Relation::DiskOn => "disk-on",
            Relation::LocatedOn => "located-on",
            Relation::Mounts => "mounts",
            Relation::RunsIn { preferred: true } => "runs-in (preferred)",
            Relation::RunsIn { preferred: false } => "runs-in",
            Relation::ReplicatesOver => "replicates-over",
            Relation::HeartbeatOn => "heartbeat-on",
            Relation::ProtectedBy { .. } => "restarted-by",
        }
    }

    /// Whether two relations are of the same kind, whatever their data.
    pub fn same_kind(&self, other: &Relation) -> bool {
        core::mem::discriminant(self) == core::mem::discriminant(other)
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}
