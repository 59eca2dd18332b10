//! The backing disk: a dedicated thread doing `pread`/`pwrite`/`fdatasync` on a file or
//! block device, so the event loop never blocks on the disk.
//!
//! The machine's `DiskOp::Write` promises that its completion means the block is on
//! stable storage. The thread takes every request that is waiting, writes them all, calls
//! `fdatasync` once and only then completes the batch: group commit, the way a database
//! amortises one flush over many transactions, without ever completing a write before it
//! is durable.
//!
//! A request covers a run of blocks (a 64 KiB client write is one request of 16 blocks),
//! written with one `pwrite` straight from its payload (read with one `pread` into the
//! buffer that becomes the payload). The loop hands over everything one input produced as
//! one batch (one wake-up of this thread), and requests for consecutive blocks in a batch
//! (a peer's stream of 4 KiB writes) are joined into one call as well.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use model::disk::BLOCK_SIZE;
use model::{DiskCompletion, DiskError, DiskOp, DiskRequest, Payload};

/// Most requests handled before one `fdatasync`: bounds the latency of the first.
const MAX_BATCH: usize = 256;

/// Longest run of consecutive blocks written or read with one call (1 MiB).
const MAX_RUN: usize = 256;

/// The open backing disk.
#[derive(Debug)]
pub struct BackingDisk {
    path: PathBuf,
    file: File,
    blocks: u64,
}

/// Why the backing disk cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DiskOpenError {
    /// Opening failed.
    #[error("{path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The disk is smaller than one block.
    #[error(
        "{path}: {size} bytes is smaller than one 4 KiB block (create it with e.g. `truncate -s 64M {path}`)"
    )]
    TooSmall {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
    },
}

impl BackingDisk {
    /// Opens the file or device for reading and writing; its size rounded down to whole
    /// blocks is the replicated device's.
    pub fn open(path: &Path) -> Result<BackingDisk, DiskOpenError> {
        let open_err = |source| DiskOpenError::Open {
            path: path.to_path_buf(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(open_err)?;
        // A block device reports size 0 in its metadata; seeking to the end works for both.
        let size = {
            use std::io::{Seek, SeekFrom};
            let mut f = &file;
            f.seek(SeekFrom::End(0)).map_err(open_err)?
        };
        let blocks = size / BLOCK_SIZE;
        if blocks == 0 {
            return Err(DiskOpenError::TooSmall {
                path: path.to_path_buf(),
                size,
            });
        }
        Ok(BackingDisk {
            path: path.to_path_buf(),
            file,
            blocks,
        })
    }

    /// The device's size in blocks.
    pub fn blocks(&self) -> u64 {
        self.blocks
    }

    /// Starts the disk thread: requests go in through the returned sender, batches of
    /// completions come out through `done`, which returns false when nobody listens any
    /// more. The thread ends when the sender is dropped or `done` returns false.
    pub fn spawn(
        self,
        done: impl Fn(Vec<DiskCompletion>) -> bool + Send + 'static,
    ) -> std::io::Result<mpsc::Sender<Vec<DiskRequest>>> {
        let (tx, rx) = mpsc::channel::<Vec<DiskRequest>>();
        std::thread::Builder::new()
            .name("dualha-disk".into())
            .spawn(move || self.run(rx, done))?;
        Ok(tx)
    }

    fn run(self, rx: mpsc::Receiver<Vec<DiskRequest>>, done: impl Fn(Vec<DiskCompletion>) -> bool) {
        let mut scratch = Vec::with_capacity(MAX_RUN * BLOCK_SIZE as usize);
        while let Ok(mut batch) = rx.recv() {
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(more) => batch.extend(more),
                    Err(_) => break,
                }
            }
            let mut results: Vec<DiskCompletion> = Vec::with_capacity(batch.len());
            let mut i = 0;
            while i < batch.len() {
                let n = run_length(&batch[i..]);
                self.execute_run(&batch[i..i + n], &mut scratch, &mut results);
                i += n;
            }
            let wrote = batch.iter().any(|r| matches!(r.op, DiskOp::Write { .. }));
            if wrote && let Err(e) = self.file.sync_data() {
                tracing::error!(disk = %self.path.display(), error = %e, "fdatasync failed: failing the batch's writes");
                for (r, c) in batch.iter().zip(results.iter_mut()) {
                    if matches!(r.op, DiskOp::Write { .. }) {
                        c.result = Err(DiskError::Io);
                    }
                }
            }
            if !done(results) {
                return;
            }
        }
    }

