//! The accept loop and the driver of one connection.
//!
//! Limits, so that no client can exhaust the daemon: at most
//! [`NbdExport::max_connections`](super::NbdExport) connections; a handshake deadline;
//! option data of at most [`proto::MAX_OPTION_DATA`] bytes; per connection at most
//! [`MAX_IN_FLIGHT`] requests and [`BYTES_IN_FLIGHT`] bytes of request and reply data in
//! flight; writes of more than [`proto::MAX_PAYLOAD`] bytes end the connection before
//! their payload is read. A broken or hostile connection ends that connection only.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use super::handshake::{self, Outcome};
use super::{BlockDevice, NbdExport, proto, transmission};

/// Requests of one connection being served at once; more wait (unread) in the socket.
pub const MAX_IN_FLIGHT: usize = 64;

/// Bytes of read and write data one connection may hold at once: two maximal requests,
/// so a 32 MiB request never waits for itself.
pub const BYTES_IN_FLIGHT: usize = 2 * proto::MAX_PAYLOAD as usize;

/// Why a connection ended other than by the client's clean disconnect.
#[derive(Debug, thiserror::Error)]
pub enum NbdSessionError {
    /// Reading from or writing to the peer failed (including the peer hanging up in the
    /// middle of a message).
    #[error("connection error: {0}")]
    Io(#[from] io::Error),
    /// The client did not reach the transmission phase in time.
    #[error("handshake not finished within {0:?}")]
    HandshakeTimeout(Duration),
    /// The client set flags this server does not know (the protocol says to drop it).
    #[error("unknown client flags {0:#x}")]
    ClientFlags(u32),
    /// An option request did not start with `IHAVEOPT`.
    #[error("bad option magic {0:#018x}")]
    OptionMagic(u64),
    /// An option claimed more data than any option of ours needs.
    #[error("option {option} claims {len} bytes of data (cap {cap})", cap = proto::MAX_OPTION_DATA)]
    OptionTooLong {
        /// The option.
        option: u32,
        /// The length it claimed.
        len: u32,
    },
    /// `NBD_OPT_EXPORT_NAME` named an unknown export or the device is unavailable; that
    /// option cannot carry an error, so the protocol requires hanging up.
    #[error("export refused: {0}")]
    ExportRefused(String),
    /// A request did not start with `NBD_REQUEST_MAGIC`: the stream cannot be trusted.
    #[error("bad request magic {0:#010x}")]
    RequestMagic(u32),
    /// A write claimed more than [`proto::MAX_PAYLOAD`] bytes.
    #[error("write of {0} bytes exceeds the maximum payload")]
    PayloadTooLarge(u32),
}

/// Accept loop on a bound listener; one task per connection; runs until aborted.
///
/// Aborting the returned future (or the task running it) also aborts the connection
/// tasks: their sockets close once device calls already started have finished.
/// Connections over [`NbdExport::max_connections`] are closed at once. Errors of a
/// connection are logged and end that connection only. Returns an error only if the
/// listening socket itself is unusable.
pub async fn serve<D: BlockDevice>(listener: TcpListener, export: NbdExport<D>) -> io::Result<()> {
    let export = Arc::new(export);
    let slots = Arc::new(Semaphore::new(export.max_connections));
    let mut connections = JoinSet::new();
    info!(name = %export.name, addr = ?listener.local_addr().ok(), "nbd server listening");
    loop {
        while let Some(done) = connections.try_join_next() {
            if let Err(e) = done {
                warn!("nbd connection task failed: {e}");
            }
        }
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) if listener_is_broken(&e) => return Err(e),
            Err(e) => {
                // Out of descriptors or memory, or a connection reset before accept:
                // back off a little and go on.
                warn!("nbd accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            warn!(%peer, max = export.max_connections, "nbd connection refused: too many connections");
            drop(stream);
            continue;
        };
        // Replies are small and latency-bound: do not let Nagle hold them back.
        if let Err(e) = stream.set_nodelay(true) {
            debug!(%peer, "nbd set_nodelay failed: {e}");
        }
        let export = Arc::clone(&export);
        connections.spawn(async move {
            let _slot = slot;
            debug!(%peer, "nbd connection accepted");
            match serve_connection(stream, export).await {
                Ok(()) => debug!(%peer, "nbd connection closed"),
                Err(e) => warn!(%peer, "nbd connection ended: {e}"),
            }
        });
    }
}

/// Whether an accept error means the listening socket itself is unusable (bad
/// descriptor, not a socket, not listening), as opposed to a transient condition.
fn listener_is_broken(e: &io::Error) -> bool {
    // EBADF, EINVAL, ENOTSOCK, EOPNOTSUPP on Linux.
    matches!(e.raw_os_error(), Some(9 | 22 | 88 | 95))
}

/// Serves one connection (so tests and a Unix-socket variant can call it on any
/// `AsyncRead + AsyncWrite`): the handshake, then transmission until the client
/// disconnects.
///
/// `Ok(())` when the client ended the session cleanly (`NBD_OPT_ABORT`, `NBD_CMD_DISC`,
/// or closing the socket between messages); otherwise why the connection was dropped.
/// The handshake must finish within [`NbdExport::handshake_timeout`].
pub async fn serve_connection<D, S>(
    stream: S,
    export: Arc<NbdExport<D>>,
) -> Result<(), NbdSessionError>
where
    D: BlockDevice,
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (rd, mut wr) = tokio::io::split(stream);
    let mut rd = BufReader::new(rd);
    let deadline = export.handshake_timeout;
    let outcome = tokio::time::timeout(deadline, handshake::negotiate(&mut rd, &mut wr, &export))
        .await
        .map_err(|_| NbdSessionError::HandshakeTimeout(deadline))??;
    match outcome {
        Outcome::Closed => Ok(()),
        Outcome::Transmission { size } => {
            debug!(size, "nbd client entered transmission");
            transmission::run(&mut rd, wr, export.device.clone(), size).await
        }
    }
}
