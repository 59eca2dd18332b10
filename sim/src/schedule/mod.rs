//! Scripted fault schedules: what happens when, in a trial.
//!
//! Two ways in: a TOML list written by a person,
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
//! and the schedule the model checker writes with a counterexample (JSON, format
//! `dualha-schedule/1`: `{"format", "config", "events": [{"event": "partition",
//! "at_ms": .., "cut": "a-b/ring0"}, ...]}`), so a counterexample found by `dualha check`
//! replays here with real durations. Node names are the guests `a` and `b` and the hosts
//! `h10`..`h13` (the witness, ping node and quorum device of the checker are not in the
//! simulated lab).
//!
//! Everything is checked before a run (`validate`, and `validate_for` an architecture):
//! times and durations within [`crate::limits`], node names that exist and fit the
//! fault (a service dies on a guest, not on a host), two different ends for a partition,
//! no unknown keys, at most [`MAX_SCHEDULE_EVENTS`] events.

mod checker;
mod random;
mod validate;

use serde::{Deserialize, Serialize};

use model::{Net, NodeId};

use crate::limits::{MAX_INPUT_BYTES, MAX_SCHEDULE_EVENTS};

pub use random::{MAX_RANDOM_SPAN_SECS, MIN_MEAN_GAP_SECS};

/// One scheduled fault or write.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ScheduledFault {
    /// Cut the networks between two guests or two hosts (one network if `net` is given).
    Partition {
        /// One end.
        a: String,
        /// The other end.
        b: String,
        /// `public`, `replication`, `ring0`, `ring1`; every network if absent.
        #[serde(default)]
        net: Option<String>,
    },
    /// Restore them.
    Heal {
        /// One end.
        a: String,
        /// The other end.
        b: String,
        /// As for `partition`.
        #[serde(default)]
        net: Option<String>,
    },
    /// A guest crashes (its VM dies; the cluster layer may restart it).
    Crash {
        /// The guest.
        node: String,
    },
    /// A guest's host loses power.
    PowerOff {
        /// The guest whose host, or a host (`h10`).
        node: String,
    },
    /// A host hangs for `secs` seconds: it and its guests stop, then go on.
    Hang {
        /// The guest whose host, or a host.
        node: String,
        /// How long.
        secs: f64,
    },
    /// The service dies on a guest.
    KillService {
        /// The guest.
        node: String,
    },
    /// A guest's disk fails.
    DiskFailure {
        /// The guest.
        node: String,
    },
    /// The cluster layer restarts the guest's VM on another host of its cluster (the
    /// two-layer race), after the platform's boot time.
    ClusterRestart {
        /// The guest.
        node: String,
    },
    /// The next `count` messages between two guests or two hosts are lost.
    LoseMessages {
        /// One end.
        a: String,
        /// The other end.
        b: String,
        /// How many.
        count: u32,
    },
}

impl ScheduledFault {
    /// The `kind` as a schedule spells it.
    pub fn kind(&self) -> &'static str {
        match self {
            ScheduledFault::Partition { .. } => "partition",
            ScheduledFault::Heal { .. } => "heal",
            ScheduledFault::Crash { .. } => "crash",
            ScheduledFault::PowerOff { .. } => "power-off",
            ScheduledFault::Hang { .. } => "hang",
            ScheduledFault::KillService { .. } => "kill-service",
            ScheduledFault::DiskFailure { .. } => "disk-failure",
            ScheduledFault::ClusterRestart { .. } => "cluster-restart",
            ScheduledFault::LoseMessages { .. } => "lose-messages",
        }
    }
}

/// The keys an event of `kind` may have in a TOML schedule (`None` for an unknown kind,
/// which the parser reports).
fn keys_of(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "partition" | "heal" => &["at", "kind", "a", "b", "net"],
        "crash" | "power-off" | "kill-service" | "disk-failure" | "cluster-restart" => {
            &["at", "kind", "node"]
        }
        "hang" => &["at", "kind", "node", "secs"],
        "lose-messages" => &["at", "kind", "a", "b", "count"],
        _ => return None,
    })
}

/// A fault at a time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimedFault {
    /// Seconds after the warm-up.
    pub at: f64,
    /// What.
    #[serde(flatten)]
    pub fault: ScheduledFault,
}

/// A schedule.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// The events, in any order (they run in time order).
    #[serde(default, rename = "event")]
    pub events: Vec<TimedFault>,
}

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

impl Schedule {
    /// Reads a TOML schedule, or the checker's JSON (recognised by its first `{`), and
    /// checks it (`validate`; `validate_for` the lab it will run in is the caller's).
    pub fn parse(text: &str) -> Result<Schedule, ScheduleError> {
        if text.len() > MAX_INPUT_BYTES {
            return Err(ScheduleError::TooLarge(text.len()));
        }
        let s = if text.trim_start().starts_with('{') {
            checker::from_checker_json(text)?
        } else {
            let s = toml::from_str::<Schedule>(text)
                .map_err(|e| ScheduleError::Parse(e.to_string()))?;
            check_toml_keys(text)?;
            s
        };
        s.validate()?;
        Ok(s)
    }

    /// The events in time order (stable for equal times).
    pub fn in_order(&self) -> Vec<TimedFault> {
        let mut v = self.events.clone();
        v.sort_by(|x, y| x.at.total_cmp(&y.at));
        v
    }
}

/// serde cannot refuse unknown keys of a flattened enum, and a misspelled optional key
/// (`nett = "ring0"`) would silently cut every network: look at each event's keys.
fn check_toml_keys(text: &str) -> Result<(), ScheduleError> {
    let table: toml::Table =
        toml::from_str(text).map_err(|e| ScheduleError::Parse(e.to_string()))?;
    let Some(events) = table.get("event").and_then(toml::Value::as_array) else {
        return Ok(());
    };
    for (index, e) in events.iter().enumerate() {
        let Some(e) = e.as_table() else { continue };
        let kind = e
            .get("kind")
            .and_then(toml::Value::as_str)
            .unwrap_or_default();
        let Some(allowed) = keys_of(kind) else {
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
