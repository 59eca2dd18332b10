//! Counterexamples people can read: a path replayed step by step with a plausible
//! virtual time, and the same path as a schedule of faults and writes a simulator can
//! replay.

use core::time::Duration;

use serde::{Deserialize, Serialize};

use super::config::{CheckConfig, Cut, node_name};
use super::model::CheckModel;
use super::state::{Action, AnyTimer, Log, State};
use crate::guest::GuestMsg;
use crate::replication::{ConnMsg, ReplicaMsg};
use crate::{Net, Time};

/// One numbered step of a counterexample.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// 1-based.
    pub step: usize,
    /// Virtual time in milliseconds since the exploration started (see
    /// `docs/verification.md`: timers fire at their configured durations, every other
    /// event takes 1 ms, faults and writes 100 ms).
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

/// A fault or write of a replayable schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum ScheduleEvent {
    /// Cut a network (`cut`: `a-b`, `a-b/ring0`, `a-witness`, ...).
    Partition {
        /// When.
        at_ms: u64,
        /// What.
        cut: Cut,
    },
    /// Restore it.
    Heal {
        /// When.
        at_ms: u64,
        /// What.
        cut: Cut,
    },
    /// A guest crashes.
    Crash {
        /// When.
        at_ms: u64,
        /// Which.
        node: String,
    },
    /// A crashed guest reboots.
    Reboot {
        /// When.
        at_ms: u64,
        /// Which.
        node: String,
    },
    /// A guest's host loses power.
    PowerOff {
        /// When.
        at_ms: u64,
        /// Which guest's host.
        node: String,
    },
    /// The cluster layer restarts the guest's VM on another host.
    ClusterRestart {
        /// When.
        at_ms: u64,
        /// Which.
        node: String,
    },
    /// The next message from `from` to `to` on `net` is lost.
    LoseMessage {
        /// When.
        at_ms: u64,
        /// Sender.
        from: String,
        /// Receiver.
        to: String,
        /// Network.
        net: String,
    },
    /// The service dies.
    KillService {
        /// When.
        at_ms: u64,
        /// Where.
        node: String,
    },
    /// The application writes block `write` with payload `write` on a Primary.
    Write {
        /// When.
        at_ms: u64,
        /// Where.
        node: String,
        /// The write's id (and block).
        write: u8,
    },
}

/// A replayable schedule: the configuration and the faults and writes in time order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// Format tag: `dualha-schedule/1`.
    pub format: String,
    /// The configuration checked.
    pub config: CheckConfig,
    /// The events.
    pub events: Vec<ScheduleEvent>,
}

/// A replayed path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counterexample {
    /// The steps.
    pub steps: Vec<Step>,
    /// The faults and writes alone.
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
                .map_or_else(|| "?".to_string(), msg_text);
            (
                name(*to),
                format!("receives {m} from {} on {}", name(*from), net_name(*net)),
            )
        }
        Action::Timer { node, timer } => (name(*node), timer_text(timer)),
        Action::DiskDone { node } => {
            let t = s.disk_queue[super::state::ix(*node)]
                .front()
                .map_or_else(|| "?".to_string(), |r| format!("{:?}", r.token));
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
                .map_or_else(|| "?".to_string(), msg_text);
            (
                "net".to_string(),
                format!("loses {m} from {} to {}", name(*from), name(*to)),
            )
        }
        Action::KillService { node } => (name(*node), "service killed".to_string()),
        Action::Write { node } => (
            name(*node),
            format!("application writes block {0} (write {0})", s.next_write + 1),
        ),
    }
}

fn ms(t: Time) -> u64 {
    u64::try_from((t - Time::ZERO).as_millis()).unwrap_or(u64::MAX)
}

/// Replays `actions` from the model's initial state.
pub fn replay(model: &CheckModel, actions: &[Action]) -> Counterexample {
    let driver = &model.driver;
    let mut s = model.init().clone();
    let mut log = Log::default();
    // Deadlines of the timers armed at the start: a fresh interval from time zero.
    for &(n, t) in &s.timers {
        log.deadlines.insert((n, t), Time::ZERO);
    }
    let mut steps = Vec::new();
    let mut events = Vec::new();
    for (k, a) in actions.iter().enumerate() {
        let (node, event) = describe(&s, a);
        let step_cost = if a.is_schedule_event() {
            Duration::from_millis(100)
        } else if matches!(a, Action::Timer { .. }) {
            Duration::ZERO
        } else {
            Duration::from_millis(1)
        };
        log.now = log.now + step_cost;
        let next_write = s.next_write + 1;
        driver.apply(&mut s, a, &mut Some(&mut log));
        let at_ms = ms(log.now);
        let n = |x| node_name(x).to_string();
        match a {
            Action::Partition(c) => events.push(ScheduleEvent::Partition { at_ms, cut: *c }),
            Action::Heal(c) => events.push(ScheduleEvent::Heal { at_ms, cut: *c }),
            Action::Crash { node } => events.push(ScheduleEvent::Crash {
                at_ms,
                node: n(*node),
            }),
            Action::Reboot { node } => events.push(ScheduleEvent::Reboot {
                at_ms,
                node: n(*node),
            }),
            Action::PowerOff { node } => {
                events.push(ScheduleEvent::PowerOff {
                    at_ms,
                    node: n(*node),
                });
            }
            Action::ClusterRestart { node } => {
                events.push(ScheduleEvent::ClusterRestart {
                    at_ms,
                    node: n(*node),
                });
            }
            Action::Lose { from, to, net } => events.push(ScheduleEvent::LoseMessage {
                at_ms,
                from: n(*from),
                to: n(*to),
                net: net.to_string(),
            }),
            Action::KillService { node } => {
                events.push(ScheduleEvent::KillService {
                    at_ms,
                    node: n(*node),
                });
            }
            Action::Write { node } => events.push(ScheduleEvent::Write {
                at_ms,
                node: n(*node),
                write: next_write,
            }),
            _ => {}
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
            format: "dualha-schedule/1".to_string(),
            config: model.config().clone(),
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
