//! Starting a node: open the disk and the metadata, build the guest from what survived,
//! bind every socket, boot the guest and run the loop.
//!
//! Everything that can be wrong is checked before anything listens, so a node with a bad
//! configuration, a missing disk or corrupt metadata stops at once with a message naming
//! the file and the problem instead of joining the cluster half-configured.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use model::guest::{Guest, GuestCommand};
use model::replication::{Replica, ReplicaCommand};
use model::{Effect, Input, Machine, Time};
use tokio::sync::mpsc;

use crate::config::NodeConfig;
use crate::device::ReplicatedDevice;
use crate::disk::BackingDisk;
use crate::driver::{Driver, Shared};
use crate::event::Event;
use crate::meta::{MetaStore, StoredMeta};
use crate::nbd::{self, NbdExport};
use crate::transport::{self, LinkParams, Rings};
use crate::wire::Agreement;

/// Runs the node configured by `cfg` until it stops.
pub fn run(cfg: NodeConfig) -> anyhow::Result<()> {
    raise_malloc_thresholds();
    let disk = BackingDisk::open(&cfg.disk)?;
    let blocks = disk.blocks();
    let (meta_store, stored) = MetaStore::open(&cfg.meta)?;
    let guest_cfg = cfg.guest(blocks);
    let guest = match stored {
        StoredMeta::Fresh => Guest::new(guest_cfg.clone()),
        StoredMeta::Replica(m) => {
            if let Some(last) = m.bitmap.last()
                && last >= blocks
            {
                anyhow::bail!(
                    "{}: the metadata marks block {last} out of sync but {} has only {blocks} blocks (the disk shrank?)",
                    cfg.meta.display(),
                    cfg.disk.display()
                );
            }
            Guest::restart(guest_cfg.clone(), Some(m))
        }
    }
    .with_context(|| format!("{}: invalid configuration", cfg.file.display()))?;
    let agreement = Agreement {
        protocol: guest_cfg.replica.protocol,
        after_sb_0pri: guest_cfg.replica.after_sb_0pri,
        after_sb_1pri: guest_cfg.replica.after_sb_1pri,
        after_sb_2pri: guest_cfg.replica.after_sb_2pri,
        rr_conflict: guest_cfg.replica.rr_conflict,
        allow_two_primaries: guest_cfg.replica.allow_two_primaries,
        blocks,
    };
    tracing::info!(
        "{}: resource {} of {blocks} blocks ({} MiB) on {}, metadata {}",
        cfg.name,
        cfg.resource,
        blocks * 4 / 1024,
        cfg.disk.display(),
        cfg.meta.display()
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(serve(cfg, guest, meta_store, disk, agreement))
}

async fn serve(
    cfg: NodeConfig,
    guest: Guest,
    meta: MetaStore,
    disk: BackingDisk,
    agreement: Agreement,
) -> anyhow::Result<()> {
    let cfg = Arc::new(cfg);
    let blocks = disk.blocks();
    let (events, rx) = mpsc::unbounded_channel::<Event>();
    let disk_tx = {
        let events = events.clone();
        disk.spawn(move |batch| events.send(Event::Disk(batch)).is_ok())
            .context("starting the disk thread")?
    };
    let secret = Arc::new(cfg.secret.clone());
    let connect_int = guest.replica().config().timers.connect_int;
    let ring_addrs: Vec<_> = cfg.rings.iter().map(|r| (r.listen, r.peer)).collect();
    let rings = Rings::bind(
        &ring_addrs,
        cfg.me,
        cfg.peer,
        secret.clone(),
        events.clone(),
    )
    .await
    .with_context(|| format!("binding the heartbeat rings {ring_addrs:?}"))?;
    let link = LinkParams {
        me: cfg.me,
        peer: cfg.peer,
        secret,
        agreement,
        peer_addr: cfg.replication.peer,
        connect_int,
    };
    let listener = tokio::net::TcpListener::bind(cfg.replication.listen)
        .await
        .with_context(|| format!("binding the replication address {}", cfg.replication.listen))?;
    {
        let events = events.clone();
        tokio::spawn(async move {
            if let Err(e) = transport::run_replication(listener, link, events).await {
                tracing::error!("replication listener: {e}");
            }
        });
    }
    let nbd_listener = tokio::net::TcpListener::bind(cfg.nbd)
        .await
        .with_context(|| format!("binding the NBD address {}", cfg.nbd))?;
    let shared = Arc::new(Shared::default());
    let device = ReplicatedDevice::new(
        events.clone(),
        shared.clone(),
        blocks * model::disk::BLOCK_SIZE,
    );
    let mut export = NbdExport::new(cfg.resource.clone(), device);
    export.description = format!("dualha resource {} on {}", cfg.resource, cfg.name);
    tokio::spawn(async move {
        if let Err(e) = nbd::serve(nbd_listener, export).await {
            tracing::error!("NBD server: {e}");
        }
    });
    {
        let (path, events) = (cfg.control.clone(), events.clone());
        tokio::spawn(async move {
            if let Err(e) = crate::control::serve(&path, events).await {
                tracing::error!("control socket {}: {e}", path.display());
            }
        });
    }
    if let Some(addr) = cfg.metrics {
        let (shared, events) = (shared.clone(), events.clone());
        tokio::spawn(async move {
            if let Err(e) = crate::metrics::serve(addr, shared, events).await {
                tracing::error!("metrics endpoint {addr}: {e}");
            }
        });
    }
    let driver = Driver::new(
        cfg.clone(),
        guest,
        meta,
        disk_tx,
        blocks,
        rings,
        events.clone(),
        shared,
    );
    events
        .send(Event::Command(GuestCommand::Boot {
            fence_delay: Duration::ZERO,
        }))
        .context("booting")?;
    tracing::info!(
        "{}: up; replication {} -> {}, NBD {}, control {}",
        cfg.name,
        cfg.replication.listen,
        cfg.replication.peer,
        cfg.nbd,
        cfg.control.display()
    );
    driver.run(rx).await
}

/// `create-md`: writes fresh metadata. With `primary`, the replica is made UpToDate by
/// the machine itself (`drbdadm primary --force` on a fresh resource, then `secondary`),
/// so this node's data is the initial sync's source.
pub fn create_md(cfg: &NodeConfig, primary: bool, force: bool) -> anyhow::Result<String> {
    let disk = BackingDisk::open(&cfg.disk)?;
    let blocks = disk.blocks();
    let stored = if primary {
        let mut r = Replica::restart(cfg.guest(blocks).replica, None);
        let mut out = Vec::new();
        let mut last = None;
        for cmd in [
            ReplicaCommand::Promote { force: true },
            ReplicaCommand::Demote,
        ] {
            r.handle(Time::ZERO, Input::Command(cmd), &mut out);
            for e in out.drain(..) {
                if let Effect::Persist(m) = e {
                    last = Some(m);
                }
            }
        }
        let meta = last.unwrap_or_else(|| r.meta());
        anyhow::ensure!(
            meta.disk == model::replication::DiskState::UpToDate,
            "the replica did not become UpToDate (it is {:?})",
            meta.disk
        );
        StoredMeta::Replica(meta)
    } else {
        StoredMeta::Fresh
    };
    MetaStore::create(&cfg.meta, &stored, force)?;
    Ok(format!(
        "{}: metadata for {} ({} blocks, {} MiB) written{}",
        cfg.meta.display(),
        cfg.resource,
        blocks,
        blocks * 4 / 1024,
        if primary {
            "; this node's data is UpToDate and will be the initial sync's source"
        } else {
            "; the disk is Inconsistent until it syncs from the peer"
        }
    ))
}

/// Keeps glibc from giving memory back to the kernel after every request.
///
/// Every 64 KiB NBD request allocates and frees buffers of its size. With glibc's default
/// thresholds (128 KiB), freeing at the top of the heap trims it, and the next request
/// faults fresh zeroed pages back in: a third of the daemon's CPU for 64 KiB reads. glibc
/// raises both thresholds by itself once a block it had mapped with `mmap` is freed
/// (mallopt(3), "M_MMAP_THRESHOLD": the dynamic threshold becomes the freed block's size
/// and the trim threshold twice that), so one 4 MiB allocation freed at startup sets them
/// for the process's life, without `unsafe` or environment variables. Other allocators
/// ignore it.
fn raise_malloc_thresholds() {
    let block = std::hint::black_box(vec![1u8; 4 << 20]);
    drop(block);
}
