//! The protocol core of dualha: pure, deterministic state machines.
//!
//! Every participant (a DRBD-like replica, later a Heartbeat-like membership layer, a
//! Pacemaker-like resource manager, a virtualization-cluster HA agent) is a [`Machine`]:
//! it is *fed* an [`Input`] together with the current [`Time`] and *returns*
//! [`Effect`]s. It never performs I/O, reads a clock or draws randomness itself, so the
//! same code runs under the model checker, the discrete-event simulator and the real
//! daemon (the style of quinn-proto, raft-rs and str0m).
//!
//! * [`time`], [`node`], [`net`], [`io`], [`disk`], [`process`], [`handler`],
//!   [`machine`]: the interface every machine and every driver shares;
//! * [`replication`]: a DRBD-like replica of one resource;
//! * [`membership`], [`resources`], [`guest`]: Heartbeat/Pacemaker-like failure
//!   detection and resource management, and the guest that composes them with a replica;
//! * [`cluster`], [`topology`], [`world`]: the virtualization cluster's VM-restart layer,
//!   the lab, and the coupling of the two layers with the lab's named identifiers;
//! * [`properties`], [`schedule`]: what every driver checks (split brain, lost and
//!   missing acknowledged writes, stale primaries) and the fault schedules they share;
//! * `testing` (feature `testing`): an in-memory harness that drives several machines
//!   through a virtual network, virtual disks and a virtual clock; the simulator, the
//!   checker (feature `check`) and the tests use it, the daemon does not link it.
#![deny(missing_docs)]

#[cfg(feature = "check")]
pub mod check;
pub mod cluster;
pub mod disk;
pub mod guest;
pub mod handler;
pub mod io;
pub mod machine;
pub mod membership;
pub mod net;
pub mod node;
pub mod process;
pub mod properties;
pub mod replication;
pub mod resources;
pub mod schedule;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;
pub mod topology;
pub mod world;

pub use disk::{BlockNo, DiskCompletion, DiskError, DiskOp, DiskRequest, DiskToken, Payload};
pub use handler::{HandlerReply, HandlerRequest};
pub use io::{IoError, ReadId, WriteId};
pub use machine::{Compose, Effect, Input, Machine};
pub use net::Net;
pub use node::NodeId;
pub use process::{OcfAction, OcfExit, ProcessEvent, ProcessId, ProcessRequest};
pub use time::Time;
