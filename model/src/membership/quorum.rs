//! votequorum for two nodes: the options and the arithmetic.
//!
//! Each member has one vote, a quorum device one more. Without `two_node` a two-node
//! cluster needs both votes (quorum 2 of 2); `two_node` lowers the quorum to 1, so a lone
//! node keeps quorum; with a quorum device the cluster needs 2 of 3, so the side the
//! device votes for has quorum. `wait_for_all` withholds quorum until the node has seen
//! its peer once (src: VQ: votequorum two_node: 1 => quorum 1
//! and wait_for_all on; Red Hat HA add-on reference "Cluster Quorum": "the
//! cluster will be quorate for the first time only after all nodes have been visible at
//! least once at the same time").

use serde::{Deserialize, Serialize};

use crate::NodeId;

/// votequorum's options for a two-node cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QuorumConfig {
    /// Quorum 1 of 2: a lone node keeps quorum (`two_node: 1`).
    pub two_node: bool,
    /// No quorum at start until the peer has been seen once (`wait_for_all: 1`).
    pub wait_for_all: bool,
    /// A third vote: a quorum device (corosync-qnetd) on this node, reached over
    /// [`crate::Net::Public`].
    pub qdevice: Option<NodeId>,
}

impl QuorumConfig {
    /// `two_node: 1`, which switches `wait_for_all` on unless set otherwise.
    ///
    /// src: VQ: votequorum two_node: 1 => quorum 1
    /// and wait_for_all on.
    pub fn two_node() -> QuorumConfig {
        QuorumConfig {
            two_node: true,
            wait_for_all: true,
            qdevice: None,
        }
    }

    /// Plain votequorum, 2 votes of 2: a lone node never has quorum.
    pub fn majority() -> QuorumConfig {
        QuorumConfig {
            two_node: false,
            wait_for_all: false,
            qdevice: None,
        }
    }

    /// A quorum device at `device`: 2 votes of 3. `wait_for_all` is off, as votequorum
    /// only switches it on by itself for two_node without a device (src: Red Hat HA
    /// add-on reference "Cluster Quorum").
    pub fn with_qdevice(device: NodeId) -> QuorumConfig {
        QuorumConfig {
            two_node: false,
            wait_for_all: false,
            qdevice: Some(device),
        }
    }

    /// Whether a member has quorum, given whether its peer is alive, whether it has seen
    /// the peer since it started, and whether the quorum device's vote is its own.
    pub fn quorate(&self, peer_alive: bool, seen_peer: bool, device_vote: bool) -> bool {
        if self.wait_for_all && !seen_peer {
            return false;
        }
        let votes = 1 + u8::from(peer_alive) + u8::from(self.qdevice.is_some() && device_vote);
        let needed = match (self.qdevice, self.two_node) {
            (Some(_), _) => 2,
            (None, true) => 1,
            (None, false) => 2,
        };
        votes >= needed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn votes_add_up_as_votequorum_counts_them() {
        let tn = QuorumConfig::two_node();
        assert!(!tn.quorate(false, false, false), "wait_for_all");
        assert!(tn.quorate(false, true, false), "a lone node keeps quorum");
        let maj = QuorumConfig::majority();
        assert!(!maj.quorate(false, true, false));
        assert!(maj.quorate(true, true, false));
        let qd = QuorumConfig::with_qdevice(NodeId(9));
        assert!(!qd.quorate(false, true, false));
        assert!(qd.quorate(false, true, true));
        assert!(qd.quorate(true, true, false));
    }
}
