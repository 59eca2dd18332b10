//! What operators tune beyond the pair's architecture: DRBD's `net`/`disk`/`handlers`
//! options, Heartbeat's `ha.cf` timers, Pacemaker's resource options and the boot order.
//! Every field is optional: a field left out keeps the value of the driver that builds
//! the guests (the checker's defaults, or the simulator's profile), so a file written
//! before these tables existed means what it always meant.

use core::fmt;
use core::time::Duration;

use serde::{Deserialize, Serialize};

use crate::NodeId;
use crate::guest::GuestConfig;
use crate::membership::NoQuorumPolicy;
use crate::replication::{OnNoQuorum, RrConflict};
use crate::resources::ResourceKind;

/// The longest duration a key accepts: one day.
pub const MAX_SECS: f64 = 86_400.0;

/// A duration written as a number of seconds (`10`, `0.5`); read to the millisecond.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Secs(pub Duration);

impl Secs {
    /// `s` whole seconds.
    pub const fn from_secs(s: u64) -> Secs {
        Secs(Duration::from_secs(s))
    }
}

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.as_secs_f64())
    }
}

impl Serialize for Secs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0.as_secs_f64())
    }
}

impl<'de> Deserialize<'de> for Secs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Secs, D::Error> {
        // serde's f64 also takes an integer.
        let v = f64::deserialize(d)?;
        if !v.is_finite() || !(0.0..=MAX_SECS).contains(&v) {
            return Err(serde::de::Error::custom(format!(
                "{v} seconds: expected a number of seconds from 0 to {MAX_SECS} (one day)"
            )));
        }
        let ms = (v * 1000.0).round() as u64;
        Ok(Secs(Duration::from_millis(ms)))
    }
}

/// DRBD 9's `on-no-quorum` (only with `drbd_quorum_witness`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnNoQuorumChoice {
    /// Freeze I/O until quorum returns (DRBD's default).
    SuspendIo,
    /// Fail I/O with an error.
    IoError,
}

/// DRBD's `rr-conflict`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RrConflictChoice {
    /// Drop the connection (DRBD's default).
    Disconnect,
    /// Call the `pri-lost` handler, then drop the connection.
    CallPriLost,
}

/// What the `fence-peer` handler does when DRBD calls it (the checker's handler; the
/// `fencing` key decides whether DRBD calls it at all).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FencePeerChoice {
    /// dopd (`drbd-peer-outdater`): outdates the peer over a Heartbeat ring if one
    /// reaches it (exit 4; 6 if the peer is Primary; 3 below Outdated; 5 if it counts
    /// itself connected), else exit 5. The default with `fencing = "resource-only"`.
    #[serde(rename = "dopd")]
    Dopd,
    /// `stonith_admin-fence-peer.sh`: powers the peer off and exits 7. The default
    /// with `fencing = "resource-and-stonith"`.
    #[serde(rename = "stonith")]
    Stonith,
    /// Exits 3 ("peer's disk is Inconsistent") and does nothing to the peer.
    #[serde(rename = "exit-3")]
    Exit3,
    /// Exits 4 ("peer outdated") and does nothing to the peer: a handler that lies.
    #[serde(rename = "exit-4")]
    Exit4,
    /// Exits 5 ("peer unreachable, assumed dead") and does nothing to the peer.
    #[serde(rename = "exit-5")]
    Exit5,
    /// Exits 6 ("peer is Primary, outdate myself") and does nothing to the peer.
    #[serde(rename = "exit-6")]
    Exit6,
    /// Exits 7 ("peer was STONITHed") and does nothing to the peer: a handler that lies.
    #[serde(rename = "exit-7")]
    Exit7,
    /// Never returns: DRBD waits for it forever (I/O stays frozen with
    /// `resource-and-stonith`; a promotion waiting for it never completes).
    #[serde(rename = "hang")]
    Hang,
}

