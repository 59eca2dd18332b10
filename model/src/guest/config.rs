//! The configuration of one guest: its three parts, which must agree on who is who.

use serde::{Deserialize, Serialize};

use crate::membership::{MembershipConfig, MembershipConfigError};
use crate::replication::{ConfigError, ReplicaConfig};
use crate::resources::{GroupConfig, GroupConfigError, ResourceKind};
use crate::{NodeId, ProcessId};

/// One guest's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GuestConfig {
    /// The DRBD-like replica.
    pub replica: ReplicaConfig,
    /// Failure detection and fencing.
    pub membership: MembershipConfig,
    /// The resource group; its first resource must be the replica.
    pub group: GroupConfig,
}

/// A guest configuration that cannot work.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GuestConfigError {
    // The parts' errors are shown with their path prefix and not chained as sources:
    // a chain would print the same message twice (`membership.rings: …: rings: …`).
    /// The replica's configuration is invalid.
    #[error("replica.{0}")]
    Replica(ConfigError),
    /// The membership configuration is invalid.
    #[error("membership.{0}")]
    Membership(MembershipConfigError),
    /// The group configuration is invalid.
    #[error("group.{0}")]
    Group(GroupConfigError),
    /// The parts disagree about this node or its peer.
    #[error(
        "{part}: names node {found} where the replica has {expected} (me/peer must agree across replica, membership and group)"
    )]
    Mismatch {
        /// Which part disagrees.
        part: &'static str,
        /// What the replica says.
        expected: NodeId,
        /// What the part says.
        found: NodeId,
    },
    /// The group has no replica resource, so nothing would promote the replica.
    #[error("group.resources: no resource of kind Replica")]
    NoReplicaResource,
    /// The group has more than one replica resource; a guest holds one replica.
    #[error("group.resources: {0} resources of kind Replica, a guest holds exactly one")]
    SeveralReplicaResources(usize),
}

impl From<ConfigError> for GuestConfigError {
    fn from(e: ConfigError) -> Self {
        GuestConfigError::Replica(e)
    }
}

impl From<MembershipConfigError> for GuestConfigError {
    fn from(e: MembershipConfigError) -> Self {
        GuestConfigError::Membership(e)
    }
}

impl From<GroupConfigError> for GuestConfigError {
    fn from(e: GroupConfigError) -> Self {
        GuestConfigError::Group(e)
    }
}

impl GuestConfig {
    /// Checks each part and that they agree.
    pub fn validate(&self) -> Result<(), GuestConfigError> {
        self.replica.validate()?;
        self.membership.validate()?;
        self.group.validate()?;
        let (me, peer) = (self.replica.me, self.replica.peer);
        for (part, expected, found) in [
            ("membership.me", me, self.membership.me),
            ("membership.peer", peer, self.membership.peer),
            ("group.me", me, self.group.me),
            ("group.peer", peer, self.group.peer),
        ] {
            if expected != found {
                return Err(GuestConfigError::Mismatch {
                    part,
                    expected,
                    found,
                });
            }
        }
        self.replica_resource().map(|_| ())
    }

    /// The group's replica resource.
    pub fn replica_resource(&self) -> Result<ProcessId, GuestConfigError> {
        let replicas: Vec<ProcessId> = self
            .group
            .resources
            .iter()
            .filter(|r| r.kind == ResourceKind::Replica)
            .map(|r| r.id)
            .collect();
        match replicas.as_slice() {
            [] => Err(GuestConfigError::NoReplicaResource),
            [one] => Ok(*one),
            many => Err(GuestConfigError::SeveralReplicaResources(many.len())),
        }
    }
}