    /// Carries out `run` (requests of one kind for consecutive blocks, see
    /// [`run_length`]) with one call, or request by request if that call fails, so an
    /// error is told for the request it belongs to.
    fn execute_run(
        &self,
        run: &[DiskRequest],
        scratch: &mut Vec<u8>,
        results: &mut Vec<DiskCompletion>,
    ) {
        let (Some(first), Some(last)) = (run.first(), run.last()) else {
            return;
        };
        let start = span_of(&first.op).0;
        let (last_block, last_count) = span_of(&last.op);
        let blocks = last_block.saturating_add(u64::from(last_count)) - start;
        if run.len() > 1 && self.span(start, blocks).is_some() {
            let offset = start * BLOCK_SIZE;
            match first.op {
                DiskOp::Write { .. } => {
                    scratch.clear();
                    for r in run {
                        if let DiskOp::Write { count, data, .. } = &r.op {
                            append_padded(scratch, data, *count);
                        }
                    }
                    if self.file.write_all_at(scratch, offset).is_ok() {
                        results.extend(run.iter().map(|r| DiskCompletion {
                            token: r.token,
                            result: Ok(None),
                        }));
                        return;
                    }
                }
                DiskOp::Read { .. } => {
                    // One buffer for the run; each request's payload is a slice of it.
                    let mut buf = vec![0u8; blocks as usize * BLOCK_SIZE as usize];
                    if self.file.read_exact_at(&mut buf, offset).is_ok() {
                        let all = Payload::from_vec(buf);
                        results.extend(run.iter().map(|r| {
                            let (block, count) = span_of(&r.op);
                            let at = ((block - start) * BLOCK_SIZE) as usize;
                            let len = count as usize * BLOCK_SIZE as usize;
                            DiskCompletion {
                                token: r.token,
                                result: Ok(Some(all.slice(at, at + len))),
                            }
                        }));
                        return;
                    }
                }
            }
        }
        // One request, a run reaching past the end, or a run whose call failed.
        results.extend(run.iter().map(|r| DiskCompletion {
            token: r.token,
            result: self.execute(&r.op, scratch),
        }));
    }

    /// The byte offset of `block..block + count`, if the disk has all of it.
    fn span(&self, block: u64, count: u64) -> Option<u64> {
        let end = block.checked_add(count)?;
        (count > 0 && end <= self.blocks).then(|| block * BLOCK_SIZE)
    }

    /// One request with one call; a full-length payload is written as it is, without a
    /// copy.
    fn execute(&self, op: &DiskOp, scratch: &mut Vec<u8>) -> Result<Option<Payload>, DiskError> {
        let (block, count) = span_of(op);
        let offset = self.span(block, u64::from(count)).ok_or(DiskError::Io)?;
        let len = count as usize * BLOCK_SIZE as usize;
        match op {
            DiskOp::Write { data, .. } => {
                let bytes = data.as_bytes();
                let result = if bytes.len() == len {
                    self.file.write_all_at(bytes, offset)
                } else {
                    // Zeroes (an empty payload) or a short payload padded with zeroes.
                    scratch.clear();
                    append_padded(scratch, data, count);
                    self.file.write_all_at(scratch, offset)
                };
                result.map(|()| None).map_err(|e| {
                    tracing::error!(disk = %self.path.display(), block, count, error = %e, "write failed");
                    DiskError::Io
                })
            }
            DiskOp::Read { .. } => {
                let mut buf = vec![0u8; len];
                self.file
                    .read_exact_at(&mut buf, offset)
                    .map(|()| Some(Payload::from_vec(buf)))
                    .map_err(|e| {
                        tracing::error!(disk = %self.path.display(), block, count, error = %e, "read failed");
                        DiskError::Io
                    })
            }
        }
    }
}

/// Appends the `count` blocks `data` stands for: its bytes, at most `count` blocks of
/// them, then zeroes up to `count` blocks (an empty or short payload).
fn append_padded(out: &mut Vec<u8>, data: &Payload, count: u32) {
    let len = count as usize * BLOCK_SIZE as usize;
    let bytes = data.as_bytes();
    let n = bytes.len().min(len);
    out.extend_from_slice(&bytes[..n]);
    out.resize(out.len() + len - n, 0);
}

/// The first block and the number of blocks of a request.
fn span_of(op: &DiskOp) -> (u64, u32) {
    match op {
        DiskOp::Write { block, count, .. } | DiskOp::Read { block, count } => (*block, *count),
    }
}

