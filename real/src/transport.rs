//! The node's links: the replication connection over TCP and the Heartbeat rings over UDP.
//!
//! The replication connection is authenticated before it carries anything: both sides
//! send a [`WireMsg::Hello`] with a fresh challenge and the settings they must agree on,
//! answer the peer's challenge with an HMAC of the shared secret, and check the peer's
//! answer (DRBD's `cram-hmac-alg` + `shared-secret`). The node with the lower id dials,
//! the other accepts; a newer connection replaces an older one, as DRBD does when a
//! peer reconnects. Garbage, truncated or oversized frames close that connection with a
//! log line; the node keeps running, and the machine notices the silence by its own
//! timers (ping-timeout), as DRBD would after a lost connection.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use model::NodeId;
use model::guest::GuestMsg;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc::{self, UnboundedSender};

use crate::event::Event;
use crate::replay::{self, ReplayWindow, RingStamp};
use crate::wire::{
    self, Agreement, HEADER_LEN, MAX_DATAGRAM, WireError, WireMsg, decode_header, decode_payload,
};

/// How long the authentication exchange may take.
const AUTH_TIMEOUT: Duration = Duration::from_secs(5);

/// What both ends of the replication connection need to know.
#[derive(Clone, Debug)]
pub struct LinkParams {
    /// This node.
    pub me: NodeId,
    /// The peer.
    pub peer: NodeId,
    /// The shared secret.
    pub secret: Arc<Vec<u8>>,
    /// The settings the peer must share.
    pub agreement: Agreement,
    /// Where the peer listens.
    pub peer_addr: SocketAddr,
    /// Pause between two connection attempts (DRBD's `connect-int`).
    pub connect_int: Duration,
}

/// Why a connection was not accepted.
#[derive(Debug, thiserror::Error)]
enum LinkError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Wire(#[from] WireError),
    #[error("authentication timed out")]
    Timeout,
    #[error("{0}")]
    Refused(String),
}

/// Runs the replication link for ever: listen, dial (lower id), authenticate, and pump
/// frames both ways, telling the driver when a connection is up or down.
pub async fn run_replication(
    listener: TcpListener,
    params: LinkParams,
    events: UnboundedSender<Event>,
) -> std::io::Result<()> {
    let generation = Arc::new(AtomicU64::new(0));
    if params.me < params.peer {
        let (p, e, g) = (params.clone(), events.clone(), generation.clone());
        tokio::spawn(async move { dial_loop(p, e, g).await });
    }
    loop {
        let (stream, from) = listener.accept().await?;
        let (p, e, g) = (params.clone(), events.clone(), generation.clone());
        tokio::spawn(async move {
            if let Err(err) = connection(stream, &p, &e, &g).await {
                tracing::warn!(target: "dualha::link", "replication connection from {from}: {err}");
            }
        });
    }
}

async fn dial_loop(params: LinkParams, events: UnboundedSender<Event>, generation: Arc<AtomicU64>) {
    let mut last_error = String::new();
    loop {
        match TcpStream::connect(params.peer_addr).await {
            Ok(stream) => match connection(stream, &params, &events, &generation).await {
                Ok(()) => last_error.clear(),
                Err(e) => {
                    let text = e.to_string();
                    if text != last_error {
                        tracing::warn!(target: "dualha::link", "replication connection to {}: {text}", params.peer_addr);
                        last_error = text;
                    }
                }
            },
            Err(e) => {
                let text = e.to_string();
                if text != last_error {
                    tracing::debug!(target: "dualha::link", "connecting to {}: {text}", params.peer_addr);
                    last_error = text;
                }
            }
        }
        tokio::time::sleep(params.connect_int).await;
    }
}

fn nonce() -> [u8; 32] {
    use std::io::Read;
    let mut n = [0u8; 32];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom")
        && f.read_exact(&mut n).is_ok()
    {
        return n;
    }
    // Without /dev/urandom: the time and pid still make the challenge unique per attempt.
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    n[..16].copy_from_slice(&t.to_le_bytes());
    n[16..20].copy_from_slice(&std::process::id().to_le_bytes());
    n
}

