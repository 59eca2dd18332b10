//! Duration distributions, drawn from seeded streams.
//!
//! The shapes a profile may name: fixed, uniform and a normal cut below (the study's
//! durations), and the lifetime shapes of availability models — exponential (constant
//! hazard), Weibull (wear-out or infant mortality, src: SCHROEDER-GIBSON) and lognormal
//! (repair times, src: SCHROEDER-GIBSON, KIM-MACHIDA-TRIVEDI). The draws come from
//! `rand_distr` on the caller's seeded stream, so a seed gives the same draws on every
//! run.

use core::time::Duration;

use rand::Rng;
use rand_distr::Distribution as _;
use serde::{Deserialize, Serialize};

use crate::limits::{MAX_SECS, RangeError, show, show_limit};

/// The largest Weibull shape or lognormal sigma a profile may give: beyond these the
/// distribution is a spike or a heavy tail no field study reports.
pub const MAX_SHAPE: f64 = 100.0;
/// The largest lognormal sigma.
pub const MAX_SIGMA: f64 = 10.0;

/// A distribution of durations, in seconds as a profile writes it (the availability
/// section writes hours): `{ dist = "uniform", min = 2.0, max = 4.0 }`.
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
    /// Exponential with `mean` (memoryless: the constant failure rate of a Markov
    /// availability model, 1 / mean).
    Exponential {
        /// Mean, seconds.
        mean: f64,
    },
    /// Weibull with `shape` k and `scale` (k < 1: failures come early, k > 1: wear-out;
    /// k = 1 is the exponential with mean `scale`).
    Weibull {
        /// Shape k.
        shape: f64,
        /// Scale, seconds.
        scale: f64,
    },
    /// Lognormal with `median` and `sigma`, the standard deviation of the logarithm
    /// (mean = median x exp(sigma^2 / 2)).
    Lognormal {
        /// Median, seconds.
        median: f64,
        /// Sigma of ln(duration).
        sigma: f64,
    },
}

impl Dist {
    /// A fixed duration.
    pub const fn fixed(secs: f64) -> Dist {
        Dist::Fixed { secs }
    }

    /// One draw as a number, in the distribution's own unit (never negative; NaN
    /// parameters, which validation refuses, draw 0).
    pub fn draw(&self, rng: &mut impl Rng) -> f64 {
        let x = match *self {
            Dist::Fixed { secs } => secs,
            Dist::Uniform { min, max } => {
                if max > min {
                    rng.random_range(min..=max)
                } else {
                    min
                }
            }
            Dist::Normal { mean, sd, min } => match rand_distr::Normal::new(mean, sd) {
                Ok(n) => n.sample(rng).max(min),
                Err(_) => mean.max(min),
            },
            Dist::Exponential { mean } => {
                if mean > 0.0 {
                    // Exp1 scaled: the same draw as Exp::new(1 / mean), without the
                    // division's rounding.
                    let e: f64 = rand_distr::Exp1.sample(rng);
                    e * mean
                } else {
                    0.0
                }
            }
            Dist::Weibull { shape, scale } => match rand_distr::Weibull::new(scale, shape) {
                Ok(w) if scale > 0.0 => w.sample(rng),
                _ => 0.0,
            },
            Dist::Lognormal { median, sigma } => {
                if median > 0.0 {
                    match rand_distr::LogNormal::new(median.ln(), sigma) {
                        Ok(l) => l.sample(rng),
                        Err(_) => median,
                    }
                } else {
                    0.0
                }
            }
        };
        if x.is_nan() { 0.0 } else { x.max(0.0) }
    }

    /// One draw.
    pub fn sample(&self, rng: &mut impl Rng) -> Duration {
        // Saturates: a validated profile never gets near the end of `Duration`.
        Duration::try_from_secs_f64(self.draw(rng)).unwrap_or(Duration::MAX)
    }

    /// The mean (for reports, and the rates of the analytic model). A normal's mean is
    /// its `mean` before the cut.
    pub fn mean(&self) -> f64 {
        match *self {
            Dist::Fixed { secs } => secs,
            Dist::Uniform { min, max } => (min + max) / 2.0,
            Dist::Normal { mean, .. } | Dist::Exponential { mean } => mean,
            Dist::Weibull { shape, scale } => scale * gamma(1.0 + 1.0 / shape),
            Dist::Lognormal { median, sigma } => median * (sigma * sigma / 2.0).exp(),
        }
    }

    /// Whether draws are memoryless (what the analytic model assumes of every
    /// failure and repair).
    pub fn is_exponential(&self) -> bool {
        matches!(self, Dist::Exponential { .. })
            || matches!(self, Dist::Weibull { shape, .. } if *shape == 1.0)
    }

