//! What one check is about: the pair's configuration, the scenario it starts from, and
//! the fault and write budget. Read from TOML by `dualha check --config`, or built by
//! the matrix.

use core::time::Duration;

use serde::{Deserialize, Serialize};

use crate::guest::{GuestConfig, GuestConfigError};
use crate::membership::MembershipConfig;
use crate::replication::{AfterSb0Pri, AfterSb1Pri, AfterSb2Pri, ReplicaConfig};
use crate::resources::{GroupConfig, ResourceKind, ResourceSpec};
use crate::{NodeId, ProcessId};

pub use super::cut::{Cut, node_name};

pub use crate::schedule::config::{
    A, B, BootOrder, ClusterLayer, DrbdOptions, FencePeerChoice, FencingChoice, HeartbeatOptions,
    MembershipQuorum, NoQuorumChoice, OnNoQuorumChoice, PING, PairConfig, ProtocolChoice, QDEVICE,
    ResourceOptions, RrConflictChoice, Secs, Start, WITNESS,
};

/// The group's replica resource (the standard group's id, as in every driver).
pub const DRBD: ProcessId = crate::world::ids::group::REPLICA;
/// The group's service (mount, address and service folded into one resource; the
/// standard group's service id, as in every driver).
pub const SERVICE: ProcessId = crate::world::ids::group::SERVICE;
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
    /// A guest's backing disk fails for good: every later I/O on it returns an error
    /// (DRBD detaches, `on-io-error detach`), what it held is gone, and after a reboot
    /// the disk does not attach (its internal metadata is on it).
    DiskFailure,
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
            FaultKind::DiskFailure => "disk-failure",
        }
    }

    /// Every kind, for messages.
    pub const ALL: [FaultKind; 6] = [
        FaultKind::Partition,
        FaultKind::Crash,
        FaultKind::PowerOff,
        FaultKind::LoseMessage,
        FaultKind::KillService,
        FaultKind::DiskFailure,
    ];
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
    /// Whether a cut network may be restored (default true); false: every partition is
    /// permanent.
    pub heal: bool,
    /// Faults that happen first, in this order, outside the budget (`check::script`).
    pub script: Vec<super::script::ScriptStep>,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            faults: 1,
            writes: 2,
            kinds: vec![FaultKind::Partition],
            cuts: vec![Cut::between(A, B, None)],
            heal: true,
            script: Vec::new(),
        }
    }
}

