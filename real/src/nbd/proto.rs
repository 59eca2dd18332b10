//! The NBD wire format: constants, encoders and decoders, and the checks a request must
//! pass before it reaches the device. Pure (no I/O), so it is unit-tested byte by byte.
//!
//! All integers are big-endian. Names follow the protocol document.

use super::NbdError;

/// `NBDMAGIC`, first word of the server's greeting.
pub const NBDMAGIC: u64 = 0x4e42_444d_4147_4943;
/// `IHAVEOPT`, second word of the greeting and the magic of every option request.
pub const IHAVEOPT: u64 = 0x4948_4156_454f_5054;
/// Magic of every option reply.
pub const OPTION_REPLY_MAGIC: u64 = 0x0003_e889_0455_65a9;
/// `NBD_REQUEST_MAGIC`.
pub const REQUEST_MAGIC: u32 = 0x2560_9513;
/// `NBD_SIMPLE_REPLY_MAGIC`.
pub const SIMPLE_REPLY_MAGIC: u32 = 0x6744_6698;

/// Handshake flag `NBD_FLAG_FIXED_NEWSTYLE`.
pub const FLAG_FIXED_NEWSTYLE: u16 = 1 << 0;
/// Handshake flag `NBD_FLAG_NO_ZEROES`.
pub const FLAG_NO_ZEROES: u16 = 1 << 1;
/// The handshake flags this server sends.
pub const HANDSHAKE_FLAGS: u16 = FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES;
/// Client flag `NBD_FLAG_C_FIXED_NEWSTYLE`.
pub const CLIENT_FIXED_NEWSTYLE: u32 = 1 << 0;
/// Client flag `NBD_FLAG_C_NO_ZEROES`.
pub const CLIENT_NO_ZEROES: u32 = 1 << 1;

/// `NBD_OPT_EXPORT_NAME`.
pub const OPT_EXPORT_NAME: u32 = 1;
/// `NBD_OPT_ABORT`.
pub const OPT_ABORT: u32 = 2;
/// `NBD_OPT_LIST`.
pub const OPT_LIST: u32 = 3;
/// `NBD_OPT_INFO`.
pub const OPT_INFO: u32 = 6;
/// `NBD_OPT_GO`.
pub const OPT_GO: u32 = 7;
/// `NBD_OPT_STRUCTURED_REPLY` (answered with `NBD_REP_ERR_UNSUP`).
pub const OPT_STRUCTURED_REPLY: u32 = 8;

/// `NBD_REP_ACK`.
pub const REP_ACK: u32 = 1;
/// `NBD_REP_SERVER`.
pub const REP_SERVER: u32 = 2;
/// `NBD_REP_INFO`.
pub const REP_INFO: u32 = 3;
/// `NBD_REP_ERR_UNSUP`.
pub const REP_ERR_UNSUP: u32 = (1 << 31) + 1;
/// `NBD_REP_ERR_INVALID`.
pub const REP_ERR_INVALID: u32 = (1 << 31) + 3;
/// `NBD_REP_ERR_UNKNOWN`.
pub const REP_ERR_UNKNOWN: u32 = (1 << 31) + 6;

/// `NBD_INFO_EXPORT`.
pub const INFO_EXPORT: u16 = 0;
/// `NBD_INFO_NAME`.
pub const INFO_NAME: u16 = 1;
/// `NBD_INFO_DESCRIPTION`.
pub const INFO_DESCRIPTION: u16 = 2;
/// `NBD_INFO_BLOCK_SIZE`.
pub const INFO_BLOCK_SIZE: u16 = 3;

/// Transmission flag `NBD_FLAG_HAS_FLAGS`.
pub const TFLAG_HAS_FLAGS: u16 = 1 << 0;
/// Transmission flag `NBD_FLAG_SEND_FLUSH`.
pub const TFLAG_SEND_FLUSH: u16 = 1 << 2;
/// Transmission flag `NBD_FLAG_SEND_FUA`.
pub const TFLAG_SEND_FUA: u16 = 1 << 3;
/// Transmission flag `NBD_FLAG_SEND_TRIM`.
pub const TFLAG_SEND_TRIM: u16 = 1 << 5;
/// Transmission flag `NBD_FLAG_SEND_WRITE_ZEROES`.
pub const TFLAG_SEND_WRITE_ZEROES: u16 = 1 << 6;
/// The transmission flags of the export. No `NBD_FLAG_CAN_MULTI_CONN`: it promises that a
/// flush on one connection covers writes completed on every other, which depends on the
/// device and is not promised by [`super::BlockDevice`].
pub const TRANSMISSION_FLAGS: u16 =
    TFLAG_HAS_FLAGS | TFLAG_SEND_FLUSH | TFLAG_SEND_FUA | TFLAG_SEND_TRIM | TFLAG_SEND_WRITE_ZEROES;

