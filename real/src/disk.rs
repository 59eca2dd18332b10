//! The backing disk: a dedicated thread doing `pread`/`pwrite`/`fdatasync` on a file or
//! block device, so the event loop never blocks on the disk.
//!
//! The machine's `DiskOp::Write` promises that its completion means the block is on
//! stable storage. The thread takes every request that is waiting, writes them all, calls
//! `fdatasync` once and only then completes the batch: group commit, the way a database
//! amortises one flush over many transactions, without ever completing a write before it
//! is durable.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use model::disk::BLOCK_SIZE;
use model::{DiskCompletion, DiskError, DiskOp, DiskRequest, Payload};

/// Most requests handled before one `fdatasync`: bounds the latency of the first.
const MAX_BATCH: usize = 256;

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
    ) -> std::io::Result<mpsc::Sender<DiskRequest>> {
        let (tx, rx) = mpsc::channel::<DiskRequest>();
        std::thread::Builder::new()
            .name("dualha-disk".into())
            .spawn(move || self.run(rx, done))?;
        Ok(tx)
    }

    fn run(self, rx: mpsc::Receiver<DiskRequest>, done: impl Fn(Vec<DiskCompletion>) -> bool) {
        let mut zero = vec![0u8; BLOCK_SIZE as usize];
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => break,
                }
            }
            let mut results: Vec<DiskCompletion> = batch
                .iter()
                .map(|r| DiskCompletion {
                    token: r.token,
                    result: self.execute(&r.op, &mut zero),
                })
                .collect();
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

    fn execute(&self, op: &DiskOp, zero: &mut [u8]) -> Result<Option<Payload>, DiskError> {
        let at = |block: u64| {
            block
                .checked_mul(BLOCK_SIZE)
                .filter(|_| block < self.blocks)
        };
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
        for r in reqs {
            tx.send(r).expect("send");
        }
        let mut got = Vec::new();
        while got.len() < 2 {
            got.extend(rt.block_on(done_rx.recv()).expect("completions"));
        }
        assert_eq!(got[0].result, Ok(None));
        assert_eq!(got[1].result, Err(DiskError::Io), "past the end");
        let bytes = std::fs::read(&path).expect("read");
        assert!(bytes[2 * 4096..3 * 4096].iter().all(|&b| b == 0xab));
        assert!(bytes[..2 * 4096].iter().all(|&b| b == 0));
        tx.send(DiskRequest {
            token: DiskToken::ResyncRead(2),
            op: DiskOp::Read { block: 2 },
        })
        .expect("send");
        let read = rt.block_on(done_rx.recv()).expect("completion");
        assert_eq!(read[0].result, Ok(Some(Payload::new(&block))));
        let _ = std::fs::remove_file(&path);
    }
}
