//! An ordered fault script, explored as a prefix: `budget.script = ["power-off a",
//! "partition a-b"]` makes these faults happen first, in this order, each at whatever
//! point of the machines' run the checker chooses (every interleaving with messages,
//! timers and disk completions is explored), before any fault of the budget. Script
//! faults do not count against `budget.faults`. This is how an operator's question
//! "what if the host fails and then the network?" is asked without paying for every
//! other order.

use core::fmt;

use serde::{Deserialize, Serialize};

use super::config::{A, B, Cut, node_name};
use super::state::Action;
use crate::NodeId;

/// At most this many steps: each one is a step of every explored path.
pub const MAX_SCRIPT_STEPS: usize = 8;

/// One scripted fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScriptStep {
    /// `crash X`: the guest crashes (it may reboot).
    Crash(NodeId),
    /// `power-off X`: the guest's host loses power.
    PowerOff(NodeId),
    /// `kill-service X`: the service dies on the guest.
    KillService(NodeId),
    /// `disk-failure X`: the guest's disk fails for good.
    DiskFailure(NodeId),
    /// `partition CUT`: the cut happens (any cut `budget.cuts` accepts).
    Partition(Cut),
    /// `heal CUT`: it is restored.
    Heal(Cut),
}

impl ScriptStep {
    /// Parses `crash a`, `power-off b`, `kill-service a`, `disk-failure b`,
    /// `partition a-b/replication`, `heal a-b`, `partition a>b`.
    pub fn parse(text: &str) -> Option<ScriptStep> {
        let (verb, arg) = text.trim().split_once(' ')?;
        let arg = arg.trim();
        let guest = || match arg {
            "a" => Some(A),
            "b" => Some(B),
            _ => None,
        };
        Some(match verb {
            "crash" => ScriptStep::Crash(guest()?),
            "power-off" => ScriptStep::PowerOff(guest()?),
            "kill-service" => ScriptStep::KillService(guest()?),
            "disk-failure" => ScriptStep::DiskFailure(guest()?),
            "partition" => ScriptStep::Partition(Cut::parse(arg)?),
            "heal" => ScriptStep::Heal(Cut::parse(arg)?),
            _ => return None,
        })
    }

    /// The action that carries the step out.
    pub fn action(self) -> Action {
        match self {
            ScriptStep::Crash(node) => Action::Crash { node },
            ScriptStep::PowerOff(node) => Action::PowerOff { node },
            ScriptStep::KillService(node) => Action::KillService { node },
            ScriptStep::DiskFailure(node) => Action::DiskFailure { node },
            ScriptStep::Partition(c) => Action::Partition(c),
            ScriptStep::Heal(c) => Action::Heal(c),
        }
    }

    /// The cut it names, if any.
    pub fn cut(self) -> Option<Cut> {
        match self {
            ScriptStep::Partition(c) | ScriptStep::Heal(c) => Some(c),
            _ => None,
        }
    }
}

impl fmt::Display for ScriptStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScriptStep::Crash(n) => write!(f, "crash {}", node_name(*n)),
            ScriptStep::PowerOff(n) => write!(f, "power-off {}", node_name(*n)),
            ScriptStep::KillService(n) => write!(f, "kill-service {}", node_name(*n)),
            ScriptStep::DiskFailure(n) => write!(f, "disk-failure {}", node_name(*n)),
            ScriptStep::Partition(c) => write!(f, "partition {c}"),
            ScriptStep::Heal(c) => write!(f, "heal {c}"),
        }
    }
}

impl Serialize for ScriptStep {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ScriptStep {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ScriptStep, D::Error> {
        let s = String::deserialize(d)?;
        ScriptStep::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "invalid script step `{s}`: expected `crash X`, `power-off X`, \
                 `kill-service X`, `disk-failure X` (X = a or b), or `partition CUT`, \
                 `heal CUT` (CUT as in budget.cuts: a-b, a-b/replication, a>b, witness, ...)"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Net;

    #[test]
    fn steps_parse_print_and_name_their_action() {
        for text in [
            "crash a",
            "power-off b",
            "kill-service a",
            "disk-failure b",
            "partition a-b/replication",
            "heal a-b",
            "partition a>b",
        ] {
            let step = ScriptStep::parse(text).expect(text);
            assert_eq!(step.to_string(), text);
        }
        assert_eq!(
            ScriptStep::parse("partition a-b/ring0").map(ScriptStep::action),
            Some(Action::Partition(Cut::between(A, B, Some(Net::Ring(0)))))
        );
        for bad in ["crash", "crash c", "explode a", "partition a-a", "heal", ""] {
            assert_eq!(ScriptStep::parse(bad), None, "{bad}");
        }
    }
}
