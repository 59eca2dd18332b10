//! Duration distributions, drawn from seeded streams.

use core::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::limits::{MAX_SECS, RangeError, secs_in, show};

/// A distribution of durations, in seconds, as a profile writes it:
/// `{ dist = "uniform", min = 2.0, max = 4.0 }`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "lowercase", deny_unknown_fields)]
pub enum Dist {
    /// Always `secs`.
    Fixed {
        /// Seconds.
        secs: f64,
    },
    /// Uniform in `[min, max]`.
    Uniform {
        /// Lower bound, seconds.
        min: f64,
        /// Upper bound, seconds.
        max: f64,
    },
    /// Normal with `mean` and standard deviation `sd`, cut below at `min`.
    Normal {
        /// Mean, seconds.
        mean: f64,
        /// Standard deviation, seconds.
        sd: f64,
        /// Lower cut-off, seconds.
        min: f64,
    },
}

impl Dist {
    /// A fixed duration.
    pub const fn fixed(secs: f64) -> Dist {
        Dist::Fixed { secs }
    }

    /// One draw.
    pub fn sample(&self, rng: &mut impl Rng) -> Duration {
        let secs = match *self {
            Dist::Fixed { secs } => secs,
            Dist::Uniform { min, max } => {
                if max > min {
                    rng.random_range(min..=max)
                } else {
                    min
                }
            }
            Dist::Normal { mean, sd, min } => {
                // Box-Muller: two uniforms give one standard normal.
                let u1: f64 = rng.random_range(f64::EPSILON..1.0);
                let u2: f64 = rng.random_range(0.0..1.0);
                let z = (-2.0 * u1.ln()).sqrt() * (2.0 * core::f64::consts::PI * u2).cos();
                (mean + sd * z).max(min)
            }
        };
        // Saturates: a validated profile never gets near the end of `Duration`.
        Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or(Duration::MAX)
    }

    /// The mean, for reports.
    pub fn mean(&self) -> f64 {
        match *self {
            Dist::Fixed { secs } => secs,
            Dist::Uniform { min, max } => (min + max) / 2.0,
            Dist::Normal { mean, .. } => mean,
        }
    }

    /// Checks the parameters of the distribution at `key`: each within 0 and
    /// [`MAX_SECS`], and `min <= max`; the error names the parameter (`key.min`).
    pub fn validate(&self, key: &str) -> Result<(), RangeError> {
        let param = |name: &str, x: f64| secs_in(&format!("{key}.{name}"), x, 0.0, MAX_SECS);
        match *self {
            Dist::Fixed { secs } => param("secs", secs),
            Dist::Uniform { min, max } => {
                param("min", min)?;
                param("max", max)?;
                if max < min {
                    return Err(RangeError::new(
                        format!("{key}.max"),
                        show(max),
                        format!("must not be below min ({})", show(min)),
                    ));
                }
                Ok(())
            }
            Dist::Normal { mean, sd, min } => {
                param("mean", mean)?;
                param("sd", sd)?;
                param("min", min)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn draws_stay_within_their_bounds_and_repeat_with_the_seed() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let u = Dist::Uniform { min: 2.0, max: 4.0 };
        let n = Dist::Normal {
            mean: 10.0,
            sd: 5.0,
            min: 1.0,
        };
        let mut draws = Vec::new();
        for _ in 0..1000 {
            let d = u.sample(&mut rng).as_secs_f64();
            assert!((2.0..=4.0).contains(&d));
            let m = n.sample(&mut rng).as_secs_f64();
            assert!(m >= 1.0);
            draws.push(m);
        }
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((9.0..11.0).contains(&mean), "mean {mean}");
        let mut again = ChaCha8Rng::seed_from_u64(7);
        assert_eq!(
            u.sample(&mut again),
            Dist::Uniform { min: 2.0, max: 4.0 }.sample(&mut ChaCha8Rng::seed_from_u64(7))
        );
        let e = Dist::Uniform { min: 3.0, max: 1.0 }
            .validate("trial.fault_offset")
            .expect_err("max below min");
        assert_eq!(
            e.to_string(),
            "trial.fault_offset.max = 1.0: must not be below min (3.0)"
        );
        for bad in [f64::NAN, f64::INFINITY, -1.0, 1e300] {
            let e = Dist::fixed(bad).validate("k").expect_err("out of range");
            assert!(e.to_string().starts_with("k.secs = "), "{e}");
            // Even unvalidated, a draw never panics.
            let _ = Dist::fixed(bad).sample(&mut rng);
        }
    }
}
