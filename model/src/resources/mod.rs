//! A Pacemaker/Heartbeat-like resource manager for one active/passive group.
//!
//! One [`ResourceManager`] per guest node runs one ordered group, a Heartbeat
//! `haresources` line such as
//! `node drbddisk::r0 Filesystem::/dev/drbd0::/mnt::ext4 IP service`: it promotes the
//! replica, mounts the file system, adds the address and starts the service, left to
//! right, and stops them right to left. It speaks OCF to the driver
//! ([`crate::Effect::Process`] in, [`crate::Input::Process`] back) and talks to the
//! peer's manager over the cluster ring ([`ResourceMsg`]). The membership layer tells it
//! when the peer is alive or dead and when to take over or give up
//! ([`ResourceCommand`]). The pieces, one concept per module:
//!
//! * [`config`]: the group and its resources, with Pacemaker's and Heartbeat's defaults;
//! * [`failure`]: soft, hard and fatal failures by OCF exit code;
//! * [`state`]: the group's and the resources' states;
//! * [`msg`], [`notice`]: what goes to the peer, what goes into traces;
//! * [`manager`]: the [`ResourceManager`] machine.

pub mod config;
pub mod failure;
pub mod manager;
pub mod msg;
pub mod notice;
pub mod state;

pub use config::{DEFAULT_OP_TIMEOUT, GroupConfig, GroupConfigError, ResourceKind, ResourceSpec};
pub use failure::FailureSeverity;
pub use manager::{ResourceCommand, ResourceManager, ResourceTimer};
pub use msg::{PeerStatus, ResourceMsg};
pub use notice::ResourceNotice;
pub use state::{GroupPhase, ResourceStatus};
