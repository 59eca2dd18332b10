//! Fault schedules: one type for the checker's counterexamples and the simulator's
//! scripted faults.
//!
//! A [`Schedule`] is what happens to the pair and when: partitions and heals, crashes,
//! reboots, power-offs, host hangs, killed services, failed disks, VM restarts by the
//! cluster layer, lost messages and application writes, each at a time in seconds. The
//! checker writes the schedule of every counterexample (`dualha check --schedules DIR`,
//! JSON) together with the [`PairConfig`] it explored; the simulator reads the same type
//! from JSON or from a TOML file a person wrote, sets the pair up as the configuration
//! says and replays the events with real durations (`dualha simulate --schedule`). Each
//! driver produces or understands the kinds it can: the checker never hangs a host or
//! fails a disk, the simulator has no witness or ping node to cut.
//!
//! ```toml
//! format = "dualha-schedule/2"   # optional in a hand-written file
//! [config]                       # optional: without it, the lab's own configuration
//! name = "heartbeat-no-fencing"
//! protocol = "C"
//! # ... every key of PairConfig
//!
//! [[event]]
//! at = 0.1                       # seconds (the simulator: after its warm-up)
//! kind = "partition"
//! a = "a"
//! b = "b"
//! net = "ring0"                  # optional: every network between a and b if absent
//! ```
//!
//! Reading is strict: unknown keys, a missing key of an event, a `config` without one of
//! its keys and an unknown `format` are errors, never defaults. Node and network names
//! are checked by the driver that runs the schedule, against its own lab.

pub mod config;
pub mod options;
mod wire;

use serde::{Deserialize, Serialize};

pub use config::{
    ClusterLayer, FencingChoice, MembershipQuorum, PairConfig, ProtocolChoice, Start,
};

/// The format tag of a schedule: the one version this crate writes and reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Format {
    /// `dualha-schedule/2`: this type. (`dualha-schedule/1`, the checker's earlier JSON
    /// with `at_ms` and `cut`, is read by the simulator's legacy reader.)
    #[default]
    #[serde(rename = "dualha-schedule/2")]
    V2,
}

impl Format {
    /// The tag as written.
    pub const TAG: &'static str = "dualha-schedule/2";
}

/// A schedule: optionally the configuration it was made for, and the events.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// The format tag; the checker always writes it, a hand-written file may leave it
    /// out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
    /// The pair's configuration, complete; absent, the driver's own (the simulator's
    /// profile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<PairConfig>,
    /// The events, in any order (they happen in time order; equal times in file order).
    #[serde(default, rename = "event")]
    pub events: Vec<TimedFault>,
}

impl Schedule {
    /// The events in time order (stable for equal times).
    pub fn in_order(&self) -> Vec<TimedFault> {
        let mut v = self.events.clone();
        v.sort_by(|x, y| x.at.total_cmp(&y.at));
        v
    }

    /// Whether the schedule writes application data itself (then the replay's writes
    /// are the schedule's).
    pub fn has_writes(&self) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e.fault, Fault::Write { .. }))
    }
}

/// An event at a time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "wire::Event", into = "wire::Event")]
pub struct TimedFault {
    /// Seconds from the start of the schedule.
    pub at: f64,
    /// What happens.
    pub fault: Fault,
}

/// One event of a schedule. Nodes are named: the guests `a` and `b`; in the checker also
/// `witness`, `ping`, `qdevice`; in the simulator's lab the hosts `h10`..`h13`.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Cut the networks between two nodes (one network if `net` is given).
    Partition {
        /// One end.
        a: String,
        /// The other end.
        b: String,
        /// `public`, `replication`, `ring0`, `ring1`; every network if absent.
        net: Option<String>,
    },
    /// Restore them.
    Heal {
        /// One end.
        a: String,
        /// The other end.
        b: String,
        /// As for `partition`.
        net: Option<String>,
    },
    /// Cut one direction only: messages from `from` to `to` (on `net`, if given) are
    /// lost, the other way they pass (a one-way fault of a NIC, a switch port or a
    /// firewall rule).
    CutOneWay {
        /// The sender whose messages are lost.
        from: String,
        /// The receiver.
        to: String,
        /// As for `partition`.
        net: Option<String>,
    },
    /// Restore a one-way cut.
    HealOneWay {
        /// The sender.
        from: String,
        /// The receiver.
        to: String,
        /// As for `partition`.
        net: Option<String>,
    },
    /// A guest crashes (kernel panic, VM reset): down until it reboots.
    Crash {
        /// The guest.
        node: String,
    },
    /// A crashed guest boots again, in place, from its metadata.
    Reboot {
        /// The guest.
        node: String,
    },
    /// A host loses power, and the guests on it.
    PowerOff {
        /// The guest whose host, or a host.
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
    /// The cluster layer restarts the guest's VM on another host (from its metadata).
    ClusterRestart {
        /// The guest.
        node: String,
    },
    /// The next `count` messages from `a` to `b` (on `net`, if given) are lost.
    LoseMessages {
        /// The sender.
        a: String,
        /// The receiver.
        b: String,
        /// The network; any if absent.
        net: Option<String>,
        /// How many.
        count: u32,
    },
    /// The application writes on a guest: block `write`, with data naming the write.
    Write {
        /// The guest (a Primary, for the write to succeed).
        node: String,
        /// The write's number, which is also its block.
        write: u64,
    },
}

