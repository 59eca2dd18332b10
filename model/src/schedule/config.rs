//! The configuration of the pair a schedule was made for: what the checker explored and
//! what the simulator must set up to replay it.
//!
//! The checker's configuration file (`model::check::CheckConfig`) carries the same keys
//! plus its search budget, with defaults for every key a person leaves out; a schedule's
//! [`PairConfig`] has no defaults: a replay must not quietly run another configuration
//! than the one that failed.

use serde::{Deserialize, Serialize};

use crate::NodeId;
use crate::guest::GuestConfig;
use crate::membership::QuorumConfig;
use crate::replication::{
    AfterSb0Pri, AfterSb1Pri, AfterSb2Pri, FencingPolicy, Protocol, QuorumPolicy,
};

pub use super::options::{
    BootOrder, DrbdOptions, FencePeerChoice, HeartbeatOptions, NoQuorumChoice, OnNoQuorumChoice,
    ResourceOptions, RrConflictChoice, Secs,
};
use super::options::{apply_options, is_default_boot_order};

/// Guest `a`: the preferred node, Primary when the pair runs.
pub const A: NodeId = crate::world::ids::GUEST_A;
/// Guest `b`: the peer.
pub const B: NodeId = crate::world::ids::GUEST_B;
/// The DRBD witness (diskless tie-breaker), when configured.
pub const WITNESS: NodeId = NodeId(2);
/// The ipfail ping node (a router on the public network), when configured.
pub const PING: NodeId = NodeId(3);
/// The corosync quorum device, when configured.
pub const QDEVICE: NodeId = NodeId(4);

/// DRBD's replication protocol (`protocol`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProtocolChoice {
    /// Acknowledged once written locally and handed to the network.
    A,
    /// Acknowledged once the peer received it.
    B,
    /// Acknowledged once the peer wrote it (DRBD's default).
    C,
}

/// DRBD's `fencing` policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FencingChoice {
    /// No fencing (DRBD's default, the study's configuration).
    DontCare,
    /// `fence-peer` outdates the peer (dopd): exit 4 if a ring reaches it, else 5.
    ResourceOnly,
    /// I/O freezes and `fence-peer` STONITHs the peer (exit 7).
    ResourceAndStonith,
}

/// votequorum in the membership layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MembershipQuorum {
    /// `two_node` without `wait_for_all`: Heartbeat's behaviour, a lone node is quorate.
    TwoNode,
    /// `two_node` with `wait_for_all` (votequorum's default for two_node).
    TwoNodeWaitForAll,
    /// Plain majority, 2 of 2: a lone node never has quorum.
    Majority,
    /// A quorum device (corosync-qnetd, ffsplit) as the third vote.
    Qdevice,
}

/// The virtualization-cluster layer under the guests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClusterLayer {
    /// No VM restart: a guest whose host is down stays down.
    Off,
    /// vSphere HA restarts the VM of a dead host on another host (shared storage).
    Vmware,
    /// Nova evacuate + Masakari restarts it (same abstraction, slower in reality).
    Openstack,
}

/// Where a run starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Start {
    /// Both guests booted, connected and in sync; `a` runs the group as Primary.
    Running,
    /// Both guests boot (in sync, both Secondary) while every network between them is
    /// cut.
    Partitioned,
}

/// The pair's configuration as a schedule carries it: every key of the architecture
/// required; the tuning tables (`boot_order`, `drbd`, `heartbeat`, `resources`) optional,
/// each of their keys overriding the driver's own value when present.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairConfig {
    /// The name of the checked configuration (for reports).
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
    /// Where the run starts.
    pub start: Start,
    /// What starts first when a guest boots. Optional (absent: `drbd-first`, what
    /// every schedule written before this key meant).
    #[serde(default, skip_serializing_if = "is_default_boot_order")]
    pub boot_order: BootOrder,
    /// DRBD options. Optional: absent or empty, the driver's own values.
    #[serde(default, skip_serializing_if = "DrbdOptions::is_empty")]
    pub drbd: DrbdOptions,
    /// Heartbeat timers. Optional, as `drbd`.
    #[serde(default, skip_serializing_if = "HeartbeatOptions::is_empty")]
    pub heartbeat: HeartbeatOptions,
    /// Resource-manager options. Optional, as `drbd`.
    #[serde(default, skip_serializing_if = "ResourceOptions::is_empty")]
    pub resources: ResourceOptions,
}

impl PairConfig {
    /// Sets these choices in a guest's configuration (replica, membership), leaving the
    /// rest — timers, the resource group — as the driver built it. The witness, ping node
    /// and quorum device are [`WITNESS`], [`PING`] and [`QDEVICE`].
    pub fn apply_to(&self, cfg: &mut GuestConfig) {
        let replica = &mut cfg.replica;
        replica.protocol = match self.protocol {
            ProtocolChoice::A => Protocol::A,
            ProtocolChoice::B => Protocol::B,
            ProtocolChoice::C => Protocol::C,
        };
        replica.fencing = match self.fencing {
            FencingChoice::DontCare => FencingPolicy::DontCare,
            FencingChoice::ResourceOnly => FencingPolicy::ResourceOnly,
            FencingChoice::ResourceAndStonith => FencingPolicy::ResourceAndStonith,
        };
        replica.after_sb_0pri = self.after_sb_0pri;
        replica.after_sb_1pri = self.after_sb_1pri;
        replica.after_sb_2pri = self.after_sb_2pri;
        if self.drbd_quorum_witness {
            replica.quorum = QuorumPolicy::Majority;
            replica.witness = Some(WITNESS);
        }
        let membership = &mut cfg.membership;
        membership.rings = self.rings;
        membership.stonith = self.stonith;
        membership.quorum = match self.membership_quorum {
            MembershipQuorum::TwoNode => QuorumConfig {
                two_node: true,
                wait_for_all: false,
                qdevice: None,
            },
            MembershipQuorum::TwoNodeWaitForAll => QuorumConfig::two_node(),
            MembershipQuorum::Majority => QuorumConfig::majority(),
            MembershipQuorum::Qdevice => QuorumConfig::with_qdevice(QDEVICE),
        };
        if self.ping_node {
            membership.ping_nodes = vec![PING];
        }
        apply_options(&self.drbd, &self.heartbeat, &self.resources, cfg);
    }
}
