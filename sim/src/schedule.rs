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
//! replays here with real durations. Node names are the guests `a` and `b`, the witness
//! (ignored here), and host names `h10`.. for host faults.

use serde::{Deserialize, Serialize};

use model::{Net, NodeId};

/// One scheduled fault or write.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ScheduledFault {
    /// Cut the networks between two nodes (one network if `net` is given).
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
    /// The next `count` messages between two nodes are lost.
    LoseMessages {
        /// One end.
        a: String,
        /// The other end.
        b: String,
        /// How many.
        count: u32,
    },
}

/// A fault at a time. (serde cannot refuse unknown keys of a flattened enum: a misspelled
/// required key still fails as missing.)
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

/// A schedule that cannot be read; names what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// Not TOML or JSON of the expected shape.
    #[error("{0}")]
    Parse(String),
    /// A node name that is not a guest or host of the lab.
    #[error("event {index}: unknown node {name:?}; allowed: a, b, h10, h11, h12, h13")]
    UnknownNode {
        /// The event's position.
        index: usize,
        /// The name.
        name: String,
    },
    /// A network name that does not exist.
    #[error("event {index}: unknown net {name:?}; allowed: public, replication, ring0, ring1")]
    UnknownNet {
        /// The event's position.
        index: usize,
        /// The name.
        name: String,
    },
    /// A negative or non-finite time.
    #[error("event {index}: at = {at} must be a time >= 0")]
    BadTime {
        /// The event's position.
        index: usize,
        /// The value.
        at: f64,
    },
}

/// The checker's schedule format, as far as the simulator replays it.
#[derive(Deserialize)]
struct CheckerSchedule {
    format: String,
    events: Vec<serde_json::Value>,
}

impl Schedule {
    /// Reads a TOML schedule, or the checker's JSON (recognised by its first `{`).
    pub fn parse(text: &str) -> Result<Schedule, ScheduleError> {
        let s = if text.trim_start().starts_with('{') {
            Schedule::from_checker_json(text)?
        } else {
            toml::from_str::<Schedule>(text).map_err(|e| ScheduleError::Parse(e.to_string()))?
        };
        s.validate()?;
        Ok(s)
    }

    /// Converts the model checker's `dualha-schedule/1` JSON.
    fn from_checker_json(text: &str) -> Result<Schedule, ScheduleError> {
        let c: CheckerSchedule =
            serde_json::from_str(text).map_err(|e| ScheduleError::Parse(e.to_string()))?;
        if c.format != "dualha-schedule/1" {
            return Err(ScheduleError::Parse(format!(
                "format {:?}; this simulator reads \"dualha-schedule/1\"",
                c.format
            )));
        }
        let mut events = Vec::new();
        for (i, e) in c.events.iter().enumerate() {
            let field = |k: &str| e.get(k).and_then(|v| v.as_str()).map(str::to_string);
            let at = e.get("at_ms").and_then(|v| v.as_u64()).unwrap_or(0) as f64 / 1000.0;
            let kind = field("event").unwrap_or_default();
            let node = || field("node").unwrap_or_default();
            let cut = || {
                // "a-b" or "a-b/ring0".
                let cut = field("cut").unwrap_or_default();
                let (pair, net) = match cut.split_once('/') {
                    Some((p, n)) => (p.to_string(), Some(n.to_string())),
                    None => (cut.clone(), None),
                };
                let (a, b) = pair
                    .split_once('-')
                    .map_or((pair.clone(), String::new()), |(a, b)| {
                        (a.to_string(), b.to_string())
                    });
                (a, b, net)
            };
            let fault = match kind.as_str() {
                "partition" => {
                    let (a, b, net) = cut();
                    ScheduledFault::Partition { a, b, net }
                }
                "heal" => {
                    let (a, b, net) = cut();
                    ScheduledFault::Heal { a, b, net }
                }
                "crash" => ScheduledFault::Crash { node: node() },
                "power-off" => ScheduledFault::PowerOff { node: node() },
                "cluster-restart" => ScheduledFault::ClusterRestart { node: node() },
                "kill-service" => ScheduledFault::KillService { node: node() },
                "lose-message" => ScheduledFault::LoseMessages {
                    a: field("from").unwrap_or_default(),
                    b: field("to").unwrap_or_default(),
                    count: 1,
                },
                // Reboots and writes happen by themselves in the simulator (the cluster
                // layer boots VMs, the transaction probe writes).
                "reboot" | "write" => continue,
                other => {
                    return Err(ScheduleError::Parse(format!(
                        "event {i}: unknown event {other:?} in the checker's schedule"
                    )));
                }
            };
            events.push(TimedFault { at, fault });
        }
        Ok(Schedule { events })
    }

    /// Checks names and times.
    pub fn validate(&self) -> Result<(), ScheduleError> {
        for (index, e) in self.events.iter().enumerate() {
            if !(e.at.is_finite() && e.at >= 0.0) {
                return Err(ScheduleError::BadTime { index, at: e.at });
            }
            let nodes: Vec<&String> = match &e.fault {
                ScheduledFault::Partition { a, b, net } | ScheduledFault::Heal { a, b, net } => {
                    if let Some(n) = net {
                        parse_net(n).ok_or_else(|| ScheduleError::UnknownNet {
                            index,
                            name: n.clone(),
                        })?;
                    }
                    vec![a, b]
                }
                ScheduledFault::LoseMessages { a, b, .. } => vec![a, b],
                ScheduledFault::Crash { node }
                | ScheduledFault::PowerOff { node }
                | ScheduledFault::Hang { node, .. }
                | ScheduledFault::KillService { node }
                | ScheduledFault::DiskFailure { node }
                | ScheduledFault::ClusterRestart { node } => vec![node],
            };
            for name in nodes {
                parse_node(name).ok_or_else(|| ScheduleError::UnknownNode {
                    index,
                    name: name.clone(),
                })?;
            }
        }
        Ok(())
    }

