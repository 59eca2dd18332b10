//! Experiments of dualha: scenario files, the `dualha` command line, sweeps, plots and
//! reports.
//!
//! * [`cli`]: what the commands share: bounded input files, output directories checked
//!   before the work, standard output that tolerates a closed pipe, exit codes;
//! * [`availability`]: `dualha availability`, long-run availability with failure and
//!   repair processes, and the analytic Markov chain;
//! * [`check`]: `dualha check`, the model checker's command (one configuration from a
//!   TOML file, or the built-in matrix), its table, JSON and exit codes.
//! * [`reproduce`]: `dualha reproduce`, the study reproduced in the simulator: tables,
//!   figures, `REPORT.md` and `results.json`;
//! * [`validate`]: `dualha validate`, a profile, schedule or check configuration checked
//!   without running anything;
//! * [`sweep`]: `dualha sweep` and `dualha merge`, the availability study over a grid of
//!   profile values, whole or in shards;
//! * [`simulate`]: `dualha simulate`, one scripted fault schedule (or a checker
//!   counterexample) replayed in the simulated lab.
#![deny(missing_docs)]

pub mod availability;
pub mod check;
pub mod cli;
pub mod lab;
pub mod progress;
pub mod reproduce;
pub mod simulate;
pub mod sweep;
pub mod validate;
