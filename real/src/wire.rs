//! How the guests' messages travel: framed over the replication TCP connection and as
//! authenticated datagrams on the Heartbeat rings.
//!
//! Pure encoding and decoding, no I/O, so the parsers can be fed any bytes in tests.
//!
//! * A **stream frame** is a 16-byte header (magic `DHA1`, version, reserved, payload
//!   length, CRC-32 of the payload) and a postcard-encoded [`WireMsg`]. A bad magic,
//!   version or checksum, an oversized length or a payload that does not decode is an
//!   error: the connection is closed, as DRBD drops a connection on a bad packet.
//! * A **ring datagram** carries one [`GuestMsg`] with the sender's id and an
//!   HMAC-SHA256 tag over the whole datagram, as Heartbeat signs every packet with the
//!   key in `authkeys` (src: heartbeat `authkeys(5)`).

use hmac::{Hmac, Mac};
use model::guest::GuestMsg;
use model::replication::{AfterSb0Pri, AfterSb1Pri, AfterSb2Pri, Protocol, RrConflict};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::replay::RingStamp;

type HmacSha256 = Hmac<Sha256>;

/// The stream magic.
const STREAM_MAGIC: [u8; 4] = *b"DHA1";
/// The datagram magic.
const RING_MAGIC: [u8; 4] = *b"DHB1";
/// The ring datagram version: 2 added the incarnation and sequence number.
pub const RING_VERSION: u8 = 2;
/// Bytes of a ring datagram's header: magic, version, zero, sender, incarnation, seq.
const RING_HEADER: usize = 4 + 1 + 1 + 2 + 8 + 8;
/// The wire version; a peer speaking another is refused. 2: a replicated write (`Data`)
/// carries a run of blocks (first block, count, their bytes) instead of one block.
pub const WIRE_VERSION: u8 = 2;
/// Bytes of a stream frame's header.
pub const HEADER_LEN: usize = 16;
/// The largest payload accepted: a handshake carries the whole out-of-sync bitmap, and a
/// bitmap of runs stays far below this for any device; more is an attack or a bug.
pub const MAX_FRAME: usize = 16 << 20;
/// The largest datagram sent or accepted on a ring.
pub const MAX_DATAGRAM: usize = 8192;
/// Bytes of a ring datagram's tag.
const TAG_LEN: usize = 32;

/// What the replication connection carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireMsg {
    /// First message of each side: who it is, a fresh challenge and the settings both
    /// sides must agree on (DRBD refuses a peer with another protocol or other
    /// after-split-brain policies).
    Hello {
        /// The sender's node id.
        node: u16,
        /// A random challenge for the peer to sign.
        nonce: [u8; 32],
        /// The settings to compare.
        settings: Agreement,
    },
    /// The answer to the peer's challenge: HMAC-SHA256 over it (DRBD's
    /// `cram-hmac-alg`/`shared-secret`).
    Proof {
        /// The tag.
        mac: Vec<u8>,
    },
    /// The sender refuses the connection, and says why.
    Refused {
        /// A readable reason.
        reason: String,
    },
    /// A guest message, once both sides are authenticated.
    Guest(GuestMsg),
}

/// The settings two peers must share.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreement {
    /// Replication protocol.
    pub protocol: Protocol,
    /// after-sb-0pri.
    pub after_sb_0pri: AfterSb0Pri,
    /// after-sb-1pri.
    pub after_sb_1pri: AfterSb1Pri,
    /// after-sb-2pri.
    pub after_sb_2pri: AfterSb2Pri,
    /// rr-conflict.
    pub rr_conflict: RrConflict,
    /// allow-two-primaries.
    pub allow_two_primaries: bool,
    /// Device size in blocks: replicas of different sizes cannot mirror each other.
    pub blocks: u64,
}

impl Agreement {
    /// The first difference between this node's settings and the peer's, named as in
    /// the configuration file.
    pub fn difference(&self, peer: &Agreement) -> Option<String> {
        let pairs = [
            (
                "drbd.protocol",
                format!("{:?}", self.protocol),
                format!("{:?}", peer.protocol),
            ),
            (
                "drbd.after-sb-0pri",
                format!("{:?}", self.after_sb_0pri),
                format!("{:?}", peer.after_sb_0pri),
            ),
            (
                "drbd.after-sb-1pri",
                format!("{:?}", self.after_sb_1pri),
                format!("{:?}", peer.after_sb_1pri),
            ),
            (
                "drbd.after-sb-2pri",
                format!("{:?}", self.after_sb_2pri),
                format!("{:?}", peer.after_sb_2pri),
            ),
            (
                "drbd.rr-conflict",
                format!("{:?}", self.rr_conflict),
                format!("{:?}", peer.rr_conflict),
            ),
            (
                "allow-two-primaries",
                self.allow_two_primaries.to_string(),
                peer.allow_two_primaries.to_string(),
            ),
            (
                "device size (blocks)",
                self.blocks.to_string(),
                peer.blocks.to_string(),
            ),
        ];
        pairs
            .into_iter()
            .find(|(_, mine, theirs)| mine != theirs)
            .map(|(key, mine, theirs)| format!("{key} differs: here {mine}, peer {theirs}"))
    }
}

