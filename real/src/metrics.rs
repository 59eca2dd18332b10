//! Prometheus metrics over HTTP (`GET /metrics`, text exposition format): role, disk and
//! connection state, out-of-sync bytes, resync progress, I/O counters and the latency of
//! acknowledged writes as NBD clients see it.
//!
//! Encoded with `prometheus-client` (the Prometheus project's Rust client); the HTTP side
//! is a few lines over a TCP socket, since a scrape is one request and one answer.

use std::net::SocketAddr;
use std::sync::Arc;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use tokio::sync::{mpsc::UnboundedSender, oneshot};

use crate::control::ControlRequest;
use crate::driver::Shared;
use crate::event::Event;
use crate::status::NodeStatus;

/// Bucket bounds of the write-latency histogram, in seconds: 50 µs to about 3 s.
pub fn latency_histogram() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        50e-6, 2.0, 16,
    ))
}

/// The metrics text for the node's state `s`.
pub fn render(s: &NodeStatus, shared: &Shared) -> String {
    let mut reg = Registry::with_prefix("dualha");
    let gauge = |v: i64| {
        let g: Gauge = Gauge::default();
        g.set(v);
        g
    };
    reg.register(
        "primary",
        "1 if this node's replica is Primary",
        gauge((s.role == "Primary") as i64),
    );
    reg.register(
        "disk_up_to_date",
        "1 if the local disk is UpToDate",
        gauge((s.disk == "UpToDate") as i64),
    );
    reg.register(
        "connected",
        "1 if the replication connection is established (Connected or resyncing)",
        gauge(matches!(
            s.connection.as_str(),
            "Connected" | "SyncSource" | "SyncTarget" | "PausedSyncS" | "PausedSyncT"
        ) as i64),
    );
    reg.register(
        "out_of_sync_bytes",
        "Bytes marked out of sync",
        gauge(s.out_of_sync_bytes as i64),
    );
    reg.register(
        "resync_percent",
        "Progress of the running resync, 0-100 (absent when none runs)",
        gauge(s.resync_percent.map_or(-1, |p| p as i64)),
    );
    reg.register(
        "io_suspended",
        "1 while application I/O is frozen",
        gauge(s.io_suspended as i64),
    );
    let counter = |v: u64| {
        let c: Counter = Counter::default();
        c.inc_by(v);
        c
    };
    reg.register(
        "writes_acked",
        "Replica writes acknowledged (one per run of blocks: a 64 KiB client write is one)",
        counter(s.writes_acked),
    );
    reg.register(
        "writes_failed",
        "Replica writes failed (one per run of blocks)",
        counter(s.writes_failed),
    );
    reg.register(
        "reads",
        "Replica reads answered (one per run of blocks)",
        counter(s.reads),
    );
    reg.register(
        "nbd_write_seconds",
        "Time from an NBD write's arrival to its acknowledgement",
        shared.write_latency.clone(),
    );
    let mut out = String::new();
    if encode(&mut out, &reg).is_err() {
        out.clear();
    }
    out
}

/// Serves `GET /metrics` on `addr` until the task is dropped. Each scrape asks the
/// loop for a fresh snapshot, so the figures are exact at the time of the scrape.
pub async fn serve(
    addr: SocketAddr,
    shared: Arc<Shared>,
    events: UnboundedSender<Event>,
) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    loop {
        let (mut stream, _) = listener.accept().await?;
        let shared = shared.clone();
        let events = events.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            let n = match tokio::time::timeout(
                std::time::Duration::from_secs(5),
                stream.read(&mut buf),
            )
            .await
            {
                Ok(Ok(n)) => n,
                _ => return,
            };
            let request = String::from_utf8_lossy(&buf[..n]);
            let response = if request.starts_with("GET /metrics ") || request.starts_with("GET / ")
            {
                let (tx, rx) = oneshot::channel();
                let fresh = if events
                    .send(Event::Control(ControlRequest::Status, tx))
                    .is_ok()
                {
                    rx.await.ok().and_then(|r| r.status)
                } else {
                    None
                };
                let status = fresh.unwrap_or_else(|| shared.snapshot());
                let body = render(&status, &shared);
                format!(
                    "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
            } else {
                "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_string()
            };
            let _ = stream.write_all(response.as_bytes()).await;
        });
    }
}
