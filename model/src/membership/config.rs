//! Configuration of one member: Heartbeat's `ha.cf` timers, the rings, ipfail's ping
//! nodes, votequorum's options and Pacemaker's fencing options, with their defaults and
//! sources.

use core::time::Duration;

use serde::{Deserialize, Serialize};

use super::quorum::QuorumConfig;
use crate::NodeId;

/// At most this many ping nodes: the member keeps their reachability in a 16-bit set
/// (Heartbeat has no such limit; a guest pings one or two routers in practice).
pub const MAX_PING_NODES: usize = 16;

/// What a node does with its resources when it has no quorum (Pacemaker
/// `no-quorum-policy`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum NoQuorumPolicy {
    /// Stop every resource of the partition.
    ///
    /// src: PX cluster options:
    /// no-quorum-policy stop is the default.
    #[default]
    Stop,
    /// Keep what runs, start nothing new (no take-over, no fencing).
    Freeze,
    /// Act as if quorate: take over and fence without quorum. The configuration that
    /// lets both halves of a split act.
    Ignore,
}

/// The configuration of one member of a two-node cluster.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MembershipConfig {
    /// This node.
    pub me: NodeId,
    /// The other node.
    pub peer: NodeId,
    /// How many heartbeat rings (Heartbeat media, Corosync rings): 1 or 2. Heartbeats
    /// travel on [`crate::Net::Ring`] 0 and, with two rings, 1.
    pub rings: u8,
    /// Interval between heartbeats (and pings and quorum-device polls).
    ///
    /// src: HA-CF (heartbeat config.c): keepalive 1 s.
    pub keepalive: Duration,
    /// Silence after which the peer is reported late ([`super::MembershipNotice::PeerWarn`]).
    ///
    /// src: HA-CF (heartbeat config.c): warntime = deadtime / 2.
    pub warntime: Duration,
    /// Silence on every ring after which the peer is declared dead.
    ///
    /// src: HA-CF (heartbeat config.c): deadtime 30 s, must be more
    /// than 2 x keepalive.
    pub deadtime: Duration,
    /// Deadtime for the first judgement after start, while the network may still be
    /// coming up.
    ///
    /// src: HA-CF (heartbeat config.c `init_config`): initdead =
    /// deadtime if deadtime > 10 s, else 12 s if deadtime < 6 s, else 2 x deadtime;
    /// must be >= deadtime. See [`default_initdead`].
    pub initdead: Duration,
    /// Silence after which a ping node counts as unreachable (ha.cf `deadping`).
    ///
    /// src: HA-CF (heartbeat config.c `init_config`): deadping =
    /// deadtime unless set, must be more than 2 x keepalive.
    pub deadping: Duration,
    /// ipfail's ping nodes (routers the guests reach over [`crate::Net::Public`]): a
    /// node that reaches none of them knows it is the isolated one.
    ///
    /// src: HA-CF: ipfail + ping nodes to detect own network loss.
    /// Default: none.
    pub ping_nodes: Vec<NodeId>,
    /// votequorum's options.
    pub quorum: QuorumConfig,
    /// What to do without quorum.
    ///
    /// src: PX: no-quorum-policy stop.
    pub no_quorum_policy: NoQuorumPolicy,
    /// Fence (STONITH) the lost peer before taking over.
    ///
    /// Default off in [`MembershipConfig::heartbeat`]: the study ran Heartbeat without
    /// STONITH (STUDY: its Heartbeat has no fencing). Pacemaker's own default is on
    /// (PX: fencing enabled).
    pub stonith: bool,
    /// How long a fencing request may take before it counts as failed.
    ///
    /// src: PX: fencing-timeout 60 s.
    pub fence_timeout: Duration,
}

/// Heartbeat's initdead for a given deadtime when ha.cf does not set one: the deadtime
/// itself above 10 s, 12 s below 6 s, twice the deadtime in between.
///
/// src: HA-CF (heartbeat config.c `init_config`).
pub fn default_initdead(deadtime: Duration) -> Duration {
    if deadtime > Duration::from_secs(10) {
        deadtime
    } else if deadtime < Duration::from_secs(6) {
        Duration::from_secs(12)
    } else {
        2 * deadtime
    }
}

