//! The configuration of an OpenStack-style cluster (Nova + Masakari), with the
//! defaults of the real services and their sources.

use std::collections::BTreeSet;

use core::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cluster::vm::{VmConfigError, VmSpec, validate_vms};
use crate::{NodeId, ProcessId};

/// Where Masakari evacuates the VMs of a failed host (a failover segment's
/// `recovery_method`).
///
/// src: MS: recovery methods auto, reserved_host,
/// auto_priority, rh_priority.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum RecoveryMethod {
    /// Let the Nova scheduler pick any enabled, live host.
    #[default]
    Auto,
    /// Enable a reserved (standby, disabled) host and evacuate onto it.
    ReservedHost,
    /// `auto` first; for the VMs it fails, `reserved_host`.
    AutoPriority,
    /// `reserved_host` first; for the VMs it fails, `auto`.
    RhPriority,
}

/// One way of choosing a target, a step of a [`RecoveryMethod`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Placement {
    /// The scheduler chooses.
    Auto,
    /// A reserved host.
    Reserved,
}

impl RecoveryMethod {
    /// The placements tried, in order, for each VM.
    pub fn steps(self) -> &'static [Placement] {
        match self {
            RecoveryMethod::Auto => &[Placement::Auto],
            RecoveryMethod::ReservedHost => &[Placement::Reserved],
            RecoveryMethod::AutoPriority => &[Placement::Auto, Placement::Reserved],
            RecoveryMethod::RhPriority => &[Placement::Reserved, Placement::Auto],
        }
    }
}

/// The timers of Nova, the host monitor and the Masakari engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OpenStackTimers {
    /// nova-compute reports its service state this often (`report_interval`).
    ///
    /// src: NOVA: nova-compute reports every 10 s.
    pub report_interval: Duration,
    /// Nova counts a service down after this long without a report
    /// (`service_down_time`).
    ///
    /// src: NOVA: service_down_time 60 s.
    pub service_down_time: Duration,
    /// The host monitor polls the cluster membership this often (`monitoring_interval`).
    ///
    /// src: MI: monitoring_interval 60 s.
    pub monitoring_interval: Duration,
    /// After fencing a failed host, wait this long before recovery (`stonith_wait`).
    ///
    /// src: MI: stonith_wait 30 s.
    pub stonith_wait: Duration,
    /// After disabling the failed host's compute service, wait this long before
    /// evacuating (`wait_period_after_service_update`), so Nova counts it down.
    ///
    /// src: MS: wait_period_after_service_update
    /// 180 s.
    pub wait_after_service_update: Duration,
    /// Each evacuation must be confirmed (the VM active on its new host) within this
    /// (`wait_period_after_evacuation`).
    ///
    /// src: MS: confirm each within 90 s.
    pub wait_after_evacuation: Duration,
    /// Ring heartbeats among the compute hosts' cluster stack.
    ///
    /// src: model choice: Corosync's token circulates continuously; a
    /// heartbeat a second stands for it (the loss timeout below is what matters).
    pub ring_heartbeat: Duration,
    /// A host that has been silent on the ring this long leaves the membership: the
    /// Corosync token timeout plus the consensus timeout.
    ///
    /// src: CS: token 3000 ms, consensus = 1.2 x token, i.e. 3 s + 3.6 s.
    pub ring_timeout: Duration,
}

impl Default for OpenStackTimers {
    fn default() -> OpenStackTimers {
        OpenStackTimers {
            report_interval: Duration::from_secs(10),
            service_down_time: Duration::from_secs(60),
            monitoring_interval: Duration::from_secs(60),
            stonith_wait: Duration::from_secs(30),
            wait_after_service_update: Duration::from_secs(180),
            wait_after_evacuation: Duration::from_secs(90),
            ring_heartbeat: Duration::from_secs(1),
            ring_timeout: Duration::from_millis(6600),
        }
    }
}

/// One OpenStack-style cluster: compute hosts, the Nova controller, the Masakari engine
/// and one failover segment.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OpenStackConfig {
    /// The compute hosts (nova-compute and the host monitor on each), reserved hosts
    /// included.
    pub computes: BTreeSet<NodeId>,
    /// The Nova controller (API, conductor, scheduler, the service table).
    pub controller: NodeId,
    /// The Masakari engine.
    pub engine: NodeId,
    /// Reserved hosts: compute hosts kept disabled, so nothing is scheduled on them,
    /// until a recovery takes them into use.
    pub reserved_hosts: Vec<NodeId>,
    /// The segment's recovery method.
    pub recovery_method: RecoveryMethod,
    /// The instances.
    pub vms: Vec<VmSpec>,
    /// How many VMs the engine evacuates at once (`host_failure_recovery_threads`).
    ///
    /// src: MS: evacuate 3 instances at a time.
    pub evacuate_workers: usize,
    /// The timers.
    pub timers: OpenStackTimers,
}

