//! Requests a machine makes of its local disk, and their completions.
//!
//! The disk is the driver's: the harness keeps blocks in memory with a latency, the
//! simulator models throughput, the daemon calls `pwrite`/`pread`/`fdatasync` on a backing
//! file. A request carries a [`DiskToken`] that its completion echoes back, so the machine
//! knows what finished without keeping a table of its own.

use core::fmt;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::{ReadId, WriteId};

/// A block number. Blocks are 4 KiB, DRBD's bitmap granularity (src: UG84, one bitmap bit
/// per 4 KiB block).
pub type BlockNo = u64;

/// Bytes per block (src: UG84 internals, bitmap granularity).
pub const BLOCK_SIZE: u64 = 4096;

/// The content of a write of one block or of a run of consecutive blocks.
///
/// A run of `count` blocks is their bytes one after the other; an empty payload stands
/// for zeroes (of every block of the run), and a payload shorter than the run is padded
/// with zeroes ([`Payload::block`] gives one block of a run). The checker and the
/// simulator write single blocks with 8-byte payloads made with [`Payload::from_u64`],
/// naming the write; the daemon writes whole blocks, a client request's run at once.
///
/// Shared and sliceable (`bytes::Bytes`), so a write fanned out to the local disk and the
/// peer is not copied, and a client's buffer becomes a payload without a copy.
///
/// Serialized as bytes, not as a sequence of numbers: the same encoding in postcard (a
/// length, then the bytes), but copied in one go instead of visited byte by byte, which
/// was half of a replica's CPU time on the daemon's replication link.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Payload(Bytes);

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
        Ok(Payload::from_vec(v))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Payload, A::Error> {
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(BLOCK_SIZE as usize));
        while let Some(b) = seq.next_element::<u8>()? {
            bytes.push(b);
        }
        Ok(Payload::from_vec(bytes))
    }
}

impl Payload {
    /// A payload of arbitrary bytes.
    pub fn new(bytes: &[u8]) -> Payload {
        Payload(Bytes::copy_from_slice(bytes))
    }

    /// A payload of the bytes of `v`, without copying them.
    pub fn from_vec(v: Vec<u8>) -> Payload {
        Payload(Bytes::from(v))
    }

    /// The bytes as a vector: without a copy when nothing else shares them (a read's
    /// buffer on its way to the client).
    pub fn into_vec(self) -> Vec<u8> {
        Vec::from(self.0)
    }

    /// The bytes `start..end` (clamped to the payload), sharing them without a copy.
    pub fn slice(&self, start: usize, end: usize) -> Payload {
        let end = end.min(self.0.len());
        Payload(self.0.slice(start.min(end)..end))
    }

    /// Block `i` of a run this payload holds: the payload itself for a single block
    /// (`count` = 1), otherwise bytes `i * BLOCK_SIZE` onwards, at most a block (shorter
    /// or empty where the payload ends early: the rest is zeroes).
    pub fn block(&self, i: u32, count: u32) -> Payload {
        if count <= 1 {
            return self.clone();
        }
        let bs = BLOCK_SIZE as usize;
        let start = (i as usize).saturating_mul(bs);
        self.slice(start, start.saturating_add(bs))
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
        Payload(Bytes::new())
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
    /// A write replicated from the peer: its id, first block and number of blocks.
    PeerWrite(WriteId, BlockNo, u32),
    /// A sync source reading a dirty block to send it.
    ResyncRead(BlockNo),
    /// A sync target writing a block it received.
    ResyncWrite(BlockNo),
}

/// One disk operation, on a run of `count` consecutive blocks from `block` (1 for the
/// checker's and the simulator's writes; a client request's run in the daemon).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DiskOp {
    /// Write the run (durably: the completion means it is on stable storage).
    Write {
        /// The first block.
        block: BlockNo,
        /// How many blocks.
        count: u32,
        /// Their new content (see [`Payload`] for runs).
        data: Payload,
    },
    /// Read the run.
    Read {
        /// The first block.
        block: BlockNo,
        /// How many blocks.
        count: u32,
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
    /// For a read, the run's content (`None`: zeroes; see [`Payload`] for runs); for a
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
