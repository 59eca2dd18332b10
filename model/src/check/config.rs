//! What one check is about: the pair's configuration, the scenario it starts from, and
//! the fault and write budget. Read from TOML by `dualha check --config`, or built by
//! the matrix.

use core::fmt;
use core::time::Duration;

use serde::{Deserialize, Serialize};

use crate::guest::{GuestConfig, GuestConfigError};
use crate::membership::MembershipConfig;
use crate::replication::{AfterSb0Pri, AfterSb1Pri, AfterSb2Pri, ReplicaConfig};
use crate::resources::{GroupConfig, ResourceKind, ResourceSpec};
use crate::{Net, NodeId, ProcessId};

pub use crate::schedule::config::{
    A, B, ClusterLayer, FencingChoice, MembershipQuorum, PING, PairConfig, ProtocolChoice, QDEVICE,
    Start, WITNESS,
};

/// The group's replica resource.
pub const DRBD: ProcessId = ProcessId(1);
/// The group's service (mount, address and service folded into one resource).
pub const SERVICE: ProcessId = ProcessId(2);
/// Device size in blocks: write `w` goes to block `w`, so writes never overwrite each
/// other and "on the disk" is a set of write ids.
pub const BLOCKS: u64 = 8;
/// At most this many application writes (block 0 is unused; ids 1..=7).
pub const MAX_WRITES: u8 = 7;

/// A kind of fault the checker may inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// Cut one of the configured [`Cut`]s (healing is free).
    Partition,
    /// A guest crashes (kernel panic, VM reset) and may reboot from its metadata.
    Crash,
    /// A guest's host loses power: the guest is down until the cluster layer restarts it.
    PowerOff,
    /// One message at the head of a channel is lost.
    LoseMessage,
    /// The service dies on a guest (its monitor then finds it).
    KillService,
}

impl FaultKind {
    /// The kind as a configuration spells it.
    pub fn key(self) -> &'static str {
        match self {
            FaultKind::Partition => "partition",
            FaultKind::Crash => "crash",
            FaultKind::PowerOff => "power-off",
            FaultKind::LoseMessage => "lose-message",
            FaultKind::KillService => "kill-service",
        }
    }

    /// Every kind, for messages.
    pub const ALL: [FaultKind; 5] = [
        FaultKind::Partition,
        FaultKind::Crash,
        FaultKind::PowerOff,
        FaultKind::LoseMessage,
        FaultKind::KillService,
    ];
}

/// A network cut: one link (or every link) between two nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cut {
    /// One end (the lower id).
    pub x: NodeId,
    /// The other end.
    pub y: NodeId,
    /// One network, or `None` for every network between them.
    pub net: Option<Net>,
}

impl Cut {
    /// Whether this cut severs `net` between `p` and `q`.
    pub fn covers(&self, p: NodeId, q: NodeId, net: Net) -> bool {
        let (lo, hi) = if p < q { (p, q) } else { (q, p) };
        self.x == lo && self.y == hi && self.net.is_none_or(|n| n == net)
    }

    /// Parses `a-b`, `a-b/ring0`, `a-b/ring1`, `a-b/replication`, `a-witness`,
    /// `b-ping`, `a-qdevice` ...
    pub fn parse(s: &str) -> Option<Cut> {
        let (ends, net) = match s.split_once('/') {
            Some((e, n)) => (e, Some(n)),
            None => (s, None),
        };
        let (p, q) = ends.split_once('-')?;
        let node = |n: &str| match n {
            "a" => Some(A),
            "b" => Some(B),
            "witness" => Some(WITNESS),
            "ping" => Some(PING),
            "qdevice" => Some(QDEVICE),
            _ => None,
        };
        let (p, q) = (node(p)?, node(q)?);
        if p == q {
            return None;
        }
        let net = match net {
            None => None,
            Some("ring0") => Some(Net::Ring(0)),
            Some("ring1") => Some(Net::Ring(1)),
            Some("replication") => Some(Net::Replication),
            Some("public") => Some(Net::Public),
            Some(_) => return None,
        };
        let (x, y) = if p < q { (p, q) } else { (q, p) };
        Some(Cut { x, y, net })
    }
}

impl fmt::Display for Cut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", node_name(self.x), node_name(self.y))?;
        if let Some(n) = self.net {
            write!(f, "/{n}")?;
        }
        Ok(())
    }
}

impl Serialize for Cut {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cut {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Cut, D::Error> {
        let s = String::deserialize(d)?;
        Cut::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "invalid cut `{s}`: expected X-Y or X-Y/NET with X, Y in a, b, witness, ping, \
                 qdevice and NET in ring0, ring1, replication, public"
            ))
        })
    }
}

