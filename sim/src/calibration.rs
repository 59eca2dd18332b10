//! Sourced defaults and calibrated values, kept apart.
//!
//! A profile's own values are the ones its sources give (or, where no source gives one,
//! an estimate that is not chosen to make any of the study's numbers come out). Values
//! chosen to reproduce the study are listed separately, in `[[calibration]]` entries,
//! each with the key it replaces and why. This module makes the profiles the report
//! compares: the sourced one (the profile as written), the calibrated one (every entry
//! applied) and, for the sensitivity table, the calibrated one with a single entry
//! returned to its sourced default. Entries are applied to the profile's TOML form, so
//! any key of the profile can be calibrated and a wrong key is an error naming it.

use crate::limits::RangeError;
use crate::profile::{Failover, Profile, ProfileError};
use crate::scenario::{Architecture, Cell};

/// Whether a study trial of `cell` under `profile` reads the profile value at the dotted
/// `key`: the `platforms.<p>` and `services.<s>` sections are read only by cells of that
/// platform or service (the timing model and the world index them by the cell),
/// `heartbeat.combined_deadtime` only by the combined architecture, and with
/// `setup.failover = "heartbeat-v1"` no study trial reads the resource manager's
/// operation timeout, migration threshold or monitor intervals (v1 neither monitors nor
/// times out); every other key is read by every cell. A cell that does not read a key
/// gives the same trial, bit for bit, whatever its value (tested), so a sensitivity run
/// need not run it again.
pub fn cell_reads(profile: &Profile, cell: Cell, key: &str) -> bool {
    let v1 = profile.setup.failover == Failover::HeartbeatV1;
    let mut parts = key.split('.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("resources"), Some("op_timeout" | "migration_threshold"), None) if v1 => false,
        (_, Some("monitor_interval"), None) | (_, _, Some("monitor_interval")) if v1 => false,
        (Some("platforms"), Some(p), _) => cell.platform.key() == p,
        (Some("services"), Some(s), _) => cell.service.key() == s,
        (Some("heartbeat"), Some("combined_deadtime"), None) => {
            cell.architecture == Architecture::Combined
        }
        _ => true,
    }
}

impl Profile {
    /// Every calibrated value applied on top of the sourced defaults. The calibration
    /// list is kept, so the result can still tell what was calibrated.
    pub fn calibrated(&self) -> Result<Profile, ProfileError> {
        self.with_calibration(|_| true)
    }

    /// [`Profile::calibrated`] with entry `except` left at its sourced default: what the
    /// sensitivity table runs for that entry.
    pub fn calibrated_except(&self, except: usize) -> Result<Profile, ProfileError> {
        self.with_calibration(|i| i != except)
    }

    /// The profile's own (sourced) value at a dotted key, as TOML; `None` if there is
    /// no such key.
    pub fn value_at(&self, key: &str) -> Option<toml::Value> {
        let mut v = toml::Value::try_from(self).ok()?;
        for part in key.split('.') {
            v = v.as_table_mut()?.remove(part)?;
        }
        Some(v)
    }

    /// The profile with the calibration entries `keep` selects applied, checked.
    fn with_calibration(&self, keep: impl Fn(usize) -> bool) -> Result<Profile, ProfileError> {
        let mut doc = toml::Value::try_from(self)
            .map_err(|e| ProfileError::Parse(format!("cannot encode the profile: {e}")))?;
        if let Some(t) = doc.as_table_mut() {
            t.remove("calibration");
        }
        for (i, c) in self.calibration.iter().enumerate() {
            if keep(i) {
                set(&mut doc, i, &c.key, c.value.clone())?;
            }
        }
        let mut p: Profile = doc.try_into().map_err(|e: toml::de::Error| {
            ProfileError::Parse(format!("with the calibrated values: {e}"))
        })?;
        p.calibration = self.calibration.clone();
        p.validate_plain().map_err(|e| match e {
            ProfileError::Invalid(r) => ProfileError::Invalid(RangeError::new(
                r.key,
                r.value,
                format!("{} (a calibrated value)", r.problem),
            )),
            other => other,
        })?;
        Ok(p)
    }

    /// Each calibration entry names an existing key once, and the calibrated profile
    /// is valid.
    pub(crate) fn validate_calibration(&self) -> Result<(), ProfileError> {
        for (i, c) in self.calibration.iter().enumerate() {
            if c.key == "calibration" || self.value_at(&c.key).is_none() {
                return Err(ProfileError::Invalid(RangeError::new(
                    format!("calibration[{i}].key"),
                    format!("{:?}", c.key),
                    "no such key in the profile".to_string(),
                )));
            }
            if self.calibration[..i].iter().any(|o| o.key == c.key) {
                return Err(ProfileError::Invalid(RangeError::new(
                    format!("calibration[{i}].key"),
                    format!("{:?}", c.key),
                    "calibrated twice".to_string(),
                )));
            }
            if c.why.trim().is_empty() {
                return Err(ProfileError::Invalid(RangeError::new(
                    format!("calibration[{i}].why"),
                    "\"\"".to_string(),
                    "must say why the value is calibrated".to_string(),
                )));
            }
        }
        if self.calibration.is_empty() {
            return Ok(());
        }
        self.calibrated().map(|_| ())
    }
}

