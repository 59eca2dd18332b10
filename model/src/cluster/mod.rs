//! The virtualization-cluster HA layer (layer 1 of the study): when a physical host
//! fails, the cluster restarts its VMs on the surviving hosts, if their disks can be
//! reached from there (STUDY (the idea)).
//!
//! Two flavours behind one interface:
//!
//! * [`vmware`]: vSphere HA / FDM: master election among host agents, network and
//!   datastore heartbeats, failed vs isolated vs partitioned hosts, the isolation
//!   response, restart priorities, concurrency and retries;
//! * [`openstack`]: Nova + Masakari: nova-compute service reports and
//!   `service_down_time`, a host monitor on a Corosync-like ring, the Masakari engine's
//!   fence / disable / wait / evacuate workflow with its recovery methods.
//!
//! Both emit the same [`ClusterNotice`]s and take the same [`ClusterCommand`]s, and both
//! flavours' node machines implement [`VmRestartLayer`], so the simulator, the checker
//! and the reports treat them alike. The shared pieces, one concept per module:
//!
//! * [`vm`]: [`VmSpec`], [`VmStorage`], [`RestartPriority`];
//! * [`notice`]: [`ClusterNotice`], [`IsolationAction`], [`NotRestartable`];
//! * `host_vms` (private): the VMs one host runs, as OCF `Start`/`Stop` requests.
//!
//! A VM is a managed process of its host: the host's machine boots it with
//! `Effect::Process(ProcessRequest { action: OcfAction::Start, .. })` (the driver answers
//! `Success` when the guest has booted) and powers it off with `Stop`. A VM whose storage
//! is [`VmStorage::Local`] is never restarted on another host.

use std::collections::BTreeSet;

use crate::{Machine, NodeId, ProcessId};

mod host_vms;
pub mod notice;
pub mod openstack;
pub mod vm;
pub mod vmware;

pub use notice::{ClusterNotice, IsolationAction, NotRestartable, cluster_notice_text};
pub use vm::{RestartPriority, VmConfigError, VmSpec, VmStorage, validate_vms};

/// What an operator (or the scenario driving a simulation) asks of a cluster node. Both
/// flavours take the same commands; a node ignores what does not apply to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClusterCommand {
    /// The host (or service) starts: FDM joins or starts an election; nova-compute starts
    /// reporting and the host monitor joins the ring; the Nova controller starts its
    /// service-down clocks. Engines, datastores and the isolation address need no boot.
    Boot,
    /// Power `vm` on on this host (vCenter "power on", `nova start`): a VM powered on
    /// becomes protected.
    PowerOn(ProcessId),
    /// Power `vm` off on this host (an operator's power-off: the cluster forgets it).
    PowerOff(ProcessId),
    /// OpenStack, to the Nova controller: `nova evacuate vm` by hand (the scheduler
    /// picks the host). Refused while the VM's host is not down.
    Evacuate {
        /// The VM.
        vm: ProcessId,
    },
    /// OpenStack, to the Nova controller: `nova service-force-down host`: the host counts
    /// as down at once, without waiting for `service_down_time`.
    ForceDown {
        /// The host.
        host: NodeId,
    },
}

/// The interface the node machines of both flavours share, so drivers and reports can
/// treat a VMware-style and an OpenStack-style cluster alike: same commands, same
/// notices, the same questions about state.
pub trait VmRestartLayer: Machine<Notice = ClusterNotice, Command = ClusterCommand> {
    /// The VMs this node runs (booted, not powered off). Empty for nodes that are not
    /// hosts (datastores, controllers).
    fn vms_running(&self) -> BTreeSet<ProcessId>;

    /// Whether this node decides restarts now: the FDM master (of its partition), the
    /// Masakari engine.
    fn is_coordinator(&self) -> bool;
}