impl OpenStackConfig {
    /// The defaults for `computes`, a controller and an engine, with no VMs yet.
    pub fn new(
        computes: impl IntoIterator<Item = NodeId>,
        controller: NodeId,
        engine: NodeId,
    ) -> OpenStackConfig {
        OpenStackConfig {
            computes: computes.into_iter().collect(),
            controller,
            engine,
            reserved_hosts: Vec::new(),
            recovery_method: RecoveryMethod::Auto,
            vms: Vec::new(),
            evacuate_workers: 3,
            timers: OpenStackTimers::default(),
        }
    }

    /// The VM `id`.
    pub fn vm(&self, id: ProcessId) -> Option<&VmSpec> {
        self.vms.iter().find(|v| v.id == id)
    }

    /// Checks what Nova and Masakari would refuse.
    pub fn validate(&self) -> Result<(), OpenStackConfigError> {
        if self.computes.is_empty() {
            return Err(OpenStackConfigError::NoComputes);
        }
        if self.computes.contains(&self.controller) || self.controller == self.engine {
            return Err(OpenStackConfigError::ControllerIsTaken(self.controller));
        }
        if self.computes.contains(&self.engine) {
            return Err(OpenStackConfigError::EngineIsACompute(self.engine));
        }
        if let Some(r) = self
            .reserved_hosts
            .iter()
            .find(|r| !self.computes.contains(r))
        {
            return Err(OpenStackConfigError::ReservedNotACompute(*r));
        }
        if self.recovery_method != RecoveryMethod::Auto && self.reserved_hosts.is_empty() {
            return Err(OpenStackConfigError::NoReservedHost(self.recovery_method));
        }
        validate_vms(&self.vms, &self.computes)?;
        if self.evacuate_workers == 0 {
            return Err(OpenStackConfigError::NoWorkers);
        }
        let t = &self.timers;
        if t.report_interval.is_zero() || t.service_down_time <= t.report_interval {
            return Err(OpenStackConfigError::ServiceDownTime {
                service_down_time: t.service_down_time,
                report_interval: t.report_interval,
            });
        }
        if t.monitoring_interval.is_zero()
            || t.ring_heartbeat.is_zero()
            || t.ring_timeout <= t.ring_heartbeat
            || t.wait_after_evacuation.is_zero()
        {
            return Err(OpenStackConfigError::Timer(
                "monitoring_interval, ring_heartbeat < ring_timeout, wait_after_evacuation",
            ));
        }
        Ok(())
    }
}

/// A configuration Nova or Masakari would refuse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OpenStackConfigError {
    /// `computes` is empty.
    #[error("computes: a cluster needs at least one compute host")]
    NoComputes,
    /// The controller is also a compute host or the engine.
    #[error("controller: {0} is also a compute host or the engine")]
    ControllerIsTaken(NodeId),
    /// The engine is also a compute host.
    #[error("engine: {0} is also a compute host")]
    EngineIsACompute(NodeId),
    /// A reserved host is not a compute host.
    #[error("reserved_hosts: {0} is not a compute host")]
    ReservedNotACompute(NodeId),
    /// A reserved-host method without reserved hosts.
    #[error("recovery_method: {0:?} needs at least one reserved host")]
    NoReservedHost(RecoveryMethod),
    /// A VM is misconfigured.
    #[error(transparent)]
    Vm(#[from] VmConfigError),
    /// `evacuate_workers` is zero.
    #[error("evacuate_workers: must be at least 1")]
    NoWorkers,
    /// Nova needs `service_down_time` > `report_interval` > 0.
    #[error(
        "timers.service_down_time: {service_down_time:?} must exceed report_interval {report_interval:?} (> 0)"
    )]
    ServiceDownTime {
        /// The configured service_down_time.
        service_down_time: Duration,
        /// The configured report_interval.
        report_interval: Duration,
    },
    /// Another timer is zero or out of order.
    #[error("timers: {0}")]
    Timer(&'static str),
}
