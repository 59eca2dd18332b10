//! Long-run availability: every component of the lab fails and is repaired by its own
//! seeded stochastic process, for simulated years, and the service's availability,
//! downtime, outages, failovers, split brains and lost writes are measured; beside it
//! an analytic model (a continuous-time Markov chain) from the same profile.
//!
//! * [`config`]: the profile's `[availability]` section, with sourced defaults;
//! * [`run`]: one run of the study's lab with failures and repairs ([`run_availability`]);
//! * `meter` (private): what a run measures;
//! * [`summary`]: across runs, 95 % intervals and nines;
//! * [`ctmc`]: the analytic chain ([`analytic`]).
//!
//! `docs/availability.md` describes the model, its parameters and sources.

pub mod config;
pub mod ctmc;
mod meter;
pub mod run;
pub mod summary;

pub use config::{AvailabilityProfile, ComponentKind, ComponentProfile, HOUR, YEAR};
pub use ctmc::{Analytic, CtmcError, analytic};
pub use run::{RunResult, run_availability};
pub use summary::{Interval, Summary, nines, summarise};