/// How many requests from the front of `reqs` form a run: all writes or all reads, each
/// starting at the block after the previous one's last, at most [`MAX_RUN`] blocks in
/// all. Consecutive in the batch and in blocks, they never overlap, so one call does
/// what they would one by one.
fn run_length(reqs: &[DiskRequest]) -> usize {
    let Some(first) = reqs.first() else {
        return 0;
    };
    let write = matches!(first.op, DiskOp::Write { .. });
    let (start, count) = span_of(&first.op);
    let mut next = start.saturating_add(u64::from(count));
    let mut blocks = u64::from(count);
    let mut n = 1;
    while let Some(r) = reqs.get(n) {
        let (block, count) = span_of(&r.op);
        let same_kind = matches!(r.op, DiskOp::Write { .. }) == write;
        blocks = blocks.saturating_add(u64::from(count));
        if !same_kind || block != next || blocks > MAX_RUN as u64 {
            break;
        }
        next = block.saturating_add(u64::from(count));
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use model::{DiskToken, WriteId};

    use super::*;

    #[test]
    fn writes_land_at_their_block_and_read_back() {
        let path = std::env::temp_dir().join(format!("dualha-disk-{}.img", std::process::id()));
        std::fs::write(&path, vec![0u8; 4 * 4096 + 100]).expect("create");
        let disk = BackingDisk::open(&path).expect("open");
        assert_eq!(disk.blocks(), 4);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
        let tx = disk
            .spawn(move |c| done_tx.send(c).is_ok())
            .expect("thread");
        let block = vec![0xabu8; 4096];
        let reqs = [
            DiskRequest {
                token: DiskToken::AppWrite(WriteId(1)),
                op: DiskOp::Write {
                    block: 2,
                    count: 1,
                    data: Payload::new(&block),
                },
            },
            DiskRequest {
                token: DiskToken::AppWrite(WriteId(2)),
                op: DiskOp::Write {
                    block: 9,
                    count: 1,
                    data: Payload::new(&block),
                },
            },
        ];
        tx.send(reqs.to_vec()).expect("send");
        let mut got = Vec::new();
        while got.len() < 2 {
            got.extend(rt.block_on(done_rx.recv()).expect("completions"));
        }
        assert_eq!(got[0].result, Ok(None));
        assert_eq!(got[1].result, Err(DiskError::Io), "past the end");
        let bytes = std::fs::read(&path).expect("read");
        assert!(bytes[2 * 4096..3 * 4096].iter().all(|&b| b == 0xab));
        assert!(bytes[..2 * 4096].iter().all(|&b| b == 0));
        tx.send(vec![DiskRequest {
            token: DiskToken::ResyncRead(2),
            op: DiskOp::Read { block: 2, count: 1 },
        }])
        .expect("send");
        let read = rt.block_on(done_rx.recv()).expect("completion");
        assert_eq!(read[0].result, Ok(Some(Payload::new(&block))));
        let _ = std::fs::remove_file(&path);
    }

    fn write(id: u64, block: u64, byte: u8) -> DiskRequest {
        DiskRequest {
            token: DiskToken::AppWrite(WriteId(id)),
            op: DiskOp::Write {
                block,
                count: 1,
                data: if byte == 0 {
                    Payload::zeroes()
                } else {
                    Payload::new(&[byte; 4096])
                },
            },
        }
    }

    #[test]
    fn runs_of_consecutive_blocks_are_one_call_and_errors_stay_with_their_block() {
        let path = std::env::temp_dir().join(format!("dualha-run-{}.img", std::process::id()));
        std::fs::write(&path, vec![0x55u8; 8 * 4096]).expect("create");
        let disk = BackingDisk::open(&path).expect("open");
        // Blocks 5, 6, 7 then 8 and 9 (past the end): one run; then block 5 again, which
        // breaks it; then reads of 5..8.
        let batch = vec![
            write(1, 5, 0xa1),
            write(2, 6, 0),
            write(3, 7, 0xa3),
            write(4, 8, 0xa4),
            write(5, 9, 0xa5),
            write(6, 5, 0xb1),
            DiskRequest {
                token: DiskToken::ResyncRead(5),
                op: DiskOp::Read { block: 5, count: 1 },
            },
            DiskRequest {
                token: DiskToken::ResyncRead(6),
                op: DiskOp::Read { block: 6, count: 1 },
            },
            DiskRequest {
                token: DiskToken::ResyncRead(7),
                op: DiskOp::Read { block: 7, count: 1 },
            },
        ];
        assert_eq!(run_length(&batch), 5);
        assert_eq!(run_length(&batch[5..]), 1);
        assert_eq!(run_length(&batch[6..]), 3);
        let mut scratch = Vec::new();
        let mut results = Vec::new();
        let mut i = 0;
        while i < batch.len() {
            let n = run_length(&batch[i..]);
            disk.execute_run(&batch[i..i + n], &mut scratch, &mut results);
            i += n;
        }
        let tokens: Vec<DiskToken> = results.iter().map(|c| c.token).collect();
        let expected: Vec<DiskToken> = batch.iter().map(|r| r.token).collect();
        assert_eq!(tokens, expected, "one completion per request, in order");
        let ok: Vec<bool> = results.iter().map(|c| c.result.is_ok()).collect();
        assert_eq!(ok, [true, true, true, false, false, true, true, true, true]);
        let block = |b: u8| Some(Payload::new(&[b; 4096]));
        assert_eq!(
            results[6].result,
            Ok(block(0xb1)),
            "the later write to 5 wins"
        );
        assert_eq!(
            results[7].result,
            Ok(block(0)),
            "an empty payload is zeroes"
        );
        assert_eq!(results[8].result, Ok(block(0xa3)));
        let bytes = std::fs::read(&path).expect("read");
        assert!(
            bytes[..5 * 4096].iter().all(|&b| b == 0x55),
            "blocks 0-4 untouched"
        );
        assert_eq!(bytes.len(), 8 * 4096, "nothing written past the end");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_request_for_a_run_is_one_request_and_runs_of_runs_join() {
        let path = std::env::temp_dir().join(format!("dualha-runs-{}.img", std::process::id()));
        std::fs::write(&path, vec![0x55u8; 8 * 4096]).expect("create");
        let disk = BackingDisk::open(&path).expect("open");
        let mut three = vec![0xa0u8; 4096];
        three.extend_from_slice(&[0xa1; 4096]);
        three.extend_from_slice(&[0xa2; 4096]);
        let batch = vec![
            DiskRequest {
                token: DiskToken::AppWrite(WriteId(1)),
                op: DiskOp::Write {
                    block: 1,
                    count: 3,
                    data: Payload::from_vec(three),
                },
            },
            // Zeroes for blocks 4-5, joined to the run before.
            DiskRequest {
                token: DiskToken::AppWrite(WriteId(2)),
                op: DiskOp::Write {
                    block: 4,
                    count: 2,
                    data: Payload::zeroes(),
                },
            },
            // Past the end.
            DiskRequest {
                token: DiskToken::AppWrite(WriteId(3)),
                op: DiskOp::Write {
                    block: 7,
                    count: 2,
                    data: Payload::zeroes(),
                },
            },
            DiskRequest {
                token: DiskToken::ResyncRead(0),
                op: DiskOp::Read { block: 0, count: 2 },
            },
            DiskRequest {
                token: DiskToken::ResyncRead(2),
                op: DiskOp::Read { block: 2, count: 3 },
            },
        ];
        assert_eq!(run_length(&batch), 2);
        assert_eq!(run_length(&batch[2..]), 1);
        assert_eq!(run_length(&batch[3..]), 2);
        let mut scratch = Vec::new();
        let mut results = Vec::new();
        let mut i = 0;
        while i < batch.len() {
            let n = run_length(&batch[i..]);
            disk.execute_run(&batch[i..i + n], &mut scratch, &mut results);
            i += n;
        }
        let ok: Vec<bool> = results.iter().map(|c| c.result.is_ok()).collect();
        assert_eq!(ok, [true, true, false, true, true]);
        let bytes = std::fs::read(&path).expect("read");
        let filled =
            |from: usize, to: usize, b: u8| bytes[from * 4096..to * 4096].iter().all(|&x| x == b);
        assert!(filled(0, 1, 0x55) && filled(1, 2, 0xa0) && filled(2, 3, 0xa1));
        assert!(filled(3, 4, 0xa2) && filled(4, 6, 0) && filled(6, 8, 0x55));
        let read = |k: usize| match &results[k].result {
            Ok(Some(p)) => p.as_bytes().to_vec(),
            other => panic!("read {k}: {other:?}"),
        };
        assert_eq!(read(3), bytes[..2 * 4096].to_vec());
        assert_eq!(read(4), bytes[2 * 4096..5 * 4096].to_vec());
        let _ = std::fs::remove_file(&path);
    }
}
