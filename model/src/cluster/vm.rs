//! What the virtualization cluster protects: VMs, where their disks live, and the order
//! they are restarted in.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::{NodeId, ProcessId};

/// Where a VM's virtual disk lives, which decides whether the cluster can restart the VM
/// on another host (STUDY (the idea): without shared storage a VM cannot be restarted
/// elsewhere, because its disk lives on the dead host).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum VmStorage {
    /// On its home host's own disks. The VM runs only there: when the host fails, the
    /// cluster can NOT restart it elsewhere (`VmNotRestartable`). A guest that replicates
    /// its data with DRBD inside the VM (layer 2) still has a local virtual disk: its
    /// VM is `Local` to the cluster.
    Local,
    /// On a datastore several hosts mount (SAN/NAS): any host that mounts it can run the
    /// VM.
    #[default]
    Shared,
    /// Mirrored by the storage layer across hosts (vSAN, Ceph RBD, a DRBD-backed
    /// datastore on the hosts): restartable on another host, like `Shared`.
    Replicated,
}

impl VmStorage {
    /// Whether a VM with this storage can run on a host other than its home.
    pub fn movable(self) -> bool {
        !matches!(self, VmStorage::Local)
    }
}

/// The order in which a cluster restarts VMs (vSphere HA's restart priority). Ordered
/// first to last, so sorting a list of VMs by priority gives the restart order.
///
/// src: DD: restart order agent VMs > FT secondaries >
/// High > Medium (default) > Low.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum RestartPriority {
    /// Agent VMs (e.g. a storage or network appliance other VMs need): first.
    Agent,
    /// Fault-tolerance secondaries: before all ordinary VMs.
    FtSecondary,
    /// High.
    High,
    /// Medium, the default (src: DD).
    #[default]
    Medium,
    /// Low: last.
    Low,
}

/// One protected VM.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct VmSpec {
    /// The managed process the host's driver boots (`Process Start`) and powers off
    /// (`Process Stop`).
    pub id: ProcessId,
    /// Its name, for people.
    pub name: String,
    /// The host it runs on first (and, for `Local` storage, the only one it can run on).
    pub home: NodeId,
    /// Where its disk lives.
    pub storage: VmStorage,
    /// Its restart priority.
    pub priority: RestartPriority,
}

impl VmSpec {
    /// A VM with the defaults: shared storage, medium priority.
    pub fn new(id: ProcessId, name: impl Into<String>, home: NodeId) -> VmSpec {
        VmSpec {
            id,
            name: name.into(),
            home,
            storage: VmStorage::default(),
            priority: RestartPriority::default(),
        }
    }

    /// The same VM with `storage`.
    pub fn with_storage(mut self, storage: VmStorage) -> VmSpec {
        self.storage = storage;
        self
    }

    /// The same VM with `priority`.
    pub fn with_priority(mut self, priority: RestartPriority) -> VmSpec {
        self.priority = priority;
        self
    }
}

/// A VM list no cluster would accept.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VmConfigError {
    /// Two VMs share an id: the drivers could not tell them apart.
    #[error("vms: id {0} is used by more than one VM")]
    DuplicateId(ProcessId),
    /// A VM's home is not a host of the cluster.
    #[error("vms[{vm}].home: {home} is not a host of the cluster")]
    HomeNotAHost {
        /// The VM.
        vm: ProcessId,
        /// Its home.
        home: NodeId,
    },
}

/// Checks that VM ids are unique and every home is one of `hosts`.
pub fn validate_vms(vms: &[VmSpec], hosts: &BTreeSet<NodeId>) -> Result<(), VmConfigError> {
    let mut seen = BTreeSet::new();
    for vm in vms {
        if !seen.insert(vm.id) {
            return Err(VmConfigError::DuplicateId(vm.id));
        }
        if !hosts.contains(&vm.home) {
            return Err(VmConfigError::HomeNotAHost {
                vm: vm.id,
                home: vm.home,
            });
        }
    }
    Ok(())
}
