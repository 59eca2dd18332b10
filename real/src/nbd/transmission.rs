//! The transmission phase: requests are read in order, run concurrently on the device,
//! and answered as they complete.
//!
//! Shape: this task reads request headers (and write payloads); each request that
//! reaches the device is spawned as its own task; one writer task owns the socket's
//! write half and writes the replies it receives on a channel, so reply frames never
//! interleave. Memory is bounded before anything is read into it: a request takes one of
//! [`MAX_IN_FLIGHT`] request permits and, for a read or write, as many byte permits as
//! its data (of [`BYTES_IN_FLIGHT`]); both are released when its reply has been written.
//! A client that stops reading replies therefore stalls its own requests, not the
//! server's memory.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter,
};
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::{debug, error};

use super::proto::{self, Command, Request, Verdict};
use super::server::{BYTES_IN_FLIGHT, MAX_IN_FLIGHT, NbdSessionError};
use super::{BlockDevice, NbdError};

/// `NBD_CMD_WRITE_ZEROES` is carried out as writes of at most this many zero bytes, so a
/// request for gigabytes needs a bounded buffer.
const ZERO_CHUNK: u32 = 1 << 20;

/// After `NBD_CMD_DISC`, replies still owed are written for at most this long; a client
/// that never reads them must not hold the connection (and its slot) forever.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the transmission phase until the client disconnects (`Ok`) or breaks the
/// protocol or the connection (`Err`). `size` is the size the client was told.
pub(super) async fn run<R, W, D>(
    rd: &mut R,
    wr: W,
    device: D,
    size: u64,
) -> Result<(), NbdSessionError>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
    D: BlockDevice,
{
    let (tx, rx) = mpsc::unbounded_channel();
    let mut writer = tokio::spawn(write_replies(wr, rx));
    let limits = Limits {
        requests: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        bytes: Arc::new(Semaphore::new(BYTES_IN_FLIGHT)),
    };
    let ended = tokio::select! {
        ended = read_requests(rd, &tx, &device, size, &limits) => ended,
        // The writer stops only on a write error (or when every sender is gone, which
        // cannot happen while `tx` lives): its result says what broke.
        () = tx.closed() => match (&mut writer).await {
            Ok(Err(e)) => Err(e.into()),
            Ok(Ok(())) => Err(io::Error::other("reply writer stopped").into()),
            Err(join) => Err(io::Error::other(join).into()),
        },
    };
    drop(tx);
    match ended {
        Ok(()) => match tokio::time::timeout(DRAIN_TIMEOUT, &mut writer).await {
            Ok(Ok(result)) => result.map_err(Into::into),
            Ok(Err(join)) => Err(io::Error::other(join).into()),
            Err(_) => {
                writer.abort();
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "client did not read the last replies",
                )
                .into())
            }
        },
        Err(e) => {
            // A hard disconnect: in-flight device calls still complete (they are their own
            // tasks), but nobody waits to tell the client.
            writer.abort();
            Err(e)
        }
    }
}

/// The two budgets of one connection.
struct Limits {
    requests: Arc<Semaphore>,
    bytes: Arc<Semaphore>,
}

/// Reads requests until `NBD_CMD_DISC` or a clean end of stream (`Ok`), or a protocol or
/// I/O error.
async fn read_requests<R, D>(
    rd: &mut R,
    tx: &UnboundedSender<Reply>,
    device: &D,
    size: u64,
    limits: &Limits,
) -> Result<(), NbdSessionError>
where
    R: AsyncBufRead + Unpin,
    D: BlockDevice,
{
    loop {
        if rd.fill_buf().await?.is_empty() {
            debug!("nbd client closed the connection without NBD_CMD_DISC");
            return Ok(());
        }
        let mut header = [0u8; proto::REQUEST_LEN];
        rd.read_exact(&mut header).await?;
        let req = Request::decode(&header).map_err(NbdSessionError::RequestMagic)?;
        if req.command == Command::Disc {
            debug!("nbd client sent NBD_CMD_DISC");
            return Ok(());
        }
        let rejection = match proto::check(&req, size) {
            Verdict::Execute => None,
            Verdict::Reject(e) => Some(e),
            Verdict::Disconnect => return Err(NbdSessionError::PayloadTooLarge(req.len)),
        };
        let cost = match (rejection, req.command) {
            (None, Command::Read | Command::Write) => req.len,
            (None, Command::WriteZeroes) => req.len.min(ZERO_CHUNK),
            _ => 0,
        };
        // Take the permits before reading a payload into memory.
        let request = limits
            .requests
            .clone()
            .acquire_owned()
            .await
            .map_err(io::Error::other)?;
        let bytes = match cost {
            0 => None,
            n => Some(
                limits
                    .bytes
                    .clone()
                    .acquire_many_owned(n)
                    .await
                    .map_err(io::Error::other)?,
            ),
        };
        let pending = Pending {
            tx: tx.clone(),
            handle: req.handle,
            permits: Some(Permits {
                _request: request,
                _bytes: bytes,
            }),
        };
        let payload = match (req.command, rejection) {
            (Command::Write, None) => {
                let mut data = vec![0u8; req.len as usize];
                rd.read_exact(&mut data).await?;
                Some(data)
            }
            (Command::Write, _) => {
                skip(rd, req.len).await?;
                None
            }
            _ => None,
        };
        match rejection {
            None => {
                tokio::spawn(execute(device.clone(), req, payload, pending));
            }
            Some(e) => {
                debug!(?req, error = %e, "nbd request rejected");
                pending.send(Err(e));
            }
        }
    }
}