/// Command flag `NBD_CMD_FLAG_FUA`.
pub const CMD_FLAG_FUA: u16 = 1 << 0;
/// Command flag `NBD_CMD_FLAG_NO_HOLE`.
pub const CMD_FLAG_NO_HOLE: u16 = 1 << 1;

/// Advertised minimum block size: any byte is addressable.
pub const MIN_BLOCK: u32 = 1;
/// Advertised preferred block size.
pub const PREFERRED_BLOCK: u32 = 4096;
/// Advertised maximum payload of a read or write (32 MiB, the size every client
/// accepts); a write claiming more ends the connection.
pub const MAX_PAYLOAD: u32 = 32 << 20;
/// Option data over this size ends the connection: no option of ours needs more than a
/// name (at most 4096 bytes) and a few words, and the data must be read into memory.
pub const MAX_OPTION_DATA: u32 = 64 << 10;
/// Error strings sent to clients are cut to this many bytes.
pub const MAX_MESSAGE: usize = 1024;
/// Length of a request header.
pub const REQUEST_LEN: usize = 28;

/// The server's greeting: `NBDMAGIC`, `IHAVEOPT`, handshake flags.
pub fn greeting() -> [u8; 18] {
    let mut out = [0u8; 18];
    out[0..8].copy_from_slice(&NBDMAGIC.to_be_bytes());
    out[8..16].copy_from_slice(&IHAVEOPT.to_be_bytes());
    out[16..18].copy_from_slice(&HANDSHAKE_FLAGS.to_be_bytes());
    out
}

/// The client flags this server understands, or `None` if the client set any other bit
/// (the protocol then requires the server to drop the connection).
pub fn parse_client_flags(flags: u32) -> Option<ClientFlags> {
    if flags & !(CLIENT_FIXED_NEWSTYLE | CLIENT_NO_ZEROES) != 0 {
        return None;
    }
    Some(ClientFlags {
        no_zeroes: flags & CLIENT_NO_ZEROES != 0,
    })
}

/// What the client's flags change for the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientFlags {
    /// Omit the 124 zero bytes after `NBD_OPT_EXPORT_NAME`.
    pub no_zeroes: bool,
}

/// The fixed part of an option request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptionHeader {
    /// The option (`NBD_OPT_*`).
    pub option: u32,
    /// Length of the data that follows.
    pub len: u32,
}

impl OptionHeader {
    /// Decodes the 16 header bytes; `Err(magic)` if the magic is not `IHAVEOPT`.
    pub fn decode(bytes: &[u8; 16]) -> Result<OptionHeader, u64> {
        let magic = u64::from_be_bytes(word(bytes, 0));
        if magic != IHAVEOPT {
            return Err(magic);
        }
        Ok(OptionHeader {
            option: u32::from_be_bytes(word(bytes, 8)),
            len: u32::from_be_bytes(word(bytes, 12)),
        })
    }
}

/// An option reply: magic, option, reply type, length, data.
pub fn option_reply(option: u32, reply_type: u32, data: &[u8]) -> Vec<u8> {
    // Every caller's data is bounded (names, info records, cut messages).
    let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(20 + data.len());
    out.extend_from_slice(&OPTION_REPLY_MAGIC.to_be_bytes());
    out.extend_from_slice(&option.to_be_bytes());
    out.extend_from_slice(&reply_type.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(data);
    out
}

/// An error string for a client, cut at a character boundary to [`MAX_MESSAGE`] bytes.
pub fn message(text: &str) -> Vec<u8> {
    let mut end = text.len().min(MAX_MESSAGE);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.as_bytes()[..end].to_vec()
}

/// The data of an `NBD_OPT_INFO` or `NBD_OPT_GO`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InfoRequest {
    /// The export name (empty: the default export).
    pub name: Vec<u8>,
    /// The `NBD_INFO_*` items the client asked for.
    pub items: Vec<u16>,
}