impl MembershipConfig {
    /// Heartbeat's defaults for the pair `me`, `peer`: keepalive 1 s, deadtime 30 s,
    /// warntime 15 s, initdead 30 s, deadping 30 s, one ring, no ping nodes, no
    /// STONITH.
    ///
    /// Quorum: Heartbeat's membership layer grants a lone node of a two-node cluster
    /// quorum, and a node started alone takes the resources once initdead has passed;
    /// in votequorum's terms that is two_node without wait_for_all. Fencing timeout and
    /// no-quorum-policy take Pacemaker's defaults (they only matter once STONITH or a
    /// stricter quorum is switched on).
    ///
    /// src: HA-CF (heartbeat config.c): keepalive 1 s, deadtime 30 s,
    /// warntime = deadtime/2, initdead = deadtime if > 10 s; PX: fencing-timeout 60 s,
    /// no-quorum-policy stop.
    pub fn heartbeat(me: NodeId, peer: NodeId) -> MembershipConfig {
        let deadtime = Duration::from_secs(30);
        MembershipConfig {
            me,
            peer,
            rings: 1,
            keepalive: Duration::from_secs(1),
            warntime: deadtime / 2,
            deadtime,
            initdead: default_initdead(deadtime),
            deadping: deadtime,
            ping_nodes: Vec::new(),
            quorum: QuorumConfig {
                two_node: true,
                wait_for_all: false,
                qdevice: None,
            },
            no_quorum_policy: NoQuorumPolicy::Stop,
            stonith: false,
            fence_timeout: Duration::from_secs(60),
        }
    }

    /// Sets deadtime and the timers Heartbeat derives from it when ha.cf leaves them
    /// out: warntime = deadtime/2, initdead per [`default_initdead`], deadping =
    /// deadtime (src: HA-CF (heartbeat config.c)).
    pub fn with_deadtime(mut self, deadtime: Duration) -> MembershipConfig {
        self.deadtime = deadtime;
        self.warntime = deadtime / 2;
        self.initdead = default_initdead(deadtime);
        self.deadping = deadtime;
        self
    }

    /// Checks what Heartbeat, votequorum and Pacemaker refuse at configuration time,
    /// and what this model cannot represent; each error names the field and its value.
    pub fn validate(&self) -> Result<(), MembershipConfigError> {
        use MembershipConfigError as E;
        if self.me == self.peer {
            return Err(E::PeerIsSelf(self.peer));
        }
        if !(1..=2).contains(&self.rings) {
            return Err(E::Rings(self.rings));
        }
        if self.keepalive.is_zero() {
            return Err(E::ZeroKeepalive);
        }
        if self.deadtime <= 2 * self.keepalive {
            return Err(E::DeadtimeTooShort {
                deadtime: self.deadtime,
                keepalive: self.keepalive,
            });
        }
        if self.warntime >= self.deadtime {
            return Err(E::WarntimeNotBelowDeadtime {
                warntime: self.warntime,
                deadtime: self.deadtime,
            });
        }
        if self.warntime <= self.keepalive {
            return Err(E::WarntimeTooShort {
                warntime: self.warntime,
                keepalive: self.keepalive,
            });
        }
        if self.initdead < self.deadtime {
            return Err(E::InitdeadBelowDeadtime {
                initdead: self.initdead,
                deadtime: self.deadtime,
            });
        }
        if self.deadping <= 2 * self.keepalive {
            return Err(E::DeadpingTooShort {
                deadping: self.deadping,
                keepalive: self.keepalive,
            });
        }
        if self.ping_nodes.len() > MAX_PING_NODES {
            return Err(E::TooManyPingNodes(self.ping_nodes.len()));
        }
        for (i, &p) in self.ping_nodes.iter().enumerate() {
            if p == self.me || p == self.peer {
                return Err(E::PingNodeIsMember(p));
            }
            if self.ping_nodes[..i].contains(&p) {
                return Err(E::DuplicatePingNode(p));
            }
        }
        if let Some(q) = self.quorum.qdevice {
            if q == self.me || q == self.peer {
                return Err(E::QdeviceIsMember(q));
            }
            if self.ping_nodes.contains(&q) {
                return Err(E::QdeviceIsPingNode(q));
            }
            if self.quorum.two_node {
                return Err(E::TwoNodeWithQdevice(q));
            }
        }
        if self.fence_timeout.is_zero() {
            return Err(E::ZeroFenceTimeout);
        }
        Ok(())
    }

    /// The index of ping node `node` in [`MembershipConfig::ping_nodes`].
    pub(crate) fn ping_index(&self, node: NodeId) -> Option<usize> {
        self.ping_nodes
            .iter()
            .take(MAX_PING_NODES)
            .position(|&p| p == node)
    }
}

