//! A simulation profile: every duration and policy of the simulated lab, read from TOML.
//!
//! The study's profile is `experiments/profiles/thesis.toml`; each value there carries its
//! source or says it is calibrated to the study's reported ranges. Unknown keys are
//! refused, so a typo cannot silently leave a default in place, and every value is
//! checked against its range (the constants below and [`crate::limits`]) before a run:
//! the error names the key, the value and what is allowed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::dist::Dist;
use crate::limits::{MAX_INPUT_BYTES, MAX_SECS, RangeError, int_in, secs_in, show};
use crate::scenario::{Architecture, Cell, FailureClass, Platform, Service};
use crate::world::{GUEST_A, GUEST_B, guest_config};

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
    /// The study's setup: which failover software runs in the guests.
    pub setup: SetupProfile,
    /// The service watchdog (Monit) in the guests of the pair.
    pub watchdog: WatchdogProfile,
    /// Values chosen to make the study's numbers come out, each with the reason: the
    /// profile's own values are the sourced defaults, and
    /// [`Profile::calibrated`] applies these on top (`crate::calibration`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calibration: Vec<Calibration>,
    /// Failure and repair processes for availability studies (`dualha availability`);
    /// the defaults (`crate::availability::AvailabilityProfile`) when left out.
    #[serde(
        default,
        skip_serializing_if = "crate::availability::AvailabilityProfile::is_default"
    )]
    pub availability: crate::availability::AvailabilityProfile,
}

/// Which failover software the guests run; the report states the choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Failover {
    /// Heartbeat v1 with `haresources`: resources are started and stopped, never
    /// monitored (src: HA-CF, "HeartbeatResourceAgents"), and scripts run without an
    /// operation timeout; a stopped service is noticed only by the watchdog.
    HeartbeatV1,
    /// A Pacemaker-style resource manager: monitors every `monitor_interval`,
    /// `resources.op_timeout`, `resources.migration_threshold`.
    Pacemaker,
}

/// The study's setup.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupProfile {
    /// The guests' failover software.
    pub failover: Failover,
}

/// What the watchdog does when it finds the service stopped on the guest that holds
/// the group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WatchdogAction {
    /// No watchdog.
    None,
    /// `exec "/etc/init.d/heartbeat stop"`: a graceful handover of the group to the peer
    /// (no deadtime wait).
    Failover,
    /// `start program`: the service is started again in place.
    Restart,
}

/// A Monit-like service watchdog inside each guest of the pair.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchdogProfile {
    /// Seconds between checks (Monit's `set daemon`); its phase is random per trial.
    pub cycle: f64,
    /// What it does on a stopped service.
    pub action: WatchdogAction,
}

/// Which layer restarts the VMs of a failed host on a platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostHa {
    /// vSphere HA (FDM): VMware, and VMware Integrated OpenStack, whose Nova vCenter
    /// driver presents a vSphere cluster as one hypervisor.
    VsphereHa,
    /// Nova + Masakari (hostmonitor, Pacemaker fencing, evacuation).
    Masakari,
}

/// One calibrated value: replaces the sourced default at `key` in
/// [`Profile::calibrated`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    /// The dotted key of the value it replaces (`filesystem.mount`).
    pub key: String,
    /// The calibrated value, written as the key's value would be.
    pub value: toml::Value,
    /// Why: which of the study's numbers it is chosen for, and what the source says.
    pub why: String,
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
    /// Extra delay of the first address takeover after a cluster failure, drawn when
    /// the fault happens: the platform's control plane (it lived in the failed cluster)
    /// fails over first.
    pub control_plane_failover: Dist,
    /// Which layer restarts the VMs of a failed host.
    pub host_ha: HostHa,
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
    /// A value out of range: `key = value: must be ...`.
    #[error(transparent)]
    Invalid(#[from] RangeError),
    /// The text is larger than any profile.
    #[error("{0} bytes; a profile has at most {MAX_INPUT_BYTES} bytes")]
    TooLarge(usize),
    /// Values that pass one by one but make a guest the model refuses.
    #[error("{cell}: the guests' configuration is refused: {problem}")]
    Guest {
        /// Which architecture and service.
        cell: String,
        /// The model's reason, naming its field.
        problem: String,
    },
}

