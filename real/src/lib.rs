//! The real driver of dualha: runs the unchanged `model` machines on a real host.
//!
//! `real` stays thin, in the style of quinn's endpoint driver around quinn-proto: every
//! protocol decision is the machine's; this crate only turns effects into I/O (`Send` to
//! TCP or UDP, `SetTimer` to the monotonic clock, `Disk` to `pwrite`/`fdatasync` on a
//! backing file, `Persist` to crash-safe metadata, handlers and STONITH to configured
//! commands, `Process` to OCF resource agents) and I/O back into inputs, and exports the
//! replicated device over NBD.
//!
//! * [`config`]: the node's TOML file, checked, turned into the model's configuration;
//! * [`node`]: start-up (disk, metadata, sockets) and `create-md`;
//! * [`driver`]: the event loop around `model::guest::Guest`;
//! * [`event`]: what the loop reacts to;
//! * [`wire`], [`transport`]: frames, authentication, the replication link, the rings;
//! * [`disk`], [`meta`]: the backing disk thread and crash-safe metadata;
//! * [`blockio`], [`device`], [`nbd`]: byte ranges to blocks, the export, the NBD server;
//! * [`agents`]: OCF agents, DRBD handlers and STONITH as child processes;
//! * [`control`], [`status`], [`metrics`]: the operator's side.
#![deny(missing_docs)]

pub mod agents;
pub mod blockio;
pub mod config;
pub mod control;
pub mod device;
pub mod disk;
pub mod driver;
pub mod event;
pub mod meta;
pub mod metrics;
pub mod nbd;
pub mod node;
pub mod replay;
pub mod status;
pub mod transport;
pub mod wire;
