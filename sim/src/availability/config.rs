//! The profile's `[availability]` section: how long each component of the lab lives and
//! how long its repair takes, with the defaults and where they come from.
//!
//! Every duration here is in seconds like the rest of the profile (a year is
//! 31,536,000 s); a distribution may be any of `crate::dist::Dist`'s shapes, each
//! parameter up to [`MAX_LIFETIME_SECS`]. The section may be left out: the defaults
//! below apply, and the study's profile (`thesis.toml`) has none, so `dualha reproduce`
//! is unchanged.

use serde::{Deserialize, Serialize};

use crate::dist::Dist;
use crate::limits::{RangeError, secs_in};

/// One hour, in seconds.
pub const HOUR: f64 = 3600.0;
/// One year of 365 days, in seconds (availability reports count minutes per such year).
pub const YEAR: f64 = 365.0 * 24.0 * HOUR;
/// The longest failure or repair time parameter: a thousand years, in seconds.
pub const MAX_LIFETIME_SECS: f64 = 1000.0 * YEAR;
/// `availability.write_interval`: from 1 s to one day.
pub const WRITE_INTERVAL_SECS: (f64, f64) = (1.0, 86_400.0);

/// The components that fail and are repaired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ComponentKind {
    /// A host's hardware: the host powers off; repaired by replacing parts.
    Host,
    /// A host's hypervisor (ESXi, KVM): the host powers off; repaired by a reboot.
    Hypervisor,
    /// A guest's operating system: the guest crashes, its VM keeps running; repaired by
    /// a reset of the VM.
    GuestOs,
    /// The service in a guest: its process dies; repaired by an operator's restart
    /// unless the HA software dealt with it first.
    Service,
    /// The network between the two guests (every network: replication and Heartbeat
    /// rings); repaired by fixing the link. Only the pair has one.
    Link,
    /// A whole cluster (site): every host of it powers off; repaired by restoring
    /// power.
    Site,
}

impl ComponentKind {
    /// Every kind, in report order.
    pub const ALL: [ComponentKind; 6] = [
        ComponentKind::Host,
        ComponentKind::Hypervisor,
        ComponentKind::GuestOs,
        ComponentKind::Service,
        ComponentKind::Link,
        ComponentKind::Site,
    ];

    /// The section key (`availability.guest_os`).
    pub const fn key(self) -> &'static str {
        match self {
            ComponentKind::Host => "host",
            ComponentKind::Hypervisor => "hypervisor",
            ComponentKind::GuestOs => "guest_os",
            ComponentKind::Service => "service",
            ComponentKind::Link => "link",
            ComponentKind::Site => "site",
        }
    }
}

/// How one kind of component fails and is repaired.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentProfile {
    /// Time from a repair (or the start) to the next failure, seconds.
    pub failure: Dist,
    /// Time from a failure to its repair, seconds.
    pub repair: Dist,
    /// Whether the component fails at all (false: it never does, and the analytic model
    /// leaves it out).
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

const fn exp(mean: f64) -> Dist {
    Dist::Exponential { mean }
}

/// The `[availability]` section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AvailabilityProfile {
    /// Host hardware. src: NKP14, Table 3: host failure rate 1/(1 year), host repair
    /// 3 days, both exponential (their model's assumption too).
    pub host: ComponentProfile,
    /// The hypervisor. src: NKP14, Table 3: VMM non-aging failure every 2654 hours,
    /// VMM repair 100 minutes (exponential). Aging and rejuvenation are not modelled.
    pub hypervisor: ComponentProfile,
    /// The guest operating system. src: NKP14, Table 3: VM non-aging failure every
    /// 2893 hours, VM repair 30 minutes (exponential).
    pub guest_os: ComponentProfile,
    /// The service process. assumed: a crash every 2000 hours (about three months; no
    /// source in docs/sources.md gives Apache's or MySQL's), and an operator's restart
    /// 1 hour later if the HA software did not act (exponential).
    pub service: ComponentProfile,
    /// The network between the guests. assumed: one outage a year, 1 hour to fix
    /// (exponential); a cut link is what makes Heartbeat's split brain.
    pub link: ComponentProfile,
    /// A whole site. assumed: one outage in 10 years, 4 hours to restore (exponential).
    pub site: ComponentProfile,
    /// An operator powers on a VM that no layer restarts (fenced, or its cluster had no
    /// host for it), this long after the repair that makes it possible. assumed:
    /// 30 minutes (exponential).
    pub operator: Dist,
    /// Seconds between the application's writes to the serving replica (what "an
    /// acknowledged write lost" counts among). assumed: one every 5 minutes, which
    /// keeps the write ledger of a 100-year run near 80 MiB.
    pub write_interval: f64,
}

