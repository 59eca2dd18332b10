//! A virtual disk: blocks in memory, a fixed latency per request, FIFO completion.

use std::collections::BTreeMap;

use core::time::Duration;

use super::Timing;
use crate::{BlockNo, DiskError, DiskOp, NodeId, Payload, Time};

/// A disk that completes requests in order after a latency, and may be made to fail.
///
/// A write reaches the blocks only when it completes: a crash before then loses it, as a
/// power cut loses a write still in the controller's queue.
#[derive(Clone, Debug, Default)]
pub struct VirtualDisk {
    /// Block contents by block number (dense: test devices are small); `None` is zeroes.
    blocks: Vec<Option<Payload>>,
    /// Time from submission to completion of a write.
    pub write_latency: Duration,
    /// Time from submission to completion of a read.
    pub read_latency: Duration,
    /// Every request fails while set.
    pub failed: bool,
    busy_until: Time,
    writes: u64,
}

impl VirtualDisk {
    /// An empty disk with the given write latency; reads take the same.
    pub fn new(latency: Duration) -> VirtualDisk {
        VirtualDisk {
            write_latency: latency,
            read_latency: latency,
            ..VirtualDisk::default()
        }
    }

    /// When a request submitted at `now` completes: after its latency, and not before the
    /// request submitted before it.
    pub(super) fn schedule(
        &mut self,
        now: Time,
        op: &DiskOp,
        node: NodeId,
        timing: &mut dyn Timing,
    ) -> Time {
        let base = match op {
            DiskOp::Write { .. } => self.write_latency,
            DiskOp::Read { .. } => self.read_latency,
        };
        let latency = timing.disk(node, op, base);
        self.busy_until = self.busy_until.max(now + latency);
        self.busy_until
    }

    /// Carries out a request at its completion time.
    pub(super) fn complete(&mut self, op: &DiskOp) -> Result<Option<Payload>, DiskError> {
        if self.failed {
            return Err(DiskError::Io);
        }
        match op {
            DiskOp::Write { block, count, data } => {
                self.writes += 1;
                for (i, b) in (0..*count).zip(*block..) {
                    let index = usize::try_from(b).map_err(|_| DiskError::Io)?;
                    if self.blocks.len() <= index {
                        self.blocks.resize(index + 1, None);
                    }
                    let p = data.block(i, *count);
                    self.blocks[index] = (!p.is_zeroes()).then_some(p);
                }
                Ok(None)
            }
            DiskOp::Read { block, count: 1 } => Ok(self.block(*block).cloned()),
            DiskOp::Read { block, count } => Ok(self.run(*block, *count)),
        }
    }

    /// A run of blocks as one payload, each block padded to its size (`None`: zeroes).
    fn run(&self, block: BlockNo, count: u32) -> Option<Payload> {
        let bs = crate::disk::BLOCK_SIZE as usize;
        let mut bytes = Vec::new();
        for (i, b) in (0..count as usize).zip(block..) {
            if let Some(p) = self.block(b) {
                bytes.resize(i * bs, 0);
                bytes.extend_from_slice(&p.as_bytes()[..p.as_bytes().len().min(bs)]);
            }
        }
        (!bytes.is_empty()).then(|| Payload::from_vec(bytes))
    }

    /// The content of `block` (`None`: zeroes).
    pub fn block(&self, block: BlockNo) -> Option<&Payload> {
        let index = usize::try_from(block).ok()?;
        self.blocks.get(index).and_then(Option::as_ref)
    }

    /// Every non-zero block, for comparing replicas.
    pub fn blocks(&self) -> BTreeMap<BlockNo, Payload> {
        self.blocks
            .iter()
            .enumerate()
            .filter_map(|(i, p)| Some((i as BlockNo, p.clone()?)))
            .collect()
    }

    /// Writes completed so far.
    pub fn writes(&self) -> u64 {
        self.writes
    }
}
