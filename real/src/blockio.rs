//! From byte ranges to the machine's block requests and back.
//!
//! An NBD client reads and writes byte ranges; the replica reads and writes whole 4 KiB
//! blocks, each with its own id, and answers each with `Ack`, `WriteFailed` or
//! `ReadDone`. [`BlockIo`] splits a range into block operations, turns a write that covers
//! part of a block into read-modify-write, and answers the range once every block has
//! been answered. Sans-I/O like the machines: it returns the commands to feed the guest
//! and the finished requests, and never blocks.
//!
//! One operation per block is in flight at a time and the rest wait in order, so two
//! writes to different halves of one block (a kernel writing 512-byte sectors) cannot
//! both read the old block and lose one half.

use std::collections::{BTreeMap, VecDeque};

use model::disk::BLOCK_SIZE;
use model::guest::GuestCommand;
use model::replication::ReplicaCommand;
use model::{BlockNo, IoError, Payload, ReadId, WriteId};

const BS: usize = BLOCK_SIZE as usize;

/// A finished request: its reply handle and result (the bytes for a read).
pub type Finished<R> = (R, Result<Vec<u8>, IoError>);

#[derive(Debug)]
struct Request<R> {
    reply: R,
    /// The bytes of a read being assembled.
    buf: Vec<u8>,
    remaining: usize,
    error: Option<IoError>,
}

#[derive(Debug)]
enum Op {
    /// Read the block and copy `len` bytes from `at` into the request's buffer at `dest`.
    Read { at: usize, len: usize, dest: usize },
    /// Write the whole block.
    Write { data: Payload },
    /// Read the block, overlay `bytes` at `at`, write it.
    Merge { at: usize, bytes: Vec<u8> },
}

#[derive(Debug)]
struct BlockOp {
    req: u64,
    op: Op,
}

/// What an id the guest answers refers to.
#[derive(Debug, Clone, Copy)]
struct InFlight {
    block: BlockNo,
}

/// The byte-range front of one replica.
#[derive(Debug)]
pub struct BlockIo<R> {
    blocks: u64,
    next_req: u64,
    next_id: u64,
    requests: BTreeMap<u64, Request<R>>,
    /// Per block, the operations in order; the front one is in flight.
    queues: BTreeMap<BlockNo, VecDeque<BlockOp>>,
    writes: BTreeMap<WriteId, InFlight>,
    reads: BTreeMap<ReadId, InFlight>,
}

impl<R> BlockIo<R> {
    /// A front for a device of `blocks` blocks.
    pub fn new(blocks: u64) -> BlockIo<R> {
        BlockIo {
            blocks,
            next_req: 0,
            next_id: 0,
            requests: BTreeMap::new(),
            queues: BTreeMap::new(),
            writes: BTreeMap::new(),
            reads: BTreeMap::new(),
        }
    }

    /// The device's size in bytes.
    pub fn size(&self) -> u64 {
        self.blocks * BLOCK_SIZE
    }

    /// Requests not yet answered.
    pub fn pending(&self) -> usize {
        self.requests.len()
    }

    /// Reads `len` bytes at `offset`.
    pub fn read(
        &mut self,
        offset: u64,
        len: usize,
        reply: R,
        cmds: &mut Vec<GuestCommand>,
    ) -> Option<Finished<R>> {
        let ops = self.split(offset, len, |at, n, dest, _| Op::Read { at, len: n, dest });
        self.submit(reply, vec![0u8; len], ops, cmds)
    }

    /// Writes `data` at `offset`.
    pub fn write(
        &mut self,
        offset: u64,
        data: &[u8],
        reply: R,
        cmds: &mut Vec<GuestCommand>,
    ) -> Option<Finished<R>> {
        let ops = self.split(offset, data.len(), |at, n, src, _| {
            let bytes = &data[src..src + n];
            if n == BS {
                Op::Write {
                    data: Payload::new(bytes),
                }
            } else {
                Op::Merge {
                    at,
                    bytes: bytes.to_vec(),
                }
            }
        });
        self.submit(reply, Vec::new(), ops, cmds)
    }

    /// Writes zeroes over `len` bytes at `offset` (whole blocks travel as empty payloads).
    pub fn write_zeroes(
        &mut self,
        offset: u64,
        len: usize,
        reply: R,
        cmds: &mut Vec<GuestCommand>,
    ) -> Option<Finished<R>> {
        let ops = self.split(offset, len, |at, n, _, _| {
            if n == BS {
                Op::Write {
                    data: Payload::zeroes(),
                }
            } else {
                Op::Merge {
                    at,
                    bytes: vec![0; n],
                }
            }
        });
        self.submit(reply, Vec::new(), ops, cmds)
    }

