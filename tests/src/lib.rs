//! Cross-crate tests of dualha.
//!
//! The tests under `tests/tests/` ask one question of more than one part: today, which
//! architecture survives which failure, answered by the topology's structure and by the
//! simulator running the machines. The daemon joins when it exists.
#![deny(missing_docs)]
