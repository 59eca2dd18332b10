//! Duration distributions, drawn from seeded streams.

use core::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

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
        Duration::from_secs_f64(secs.max(0.0))
    }

    /// The mean, for reports.
    pub fn mean(&self) -> f64 {
        match *self {
            Dist::Fixed { secs } => secs,
            Dist::Uniform { min, max } => (min + max) / 2.0,
            Dist::Normal { mean, .. } => mean,
        }
    }

    /// Checks the parameters; the error names what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        let ok = |x: f64| x.is_finite() && x >= 0.0;
        match *self {
            Dist::Fixed { secs } if !ok(secs) => Err(format!("secs = {secs} must be >= 0")),
            Dist::Uniform { min, max } if !ok(min) || !ok(max) || max < min => Err(format!(
                "uniform needs 0 <= min <= max, got min = {min}, max = {max}"
            )),
            Dist::Normal { mean, sd, min } if !ok(mean) || !ok(sd) || !ok(min) => Err(format!(
                "normal needs mean, sd, min >= 0, got mean = {mean}, sd = {sd}, min = {min}"
            )),
            _ => Ok(()),
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
        assert!(Dist::Uniform { min: 3.0, max: 1.0 }.validate().is_err());
    }
}
