//! The replicated device as the NBD server sees it: byte-range requests go into the
//! driver loop and come back when the replica has answered every block.

use std::sync::Arc;

use model::IoError;
use tokio::sync::{mpsc::UnboundedSender, oneshot};

use crate::driver::Shared;
use crate::event::{BlockOp, Event};
use crate::nbd::{BlockDevice, NbdError};

/// The export of one node's replica.
#[derive(Clone, Debug)]
pub struct ReplicatedDevice {
    events: UnboundedSender<Event>,
    shared: Arc<Shared>,
    size: u64,
}

impl ReplicatedDevice {
    /// The device of `size` bytes behind the loop fed by `events`.
    pub fn new(events: UnboundedSender<Event>, shared: Arc<Shared>, size: u64) -> ReplicatedDevice {
        ReplicatedDevice {
            events,
            shared,
            size,
        }
    }

    async fn call(&self, op: BlockOp) -> Result<Vec<u8>, NbdError> {
        let (tx, rx) = oneshot::channel();
        self.events
            .send(Event::Block(op, tx))
            .map_err(|_| NbdError::Shutdown)?;
        match rx.await {
            Ok(Ok(bytes)) => Ok(bytes),
            // Demoted under the client: it must go and find the new Primary.
            Ok(Err(IoError::NotPrimary)) | Err(_) => Err(NbdError::Shutdown),
            Ok(Err(IoError::OutOfRange)) => Err(NbdError::Inval),
            Ok(Err(IoError::NoLocalDisk | IoError::NoQuorum | IoError::Disk)) => Err(NbdError::Io),
        }
    }
}

impl BlockDevice for ReplicatedDevice {
    fn size(&self) -> u64 {
        self.size
    }

    /// Only the Primary exports, as only a DRBD Primary's device can be opened.
    fn unavailable(&self) -> Option<String> {
        if self
            .shared
            .primary
            .load(std::sync::atomic::Ordering::Acquire)
        {
            return None;
        }
        // A role change is a notice, and a notice refreshes the snapshot in the same
        // step as the flag: the snapshot's role is current here.
        let s = self.shared.snapshot();
        Some(format!(
            "{} is {}: only the Primary exports {} (try the peer {})",
            s.node, s.role, s.resource, s.peer
        ))
    }

    async fn read(&self, offset: u64, len: u32) -> Result<Vec<u8>, NbdError> {
        self.call(BlockOp::Read {
            offset,
            len: len as usize,
        })
        .await
    }

    /// Every acknowledged write is already as durable as the protocol promises (the disk
    /// thread syncs before completing, protocol C waits for the peer's disk), so FUA
    /// needs nothing more.
    async fn write(&self, offset: u64, data: Vec<u8>, _fua: bool) -> Result<(), NbdError> {
        let start = std::time::Instant::now();
        let op = if !data.is_empty() && data.iter().all(|&b| b == 0) {
            // Zero blocks travel as empty payloads, cheap to replicate.
            BlockOp::WriteZeroes {
                offset,
                len: data.len(),
            }
        } else {
            BlockOp::Write { offset, data }
        };
        let result = self.call(op).await.map(|_| ());
        if result.is_ok() {
            self.shared
                .write_latency
                .observe(start.elapsed().as_secs_f64());
        }
        result
    }

    async fn flush(&self) -> Result<(), NbdError> {
        Ok(())
    }

    /// A hint; the blocks keep their content on both replicas, which the protocol allows.
    async fn trim(&self, _offset: u64, _len: u32) -> Result<(), NbdError> {
        Ok(())
    }
}