impl OnNoQuorumChoice {
    /// The value as a configuration writes it.
    pub fn key(self) -> &'static str {
        match self {
            OnNoQuorumChoice::SuspendIo => "suspend-io",
            OnNoQuorumChoice::IoError => "io-error",
        }
    }
}

impl FencePeerChoice {
    /// The value as a configuration writes it.
    pub fn key(self) -> &'static str {
        match self {
            FencePeerChoice::Dopd => "dopd",
            FencePeerChoice::Stonith => "stonith",
            FencePeerChoice::Exit3 => "exit-3",
            FencePeerChoice::Exit4 => "exit-4",
            FencePeerChoice::Exit5 => "exit-5",
            FencePeerChoice::Exit6 => "exit-6",
            FencePeerChoice::Exit7 => "exit-7",
            FencePeerChoice::Hang => "hang",
        }
    }

    /// The fixed exit code of an `exit-N` choice.
    pub fn fixed_exit(self) -> Option<u8> {
        match self {
            FencePeerChoice::Exit3 => Some(3),
            FencePeerChoice::Exit4 => Some(4),
            FencePeerChoice::Exit5 => Some(5),
            FencePeerChoice::Exit6 => Some(6),
            FencePeerChoice::Exit7 => Some(7),
            _ => None,
        }
    }
}

/// Pacemaker's `no-quorum-policy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoQuorumChoice {
    /// Stop every resource (Pacemaker's default).
    Stop,
    /// Keep what runs, start nothing.
    Freeze,
    /// Act as if quorate.
    Ignore,
}

/// What starts first when a guest boots.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BootOrder {
    /// DRBD connects before Heartbeat starts (the init scripts' order, drbddisk's
    /// wait-for-connection): the first promotion finds the peer connected.
    #[default]
    DrbdFirst,
    /// DRBD and Heartbeat start together: Heartbeat may promote before the replicas
    /// have shaken hands.
    Together,
}

/// DRBD options (`drbd.conf` `net`, `disk` and `handlers` sections).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DrbdOptions {
    /// `on-no-quorum`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_no_quorum: Option<OnNoQuorumChoice>,
    /// `allow-two-primaries` (needs protocol C).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_two_primaries: Option<bool>,
    /// `rr-conflict`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rr_conflict: Option<RrConflictChoice>,
    /// The `fence-peer` handler's behaviour.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fence_peer: Option<FencePeerChoice>,
    /// `ping-int`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ping_int: Option<Secs>,
    /// `ping-timeout`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ping_timeout: Option<Secs>,
    /// `connect-int`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_int: Option<Secs>,
}

/// Heartbeat `ha.cf` timers and Pacemaker's fencing timers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HeartbeatOptions {
    /// `keepalive`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keepalive: Option<Secs>,
    /// `warntime` (default deadtime / 2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warntime: Option<Secs>,
    /// `deadtime`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadtime: Option<Secs>,
    /// `initdead` (default from deadtime, Heartbeat's rule).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initdead: Option<Secs>,
    /// `deadping` (default deadtime).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadping: Option<Secs>,
    /// Pacemaker `stonith-timeout`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fence_timeout: Option<Secs>,
    /// The fence delay guest `a` waits before fencing (`pcmk_delay_max` draw).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fence_delay_a: Option<Secs>,
    /// The fence delay guest `b` waits before fencing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fence_delay_b: Option<Secs>,
}

/// Pacemaker resource and cluster options for the group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResourceOptions {
    /// `auto_failback` (ha.cf).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_failback: Option<bool>,
    /// `migration-threshold` (0: off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migration_threshold: Option<u32>,
    /// `failure-timeout` (0: never forget).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_timeout: Option<Secs>,
    /// `start-failure-is-fatal`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_failure_is_fatal: Option<bool>,
    /// `no-quorum-policy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_quorum_policy: Option<NoQuorumChoice>,
    /// The replica resource's monitor interval (0: not monitored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drbd_monitor_interval: Option<Secs>,
    /// The service's monitor interval (0: not monitored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_monitor_interval: Option<Secs>,
    /// Every operation's timeout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub op_timeout: Option<Secs>,
}

