//! The lab's identifiers, named: which [`NodeId`] is a guest, a host, a datastore, the
//! isolation address or a cluster controller, and which [`ProcessId`] is a VM or one of
//! the standard resource group's resources. Every driver (checker, simulator, lab) uses
//! these, so an id means one thing everywhere.

use crate::{NodeId, ProcessId};

/// Guest A, the preferred node (the active VM at the start).
pub const GUEST_A: NodeId = NodeId(0);
/// Guest B, the standby.
pub const GUEST_B: NodeId = NodeId(1);
/// The first host's id; a lab's hosts are numbered from here, cluster by cluster.
pub const FIRST_HOST: u16 = 10;
/// The first shared datastore's id (one per cluster).
pub const FIRST_DATASTORE: u16 = 20;
/// The isolation address (vSphere HA's `das.isolationaddress`, by default the gateway).
pub const ISOLATION_ADDRESS: NodeId = NodeId(25);
/// The first Nova controller's id (one per OpenStack cluster).
pub const FIRST_CONTROLLER: u16 = 30;
/// The first Masakari engine's id (one per OpenStack cluster).
pub const FIRST_ENGINE: u16 = 32;
/// At most this many clusters (the id ranges above leave room for two).
pub const MAX_CLUSTERS: usize = 2;
/// At most this many hosts (ids 10 to 19).
pub const MAX_HOSTS: usize = 10;

/// VM process ids start here: the VM of guest `g` is process `VM_BASE + g` on every
/// host that can run it, far from the resource ids of [`group`].
const VM_BASE: u16 = 100;

/// The VM of a guest, as the cluster layer knows it (a process on its host).
pub fn vm_of(guest: NodeId) -> ProcessId {
    ProcessId(VM_BASE + guest.0)
}

/// The guest a VM process carries, if `vm` is a VM id.
pub fn guest_of_vm(vm: ProcessId) -> Option<NodeId> {
    vm.0.checked_sub(VM_BASE).map(NodeId)
}

/// The standard resource group of a guest (Heartbeat's `haresources` line
/// `node1 drbddisk::ha Filesystem::/dev/drbd0::/storage::ext4 IPaddr2 apache`, in
/// start order), as process ids inside the guest.
pub mod group {
    use crate::ProcessId;

    /// The replica resource (`drbddisk`, Pacemaker's `drbd` master/slave).
    pub const REPLICA: ProcessId = ProcessId(1);
    /// The file system on the replicated device.
    pub const FILESYSTEM: ProcessId = ProcessId(2);
    /// The service address.
    pub const ADDRESS: ProcessId = ProcessId(3);
    /// The service (Apache, MySQL).
    pub const SERVICE: ProcessId = ProcessId(4);
}

/// A node's name in timelines: the guests `a` and `b`, hosts `h10`..`h19`, datastores
/// `ds20`.., the isolation address `gw`, Nova controllers `nova30`/`nova31`, Masakari
/// engines `masakari32`/`masakari33`.
pub fn node_name(node: NodeId) -> String {
    match node {
        GUEST_A => "a".into(),
        GUEST_B => "b".into(),
        ISOLATION_ADDRESS => "gw".into(),
        NodeId(n) if (FIRST_HOST..FIRST_DATASTORE).contains(&n) => format!("h{n}"),
        NodeId(n) if (FIRST_DATASTORE..ISOLATION_ADDRESS.0).contains(&n) => format!("ds{n}"),
        NodeId(n) if (FIRST_CONTROLLER..FIRST_ENGINE).contains(&n) => format!("nova{n}"),
        NodeId(n) if (FIRST_ENGINE..FIRST_ENGINE + 2).contains(&n) => format!("masakari{n}"),
        NodeId(n) => format!("n{n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_ids_and_resource_ids_never_meet() {
        for g in [GUEST_A, GUEST_B] {
            let vm = vm_of(g);
            assert_eq!(guest_of_vm(vm), Some(g));
            for r in [
                group::REPLICA,
                group::FILESYSTEM,
                group::ADDRESS,
                group::SERVICE,
            ] {
                assert_ne!(vm, r);
                assert_eq!(guest_of_vm(r), None);
            }
        }
    }

    #[test]
    fn names_follow_the_id_ranges() {
        assert_eq!(node_name(GUEST_B), "b");
        assert_eq!(node_name(NodeId(12)), "h12");
        assert_eq!(node_name(NodeId(21)), "ds21");
        assert_eq!(node_name(ISOLATION_ADDRESS), "gw");
        assert_eq!(node_name(NodeId(31)), "nova31");
        assert_eq!(node_name(NodeId(33)), "masakari33");
        assert_eq!(node_name(NodeId(40)), "n40");
    }
}
