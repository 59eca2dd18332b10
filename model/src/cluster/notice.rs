//! What both flavours of the cluster layer report, in one vocabulary, so the simulator,
//! the checker and the reports treat a VMware-style and an OpenStack-style cluster alike.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::{NodeId, ProcessId};

/// What an isolated host does with its running VMs (vSphere HA "host isolation
/// response").
///
/// src: DD: response = leave powered on (default
/// 5.0+) | power off | shut down.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum IsolationAction {
    /// Leave the VMs running (the default since vSphere 5.0): an isolated host usually
    /// still runs its VMs fine, and the master does not restart VMs of a host whose
    /// datastore heartbeats it still sees.
    #[default]
    LeavePoweredOn,
    /// Power the VMs off at once, so the master can restart them where the network works.
    PowerOff,
    /// Shut the guests down cleanly, then the master restarts them. Modelled as the same
    /// `Stop` as a power-off: how long a stop takes is the driver's business.
    ShutDown,
}

impl fmt::Display for IsolationAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IsolationAction::LeavePoweredOn => "leave powered on",
            IsolationAction::PowerOff => "power off",
            IsolationAction::ShutDown => "shut down",
        })
    }
}

/// Why the cluster gives up on restarting a VM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum NotRestartable {
    /// Its disk is on the failed host's own storage: no other host can run it. This is
    /// the study's point: without shared storage, layer 1 cannot help.
    LocalStorage,
    /// No live host can run it (none mounts its datastore, none is up, or the scheduler
    /// found no valid host).
    NoCompatibleHost,
    /// Every restart attempt failed (vSphere: 5 tries; OpenStack: the recovery method's
    /// fallback failed too).
    RetriesExhausted,
    /// OpenStack: the failed host could not be confirmed powered off, so evacuating its
    /// VMs could run them twice.
    HostNotFenced,
}

/// An observable change of the cluster layer. Each machine emits what it knows: the
/// FDM master (or Masakari engine, or Nova controller) classifies hosts and restarts
/// VMs, a host reports its own isolation and its VMs' power state.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ClusterNotice {
    /// This host is dead: no network heartbeat, no datastore heartbeat, no ping answer
    /// (VMware), or a host monitor reported it down (OpenStack, at the Masakari engine).
    HostFailed(NodeId),
    /// This host is isolated: no network heartbeat but alive on its datastores, with
    /// its isolation flag set. A host also reports its own isolation.
    HostIsolated(NodeId),
    /// This host is in another network partition: no network heartbeat but alive on
    /// its datastores, without the isolation flag.
    HostPartitioned(NodeId),
    /// A host that was failed, isolated or partitioned is heard from again.
    HostRecovered(NodeId),
    /// This agent started a master election (its master fell silent, or it booted).
    ElectionStarted,
    /// This host became the master (of its network partition).
    MasterElected(NodeId),
    /// A host asked its driver to boot a VM (the `Process Start` it emits right after):
    /// the moment a power-on or restart reaches the hypervisor.
    VmStarting {
        /// The VM.
        vm: ProcessId,
        /// Where.
        host: NodeId,
    },
    /// A host asked its driver to power a VM off (the `Process Stop` it emits right
    /// after).
    VmStopping {
        /// The VM.
        vm: ProcessId,
        /// Where.
        host: NodeId,
    },
    /// A VM booted on a host (a first power-on or a restart).
    VmPoweredOn {
        /// The VM.
        vm: ProcessId,
        /// Where.
        host: NodeId,
    },
    /// A VM was powered off on a host (operator, or isolation response).
    VmPoweredOff {
        /// The VM.
        vm: ProcessId,
        /// Where.
        host: NodeId,
    },
    /// The coordinator asked `host` to restart (power on, rebuild) `vm`.
    VmRestartStarted {
        /// The VM.
        vm: ProcessId,
        /// The host asked to run it.
        host: NodeId,
    },
    /// A restart finished: `vm` runs on `host`.
    VmRestarted {
        /// The VM.
        vm: ProcessId,
        /// Where it runs now.
        host: NodeId,
    },
    /// Restart attempt `attempt` (from 1) of `vm` failed.
    VmRestartFailed {
        /// The VM.
        vm: ProcessId,
        /// Which attempt, from 1.
        attempt: u8,
    },
    /// The cluster will not restart `vm`.
    VmNotRestartable {
        /// The VM.
        vm: ProcessId,
        /// Why.
        reason: NotRestartable,
    },
    /// VMware: another host took this VM's disk lock while this host's lease had
    /// lapsed; the instance here powers off.
    LockLost {
        /// The VM.
        vm: ProcessId,
        /// The host that lost the lock (the emitter).
        host: NodeId,
    },
    /// An isolated host applied its isolation response.
    IsolationResponse {
        /// The isolated host (the emitter).
        host: NodeId,
        /// What it did.
        action: IsolationAction,
    },
    /// OpenStack: a host monitor saw this host leave the Corosync membership and sent a
    /// host-down notification.
    HostDownNotified(NodeId),
    /// OpenStack: Nova considers this host's compute service down (no report for
    /// `service_down_time`), or it was forced down.
    ServiceDown(NodeId),
    /// OpenStack: this host's compute service reports again.
    ServiceUp(NodeId),
    /// OpenStack: this host's compute service was disabled (no new VMs are scheduled on
    /// it).
    ComputeDisabled(NodeId),
    /// OpenStack: this host's compute service was enabled (e.g. a reserved host taken
    /// into use).
    ComputeEnabled(NodeId),
    /// OpenStack: STONITH of this host finished.
    HostFenced {
        /// The fenced host.
        host: NodeId,
        /// Whether it is known to be off.
        success: bool,
    },
    /// OpenStack: Nova refused to evacuate `vm` because its host `host` is not down.
    EvacuationRefused {
        /// The VM.
        vm: ProcessId,
        /// Its host, still considered up.
        host: NodeId,
    },
    /// OpenStack: the recovery workflow of this host finished (every VM evacuated,
    /// failed or not restartable).
    HostRecoveryFinished(NodeId),
}