async fn read_frame<R: AsyncReadExt + Unpin>(r: &mut R) -> Result<Option<WireMsg>, LinkError> {
    let mut header = [0u8; HEADER_LEN];
    match r.read_exact(&mut header).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let h = decode_header(&header)?;
    let mut payload = vec![0u8; h.len];
    r.read_exact(&mut payload).await?;
    Ok(Some(decode_payload(h, &payload)?))
}

/// Frames gathered for one write to the replication socket, at most (a little more: the
/// last frame is whole).
const SEND_BATCH_BYTES: usize = 1 << 20;

/// Most messages handed to the loop as one event.
const MAX_RECV_BATCH: usize = 256;

/// Whether `buf` starts with a whole frame (or a header bad enough that reading it fails
/// at once): reading it then needs no wait on the socket.
fn whole_frame_buffered(buf: &[u8]) -> bool {
    let Some(header) = buf.get(..HEADER_LEN) else {
        return false;
    };
    let header: [u8; HEADER_LEN] = match header.try_into() {
        Ok(h) => h,
        Err(_) => return false,
    };
    match decode_header(&header) {
        Ok(h) => buf.len() - HEADER_LEN >= h.len,
        Err(_) => true,
    }
}

async fn write_frame<W: AsyncWriteExt + Unpin>(w: &mut W, msg: &WireMsg) -> Result<(), LinkError> {
    w.write_all(&wire::encode_frame(msg)?).await?;
    Ok(())
}

/// Tells the peer why its connection is refused (best effort: it may be gone already)
/// and returns the refusal for this side's log.
async fn refuse<W: AsyncWriteExt + Unpin>(write: &mut W, why: String) -> LinkError {
    let _ = write_frame(
        write,
        &WireMsg::Refused {
            reason: why.clone(),
        },
    )
    .await;
    let _ = write.flush().await;
    LinkError::Refused(why)
}

