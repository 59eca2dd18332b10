//! What a member reports: failure detection, quorum, fencing, and the two instructions
//! to the resource layer.

use serde::{Deserialize, Serialize};

use crate::NodeId;

/// An observable change in a member's view, and its instructions to the resource layer
/// ([`MembershipNotice::TakeOver`], [`MembershipNotice::GiveUp`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MembershipNotice {
    /// A heartbeat arrived from the peer after start, a warning or its death.
    PeerAlive(NodeId),
    /// The peer has been silent on every ring for warntime ("late heartbeat").
    PeerWarn(NodeId),
    /// The peer has been silent on every ring for deadtime (initdead before its first
    /// heartbeat), or was fenced.
    PeerDead(NodeId),
    /// No heartbeat on this ring for deadtime (initdead at start); alone, not a failure.
    RingDown(u8),
    /// A heartbeat arrived on this ring while it was not up.
    RingUp(u8),
    /// ipfail: this node reaches none of its ping nodes (`true`), or reaches one again
    /// (`false`).
    Isolated(bool),
    /// This node has (`true`) or has lost (`false`) quorum; also reported at start.
    Quorum(bool),
    /// This node asks for STONITH of the node.
    Fencing(NodeId),
    /// The STONITH request finished: success means the node is known to be off; a
    /// fencing timeout is reported as a failure.
    Fenced {
        /// The node.
        node: NodeId,
        /// Whether it is off.
        success: bool,
    },
    /// This node must now run the resources: the peer is dead (or handed them over),
    /// this node is quorate (or quorum is ignored), not isolated, and, with STONITH, the
    /// peer was fenced successfully.
    TakeOver,
    /// This node must stop the resources: it lost quorum (no-quorum-policy stop), or
    /// ipfail found it worse connected than its peer, or isolated while the peer is
    /// dead.
    GiveUp,
}
