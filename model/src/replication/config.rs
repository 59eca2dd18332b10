//! Configuration of one replicated resource, with DRBD's defaults and their sources.

use core::time::Duration;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::Protocol;
use crate::NodeId;
use crate::disk::BLOCK_SIZE;

/// What a node does about a peer it lost (drbdsetup `fencing`, src: OPT).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum FencingPolicy {
    /// No fencing (DRBD's default): a disconnected node may be promoted at any time.
    #[default]
    DontCare,
    /// A disconnected Primary calls `fence-peer` to outdate the peer, and a disconnected
    /// Secondary may not be promoted until the peer is known to be Outdated.
    ResourceOnly,
    /// As `ResourceOnly`, and a Primary that loses its peer freezes I/O until
    /// `fence-peer` answers.
    ResourceAndStonith,
}

/// After split brain with no Primary (drbdsetup `after-sb-0pri`, src: OPT).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum AfterSb0Pri {
    /// Do not resolve: drop the connection (default).
    #[default]
    Disconnect,
    /// Discard the node that became Primary last.
    DiscardYoungerPrimary,
    /// Discard the node that became Primary first.
    DiscardOlderPrimary,
    /// Discard the side that wrote nothing, if one did not.
    DiscardZeroChanges,
    /// Discard the side with fewer changed blocks.
    DiscardLeastChanges,
    /// Discard the data of this node (`discard-node-NAME`).
    DiscardNode(NodeId),
}

/// After split brain with one Primary (drbdsetup `after-sb-1pri`, src: OPT).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum AfterSb1Pri {
    /// Do not resolve (default).
    #[default]
    Disconnect,
    /// Use the 0pri policy if it discards the Secondary; otherwise disconnect.
    Consensus,
    /// Discard the Secondary, whatever the 0pri policy says.
    DiscardSecondary,
    /// Use the 0pri policy; if it discards the Primary, the Primary tries to demote and
    /// calls `pri-lost-after-sb`.
    CallPriLostAfterSb,
    /// Use the 0pri policy even if it discards the Primary's data.
    ViolentlyAs0p,
}

/// After split brain with two Primaries (drbdsetup `after-sb-2pri`, src: OPT).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum AfterSb2Pri {
    /// Do not resolve (default).
    #[default]
    Disconnect,
    /// Use the 0pri policy even though it discards a Primary's data.
    ViolentlyAs0p,
    /// Use the 0pri policy; the losing Primary tries to demote and calls
    /// `pri-lost-after-sb`.
    CallPriLostAfterSb,
}

/// What a Primary does when the handshake makes it sync target (drbdsetup `rr-conflict`,
/// src: OPT). `violently` is not modelled: this model has no Primary with an
/// Inconsistent disk (see `docs/architecture.md`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum RrConflict {
    /// Drop the connection (default).
    #[default]
    Disconnect,
    /// Call the `pri-lost` handler, then drop the connection.
    CallPriLost,
}

/// Quorum (DRBD 9 `quorum`, src: OPT/UG9). Off by default.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum QuorumPolicy {
    /// No quorum: a lone node may do anything the other rules allow.
    #[default]
    Off,
    /// A node needs more than half of the votes (itself, the peer, the witness).
    Majority,
}

/// What a Primary does without quorum (DRBD 9 `on-no-quorum`, src: OPT).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum OnNoQuorum {
    /// Freeze I/O until quorum returns (default).
    #[default]
    SuspendIo,
    /// Fail I/O with an error.
    IoError,
}

/// The link timers of one connection (src: OPT, LIM `drbd_limits.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LinkTimers {
    /// Idle time before a keep-alive ping: `ping-int`, default 10 s (LIM
    /// `DRBD_PING_INT_DEF`).
    pub ping_int: Duration,
    /// How long to wait for the ping's answer before the peer is declared lost:
    /// `ping-timeout`, default 0.5 s (LIM `DRBD_PING_TIMEO_DEF` = 5 tenths).
    pub ping_timeout: Duration,
    /// Time between connection attempts: `connect-int`, default 10 s (LIM
    /// `DRBD_CONNECT_INT_DEF`).
    pub connect_int: Duration,
}

impl Default for LinkTimers {
    fn default() -> LinkTimers {
        LinkTimers {
            ping_int: Duration::from_secs(10),
            ping_timeout: Duration::from_millis(500),
            connect_int: Duration::from_secs(10),
        }
    }
}

