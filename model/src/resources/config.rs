//! The configuration of one resource group, with Pacemaker's and Heartbeat's defaults and
//! their sources.

use core::time::Duration;
use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::{NodeId, OcfAction, OcfExit, ProcessId};

/// What a resource of the group is; decides which OCF actions start and stop it and what
/// its monitor should answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ResourceKind {
    /// The replicated block device (Heartbeat's `drbddisk::r0`, Pacemaker's promotable
    /// `ocf:linbit:drbd`). It runs unpromoted (DRBD Secondary) on both nodes all the
    /// time; "starting" it here is `Promote` and "stopping" it is `Demote`, and its
    /// monitor answers `RunningPromoted` while it is started.
    Replica,
    /// The file system on the device (`Filesystem::/dev/drbd0::/mnt::ext4`). Its start
    /// includes fsck or journal replay after an unclean failover, whose duration the
    /// driver decides.
    Filesystem,
    /// The service address (`IPaddr2`).
    Address,
    /// The service itself (Apache, MySQL).
    Service,
}

impl ResourceKind {
    /// The OCF action that brings the resource up on the active node.
    pub fn start_action(self) -> OcfAction {
        match self {
            ResourceKind::Replica => OcfAction::Promote,
            _ => OcfAction::Start,
        }
    }

    /// The OCF action that takes the resource down on the active node.
    pub fn stop_action(self) -> OcfAction {
        match self {
            ResourceKind::Replica => OcfAction::Demote,
            _ => OcfAction::Stop,
        }
    }

    /// What a monitor of the started resource answers when all is well: `RunningPromoted`
    /// for the replica (src: OCF exit code 8),
    /// `Success` for the rest. Anything else is a failure.
    pub fn monitor_expects(self) -> OcfExit {
        match self {
            ResourceKind::Replica => OcfExit::RunningPromoted,
            _ => OcfExit::Success,
        }
    }

    /// The default monitor interval of the agent that manages this kind of resource.
    ///
    /// * Replica: 10 s. src: DRBD-OCF: ocf:linbit:drbd
    ///   monitors every 10 s in the promoted (Primary) role.
    /// * Filesystem: 20 s. src: RA `heartbeat/Filesystem` meta-data
    ///   (`monitor interval="20s"`).
    /// * Address: 10 s. src: RA `heartbeat/IPaddr2` meta-data
    ///   (`monitor interval="10s"`).
    /// * Service: 10 s. src: RA `heartbeat/apache` meta-data
    ///   (`monitor interval="10"`).
    pub fn default_monitor_interval(self) -> Duration {
        match self {
            ResourceKind::Replica | ResourceKind::Address | ResourceKind::Service => {
                Duration::from_secs(10)
            }
            ResourceKind::Filesystem => Duration::from_secs(20),
        }
    }
}

/// Pacemaker's default timeout of an operation that sets none.
/// src: PX: op timeout 20 s.
pub const DEFAULT_OP_TIMEOUT: Duration = Duration::from_secs(20);

/// One resource of the group (one word of a Heartbeat `haresources` line, one primitive of
/// a Pacemaker group).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResourceSpec {
    /// The managed process the driver runs the resource's actions on.
    pub id: ProcessId,
    /// The resource's name, for traces (`drbddisk::r0`, `Filesystem`, `IPaddr2`, `apache`).
    pub name: String,
    /// What it is.
    pub kind: ResourceKind,
    /// Time between two recurring monitors of the started resource; zero turns monitoring
    /// off (Heartbeat v1 `haresources` never monitored resources). Default: the agent's
    /// advertised interval, see [`ResourceKind::default_monitor_interval`].
    pub monitor_interval: Duration,
    /// How long any action (start, stop, promote, demote, monitor) may take before it
    /// counts as failed with [`crate::OcfExit::Timeout`].
    /// Default 20 s. src: PX: op timeout 20 s.
    pub op_timeout: Duration,
}