/// Authenticates one connection and, if it passes, pumps it until it breaks.
async fn connection(
    stream: TcpStream,
    p: &LinkParams,
    events: &UnboundedSender<Event>,
    generation: &AtomicU64,
) -> Result<(), LinkError> {
    stream.set_nodelay(true)?;
    let (read, write) = stream.into_split();
    // Buffered both ways: a resync or a burst of writes is thousands of small frames.
    let mut read = BufReader::with_capacity(256 << 10, read);
    let mut write = BufWriter::with_capacity(256 << 10, write);
    let my_nonce = nonce();
    let hello = WireMsg::Hello {
        node: p.me.0,
        nonce: my_nonce,
        settings: p.agreement,
    };
    let auth = async {
        write_frame(&mut write, &hello).await?;
        write.flush().await?;
        let Some(WireMsg::Hello {
            node,
            nonce,
            settings,
        }) = read_frame(&mut read).await?
        else {
            return Err(LinkError::Refused(
                "the peer did not start with a hello".into(),
            ));
        };
        if node != p.peer.0 {
            let why = format!("the peer says it is node {node}, expected {}", p.peer.0);
            return Err(refuse(&mut write, why).await);
        }
        write_frame(
            &mut write,
            &WireMsg::Proof {
                mac: wire::prove(&p.secret, &nonce, p.me.0),
            },
        )
        .await?;
        write.flush().await?;
        match read_frame(&mut read).await? {
            Some(WireMsg::Proof { mac })
                if wire::verify_proof(&p.secret, &my_nonce, node, &mac) => {}
            Some(WireMsg::Proof { .. }) => {
                let why = "the peer's answer to the challenge is wrong: shared-secret differs"
                    .to_string();
                return Err(refuse(&mut write, why).await);
            }
            Some(WireMsg::Refused { reason }) => {
                return Err(LinkError::Refused(format!("the peer refused: {reason}")));
            }
            _ => {
                return Err(LinkError::Refused(
                    "the peer did not answer the challenge".into(),
                ));
            }
        }
        if let Some(diff) = p.agreement.difference(&settings) {
            return Err(refuse(&mut write, diff).await);
        }
        Ok(())
    };
    tokio::time::timeout(AUTH_TIMEOUT, auth)
        .await
        .map_err(|_| LinkError::Timeout)??;

    let gen_id = generation.fetch_add(1, Ordering::SeqCst) + 1;
    let (tx, mut rx) = mpsc::unbounded_channel::<GuestMsg>();
    tracing::info!(target: "dualha::link", "replication connection {gen_id} to the peer established");
    if events
        .send(Event::LinkUp {
            generation: gen_id,
            tx,
        })
        .is_err()
    {
        return Ok(());
    }
    let writer = async move {
        // The handshake's buffer is empty (flushed); from here frames are encoded into one
        // buffer of our own and written with one call, without a second copy.
        let mut write = write.into_inner();
        let mut buf = Vec::with_capacity(256 << 10);
        while let Some(msg) = rx.recv().await {
            buf.clear();
            wire::encode_frame_into(&WireMsg::Guest(msg), &mut buf)?;
            // Send everything queued in one write: batching without delaying.
            while buf.len() < SEND_BATCH_BYTES
                && let Ok(msg) = rx.try_recv()
            {
                wire::encode_frame_into(&WireMsg::Guest(msg), &mut buf)?;
            }
            write.write_all(&buf).await?;
        }
        Ok::<(), LinkError>(())
    };
    let peer = p.peer;
    let reader = async move {
        loop {
            let mut msgs = Vec::new();
            // Wait for one frame, then take the whole frames already buffered with it.
            loop {
                match read_frame(&mut read).await? {
                    None => {
                        let _ = events.send(Event::RecvMany { from: peer, msgs });
                        return Ok::<(), LinkError>(());
                    }
                    Some(WireMsg::Guest(msg)) => msgs.push(msg),
                    Some(other) => {
                        return Err(LinkError::Refused(format!(
                            "unexpected {other:?} after authentication"
                        )));
                    }
                }
                if msgs.len() >= MAX_RECV_BATCH || !whole_frame_buffered(read.buffer()) {
                    break;
                }
            }
            if events.send(Event::RecvMany { from: peer, msgs }).is_err() {
                return Ok(());
            }
        }
    };
    let result = tokio::select! {
        r = writer => r,
        r = reader => r,
    };
    tracing::info!(target: "dualha::link", "replication connection {gen_id} closed");
    let _ = events.send(Event::LinkDown { generation: gen_id });
    result
}

/// The Heartbeat rings: one UDP socket per ring, each datagram signed and stamped
/// against replay (`crate::replay`).
#[derive(Debug, Clone)]
pub struct Rings {
    sockets: Vec<(Arc<UdpSocket>, SocketAddr)>,
    secret: Arc<Vec<u8>>,
    me: NodeId,
    incarnation: u64,
    seq: Arc<AtomicU64>,
}

