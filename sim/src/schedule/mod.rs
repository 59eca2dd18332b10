//! Scripted fault schedules: what happens when, in a trial.
//!
//! The schedule type is `model::schedule::Schedule`, the one the model checker writes
//! with every counterexample (`dualha check --schedules DIR`, JSON, format
//! `dualha-schedule/2`, with the pair's configuration and the application writes) and a
//! person writes by hand (TOML):
//!
//! ```toml
//! [[event]]
//! at = 10.0              # seconds after the warm-up
//! kind = "partition"     # see ScheduledFault
//! a = "a"
//! b = "b"
//! net = "ring0"          # optional: public, replication, ring0, ring1; all if absent
//! ```
//!
//! so a counterexample found by `dualha check` replays here with real durations, in the
//! configuration it was found in. Node names are the guests `a` and `b` and the hosts
//! `h10`..`h13` (the witness, ping node and quorum device of the checker are not in the
//! simulated lab, so a configuration with them is refused). The checker's earlier JSON
//! (`dualha-schedule/1`, `at_ms` and `cut`) is still read (`checker`), faults only, as
//! before.
//!
//! Everything is checked before a run ([`LabSchedule::validate`], and
//! [`LabSchedule::validate_for`] an architecture, [`LabSchedule::check_lab`] the lab and
//! profile): times and durations within [`crate::limits`], node names that exist and
//! fit the fault (a service dies on a guest, not on a host), two different ends for a
//! partition, no unknown keys, at most [`MAX_SCHEDULE_EVENTS`] events, a configuration
//! the lab can set up.

mod checker;
mod random;
mod validate;

use model::{Net, NodeId};
use serde::Deserialize;

use crate::limits::{MAX_INPUT_BYTES, MAX_SCHEDULE_EVENTS};
use crate::profile::Profile;
use crate::scenario::{Architecture, Cell};

pub use model::schedule::{
    ClusterLayer, Fault as ScheduledFault, Format, PairConfig, Schedule, TimedFault,
};
pub use random::{MAX_RANDOM_SPAN_SECS, MIN_MEAN_GAP_SECS};
pub use validate::lab_of;

/// A schedule that cannot be used; names the event, the key and the value.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// Not TOML or JSON of the expected shape.
    #[error("{0}")]
    Parse(String),
    /// The text is larger than any schedule.
    #[error("{0} bytes; a schedule has at most {MAX_INPUT_BYTES} bytes")]
    TooLarge(usize),
    /// More events than a schedule may hold.
    #[error("{0} events; a schedule has at most {MAX_SCHEDULE_EVENTS}")]
    TooManyEvents(usize),
    /// One event is wrong (its position counts from 0, in the file's order).
    #[error("event {index} ({kind}): {problem}")]
    Event {
        /// The event's position.
        index: usize,
        /// Its kind.
        kind: String,
        /// What is wrong, naming the key and the value.
        problem: String,
    },
    /// The schedule's configuration cannot be set up in this lab.
    #[error("config.{key}: {problem}")]
    Config {
        /// The key of `config` (or the model's field) at fault.
        key: String,
        /// What is wrong and what would work.
        problem: String,
    },
    /// A parameter of a random schedule out of range.
    #[error(transparent)]
    Random(#[from] crate::limits::RangeError),
    /// A random schedule that would draw more events than a schedule may hold.
    #[error(
        "random faults over {span} s with a mean gap of {mean_gap} s draw more than \
         {MAX_SCHEDULE_EVENTS} events (about {expected:.0} expected): raise the mean gap \
         or shorten the span"
    )]
    TooDense {
        /// The span, seconds.
        span: f64,
        /// The mean gap, seconds.
        mean_gap: f64,
        /// The expected number of faults.
        expected: f64,
    },
}

/// What the simulator does with a [`Schedule`]: read it, draw one, check it against
/// its lab.
pub trait LabSchedule: Sized {
    /// Reads a TOML schedule, or a JSON one (recognised by its first `{`: the checker's
    /// `dualha-schedule/2`, or its earlier `dualha-schedule/1`), and checks it
    /// ([`LabSchedule::validate`]; the lab it will run in is the caller's).
    fn parse(text: &str) -> Result<Self, ScheduleError>;

    /// A random schedule (see `random`).
    fn stochastic(seed: u64, span: f64, mean_gap: f64) -> Result<Self, ScheduleError>;

