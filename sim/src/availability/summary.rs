//! Across runs: availability and downtime with 95 % confidence intervals (Student's t
//! over independent runs), nines, service MTTF and MTTR, and the counts per year.

use serde::{Deserialize, Serialize};

use super::config::{HOUR, YEAR};
use super::run::RunResult;

/// A mean with its two-sided 95 % interval; with one run the interval is the mean.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// The mean over runs.
    pub mean: f64,
    /// Lower end.
    pub low: f64,
    /// Upper end.
    pub high: f64,
}

impl Interval {
    /// The mean and t-interval of `xs`.
    pub fn of(xs: &[f64]) -> Interval {
        let n = xs.len();
        if n == 0 {
            return Interval {
                mean: f64::NAN,
                low: f64::NAN,
                high: f64::NAN,
            };
        }
        let mean = xs.iter().sum::<f64>() / n as f64;
        if n < 2 {
            return Interval {
                mean,
                low: mean,
                high: mean,
            };
        }
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let half = t975(n - 1) * (var / n as f64).sqrt();
        Interval {
            mean,
            low: mean - half,
            high: mean + half,
        }
    }

    /// The interval cut to `[lo, hi]`: a quantity that cannot leave that range (an
    /// availability is in [0, 1]) has no confidence outside it. The mean is unchanged.
    pub fn clipped(self, lo: f64, hi: f64) -> Interval {
        Interval {
            mean: self.mean,
            low: self.low.clamp(lo, hi),
            high: self.high.clamp(lo, hi),
        }
    }

    /// Whether `x` lies inside.
    pub fn contains(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }
}

/// The 97.5 % quantile of Student's t with `df` degrees of freedom: the table for up
/// to 30, then the normal's with Cornish-Fisher's first correction (error below 0.002).
pub fn t975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => TABLE[df - 1],
        _ => {
            let z: f64 = 1.959_964;
            let d = df as f64;
            z + (z.powi(3) + z) / (4.0 * d)
                + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * d * d)
        }
    }
}

/// Nines of an availability: -log10(1 - A) (infinite when nothing was down).
pub fn nines(a: f64) -> f64 {
    -(1.0 - a).max(0.0).log10()
}

/// What `dualha availability` reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Runs.
    pub runs: usize,
    /// Simulated years per run.
    pub years: f64,
    /// Steady-state availability (fraction of the time the service answered).
    pub availability: Interval,
    /// Nines of the mean availability.
    pub nines: f64,
    /// Downtime, minutes per 365-day year.
    pub downtime_min_per_year: Interval,
    /// Service outages per year.
    pub outages_per_year: f64,
    /// Mean time between outages (uptime / outages), hours; `None` without outages.
    pub mttf_hours: Option<f64>,
    /// Mean outage length, minutes; `None` without outages.
    pub mttr_minutes: Option<f64>,
    /// The longest outage of all runs, minutes.
    pub longest_outage_minutes: f64,
    /// Failovers (the service moved to the other guest), per year.
    pub failovers_per_year: f64,
    /// False failovers (a standby promoted while the Primary was up and answering).
    pub false_failovers: u64,
    /// Split brains (two Primaries with diverged data) begun.
    pub split_brains: u64,
    /// Application writes issued, and acknowledged writes lost.
    pub writes: u64,
    /// Acknowledged writes no replica holds any more.
    pub lost_writes: u64,
    /// Fraction of the time with one usable replica (no resync).
    pub degraded_fraction: f64,
    /// Fraction of the time resyncing.
    pub resync_fraction: f64,
    /// Component failures over all runs, per kind.
    pub failures: Vec<(super::ComponentKind, u64)>,
    /// Harness events over all runs.
    pub events: u64,
}