impl Rings {
    /// Binds every ring and starts a receiver per ring.
    pub async fn bind(
        rings: &[(SocketAddr, SocketAddr)],
        me: NodeId,
        peer: NodeId,
        secret: Arc<Vec<u8>>,
        events: UnboundedSender<Event>,
    ) -> std::io::Result<Rings> {
        let mut sockets = Vec::new();
        // One window for the peer, shared by its rings: a datagram counts once whichever
        // ring brings it.
        let window = Arc::new(Mutex::new(ReplayWindow::default()));
        for (i, (listen, peer_addr)) in rings.iter().enumerate() {
            let sock = Arc::new(UdpSocket::bind(listen).await?);
            let (s, e, k) = (sock.clone(), events.clone(), secret.clone());
            let window = window.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; MAX_DATAGRAM + 1];
                let mut warned = false;
                loop {
                    let Ok((n, from)) = s.recv_from(&mut buf).await else {
                        continue;
                    };
                    match wire::decode_datagram(&k, &buf[..n]) {
                        Ok((sender, stamp, msg)) if sender == peer.0 => {
                            let fresh = window.lock().map(|mut w| w.accept(stamp));
                            match fresh {
                                Ok(Ok(())) => {
                                    if e.send(Event::Recv { from: peer, msg }).is_err() {
                                        return;
                                    }
                                }
                                Ok(Err(stale)) if !warned => {
                                    warned = true;
                                    tracing::warn!(target: "dualha::ring", "ring{i}: dropped a datagram from {from}: {stale} (further ones logged at debug)");
                                }
                                Ok(Err(stale)) => {
                                    tracing::debug!(target: "dualha::ring", "ring{i}: {from}: {stale}")
                                }
                                Err(_) => return,
                            }
                        }
                        Ok((sender, _, _)) => {
                            tracing::debug!(target: "dualha::ring", "ring{i}: datagram from unknown node {sender} ({from})");
                        }
                        Err(err) if !warned => {
                            warned = true;
                            tracing::warn!(target: "dualha::ring", "ring{i}: dropped a datagram from {from}: {err} (further ones logged at debug)");
                        }
                        Err(err) => {
                            tracing::debug!(target: "dualha::ring", "ring{i}: {from}: {err}")
                        }
                    }
                }
            });
            sockets.push((sock, *peer_addr));
        }
        Ok(Rings {
            sockets,
            secret,
            me,
            incarnation: replay::this_incarnation(),
            seq: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Sends `msg` on ring `ring`; a lost datagram is what UDP and Heartbeat expect.
    pub fn send(&self, ring: u8, msg: &GuestMsg) {
        let Some((sock, to)) = self.sockets.get(ring as usize) else {
            return;
        };
        let stamp = RingStamp {
            incarnation: self.incarnation,
            seq: self.seq.fetch_add(1, Ordering::Relaxed) + 1,
        };
        match wire::encode_datagram(&self.secret, self.me.0, stamp, msg) {
            Ok(bytes) => {
                let _ = sock.try_send_to(&bytes, *to);
            }
            Err(e) => tracing::error!(target: "dualha::ring", "cannot send {msg:?}: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use model::guest::GuestMsg;
    use model::replication::ReplicaMsg;

    use super::*;

    #[test]
    fn a_replayed_heartbeat_is_dropped_and_a_fresh_one_is_not() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let secret = Arc::new(b"ring secret".to_vec());
            let listen: SocketAddr = "127.0.0.1:0".parse().expect("addr");
            // Node 0's ring on an ephemeral port; the "peer" (node 1) is a plain socket.
            let probe = std::net::UdpSocket::bind(listen).expect("bind");
            let peer_addr = probe.local_addr().expect("addr");
            let (tx, mut rx) = mpsc::unbounded_channel();
            let free = std::net::UdpSocket::bind(listen).expect("bind");
            let ring_addr = free.local_addr().expect("addr");
            drop(free);
            let _rings = Rings::bind(
                &[(ring_addr, peer_addr)],
                NodeId(0),
                NodeId(1),
                secret.clone(),
                tx,
            )
            .await
            .expect("rings");
            let msg = GuestMsg::Replica(ReplicaMsg::QuorumPong {
                vote: true,
                promote_ok: true,
                peer_outdated: false,
            });
            let datagram = |seq| {
                wire::encode_datagram(
                    &secret,
                    1,
                    RingStamp {
                        incarnation: 3,
                        seq,
                    },
                    &msg,
                )
                .expect("encodes")
            };
            let first = datagram(1);
            for bytes in [&first, &first, &datagram(2), &first] {
                probe.send_to(bytes, ring_addr).expect("send");
            }
            let mut got = 0;
            while let Ok(Some(ev)) =
                tokio::time::timeout(Duration::from_millis(300), rx.recv()).await
            {
                assert!(
                    matches!(
                        ev,
                        Event::Recv {
                            from: NodeId(1),
                            ..
                        }
                    ),
                    "{ev:?}"
                );
                got += 1;
            }
            assert_eq!(
                got, 2,
                "seq 1 once and seq 2; both replays of seq 1 dropped"
            );
        });
    }
}
