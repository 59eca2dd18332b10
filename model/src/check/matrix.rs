//! The built-in matrix: configurations with the verdict each property is expected to
//! have. The first rows are the known answers; `docs/verification.md` explains
//! every row.

use super::config::{A, B, Budget, CheckConfig, ClusterLayer, Cut, FaultKind, FencingChoice};
use super::config::{MembershipQuorum, ProtocolChoice, Start};
use super::model::{FAILOVER, NO_LOST_WRITE, NO_SPLIT_BRAIN, NO_STALE_PRIMARY};
use super::run::Verdict;

/// One row: a configuration and the expected verdicts of the properties it is about
/// (properties not listed are reported but not compared).
#[derive(Clone, Debug)]
pub struct Row {
    /// The configuration (its `name` names the row).
    pub config: CheckConfig,
    /// Expected verdicts.
    pub expected: Vec<(&'static str, Verdict)>,
    /// The bound in steps this row needs.
    pub max_depth: usize,
}

fn ab() -> Cut {
    Cut::between(A, B, None)
}

fn budget(faults: u8, writes: u8, kinds: &[FaultKind]) -> Budget {
    Budget {
        faults,
        writes,
        kinds: kinds.to_vec(),
        cuts: vec![ab()],
        heal: true,
        script: Vec::new(),
    }
}

fn cfg(name: &str, f: impl FnOnce(&mut CheckConfig)) -> CheckConfig {
    let mut c = CheckConfig {
        name: name.to_string(),
        ..CheckConfig::default()
    };
    f(&mut c);
    c
}

use FaultKind::{Crash, Partition, PowerOff};
use Verdict::{Holds, Unknown, Violated};

/// The default matrix.
pub fn rows() -> Vec<Row> {
    let safe = |c: &mut CheckConfig| {
        c.fencing = FencingChoice::ResourceAndStonith;
        c.stonith = true;
    };
    vec![
        Row {
            config: cfg("heartbeat-no-fencing-partition", |c| {
                c.budget = budget(1, 2, &[Partition]);
            }),
            expected: vec![(NO_SPLIT_BRAIN, Violated), (FAILOVER, Holds)],
            max_depth: super::run::DEFAULT_STEPS,
        },
        Row {
            config: cfg("protocol-a-primary-crash", |c| {
                c.protocol = ProtocolChoice::A;
                c.fencing = FencingChoice::ResourceAndStonith;
                c.budget = budget(1, 1, &[Crash]);
            }),
            expected: vec![(NO_LOST_WRITE, Violated)],
            max_depth: super::run::DEFAULT_STEPS,
        },
        Row {
            config: cfg("protocol-c-primary-crash", |c| {
                c.protocol = ProtocolChoice::C;
                c.fencing = FencingChoice::ResourceAndStonith;
                c.budget = budget(1, 1, &[Crash]);
            }),
            expected: vec![(NO_LOST_WRITE, Holds), (FAILOVER, Holds)],
            max_depth: super::run::DEFAULT_STEPS,
        },
        Row {
            config: cfg("resource-and-stonith-partition", |c| {
                safe(c);
                c.budget = budget(1, 2, &[Partition]);
            }),
            // The Primary's fence-peer powers b off within the handler window (10 s),
            // long before b's 30 s deadtime: a keeps the service, b never takes over.
            expected: vec![(NO_SPLIT_BRAIN, Holds), (FAILOVER, Unknown)],
            max_depth: super::run::DEFAULT_STEPS,
        },
        Row {
            config: cfg("quorum-witness-partition", |c| {
                c.drbd_quorum_witness = true;
                c.budget = budget(1, 2, &[Partition]);
            }),
            expected: vec![(NO_SPLIT_BRAIN, Holds)],
            max_depth: super::run::DEFAULT_STEPS,
        },
        Row {
            config: cfg("two-layer-race-no-fencing", |c| {
                c.cluster_layer = ClusterLayer::Vmware;
                c.budget = budget(2, 2, &[PowerOff, Partition]);
            }),
            expected: vec![(NO_SPLIT_BRAIN, Violated)],
            max_depth: super::run::DEFAULT_STEPS,
        },
        Row {
            config: cfg("two-layer-race-fencing", |c| {
                safe(c);
                c.cluster_layer = ClusterLayer::Vmware;
                c.budget = budget(2, 2, &[PowerOff, Partition]);
            }),
            expected: vec![(NO_SPLIT_BRAIN, Holds)],
            max_depth: super::run::DEFAULT_STEPS,
        },
        Row {
            config: cfg("two-layer-race-quorum", |c| {
                c.drbd_quorum_witness = true;
                c.cluster_layer = ClusterLayer::Vmware;
                c.budget = budget(2, 2, &[PowerOff, Partition]);
            }),
            expected: vec![(NO_SPLIT_BRAIN, Holds)],
            max_depth: super::run::DEFAULT_STEPS,
        },
        Row {
            config: cfg("two-node-no-wait-for-all-partitioned-start", |c| {
                c.start = Start::Partitioned;
                c.membership_quorum = MembershipQuorum::TwoNode;
                c.budget = budget(0, 2, &[]);
            }),
            expected: vec![(NO_SPLIT_BRAIN, Violated)],
            max_depth: super::run::DEFAULT_STEPS,
        },
        Row {
            config: cfg("two-node-wait-for-all-partitioned-start", |c| {
                c.start = Start::Partitioned;
                c.membership_quorum = MembershipQuorum::TwoNodeWaitForAll;
                c.budget = budget(0, 2, &[]);
            }),
            expected: vec![(NO_SPLIT_BRAIN, Holds), (NO_STALE_PRIMARY, Holds)],
            max_depth: super::run::DEFAULT_STEPS,
        },
    ]
}

/// The row named `name`.
pub fn row(name: &str) -> Option<Row> {
    rows().into_iter().find(|r| r.config.name == name)
}