impl ResourceSpec {
    /// A resource with its agent's monitor interval and Pacemaker's default op timeout.
    pub fn new(id: ProcessId, name: impl Into<String>, kind: ResourceKind) -> ResourceSpec {
        ResourceSpec {
            id,
            name: name.into(),
            kind,
            monitor_interval: kind.default_monitor_interval(),
            op_timeout: DEFAULT_OP_TIMEOUT,
        }
    }
}

/// The configuration of one node's resource manager for one active/passive group.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GroupConfig {
    /// This node.
    pub me: NodeId,
    /// The other node that can run the group.
    pub peer: NodeId,
    /// The group, in start order: started left to right, stopped right to left (src:
    /// HA-CF: `haresources` order).
    pub resources: Vec<ResourceSpec>,
    /// The node named first on the `haresources` line: it starts the group initially and,
    /// with `auto_failback`, gets it back when it returns.
    pub preferred: NodeId,
    /// Whether the group moves back to `preferred` when that node is alive and idle again.
    /// Default on. src: HA-CF (Heartbeat `ha.cf` auto_failback
    /// on|off|legacy); Heartbeat's default is `legacy`, which fails back like `on`
    /// (HA-CF: linux-ha.org "ha.cf/AutoFailbackDirective").
    pub auto_failback: bool,
    /// Failures of one resource on this node after which the group leaves it.
    /// Default `u32::MAX` (Pacemaker's INFINITY: never move on soft failures); `0` turns
    /// the threshold off as in Pacemaker, leaving only INFINITY fail counts (failed
    /// starts) to move the group. src: PX: migration-threshold INFINITY.
    pub migration_threshold: u32,
    /// After this long without a new failure a resource's fail count is forgotten; zero
    /// keeps fail counts until a cleanup. Default 0. src: PX: failure-timeout 0.
    pub failure_timeout: Duration,
    /// Whether a failed start sets the fail count to INFINITY (the group leaves this node
    /// at once) instead of adding one. Default true. src: PX cluster option
    /// `start-failure-is-fatal` (default true).
    pub start_failure_is_fatal: bool,
}

impl GroupConfig {
    /// The group `resources` between `me` and `peer`, preferring `preferred`, with
    /// Pacemaker's and Heartbeat's defaults.
    pub fn new(
        me: NodeId,
        peer: NodeId,
        preferred: NodeId,
        resources: Vec<ResourceSpec>,
    ) -> GroupConfig {
        GroupConfig {
            me,
            peer,
            resources,
            preferred,
            auto_failback: true,
            migration_threshold: u32::MAX,
            failure_timeout: Duration::ZERO,
            start_failure_is_fatal: true,
        }
    }

    /// Checks what the resource manager cannot work with.
    pub fn validate(&self) -> Result<(), GroupConfigError> {
        if self.me == self.peer {
            return Err(GroupConfigError::PeerIsSelf(self.me));
        }
        if self.preferred != self.me && self.preferred != self.peer {
            return Err(GroupConfigError::PreferredUnknown(self.preferred));
        }
        if self.resources.is_empty() {
            return Err(GroupConfigError::EmptyGroup);
        }
        let mut seen = BTreeSet::new();
        let mut after_replica_part = None;
        for r in &self.resources {
            if !seen.insert(r.id) {
                return Err(GroupConfigError::DuplicateId(r.id));
            }
            if r.op_timeout.is_zero() {
                return Err(GroupConfigError::ZeroOpTimeout(r.id));
            }
            match (r.kind, after_replica_part) {
                (ResourceKind::Replica, Some(first)) => {
                    return Err(GroupConfigError::ReplicaNotFirst {
                        replica: r.id,
                        after: first,
                    });
                }
                (ResourceKind::Replica, None) => {}
                (_, None) => after_replica_part = Some(r.id),
                (_, Some(_)) => {}
            }
        }
        Ok(())
    }

    /// Whether `count` failures of one resource keep the group off this node.
    pub fn threshold_reached(&self, count: u32) -> bool {
        count == u32::MAX || (self.migration_threshold != 0 && count >= self.migration_threshold)
    }
}