/// A configuration Heartbeat, votequorum or Pacemaker would refuse, or this model cannot
/// represent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MembershipConfigError {
    /// `peer` names this node.
    #[error("peer: {0} is this node itself")]
    PeerIsSelf(NodeId),
    /// `rings` outside 1..=2.
    #[error("rings: {0} rings; 1 or 2 are supported")]
    Rings(u8),
    /// `keepalive` is zero.
    #[error("keepalive: must be positive, not 0")]
    ZeroKeepalive,
    /// Heartbeat refuses a deadtime of at most twice the keepalive (config.c: "Dead time
    /// is too small compared to keepalive").
    #[error("deadtime: {deadtime:?} must be more than twice keepalive ({keepalive:?})")]
    DeadtimeTooShort {
        /// The deadtime.
        deadtime: Duration,
        /// The keepalive.
        keepalive: Duration,
    },
    /// A warning after the peer is already dead is no warning.
    #[error("warntime: {warntime:?} must be below deadtime ({deadtime:?})")]
    WarntimeNotBelowDeadtime {
        /// The warntime.
        warntime: Duration,
        /// The deadtime.
        deadtime: Duration,
    },
    /// A warntime within one keepalive would warn between any two heartbeats.
    #[error("warntime: {warntime:?} must be more than keepalive ({keepalive:?})")]
    WarntimeTooShort {
        /// The warntime.
        warntime: Duration,
        /// The keepalive.
        keepalive: Duration,
    },
    /// Heartbeat refuses an initdead below deadtime (config.c: "Initial dead time is
    /// smaller than deadtime").
    #[error("initdead: {initdead:?} must be at least deadtime ({deadtime:?})")]
    InitdeadBelowDeadtime {
        /// The initdead.
        initdead: Duration,
        /// The deadtime.
        deadtime: Duration,
    },
    /// Heartbeat refuses a deadping of at most twice the keepalive (config.c: "Ping dead
    /// time is too small compared to keepalive").
    #[error("deadping: {deadping:?} must be more than twice keepalive ({keepalive:?})")]
    DeadpingTooShort {
        /// The deadping.
        deadping: Duration,
        /// The keepalive.
        keepalive: Duration,
    },
    /// More ping nodes than the model tracks.
    #[error("ping_nodes: {0} ping nodes; at most 16 are supported")]
    TooManyPingNodes(usize),
    /// A ping node is one of the two members.
    #[error("ping_nodes: {0} is a cluster member, not a ping node")]
    PingNodeIsMember(NodeId),
    /// A ping node is listed twice (it would count twice in ipfail's comparison).
    #[error("ping_nodes: {0} is listed twice")]
    DuplicatePingNode(NodeId),
    /// The quorum device is one of the two members.
    #[error("quorum.qdevice: {0} is a cluster member; the device must be a third node")]
    QdeviceIsMember(NodeId),
    /// One node runs one machine here: a device cannot also be a ping node.
    #[error("quorum.qdevice: {0} is also a ping node; use two different nodes")]
    QdeviceIsPingNode(NodeId),
    /// votequorum refuses two_node together with a quorum device (corosync
    /// `exec/votequorum.c`: "two_node and quorum device cannot be configured at the
    /// same time").
    #[error("quorum.two_node: true cannot be combined with quorum.qdevice ({0})")]
    TwoNodeWithQdevice(NodeId),
    /// `fence_timeout` is zero.
    #[error("fence_timeout: must be positive, not 0")]
    ZeroFenceTimeout,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeat_defaults_follow_ha_cf() {
        let c = MembershipConfig::heartbeat(NodeId(0), NodeId(1));
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.keepalive, Duration::from_secs(1));
        assert_eq!(c.deadtime, Duration::from_secs(30));
        assert_eq!(c.warntime, Duration::from_secs(15));
        assert_eq!(c.initdead, Duration::from_secs(30));
        assert_eq!(c.deadping, Duration::from_secs(30));
        assert_eq!(c.fence_timeout, Duration::from_secs(60));
    }

    #[test]
    fn initdead_follows_heartbeats_rule() {
        assert_eq!(
            default_initdead(Duration::from_secs(30)),
            Duration::from_secs(30)
        );
        assert_eq!(
            default_initdead(Duration::from_secs(8)),
            Duration::from_secs(16)
        );
        assert_eq!(
            default_initdead(Duration::from_secs(5)),
            Duration::from_secs(12)
        );
    }
}
