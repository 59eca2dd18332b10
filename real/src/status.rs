//! What `dualha-node status` shows: the replica as `drbdadm status` shows a DRBD
//! resource, then Heartbeat's view of the peer and the group as `crm_mon` shows it.

use std::fmt::Write as _;

use model::disk::BLOCK_SIZE;
use model::guest::Guest;
use model::replication::ConnState;
use serde::{Deserialize, Serialize};

use crate::config::NodeConfig;

/// A snapshot of one node.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// The DRBD resource name.
    pub resource: String,
    /// This node's name.
    pub node: String,
    /// The peer's name.
    pub peer: String,
    /// Primary or Secondary.
    pub role: String,
    /// This node's disk state.
    pub disk: String,
    /// The replication connection's state.
    pub connection: String,
    /// The peer's role as this node knows it.
    pub peer_role: String,
    /// The peer's disk as this node knows it.
    pub peer_disk: String,
    /// Bytes marked out of sync.
    pub out_of_sync_bytes: u64,
    /// Resync progress in percent, while one runs.
    pub resync_percent: Option<f64>,
    /// Application I/O is frozen (fencing or lost quorum).
    pub io_suspended: bool,
    /// Whether the replica has quorum.
    pub quorum: bool,
    /// The membership layer's view of the peer.
    pub heartbeat_peer: String,
    /// Whether each ring is up.
    pub rings_up: Vec<bool>,
    /// The group's phase on this node.
    pub group: String,
    /// Each resource of the group and its state here.
    pub resources: Vec<(String, String)>,
    /// Replica writes (runs of blocks) acknowledged since start.
    pub writes_acked: u64,
    /// Application writes failed since start.
    pub writes_failed: u64,
    /// Application reads answered since start.
    pub reads: u64,
    /// Seconds since the node started.
    pub uptime_seconds: f64,
}

/// Counters the driver keeps beside the machine.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counters {
    /// Acknowledged writes.
    pub writes_acked: u64,
    /// Failed writes.
    pub writes_failed: u64,
    /// Answered reads.
    pub reads: u64,
    /// Blocks to resync when the running resync started.
    pub resync_total: u64,
}

impl NodeStatus {
    /// The snapshot of `guest` on the node configured by `cfg`.
    pub fn of(
        guest: &Guest,
        cfg: &NodeConfig,
        counters: &Counters,
        uptime_seconds: f64,
    ) -> NodeStatus {
        let r = guest.replica();
        let m = guest.membership();
        let g = guest.resources();
        let out_of_sync = r.bitmap().count();
        let syncing = matches!(
            r.conn(),
            ConnState::SyncSource
                | ConnState::SyncTarget
                | ConnState::PausedSyncS
                | ConnState::PausedSyncT
        );
        let resync_percent = (syncing && counters.resync_total > 0).then(|| {
            let left = out_of_sync.min(counters.resync_total);
            100.0 * (counters.resync_total - left) as f64 / counters.resync_total as f64
        });
        let rings = cfg.rings.len() as u8;
        NodeStatus {
            resource: cfg.resource.clone(),
            node: cfg.name.clone(),
            peer: cfg.peer_name.clone(),
            role: r.role().to_string(),
            disk: r.disk().to_string(),
            connection: r.conn().to_string(),
            peer_role: r.peer_role().to_string(),
            peer_disk: r.peer_disk().to_string(),
            out_of_sync_bytes: out_of_sync * BLOCK_SIZE,
            resync_percent,
            io_suspended: r.io_suspended(),
            quorum: r.has_quorum(),
            heartbeat_peer: format!("{:?}", m.peer_state()),
            rings_up: (0..rings).map(|i| m.ring_up(i)).collect(),
            group: format!("{:?}", g.phase()),
            resources: g
                .config()
                .resources
                .iter()
                .map(|spec| {
                    let state = g
                        .resource_status(spec.id)
                        .map(|s| format!("{s:?}"))
                        .unwrap_or_default();
                    (spec.name.clone(), state)
                })
                .collect(),
            writes_acked: counters.writes_acked,
            writes_failed: counters.writes_failed,
            reads: counters.reads,
            uptime_seconds,
        }
    }

    /// The human form: `drbdadm status` then a `crm_mon`-like summary.
    pub fn human(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{} role:{}", self.resource, self.role);
        let mut disk = format!("  disk:{}", self.disk);
        if self.io_suspended {
            disk.push_str(" suspended:yes");
        }
        if !self.quorum {
            disk.push_str(" quorum:no");
        }
        let _ = writeln!(s, "{disk}");
        let _ = writeln!(s, "  {} role:{}", self.peer, self.peer_role);
        let mut repl = format!(
            "    replication:{} peer-disk:{}",
            self.connection, self.peer_disk
        );
        if let Some(p) = self.resync_percent {
            let _ = write!(repl, " done:{p:.1}");
        }
        let _ = writeln!(s, "{repl}");
        if self.out_of_sync_bytes > 0 {
            let _ = writeln!(s, "    out-of-sync:{} KiB", self.out_of_sync_bytes / 1024);
        }
        let rings: Vec<String> = self
            .rings_up
            .iter()
            .enumerate()
            .map(|(i, up)| format!("ring{i} {}", if *up { "up" } else { "down" }))
            .collect();
        let _ = writeln!(
            s,
            "\nHeartbeat: peer {} {}; {}",
            self.peer,
            self.heartbeat_peer,
            rings.join(", ")
        );
        let _ = writeln!(s, "Resource group: {} on {}", self.group, self.node);
        for (name, state) in &self.resources {
            let _ = writeln!(s, "  * {name:<24} {state}");
        }
        let _ = writeln!(
            s,
            "\nI/O: {} writes acknowledged, {} failed, {} reads; up {:.0} s",
            self.writes_acked, self.writes_failed, self.reads, self.uptime_seconds
        );
        s
    }
}
