//! How a [`TimedFault`] is written: one flat table per event, `kind` naming the fault,
//! every key of that kind required (except an absent `net`, which means every network)
//! and no other key allowed. serde cannot refuse unknown keys of a flattened struct,
//! so the wire form repeats `at` in each variant instead.

use serde::{Deserialize, Serialize};

use super::{Fault, TimedFault};

#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub(super) enum Event {
    Partition {
        at: f64,
        a: String,
        b: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        net: Option<String>,
    },
    Heal {
        at: f64,
        a: String,
        b: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        net: Option<String>,
    },
    CutOneWay {
        at: f64,
        from: String,
        to: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        net: Option<String>,
    },
    HealOneWay {
        at: f64,
        from: String,
        to: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        net: Option<String>,
    },
    Crash {
        at: f64,
        node: String,
    },
    Reboot {
        at: f64,
        node: String,
    },
    PowerOff {
        at: f64,
        node: String,
    },
    Hang {
        at: f64,
        node: String,
        secs: f64,
    },
    KillService {
        at: f64,
        node: String,
    },
    DiskFailure {
        at: f64,
        node: String,
    },
    ClusterRestart {
        at: f64,
        node: String,
    },
    LoseMessages {
        at: f64,
        a: String,
        b: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        net: Option<String>,
        count: u32,
    },
    Write {
        at: f64,
        node: String,
        write: u64,
    },
}

impl From<Event> for TimedFault {
    fn from(e: Event) -> TimedFault {
        let (at, fault) = match e {
            Event::Partition { at, a, b, net } => (at, Fault::Partition { a, b, net }),
            Event::Heal { at, a, b, net } => (at, Fault::Heal { a, b, net }),
            Event::CutOneWay { at, from, to, net } => (at, Fault::CutOneWay { from, to, net }),
            Event::HealOneWay { at, from, to, net } => (at, Fault::HealOneWay { from, to, net }),
            Event::Crash { at, node } => (at, Fault::Crash { node }),
            Event::Reboot { at, node } => (at, Fault::Reboot { node }),
            Event::PowerOff { at, node } => (at, Fault::PowerOff { node }),
            Event::Hang { at, node, secs } => (at, Fault::Hang { node, secs }),
            Event::KillService { at, node } => (at, Fault::KillService { node }),
            Event::DiskFailure { at, node } => (at, Fault::DiskFailure { node }),
            Event::ClusterRestart { at, node } => (at, Fault::ClusterRestart { node }),
            Event::LoseMessages {
                at,
                a,
                b,
                net,
                count,
            } => (at, Fault::LoseMessages { a, b, net, count }),
            Event::Write { at, node, write } => (at, Fault::Write { node, write }),
        };
        TimedFault { at, fault }
    }
}

impl From<TimedFault> for Event {
    fn from(t: TimedFault) -> Event {
        let at = t.at;
        match t.fault {
            Fault::Partition { a, b, net } => Event::Partition { at, a, b, net },
            Fault::Heal { a, b, net } => Event::Heal { at, a, b, net },
            Fault::CutOneWay { from, to, net } => Event::CutOneWay { at, from, to, net },
            Fault::HealOneWay { from, to, net } => Event::HealOneWay { at, from, to, net },
            Fault::Crash { node } => Event::Crash { at, node },
            Fault::Reboot { node } => Event::Reboot { at, node },
            Fault::PowerOff { node } => Event::PowerOff { at, node },
            Fault::Hang { node, secs } => Event::Hang { at, node, secs },
            Fault::KillService { node } => Event::KillService { at, node },
            Fault::DiskFailure { node } => Event::DiskFailure { at, node },
            Fault::ClusterRestart { node } => Event::ClusterRestart { at, node },
            Fault::LoseMessages { a, b, net, count } => Event::LoseMessages {
                at,
                a,
                b,
                net,
                count,
            },
            Fault::Write { node, write } => Event::Write { at, node, write },
        }
    }
}