/// The name the checker's output uses for a node.
pub fn node_name(n: NodeId) -> &'static str {
    match n {
        A => "a",
        B => "b",
        WITNESS => "witness",
        PING => "ping",
        QDEVICE => "qdevice",
        _ => "?",
    }
}

/// The fault and write budget, and which faults are allowed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Budget {
    /// At most this many faults on one path.
    pub faults: u8,
    /// At most this many application writes on one path (at most 7).
    pub writes: u8,
    /// Which kinds of fault.
    pub kinds: Vec<FaultKind>,
    /// Which links a partition may cut (default: every network between `a` and `b`).
    pub cuts: Vec<Cut>,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            faults: 1,
            writes: 2,
            kinds: vec![FaultKind::Partition],
            cuts: vec![Cut {
                x: A,
                y: B,
                net: None,
            }],
        }
    }
}

/// One configuration to check.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckConfig {
    /// A short name for tables.
    pub name: String,
    /// DRBD's `protocol`.
    pub protocol: ProtocolChoice,
    /// DRBD's `fencing`.
    pub fencing: FencingChoice,
    /// DRBD's `after-sb-0pri`.
    pub after_sb_0pri: AfterSb0Pri,
    /// DRBD's `after-sb-1pri`.
    pub after_sb_1pri: AfterSb1Pri,
    /// DRBD's `after-sb-2pri`.
    pub after_sb_2pri: AfterSb2Pri,
    /// DRBD 9 `quorum majority` with a diskless witness.
    pub drbd_quorum_witness: bool,
    /// Heartbeat/Pacemaker STONITH before a take-over.
    pub stonith: bool,
    /// votequorum.
    pub membership_quorum: MembershipQuorum,
    /// Heartbeat rings (1 or 2).
    pub rings: u8,
    /// An ipfail ping node on the public network.
    pub ping_node: bool,
    /// The VM-restart layer.
    pub cluster_layer: ClusterLayer,
    /// Where the exploration starts.
    pub start: Start,
    /// Faults and writes.
    pub budget: Budget,
}

impl Default for CheckConfig {
    fn default() -> CheckConfig {
        CheckConfig {
            name: "custom".to_string(),
            protocol: ProtocolChoice::C,
            fencing: FencingChoice::DontCare,
            after_sb_0pri: AfterSb0Pri::Disconnect,
            after_sb_1pri: AfterSb1Pri::Disconnect,
            after_sb_2pri: AfterSb2Pri::Disconnect,
            drbd_quorum_witness: false,
            stonith: false,
            membership_quorum: MembershipQuorum::TwoNode,
            rings: 1,
            ping_node: false,
            cluster_layer: ClusterLayer::Off,
            start: Start::Running,
            budget: Budget::default(),
        }
    }
}

/// A configuration the checker cannot run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckConfigError {
    /// A guest part refuses it.
    #[error(transparent)]
    Guest(#[from] GuestConfigError),
    /// Too many writes for the abstract disk.
    #[error("budget.writes: {0} writes; at most {MAX_WRITES} are supported")]
    TooManyWrites(u8),
    /// Power-off without a cluster layer is a crash that never reboots: allowed, but a
    /// partition fault needs at least one cut.
    #[error("budget.cuts: the partition fault needs at least one cut (e.g. \"a-b\")")]
    NoCuts,
    /// A cut names a node the configuration does not have.
    #[error("budget.cuts: `{0}` names a node this configuration does not have")]
    CutToAbsentNode(Cut),
    /// The name is not a plain file-name part (it names the schedule files).
    #[error(
        "name = {0:?}: must be 1 to {MAX_NAME_CHARS} letters, digits, '-', '_' or '.', not \
         starting with '.' (it names the schedule files)"
    )]
    BadName(String),
    /// A list names one entry twice.
    #[error("{key}: `{entry}` is listed twice")]
    Duplicate {
        /// `budget.kinds` or `budget.cuts`.
        key: &'static str,
        /// The entry.
        entry: String,
    },
}

/// The longest configuration name.
pub const MAX_NAME_CHARS: usize = 64;

