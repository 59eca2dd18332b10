//! Experiments of dualha: scenario files, the `dualha` command line, sweeps, plots and
//! reports.
//!
//! Nothing lives here yet; the `check` and `reproduce` commands arrive with the "Verify"
//! and "Predict" issues.
#![deny(missing_docs)]
