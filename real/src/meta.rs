//! Crash-safe replica metadata: the generation identifiers, flags and out-of-sync bitmap
//! that the machine asks to keep with `Effect::Persist`.
//!
//! The file holds a header (magic, format version, sequence number, length, CRC-32) and
//! the postcard encoding of the metadata. An update writes a new file beside the old one,
//! `fsync`s it, renames it over the old one and `fsync`s the directory, so after a power
//! loss at any instant the file is either the old or the new version, never a mix
//! (the rename is atomic on POSIX file systems). A file that does not verify makes the
//! node refuse to start with a message naming the file and what is wrong: silently
//! starting from fresh metadata would turn good data into a full-sync target or, worse,
//! a source.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use model::replication::ReplicaMeta;
use serde::{Deserialize, Serialize};

const MAGIC: [u8; 8] = *b"DHAMETA1";
const HEADER_LEN: usize = 8 + 4 + 8 + 4 + 4;
/// Larger files are refused unread: the bitmap is kept as runs and stays small.
const MAX_META: u64 = 64 << 20;

/// What the file says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredMeta {
    /// Created by `create-md` and never used: the replica starts Inconsistent with fresh
    /// generation identifiers.
    Fresh,
    /// The last metadata the replica persisted.
    Replica(ReplicaMeta),
}

/// Why the metadata cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    /// There is no metadata: the operator has to create it first, as with
    /// `drbdadm create-md`.
    #[error("{0}: no metadata; run `dualha-node create-md --config FILE` first")]
    Missing(PathBuf),
    /// The file exists but is not valid metadata.
    #[error(
        "{path}: corrupt metadata ({what}); refusing to start. Restore it, or run `dualha-node create-md --force` to start over with a full sync"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The metadata file of one replica.
#[derive(Debug)]
pub struct MetaStore {
    path: PathBuf,
    seq: u64,
}

impl MetaStore {
    /// Opens the store and reads what it holds.
    pub fn open(path: &Path) -> Result<(MetaStore, StoredMeta), MetaError> {
        let io = |source| MetaError::Io {
            path: path.to_path_buf(),
            source,
        };
        let len = match fs::metadata(path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(MetaError::Missing(path.to_path_buf()));
            }
            Err(e) => return Err(io(e)),
        };
        let corrupt = |what: String| MetaError::Corrupt {
            path: path.to_path_buf(),
            what,
        };
        if len > MAX_META {
            return Err(corrupt(format!(
                "{len} bytes, more than the limit of {MAX_META}"
            )));
        }
        let bytes = fs::read(path).map_err(io)?;
        let (seq, meta) = decode(&bytes).map_err(corrupt)?;
        Ok((
            MetaStore {
                path: path.to_path_buf(),
                seq,
            },
            meta,
        ))
    }

    /// Creates (or with `force` overwrites) the store with `meta`.
    pub fn create(path: &Path, meta: &StoredMeta, force: bool) -> Result<MetaStore, MetaError> {
        if !force && path.exists() {
            return Err(MetaError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "metadata exists; use --force to overwrite it (the next connection then does a full sync)",
                ),
            });
        }
        let mut store = MetaStore {
            path: path.to_path_buf(),
            seq: 0,
        };
        store.write(meta)?;
        Ok(store)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Durably replaces the stored metadata: it is on disk when this returns.
    pub fn write(&mut self, meta: &StoredMeta) -> Result<(), MetaError> {
        let io = |source| MetaError::Io {
            path: self.path.clone(),
            source,
        };
        self.seq += 1;
        let bytes = encode(self.seq, meta);
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".new");
        let tmp = PathBuf::from(tmp);
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(io)?;
        f.write_all(&bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
        drop(f);
        fs::rename(&tmp, &self.path).map_err(io)?;
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        File::open(&dir).and_then(|d| d.sync_all()).map_err(io)?;
        Ok(())
    }
}

fn encode(seq: u64, meta: &StoredMeta) -> Vec<u8> {
    let body = postcard::to_stdvec(meta).expect("metadata always encodes");
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&1u32.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&crc32fast::hash(&body).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

fn decode(bytes: &[u8]) -> Result<(u64, StoredMeta), String> {
    if bytes.len() < HEADER_LEN {
        return Err(format!(
            "{} bytes, shorter than the {HEADER_LEN}-byte header",
            bytes.len()
        ));
    }
    if bytes[..8] != MAGIC {
        return Err("not a dualha metadata file (bad magic)".to_string());
    }
    let word =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let version = word(8);
    if version != 1 {
        return Err(format!("format version {version}, this node reads 1"));
    }
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&bytes[12..20]);
    let seq = u64::from_be_bytes(seq);
    let len = word(20) as usize;
    let crc = word(24);
    let body = &bytes[HEADER_LEN..];
    if body.len() != len {
        return Err(format!(
            "length {len} in the header, {} bytes follow (truncated?)",
            body.len()
        ));
    }
    let found = crc32fast::hash(body);
    if found != crc {
        return Err(format!(
            "checksum mismatch (header {crc:08x}, content {found:08x})"
        ));
    }
    let meta = postcard::from_bytes(body).map_err(|e| format!("content does not decode: {e}"))?;
    Ok((seq, meta))
}

#[cfg(test)]
mod tests {
    use model::NodeId;
    use model::replication::{Replica, ReplicaConfig};

    use super::*;

    fn sample() -> StoredMeta {
        let r = Replica::restart(ReplicaConfig::new(NodeId(0), NodeId(1), 64), None);
        StoredMeta::Replica(r.meta())
    }

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("dualha-meta-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).expect("temp dir");
        d
    }

    #[test]
    fn written_metadata_reads_back_and_replaces_the_old() {
        let d = dir("roundtrip");
        let path = d.join("r0.meta");
        assert!(matches!(MetaStore::open(&path), Err(MetaError::Missing(_))));
        let mut s = MetaStore::create(&path, &StoredMeta::Fresh, false).expect("create");
        assert!(
            MetaStore::create(&path, &StoredMeta::Fresh, false).is_err(),
            "no silent overwrite"
        );
        s.write(&sample()).expect("write");
        let (s2, m) = MetaStore::open(&path).expect("open");
        assert_eq!(m, sample());
        assert_eq!(s2.seq, 2);
        assert!(!d.join("r0.meta.new").exists());
    }

    #[test]
    fn every_corruption_is_refused_with_the_file_named() {
        let d = dir("corrupt");
        let path = d.join("r0.meta");
        MetaStore::create(&path, &sample(), false).expect("create");
        let good = fs::read(&path).expect("read");
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", Vec::new()),
            ("truncated", good[..good.len() - 3].to_vec()),
            ("magic", [b"XXXXXXXX".as_slice(), &good[8..]].concat()),
            ("flipped", {
                let mut b = good.clone();
                let last = b.len() - 1;
                b[last] ^= 0x40;
                b
            }),
        ];
        for (name, bytes) in cases {
            fs::write(&path, &bytes).expect("write");
            match MetaStore::open(&path) {
                Err(e @ MetaError::Corrupt { .. }) => {
                    assert!(e.to_string().contains("r0.meta"), "{name}: {e}");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_crash_between_write_and_rename_leaves_the_old_version() {
        let d = dir("crash");
        let path = d.join("r0.meta");
        MetaStore::create(&path, &sample(), false).expect("create");
        // A half-written replacement, as a kill -9 before the rename leaves it.
        fs::write(d.join("r0.meta.new"), b"DHAMETA1 half").expect("write");
        let (_, m) = MetaStore::open(&path).expect("old version intact");
        assert_eq!(m, sample());
    }
}
