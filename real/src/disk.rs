//! The backing disk: a dedicated thread doing `pread`/`pwrite`/`fdatasync` on a file or
//! block device, so the event loop never blocks on the disk.
//!
//! The machine's `DiskOp::Write` promises that its completion means the block is on
//! stable storage. The thread takes every request that is waiting, writes them all, calls
//! `fdatasync` once and only then completes the batch: group commit, the way a database
//! amortises one flush over many transactions, without ever completing a write before it
//! is durable.
//!
//! The machine speaks in 4 KiB blocks; a 64 KiB client write is 16 of them. The loop hands
//! over everything one input produced as one batch (one wake-up of this thread, not 16),
//! and the thread writes a run of requests for consecutive blocks with one `pwrite` (and
//! reads one with one `pread`): the syscall count follows the client's requests, not the
//! block size.

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
    /// [`run_length`]) with one call, or one by one if that call fails, so an error is
    /// told for the block it belongs to.
    fn execute_run(
        &self,
        run: &[DiskRequest],
        scratch: &mut Vec<u8>,
        results: &mut Vec<DiskCompletion>,
    ) {
        let first = match run.first() {
            Some(r) => r,
            None => return,
        };
        let bs = BLOCK_SIZE as usize;
        let offset = self.offset(block_of(&first.op)).filter(|_| run.len() > 1);
        let last_in_range = self.offset(block_of(&first.op).saturating_add(run.len() as u64 - 1));
        if let (Some(offset), Some(_)) = (offset, last_in_range) {
            scratch.clear();
            match first.op {
                DiskOp::Write { .. } => {
                    for r in run {
                        if let DiskOp::Write { data, .. } = &r.op {
                            let bytes = data.as_bytes();
                            let n = bytes.len().min(bs);
                            scratch.extend_from_slice(&bytes[..n]);
                            scratch.resize(scratch.len() + bs - n, 0);
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
                    scratch.resize(run.len() * bs, 0);
                    if self.file.read_exact_at(scratch, offset).is_ok() {
                        results.extend(run.iter().zip(scratch.chunks_exact(bs)).map(
                            |(r, block)| DiskCompletion {
                                token: r.token,
                                result: Ok(Some(Payload::new(block))),
                            },
                        ));
                        return;
                    }
                }
            }
        }
        // One request, a run reaching past the end, or a run whose call failed.
        scratch.clear();
        scratch.resize(bs, 0);
        results.extend(run.iter().map(|r| DiskCompletion {
            token: r.token,
            result: self.execute(&r.op, scratch),
        }));
    }

    /// The byte offset of `block`, if the disk has it.
    fn offset(&self, block: u64) -> Option<u64> {
        block
            .checked_mul(BLOCK_SIZE)
            .filter(|_| block < self.blocks)
    }

    fn execute(&self, op: &DiskOp, zero: &mut [u8]) -> Result<Option<Payload>, DiskError> {
        let at = |block: u64| self.offset(block);
        match op {
            DiskOp::Write { block, data } => {
                let offset = at(*block).ok_or(DiskError::Io)?;
                let bytes = data.as_bytes();
                let result = if bytes.len() == BLOCK_SIZE as usize {
                    self.file.write_all_at(bytes, offset)
                } else {
                    // Zeroes (an empty payload) or a short payload padded with zeroes.
                    zero.fill(0);
                    let n = bytes.len().min(zero.len());
                    zero[..n].copy_from_slice(&bytes[..n]);
                    self.file.write_all_at(zero, offset)
                };
                result.map(|()| None).map_err(|e| {
                    tracing::error!(disk = %self.path.display(), block, error = %e, "write failed");
                    DiskError::Io
                })
            }
            DiskOp::Read { block } => {
                let offset = at(*block).ok_or(DiskError::Io)?;
                let mut buf = vec![0u8; BLOCK_SIZE as usize];
                self.file
                    .read_exact_at(&mut buf, offset)
                    .map(|()| Some(Payload::new(&buf)))
                    .map_err(|e| {
                        tracing::error!(disk = %self.path.display(), block, error = %e, "read failed");
                        DiskError::Io
                    })
            }
        }
    }
}

fn block_of(op: &DiskOp) -> u64 {
    match op {
        DiskOp::Write { block, .. } | DiskOp::Read { block } => *block,
    }
}

/// How many requests from the front of `reqs` form a run: all writes or all reads, each
/// for the block after the previous one's, at most [`MAX_RUN`]. Consecutive in the batch
/// and in blocks, they never overlap, so one call does what they would one by one.
fn run_length(reqs: &[DiskRequest]) -> usize {
    let Some(first) = reqs.first() else {
        return 0;
    };
    let write = matches!(first.op, DiskOp::Write { .. });
    let mut n = 1;
    while n < reqs.len().min(MAX_RUN) {
        let r = &reqs[n];
        let same_kind = matches!(r.op, DiskOp::Write { .. }) == write;
        if !same_kind || block_of(&r.op) != block_of(&first.op).wrapping_add(n as u64) {
            break;
        }
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
                    data: Payload::new(&block),
                },
            },
            DiskRequest {
                token: DiskToken::AppWrite(WriteId(2)),
                op: DiskOp::Write {
                    block: 9,
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
            op: DiskOp::Read { block: 2 },
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
                op: DiskOp::Read { block: 5 },
            },
            DiskRequest {
                token: DiskToken::ResyncRead(6),
                op: DiskOp::Read { block: 6 },
            },
            DiskRequest {
                token: DiskToken::ResyncRead(7),
                op: DiskOp::Read { block: 7 },
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
}