/// Whether `name` can be part of a file name in any directory: no path separators, no
/// `..`, nothing hidden, nothing a shell or a file system treats specially.
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_CHARS
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl CheckConfig {
    /// The configuration of guest `me` (a or b).
    pub fn guest(&self, me: NodeId) -> GuestConfig {
        let peer = if me == A { B } else { A };
        let resources = vec![
            ResourceSpec::new(DRBD, "drbddisk::r0", ResourceKind::Replica),
            ResourceSpec::new(SERVICE, "service", ResourceKind::Service),
        ];
        let mut group = GroupConfig::new(me, peer, A, resources);
        // No failback: a returning `a` stays passive, so the checker explores the
        // failure, not the planned move back.
        group.auto_failback = false;
        let mut cfg = GuestConfig {
            replica: ReplicaConfig::new(me, peer, BLOCKS),
            membership: MembershipConfig::heartbeat(me, peer),
            group,
        };
        self.pair().apply_to(&mut cfg);
        cfg
    }

    /// The pair's configuration without the search budget: what a counterexample's
    /// schedule carries so that the simulator replays the same configuration.
    pub fn pair(&self) -> PairConfig {
        PairConfig {
            name: self.name.clone(),
            protocol: self.protocol,
            fencing: self.fencing,
            after_sb_0pri: self.after_sb_0pri,
            after_sb_1pri: self.after_sb_1pri,
            after_sb_2pri: self.after_sb_2pri,
            drbd_quorum_witness: self.drbd_quorum_witness,
            stonith: self.stonith,
            membership_quorum: self.membership_quorum,
            rings: self.rings,
            ping_node: self.ping_node,
            cluster_layer: self.cluster_layer,
            start: self.start,
        }
    }

    /// The fence delays the guests draw (`pcmk_delay_max`): `a` waits, `b` does not.
    /// Only the replayed timeline uses them; the checker fires timers in any order.
    pub fn fence_delay(&self, me: NodeId) -> Duration {
        if me == A {
            Duration::from_secs(5)
        } else {
            Duration::ZERO
        }
    }

    /// Whether a third-party node is configured.
    pub fn has_node(&self, n: NodeId) -> bool {
        match n {
            A | B => true,
            WITNESS => self.drbd_quorum_witness,
            PING => self.ping_node,
            QDEVICE => self.membership_quorum == MembershipQuorum::Qdevice,
            _ => false,
        }
    }

    /// Checks that the checker can run this configuration.
    pub fn validate(&self) -> Result<(), CheckConfigError> {
        if !plain_name(&self.name) {
            return Err(CheckConfigError::BadName(self.name.clone()));
        }
        for me in [A, B] {
            self.guest(me).validate()?;
        }
        if self.budget.writes > MAX_WRITES {
            return Err(CheckConfigError::TooManyWrites(self.budget.writes));
        }
        if self.budget.kinds.contains(&FaultKind::Partition) && self.budget.cuts.is_empty() {
            return Err(CheckConfigError::NoCuts);
        }
        for (i, c) in self.budget.cuts.iter().enumerate() {
            if !self.has_node(c.x) || !self.has_node(c.y) {
                return Err(CheckConfigError::CutToAbsentNode(*c));
            }
            if self.budget.cuts[..i].contains(c) {
                return Err(CheckConfigError::Duplicate {
                    key: "budget.cuts",
                    entry: c.to_string(),
                });
            }
        }
        for (i, k) in self.budget.kinds.iter().enumerate() {
            if self.budget.kinds[..i].contains(k) {
                return Err(CheckConfigError::Duplicate {
                    key: "budget.kinds",
                    entry: k.key().to_string(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_that_is_not_a_plain_file_name_part_is_refused() {
        for bad in [
            "",
            "../../etc/x",
            "a/b",
            ".hidden",
            "a b",
            "x\0",
            &"n".repeat(65),
        ] {
            let cfg = CheckConfig {
                name: bad.to_string(),
                ..CheckConfig::default()
            };
            assert_eq!(
                cfg.validate(),
                Err(CheckConfigError::BadName(bad.to_string())),
                "{bad:?}"
            );
        }
        for good in ["custom", "two-layer-race_fencing.v2", &"n".repeat(64)] {
            let cfg = CheckConfig {
                name: good.to_string(),
                ..CheckConfig::default()
            };
            assert_eq!(cfg.validate(), Ok(()), "{good:?}");
        }
        for row in super::super::matrix::rows() {
            assert_eq!(row.config.validate(), Ok(()), "{}", row.config.name);
        }
    }

    #[test]
    fn a_fault_kind_or_cut_listed_twice_is_refused() {
        let mut cfg = CheckConfig::default();
        cfg.budget.kinds = vec![FaultKind::Crash, FaultKind::PowerOff, FaultKind::Crash];
        let e = cfg.validate().expect_err("duplicate kind");
        assert_eq!(e.to_string(), "budget.kinds: `crash` is listed twice");
        let mut cfg = CheckConfig::default();
        cfg.budget.cuts.push(cfg.budget.cuts[0]);
        let e = cfg.validate().expect_err("duplicate cut");
        assert_eq!(e.to_string(), "budget.cuts: `a-b` is listed twice");
    }
}