/// Reads and drops `len` bytes: the payload of a write that is refused.
async fn skip<R: AsyncBufRead + Unpin>(rd: &mut R, len: u32) -> io::Result<()> {
    let copied =
        tokio::io::copy(&mut (&mut *rd).take(u64::from(len)), &mut tokio::io::sink()).await?;
    if copied < u64::from(len) {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(())
}

/// Runs one checked request on the device and sends its reply.
async fn execute<D: BlockDevice>(
    device: D,
    req: Request,
    payload: Option<Vec<u8>>,
    pending: Pending,
) {
    let done = |r: Result<(), NbdError>| r.map(|()| Vec::new());
    let result = match req.command {
        Command::Read => match device.read(req.offset, req.len).await {
            Ok(data) if data.len() == req.len as usize => Ok(data),
            Ok(data) => {
                // Sending it would desynchronise the stream: the client expects `len` bytes.
                error!(
                    expected = req.len,
                    got = data.len(),
                    "nbd device read returned the wrong length"
                );
                Err(NbdError::Io)
            }
            Err(e) => Err(e),
        },
        Command::Write => match payload {
            Some(data) => done(device.write(req.offset, data, req.fua()).await),
            None => Err(NbdError::Inval),
        },
        Command::Flush => done(device.flush().await),
        Command::Trim => {
            let trimmed = device.trim(req.offset, req.len).await;
            // The device's trim has no FUA; a flush after it gives the same guarantee.
            match trimmed {
                Ok(()) if req.fua() => done(device.flush().await),
                other => done(other),
            }
        }
        Command::WriteZeroes => done(write_zeroes(&device, req.offset, req.len, req.fua()).await),
        Command::Disc | Command::Other(_) => Err(NbdError::Inval),
    };
    if let Err(e) = result {
        debug!(?req, error = %e, "nbd request failed on the device");
    }
    pending.send(result);
}

/// `NBD_CMD_WRITE_ZEROES` as writes of zeroes, in chunks of at most [`ZERO_CHUNK`].
/// `NBD_CMD_FLAG_NO_HOLE` needs nothing: writing zeroes never makes a hole.
async fn write_zeroes<D: BlockDevice>(
    device: &D,
    offset: u64,
    len: u32,
    fua: bool,
) -> Result<(), NbdError> {
    let mut done = 0u32;
    while done < len {
        let n = (len - done).min(ZERO_CHUNK);
        device
            .write(offset + u64::from(done), vec![0u8; n as usize], fua)
            .await?;
        done += n;
    }
    Ok(())
}

/// A reply ready to be written; its permits are released once it is.
struct Reply {
    handle: u64,
    error: u32,
    data: Vec<u8>,
    _permits: Permits,
}

/// The budget a request holds until its reply is written.
struct Permits {
    _request: OwnedSemaphorePermit,
    _bytes: Option<OwnedSemaphorePermit>,
}

/// A reply owed to the client. If dropped unsent (the device panicked, or the runtime
/// cancelled the task) it answers `NBD_EIO`, so the client never waits forever for a
/// cookie.
struct Pending {
    tx: UnboundedSender<Reply>,
    handle: u64,
    permits: Option<Permits>,
}

impl Pending {
    /// Sends the reply; a successful read carries its data.
    fn send(mut self, result: Result<Vec<u8>, NbdError>) {
        let (error, data) = match result {
            Ok(data) => (0, data),
            Err(e) => (e.errno(), Vec::new()),
        };
        self.push(error, data);
    }

    fn push(&mut self, error: u32, data: Vec<u8>) {
        if let Some(permits) = self.permits.take() {
            // The writer is gone only if the connection is: nobody to tell.
            let _ = self.tx.send(Reply {
                handle: self.handle,
                error,
                data,
                _permits: permits,
            });
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.push(NbdError::Io.errno(), Vec::new());
    }
}

/// Writes replies in the order they complete, batching those that are ready before a
/// flush; shuts the write side down when every sender is gone.
async fn write_replies<W: AsyncWrite + Unpin>(
    wr: W,
    mut rx: UnboundedReceiver<Reply>,
) -> io::Result<()> {
    let mut wr = BufWriter::with_capacity(256 << 10, wr);
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(reply) = next {
            wr.write_all(&proto::simple_reply(reply.error, reply.handle))
                .await?;
            wr.write_all(&reply.data).await?;
            drop(reply);
            next = rx.try_recv().ok();
        }
        wr.flush().await?;
    }
    wr.shutdown().await
}
