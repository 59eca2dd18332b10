//! Cross-crate tests of dualha.
//!
//! The tests under `tests/tests/` drive one scenario through more than one driver. Until the
//! simulator and the daemon exist, they drive the protocol core through its test harness.
#![deny(missing_docs)]
