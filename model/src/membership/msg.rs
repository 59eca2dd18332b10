//! What members, ping nodes and the quorum device say to each other.

use serde::{Deserialize, Serialize};

use crate::Net;

/// A membership message. Heartbeats travel on their ring; pings and quorum-device
/// traffic on the public network (see [`MembershipMsg::net`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MembershipMsg {
    /// A member's keepalive on one ring. Carries what ipfail compares: how many ping
    /// nodes the sender reaches, and whether it has given its resources up because it
    /// reaches fewer than its peer.
    Heartbeat {
        /// The ring it was sent on (0 or 1).
        ring: u8,
        /// Ping nodes the sender reaches.
        pings: u8,
        /// The sender has given up its resources (ipfail standby, lost quorum): the
        /// receiver may take them over.
        standby: bool,
    },
    /// A member pings a ping node (ICMP echo).
    Ping,
    /// The ping node's answer.
    Pong,
    /// A member asks the quorum device for its vote.
    VoteRequest {
        /// The member has lost its peer and asks for the vote as a partition of one;
        /// otherwise it asks on behalf of the whole two-node cluster.
        alone: bool,
    },
    /// The quorum device's answer.
    Vote {
        /// Echoes the request's `alone`, so an answer to an outdated request is
        /// recognised.
        alone: bool,
        /// Whether the vote is given.
        granted: bool,
    },
}

impl MembershipMsg {
    /// The network this message travels on: heartbeats on [`Net::Ring`] of their ring;
    /// pings and quorum-device traffic on [`Net::Public`], because ping nodes are the
    /// routers clients come through and the quorum device (corosync-qnetd) sits outside
    /// the cluster, reached over the routed network rather than the cluster rings (src:
    /// Red Hat HA add-on reference "Quorum Devices": run the device on a different
    /// network from the corosync ring). Losing the public network therefore loses the
    /// ping nodes and the device together.
    pub fn net(&self) -> Net {
        match self {
            MembershipMsg::Heartbeat { ring, .. } => Net::Ring(*ring),
            MembershipMsg::Ping
            | MembershipMsg::Pong
            | MembershipMsg::VoteRequest { .. }
            | MembershipMsg::Vote { .. } => Net::Public,
        }
    }
}
