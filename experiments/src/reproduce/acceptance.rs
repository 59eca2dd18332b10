//! The study's facts, checked against simulated trials.
//!
//! One function serves the report (which sets each fact beside what came out) and the
//! acceptance test (which fails when a fact does not hold).

use serde::Serialize;
use sim::{Architecture, Cell, FailureClass, Platform, Service, TrialResult};

use super::stats::{bootstrap_sd_diff, welch, wilson};

/// Recovered in every trial (Y), in none (N), or in some (a count: the study has none).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Verdict {
    /// Every trial recovered.
    Yes,
    /// No trial recovered.
    No,
    /// Some did: `recovered` of `trials`.
    Some {
        /// Trials that recovered.
        recovered: usize,
        /// Trials run.
        trials: usize,
    },
}

impl core::fmt::Display for Verdict {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Verdict::Yes => f.write_str("Y"),
            Verdict::No => f.write_str("N"),
            Verdict::Some { recovered, trials } => write!(f, "{recovered}/{trials}"),
        }
    }
}

/// The trials of one cell.
pub fn trials_of(results: &[TrialResult], cell: Cell) -> Vec<&TrialResult> {
    results.iter().filter(|r| r.cell == cell).collect()
}

/// The verdict of the trials of `failure` x `architecture` x `platform` over the given
/// services (the study's table pools Apache and MySQL).
pub fn verdict(
    results: &[TrialResult],
    failure: FailureClass,
    architecture: Architecture,
    platform: Platform,
    services: &[Service],
) -> Verdict {
    let rs: Vec<&TrialResult> = results
        .iter()
        .filter(|r| {
            r.cell.failure == failure
                && r.cell.architecture == architecture
                && r.cell.platform == platform
                && services.contains(&r.cell.service)
        })
        .collect();
    let recovered = rs.iter().filter(|r| r.recovered).count();
    match recovered {
        0 => Verdict::No,
        n if n == rs.len() => Verdict::Yes,
        n => Verdict::Some {
            recovered: n,
            trials: rs.len(),
        },
    }
}

/// The study's Y/N table (STUDY (the results)): (failure, architecture,
/// VMware, OpenStack). Single node under cluster failure is not in the study.
pub const STUDY_TABLE: [(FailureClass, Architecture, bool); 8] = [
    (FailureClass::Software, Architecture::SingleNode, false),
    (FailureClass::Software, Architecture::DrbdHeartbeat, true),
    (FailureClass::Software, Architecture::Combined, true),
    (FailureClass::Hardware, Architecture::SingleNode, false),
    (FailureClass::Hardware, Architecture::DrbdHeartbeat, true),
    (FailureClass::Hardware, Architecture::Combined, true),
    (FailureClass::Cluster, Architecture::DrbdHeartbeat, false),
    (FailureClass::Cluster, Architecture::Combined, true),
];

/// Recovery times of one cell's recovered trials, in trial order.
pub fn recovery_times(results: &[TrialResult], cell: Cell) -> Vec<f64> {
    trials_of(results, cell)
        .into_iter()
        .filter_map(|r| r.recovery_secs)
        .collect()
}

/// Mean and (sample) standard deviation; `None` for no data.
pub fn mean_sd(xs: &[f64]) -> Option<(f64, f64)> {
    if xs.is_empty() {
        return None;
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = if xs.len() > 1 {
        xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    Some((mean, var.sqrt()))
}

/// Whether a fact is about what recovers (it follows from the architecture) or about
/// how long recovery takes (it follows from durations).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FactKind {
    /// Recovered in all trials (Y) or none (N).
    Structural,
    /// A range, an ordering or a spread of recovery times.
    Timing,
}

/// One fact of the study and whether the simulation reproduces it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fact {
    /// Structural or timing.
    pub kind: FactKind,
    /// The fact, as the study states it.
    pub statement: String,
    /// What the simulation gives.
    pub found: String,
    /// Whether that reproduces the fact, read strictly ("all trials" means all).
    pub holds: bool,
    /// For a fact about all trials in a range: the lenient reading, at least 90 %.
    pub reading_90: Option<bool>,
    /// The 95 % sampling interval of the quantity the verdict reads.
    pub interval: String,
    /// The interval lies on one side of the verdict's threshold: more trials or another
    /// seed would not turn it.
    pub decided: bool,
    /// The cells the fact reads, for the phase comparison of the report.
    pub cells: Vec<Cell>,
}