/// Why bytes from the peer were refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The header's magic is wrong: not a dualha peer, or the stream lost its framing.
    #[error("bad magic {0:02x?}")]
    BadMagic([u8; 4]),
    /// The peer speaks another wire version.
    #[error("wire version {0}, this node speaks {WIRE_VERSION}")]
    Version(u8),
    /// The announced payload is larger than any valid message.
    #[error("frame of {0} bytes exceeds the limit of {MAX_FRAME}")]
    TooLong(usize),
    /// The payload's checksum does not match.
    #[error("checksum mismatch (header {expected:08x}, payload {found:08x})")]
    Checksum {
        /// The header's.
        expected: u32,
        /// The payload's.
        found: u32,
    },
    /// The payload is not a valid message.
    #[error("undecodable payload: {0}")]
    Decode(String),
    /// A datagram is too short or too long.
    #[error("datagram of {0} bytes")]
    DatagramSize(usize),
    /// A datagram's tag does not verify: wrong key or forged.
    #[error("datagram signature does not verify (wrong shared secret?)")]
    BadTag,
}

/// Encodes one stream frame.
pub fn encode_frame(msg: &WireMsg) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::new();
    encode_frame_into(msg, &mut out)?;
    Ok(out)
}

/// Appends one stream frame to `out`: the message is encoded in place after room for
/// the header, so a block's bytes are copied once, not three times. On an error `out`
/// is as it was.
pub fn encode_frame_into(msg: &WireMsg, out: &mut Vec<u8>) -> Result<(), WireError> {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER_LEN]);
    if let Err(e) = postcard::to_extend(msg, Append(out)) {
        out.truncate(start);
        return Err(WireError::Decode(e.to_string()));
    }
    let len = out.len() - start - HEADER_LEN;
    if len > MAX_FRAME {
        out.truncate(start);
        return Err(WireError::TooLong(len));
    }
    let crc = crc32fast::hash(&out[start + HEADER_LEN..]);
    let header = &mut out[start..start + HEADER_LEN];
    header[..4].copy_from_slice(&STREAM_MAGIC);
    header[4] = WIRE_VERSION;
    header[8..12].copy_from_slice(&(len as u32).to_be_bytes());
    header[12..16].copy_from_slice(&crc.to_be_bytes());
    Ok(())
}

/// Lets postcard append to a borrowed vector (a slice's bytes are appended as one copy).
struct Append<'a>(&'a mut Vec<u8>);

impl Extend<u8> for Append<'_> {
    fn extend<I: IntoIterator<Item = u8>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

/// A parsed header: how many payload bytes follow and their checksum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Payload length.
    pub len: usize,
    /// CRC-32 of the payload.
    pub crc: u32,
}

/// Parses a header, refusing it before any payload is read if it cannot be valid.
pub fn decode_header(h: &[u8; HEADER_LEN]) -> Result<FrameHeader, WireError> {
    let magic = [h[0], h[1], h[2], h[3]];
    if magic != STREAM_MAGIC {
        return Err(WireError::BadMagic(magic));
    }
    if h[4] != WIRE_VERSION {
        return Err(WireError::Version(h[4]));
    }
    let len = u32::from_be_bytes([h[8], h[9], h[10], h[11]]) as usize;
    if len > MAX_FRAME {
        return Err(WireError::TooLong(len));
    }
    let crc = u32::from_be_bytes([h[12], h[13], h[14], h[15]]);
    Ok(FrameHeader { len, crc })
}

/// Checks and decodes a frame's payload.
pub fn decode_payload(header: FrameHeader, payload: &[u8]) -> Result<WireMsg, WireError> {
    let found = crc32fast::hash(payload);
    if found != header.crc {
        return Err(WireError::Checksum {
            expected: header.crc,
            found,
        });
    }
    postcard::from_bytes(payload).map_err(|e| WireError::Decode(e.to_string()))
}

