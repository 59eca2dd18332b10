//! A simulation profile: every duration and policy of the simulated lab, read from TOML.
//!
//! The study's profile is `experiments/profiles/thesis.toml`; each value there carries its
//! source or says it is calibrated to the study's reported ranges. Unknown keys are
//! refused, so a typo cannot silently leave a default in place.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::dist::Dist;
use crate::scenario::{Platform, Service};

/// The whole profile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// A name for reports.
    pub name: String,
    /// Network delays.
    pub network: NetworkProfile,
    /// Heartbeat's timers.
    pub heartbeat: HeartbeatProfile,
    /// DRBD.
    pub drbd: DrbdProfile,
    /// The resource manager's policy.
    pub resources: ResourcesProfile,
    /// The file system on the DRBD device.
    pub filesystem: FilesystemProfile,
    /// The services.
    pub services: BTreeMap<Service, ServiceProfile>,
    /// The platforms.
    pub platforms: BTreeMap<Platform, PlatformProfile>,
    /// The probes.
    pub probe: ProbeProfile,
    /// Trial length and fault timing.
    pub trial: TrialProfile,
}

/// Network delays.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkProfile {
    /// One-way delay of every message.
    pub latency: Dist,
}

/// Heartbeat's `ha.cf` timers, in seconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatProfile {
    /// `keepalive`.
    pub keepalive: f64,
    /// `deadtime` in the single-cluster DRBD + Heartbeat architecture.
    pub deadtime: f64,
    /// `deadtime` in the combined architecture.
    pub combined_deadtime: f64,
    /// `initdead`.
    pub initdead: f64,
    /// Heartbeat rings (1 or 2).
    pub rings: u8,
}

/// DRBD.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrbdProfile {
    /// `A`, `B` or `C`.
    pub protocol: String,
    /// Resync rate in MiB/s (`syncer rate`).
    pub resync_rate_mib: u64,
    /// Device size in 4 KiB blocks (the model's device; small keeps trials fast).
    pub blocks: u64,
    /// Disk latency of one request.
    pub disk_latency: Dist,
}

/// The resource manager's policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourcesProfile {
    /// Failures after which the group moves (1: at the first failure).
    pub migration_threshold: u32,
    /// Heartbeat `auto_failback`.
    pub auto_failback: bool,
    /// Operation timeout, seconds.
    pub op_timeout: f64,
}

/// The file system.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesystemProfile {
    /// Mount after a clean unmount.
    pub mount: Dist,
    /// Mount after a crash: journal replay.
    pub mount_after_crash: Dist,
    /// Unmount.
    pub umount: Dist,
    /// Monitor interval, seconds.
    pub monitor_interval: f64,
}

/// One service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceProfile {
    /// Start after a clean stop.
    pub start: Dist,
    /// Start after a crash (crash recovery).
    pub start_after_crash: Dist,
    /// Stop.
    pub stop: Dist,
    /// Monitor interval, seconds.
    pub monitor_interval: f64,
    /// How long one monitor call takes.
    pub monitor: Dist,
}

/// One platform.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformProfile {
    /// Boot of a guest VM by the cluster layer, until its OS runs.
    pub vm_boot: Dist,
    /// Taking over the service address (gratuitous ARP, or a port update).
    pub address_start: Dist,
    /// Extra delay of an address takeover while the platform's control plane fails over
    /// (it lived in the failed cluster).
    pub control_plane_failover: Dist,
}

/// The probes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeProfile {
    /// Seconds between probes (Monit's cycle).
    pub interval: f64,
}

/// Trial timing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrialProfile {
    /// Seconds from boot until the fault window opens.
    pub warmup: f64,
    /// When the fault happens after the warm-up.
    pub fault_offset: Dist,
    /// Seconds after the fault until a trial that has not recovered counts as "never".
    pub horizon: f64,
}

/// A profile that cannot be used; names the key.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// Not TOML, or a key or value not allowed.
    #[error("{0}")]
    Parse(String),
    /// A value out of range.
    #[error("{key}: {problem}")]
    Invalid {
        /// The key.
        key: String,
        /// What is wrong.
        problem: String,
    },
}

/// The study's profile, as shipped.
pub const THESIS_TOML: &str = include_str!("../../experiments/profiles/thesis.toml");