fn cell(
    failure: FailureClass,
    architecture: Architecture,
    platform: Platform,
    service: Service,
) -> Cell {
    Cell {
        failure,
        architecture,
        platform,
        service,
    }
}

/// The share a fact about "all trials" needs: a true share below it would show 30 of
/// 30 in the study's 30 trials less than one time in 20 (0.9^30 < 0.05).
pub const ALL_TRIALS_SHARE: f64 = 0.9;

/// A share's interval as text.
fn share_interval(k: usize, n: usize) -> (String, f64, f64) {
    let (lo, hi) = wilson(k, n);
    (
        format!("{:.0}-{:.0} % (Wilson)", lo * 100.0, hi * 100.0),
        lo,
        hi,
    )
}

/// Compares two cells' mean recovery times: the study says `faster` has the lower mean.
fn faster_fact(results: &[TrialResult], statement: String, faster: Cell, slower: Cell) -> Fact {
    let a = recovery_times(results, faster);
    let b = recovery_times(results, slower);
    let (holds, found, interval, decided) = match (mean_sd(&a), mean_sd(&b), welch(&a, &b)) {
        (Some((p, _)), Some((c, _)), w) => {
            let (interval, decided) = match w {
                Some((_, lo, hi)) => (
                    format!("difference {lo:+.1} to {hi:+.1} s (Welch)"),
                    hi < 0.0 || lo > 0.0,
                ),
                None => ("-".to_string(), false),
            };
            (p < c, format!("{p:.1} s vs {c:.1} s"), interval, decided)
        }
        _ => (
            false,
            "no recovered trials".to_string(),
            "-".to_string(),
            true,
        ),
    };
    Fact {
        kind: FactKind::Timing,
        statement,
        found,
        holds,
        reading_90: None,
        interval,
        decided,
        cells: vec![faster, slower],
    }
}