impl InfoRequest {
    /// Decodes the option data; `None` if it is malformed (a name or list that runs past
    /// the data, or trailing bytes), which earns `NBD_REP_ERR_INVALID`.
    pub fn decode(data: &[u8]) -> Option<InfoRequest> {
        let name_len =
            usize::try_from(u32::from_be_bytes(data.get(0..4)?.try_into().ok()?)).ok()?;
        let name_end = 4usize.checked_add(name_len)?;
        let name = data.get(4..name_end)?.to_vec();
        let count = usize::from(u16::from_be_bytes(
            data.get(name_end..name_end + 2)?.try_into().ok()?,
        ));
        let list = data.get(name_end + 2..)?;
        if list.len() != count * 2 {
            return None;
        }
        let items = list
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        Some(InfoRequest { name, items })
    }
}

/// The data of an `NBD_REP_INFO` of type `NBD_INFO_EXPORT`.
pub fn info_export(size: u64, flags: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(12);
    out.extend_from_slice(&INFO_EXPORT.to_be_bytes());
    out.extend_from_slice(&size.to_be_bytes());
    out.extend_from_slice(&flags.to_be_bytes());
    out
}

/// The data of an `NBD_REP_INFO` carrying a string (`NBD_INFO_NAME`,
/// `NBD_INFO_DESCRIPTION`).
pub fn info_string(info: u16, text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + text.len());
    out.extend_from_slice(&info.to_be_bytes());
    out.extend_from_slice(text);
    out
}

/// The data of an `NBD_REP_INFO` of type `NBD_INFO_BLOCK_SIZE` with this server's
/// constraints.
pub fn info_block_size() -> Vec<u8> {
    let mut out = Vec::with_capacity(14);
    out.extend_from_slice(&INFO_BLOCK_SIZE.to_be_bytes());
    out.extend_from_slice(&MIN_BLOCK.to_be_bytes());
    out.extend_from_slice(&PREFERRED_BLOCK.to_be_bytes());
    out.extend_from_slice(&MAX_PAYLOAD.to_be_bytes());
    out
}

/// The data of an `NBD_REP_SERVER`: the name, then the description for humans.
pub fn rep_server(name: &[u8], description: &[u8]) -> Vec<u8> {
    let len = u32::try_from(name.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(4 + name.len() + description.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(name);
    out.extend_from_slice(description);
    out
}

/// The server's answer to an accepted `NBD_OPT_EXPORT_NAME`: size, transmission flags
/// and, unless the client negotiated `NBD_FLAG_C_NO_ZEROES`, 124 zero bytes.
pub fn export_name_reply(size: u64, flags: u16, no_zeroes: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(10 + 124);
    out.extend_from_slice(&size.to_be_bytes());
    out.extend_from_slice(&flags.to_be_bytes());
    if !no_zeroes {
        out.resize(10 + 124, 0);
    }
    out
}

/// A transmission command (`NBD_CMD_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// `NBD_CMD_READ` (0).
    Read,
    /// `NBD_CMD_WRITE` (1): a payload of `len` bytes follows the header.
    Write,
    /// `NBD_CMD_DISC` (2).
    Disc,
    /// `NBD_CMD_FLUSH` (3).
    Flush,
    /// `NBD_CMD_TRIM` (4).
    Trim,
    /// `NBD_CMD_WRITE_ZEROES` (6).
    WriteZeroes,
    /// Anything else (including `NBD_CMD_CACHE` and `NBD_CMD_BLOCK_STATUS`, which this
    /// server does not advertise).
    Other(u16),
}

impl Command {
    /// The command of a request's type field.
    pub fn from_wire(ty: u16) -> Command {
        match ty {
            0 => Command::Read,
            1 => Command::Write,
            2 => Command::Disc,
            3 => Command::Flush,
            4 => Command::Trim,
            6 => Command::WriteZeroes,
            other => Command::Other(other),
        }
    }
}

/// A request header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// Command flags (`NBD_CMD_FLAG_*`).
    pub flags: u16,
    /// The command.
    pub command: Command,
    /// The client's cookie, echoed in the reply.
    pub handle: u64,
    /// Byte offset.
    pub offset: u64,
    /// Byte length (of the payload, for a write).
    pub len: u32,
}

