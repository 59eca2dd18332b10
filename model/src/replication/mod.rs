//! A DRBD-like replica of one resource.
//!
//! Two diskful nodes mirror a block device; optionally a diskless [`Witness`] breaks
//! ties for quorum. The pieces, one concept per module:
//!
//! * [`state`]: roles, disk and connection states, protocols;
//! * [`config`]: the resource configuration with DRBD's defaults;
//! * [`uuid`]: data-generation identifiers and `drbd_uuid_compare`;
//! * [`handshake`]: the connect-time decision, split-brain recovery policies;
//! * [`dopd`]: what the `fence-peer` helper of `resource-only` fencing answers;
//! * [`bitmap`]: the out-of-sync bitmap and the activity log;
//! * [`msg`], [`meta`], [`notice`]: what goes over the wire, onto the disk, into traces;
//! * [`replica`]: the [`Replica`] machine; [`witness`]: the [`Witness`] machine;
//! * [`node`]: either of them, for drivers that run a whole resource.

pub mod bitmap;
pub mod config;
pub mod dopd;
pub mod handshake;
pub mod meta;
pub mod msg;
pub mod node;
pub mod notice;
pub mod replica;
pub mod state;
pub mod uuid;
pub mod witness;

pub use config::{
    AfterSb0Pri, AfterSb1Pri, AfterSb2Pri, ConfigError, FencingPolicy, LinkTimers, OnNoQuorum,
    QuorumPolicy, ReplicaConfig, RrConflict,
};
pub use meta::ReplicaMeta;
pub use msg::{ConnMsg, ReplicaMsg, SessionId};
pub use node::{ReplicationNode, ReplicationNotice, ReplicationTimer};
pub use notice::{PromoteRefused, ReplicaNotice};
pub use replica::{Replica, ReplicaCommand, ReplicaTimer};
pub use state::{ConnState, DiskState, PeerRole, Protocol, Role};
pub use witness::{Witness, WitnessConfig, WitnessNotice};
