//! An NBD server that exports one block device (the replicated disk of this node).
//!
//! The daemon exports its replicated device over the Network Block Device protocol
//! (`doc/proto.md` of the NBD project) so that an unmodified client (the Linux kernel's
//! `nbd` driver, qemu, libnbd) can put a file system on it. Only the Primary may serve
//! the export, and a node changes role at run time, so the device says on every
//! negotiation whether it can be served now ([`BlockDevice::unavailable`]).
//!
//! What is spoken: the fixed newstyle handshake (`NBD_OPT_EXPORT_NAME`, `NBD_OPT_ABORT`,
//! `NBD_OPT_LIST`, `NBD_OPT_INFO`, `NBD_OPT_GO`; every other option is answered with
//! `NBD_REP_ERR_UNSUP`, which every client must accept), then simple replies only
//! (structured replies, metadata contexts and extended headers are optional and add
//! nothing a block device needs). Requests of one connection run concurrently and are
//! answered as they complete; see [`server`] for the limits that keep a client from
//! exhausting the daemon's memory.
//!
//! Layout: [`proto`] is the pure wire format (encode, decode, request checks);
//! `handshake` is option haggling; `transmission` is the request loop; [`server`] is the
//! accept loop and the per-connection driver.

use std::future::Future;
use std::time::Duration;

mod handshake;
pub mod proto;
pub mod server;
mod transmission;

pub use server::{NbdSessionError, serve, serve_connection};

/// Why an NBD request failed, as the errno the protocol carries.
///
/// These are exactly the values the protocol defines (`NBD_EPERM` ... `NBD_ESHUTDOWN`);
/// a device maps its own failures onto them, so a client never sees a host-specific
/// errno.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NbdError {
    /// `NBD_EPERM` (1): the operation is not permitted (e.g. a write to a read-only export).
    #[error("operation not permitted (EPERM)")]
    Perm,
    /// `NBD_EIO` (5): the device failed.
    #[error("input/output error (EIO)")]
    Io,
    /// `NBD_ENOMEM` (12): the server could not allocate memory; the protocol asks
    /// servers to avoid it.
    #[error("cannot allocate memory (ENOMEM)")]
    NoMem,
    /// `NBD_EINVAL` (22): a bad request (out of bounds read or trim, bad length, unknown
    /// command or flag).
    #[error("invalid argument (EINVAL)")]
    Inval,
    /// `NBD_ENOSPC` (28): a write past the end of the export.
    #[error("no space left on device (ENOSPC)")]
    NoSpc,
    /// `NBD_EOVERFLOW` (75): a request too large to serve.
    #[error("value too large (EOVERFLOW)")]
    Overflow,
    /// `NBD_ENOTSUP` (95): the operation is not supported.
    #[error("operation not supported (EOPNOTSUPP)")]
    NotSup,
    /// `NBD_ESHUTDOWN` (108): the server is going away (e.g. this node stopped being
    /// Primary); the client must disconnect.
    #[error("server is shutting down (ESHUTDOWN)")]
    Shutdown,
}

impl NbdError {
    /// The value carried in the error field of a reply.
    pub fn errno(self) -> u32 {
        match self {
            NbdError::Perm => 1,
            NbdError::Io => 5,
            NbdError::NoMem => 12,
            NbdError::Inval => 22,
            NbdError::NoSpc => 28,
            NbdError::Overflow => 75,
            NbdError::NotSup => 95,
            NbdError::Shutdown => 108,
        }
    }
}

/// What the server exports. Offsets and lengths are in bytes and may be unaligned (the
/// server advertises a minimum block size of 1); bounds are checked by the server
/// before calling, against the size read when the client entered transmission.
///
/// The server never cancels a call once made: a request's future runs to completion
/// even if its connection breaks (it is spawned as its own task), so a device need not
/// be cancel-safe between its first poll and its completion.
pub trait BlockDevice: Clone + Send + Sync + 'static {
    /// The export's size in bytes.
    fn size(&self) -> u64;
    /// `Some(reason)` when the export cannot be served now (e.g. "this node is
    /// Secondary"); checked at `NBD_OPT_GO` / `NBD_OPT_INFO` / `NBD_OPT_EXPORT_NAME` and
    /// `NBD_OPT_LIST`. The reason is shown to the client's user.
    fn unavailable(&self) -> Option<String>;
    /// Reads `len` bytes at `offset`; the result must be exactly `len` bytes long.
    fn read(&self, offset: u64, len: u32)
    -> impl Future<Output = Result<Vec<u8>, NbdError>> + Send;
    /// Writes `data` at `offset`. `fua`: durable before the reply.
    fn write(
        &self,
        offset: u64,
        data: Vec<u8>,
        fua: bool,
    ) -> impl Future<Output = Result<(), NbdError>> + Send;
    /// Makes every write that has completed so far durable.
    fn flush(&self) -> impl Future<Output = Result<(), NbdError>> + Send;
    /// A hint that `len` bytes at `offset` are no longer needed; their content is
    /// unspecified afterwards.
    fn trim(&self, offset: u64, len: u32) -> impl Future<Output = Result<(), NbdError>> + Send;
}

/// The server's settings: the export's name (clients asking for another name get
/// `NBD_REP_ERR_UNKNOWN`; the empty name means the default export, which is this one),
/// a description, a cap on connections and a handshake deadline.
#[derive(Clone)]
pub struct NbdExport<D: BlockDevice> {
    /// The export's name, as clients give it (`nbd://host:port/NAME`); the protocol
    /// limits strings to 4096 bytes and clients such as libnbd refuse longer ones.
    pub name: String,
    /// A human-readable description, sent in `NBD_OPT_LIST` and `NBD_INFO_DESCRIPTION`.
    pub description: String,
    /// The device behind the export.
    pub device: D,
    /// At most this many connections at once (each may hold up to
    /// [`server::BYTES_IN_FLIGHT`] bytes of request data); [`serve`] closes the ones over
    /// the cap at once.
    pub max_connections: usize,
    /// A client that has not entered transmission after this long is dropped, so idle
    /// sockets cannot hold the connection slots.
    pub handshake_timeout: Duration,
}

impl<D: BlockDevice> NbdExport<D> {
    /// An export named `name` of `device`, with no description, at most 16 connections
    /// and a 10 s handshake deadline.
    pub fn new(name: impl Into<String>, device: D) -> Self {
        NbdExport {
            name: name.into(),
            description: String::new(),
            device,
            max_connections: 16,
            handshake_timeout: Duration::from_secs(10),
        }
    }

    /// Whether a client asking for `requested` means this export.
    fn matches(&self, requested: &[u8]) -> bool {
        requested.is_empty() || requested == self.name.as_bytes()
    }
}

impl<D: BlockDevice> std::fmt::Debug for NbdExport<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NbdExport")
            .field("name", &self.name)
            .field("description", &self.description)
            .field("max_connections", &self.max_connections)
            .field("handshake_timeout", &self.handshake_timeout)
            .finish_non_exhaustive()
    }
}
