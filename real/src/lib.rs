//! The real driver of dualha.
//!
//! Nothing lives here yet. This crate will map the effects of the `model` machines onto a
//! real host: `Send` to TCP/UDP, `SetTimer` to the monotonic clock, `Disk` to
//! `pwrite`/`fdatasync` on a backing file, `Persist` to a metadata area, handlers to
//! fencing commands, and export the replicated device over NBD.
#![deny(missing_docs)]
