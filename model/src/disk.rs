//! Requests a machine makes of its local disk, and their completions.
//!
//! The disk is the driver's: the harness keeps blocks in memory with a latency, the
//! simulator models throughput, the daemon calls `pwrite`/`pread`/`fdatasync` on a backing
//! file. A request carries a [`DiskToken`] that its completion echoes back, so the machine
//! knows what finished without keeping a table of its own.

use core::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::{ReadId, WriteId};

/// A block number. Blocks are 4 KiB, DRBD's bitmap granularity (src: UG84, one bitmap bit
/// per 4 KiB block).
pub type BlockNo = u64;

/// Bytes per block (src: UG84 internals, bitmap granularity).
pub const BLOCK_SIZE: u64 = 4096;

/// The content of one block write. An empty payload stands for a block of zeroes.
///
/// Shared (`Arc`), so a write fanned out to the local disk and the peer is not copied.
/// The checker and the simulator use 8-byte payloads made with [`Payload::from_u64`],
/// naming the write; the daemon uses whole blocks.
///
/// Serialized as bytes, not as a sequence of numbers: the same encoding in postcard (a
/// length, then the bytes), but copied in one go instead of visited byte by byte, which
/// was half of a replica's CPU time on the daemon's replication link.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Payload(Arc<[u8]>);

impl Serialize for Payload {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Payload, D::Error> {
        d.deserialize_byte_buf(PayloadVisitor)
    }
}

/// Accepts bytes (postcard, bincode) and a sequence of numbers (JSON, TOML).
struct PayloadVisitor;

impl<'de> serde::de::Visitor<'de> for PayloadVisitor {
    type Value = Payload;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the bytes of a block")
    }

    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Payload, E> {
        Ok(Payload::new(v))
    }

    fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Payload, E> {
        Ok(Payload(Arc::from(v)))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Payload, A::Error> {
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(BLOCK_SIZE as usize));
        while let Some(b) = seq.next_element::<u8>()? {
            bytes.push(b);
        }
        Ok(Payload(Arc::from(bytes)))
    }
}

impl Payload {
    /// A payload of arbitrary bytes.
    pub fn new(bytes: &[u8]) -> Payload {
        Payload(Arc::from(bytes))
    }

    /// An 8-byte payload naming a value, e.g. a write number.
    pub fn from_u64(value: u64) -> Payload {
        Payload::new(&value.to_le_bytes())
    }

    /// The value of an 8-byte payload made by [`Payload::from_u64`], or `None` for any other.
    pub fn as_u64(&self) -> Option<u64> {
        <[u8; 8]>::try_from(&self.0[..])
            .ok()
            .map(u64::from_le_bytes)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// A block of zeroes, written as an empty payload (what a never-written block holds).
    pub fn zeroes() -> Payload {
        Payload::new(&[])
    }

    /// True for [`Payload::zeroes`].
    pub fn is_zeroes(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_u64() {
            Some(v) => write!(f, "Payload({v})"),
            None => write!(f, "Payload({} bytes)", self.0.len()),
        }
    }
}

/// What a disk request is for; echoed back in its [`DiskCompletion`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DiskToken {
    /// The local half of an application write.
    AppWrite(WriteId),
    /// An application read.
    AppRead(ReadId),
    /// A write replicated from the peer.
    PeerWrite(WriteId, BlockNo),
    /// A sync source reading a dirty block to send it.
    ResyncRead(BlockNo),
    /// A sync target writing a block it received.
    ResyncWrite(BlockNo),
}

/// One disk operation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DiskOp {
    /// Write one block (durably: the completion means it is on stable storage).
    Write {
        /// Which block.
        block: BlockNo,
        /// Its new content.
        data: Payload,
    },
    /// Read one block.
    Read {
        /// Which block.
        block: BlockNo,
    },
}

/// A request to the local disk.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DiskRequest {
    /// Echoed back in the completion.
    pub token: DiskToken,
    /// What to do.
    pub op: DiskOp,
}

/// Why a disk request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
pub enum DiskError {
    /// The device returned an I/O error (a failed disk).
    #[error("I/O error on the backing device")]
    Io,
}

/// A finished disk request.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DiskCompletion {
    /// The request's token.
    pub token: DiskToken,
    /// For a read, the block's content (`None`: never written, i.e. zeroes); for a
    /// write, `None`.
    pub result: Result<Option<Payload>, DiskError>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u64_payloads_round_trip_and_others_do_not() {
        assert_eq!(Payload::from_u64(42).as_u64(), Some(42));
        assert_eq!(Payload::new(b"abc").as_u64(), None);
        assert_eq!(format!("{:?}", Payload::new(b"abc")), "Payload(3 bytes)");
    }

    #[test]
    fn payloads_round_trip_through_text_formats_as_numbers() {
        let p = Payload::new(&[1, 2, 255]);
        let json = serde_json::to_string(&p).expect("serialize");
        assert_eq!(json, "[1,2,255]");
        assert_eq!(serde_json::from_str::<Payload>(&json).expect("parse"), p);
        assert!(
            serde_json::from_str::<Payload>("[1,256]").is_err(),
            "not a byte"
        );
    }
}
