//! From byte ranges to the machine's block requests and back.
//!
//! An NBD client reads and writes byte ranges; the replica reads and writes runs of
//! whole 4 KiB blocks, each run with its own id, and answers each with `Ack`,
//! `WriteFailed` or `ReadDone`. [`BlockIo`] turns a range into as few runs as it can (a
//! 64 KiB request is one run of 16 blocks, one id, one replication message, one disk
//! request), turns a write that covers part of a block into read-modify-write of that
//! block, and answers the range once every run has been answered. Sans-I/O like the
//! machines: it returns the commands to feed the guest and the finished requests, and
//! never blocks.
//!
//! An operation starts only when every operation queued before it on any of its blocks
//! has finished, so two writes to different halves of one block (a kernel writing
//! 512-byte sectors) cannot both read the old block and lose one half, and a read after a
//! write to the same block sees it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use model::disk::BLOCK_SIZE;
use model::guest::GuestCommand;
use model::replication::ReplicaCommand;
use model::{BlockNo, IoError, Payload, ReadId, WriteId};

const BS: usize = BLOCK_SIZE as usize;

/// Longest run one machine request covers (1 MiB): bigger client requests become several
/// runs, so a replication frame stays far below the 16 MiB frame limit.
pub const MAX_RUN_BLOCKS: u32 = 256;

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
    /// Read the run and copy its bytes `at..at + len` into the request's buffer at `dest`.
    Read { at: usize, len: usize, dest: usize },
    /// Write the whole run.
    Write { data: Payload },
    /// Read the (one-block) run, overlay `bytes` at `at`, write it.
    Merge { at: usize, bytes: Vec<u8> },
}

/// One machine request: a run of `count` blocks from `block`.
#[derive(Debug)]
struct BlockOp {
    req: u64,
    block: BlockNo,
    count: u32,
    op: Op,
    started: bool,
}

impl BlockOp {
    fn blocks(&self) -> std::ops::Range<BlockNo> {
        self.block..self.block + u64::from(self.count)
    }
}

/// The byte-range front of one replica.
#[derive(Debug)]
pub struct BlockIo<R> {
    blocks: u64,
    next_req: u64,
    next_op: u64,
    next_id: u64,
    requests: BTreeMap<u64, Request<R>>,
    ops: BTreeMap<u64, BlockOp>,
    /// Per block, the operations on it in order; only the front one may be in flight.
    queues: BTreeMap<BlockNo, VecDeque<u64>>,
    writes: BTreeMap<WriteId, u64>,
    reads: BTreeMap<ReadId, u64>,
}