/// Summarises runs of the same length.
pub fn summarise(runs: &[RunResult]) -> Summary {
    let avail: Vec<f64> = runs.iter().map(RunResult::availability).collect();
    let downtime: Vec<f64> = avail.iter().map(|a| (1.0 - a) * YEAR / 60.0).collect();
    let total: f64 = runs.iter().map(|r| r.secs).sum();
    let years_total = total / YEAR;
    let up: f64 = runs.iter().map(|r| r.up_secs).sum();
    let down: f64 = runs.iter().map(|r| r.down_secs).sum();
    let outages: u64 = runs.iter().map(|r| r.outages).sum();
    let sum = |f: fn(&RunResult) -> u64| runs.iter().map(f).sum::<u64>();
    let mut failures: Vec<(super::ComponentKind, u64)> = super::ComponentKind::ALL
        .into_iter()
        .map(|k| (k, 0))
        .collect();
    for r in runs {
        for (i, (_, n)) in r.failures.iter().enumerate() {
            if let Some(f) = failures.get_mut(i) {
                f.1 += n;
            }
        }
    }
    // Availabilities lie in [0, 1], downtimes between none and the whole year: the
    // t-interval's symmetric half-width may reach past either end with few runs.
    let availability = Interval::of(&avail).clipped(0.0, 1.0);
    let per_year = |n: u64| {
        if years_total > 0.0 {
            n as f64 / years_total
        } else {
            0.0
        }
    };
    Summary {
        runs: runs.len(),
        years: runs.first().map_or(0.0, |r| r.secs / YEAR),
        nines: nines(availability.mean),
        availability,
        downtime_min_per_year: Interval::of(&downtime).clipped(0.0, YEAR / 60.0),
        outages_per_year: per_year(outages),
        mttf_hours: (outages > 0).then(|| up / outages as f64 / HOUR),
        mttr_minutes: (outages > 0).then(|| down / outages as f64 / 60.0),
        longest_outage_minutes: runs
            .iter()
            .map(|r| r.longest_outage_secs / 60.0)
            .fold(0.0, f64::max),
        failovers_per_year: per_year(sum(|r| r.failovers)),
        false_failovers: sum(|r| r.false_failovers),
        split_brains: sum(|r| r.split_brains),
        writes: sum(|r| r.writes),
        lost_writes: sum(|r| r.lost_writes),
        degraded_fraction: runs.iter().map(|r| r.degraded_secs).sum::<f64>() / total.max(1e-9),
        resync_fraction: runs.iter().map(|r| r.resync_secs).sum::<f64>() / total.max(1e-9),
        failures,
        events: sum(|r| r.events),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_and_nines() {
        let i = Interval::of(&[1.0, 2.0, 3.0]);
        assert!((i.mean - 2.0).abs() < 1e-12);
        // sd 1, n 3: half-width t(2) / sqrt(3) = 4.303 / 1.732.
        assert!((i.high - 2.0 - 4.303 / 3f64.sqrt()).abs() < 1e-9);
        assert!(i.contains(3.0) && !i.contains(5.0));
        assert!((nines(0.999) - 3.0).abs() < 1e-9);
        assert!((t975(40) - 2.021).abs() < 0.002, "{}", t975(40));
        assert!((t975(120) - 1.980).abs() < 0.002, "{}", t975(120));
    }

    /// Two runs, one never down and one a little: the t-interval reaches past 1, the
    /// reported availability interval stops at 1 and the downtime's at 0.
    #[test]
    fn availability_intervals_stay_inside_zero_and_one() {
        let run = |up: f64| RunResult {
            seed: 0,
            secs: 1000.0,
            up_secs: up,
            down_secs: 1000.0 - up,
            outages: 0,
            longest_outage_secs: 0.0,
            failovers: 0,
            false_failovers: 0,
            split_brains: 0,
            writes: 0,
            lost_writes: 0,
            degraded_secs: 0.0,
            resync_secs: 0.0,
            failures: Vec::new(),
            events: 0,
        };
        assert!(Interval::of(&[1.0, 0.99]).high > 1.0);
        let s = summarise(&[run(1000.0), run(990.0)]);
        assert!((s.availability.mean - 0.995).abs() < 1e-12);
        assert_eq!(s.availability.high, 1.0);
        assert!(s.availability.low < 0.995);
        assert_eq!(s.downtime_min_per_year.low, 0.0);
        assert!(s.downtime_min_per_year.high > 0.0);
        let i = Interval::of(&[0.0, 0.01]).clipped(0.0, 1.0);
        assert_eq!(i.low, 0.0);
    }
}