    /// Checks the parameters of the distribution at `key`: each within 0 and
    /// [`MAX_SECS`], and `min <= max`; the error names the parameter (`key.min`).
    pub fn validate(&self, key: &str) -> Result<(), RangeError> {
        self.validate_in(key, MAX_SECS, "seconds")
    }

    /// [`Dist::validate`] with time parameters between 0 and `max` of `unit`; shapes
    /// between 0 and [`MAX_SHAPE`] (a Weibull shape above 0), sigmas between 0 and
    /// [`MAX_SIGMA`].
    pub fn validate_in(&self, key: &str, max: f64, unit: &str) -> Result<(), RangeError> {
        let param = |name: &str, x: f64| {
            if (0.0..=max).contains(&x) {
                Ok(())
            } else {
                Err(RangeError::new(
                    format!("{key}.{name}"),
                    show(x),
                    format!("must be between 0 and {} {unit}", show_limit(max)),
                ))
            }
        };
        let pure = |name: &str, x: f64, lo_open: bool, hi: f64| {
            let ok = if lo_open { x > 0.0 } else { x >= 0.0 } && x <= hi;
            if ok {
                Ok(())
            } else {
                let range = if lo_open {
                    format!("must be above 0 and at most {}", show_limit(hi))
                } else {
                    format!("must be between 0 and {}", show_limit(hi))
                };
                Err(RangeError::new(format!("{key}.{name}"), show(x), range))
            }
        };
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
            Dist::Exponential { mean } => param("mean", mean),
            Dist::Weibull { shape, scale } => {
                pure("shape", shape, true, MAX_SHAPE)?;
                param("scale", scale)?;
                // The mean must be a time in range too (a tiny shape makes it huge).
                param("mean", self.mean())
            }
            Dist::Lognormal { median, sigma } => {
                param("median", median)?;
                pure("sigma", sigma, false, MAX_SIGMA)?;
                param("mean", self.mean())
            }
        }
    }
}

/// The gamma function for x >= 1 (the Weibull mean needs Γ(1 + 1/k)), by the Lanczos
/// approximation (g = 7, 9 terms; relative error below 1e-13 on that range).
fn gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if !x.is_finite() {
        return f64::INFINITY;
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    (2.0 * core::f64::consts::PI).sqrt() * t.powf(x + 0.5) * (-t).exp() * a
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

    /// The lifetime shapes draw with the means their parameters say, repeat with the
    /// seed, and refuse parameters out of range by name.
    #[test]
    fn lifetime_shapes_have_their_means_and_are_checked() {
        let shapes = [
            Dist::Exponential { mean: 10.0 },
            Dist::Weibull {
                shape: 0.7,
                scale: 10.0,
            },
            Dist::Weibull {
                shape: 3.0,
                scale: 10.0,
            },
            Dist::Lognormal {
                median: 10.0,
                sigma: 0.8,
            },
        ];
        for d in shapes {
            let mut rng = ChaCha8Rng::seed_from_u64(3);
            let n = 200_000;
            let mean = (0..n).map(|_| d.draw(&mut rng)).sum::<f64>() / f64::from(n);
            let want = d.mean();
            assert!(
                (mean - want).abs() < 0.02 * want,
                "{d:?}: sample mean {mean}, analytic {want}"
            );
            assert_eq!(
                d.draw(&mut ChaCha8Rng::seed_from_u64(9)),
                d.draw(&mut ChaCha8Rng::seed_from_u64(9))
            );
            assert_eq!(d.validate("k"), Ok(()));
        }
        // Weibull with k = 1 is the exponential: mean = scale, and memoryless.
        let w1 = Dist::Weibull {
            shape: 1.0,
            scale: 5.0,
        };
        assert!((w1.mean() - 5.0).abs() < 1e-9);
        assert!(w1.is_exponential());
        assert!(!Dist::fixed(1.0).is_exponential());
        let e = Dist::Weibull {
            shape: 0.0,
            scale: 1.0,
        }
        .validate("availability.host.failure")
        .expect_err("shape 0");
        assert_eq!(
            e.to_string(),
            "availability.host.failure.shape = 0.0: must be above 0 and at most 100"
        );
        let e = Dist::Lognormal {
            median: 1.0,
            sigma: 11.0,
        }
        .validate_in("r", 1e6, "hours")
        .expect_err("sigma");
        assert_eq!(e.to_string(), "r.sigma = 11.0: must be between 0 and 10");
        let e = Dist::Exponential { mean: 2e6 }
            .validate_in("r", 1e6, "hours")
            .expect_err("mean");
        assert_eq!(
            e.to_string(),
            "r.mean = 2000000.0: must be between 0 and 1000000 hours"
        );
        // A tiny shape makes the mean astronomically long: refused by its mean.
        assert!(
            Dist::Weibull {
                shape: 0.01,
                scale: 1.0
            }
            .validate("k")
            .is_err()
        );
    }
}