impl<R> BlockIo<R> {
    /// A front for a device of `blocks` blocks.
    pub fn new(blocks: u64) -> BlockIo<R> {
        BlockIo {
            blocks,
            next_req: 0,
            next_op: 0,
            next_id: 0,
            requests: BTreeMap::new(),
            ops: BTreeMap::new(),
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

    /// Reads `len` bytes at `offset`: one read of the blocks it touches (per
    /// [`MAX_RUN_BLOCKS`]).
    pub fn read(
        &mut self,
        offset: u64,
        len: usize,
        reply: R,
        cmds: &mut Vec<GuestCommand>,
    ) -> Option<Finished<R>> {
        let ops = self.split(offset, len).map(|pieces| {
            pieces
                .into_iter()
                .map(|p| {
                    let op = Op::Read {
                        at: p.at,
                        len: p.len,
                        dest: p.src,
                    };
                    (p.block, p.count, op)
                })
                .collect()
        });
        self.submit(reply, vec![0u8; len], ops, cmds)
    }

    /// Writes `data` at `offset`: whole blocks as runs that share `data` without a copy,
    /// a partly covered first or last block as read-modify-write.
    pub fn write(
        &mut self,
        offset: u64,
        data: Vec<u8>,
        reply: R,
        cmds: &mut Vec<GuestCommand>,
    ) -> Option<Finished<R>> {
        let len = data.len();
        let data = Payload::from_vec(data);
        let ops = self.split(offset, len).map(|pieces| {
            pieces
                .into_iter()
                .map(|p| {
                    let bytes = data.slice(p.src, p.src + p.len);
                    let op = if p.at == 0 && p.len == p.count as usize * BS {
                        Op::Write { data: bytes }
                    } else {
                        Op::Merge {
                            at: p.at,
                            bytes: bytes.as_bytes().to_vec(),
                        }
                    };
                    (p.block, p.count, op)
                })
                .collect()
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
        let ops = self.split(offset, len).map(|pieces| {
            pieces
                .into_iter()
                .map(|p| {
                    let op = if p.at == 0 && p.len == p.count as usize * BS {
                        Op::Write {
                            data: Payload::zeroes(),
                        }
                    } else {
                        Op::Merge {
                            at: p.at,
                            bytes: vec![0; p.len],
                        }
                    };
                    (p.block, p.count, op)
                })
                .collect()
        });
        self.submit(reply, Vec::new(), ops, cmds)
    }

    /// Splits a range into pieces: a partly covered first block, runs of whole blocks (at
    /// most [`MAX_RUN_BLOCKS`] each), a partly covered last block. A range within one
    /// block is one piece.
    fn split(&self, offset: u64, len: usize) -> Result<Vec<Piece>, IoError> {
        let end = offset.checked_add(len as u64).ok_or(IoError::OutOfRange)?;
        if end > self.size() {
            return Err(IoError::OutOfRange);
        }
        let mut pieces = Vec::new();
        let mut pos = offset;
        while pos < end {
            let block = pos / BLOCK_SIZE;
            let at = (pos % BLOCK_SIZE) as usize;
            let whole = if at == 0 { (end - pos) / BLOCK_SIZE } else { 0 };
            let (count, n) = if whole > 0 {
                let count = whole.min(u64::from(MAX_RUN_BLOCKS)) as u32;
                (count, count as usize * BS)
            } else {
                (1, (BS - at).min((end - pos) as usize))
            };
            pieces.push(Piece {
                block,
                count,
                at,
                len: n,
                src: (pos - offset) as usize,
            });
            pos += n as u64;
        }
        Ok(pieces)
    }

    fn submit(
        &mut self,
        reply: R,
        buf: Vec<u8>,
        ops: Result<Vec<(BlockNo, u32, Op)>, IoError>,
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
        for (block, count, op) in ops {
            let id = self.next_op;
            self.next_op += 1;
            let op = BlockOp {
                req,
                block,
                count,
                op,
                started: false,
            };
            for b in op.blocks() {
                self.queues.entry(b).or_default().push_back(id);
            }
            self.ops.insert(id, op);
            self.try_start(id, cmds);
        }
        None
    }

    /// Starts operation `id` if it is at the front of every block it covers.
    fn try_start(&mut self, id: u64, cmds: &mut Vec<GuestCommand>) {
        let Some(op) = self.ops.get(&id) else {
            return;
        };
        let ready = !op.started
            && op
                .blocks()
                .all(|b| self.queues.get(&b).and_then(|q| q.front()) == Some(&id));
        if ready {
            self.start(id, cmds);
        }
    }

    /// Issues the command for operation `id`.
    fn start(&mut self, id: u64, cmds: &mut Vec<GuestCommand>) {
        let Some(op) = self.ops.get_mut(&id) else {
            return;
        };
        op.started = true;
        self.next_id += 1;
        let n = self.next_id;
        let (block, count) = (op.block, op.count);
        let cmd = match &op.op {
            Op::Read { .. } | Op::Merge { .. } => {
                self.reads.insert(ReadId(n), id);
                ReplicaCommand::Read {
                    id: ReadId(n),
                    block,
                    count,
                }
            }
            Op::Write { data } => {
                self.writes.insert(WriteId(n), id);
                ReplicaCommand::Write {
                    id: WriteId(n),
                    block,
                    count,
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
        let op = self.writes.remove(&id)?;
        self.finish(op, result.err(), cmds)
    }

    /// The guest answered a read.
    pub fn read_done(
        &mut self,
        id: ReadId,
        result: Result<Option<Payload>, IoError>,
        cmds: &mut Vec<GuestCommand>,
    ) -> Option<Finished<R>> {
        let op_id = self.reads.remove(&id)?;
        let op = self.ops.get_mut(&op_id)?;
        match (&mut op.op, result) {
            (_, Err(e)) => self.finish(op_id, Some(e), cmds),
            (Op::Read { at, len, dest }, Ok(p)) => {
                let (at, len, dest) = (*at, *len, *dest);
                if let (Some(r), Some(p)) = (self.requests.get_mut(&op.req), p) {
                    if at == 0 && dest == 0 && len == r.buf.len() && p.as_bytes().len() == len {
                        // The whole answer: the disk thread's buffer, without a copy.
                        r.buf = p.into_vec();
                    } else {
                        // What the payload lacks is zeroes, as the buffer already is.
                        let have = p.as_bytes().len().saturating_sub(at).min(len);
                        if have > 0 {
                            r.buf[dest..dest + have].copy_from_slice(&p.as_bytes()[at..at + have]);
                        }
                    }
                }
                self.finish(op_id, None, cmds)
            }
            (Op::Merge { at, bytes }, Ok(p)) => {
                let mut b = vec![0u8; BS];
                if let Some(p) = p {
                    let n = p.as_bytes().len().min(BS);
                    b[..n].copy_from_slice(&p.as_bytes()[..n]);
                }
                b[*at..*at + bytes.len()].copy_from_slice(bytes);
                // The same operation now writes the merged block.
                op.op = Op::Write {
                    data: Payload::from_vec(b),
                };
                self.start(op_id, cmds);
                None
            }
            (Op::Write { .. }, Ok(_)) => None,
        }
    }

    /// Operation `id` is done: account it to its request and start the operations it held
    /// up.
    fn finish(
        &mut self,
        id: u64,
        error: Option<IoError>,
        cmds: &mut Vec<GuestCommand>,
    ) -> Option<Finished<R>> {
        let op = self.ops.remove(&id)?;
        let mut next = BTreeSet::new();
        for b in op.blocks() {
            if let Some(q) = self.queues.get_mut(&b) {
                q.pop_front();
                match q.front() {
                    Some(&n) => {
                        next.insert(n);
                    }
                    None => {
                        self.queues.remove(&b);
                    }
                }
            }
        }
        for n in next {
            self.try_start(n, cmds);
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

/// A piece of a byte range: `len` bytes at `at` within the run of `count` blocks from
/// `block`, at `src` within the range.
#[derive(Debug)]
struct Piece {
    block: BlockNo,
    count: u32,
    at: usize,
    len: usize,
    src: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A disk that answers the commands at once, as a Primary with a perfect disk would.
    struct Answer {
        disk: Vec<u8>,
        /// The runs of the commands, in the order they were answered.
        runs: Vec<(BlockNo, u32)>,
    }

    impl Answer {
        fn new(disk: Vec<u8>) -> Answer {
            Answer {
                disk,
                runs: Vec::new(),
            }
        }
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
                    GuestCommand::Replica(ReplicaCommand::Write {
                        id,
                        block,
                        count,
                        data,
                    }) => {
                        let at = block as usize * BS;
                        let len = count as usize * BS;
                        let mut b = vec![0u8; len];
                        b[..data.as_bytes().len()].copy_from_slice(data.as_bytes());
                        self.disk[at..at + len].copy_from_slice(&b);
                        self.runs.push((block, count));
                        io.write_done(id, Ok(()), &mut next)
                    }
                    GuestCommand::Replica(ReplicaCommand::Read { id, block, count }) => {
                        let at = block as usize * BS;
                        let p = Payload::new(&self.disk[at..at + count as usize * BS]);
                        self.runs.push((block, count));
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
        let mut a = Answer::new(vec![0x11; 4 * BS]);
        let mut cmds = Vec::new();
        assert!(io.write(1000, vec![0xaa; 5000], 1, &mut cmds).is_none());
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
        let mut a = Answer::new(vec![0; BS]);
        let mut cmds = Vec::new();
        io.write(0, vec![1; 512], 1, &mut cmds);
        io.write(512, vec![2; 512], 2, &mut cmds);
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
            io.write(u64::MAX, vec![1], 8, &mut cmds),
            Some((8, Err(IoError::OutOfRange)))
        ));
        assert!(cmds.is_empty());
        // Half a block, then a whole one: a read-modify-write and a run.
        io.write(BS as u64 / 2, vec![1; BS / 2 + BS], 9, &mut cmds);
        assert_eq!(cmds.len(), 2);
        let mut next = Vec::new();
        assert!(
            io.write_done(WriteId(2), Err(IoError::NotPrimary), &mut next)
                .is_none()
        );
        let fin = io.read_done(ReadId(1), Err(IoError::NotPrimary), &mut next);
        assert!(matches!(fin, Some((9, Err(IoError::NotPrimary)))));
        assert_eq!(io.pending(), 0);
    }

    #[test]
    fn whole_blocks_are_one_run_and_the_edges_merge() {
        let mut io = BlockIo::new(600);
        let mut a = Answer::new(vec![0x11; 600 * BS]);
        // 64 KiB aligned: one write of 16 blocks.
        let mut cmds = Vec::new();
        io.write(4 * BLOCK_SIZE, vec![0xaa; 16 * BS], 1, &mut cmds);
        assert_eq!(cmds.len(), 1);
        let done = a.drive(&mut io, cmds, Vec::new());
        assert_eq!(done.len(), 1);
        assert_eq!(a.runs, [(4, 16)]);
        assert!(a.disk[4 * BS..20 * BS].iter().all(|&b| b == 0xaa));
        assert!(a.disk[20 * BS..].iter().all(|&b| b == 0x11));
        // Unaligned at both ends: read-modify-write of blocks 30 and 33, one run 31-32.
        a.runs.clear();
        let mut cmds = Vec::new();
        io.write(30 * BLOCK_SIZE + 100, vec![0xbb; 3 * BS], 2, &mut cmds);
        let done = a.drive(&mut io, cmds, Vec::new());
        assert_eq!(done.len(), 1);
        let mut runs = a.runs.clone();
        runs.sort();
        assert_eq!(runs, [(30, 1), (30, 1), (31, 2), (33, 1), (33, 1)]);
        assert!(a.disk[30 * BS..30 * BS + 100].iter().all(|&b| b == 0x11));
        assert!(
            a.disk[30 * BS + 100..33 * BS + 100]
                .iter()
                .all(|&b| b == 0xbb)
        );
        assert!(a.disk[33 * BS + 100..34 * BS].iter().all(|&b| b == 0x11));
        // 2 MiB: two runs of MAX_RUN_BLOCKS; a read of it is two reads as well.
        a.runs.clear();
        let mut cmds = Vec::new();
        io.write(40 * BLOCK_SIZE, vec![0xcc; 512 * BS], 3, &mut cmds);
        a.drive(&mut io, cmds, Vec::new());
        assert_eq!(a.runs, [(296, 256), (40, 256)]);
        a.runs.clear();
        let mut cmds = Vec::new();
        io.read(40 * BLOCK_SIZE - 1, 512 * BS + 2, 4, &mut cmds);
        let done = a.drive(&mut io, cmds, Vec::new());
        let bytes = done[0].1.as_ref().expect("read ok");
        assert_eq!(bytes.len(), 512 * BS + 2);
        assert_eq!(
            (bytes[0], bytes[1], bytes[512 * BS], bytes[512 * BS + 1]),
            (0x11, 0xcc, 0xcc, 0x11)
        );
        assert_eq!(
            a.runs.len(),
            4,
            "an edge byte each side, two runs: {:?}",
            a.runs
        );
    }

    #[test]
    fn a_run_waits_for_an_earlier_write_to_any_of_its_blocks() {
        let mut io = BlockIo::new(16);
        let mut a = Answer::new(vec![0; 16 * BS]);
        let mut cmds = Vec::new();
        // A half-block write to block 5, then a run over blocks 4-7: the run must not start
        // before the merge of block 5 has written it.
        io.write(5 * BLOCK_SIZE, vec![1; 100], 1, &mut cmds);
        io.write(4 * BLOCK_SIZE, vec![2; 4 * BS], 2, &mut cmds);
        assert_eq!(cmds.len(), 1, "the run waits");
        let done = a.drive(&mut io, cmds, Vec::new());
        assert_eq!(done.len(), 2);
        assert!(
            a.disk[4 * BS..8 * BS].iter().all(|&b| b == 2),
            "the later write wins"
        );
        assert_eq!(io.pending(), 0);
    }
}