    /// Checks times, durations, counts, node and network names, and that each fault
    /// fits its targets; independent of the lab.
    fn validate(&self) -> Result<(), ScheduleError>;

    /// [`LabSchedule::validate`], and that every node it names exists in the lab of
    /// `architecture`.
    fn validate_for(&self, architecture: Architecture) -> Result<(), ScheduleError>;

    /// [`LabSchedule::validate_for`] the cell's architecture, and that the schedule's
    /// configuration fits the lab of `cell` (its cluster layer is the cell's, it needs
    /// no node the lab lacks, the profile's guests accept it) and its writes fit the
    /// profile's device.
    fn check_lab(&self, cell: Cell, profile: &Profile) -> Result<(), ScheduleError>;
}

impl LabSchedule for Schedule {
    fn parse(text: &str) -> Result<Schedule, ScheduleError> {
        if text.len() > MAX_INPUT_BYTES {
            return Err(ScheduleError::TooLarge(text.len()));
        }
        let s = if text.trim_start().starts_with('{') {
            from_json(text)?
        } else {
            // Look at each event's keys first: the message names the event and lists
            // the keys its kind allows.
            check_toml_keys(text)?;
            toml::from_str::<Schedule>(text).map_err(|e| ScheduleError::Parse(e.to_string()))?
        };
        s.validate()?;
        Ok(s)
    }

    fn stochastic(seed: u64, span: f64, mean_gap: f64) -> Result<Schedule, ScheduleError> {
        random::stochastic(seed, span, mean_gap)
    }

    fn validate(&self) -> Result<(), ScheduleError> {
        validate::validate(self)
    }

    fn validate_for(&self, architecture: Architecture) -> Result<(), ScheduleError> {
        validate::validate_for(self, architecture)
    }

    fn check_lab(&self, cell: Cell, profile: &Profile) -> Result<(), ScheduleError> {
        validate::validate_for(self, cell.architecture)?;
        validate::check_lab(self, cell, profile)
    }
}

/// The checker's JSON: its format tag says which.
fn from_json(text: &str) -> Result<Schedule, ScheduleError> {
    #[derive(Deserialize)]
    struct Tag {
        format: Option<String>,
    }
    let tag: Tag = serde_json::from_str(text).map_err(|e| ScheduleError::Parse(e.to_string()))?;
    if tag.format.as_deref() == Some("dualha-schedule/1") {
        return checker::from_checker_json(text);
    }
    serde_json::from_str::<Schedule>(text).map_err(|e| ScheduleError::Parse(e.to_string()))
}

/// serde's own refusal of an unknown key names neither the event nor what its kind
/// allows; a misspelled optional key (`nett = "ring0"`) would otherwise be refused with
/// a bare "unknown field": look at each event's keys first.
fn check_toml_keys(text: &str) -> Result<(), ScheduleError> {
    let table: toml::Table =
        toml::from_str(text).map_err(|e| ScheduleError::Parse(e.to_string()))?;
    let Some(events) = table.get("event").and_then(toml::Value::as_array) else {
        return Ok(());
    };
    if events.len() > MAX_SCHEDULE_EVENTS {
        return Err(ScheduleError::TooManyEvents(events.len()));
    }
    for (index, e) in events.iter().enumerate() {
        let Some(e) = e.as_table() else { continue };
        let kind = e
            .get("kind")
            .and_then(toml::Value::as_str)
            .unwrap_or_default();
        let Some(allowed) = ScheduledFault::keys_of(kind) else {
            continue;
        };
        if let Some(key) = e.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(ScheduleError::Event {
                index,
                kind: kind.to_string(),
                problem: format!("unknown key {key:?}; allowed: {}", allowed.join(", ")),
            });
        }
    }
    Ok(())
}

/// A node name: `a`, `b` (the guests) or `h<id>` (a host).
pub fn parse_node(name: &str) -> Option<NodeId> {
    match name {
        "a" => Some(NodeId(0)),
        "b" => Some(NodeId(1)),
        _ => name
            .strip_prefix('h')
            .and_then(|n| n.parse::<u16>().ok())
            .filter(|n| (10..=13).contains(n))
            .map(NodeId),
    }
}

/// A network name.
pub fn parse_net(name: &str) -> Option<Net> {
    match name {
        "public" => Some(Net::Public),
        "replication" => Some(Net::Replication),
        "ring0" => Some(Net::Ring(0)),
        "ring1" => Some(Net::Ring(1)),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
