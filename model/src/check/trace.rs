//! Counterexamples people can read: a path replayed step by step with a plausible
//! virtual time, and the same path as a schedule of faults and writes a simulator can
//! replay.

use serde::{Deserialize, Serialize};

use super::config::{A, B, node_name};
use super::model::CheckModel;
use super::state::{Action, AnyTimer, Log, State};
use crate::guest::GuestMsg;
use crate::replication::{ConnMsg, ReplicaMsg};
use crate::schedule::{Fault, Format, TimedFault};
use crate::{Net, Time};

pub use crate::schedule::Schedule;

/// One numbered step of a counterexample.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// 1-based.
    pub step: usize,
    /// Virtual time in milliseconds since the exploration started (see
    /// `docs/verification.md`, "Timed semantics": timers fire at their deadlines, every
    /// other event at the earliest instant its window allows).
    pub time_ms: u64,
    /// The node the step happens to (or `net`/`cluster` for the environment).
    pub node: String,
    /// What happened.
    pub event: String,
    /// What the machines reported in reaction.
    pub effects: Vec<String>,
    /// Roles, disks, connections and written blocks after the step.
    pub state: String,
}

/// A replayed path.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Counterexample {
    /// The steps.
    pub steps: Vec<Step>,
    /// The faults and writes alone, with the configuration: what `dualha simulate
    /// --schedule` replays.
    pub schedule: Schedule,
}

fn msg_text(m: &GuestMsg) -> String {
    match m {
        GuestMsg::Replica(r) => match r {
            ReplicaMsg::Hello { session, .. } => format!("DRBD Hello (session {session})"),
            ReplicaMsg::HelloAck { session, .. } => format!("DRBD HelloAck (session {session})"),
            ReplicaMsg::Disconnect { .. } => "DRBD reset".to_string(),
            ReplicaMsg::QuorumPing {
                role, want_promote, ..
            } => {
                format!(
                    "quorum ping ({role:?}{})",
                    if *want_promote {
                        ", wants to promote"
                    } else {
                        ""
                    }
                )
            }
            ReplicaMsg::QuorumPong {
                vote, promote_ok, ..
            } => {
                format!("quorum pong (vote {vote}, promote ok {promote_ok})")
            }
            ReplicaMsg::Conn { msg, .. } => match msg {
                ConnMsg::Data { write, .. } => format!("DRBD Data (write {})", write.0),
                ConnMsg::RecvAck { write } => format!("DRBD RecvAck (write {})", write.0),
                ConnMsg::WriteAck { write } => format!("DRBD WriteAck (write {})", write.0),
                ConnMsg::SyncData { block, .. } => format!("DRBD resync block {block}"),
                ConnMsg::State { role, disk } => format!("DRBD state ({role:?}/{disk:?})"),
                other => format!("DRBD {other:?}"),
            },
        },
        GuestMsg::Membership(m) => format!("{m:?}"),
        GuestMsg::Resources(m) => format!("resources {m:?}"),
    }
}

fn timer_text(t: &AnyTimer) -> String {
    match t {
        AnyTimer::Guest(g) => match g {
            crate::guest::GuestTimer::Replica(r) => format!("DRBD timer {r:?}"),
            crate::guest::GuestTimer::Membership(m) => format!("membership timer {m:?}"),
            crate::guest::GuestTimer::Resources(r) => format!("resource timer {r:?}"),
            crate::guest::GuestTimer::RetryPromote => "guest timer RetryPromote".to_string(),
        },
        AnyTimer::Witness(w) => format!("witness timer {w:?}"),
        AnyTimer::Device(d) => format!("quorum device timer {d:?}"),
    }
}

fn net_name(n: Net) -> String {
    n.to_string()
}

/// The node and the text of an action in state `s` (before it happens).
fn describe(s: &State, a: &Action) -> (String, String) {
    let name = |n| node_name(n).to_string();
    match a {
        Action::Deliver { from, to, net } => {
            let m = s
                .channels
                .get(&(*from, *to, *net))
                .and_then(|q| q.front())
                .map_or_else(|| "?".to_string(), |m| msg_text(&m.0));
            (
                name(*to),
                format!("receives {m} from {} on {}", name(*from), net_name(*net)),
            )
        }
        Action::Timer { node, timer } => (name(*node), timer_text(timer)),
        Action::DiskDone { node } => {
            let t = s.disk_queue[super::state::ix(*node)]
                .front()
                .map_or_else(|| "?".to_string(), |r| format!("{:?}", r.0.token));
            (name(*node), format!("disk completes {t}"))
        }
        Action::ProcessDone { node, request } => (
            name(*node),
            format!("service agent answers {:?}", request.action),
        ),
        Action::Fence { by, target } => (
            name(*target),
            format!("STONITH by {} powers {} off", name(*by), name(*target)),
        ),
        Action::FencePeer { node, peer } => (
            name(*node),
            format!("fence-peer handler against {} finishes", name(*peer)),
        ),
        Action::Reboot { node } => (name(*node), "reboots from its metadata".to_string()),
        Action::ClusterRestart { node } => (
            name(*node),
            "cluster layer restarts the VM on another host (boots from its metadata)".to_string(),
        ),
        Action::Crash { node } => (name(*node), "crashes".to_string()),
        Action::PowerOff { node } => (name(*node), "host loses power".to_string()),
        Action::Partition(c) => ("net".to_string(), format!("partition {c}")),
        Action::Heal(c) => ("net".to_string(), format!("heal {c}")),
        Action::Lose { from, to, net } => {
            let m = s
                .channels
                .get(&(*from, *to, *net))
                .and_then(|q| q.front())
                .map_or_else(|| "?".to_string(), |m| msg_text(&m.0));
            (
                "net".to_string(),
                format!("loses {m} from {} to {}", name(*from), name(*to)),
            )
        }
        Action::KillService { node } => (name(*node), "service killed".to_string()),
        Action::DiskFailure { node } => (name(*node), "disk fails".to_string()),
        Action::Write { node } => (
            name(*node),
            format!("application writes block {0} (write {0})", s.next_write + 1),
        ),
        Action::Advance => (
            "clock".to_string(),
            "time passes (keep-alives, healthy monitors, retries)".to_string(),
        ),
    }
}