impl DrbdOptions {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == DrbdOptions::default()
    }
}

impl HeartbeatOptions {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == HeartbeatOptions::default()
    }

    /// The fence delay of `me` (`A` is `NodeId(0)`), if set.
    pub fn fence_delay(&self, me: NodeId) -> Option<Duration> {
        let d = if me == super::config::A {
            self.fence_delay_a
        } else {
            self.fence_delay_b
        };
        d.map(|s| s.0)
    }
}

impl ResourceOptions {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == ResourceOptions::default()
    }
}

/// Whether the boot order is the default (for `skip_serializing_if`).
pub fn is_default_boot_order(b: &BootOrder) -> bool {
    *b == BootOrder::default()
}

/// Sets the options that are set in a guest's configuration.
pub fn apply_options(
    drbd: &DrbdOptions,
    heartbeat: &HeartbeatOptions,
    resources: &ResourceOptions,
    cfg: &mut GuestConfig,
) {
    let r = &mut cfg.replica;
    if let Some(q) = drbd.on_no_quorum {
        r.on_no_quorum = match q {
            OnNoQuorumChoice::SuspendIo => OnNoQuorum::SuspendIo,
            OnNoQuorumChoice::IoError => OnNoQuorum::IoError,
        };
    }
    if let Some(b) = drbd.allow_two_primaries {
        r.allow_two_primaries = b;
    }
    if let Some(c) = drbd.rr_conflict {
        r.rr_conflict = match c {
            RrConflictChoice::Disconnect => RrConflict::Disconnect,
            RrConflictChoice::CallPriLost => RrConflict::CallPriLost,
        };
    }
    if let Some(t) = drbd.ping_int {
        r.timers.ping_int = t.0;
    }
    if let Some(t) = drbd.ping_timeout {
        r.timers.ping_timeout = t.0;
    }
    if let Some(t) = drbd.connect_int {
        r.timers.connect_int = t.0;
    }
    let m = &mut cfg.membership;
    if let Some(t) = heartbeat.keepalive {
        m.keepalive = t.0;
    }
    if let Some(t) = heartbeat.deadtime {
        // Heartbeat derives warntime, initdead and deadping from deadtime when ha.cf
        // leaves them out; the keys below override the derived values.
        *m = m.clone().with_deadtime(t.0);
    }
    if let Some(t) = heartbeat.warntime {
        m.warntime = t.0;
    }
    if let Some(t) = heartbeat.initdead {
        m.initdead = t.0;
    }
    if let Some(t) = heartbeat.deadping {
        m.deadping = t.0;
    }
    if let Some(t) = heartbeat.fence_timeout {
        m.fence_timeout = t.0;
    }
    if let Some(p) = resources.no_quorum_policy {
        m.no_quorum_policy = match p {
            NoQuorumChoice::Stop => NoQuorumPolicy::Stop,
            NoQuorumChoice::Freeze => NoQuorumPolicy::Freeze,
            NoQuorumChoice::Ignore => NoQuorumPolicy::Ignore,
        };
    }
    let g = &mut cfg.group;
    if let Some(b) = resources.auto_failback {
        g.auto_failback = b;
    }
    if let Some(n) = resources.migration_threshold {
        g.migration_threshold = n;
    }
    if let Some(t) = resources.failure_timeout {
        g.failure_timeout = t.0;
    }
    if let Some(b) = resources.start_failure_is_fatal {
        g.start_failure_is_fatal = b;
    }
    for spec in &mut g.resources {
        let interval = if spec.kind == ResourceKind::Replica {
            resources.drbd_monitor_interval
        } else {
            resources.service_monitor_interval
        };
        if let Some(t) = interval {
            spec.monitor_interval = t.0;
        }
        if let Some(t) = resources.op_timeout {
            spec.op_timeout = t.0;
        }
    }
}