/// Sets the dotted `key` of `doc` to `value`; the key must exist.
fn set(
    doc: &mut toml::Value,
    index: usize,
    key: &str,
    value: toml::Value,
) -> Result<(), ProfileError> {
    let missing = || {
        ProfileError::Invalid(RangeError::new(
            format!("calibration[{index}].key"),
            format!("{key:?}"),
            "no such key in the profile".to_string(),
        ))
    };
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().ok_or_else(missing)?;
    let mut here = doc;
    for p in parts {
        here = here
            .as_table_mut()
            .and_then(|t| t.get_mut(p))
            .ok_or_else(missing)?;
    }
    let slot = here
        .as_table_mut()
        .and_then(|t| t.get_mut(last))
        .ok_or_else(missing)?;
    *slot = value;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::Profile;

    #[test]
    fn the_calibrated_profile_differs_only_where_an_entry_says() {
        let p = Profile::thesis();
        assert!(
            !p.calibration.is_empty(),
            "the study's profile has calibrated values"
        );
        let c = p.calibrated().expect("calibrates");
        for (i, e) in p.calibration.iter().enumerate() {
            assert_eq!(c.value_at(&e.key).as_ref(), Some(&e.value), "{}", e.key);
            let back = p.calibrated_except(i).expect("calibrates");
            assert_eq!(back.value_at(&e.key), p.value_at(&e.key), "{}", e.key);
        }
        let mut none = p.clone();
        none.calibration.clear();
        assert_eq!(
            none.calibrated().expect("nothing to apply").calibration,
            vec![]
        );
    }

    #[test]
    fn a_cell_that_does_not_read_a_key_runs_the_same_whatever_its_value() {
        use crate::scenario::{FailureClass, Platform, Service};
        use crate::{Architecture, Cell, run_trial};
        let p = Profile::thesis().calibrated().expect("calibrates");
        let cells = [
            Cell {
                failure: FailureClass::Cluster,
                architecture: Architecture::Combined,
                platform: Platform::Vmware,
                service: Service::Mysql,
            },
            Cell {
                failure: FailureClass::Hardware,
                architecture: Architecture::DrbdHeartbeat,
                platform: Platform::OpenStack,
                service: Service::Apache,
            },
            Cell {
                failure: FailureClass::Software,
                architecture: Architecture::Combined,
                platform: Platform::OpenStack,
                service: Service::Apache,
            },
        ];
        let mut skipped = 0;
        for (i, e) in p.calibration.iter().enumerate() {
            let reverted = p.calibrated_except(i).expect("calibrates");
            for cell in cells {
                if super::cell_reads(&p, cell, &e.key) {
                    continue;
                }
                skipped += 1;
                assert_eq!(
                    run_trial(&p, cell, 0, 3).trace_hash,
                    run_trial(&reverted, cell, 0, 3).trace_hash,
                    "{cell} does not read {}",
                    e.key
                );
            }
        }
        assert!(skipped >= 10, "{skipped}");
        assert!(super::cell_reads(&p, cells[0], "filesystem.mount"));
        assert!(!super::cell_reads(&p, cells[1], "services.mysql.start"));
        let mut pacemaker = p.clone();
        pacemaker.setup.failover = crate::profile::Failover::Pacemaker;
        assert!(super::cell_reads(
            &pacemaker,
            cells[2],
            "resources.op_timeout"
        ));
        assert!(!super::cell_reads(&p, cells[2], "resources.op_timeout"));
    }

    #[test]
    fn a_calibration_of_a_missing_key_is_refused_naming_it() {
        let text = format!(
            "{}\n[[calibration]]\nkey = \"filesystem.mnt\"\nvalue = 1.0\nwhy = \"typo\"\n",
            crate::profile::THESIS_TOML
        );
        let e = Profile::from_toml(&text)
            .expect_err("no such key")
            .to_string();
        assert!(
            e.contains("filesystem.mnt") && e.contains("no such key"),
            "{e}"
        );
        let text = format!(
            "{}\n[[calibration]]\nkey = \"trial.horizon\"\nvalue = 0.0\nwhy = \"too short\"\n",
            crate::profile::THESIS_TOML
        );
        let e = Profile::from_toml(&text)
            .expect_err("out of range")
            .to_string();
        assert!(e.contains("trial.horizon = 0.0"), "{e}");
    }
}
