//! What a resource manager reports about the group, for traces, status and tests.

use serde::{Deserialize, Serialize};

use crate::{OcfExit, ProcessId};

/// An observable change in the group on one node.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ResourceNotice {
    /// The group begins to start here (the first start or promote is issued).
    GroupStarting,
    /// Every resource of the group runs here (also after a local restart: the service is
    /// back).
    GroupStarted,
    /// The group begins to stop here.
    GroupStopping,
    /// Every resource of the group is stopped here (the replica demoted).
    GroupStopped,
    /// A resource was started (the replica: promoted).
    ResourceStarted(ProcessId),
    /// A resource was stopped (the replica: demoted).
    ResourceStopped(ProcessId),
    /// A recurring monitor answered something other than the expected exit.
    MonitorFailed {
        /// The resource.
        id: ProcessId,
        /// What the monitor answered.
        exit: OcfExit,
    },
    /// A soft failure below the migration threshold: the resource and those above it are
    /// stopped and started again here.
    Restarting(ProcessId),
    /// A resource's fail count on this node changed (`u32::MAX` is INFINITY).
    FailCount {
        /// The resource.
        id: ProcessId,
        /// Its fail count.
        count: u32,
    },
    /// A resource's fail count expired after `failure_timeout` without a new failure.
    FailCountExpired(ProcessId),
    /// A resource's fail count reached the migration threshold: the group leaves.
    MigrationThresholdReached(ProcessId),
    /// A start (the replica: promote) failed.
    StartFailed {
        /// The resource.
        id: ProcessId,
        /// How it ended.
        exit: OcfExit,
    },
    /// A stop (the replica: demote) failed; the node asks to be fenced.
    StopFailed {
        /// The resource.
        id: ProcessId,
        /// How it ended.
        exit: OcfExit,
    },
    /// A hard error (OCF 2-5): the group may not run on this node any more.
    Banned {
        /// The resource.
        id: ProcessId,
        /// The exit.
        exit: OcfExit,
    },
    /// A fatal error (OCF 6), here or reported by the peer: the group may run nowhere.
    Blocked {
        /// The resource.
        id: ProcessId,
        /// The exit.
        exit: OcfExit,
    },
    /// The group, stopped here, was handed to the peer.
    HandedOver,
    /// This node refused the peer's handover: it cannot run the group.
    HandoverDeclined,
    /// The peer refused this node's handover.
    HandoverRefused,
    /// `auto_failback`: the preferred node is back and idle, the group goes back to it.
    FailingBack,
    /// Both nodes run the group (they were partitioned); the node that is not preferred
    /// stops it.
    ActiveOnBoth,
    /// Told to take over, but this node cannot run the group (banned, blocked, or over
    /// the migration threshold).
    CannotRun,
    /// Fail counts, bans and blocks were cleared by the operator.
    CleanedUp,
}