    /// Splits a range into per-block operations; `make(at_in_block, len, range_offset, block)`.
    fn split(
        &self,
        offset: u64,
        len: usize,
        mut make: impl FnMut(usize, usize, usize, BlockNo) -> Op,
    ) -> Result<Vec<(BlockNo, Op)>, IoError> {
        let end = offset.checked_add(len as u64).ok_or(IoError::OutOfRange)?;
        if end > self.size() {
            return Err(IoError::OutOfRange);
        }
        let mut ops = Vec::new();
        let mut pos = offset;
        while pos < end {
            let block = pos / BLOCK_SIZE;
            let at = (pos % BLOCK_SIZE) as usize;
            let n = (BS - at).min((end - pos) as usize);
            ops.push((block, make(at, n, (pos - offset) as usize, block)));
            pos += n as u64;
        }
        Ok(ops)
    }

    fn submit(
        &mut self,
        reply: R,
        buf: Vec<u8>,
        ops: Result<Vec<(BlockNo, Op)>, IoError>,
        cmds: &mut Vec<GuestCommand>,
    ) -> Option<Finished<R>> {
        let ops = match ops {
            Ok(ops) if !ops.is_empty() => ops,
            Ok(_) => return Some((reply, Ok(buf))),
            Err(e) => return Some((reply, Err(e))),
        };
        let req = self.next_req;
        self.next_req += 1;
        self.requests.insert(
            req,
            Request {
                reply,
                buf,
                remaining: ops.len(),
                error: None,
            },
        );
        for (block, op) in ops {
            let q = self.queues.entry(block).or_default();
            q.push_back(BlockOp { req, op });
            if q.len() == 1 {
                self.start(block, cmds);
            }
        }
        None
    }

    /// Issues the command for the front operation of `block`'s queue.
    fn start(&mut self, block: BlockNo, cmds: &mut Vec<GuestCommand>) {
        let Some(front) = self.queues.get(&block).and_then(|q| q.front()) else {
            return;
        };
        self.next_id += 1;
        let id = self.next_id;
        let cmd = match &front.op {
            Op::Read { .. } | Op::Merge { .. } => {
                self.reads.insert(ReadId(id), InFlight { block });
                ReplicaCommand::Read {
                    id: ReadId(id),
                    block,
                }
            }
            Op::Write { data } => {
                self.writes.insert(WriteId(id), InFlight { block });
                ReplicaCommand::Write {
                    id: WriteId(id),
                    block,
                    data: data.clone(),
                }
            }
        };
        cmds.push(GuestCommand::Replica(cmd));
    }

    /// The guest acknowledged or failed a write.
    pub fn write_done(
        &mut self,
        id: WriteId,
        result: Result<(), IoError>,
        cmds: &mut Vec<GuestCommand>,
    ) -> Option<Finished<R>> {
        let f = self.writes.remove(&id)?;
        self.finish_front(f.block, result.err(), cmds)
    }

    /// The guest answered a read.
    pub fn read_done(
        &mut self,
        id: ReadId,
        result: Result<Option<Payload>, IoError>,
        cmds: &mut Vec<GuestCommand>,
    ) -> Option<Finished<R>> {
        let f = self.reads.remove(&id)?;
        let block = f.block;
        let content = |p: &Option<Payload>| -> Vec<u8> {
            let mut b = vec![0u8; BS];
            if let Some(p) = p {
                let n = p.as_bytes().len().min(BS);
                b[..n].copy_from_slice(&p.as_bytes()[..n]);
            }
            b
        };
        let front = self.queues.get_mut(&block)?.front_mut()?;
        match (&mut front.op, result) {
            (_, Err(e)) => self.finish_front(block, Some(e), cmds),
            (Op::Read { at, len, dest }, Ok(p)) => {
                let (at, len, dest) = (*at, *len, *dest);
                let b = content(&p);
                if let Some(r) = self.requests.get_mut(&front.req) {
                    r.buf[dest..dest + len].copy_from_slice(&b[at..at + len]);
                }
                self.finish_front(block, None, cmds)
            }
            (Op::Merge { at, bytes }, Ok(p)) => {
                let mut b = content(&p);
                b[*at..*at + bytes.len()].copy_from_slice(bytes);
                // The same queue slot now writes the merged block.
                front.op = Op::Write {
                    data: Payload::new(&b),
                };
                self.start(block, cmds);
                None
            }
            (Op::Write { .. }, Ok(_)) => None,
        }
    }