impl Profile {
    /// Parses and checks a profile.
    pub fn from_toml(text: &str) -> Result<Profile, ProfileError> {
        let p: Profile = toml_from_str(text)?;
        p.validate()?;
        Ok(p)
    }

    /// The study's profile.
    pub fn thesis() -> Profile {
        match Profile::from_toml(THESIS_TOML) {
            Ok(p) => p,
            // The shipped file is tested; a broken one is a build defect.
            Err(e) => panic!("experiments/profiles/thesis.toml is invalid: {e}"),
        }
    }

    /// Checks ranges.
    pub fn validate(&self) -> Result<(), ProfileError> {
        let bad = |key: &str, problem: String| {
            Err(ProfileError::Invalid {
                key: key.to_string(),
                problem,
            })
        };
        let h = &self.heartbeat;
        if !positive(h.keepalive) {
            return bad(
                "heartbeat.keepalive",
                format!("{} must be > 0", h.keepalive),
            );
        }
        for (key, d) in [
            ("heartbeat.deadtime", h.deadtime),
            ("heartbeat.combined_deadtime", h.combined_deadtime),
        ] {
            if !positive(d - 2.0 * h.keepalive) {
                return bad(
                    key,
                    format!("{d} must be more than 2 x keepalive ({})", h.keepalive),
                );
            }
        }
        if !(1..=2).contains(&h.rings) {
            return bad("heartbeat.rings", format!("{} must be 1 or 2", h.rings));
        }
        if !["A", "B", "C"].contains(&self.drbd.protocol.as_str()) {
            return bad(
                "drbd.protocol",
                format!("{:?}; allowed: \"A\", \"B\", \"C\"", self.drbd.protocol),
            );
        }
        for s in [Service::Apache, Service::Mysql] {
            if !self.services.contains_key(&s) {
                return bad("services", format!("missing [services.{}]", s.key()));
            }
        }
        for p in [Platform::Vmware, Platform::Openstack] {
            if !self.platforms.contains_key(&p) {
                return bad("platforms", format!("missing [platforms.{}]", p.key()));
            }
        }
        if !positive(self.probe.interval) {
            return bad(
                "probe.interval",
                format!("{} must be > 0", self.probe.interval),
            );
        }
        if !positive(self.trial.horizon) {
            return bad(
                "trial.horizon",
                format!("{} must be > 0", self.trial.horizon),
            );
        }
        let dists: Vec<(String, Dist)> = [
            ("network.latency".to_string(), self.network.latency),
            ("drbd.disk_latency".to_string(), self.drbd.disk_latency),
            ("filesystem.mount".to_string(), self.filesystem.mount),
            (
                "filesystem.mount_after_crash".to_string(),
                self.filesystem.mount_after_crash,
            ),
            ("filesystem.umount".to_string(), self.filesystem.umount),
            ("trial.fault_offset".to_string(), self.trial.fault_offset),
        ]
        .into_iter()
        .chain(self.services.iter().flat_map(|(s, p)| {
            [
                (format!("services.{}.start", s.key()), p.start),
                (
                    format!("services.{}.start_after_crash", s.key()),
                    p.start_after_crash,
                ),
                (format!("services.{}.stop", s.key()), p.stop),
                (format!("services.{}.monitor", s.key()), p.monitor),
            ]
        }))
        .chain(self.platforms.iter().flat_map(|(k, p)| {
            [
                (format!("platforms.{}.vm_boot", k.key()), p.vm_boot),
                (
                    format!("platforms.{}.address_start", k.key()),
                    p.address_start,
                ),
                (
                    format!("platforms.{}.control_plane_failover", k.key()),
                    p.control_plane_failover,
                ),
            ]
        }))
        .collect();
        for (key, d) in dists {
            if let Err(problem) = d.validate() {
                return bad(&key, problem);
            }
        }
        Ok(())
    }
}

/// A finite number above zero (NaN is not).
fn positive(x: f64) -> bool {
    x.is_finite() && x > 0.0
}

fn toml_from_str(text: &str) -> Result<Profile, ProfileError> {
    toml::from_str(text).map_err(|e| ProfileError::Parse(e.to_string()))
}
