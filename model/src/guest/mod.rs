//! A guest node of the study's DRBD + Heartbeat pair: the replica, the membership layer
//! and the resource manager composed into one machine.
//!
//! The parts talk to each other inside `Guest::handle` (its `Machine` implementation):
//! the membership layer's `TakeOver`/`GiveUp` and peer news drive the resource manager;
//! the resource manager's
//! OCF actions on the group's replica resource become replica commands (promote, demote)
//! and are answered from the replica's state; every other OCF action (mount, address,
//! service) goes out to the driver. Messages, timers and notices of the parts are tagged
//! with their part, so a driver sees one machine per guest.
//!
//! * [`config`]: [`GuestConfig`] and its cross-part checks;
//! * [`machine`]: the [`Guest`] machine and its message, timer, command and notice types;
//! * [`text`]: notices as log lines in the vocabulary of `drbdadm status` and Heartbeat.

pub mod config;
pub mod machine;
pub mod text;

pub use config::{GuestConfig, GuestConfigError};
pub use machine::{Guest, GuestCommand, GuestMsg, GuestNotice, GuestTimer};
pub use text::notice_text;