/// How long the events that are not timers may take: each may happen at any time from
/// when it was issued up to its maximum (milliseconds), the *window* of the timed
/// semantics (`docs/verification.md`, "Timed semantics"). The defaults are the timing
/// assumptions the checker makes unless told otherwise: each is far below the timers it
/// races with (`ping-timeout` 500 ms, `keepalive` 1 s, `op_timeout` 20 s,
/// `fence_timeout` 60 s), and a configuration that widens a window explores the races
/// that opens.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timing {
    /// A DRBD replication message (data, acknowledgements, handshake, resync), one way.
    pub message_max_ms: u32,
    /// A disk request (write or read of the backing disk).
    pub disk_max_ms: u32,
    /// An OCF action (start, stop, promote, demote, monitor) of a resource agent.
    pub ocf_max_ms: u32,
    /// A STONITH operation, from the request to the target being off.
    pub fence_max_ms: u32,
    /// A `fence-peer` handler (dopd's round trip, or the STONITH it asks for); one that
    /// hangs (`drbd.fence_peer = "hang"`) never finishes.
    pub handler_max_ms: u32,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            message_max_ms: 10,
            disk_max_ms: 20,
            ocf_max_ms: 5_000,
            fence_max_ms: 10_000,
            handler_max_ms: 10_000,
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
    /// What starts first when a guest boots.
    pub boot_order: BootOrder,
    /// DRBD options.
    pub drbd: DrbdOptions,
    /// Heartbeat timers.
    pub heartbeat: HeartbeatOptions,
    /// Resource-manager options.
    pub resources: ResourceOptions,
    /// Faults and writes.
    pub budget: Budget,
    /// How long messages, disk requests, OCF actions, fencing and handlers may take.
    pub timing: Timing,
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
            boot_order: BootOrder::DrbdFirst,
            drbd: DrbdOptions::default(),
            heartbeat: HeartbeatOptions::default(),
            resources: ResourceOptions::default(),
            budget: Budget::default(),
            timing: Timing::default(),
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
    /// A script step the configuration cannot carry out.
    #[error("budget.script[{index}]: `{step}`: {why}")]
    BadScriptStep {
        /// Its position.
        index: usize,
        /// The step.
        step: String,
        /// Why.
        why: &'static str,
    },
    /// The name is not a plain file-name part (it names the schedule files).
    #[error(
        "name = {0:?}: must be 1 to {MAX_NAME_CHARS} letters, digits, '-', '_' or '.', not \
         starting with '.' (it names the schedule files)"
    )]
    BadName(String),
    /// A key is set that the rest of the configuration makes meaningless.
    #[error("{key} = {value}: {why}")]
    Pointless {
        /// The key.
        key: &'static str,
        /// Its value as written.
        value: String,
        /// What it needs.
        why: &'static str,
    },
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
            boot_order: self.boot_order,
            drbd: self.drbd.clone(),
            heartbeat: self.heartbeat.clone(),
            resources: self.resources.clone(),
        }
    }

    /// The fence delays the guests draw (`pcmk_delay_max`): unless `heartbeat`
    /// sets them, `a` waits 5 s, `b` does not. The checker's `FenceDelay` timer fires at
    /// this deadline (timed semantics).
    pub fn fence_delay(&self, me: NodeId) -> Duration {
        if let Some(d) = self.heartbeat.fence_delay(me) {
            d
        } else if me == A {
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
        if let Some(q) = self.drbd.on_no_quorum
            && !self.drbd_quorum_witness
        {
            return Err(CheckConfigError::Pointless {
                key: "drbd.on_no_quorum",
                value: format!("{:?}", q.key()),
                why: "DRBD has quorum only with drbd_quorum_witness = true",
            });
        }
        if let Some(f) = self.drbd.fence_peer
            && self.fencing == FencingChoice::DontCare
        {
            return Err(CheckConfigError::Pointless {
                key: "drbd.fence_peer",
                value: format!("{:?}", f.key()),
                why: "DRBD calls fence-peer only with fencing = \"resource-only\" or \
                      \"resource-and-stonith\"",
            });
        }
        if self.budget.writes > MAX_WRITES {
            return Err(CheckConfigError::TooManyWrites(self.budget.writes));
        }
        if self.budget.kinds.contains(&FaultKind::Partition) && self.budget.cuts.is_empty() {
            return Err(CheckConfigError::NoCuts);
        }
        if self.budget.script.len() > super::script::MAX_SCRIPT_STEPS {
            return Err(CheckConfigError::BadScriptStep {
                index: super::script::MAX_SCRIPT_STEPS,
                step: self.budget.script[super::script::MAX_SCRIPT_STEPS].to_string(),
                why: "a script has at most 8 steps",
            });
        }
        for (index, step) in self.budget.script.iter().enumerate() {
            if let Some(c) = step.cut()
                && (!self.has_node(c.x) || !self.has_node(c.y))
            {
                return Err(CheckConfigError::BadScriptStep {
                    index,
                    step: step.to_string(),
                    why: "it names a node this configuration does not have",
                });
            }
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

#[cfg(test)]
mod option_tests {
    use super::*;
    use crate::Net;

    fn read(text: &str) -> Result<CheckConfig, String> {
        let cfg: CheckConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        cfg.validate().map_err(|e| e.to_string())?;
        Ok(cfg)
    }

    #[test]
    fn the_tuning_tables_reach_the_guests() {
        let cfg = read(
            r#"
            fencing = "resource-only"
            drbd_quorum_witness = true
            boot_order = "together"
            [drbd]
            on_no_quorum = "io-error"
            rr_conflict = "call-pri-lost"
            allow_two_primaries = true
            fence_peer = "exit-4"
            ping_int = 5
            ping_timeout = 0.2
            connect_int = 3
            [heartbeat]
            keepalive = 2
            deadtime = 10
            fence_delay_a = 0
            fence_delay_b = 3
            [resources]
            auto_failback = true
            migration_threshold = 3
            no_quorum_policy = "ignore"
            start_failure_is_fatal = false
            service_monitor_interval = 0
            op_timeout = 30
            "#,
        )
        .expect("valid");
        let g = cfg.guest(B);
        assert_eq!(
            g.replica.on_no_quorum,
            crate::replication::OnNoQuorum::IoError
        );
        assert_eq!(
            g.replica.rr_conflict,
            crate::replication::RrConflict::CallPriLost
        );
        assert!(g.replica.allow_two_primaries);
        assert_eq!(g.replica.timers.ping_timeout, Duration::from_millis(200));
        assert_eq!(g.membership.keepalive, Duration::from_secs(2));
        assert_eq!(g.membership.deadtime, Duration::from_secs(10));
        // Heartbeat's derived timers follow deadtime.
        assert_eq!(g.membership.warntime, Duration::from_secs(5));
        assert_eq!(g.membership.initdead, Duration::from_secs(20));
        assert_eq!(
            g.membership.no_quorum_policy,
            crate::membership::NoQuorumPolicy::Ignore
        );
        assert!(g.group.auto_failback);
        assert_eq!(g.group.migration_threshold, 3);
        assert!(!g.group.start_failure_is_fatal);
        assert_eq!(g.group.resources[1].monitor_interval, Duration::ZERO);
        assert_eq!(
            g.group.resources[0].monitor_interval,
            Duration::from_secs(10)
        );
        assert_eq!(g.group.resources[0].op_timeout, Duration::from_secs(30));
        assert_eq!(cfg.fence_delay(A), Duration::ZERO);
        assert_eq!(cfg.fence_delay(B), Duration::from_secs(3));
        // The schedule's configuration carries them, and reads back the same.
        let pair = cfg.pair();
        let text = toml::to_string(&pair).expect("serialises");
        let back: PairConfig = toml::from_str(&text).expect("reads back");
        assert_eq!(back, pair);
    }

    #[test]
    fn a_default_configuration_serialises_without_the_tuning_keys() {
        let pair = CheckConfig::default().pair();
        let text = toml::to_string(&pair).expect("serialises");
        for key in ["boot_order =", "[drbd]", "[heartbeat]", "[resources]"] {
            assert!(!text.contains(key), "{text}");
        }
    }

    #[test]
    fn every_bad_value_names_the_key_the_value_and_what_is_allowed() {
        for (text, words) in [
            (
                "[drbd]\non_no_quorum = \"panic\"",
                &["on_no_quorum", "panic", "io-error"][..],
            ),
            (
                "[drbd]\nfence_peer = \"exit-9\"",
                &["fence_peer", "exit-9", "exit-7", "hang"],
            ),
            (
                "[drbd]\nrr_conflict = \"violently\"",
                &["rr_conflict", "violently", "call-pri-lost"],
            ),
            ("[drbd]\nping_int = -1", &["ping_int", "-1", "0 to 86400"]),
            ("[heartbeat]\ndeadtime = \"30s\"", &["deadtime", "30s"]),
            ("[heartbeat]\ndedtime = 30", &["dedtime", "deadtime"]),
            (
                "[resources]\nno_quorum_policy = \"suicide\"",
                &["no_quorum_policy", "suicide", "freeze"],
            ),
            (
                "[resources]\nmigration_threshold = -1",
                &["migration_threshold", "-1"],
            ),
            (
                "boot_order = \"heartbeat-first\"",
                &["boot_order", "heartbeat-first", "together"],
            ),
            (
                "[budget]\nkinds = [\"meteor\"]",
                &["kinds", "meteor", "disk-failure"],
            ),
            (
                "[budget]\ncuts = [\"a-a\"]",
                &["cuts", "a-a", "every link of one node"],
            ),
            // Values the machines refuse name the guest part's field.
            (
                "[heartbeat]\nkeepalive = 20",
                &["membership.deadtime", "keepalive"],
            ),
            (
                "[drbd]\nping_timeout = 0",
                &["replica.timers", "ping_timeout"],
            ),
            (
                "protocol = \"A\"\n[drbd]\nallow_two_primaries = true",
                &["allow_two_primaries", "protocol C"],
            ),
            // Keys the rest of the configuration makes meaningless.
            (
                "[drbd]\non_no_quorum = \"io-error\"",
                &["drbd.on_no_quorum", "\"io-error\"", "drbd_quorum_witness"],
            ),
            (
                "[drbd]\nfence_peer = \"hang\"",
                &["drbd.fence_peer", "\"hang\"", "resource-only"],
            ),
        ] {
            let e = read(text).expect_err(text);
            for w in words {
                assert!(e.contains(w), "{text}: `{w}` not in: {e}");
            }
        }
    }

    #[test]
    fn an_isolation_cut_covers_every_link_of_its_node() {
        let c = Cut::parse("witness").expect("parses");
        assert_eq!(c.to_string(), "witness");
        assert!(c.covers(A, WITNESS, Net::Replication));
        assert!(c.covers(WITNESS, B, Net::Replication));
        assert!(!c.covers(A, B, Net::Replication));
        let c = Cut::parse("a/ring0").expect("parses");
        assert!(c.covers(B, A, Net::Ring(0)));
        assert!(!c.covers(B, A, Net::Replication));
        assert_eq!(Cut::parse("a-a"), None);
        let mut cfg = CheckConfig::default();
        cfg.budget.cuts = vec![Cut::parse("witness").expect("parses")];
        assert_eq!(
            cfg.validate(),
            Err(CheckConfigError::CutToAbsentNode(cfg.budget.cuts[0]))
        );
    }

    #[test]
    fn a_one_way_cut_loses_messages_in_its_direction_only() {
        let c = Cut::parse("a>b/replication").expect("parses");
        assert!(c.one_way);
        assert_eq!(c.to_string(), "a>b/replication");
        assert!(c.covers(A, B, Net::Replication));
        assert!(!c.covers(B, A, Net::Replication), "b to a passes");
        assert!(!c.covers(A, B, Net::Ring(0)), "other networks pass");
        let back = Cut::parse("b>a").expect("parses");
        assert_ne!(
            back,
            Cut::parse("a>b").expect("parses"),
            "two directions, two cuts"
        );
        assert!(back.covers(B, A, Net::Public) && !back.covers(A, B, Net::Public));
        assert_eq!(Cut::parse("a>a"), None);
        assert_eq!(Cut::parse("a>"), None);
        assert_eq!(Cut::parse("a>b/nowhere"), None);
    }
}