/// The proof of knowing `secret` for `nonce`, bound to the prover's node id so a proof
/// cannot be reflected back at its sender.
pub fn prove(secret: &[u8], nonce: &[u8; 32], prover: u16) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(b"dualha-auth-v1");
    mac.update(nonce);
    mac.update(&prover.to_be_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Checks a proof in constant time.
pub fn verify_proof(secret: &[u8], nonce: &[u8; 32], prover: u16, proof: &[u8]) -> bool {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(b"dualha-auth-v1");
    mac.update(nonce);
    mac.update(&prover.to_be_bytes());
    mac.verify_slice(proof).is_ok()
}

/// Encodes one ring datagram from `sender` with its replay stamp.
pub fn encode_datagram(
    secret: &[u8],
    sender: u16,
    stamp: RingStamp,
    msg: &GuestMsg,
) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(&RING_MAGIC);
    out.push(RING_VERSION);
    out.push(0);
    out.extend_from_slice(&sender.to_be_bytes());
    out.extend_from_slice(&stamp.incarnation.to_be_bytes());
    out.extend_from_slice(&stamp.seq.to_be_bytes());
    let body = postcard::to_stdvec(msg).map_err(|e| WireError::Decode(e.to_string()))?;
    out.extend_from_slice(&body);
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(&out);
    out.extend_from_slice(&mac.finalize().into_bytes());
    if out.len() > MAX_DATAGRAM {
        return Err(WireError::DatagramSize(out.len()));
    }
    Ok(out)
}

/// Verifies and decodes a ring datagram: the sender, its stamp and its message. The
/// stamp is authenticated with the rest; whether it is fresh is the receiver's
/// [`crate::replay::ReplayWindow`]'s to say.
pub fn decode_datagram(
    secret: &[u8],
    bytes: &[u8],
) -> Result<(u16, RingStamp, GuestMsg), WireError> {
    if bytes.len() < RING_HEADER + TAG_LEN || bytes.len() > MAX_DATAGRAM {
        return Err(WireError::DatagramSize(bytes.len()));
    }
    let (signed, tag) = bytes.split_at(bytes.len() - TAG_LEN);
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(signed);
    mac.verify_slice(tag).map_err(|_| WireError::BadTag)?;
    let magic = [signed[0], signed[1], signed[2], signed[3]];
    if magic != RING_MAGIC {
        return Err(WireError::BadMagic(magic));
    }
    if signed[4] != RING_VERSION {
        return Err(WireError::Version(signed[4]));
    }
    let sender = u16::from_be_bytes([signed[6], signed[7]]);
    let word = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&signed[at..at + 8]);
        u64::from_be_bytes(b)
    };
    let stamp = RingStamp {
        incarnation: word(8),
        seq: word(16),
    };
    let msg = postcard::from_bytes(&signed[RING_HEADER..])
        .map_err(|e| WireError::Decode(e.to_string()))?;
    Ok((sender, stamp, msg))
}

#[cfg(test)]
mod tests {
    use model::replication::ReplicaMsg;

    use super::*;

    fn guest_msg() -> GuestMsg {
        GuestMsg::Replica(ReplicaMsg::QuorumPong {
            vote: true,
            promote_ok: false,
            peer_outdated: true,
        })
    }

    fn roundtrip(msg: &WireMsg) -> Result<WireMsg, WireError> {
        let bytes = encode_frame(msg)?;
        let header: [u8; HEADER_LEN] = bytes[..HEADER_LEN].try_into().expect("header");
        let h = decode_header(&header)?;
        decode_payload(h, &bytes[HEADER_LEN..])
    }

    #[test]
    fn frames_appended_to_one_buffer_decode_one_after_the_other() {
        let first = WireMsg::Guest(guest_msg());
        let second = WireMsg::Refused {
            reason: "second".into(),
        };
        let mut buf = b"earlier".to_vec();
        encode_frame_into(&first, &mut buf).expect("encodes");
        encode_frame_into(&second, &mut buf).expect("encodes");
        assert_eq!(&buf[..7], b"earlier");
        assert_eq!(
            buf[7..7 + encode_frame(&first).expect("encodes").len()],
            encode_frame(&first).expect("encodes")[..]
        );
        let mut rest = &buf[7..];
        for want in [first, second] {
            let header: [u8; HEADER_LEN] = rest[..HEADER_LEN].try_into().expect("header");
            let h = decode_header(&header).expect("header");
            let body = &rest[HEADER_LEN..HEADER_LEN + h.len];
            assert_eq!(decode_payload(h, body), Ok(want));
            rest = &rest[HEADER_LEN + h.len..];
        }
        assert!(rest.is_empty());
    }