/// The configuration of one replica of one resource.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReplicaConfig {
    /// This node.
    pub me: NodeId,
    /// The other diskful node.
    pub peer: NodeId,
    /// A diskless tie-breaker that only votes, if any (DRBD 9 with `quorum majority`).
    pub witness: Option<NodeId>,
    /// Device size in 4 KiB blocks.
    pub blocks: u64,
    /// The replication protocol (default C, src: UG84).
    pub protocol: Protocol,
    /// Fencing policy (default dont-care, src: OPT).
    pub fencing: FencingPolicy,
    /// Split-brain recovery with no Primary.
    pub after_sb_0pri: AfterSb0Pri,
    /// Split-brain recovery with one Primary.
    pub after_sb_1pri: AfterSb1Pri,
    /// Split-brain recovery with two Primaries.
    pub after_sb_2pri: AfterSb2Pri,
    /// What a Primary chosen as sync target does.
    pub rr_conflict: RrConflict,
    /// Whether both nodes may be Primary at once (needs protocol C; default off).
    pub allow_two_primaries: bool,
    /// Quorum policy (default off).
    pub quorum: QuorumPolicy,
    /// What a Primary without quorum does.
    pub on_no_quorum: OnNoQuorum,
    /// Keep-alive and reconnect timers.
    pub timers: LinkTimers,
    /// Resync rate in bytes per second. Default 100 MiB/s: the thesis' `syncer rate 100M`,
    /// which is also DRBD's `c-max-rate` default (src: STUDY appendix, OPT).
    pub resync_rate: u64,
    /// Activity-log size in extents of 4 MiB: `al-extents`, default 1237 (src: LIM
    /// `DRBD_AL_EXTENTS_DEF`).
    pub al_extents: u32,
}

/// Interval between resync batches: DRBD's resync timer runs every `SLEEP_TIME` = HZ/10
/// (src: Linux `drbd_int.h`), and the batch is sized from the rate.
pub const RESYNC_TICK: Duration = Duration::from_millis(100);

/// Blocks per activity-log extent: 4 MiB extents of 4 KiB blocks (src: UG84 internals).
pub const BLOCKS_PER_EXTENT: u64 = (4 << 20) / BLOCK_SIZE;

impl ReplicaConfig {
    /// DRBD's defaults for a two-node resource of `blocks` blocks between `me` and `peer`.
    pub fn new(me: NodeId, peer: NodeId, blocks: u64) -> ReplicaConfig {
        ReplicaConfig {
            me,
            peer,
            witness: None,
            blocks,
            protocol: Protocol::C,
            fencing: FencingPolicy::DontCare,
            after_sb_0pri: AfterSb0Pri::Disconnect,
            after_sb_1pri: AfterSb1Pri::Disconnect,
            after_sb_2pri: AfterSb2Pri::Disconnect,
            rr_conflict: RrConflict::Disconnect,
            allow_two_primaries: false,
            quorum: QuorumPolicy::Off,
            on_no_quorum: OnNoQuorum::SuspendIo,
            timers: LinkTimers::default(),
            resync_rate: 100 << 20,
            al_extents: 1237,
        }
    }

    /// Checks the combinations DRBD refuses at configuration time.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.me == self.peer {
            return Err(ConfigError::PeerIsSelf(self.me));
        }
        if let Some(w) = self.witness {
            if w == self.me || w == self.peer {
                return Err(ConfigError::WitnessIsDiskful(w));
            }
            if self.quorum == QuorumPolicy::Off {
                return Err(ConfigError::WitnessWithoutQuorum);
            }
        }
        if self.blocks == 0 {
            return Err(ConfigError::EmptyDevice);
        }
        if self.allow_two_primaries && self.protocol != Protocol::C {
            return Err(ConfigError::DualPrimaryNeedsProtocolC(self.protocol));
        }
        if let AfterSb0Pri::DiscardNode(n) = self.after_sb_0pri {
            if n != self.me && n != self.peer {
                return Err(ConfigError::DiscardUnknownNode(n));
            }
        }
        if self.resync_rate < BLOCK_SIZE * 10 {
            return Err(ConfigError::ResyncRateTooLow(self.resync_rate));
        }
        if self.al_extents < 7 {
            return Err(ConfigError::TooFewAlExtents(self.al_extents));
        }
        let t = self.timers;
        if t.ping_int.is_zero() || t.ping_timeout.is_zero() || t.connect_int.is_zero() {
            return Err(ConfigError::ZeroTimer);
        }
        Ok(())
    }

    /// Blocks sent per resync batch at the configured rate, at least one.
    pub fn resync_blocks_per_tick(&self) -> u64 {
        let per_sec = self.resync_rate / BLOCK_SIZE;
        (per_sec * RESYNC_TICK.as_millis() as u64 / 1000).max(1)
    }
}

