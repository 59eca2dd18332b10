//! What the driver loop reacts to: everything the outside world tells a node arrives as
//! one of these on one channel, so the machine sees inputs one at a time, in order.

use model::guest::{GuestCommand, GuestMsg};
use model::{DiskCompletion, HandlerReply, NodeId, ProcessEvent};
use tokio::sync::{mpsc, oneshot};

use crate::blockio::Finished;
use crate::control::{ControlReply, ControlRequest};

/// The answer to one byte-range request of the NBD export.
pub type BlockReply = oneshot::Sender<Result<Vec<u8>, model::IoError>>;

/// A byte-range request of the NBD export.
#[derive(Debug)]
pub enum BlockOp {
    /// Read `len` bytes at `offset`.
    Read {
        /// Where.
        offset: u64,
        /// How much.
        len: usize,
    },
    /// Write `data` at `offset`.
    Write {
        /// Where.
        offset: u64,
        /// What.
        data: Vec<u8>,
    },
    /// Write `len` zero bytes at `offset`.
    WriteZeroes {
        /// Where.
        offset: u64,
        /// How much.
        len: usize,
    },
}

/// One thing that happened.
#[derive(Debug)]
pub enum Event {
    /// A message from the peer.
    Recv {
        /// Its sender.
        from: NodeId,
        /// The message.
        msg: GuestMsg,
    },
    /// Messages from the peer that arrived together on the replication link, in order:
    /// fed as one batch, so their disk writes reach the disk thread together.
    RecvMany {
        /// Their sender.
        from: NodeId,
        /// The messages.
        msgs: Vec<GuestMsg>,
    },
    /// The disk thread finished a batch.
    Disk(Vec<DiskCompletion>),
    /// An OCF agent finished.
    Process(ProcessEvent),
    /// A DRBD handler finished.
    Handler(HandlerReply),
    /// The STONITH command finished.
    FenceDone {
        /// Its target.
        node: NodeId,
        /// Whether the target is off.
        success: bool,
    },
    /// The replication connection is up (authenticated), with the sender for its frames.
    LinkUp {
        /// Which connection: later news about an older one is ignored.
        generation: u64,
        /// Frames to the peer.
        tx: mpsc::UnboundedSender<GuestMsg>,
    },
    /// The replication connection `generation` is gone.
    LinkDown {
        /// Which connection.
        generation: u64,
    },
    /// A byte-range request of the NBD export.
    Block(BlockOp, BlockReply),
    /// An operator request over the control socket.
    Control(ControlRequest, oneshot::Sender<ControlReply>),
    /// A command for the guest (start-up).
    Command(GuestCommand),
}

/// Finished byte-range requests, answered to their clients.
pub(crate) fn answer(done: impl IntoIterator<Item = Finished<BlockReply>>) {
    for (reply, result) in done {
        // The client may have gone; its answer has nowhere to go.
        let _ = reply.send(result);
    }
}