impl Fault {
    /// One line for a timeline, as an operator would write it: `partition a-b
    /// (replication)`, `crash a`, `hang h10 for 10 s`.
    pub fn describe(&self) -> String {
        let nets = |net: &Option<String>| match net {
            Some(n) => format!(" ({n})"),
            None => " (every network)".to_string(),
        };
        match self {
            Fault::Partition { a, b, net } => format!("partition {a}-{b}{}", nets(net)),
            Fault::Heal { a, b, net } => format!("heal {a}-{b}{}", nets(net)),
            Fault::CutOneWay { from, to, net } => {
                format!("cut {from}->{to} one way{}", nets(net))
            }
            Fault::HealOneWay { from, to, net } => {
                format!("heal {from}->{to} one way{}", nets(net))
            }
            Fault::Crash { node } => format!("crash {node}"),
            Fault::Reboot { node } => format!("reboot {node}"),
            Fault::PowerOff { node } => format!("power off {node}"),
            Fault::Hang { node, secs } => format!("hang {node} for {secs} s"),
            Fault::KillService { node } => format!("kill the service on {node}"),
            Fault::DiskFailure { node } => format!("disk of {node} fails"),
            Fault::ClusterRestart { node } => format!("cluster layer restarts the VM of {node}"),
            Fault::LoseMessages { a, b, net, count } => {
                format!("lose {count} message(s) {a}-{b}{}", nets(net))
            }
            Fault::Write { node, write } => format!("application writes w{write} on {node}"),
        }
    }

    /// The `kind` as a schedule spells it.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Partition { .. } => "partition",
            Fault::Heal { .. } => "heal",
            Fault::CutOneWay { .. } => "cut-one-way",
            Fault::HealOneWay { .. } => "heal-one-way",
            Fault::Crash { .. } => "crash",
            Fault::Reboot { .. } => "reboot",
            Fault::PowerOff { .. } => "power-off",
            Fault::Hang { .. } => "hang",
            Fault::KillService { .. } => "kill-service",
            Fault::DiskFailure { .. } => "disk-failure",
            Fault::ClusterRestart { .. } => "cluster-restart",
            Fault::LoseMessages { .. } => "lose-messages",
            Fault::Write { .. } => "write",
        }
    }

    /// The keys an event of `kind` has (`None` for an unknown kind), for messages that
    /// list what is allowed.
    pub fn keys_of(kind: &str) -> Option<&'static [&'static str]> {
        Some(match kind {
            "partition" | "heal" => &["at", "kind", "a", "b", "net"],
            "cut-one-way" | "heal-one-way" => &["at", "kind", "from", "to", "net"],
            "crash" | "reboot" | "power-off" | "kill-service" | "disk-failure"
            | "cluster-restart" => &["at", "kind", "node"],
            "hang" => &["at", "kind", "node", "secs"],
            "lose-messages" => &["at", "kind", "a", "b", "net", "count"],
            "write" => &["at", "kind", "node", "write"],
            _ => return None,
        })
    }

    /// Every kind, for messages.
    pub const KINDS: [&'static str; 13] = [
        "partition",
        "heal",
        "cut-one-way",
        "heal-one-way",
        "crash",
        "reboot",
        "power-off",
        "hang",
        "kill-service",
        "disk-failure",
        "cluster-restart",
        "lose-messages",
        "write",
    ];
}

#[cfg(test)]
mod tests;
