//! Time as the drivers hand it in.
//!
//! A machine never reads a clock: the driver passes `now` into every call. The checker
//! abstracts durations away, the simulator advances a virtual clock, the daemon reads the
//! monotonic clock. Durations are plain [`core::time::Duration`]s.

use core::fmt;
use core::ops::{Add, Sub};
use core::time::Duration;

use serde::{Deserialize, Serialize};

/// A point in (virtual or real) time, in nanoseconds since an arbitrary epoch.
///
/// Only differences between two `Time`s mean anything; the epoch is the driver's choice
/// (the harness and the simulator start at zero).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Time(pub u64);

impl Time {
    /// The driver's epoch.
    pub const ZERO: Time = Time(0);

    /// A time `secs` seconds after the epoch, handy in tests and scenario files.
    pub const fn from_secs(secs: u64) -> Time {
        Time(secs * 1_000_000_000)
    }

    /// A time `millis` milliseconds after the epoch.
    pub const fn from_millis(millis: u64) -> Time {
        Time(millis * 1_000_000)
    }

    /// Nanoseconds since the epoch.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// The time elapsed since `earlier`, or zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Time) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Time {
    type Output = Time;

    /// Saturates instead of overflowing: a timer set "forever" stays at the end of time.
    fn add(self, rhs: Duration) -> Time {
        let nanos = u64::try_from(rhs.as_nanos()).unwrap_or(u64::MAX);
        Time(self.0.saturating_add(nanos))
    }
}

impl Sub for Time {
    type Output = Duration;

    fn sub(self, rhs: Time) -> Duration {
        self.saturating_since(rhs)
    }
}

impl fmt::Display for Time {
    /// Seconds with millisecond precision, the resolution people read traces at.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.0 / 1_000_000;
        write!(f, "{}.{:03}s", millis / 1000, millis % 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_and_subtracting_durations_round_trips() {
        let t = Time::from_secs(3) + Duration::from_millis(250);
        assert_eq!(t, Time::from_millis(3250));
        assert_eq!(t - Time::from_secs(1), Duration::from_millis(2250));
        assert_eq!(Time::from_secs(1) - t, Duration::ZERO);
        assert_eq!(t.to_string(), "3.250s");
    }

    #[test]
    fn adding_a_huge_duration_saturates() {
        assert_eq!(Time(5) + Duration::MAX, Time(u64::MAX));
    }
}