    /// The events in time order (stable for equal times).
    pub fn in_order(&self) -> Vec<TimedFault> {
        let mut v = self.events.clone();
        v.sort_by(|x, y| x.at.total_cmp(&y.at));
        v
    }
}

impl Schedule {
    /// A random schedule: faults arrive with exponential gaps of mean `mean_gap` seconds
    /// over `span` seconds, each a service kill, a guest crash, a host power-off, a host
    /// hang, a partition of the guests (one network or all) healed after a while, or a
    /// message loss; targets and durations drawn too. One stream per seed, so a random
    /// schedule replays exactly (print it with `toml` to keep it).
    pub fn stochastic(seed: u64, span: f64, mean_gap: f64) -> Schedule {
        use rand::Rng;
        let mut rng = crate::rng::stream(seed, "stochastic-faults");
        let mut events = Vec::new();
        let mut t = 0.0;
        let guests = ["a", "b"];
        loop {
            let u: f64 = rng.random_range(f64::EPSILON..1.0);
            t += -mean_gap.max(0.001) * u.ln();
            if t > span {
                break;
            }
            let node = guests[rng.random_range(0..2)].to_string();
            let round = |x: f64| (x * 10.0).round() / 10.0;
            let at = round(t);
            match rng.random_range(0..6u32) {
                0 => events.push(TimedFault {
                    at,
                    fault: ScheduledFault::KillService { node },
                }),
                1 => events.push(TimedFault {
                    at,
                    fault: ScheduledFault::Crash { node },
                }),
                2 => events.push(TimedFault {
                    at,
                    fault: ScheduledFault::PowerOff { node },
                }),
                3 => events.push(TimedFault {
                    at,
                    fault: ScheduledFault::Hang {
                        node,
                        secs: round(rng.random_range(1.0..60.0)),
                    },
                }),
                4 => {
                    let net = ["ring0", "replication", "public"]
                        .get(rng.random_range(0..4usize))
                        .map(|n| n.to_string());
                    let heal_at = round(t + rng.random_range(5.0..120.0));
                    events.push(TimedFault {
                        at,
                        fault: ScheduledFault::Partition {
                            a: "a".into(),
                            b: "b".into(),
                            net: net.clone(),
                        },
                    });
                    events.push(TimedFault {
                        at: heal_at,
                        fault: ScheduledFault::Heal {
                            a: "a".into(),
                            b: "b".into(),
                            net,
                        },
                    });
                }
                _ => events.push(TimedFault {
                    at,
                    fault: ScheduledFault::LoseMessages {
                        a: "a".into(),
                        b: "b".into(),
                        count: rng.random_range(1..5),
                    },
                }),
            }
        }
        Schedule { events }
    }
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
mod tests {
    use super::*;

    #[test]
    fn toml_and_checker_json_give_the_same_events() {
        let toml = r#"
[[event]]
at = 1.5
kind = "partition"
a = "a"
b = "b"
net = "ring0"

[[event]]
at = 0.5
kind = "kill-service"
node = "a"
"#;
        let s = Schedule::parse(toml).expect("valid");
        assert_eq!(
            s.in_order()[0].fault,
            ScheduledFault::KillService { node: "a".into() }
        );
        let json = r#"{"format": "dualha-schedule/1", "config": {}, "events": [
            {"event": "kill-service", "at_ms": 500, "node": "a"},
            {"event": "partition", "at_ms": 1500, "cut": "a-b/ring0"},
            {"event": "write", "at_ms": 1600, "node": "a", "write": 1}]}"#;
        let j = Schedule::parse(json).expect("valid");
        assert_eq!(j.in_order(), s.in_order());
    }

    #[test]
    fn random_schedules_replay_per_seed_and_validate() {
        let a = Schedule::stochastic(3, 3600.0, 300.0);
        assert_eq!(a, Schedule::stochastic(3, 3600.0, 300.0));
        assert_ne!(a, Schedule::stochastic(4, 3600.0, 300.0));
        assert!(a.events.len() >= 3, "{a:?}");
        a.validate().expect("random schedules use valid names");
        let text = toml::to_string(&a).expect("a schedule prints as TOML");
        assert_eq!(Schedule::parse(&text).expect("and reads back"), a);
    }

    #[test]
    fn errors_name_the_event_and_the_allowed_values() {
        let bad = "[[event]]\nat = 1.0\nkind = \"crash\"\nnode = \"z\"\n";
        let e = Schedule::parse(bad).expect_err("unknown node").to_string();
        assert!(
            e.contains("event 0") && e.contains("\"z\"") && e.contains("allowed"),
            "{e}"
        );
        let bad =
            "[[event]]\nat = 1.0\nkind = \"partition\"\na = \"a\"\nb = \"b\"\nnet = \"ring7\"\n";
        assert!(
            Schedule::parse(bad)
                .expect_err("net")
                .to_string()
                .contains("ring7")
        );
        let bad = "[[event]]\nat = 1.0\nkind = \"explode\"\nnode = \"a\"\n";
        assert!(Schedule::parse(bad).is_err());
    }
}
