//! Messages between replicas, and between a replica and the witness.

use core::fmt;

use serde::{Deserialize, Serialize};

use super::handshake::HandshakeParams;
use super::uuid::GenerationIds;
use super::{DiskState, Role};
use crate::{BlockNo, NodeId, Payload, WriteId};

/// Names one replication connection: the initiator's boot count and attempt number.
///
/// Messages of an older connection are recognised and dropped, so a late packet from
/// before a reconnect is never applied to the new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SessionId {
    /// The initiator's boot count.
    pub boot: u32,
    /// The initiator's connection attempt within that boot.
    pub attempt: u32,
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.boot, self.attempt)
    }
}

/// A message of the replication protocol.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReplicaMsg {
    /// The initiator opens connection `session` and reports its state.
    Hello {
        /// The new connection.
        session: SessionId,
        /// The initiator's handshake parameters.
        params: HandshakeParams,
    },
    /// The acceptor's answer: its own state (it has already decided).
    HelloAck {
        /// The connection answered.
        session: SessionId,
        /// The acceptor's handshake parameters.
        params: HandshakeParams,
    },
    /// A message within connection `session`.
    Conn {
        /// The connection.
        session: SessionId,
        /// The message.
        msg: ConnMsg,
    },
    /// The sender has no connection `session` (any more): like a TCP reset.
    Disconnect {
        /// The connection refused.
        session: SessionId,
    },
    /// To the witness: "I am here, with this role and data generation".
    QuorumPing {
        /// The sender's role.
        role: Role,
        /// The sender's current UUID.
        current: u64,
        /// The sender's peer.
        peer: NodeId,
        /// The sender is connected to its peer and the peer is UpToDate: whatever the
        /// witness recorded against the peer is void.
        peer_in_sync: bool,
        /// The sender wants to be promoted and asks for the witness' consent.
        want_promote: bool,
        /// The sender, a Primary that lost its peer, asks the witness to record the
        /// peer as Outdated before it completes any more writes.
        outdate_peer: bool,
    },
    /// From the witness.
    QuorumPong {
        /// The witness counts itself as a vote for the receiver.
        vote: bool,
        /// The witness consents to the receiver's promotion (no other Primary is known to
        /// it, it backs no other node, and it has not recorded the receiver as Outdated).
        promote_ok: bool,
        /// The witness has recorded the receiver's peer as Outdated (answers
        /// `outdate_peer`).
        peer_outdated: bool,
    },
}

/// A message inside a replication connection.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConnMsg {
    /// An application write to mirror (`P_DATA`): a run of `count` blocks from `block`,
    /// acknowledged as one.
    Data {
        /// The application's write id.
        write: WriteId,
        /// The first block.
        block: BlockNo,
        /// How many blocks.
        count: u32,
        /// Their content (see [`Payload`] for runs).
        data: Payload,
    },
    /// Protocol B: the data has arrived (`P_RECV_ACK`).
    RecvAck {
        /// Which write.
        write: WriteId,
    },
    /// The data is on the peer's disk (`P_WRITE_ACK`; sent in every protocol so the
    /// Primary knows when the block is in sync).
    WriteAck {
        /// Which write.
        write: WriteId,
    },
    /// The peer failed to write the data (`P_NEG_ACK`).
    NegAck {
        /// Which write.
        write: WriteId,
    },
    /// The sync source's new bitmap UUID, to be the target's current UUID (`P_SYNC_UUID`).
    SyncUuid {
        /// The UUID.
        uuid: u64,
        /// Whole-device resync; tells a target that did not expect a resync (the source
        /// was just forced UpToDate) which blocks to mark.
        full: bool,
    },
    /// The sync target agrees to the handshake's verdict; the source may start.
    SyncReady,
    /// One resynced block (`P_RS_DATA_REPLY`).
    SyncData {
        /// Which block.
        block: BlockNo,
        /// Its content.
        data: Payload,
    },
    /// The target wrote a resynced block (`P_RS_WRITE_ACK`).
    SyncAck {
        /// Which block.
        block: BlockNo,
    },
    /// The resync is complete; the target adopts these identifiers.
    SyncDone {
        /// The source's identifiers after its end-of-resync rotation.
        uuids: GenerationIds,
    },
    /// Pause (`true`) or resume (`false`) the resync (`P_STATE` with user-isp).
    SyncPaused(bool),
    /// The sender was invalidated (`drbdadm invalidate`) and asks for a whole-device
    /// resync from this node (DRBD: the state change to `StartingSyncT`).
    Invalidated,
    /// The sender's role or disk state changed (`P_STATE`).
    State {
        /// Its role.
        role: Role,
        /// Its disk state.
        disk: DiskState,
    },
    /// A connected node asks to become Primary (a cluster-wide state change,
    /// `P_STATE_CHG_REQ`).
    PromoteRequest,
    /// The answer (`P_STATE_CHG_REPLY`): granted, or refused because the sender is
    /// Primary or promoting itself.
    PromoteReply {
        /// Granted.
        granted: bool,
    },
    /// Keep-alive (`P_PING`).
    Ping,
    /// Its answer (`P_PING_ACK`).
    PingAck,
}