/// The line for a cluster-layer notice in a timeline, in the vocabulary of vSphere HA's
/// and Masakari's own logs; `node` names hosts, `vm` names VMs. `None` for the chatter
/// (a VM starting or stopping as part of a restart already reported).
pub fn cluster_notice_text(
    notice: &ClusterNotice,
    node: &dyn Fn(NodeId) -> String,
    vm: &dyn Fn(ProcessId) -> String,
) -> Option<String> {
    use ClusterNotice as C;
    Some(match notice {
        C::HostFailed(h) => format!("host {} failed", node(*h)),
        C::HostIsolated(h) => format!("host {} isolated", node(*h)),
        C::HostPartitioned(h) => format!("host {} partitioned", node(*h)),
        C::HostRecovered(h) => format!("host {} recovered", node(*h)),
        C::ElectionStarted => "HA master election started".to_string(),
        C::MasterElected(h) => format!("host {} elected HA master", node(*h)),
        C::VmStarting { .. } | C::VmStopping { .. } => return None,
        C::VmPoweredOn { vm: v, host } => format!("VM {} powered on on {}", vm(*v), node(*host)),
        C::VmPoweredOff { vm: v, host } => format!("VM {} powered off on {}", vm(*v), node(*host)),
        C::LockLost { vm: v, host } => format!(
            "VM {} lost its disk lock on {}: powering it off",
            vm(*v),
            node(*host)
        ),
        C::VmRestartStarted { vm: v, host } => {
            format!("restarting VM {} on {}", vm(*v), node(*host))
        }
        C::VmRestarted { vm: v, host } => format!("VM {} restarted on {}", vm(*v), node(*host)),
        C::VmRestartFailed { vm: v, attempt } => {
            format!("restart of VM {} failed (attempt {attempt})", vm(*v))
        }
        C::VmNotRestartable { vm: v, reason } => {
            format!("VM {} cannot be restarted ({reason:?})", vm(*v))
        }
        C::IsolationResponse { host, action } => {
            format!("isolation response on {}: {action}", node(*host))
        }
        C::HostDownNotified(h) => format!("host monitor: {} is down, notification sent", node(*h)),
        C::ServiceDown(h) => format!("nova-compute on {} is down", node(*h)),
        C::ServiceUp(h) => format!("nova-compute on {} is up", node(*h)),
        C::ComputeDisabled(h) => format!("compute service on {} disabled", node(*h)),
        C::ComputeEnabled(h) => format!("compute service on {} enabled", node(*h)),
        C::HostFenced { host, success } => format!(
            "host {} {}",
            node(*host),
            if *success {
                "fenced"
            } else {
                "could not be fenced"
            }
        ),
        C::EvacuationRefused { vm: v, host } => {
            format!("evacuation of VM {} from {} refused", vm(*v), node(*host))
        }
        C::HostRecoveryFinished(h) => format!("recovery of host {} finished", node(*h)),
    })
}
