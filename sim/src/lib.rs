//! The deterministic discrete-event simulator of dualha.
//!
//! It runs the unchanged `model` machines — the guests of the DRBD + Heartbeat pair, the
//! vSphere-HA-like and Nova/Masakari-like cluster layers — in `model`'s harness, with
//! every duration drawn from seeded `rand_chacha` streams (one per purpose) instead of
//! fixed: the same seed gives the same trace, bit for bit, and every trial reports a
//! trace hash. No wall clock is read and no `HashMap` is iterated.
//!
//! * [`dist`], [`rng`]: distributions and seeded streams; [`limits`]: what a user may
//!   ask of the simulator (ranges, event caps) and the range checks;
//! * [`profile`]: every duration and policy of the lab, from TOML
//!   (`experiments/profiles/thesis.toml` is the study's); [`calibration`]: its sourced
//!   defaults and its calibrated values, kept apart;
//! * [`scenario`]: architectures, platforms, services, failures, cells; [`schedule`]:
//!   scripted faults (TOML, or the checker's counterexamples);
//! * [`node`]: the one machine type the harness runs (any machine of the lab);
//! * [`timing`]: the profile's distributions as the harness' timing model;
//! * [`world`]: the lab of one trial and the glue between its layers;
//! * [`trial`]: one trial, its probes, oracles and measurements; [`study`]: all of them;
//! * [`trace`]: the trace hash.
#![deny(missing_docs)]

pub mod availability;
pub mod calibration;
pub mod dist;
pub mod limits;
pub mod node;
pub mod oracle;
mod phases;
pub mod profile;
pub mod rng;
pub mod scenario;
pub mod schedule;
pub mod study;
pub mod timing;
pub mod trace;
pub mod trial;
pub mod world;

pub use profile::Profile;
pub use scenario::{Architecture, Cell, FailureClass, Platform, Service};
pub use study::run_study;
pub use trial::{TrialError, TrialResult, run_trial, try_run_trial};