/// The study's profile, as shipped.
pub const THESIS_TOML: &str = include_str!("../../experiments/profiles/thesis.toml");

/// `heartbeat.keepalive`: from 1 ms to one hour.
pub const KEEPALIVE_SECS: (f64, f64) = (0.001, 3600.0);
/// `probe.interval`: from 0.1 s to one hour.
pub const PROBE_INTERVAL_SECS: (f64, f64) = (0.1, 3600.0);
/// Monitor intervals (0 turns the monitor off): from 0.1 s to one day.
pub const MONITOR_INTERVAL_SECS: (f64, f64) = (0.1, MAX_SECS);
/// `resources.op_timeout`: from 1 ms to one day.
pub const OP_TIMEOUT_SECS: (f64, f64) = (0.001, MAX_SECS);
/// `trial.horizon`: from 1 s to one day.
pub const HORIZON_SECS: (f64, f64) = (1.0, MAX_SECS);
/// `drbd.resync_rate_mib`, MiB/s.
pub const RESYNC_RATE_MIB: (u64, u64) = (1, 100_000);
/// `drbd.blocks`: up to 1 TiB of 4 KiB blocks.
pub const BLOCKS: (u64, u64) = (1, 1 << 28);
/// The longest profile `name`, in characters.
pub const MAX_NAME_CHARS: usize = 100;

