//! The model checker: exhaustive exploration of the composed guests with stateright.
//!
//! [`CheckModel`] is a hand-written stateright `Model` whose state ([`State`]) holds the
//! very machines of this crate — two [`crate::guest::Guest`]s (replica + membership +
//! resource manager), optionally a [`crate::replication::Witness`], a
//! [`crate::membership::PingNode`] and a [`crate::membership::QuorumDevice`] — with the
//! messages in flight, the armed timers, pending disk, OCF, STONITH and `fence-peer`
//! requests (each with its deadline relative to the present: the timed semantics), the
//! abstract disks and the acknowledged writes. Actions deliver messages, let time pass
//! to a timer's deadline and fire it, complete requests and inject faults within a
//! budget; an event happens only if no other must happen strictly before it. [`run::check`] runs a breadth-first search and replays each violation as a
//! readable [`trace::Counterexample`] and a replayable [`trace::Schedule`];
//! [`matrix`] holds the built-in table of configurations with their expected verdicts.
//! `docs/verification.md` documents the abstractions, the timed semantics with its
//! assumptions and reductions, and the verdicts.

pub mod canonical;
pub mod config;
pub mod cut;
pub mod matrix;
pub mod model;
pub mod run;
pub mod script;
pub mod state;
pub mod trace;

pub use config::{CheckConfig, CheckConfigError};
pub use model::CheckModel;
pub use run::{
    DEFAULT_STEPS, Outcome, RunOptions, SearchProgress, Verdict, check, check_with_progress,
};
pub use state::{Action, State};
pub use trace::{Counterexample, Schedule, Step};