impl Request {
    /// Decodes a request header; `Err(magic)` if the magic is wrong (the stream cannot
    /// be trusted after that, so the connection ends).
    pub fn decode(bytes: &[u8; REQUEST_LEN]) -> Result<Request, u32> {
        let magic = u32::from_be_bytes(word(bytes, 0));
        if magic != REQUEST_MAGIC {
            return Err(magic);
        }
        Ok(Request {
            flags: u16::from_be_bytes(word(bytes, 4)),
            command: Command::from_wire(u16::from_be_bytes(word(bytes, 6))),
            handle: u64::from_be_bytes(word(bytes, 8)),
            offset: u64::from_be_bytes(word(bytes, 16)),
            len: u32::from_be_bytes(word(bytes, 24)),
        })
    }

    /// Whether the client asked for Force Unit Access.
    pub fn fua(&self) -> bool {
        self.flags & CMD_FLAG_FUA != 0
    }
}

/// A simple reply header; a successful read's data follows it.
pub fn simple_reply(error: u32, handle: u64) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[0..4].copy_from_slice(&SIMPLE_REPLY_MAGIC.to_be_bytes());
    out[4..8].copy_from_slice(&error.to_be_bytes());
    out[8..16].copy_from_slice(&handle.to_be_bytes());
    out
}

/// What to do with a request, decided from its header alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Pass it to the device.
    Execute,
    /// Answer with this error (a write's payload is still read and dropped first).
    Reject(NbdError),
    /// Drop the connection: a write payload too large to read into memory or to skip
    /// cheaply (the protocol allows a hard disconnect for it).
    Disconnect,
}

/// Checks a request against the export's size and this server's limits.
///
/// Per the protocol: reads and trims past the end get `NBD_EINVAL`, writes (and write
/// zeroes) past the end `NBD_ENOSPC`; a zero length, an unknown command and a flag not
/// valid for the command `NBD_EINVAL` (`NBD_CMD_FLAG_FUA` is valid on every command once
/// advertised). Reads over [`MAX_PAYLOAD`] get `NBD_EINVAL`. Trims and write zeroes carry
/// no payload and may exceed [`MAX_PAYLOAD`] (the protocol says the server SHOULD NOT
/// refuse them, and qemu and Linux send discards of up to 2-4 GiB); write zeroes are
/// carried out in bounded chunks. The offset and length of a flush are reserved and
/// ignored.
pub fn check(req: &Request, size: u64) -> Verdict {
    if req.command == Command::Write && req.len > MAX_PAYLOAD {
        return Verdict::Disconnect;
    }
    let allowed = match req.command {
        Command::WriteZeroes => CMD_FLAG_FUA | CMD_FLAG_NO_HOLE,
        _ => CMD_FLAG_FUA,
    };
    if req.flags & !allowed != 0 {
        return Verdict::Reject(NbdError::Inval);
    }
    let past_end = req
        .offset
        .checked_add(u64::from(req.len))
        .is_none_or(|end| end > size);
    let (max, beyond) = match req.command {
        Command::Disc | Command::Flush => return Verdict::Execute,
        Command::Other(_) => return Verdict::Reject(NbdError::Inval),
        Command::Read => (MAX_PAYLOAD, NbdError::Inval),
        Command::Write => (MAX_PAYLOAD, NbdError::NoSpc),
        Command::WriteZeroes => (u32::MAX, NbdError::NoSpc),
        Command::Trim => (u32::MAX, NbdError::Inval),
    };
    if req.len == 0 || req.len > max {
        Verdict::Reject(NbdError::Inval)
    } else if past_end {
        Verdict::Reject(beyond)
    } else {
        Verdict::Execute
    }
}