impl Profile {
    /// Parses and checks a profile.
    pub fn from_toml(text: &str) -> Result<Profile, ProfileError> {
        if text.len() > MAX_INPUT_BYTES {
            return Err(ProfileError::TooLarge(text.len()));
        }
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

    /// Checks every value against its range (`crate::limits`), then that the guests the
    /// profile makes are ones the model accepts; the error names the key, the value and
    /// what is allowed.
    pub fn validate(&self) -> Result<(), ProfileError> {
        self.validate_plain()?;
        self.validate_calibration()
    }

    /// [`Profile::validate`] without the calibration list (`crate::calibration` checks
    /// each profile it makes with this).
    pub(crate) fn validate_plain(&self) -> Result<(), ProfileError> {
        self.validate_values()?;
        self.validate_guests()
    }

    fn validate_values(&self) -> Result<(), RangeError> {
        let bad =
            |key: &str, value: String, problem: String| Err(RangeError::new(key, value, problem));
        let n = self.name.chars().count();
        if n == 0 || n > MAX_NAME_CHARS || self.name.chars().any(char::is_control) {
            return bad(
                "name",
                format!("{:?}", self.name),
                format!("must be 1 to {MAX_NAME_CHARS} characters without control characters"),
            );
        }
        let h = &self.heartbeat;
        secs_in(
            "heartbeat.keepalive",
            h.keepalive,
            KEEPALIVE_SECS.0,
            KEEPALIVE_SECS.1,
        )?;
        for (key, d) in [
            ("heartbeat.deadtime", h.deadtime),
            ("heartbeat.combined_deadtime", h.combined_deadtime),
        ] {
            secs_in(key, d, 0.0, MAX_SECS)?;
            // Both are finite here.
            if d <= 2.0 * h.keepalive {
                return bad(
                    key,
                    show(d),
                    format!("must be more than 2 x keepalive ({})", show(h.keepalive)),
                );
            }
        }
        secs_in("heartbeat.initdead", h.initdead, 0.0, MAX_SECS)?;
        int_in("heartbeat.rings", u64::from(h.rings), 1, 2, "")?;
        if !["A", "B", "C"].contains(&self.drbd.protocol.as_str()) {
            return bad(
                "drbd.protocol",
                format!("{:?}", self.drbd.protocol),
                "allowed: \"A\", \"B\", \"C\"".to_string(),
            );
        }
        let (lo, hi) = RESYNC_RATE_MIB;
        int_in(
            "drbd.resync_rate_mib",
            self.drbd.resync_rate_mib,
            lo,
            hi,
            "MiB/s",
        )?;
        int_in(
            "drbd.blocks",
            self.drbd.blocks,
            BLOCKS.0,
            BLOCKS.1,
            "blocks",
        )?;
        let (lo, hi) = OP_TIMEOUT_SECS;
        secs_in("resources.op_timeout", self.resources.op_timeout, lo, hi)?;
        monitor_interval(
            "filesystem.monitor_interval",
            self.filesystem.monitor_interval,
        )?;
        for s in [Service::Apache, Service::Mysql] {
            let Some(p) = self.services.get(&s) else {
                return bad(
                    "services",
                    format!(
                        "{:?}",
                        self.services.keys().map(|s| s.key()).collect::<Vec<_>>()
                    ),
                    format!("missing [services.{}]", s.key()),
                );
            };
            monitor_interval(
                &format!("services.{}.monitor_interval", s.key()),
                p.monitor_interval,
            )?;
        }
        for p in [Platform::Vmware, Platform::OpenStack] {
            if !self.platforms.contains_key(&p) {
                return bad(
                    "platforms",
                    format!(
                        "{:?}",
                        self.platforms.keys().map(|p| p.key()).collect::<Vec<_>>()
                    ),
                    format!("missing [platforms.{}]", p.key()),
                );
            }
        }
        let (lo, hi) = PROBE_INTERVAL_SECS;
        secs_in("probe.interval", self.probe.interval, lo, hi)?;
        secs_in("watchdog.cycle", self.watchdog.cycle, lo, hi)?;
        secs_in("trial.warmup", self.trial.warmup, 0.0, MAX_SECS)?;
        let (lo, hi) = HORIZON_SECS;
        secs_in("trial.horizon", self.trial.horizon, lo, hi)?;
        for (key, d) in self.dists() {
            d.validate(&key)?;
        }
        self.availability.validate()
    }

    /// Every distribution with its key.
    fn dists(&self) -> Vec<(String, Dist)> {
        [
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
        .collect()
    }

    /// Builds the guests of every architecture and service that has a pair and lets the
    /// model check them: values that each pass their range can still round to a
    /// configuration Heartbeat or DRBD refuses (warntime not above keepalive, say).
    fn validate_guests(&self) -> Result<(), ProfileError> {
        for architecture in [Architecture::DrbdHeartbeat, Architecture::Combined] {
            for service in Service::ALL {
                let cell = Cell {
                    failure: FailureClass::Software,
                    architecture,
                    platform: Platform::Vmware,
                    service,
                };
                for (me, peer) in [(GUEST_A, GUEST_B), (GUEST_B, GUEST_A)] {
                    if let Err(e) = guest_config(self, cell, me, peer).validate() {
                        return Err(ProfileError::Guest {
                            cell: format!("{} / {}", architecture.label(), service.label()),
                            problem: e.to_string(),
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

/// A monitor interval: 0 (no monitor) or within [`MONITOR_INTERVAL_SECS`].
fn monitor_interval(key: &str, x: f64) -> Result<(), RangeError> {
    if x == 0.0 {
        return Ok(());
    }
    let (lo, hi) = MONITOR_INTERVAL_SECS;
    secs_in(key, x, lo, hi).map_err(|mut e| {
        e.problem = format!(
            "must be 0 (no monitor) or {}",
            e.problem.replacen("must be ", "", 1)
        );
        e
    })
}

fn toml_from_str(text: &str) -> Result<Profile, ProfileError> {
    toml::from_str(text).map_err(|e| ProfileError::Parse(e.to_string()))
}
