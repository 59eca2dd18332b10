//! The model checker's earlier JSON, `dualha-schedule/1`, read as it always was: faults
//! only, the configuration not applied, reboots and writes left to the simulator.
//!
//! The checker now writes `dualha-schedule/2` (`model::schedule`), which keeps the
//! configuration and the writes; this reader keeps files written before that working.
//! Each event is read strictly: unknown or duplicate keys, a missing time or a missing
//! node are errors, not defaults.

use serde::Deserialize;

use super::{Schedule, ScheduleError, ScheduledFault, TimedFault};
use crate::limits::MAX_SCHEDULE_EVENTS;

/// The whole file; `config` (the checked configuration) is not applied to version 1
/// (re-run the checker for a version 2 schedule that carries it).
#[derive(Deserialize)]
struct CheckerSchedule {
    format: String,
    events: Vec<CheckerEvent>,
}

/// One event as the checker writes it (`model::check::trace::ScheduleEvent`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckerEvent {
    event: String,
    at_ms: u64,
    #[serde(default)]
    node: Option<String>,
    #[serde(default)]
    cut: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    /// The lost message's network: the simulator drops the next message on any.
    #[serde(default, rename = "net")]
    _net: Option<String>,
    /// A write's id: the simulator's probe writes by itself.
    #[serde(default, rename = "write")]
    _write: Option<u64>,
}

/// Converts the checker's JSON into a schedule (not yet validated).
pub(super) fn from_checker_json(text: &str) -> Result<Schedule, ScheduleError> {
    let c: CheckerSchedule =
        serde_json::from_str(text).map_err(|e| ScheduleError::Parse(e.to_string()))?;
    if c.format != "dualha-schedule/1" {
        return Err(ScheduleError::Parse(format!(
            "format {:?}; this simulator reads \"dualha-schedule/1\"",
            c.format
        )));
    }
    if c.events.len() > MAX_SCHEDULE_EVENTS {
        return Err(ScheduleError::TooManyEvents(c.events.len()));
    }
    let mut events = Vec::new();
    for (index, e) in c.events.into_iter().enumerate() {
        let missing = |key: &str| ScheduleError::Event {
            index,
            kind: e.event.clone(),
            problem: format!("needs {key:?}"),
        };
        // Milliseconds are exact in f64 up to 2^53; larger times fail validation anyway.
        let at = e.at_ms as f64 / 1000.0;
        let node = || e.node.clone().ok_or_else(|| missing("node"));
        let cut = || -> Result<(String, String, Option<String>), ScheduleError> {
            // "a-b" or "a-b/ring0".
            let cut = e.cut.clone().ok_or_else(|| missing("cut"))?;
            let (pair, net) = match cut.split_once('/') {
                Some((p, n)) => (p.to_string(), Some(n.to_string())),
                None => (cut.clone(), None),
            };
            let (a, b) = pair.split_once('-').ok_or_else(|| ScheduleError::Event {
                index,
                kind: e.event.clone(),
                problem: format!("cut = {cut:?}: expected X-Y or X-Y/NET"),
            })?;
            Ok((a.to_string(), b.to_string(), net))
        };
        let fault = match e.event.as_str() {
            "partition" => {
                let (a, b, net) = cut()?;
                ScheduledFault::Partition { a, b, net }
            }
            "heal" => {
                let (a, b, net) = cut()?;
                ScheduledFault::Heal { a, b, net }
            }
            "crash" => ScheduledFault::Crash { node: node()? },
            "power-off" => ScheduledFault::PowerOff { node: node()? },
            "cluster-restart" => ScheduledFault::ClusterRestart { node: node()? },
            "kill-service" => ScheduledFault::KillService { node: node()? },
            "lose-message" => ScheduledFault::LoseMessages {
                a: e.from.clone().ok_or_else(|| missing("from"))?,
                b: e.to.clone().ok_or_else(|| missing("to"))?,
                net: None,
                count: 1,
            },
            "reboot" | "write" => continue,
            other => {
                return Err(ScheduleError::Parse(format!(
                    "event {index}: unknown event {other:?} in the checker's schedule; \
                     allowed: partition, heal, crash, reboot, power-off, cluster-restart, \
                     kill-service, lose-message, write"
                )));
            }
        };
        events.push(TimedFault { at, fault });
    }
    Ok(Schedule {
        format: None,
        config: None,
        events,
    })
}