/// Checks every fact of the study; `seed` seeds the bootstrap intervals.
pub fn facts(results: &[TrialResult], seed: u64) -> Vec<Fact> {
    let mut out = Vec::new();
    // 1. The Y/N table, exactly: Y means every trial recovered, N none.
    for (failure, arch, expect) in STUDY_TABLE {
        for platform in Platform::ALL {
            let v = verdict(results, failure, arch, platform, &Service::ALL);
            let want = if expect { Verdict::Yes } else { Verdict::No };
            let cells: Vec<Cell> = Service::ALL
                .into_iter()
                .map(|s| cell(failure, arch, platform, s))
                .collect();
            let n: usize = cells.iter().map(|&c| trials_of(results, c).len()).sum();
            let k = results
                .iter()
                .filter(|r| cells.contains(&r.cell) && r.recovered)
                .count();
            let (interval, lo, hi) = share_interval(k, n);
            // Y claims a share near 1, N one near 0.
            let decided = if expect {
                lo >= ALL_TRIALS_SHARE || hi < ALL_TRIALS_SHARE
            } else {
                hi <= 1.0 - ALL_TRIALS_SHARE || lo > 1.0 - ALL_TRIALS_SHARE
            };
            out.push(Fact {
                kind: FactKind::Structural,
                statement: format!(
                    "{} failure, {}, {}: {}",
                    failure.key(),
                    arch.label(),
                    platform.label(),
                    want
                ),
                found: v.to_string(),
                holds: v == want,
                reading_90: None,
                interval: format!("recovered {interval}"),
                decided,
                cells,
            });
        }
    }
    // 2. Software failure ranges in all trials, both platforms and both pair
    //    architectures.
    for (service, lo, hi) in [(Service::Apache, 45.0, 60.0), (Service::Mysql, 70.0, 100.0)] {
        for platform in Platform::ALL {
            for arch in [Architecture::DrbdHeartbeat, Architecture::Combined] {
                let c = cell(FailureClass::Software, arch, platform, service);
                let n = trials_of(results, c).len();
                let within = recovery_times(results, c)
                    .iter()
                    .filter(|&&t| (lo..=hi).contains(&t))
                    .count();
                let share = if n == 0 {
                    0.0
                } else {
                    within as f64 / n as f64
                };
                let (interval, wlo, whi) = share_interval(within, n);
                out.push(Fact {
                    kind: FactKind::Timing,
                    statement: format!(
                        "software failure, {}, {}, {}: recovers in {lo:.0}-{hi:.0} s in all trials",
                        arch.label(),
                        platform.label(),
                        service.label()
                    ),
                    found: format!("{within}/{n} ({:.0} %)", share * 100.0),
                    holds: n > 0 && within == n,
                    reading_90: Some(n > 0 && share >= ALL_TRIALS_SHARE),
                    interval: format!("within {interval}"),
                    decided: wlo >= ALL_TRIALS_SHARE || whi < ALL_TRIALS_SHARE,
                    cells: vec![c],
                });
            }
        }
    }
    // 3. Hardware: DRBD + Heartbeat faster than combined; VMware faster than OpenStack.
    for service in Service::ALL {
        for platform in Platform::ALL {
            out.push(faster_fact(
                results,
                format!(
                    "hardware failure, {}, {}: DRBD + Heartbeat recovers faster than combined (mean)",
                    platform.label(),
                    service.label()
                ),
                cell(FailureClass::Hardware, Architecture::DrbdHeartbeat, platform, service),
                cell(FailureClass::Hardware, Architecture::Combined, platform, service),
            ));
        }
        for arch in [Architecture::DrbdHeartbeat, Architecture::Combined] {
            out.push(faster_fact(
                results,
                format!(
                    "hardware failure, {}, {}: VMware recovers faster than OpenStack (mean)",
                    arch.label(),
                    service.label()
                ),
                cell(FailureClass::Hardware, arch, Platform::Vmware, service),
                cell(FailureClass::Hardware, arch, Platform::OpenStack, service),
            ));
        }
    }
    // 4. Cluster failure (combined): VMware has the lower mean and the smaller spread.
    for service in Service::ALL {
        let vm_cell = cell(
            FailureClass::Cluster,
            Architecture::Combined,
            Platform::Vmware,
            service,
        );
        let os_cell = cell(
            FailureClass::Cluster,
            Architecture::Combined,
            Platform::OpenStack,
            service,
        );
        let a = recovery_times(results, vm_cell);
        let b = recovery_times(results, os_cell);
        let (holds, found) = match (mean_sd(&a), mean_sd(&b)) {
            (Some((vm_m, vm_sd)), Some((os_m, os_sd))) => (
                vm_m < os_m && vm_sd < os_sd,
                format!(
                    "VMware {vm_m:.1} s (sd {vm_sd:.1}) vs OpenStack {os_m:.1} s (sd {os_sd:.1})"
                ),
            ),
            _ => (false, "no recovered trials".to_string()),
        };
        let (interval, decided) = match (welch(&a, &b), bootstrap_sd_diff(&a, &b, seed)) {
            (Some((_, ml, mh)), Some((_, sl, sh))) => {
                let below = mh < 0.0 && sh < 0.0;
                let against = ml > 0.0 || sl > 0.0;
                (
                    format!(
                        "mean {ml:+.1} to {mh:+.1} s (Welch), sd {sl:+.1} to {sh:+.1} s (bootstrap)"
                    ),
                    below || against,
                )
            }
            _ => ("-".to_string(), a.is_empty() || b.is_empty()),
        };
        out.push(Fact {
            kind: FactKind::Timing,
            statement: format!(
                "cluster failure, combined, {}: VMware has the lower mean and the smaller standard deviation",
                service.label()
            ),
            found,
            holds,
            reading_90: None,
            interval,
            decided,
            cells: vec![vm_cell, os_cell],
        });
    }
    out
}