impl Default for AvailabilityProfile {
    fn default() -> AvailabilityProfile {
        let c = |failure: f64, repair: f64| ComponentProfile {
            failure: exp(failure),
            repair: exp(repair),
            enabled: true,
        };
        AvailabilityProfile {
            host: c(YEAR, 3.0 * 24.0 * HOUR),
            hypervisor: c(2654.0 * HOUR, 100.0 * 60.0),
            guest_os: c(2893.0 * HOUR, 30.0 * 60.0),
            service: c(2000.0 * HOUR, HOUR),
            link: c(YEAR, HOUR),
            site: c(10.0 * YEAR, 4.0 * HOUR),
            operator: exp(0.5 * HOUR),
            write_interval: 300.0,
        }
    }
}

impl AvailabilityProfile {
    /// Whether this is the default section (then it is not written out).
    pub fn is_default(&self) -> bool {
        *self == AvailabilityProfile::default()
    }

    /// The profile of a kind of component.
    pub fn component(&self, kind: ComponentKind) -> &ComponentProfile {
        match kind {
            ComponentKind::Host => &self.host,
            ComponentKind::Hypervisor => &self.hypervisor,
            ComponentKind::GuestOs => &self.guest_os,
            ComponentKind::Service => &self.service,
            ComponentKind::Link => &self.link,
            ComponentKind::Site => &self.site,
        }
    }

    /// The profile of a kind of component, to change it.
    pub fn component_mut(&mut self, kind: ComponentKind) -> &mut ComponentProfile {
        match kind {
            ComponentKind::Host => &mut self.host,
            ComponentKind::Hypervisor => &mut self.hypervisor,
            ComponentKind::GuestOs => &mut self.guest_os,
            ComponentKind::Service => &mut self.service,
            ComponentKind::Link => &mut self.link,
            ComponentKind::Site => &mut self.site,
        }
    }

    /// Whether every enabled failure and repair (and the operator) is exponential:
    /// then the analytic model's chain is the simulated process' own abstraction.
    pub fn all_exponential(&self) -> bool {
        self.operator.is_exponential()
            && ComponentKind::ALL.iter().all(|&k| {
                let c = self.component(k);
                !c.enabled || (c.failure.is_exponential() && c.repair.is_exponential())
            })
    }

    /// Checks every value; the error names the key (`availability.host.repair.mean`).
    pub fn validate(&self) -> Result<(), RangeError> {
        for k in ComponentKind::ALL {
            let c = self.component(k);
            let key = format!("availability.{}", k.key());
            c.failure
                .validate_in(&format!("{key}.failure"), MAX_LIFETIME_SECS, "seconds")?;
            c.repair
                .validate_in(&format!("{key}.repair"), MAX_LIFETIME_SECS, "seconds")?;
            if c.enabled && c.failure.mean() < 1.0 {
                return Err(RangeError::new(
                    format!("{key}.failure"),
                    format!("mean {}", c.failure.mean()),
                    "must have a mean of at least 1 second (a component that never \
                     fails is `enabled = false`)"
                        .to_string(),
                ));
            }
        }
        self.operator
            .validate_in("availability.operator", MAX_LIFETIME_SECS, "seconds")?;
        let (lo, hi) = WRITE_INTERVAL_SECS;
        secs_in("availability.write_interval", self.write_interval, lo, hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_exponential_and_named_errors_name_the_key() {
        let d = AvailabilityProfile::default();
        assert_eq!(d.validate(), Ok(()));
        assert!(d.all_exponential());
        let mut bad = d.clone();
        bad.host.repair = Dist::Lognormal {
            median: 3600.0,
            sigma: 20.0,
        };
        assert!(!bad.all_exponential());
        let e = bad.validate().expect_err("sigma");
        assert!(
            e.to_string()
                .starts_with("availability.host.repair.sigma = 20.0")
        );
        let mut bad = d.clone();
        bad.write_interval = 0.0;
        assert!(
            bad.validate()
                .expect_err("interval")
                .to_string()
                .starts_with("availability.write_interval = 0.0")
        );
        let mut bad = d;
        bad.link.failure = Dist::Exponential { mean: 0.5 };
        assert!(
            bad.validate()
                .expect_err("too often")
                .to_string()
                .starts_with("availability.link.failure")
        );
    }
}