fn ms(t: Time) -> u64 {
    u64::try_from((t - Time::ZERO).as_millis()).unwrap_or(u64::MAX)
}

/// The schedule event of a fault or write (`None` for the system's own steps).
/// `next_write` is the number the write gets (writes are numbered in order; write `w`
/// goes to block `w`).
fn schedule_event(a: &Action, next_write: u8) -> Option<Fault> {
    let n = |x| node_name(x).to_string();
    // An isolated guest is, in a lab of two guests, the cut between them.
    let cut = |c: &super::config::Cut| {
        let y = if c.x == c.y && matches!(c.x, A | B) {
            super::state::other(c.x)
        } else {
            c.y
        };
        (n(c.x), n(y), c.net.map(|net| net.to_string()))
    };
    Some(match a {
        Action::Partition(c) if c.one_way => {
            let (from, to, net) = cut(c);
            Fault::CutOneWay { from, to, net }
        }
        Action::Heal(c) if c.one_way => {
            let (from, to, net) = cut(c);
            Fault::HealOneWay { from, to, net }
        }
        Action::Partition(c) => {
            let (a, b, net) = cut(c);
            Fault::Partition { a, b, net }
        }
        Action::Heal(c) => {
            let (a, b, net) = cut(c);
            Fault::Heal { a, b, net }
        }
        Action::Crash { node } => Fault::Crash { node: n(*node) },
        Action::Reboot { node } => Fault::Reboot { node: n(*node) },
        Action::PowerOff { node } => Fault::PowerOff { node: n(*node) },
        Action::ClusterRestart { node } => Fault::ClusterRestart { node: n(*node) },
        Action::Lose { from, to, net } => Fault::LoseMessages {
            a: n(*from),
            b: n(*to),
            net: Some(net.to_string()),
            count: 1,
        },
        Action::KillService { node } => Fault::KillService { node: n(*node) },
        Action::DiskFailure { node } => Fault::DiskFailure { node: n(*node) },
        Action::Write { node } => Fault::Write {
            node: n(*node),
            write: u64::from(next_write),
        },
        _ => return None,
    })
}

/// Replays `actions` from the model's initial state.
pub fn replay(model: &CheckModel, actions: &[Action]) -> Counterexample {
    let driver = &model.driver;
    let mut s = model.init().clone();
    // The virtual time is the time passed on the path: timers fire at their deadlines,
    // every other event at the earliest instant its window allows, faults and writes at
    // the instant of the step before them.
    let mut log = Log::default();
    let mut steps = Vec::new();
    let mut events = Vec::new();
    for (k, a) in actions.iter().enumerate() {
        let (node, event) = describe(&s, a);
        let next_write = s.next_write + 1;
        driver.apply(&mut s, a, &mut Some(&mut log));
        let at_ms = ms(log.now);
        if let Some(fault) = schedule_event(a, next_write) {
            events.push(TimedFault {
                // Milliseconds are exact in f64 far beyond any path the checker explores.
                at: at_ms as f64 / 1000.0,
                fault,
            });
        }
        let effects = log
            .events
            .drain(..)
            .map(|(who, what)| {
                if node_name(who) == node {
                    what
                } else {
                    format!("{}: {what}", node_name(who))
                }
            })
            .collect();
        steps.push(Step {
            step: k + 1,
            time_ms: at_ms,
            node,
            event,
            effects,
            state: CheckModel::summary(&s),
        });
    }
    Counterexample {
        steps,
        schedule: Schedule {
            format: Some(Format::V2),
            config: Some(model.config().pair()),
            events,
        },
    }
}

/// The steps as numbered lines: `4. t=31.002s b: membership timer Dead -> peer a dead,
/// take over, replica Primary  [a: ... | b: ...]`.
pub fn render(c: &Counterexample) -> String {
    let mut out = String::new();
    for s in &c.steps {
        let secs = s.time_ms as f64 / 1000.0;
        out.push_str(&format!(
            "{:>3}. t={secs:>8.3}s {}: {}",
            s.step, s.node, s.event
        ));
        if !s.effects.is_empty() {
            out.push_str(" -> ");
            out.push_str(&s.effects.join(", "));
        }
        out.push_str(&format!("\n       [{}]\n", s.state));
    }
    out
}