/// `N` bytes of `bytes` from `at`; callers pass constant ranges inside fixed arrays.
fn word<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[at..at + N]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(command: u16, flags: u16, offset: u64, len: u32) -> Request {
        let mut bytes = [0u8; REQUEST_LEN];
        bytes[0..4].copy_from_slice(&REQUEST_MAGIC.to_be_bytes());
        bytes[4..6].copy_from_slice(&flags.to_be_bytes());
        bytes[6..8].copy_from_slice(&command.to_be_bytes());
        bytes[8..16].copy_from_slice(&0x0102_0304_0506_0708u64.to_be_bytes());
        bytes[16..24].copy_from_slice(&offset.to_be_bytes());
        bytes[24..28].copy_from_slice(&len.to_be_bytes());
        Request::decode(&bytes).expect("valid magic")
    }

    #[test]
    fn greeting_is_magic_and_flags() {
        let g = greeting();
        assert_eq!(&g[0..8], b"NBDMAGIC");
        assert_eq!(&g[8..16], b"IHAVEOPT");
        assert_eq!(&g[16..18], &[0, 3]);
    }

    #[test]
    fn client_flags_reject_unknown_bits() {
        assert_eq!(
            parse_client_flags(0),
            Some(ClientFlags { no_zeroes: false })
        );
        assert_eq!(parse_client_flags(3), Some(ClientFlags { no_zeroes: true }));
        assert_eq!(
            parse_client_flags(1),
            Some(ClientFlags { no_zeroes: false })
        );
        assert_eq!(parse_client_flags(4), None);
        assert_eq!(parse_client_flags(0x8000_0001), None);
    }

    #[test]
    fn option_header_decodes_and_checks_magic() {
        let mut bytes = [0u8; 16];
        bytes[0..8].copy_from_slice(b"IHAVEOPT");
        bytes[8..12].copy_from_slice(&7u32.to_be_bytes());
        bytes[12..16].copy_from_slice(&0xffff_ffffu32.to_be_bytes());
        assert_eq!(
            OptionHeader::decode(&bytes),
            Ok(OptionHeader {
                option: 7,
                len: u32::MAX
            })
        );
        bytes[0] = b'X';
        assert!(OptionHeader::decode(&bytes).is_err());
    }

    #[test]
    fn option_reply_layout() {
        let r = option_reply(OPT_LIST, REP_ERR_UNKNOWN, b"no");
        assert_eq!(&r[0..8], &[0, 3, 0xe8, 0x89, 0x04, 0x55, 0x65, 0xa9]);
        assert_eq!(&r[8..12], &[0, 0, 0, 3]);
        assert_eq!(&r[12..16], &[0x80, 0, 0, 6]);
        assert_eq!(&r[16..20], &[0, 0, 0, 2]);
        assert_eq!(&r[20..], b"no");
        assert_eq!(option_reply(OPT_ABORT, REP_ACK, &[]).len(), 20);
    }

    #[test]
    fn message_is_cut_at_a_char_boundary() {
        assert_eq!(message("short"), b"short");
        let long = "é".repeat(MAX_MESSAGE);
        let cut = message(&long);
        assert!(cut.len() <= MAX_MESSAGE && cut.len() >= MAX_MESSAGE - 1);
        assert!(std::str::from_utf8(&cut).is_ok());
    }

    #[test]
    fn info_request_decodes_name_and_items() {
        let mut d = Vec::new();
        d.extend_from_slice(&3u32.to_be_bytes());
        d.extend_from_slice(b"abc");
        d.extend_from_slice(&2u16.to_be_bytes());
        d.extend_from_slice(&INFO_NAME.to_be_bytes());
        d.extend_from_slice(&INFO_BLOCK_SIZE.to_be_bytes());
        let req = InfoRequest::decode(&d).expect("well formed");
        assert_eq!(req.name, b"abc");
        assert_eq!(req.items, vec![INFO_NAME, INFO_BLOCK_SIZE]);
        // Trailing byte, a short list, a name running past the data, nothing at all.
        let mut trailing = d.clone();
        trailing.push(0);
        assert_eq!(InfoRequest::decode(&trailing), None);
        assert_eq!(InfoRequest::decode(&d[..d.len() - 1]), None);
        let mut huge = d.clone();
        huge[0..4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(InfoRequest::decode(&huge), None);
        assert_eq!(InfoRequest::decode(&[]), None);
        let empty = [0, 0, 0, 0, 0, 0];
        assert_eq!(
            InfoRequest::decode(&empty),
            Some(InfoRequest {
                name: vec![],
                items: vec![]
            })
        );
    }

    #[test]
    fn info_replies_have_the_specified_lengths() {
        let e = info_export(0x1122, TRANSMISSION_FLAGS);
        assert_eq!(e.len(), 12);
        assert_eq!(&e[0..2], &[0, 0]);
        assert_eq!(&e[2..10], &0x1122u64.to_be_bytes());
        assert_eq!(&e[10..12], &[0, 0x6d]);
        let b = info_block_size();
        assert_eq!(b.len(), 14);
        assert_eq!(&b[0..2], &[0, 3]);
        assert_eq!(&b[2..6], &1u32.to_be_bytes());
        assert_eq!(&b[6..10], &4096u32.to_be_bytes());
        assert_eq!(&b[10..14], &(32u32 << 20).to_be_bytes());
        assert_eq!(info_string(INFO_NAME, b"x"), vec![0, 1, b'x']);
        assert_eq!(rep_server(b"ab", b"d"), vec![0, 0, 0, 2, b'a', b'b', b'd']);
    }

    #[test]
    fn export_name_reply_honours_no_zeroes() {
        assert_eq!(
            export_name_reply(5, 0x6d, true),
            vec![0, 0, 0, 0, 0, 0, 0, 5, 0, 0x6d]
        );
        let padded = export_name_reply(5, 0x6d, false);
        assert_eq!(padded.len(), 134);
        assert!(padded[10..].iter().all(|&b| b == 0));
    }

    #[test]
    fn request_decodes_and_checks_magic() {
        let r = request(1, CMD_FLAG_FUA, 512, 1000);
        assert_eq!(r.command, Command::Write);
        assert_eq!(r.handle, 0x0102_0304_0506_0708);
        assert_eq!((r.offset, r.len), (512, 1000));
        assert!(r.fua());
        let mut bytes = [0u8; REQUEST_LEN];
        bytes[0..4].copy_from_slice(&SIMPLE_REPLY_MAGIC.to_be_bytes());
        assert_eq!(Request::decode(&bytes), Err(SIMPLE_REPLY_MAGIC));
        assert_eq!(Command::from_wire(5), Command::Other(5));
    }

    #[test]
    fn simple_reply_layout() {
        let r = simple_reply(22, 9);
        assert_eq!(&r[0..4], &[0x67, 0x44, 0x66, 0x98]);
        assert_eq!(&r[4..8], &[0, 0, 0, 22]);
        assert_eq!(&r[8..16], &9u64.to_be_bytes());
    }

    #[test]
    fn checks_bounds_lengths_commands_and_flags() {
        let size = 1 << 20;
        let v = |cmd, flags, off, len| check(&request(cmd, flags, off, len), size);
        // In bounds, unaligned.
        assert_eq!(v(0, 0, 513, 1000), Verdict::Execute);
        assert_eq!(v(1, CMD_FLAG_FUA, size - 1, 1), Verdict::Execute);
        // Past the end: EINVAL for read and trim, ENOSPC for writes; overflowing sums too.
        assert_eq!(v(0, 0, size - 1, 2), Verdict::Reject(NbdError::Inval));
        assert_eq!(v(4, 0, size, 1), Verdict::Reject(NbdError::Inval));
        assert_eq!(v(1, 0, size, 1), Verdict::Reject(NbdError::NoSpc));
        assert_eq!(v(6, 0, u64::MAX, 2), Verdict::Reject(NbdError::NoSpc));
        assert_eq!(v(0, 0, u64::MAX, 1), Verdict::Reject(NbdError::Inval));
        // Zero and oversized lengths.
        assert_eq!(v(0, 0, 0, 0), Verdict::Reject(NbdError::Inval));
        assert_eq!(v(1, 0, 0, 0), Verdict::Reject(NbdError::Inval));
        assert_eq!(
            v(0, 0, 0, MAX_PAYLOAD + 1),
            Verdict::Reject(NbdError::Inval)
        );
        assert_eq!(v(1, 0, 0, MAX_PAYLOAD + 1), Verdict::Disconnect);
        assert_eq!(v(1, 0x8000, 0, 1 << 30), Verdict::Disconnect);
        // Trim and write zeroes may exceed the payload cap (bounds still apply).
        let big = check(&request(4, 0, 0, MAX_PAYLOAD + 1), 1 << 30);
        assert_eq!(big, Verdict::Execute);
        let big = check(&request(6, CMD_FLAG_NO_HOLE, 0, MAX_PAYLOAD + 1), 1 << 30);
        assert_eq!(big, Verdict::Execute);
        // Unknown commands and flags.
        assert_eq!(v(5, 0, 0, 1), Verdict::Reject(NbdError::Inval));
        assert_eq!(v(7, 0, 0, 1), Verdict::Reject(NbdError::Inval));
        assert_eq!(
            v(0, CMD_FLAG_NO_HOLE, 0, 1),
            Verdict::Reject(NbdError::Inval)
        );
        assert_eq!(v(6, 1 << 4, 0, 1), Verdict::Reject(NbdError::Inval));
        assert_eq!(v(1, 1 << 2, 0, 1), Verdict::Reject(NbdError::Inval));
        // FUA is accepted everywhere; flush and disconnect ignore offset and length.
        assert_eq!(v(3, CMD_FLAG_FUA, 7, 7), Verdict::Execute);
        assert_eq!(v(2, 0, 0, 0), Verdict::Execute);
    }
}