    /// The front operation of `block` is done: account it to its request and start the
    /// next one on the block.
    fn finish_front(
        &mut self,
        block: BlockNo,
        error: Option<IoError>,
        cmds: &mut Vec<GuestCommand>,
    ) -> Option<Finished<R>> {
        let q = self.queues.get_mut(&block)?;
        let op = q.pop_front()?;
        if q.is_empty() {
            self.queues.remove(&block);
        } else {
            self.start(block, cmds);
        }
        let r = self.requests.get_mut(&op.req)?;
        r.remaining -= 1;
        if r.error.is_none() {
            r.error = error;
        }
        if r.remaining > 0 {
            return None;
        }
        let r = self.requests.remove(&op.req)?;
        Some(match r.error {
            Some(e) => (r.reply, Err(e)),
            None => (r.reply, Ok(r.buf)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A disk that answers the commands at once, as a Primary with a perfect disk would.
    struct Answer {
        disk: Vec<u8>,
    }

    impl Answer {
        /// Runs the commands to completion and returns the finished requests.
        fn drive(
            &mut self,
            io: &mut BlockIo<u32>,
            mut cmds: Vec<GuestCommand>,
            mut done: Vec<Finished<u32>>,
        ) -> Vec<Finished<u32>> {
            while let Some(cmd) = cmds.pop() {
                let mut next = Vec::new();
                let fin = match cmd {
                    GuestCommand::Replica(ReplicaCommand::Write { id, block, data }) => {
                        let at = block as usize * BS;
                        let mut b = vec![0u8; BS];
                        b[..data.as_bytes().len()].copy_from_slice(data.as_bytes());
                        self.disk[at..at + BS].copy_from_slice(&b);
                        io.write_done(id, Ok(()), &mut next)
                    }
                    GuestCommand::Replica(ReplicaCommand::Read { id, block }) => {
                        let at = block as usize * BS;
                        let p = Payload::new(&self.disk[at..at + BS]);
                        io.read_done(id, Ok(Some(p)), &mut next)
                    }
                    other => panic!("unexpected {other:?}"),
                };
                done.extend(fin);
                cmds.extend(next);
            }
            done
        }
    }

    #[test]
    fn unaligned_writes_merge_and_reads_assemble() {
        let mut io = BlockIo::new(4);
        let mut a = Answer {
            disk: vec![0x11; 4 * BS],
        };
        let mut cmds = Vec::new();
        assert!(io.write(1000, &[0xaa; 5000], 1, &mut cmds).is_none());
        let done = a.drive(&mut io, cmds, Vec::new());
        assert_eq!(done.len(), 1);
        assert!(a.disk[..1000].iter().all(|&b| b == 0x11));
        assert!(a.disk[1000..6000].iter().all(|&b| b == 0xaa));
        assert!(a.disk[6000..].iter().all(|&b| b == 0x11));

        let mut cmds = Vec::new();
        assert!(io.read(999, 5002, 2, &mut cmds).is_none());
        let done = a.drive(&mut io, cmds, Vec::new());
        let (id, bytes) = &done[0];
        let bytes = bytes.as_ref().expect("read ok");
        assert_eq!(*id, 2);
        assert_eq!(bytes[0], 0x11);
        assert!(bytes[1..5001].iter().all(|&b| b == 0xaa));
        assert_eq!(bytes[5001], 0x11);
        assert_eq!(io.pending(), 0);
    }

    #[test]
    fn two_halves_of_one_block_both_survive() {
        let mut io = BlockIo::new(1);
        let mut a = Answer { disk: vec![0; BS] };
        let mut cmds = Vec::new();
        io.write(0, &[1; 512], 1, &mut cmds);
        io.write(512, &[2; 512], 2, &mut cmds);
        assert_eq!(cmds.len(), 1, "the second waits for the first");
        let done = a.drive(&mut io, cmds, Vec::new());
        assert_eq!(done.len(), 2);
        assert!(a.disk[..512].iter().all(|&b| b == 1));
        assert!(a.disk[512..1024].iter().all(|&b| b == 2));
    }

    #[test]
    fn out_of_range_and_failures_answer_the_request() {
        let mut io: BlockIo<u32> = BlockIo::new(2);
        let mut cmds = Vec::new();
        let fin = io.read(BLOCK_SIZE * 2 - 1, 2, 7, &mut cmds);
        assert!(matches!(fin, Some((7, Err(IoError::OutOfRange)))));
        assert!(matches!(
            io.write(u64::MAX, &[1], 8, &mut cmds),
            Some((8, Err(IoError::OutOfRange)))
        ));
        assert!(cmds.is_empty());
        io.write(0, &[1; 2 * BS], 9, &mut cmds);
        assert_eq!(cmds.len(), 2);
        let mut next = Vec::new();
        assert!(
            io.write_done(WriteId(1), Err(IoError::NotPrimary), &mut next)
                .is_none()
        );
        let fin = io.write_done(WriteId(2), Ok(()), &mut next);
        assert!(matches!(fin, Some((9, Err(IoError::NotPrimary)))));
        assert_eq!(io.pending(), 0);
    }
}