/// A group configuration the resource manager refuses.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GroupConfigError {
    /// `peer` names this node.
    #[error("peer: {0} is this node itself")]
    PeerIsSelf(NodeId),
    /// `preferred` is neither node.
    #[error("preferred: {0} is neither this node nor the peer")]
    PreferredUnknown(NodeId),
    /// `resources` is empty.
    #[error("resources: the group has no resources")]
    EmptyGroup,
    /// Two resources share a process id.
    #[error("resources: process id {0} appears twice")]
    DuplicateId(ProcessId),
    /// An op timeout of zero fails every action at once.
    #[error("resources: op_timeout of {0} is zero")]
    ZeroOpTimeout(ProcessId),
    /// A replica after another kind of resource: everything above the device must stop
    /// before it is demoted, so replicas come first.
    #[error("resources: replica {replica} comes after {after}; replicas must come first")]
    ReplicaNotFirst {
        /// The misplaced replica.
        replica: ProcessId,
        /// The resource it follows.
        after: ProcessId,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group() -> GroupConfig {
        GroupConfig::new(
            NodeId(0),
            NodeId(1),
            NodeId(0),
            vec![
                ResourceSpec::new(ProcessId(1), "drbddisk::r0", ResourceKind::Replica),
                ResourceSpec::new(ProcessId(2), "Filesystem", ResourceKind::Filesystem),
                ResourceSpec::new(ProcessId(3), "IPaddr2", ResourceKind::Address),
                ResourceSpec::new(ProcessId(4), "apache", ResourceKind::Service),
            ],
        )
    }

    #[test]
    fn defaults_follow_pacemaker_and_heartbeat() {
        let g = group();
        assert_eq!(g.validate(), Ok(()));
        assert!(g.auto_failback);
        assert_eq!(g.migration_threshold, u32::MAX);
        assert_eq!(g.failure_timeout, Duration::ZERO);
        assert!(g.start_failure_is_fatal);
        assert_eq!(g.resources[0].op_timeout, Duration::from_secs(20));
        assert_eq!(g.resources[0].monitor_interval, Duration::from_secs(10));
        assert_eq!(g.resources[1].monitor_interval, Duration::from_secs(20));
        assert_eq!(ResourceKind::Replica.start_action(), OcfAction::Promote);
        assert_eq!(ResourceKind::Replica.stop_action(), OcfAction::Demote);
        assert_eq!(ResourceKind::Service.start_action(), OcfAction::Start);
    }

    #[test]
    fn the_threshold_counts_as_pacemaker_does() {
        let mut g = group();
        assert!(!g.threshold_reached(1_000_000));
        assert!(g.threshold_reached(u32::MAX));
        g.migration_threshold = 3;
        assert!(!g.threshold_reached(2));
        assert!(g.threshold_reached(3));
        g.migration_threshold = 0;
        assert!(!g.threshold_reached(3));
        assert!(g.threshold_reached(u32::MAX));
    }

    #[test]
    fn every_refused_configuration_names_its_field() {
        let mut g = group();
        g.peer = g.me;
        assert_eq!(g.validate(), Err(GroupConfigError::PeerIsSelf(NodeId(0))));

        let mut g = group();
        g.preferred = NodeId(7);
        let e = g.validate().expect_err("unknown preferred node");
        assert_eq!(e, GroupConfigError::PreferredUnknown(NodeId(7)));
        assert!(e.to_string().starts_with("preferred:"));

        let mut g = group();
        g.resources.clear();
        assert_eq!(g.validate(), Err(GroupConfigError::EmptyGroup));

        let mut g = group();
        g.resources[2].id = ProcessId(1);
        assert_eq!(
            g.validate(),
            Err(GroupConfigError::DuplicateId(ProcessId(1)))
        );

        let mut g = group();
        g.resources[3].op_timeout = Duration::ZERO;
        let e = g.validate().expect_err("zero timeout");
        assert_eq!(e, GroupConfigError::ZeroOpTimeout(ProcessId(4)));
        assert!(e.to_string().contains("op_timeout"));

        let mut g = group();
        g.resources.swap(0, 1);
        assert_eq!(
            g.validate(),
            Err(GroupConfigError::ReplicaNotFirst {
                replica: ProcessId(1),
                after: ProcessId(2)
            })
        );
    }
}