/// A configuration DRBD would refuse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `peer` names this node.
    #[error("peer: {0} is this node itself")]
    PeerIsSelf(NodeId),
    /// `witness` names a diskful node.
    #[error("witness: {0} is one of the two diskful nodes; the witness must be a third node")]
    WitnessIsDiskful(NodeId),
    /// A witness only matters with quorum.
    #[error("witness: a tie-breaker needs quorum = majority (quorum is off)")]
    WitnessWithoutQuorum,
    /// `blocks` is zero.
    #[error("blocks: the device must have at least one block")]
    EmptyDevice,
    /// `allow-two-primaries` needs protocol C (src: UG84).
    #[error("allow_two_primaries: dual-primary mode requires protocol C, not {0}")]
    DualPrimaryNeedsProtocolC(Protocol),
    /// `discard-node-X` names neither node.
    #[error("after_sb_0pri: discard-node names {0}, which is neither node of the resource")]
    DiscardUnknownNode(NodeId),
    /// Below 10 blocks per second the resync would effectively never finish.
    #[error("resync_rate: {0} bytes/s is below the minimum of 40960 (10 blocks/s)")]
    ResyncRateTooLow(u64),
    /// `al-extents` below DRBD's minimum of 7 (src: LIM `DRBD_AL_EXTENTS_MIN`).
    #[error("al_extents: {0} is below DRBD's minimum of 7")]
    TooFewAlExtents(u32),
    /// A link timer is zero.
    #[error("timers: ping_int, ping_timeout and connect_int must be positive")]
    ZeroTimer,
}

impl fmt::Display for FencingPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FencingPolicy::DontCare => "dont-care",
            FencingPolicy::ResourceOnly => "resource-only",
            FencingPolicy::ResourceAndStonith => "resource-and-stonith",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ReplicaConfig {
        ReplicaConfig::new(NodeId(0), NodeId(1), 1024)
    }

    #[test]
    fn defaults_are_valid_and_follow_drbd() {
        let c = cfg();
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.protocol, Protocol::C);
        assert_eq!(c.timers.ping_int, Duration::from_secs(10));
        // 100 MiB/s in 100 ms batches of 4 KiB blocks.
        assert_eq!(c.resync_blocks_per_tick(), 2560);
    }

    #[test]
    fn every_refused_combination_names_its_field() {
        let mut c = cfg();
        c.peer = c.me;
        assert!(
            c.validate()
                .expect_err("peer is self")
                .to_string()
                .starts_with("peer:")
        );

        let mut c = cfg();
        c.witness = Some(NodeId(2));
        assert_eq!(c.validate(), Err(ConfigError::WitnessWithoutQuorum));
        c.witness = Some(NodeId(1));
        assert_eq!(c.validate(), Err(ConfigError::WitnessIsDiskful(NodeId(1))));

        let mut c = cfg();
        c.allow_two_primaries = true;
        c.protocol = Protocol::A;
        assert_eq!(
            c.validate(),
            Err(ConfigError::DualPrimaryNeedsProtocolC(Protocol::A))
        );

        let mut c = cfg();
        c.after_sb_0pri = AfterSb0Pri::DiscardNode(NodeId(7));
        assert_eq!(
            c.validate(),
            Err(ConfigError::DiscardUnknownNode(NodeId(7)))
        );

        let mut c = cfg();
        c.blocks = 0;
        assert_eq!(c.validate(), Err(ConfigError::EmptyDevice));

        let mut c = cfg();
        c.resync_rate = 1;
        assert_eq!(c.validate(), Err(ConfigError::ResyncRateTooLow(1)));

        let mut c = cfg();
        c.al_extents = 3;
        assert_eq!(c.validate(), Err(ConfigError::TooFewAlExtents(3)));

        let mut c = cfg();
        c.timers.ping_timeout = Duration::ZERO;
        assert_eq!(c.validate(), Err(ConfigError::ZeroTimer));
    }
}
