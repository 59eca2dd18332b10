//! The limits on what a user may ask of the simulator, in one place, and the range
//! checks that enforce them. `docs/simulation.md` ("Limits") lists them for users.
//!
//! Every value of a profile, a schedule and the command line is checked before anything
//! runs, so a bad value is an error naming the key, the value and the allowed range,
//! never a panic, a hang or an allocation failure. The event cap per trial is the last
//! guard for combinations that pass each range on its own but are still too much.

/// The longest duration anywhere in a profile (warm-up, horizon, timers, distribution
/// parameters) and of a host hang: one day, in seconds.
pub const MAX_SECS: f64 = 86_400.0;

/// The latest time of a scheduled fault after the warm-up: two days, in seconds (with
/// the study's profile a run to that time and its horizon stays well under
/// [`MAX_EVENTS_PER_TRIAL`]: the combined lab takes about 35 events per second).
pub const MAX_SCHEDULE_SECS: f64 = 2.0 * 86_400.0;

/// The most events (faults, heals) one schedule may hold; a random schedule that would
/// draw more is refused.
pub const MAX_SCHEDULE_EVENTS: usize = 10_000;

/// The most messages one `lose-messages` event may drop.
pub const MAX_LOST_MESSAGES: u32 = 1_000_000;

/// The largest profile or schedule text (and check configuration) read: 4 MiB.
pub const MAX_INPUT_BYTES: usize = 4 << 20;

/// The default cap on harness events (message deliveries, timer firings, disk and
/// process completions) in one trial. The study's trials take about 2,000-17,000
/// events, a scripted day about 1.5 million; at about 2 million events per second a
/// trial that reaches the cap has run for a few seconds.
pub const MAX_EVENTS_PER_TRIAL: u64 = 10_000_000;

/// The most worker threads `dualha reproduce` and `dualha check` start.
pub const MAX_THREADS: usize = 256;

/// One value out of its allowed range: `key = value: must be ...`.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{key} = {value}: {problem}")]
pub struct RangeError {
    /// The key, with its section (`heartbeat.keepalive`).
    pub key: String,
    /// The value as the user wrote it (`1e-9`, `NaN`).
    pub value: String,
    /// What is allowed.
    pub problem: String,
}

impl RangeError {
    /// A value that is not allowed.
    pub fn new(key: impl Into<String>, value: impl Into<String>, problem: String) -> RangeError {
        RangeError {
            key: key.into(),
            value: value.into(),
            problem,
        }
    }
}

/// A number as TOML would spell it: `1e-9`, `0.5`, `NaN`, `inf`.
pub fn show(x: f64) -> String {
    format!("{x:?}")
}

/// Checks that `x` seconds lie in `min..=max` (NaN and infinities never do).
pub fn secs_in(key: &str, x: f64, min: f64, max: f64) -> Result<(), RangeError> {
    if x >= min && x <= max {
        Ok(())
    } else {
        Err(RangeError::new(
            key,
            show(x),
            format!(
                "must be between {} and {} seconds",
                show_limit(min),
                show_limit(max)
            ),
        ))
    }
}

/// Checks that the whole number `x` lies in `min..=max`.
pub fn int_in(key: &str, x: u64, min: u64, max: u64, unit: &str) -> Result<(), RangeError> {
    if (min..=max).contains(&x) {
        Ok(())
    } else {
        let unit = if unit.is_empty() {
            String::new()
        } else {
            format!(" {unit}")
        };
        Err(RangeError::new(
            key,
            x.to_string(),
            format!("must be between {min} and {max}{unit}"),
        ))
    }
}

/// A limit as people read it: `0.001`, `3600`, `86400`.
pub fn show_limit(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        x.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_refuse_nan_and_infinities_and_name_key_value_and_range() {
        assert_eq!(secs_in("k", 1.0, 0.001, 3600.0), Ok(()));
        let e = secs_in("heartbeat.keepalive", 1e-9, 0.001, 3600.0).expect_err("too small");
        assert_eq!(
            e.to_string(),
            "heartbeat.keepalive = 1e-9: must be between 0.001 and 3600 seconds"
        );
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.5, 1e300] {
            assert!(secs_in("k", bad, 0.0, MAX_SECS).is_err(), "{bad}");
        }
        assert!(
            secs_in("k", f64::NAN, 0.0, MAX_SECS)
                .expect_err("NaN")
                .to_string()
                .contains("k = NaN")
        );
        assert_eq!(
            int_in("drbd.blocks", 0, 1, 10, "blocks")
                .expect_err("zero")
                .to_string(),
            "drbd.blocks = 0: must be between 1 and 10 blocks"
        );
    }
}
