//! The lab as a graph: clusters, hosts, networks, VMs, storage, services, witnesses and
//! ping nodes ([`Element`]s) and how they relate ([`Relation`]s), in a `petgraph` graph
//! ([`Topology`]); the study's three architectures on each platform
//! ([`Topology::build`]); the rules a lab must keep ([`Topology::validate`]); and what a
//! single failure does to it ([`Topology::recovery`]).
//!
//! This is data, not a machine: drivers read it to decide which machines to run with
//! which [`crate::NodeId`]s (every element has one, stable), which networks connect
//! them (a network's role is the [`crate::Net`] its messages use), and which machines a
//! host or cluster failure crashes. The pieces, one concept per module:
//!
//! * [`element`]: the vertices; [`relation`]: the edges;
//! * [`graph`]: the [`Topology`] and how to edit and look it up;
//! * [`query`]: structural questions (placement, reachability, the DRBD pair, restart);
//! * [`validate`](mod@validate): the rules; [`error`]: their errors;
//! * [`failure`]: single failures and how a service gets through them;
//! * [`lab`]: the study's names; [`architecture`]: the builders; [`dot`]: DOT output.

pub mod architecture;
pub mod dot;
pub mod element;
pub mod error;
pub mod failure;
pub mod graph;
pub mod lab;
pub mod query;
pub mod relation;
pub mod validate;

pub use architecture::Architecture;
pub use element::{Element, ElementKind, Platform, ServiceKind, StorageKind, Volume};
pub use error::{BuildError, TopologyError};
pub use failure::{Failure, FailureClass, Recovery};
pub use graph::Topology;
pub use query::DrbdPair;
pub use relation::{Relation, RestartPriority};