    #[test]
    fn frames_round_trip_and_flipped_bits_are_caught() {
        let msg = WireMsg::Guest(guest_msg());
        assert_eq!(roundtrip(&msg), Ok(msg.clone()));
        let mut bytes = encode_frame(&msg).expect("encodes");
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let header: [u8; HEADER_LEN] = bytes[..HEADER_LEN].try_into().expect("header");
        let h = decode_header(&header).expect("header intact");
        assert!(matches!(
            decode_payload(h, &bytes[HEADER_LEN..]),
            Err(WireError::Checksum { .. })
        ));
    }

    #[test]
    fn a_block_payload_is_its_length_then_its_bytes() {
        // The encoding older nodes used (a sequence of u8) is the same bytes: a node built
        // before `Payload` serialized as bytes still understands a newer one.
        let block: Vec<u8> = (0..4096u32).map(|i| (i % 251) as u8).collect();
        let p = model::Payload::new(&block);
        let as_bytes = postcard::to_stdvec(&p).expect("encodes");
        let as_seq = postcard::to_stdvec(&block).expect("encodes");
        assert_eq!(as_bytes, as_seq);
        assert_eq!(&as_bytes[as_bytes.len() - 4096..], &block[..]);
        let back: model::Payload = postcard::from_bytes(&as_bytes).expect("decodes");
        assert_eq!(back, p);
    }

    #[test]
    fn hostile_headers_are_refused_before_reading_a_payload() {
        let mut h = [0u8; HEADER_LEN];
        assert!(matches!(decode_header(&h), Err(WireError::BadMagic(_))));
        h[..4].copy_from_slice(&STREAM_MAGIC);
        h[4] = 9;
        assert_eq!(decode_header(&h), Err(WireError::Version(9)));
        h[4] = WIRE_VERSION;
        h[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(decode_header(&h), Err(WireError::TooLong(_))));
        // A valid header over garbage that happens to match its checksum still fails to
        // decode, without panicking.
        let garbage = [0xffu8; 7];
        let header = FrameHeader {
            len: garbage.len(),
            crc: crc32fast::hash(&garbage),
        };
        assert!(matches!(
            decode_payload(header, &garbage),
            Err(WireError::Decode(_))
        ));
    }

    #[test]
    fn proofs_need_the_secret_the_nonce_and_the_prover() {
        let nonce = [7u8; 32];
        let p = prove(b"secret-one", &nonce, 1);
        assert!(verify_proof(b"secret-one", &nonce, 1, &p));
        assert!(!verify_proof(b"secret-two", &nonce, 1, &p));
        assert!(!verify_proof(b"secret-one", &[8u8; 32], 1, &p));
        assert!(
            !verify_proof(b"secret-one", &nonce, 0, &p),
            "a reflected proof"
        );
    }

    #[test]
    fn datagrams_are_signed() {
        let stamp = RingStamp {
            incarnation: 7,
            seq: 42,
        };
        let d = encode_datagram(b"secret-one", 1, stamp, &guest_msg()).expect("encodes");
        assert_eq!(
            decode_datagram(b"secret-one", &d),
            Ok((1, stamp, guest_msg()))
        );
        let mut restamped = d.clone();
        restamped[23] ^= 1;
        assert_eq!(
            decode_datagram(b"secret-one", &restamped),
            Err(WireError::BadTag),
            "the stamp is signed: a replay cannot renumber a datagram"
        );
        assert_eq!(decode_datagram(b"secret-two", &d), Err(WireError::BadTag));
        let mut forged = d.clone();
        forged[7] ^= 1;
        assert_eq!(
            decode_datagram(b"secret-one", &forged),
            Err(WireError::BadTag)
        );
        assert!(decode_datagram(b"secret-one", &d[..10]).is_err());
    }

    #[test]
    fn agreement_names_the_first_difference() {
        let a = Agreement {
            protocol: Protocol::C,
            after_sb_0pri: AfterSb0Pri::Disconnect,
            after_sb_1pri: AfterSb1Pri::Disconnect,
            after_sb_2pri: AfterSb2Pri::Disconnect,
            rr_conflict: RrConflict::Disconnect,
            allow_two_primaries: false,
            blocks: 10,
        };
        assert_eq!(a.difference(&a), None);
        let b = Agreement {
            protocol: Protocol::A,
            ..a
        };
        assert_eq!(
            a.difference(&b).as_deref(),
            Some("drbd.protocol differs: here C, peer A")
        );
    }
}
