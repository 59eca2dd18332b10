//! The study's facts, checked against simulated trials.
//!
//! One function serves the report (which sets each fact beside what came out) and the
//! acceptance test (which fails when a fact does not hold).

use serde::Serialize;
use sim::{Architecture, Cell, FailureKind, Platform, Service, TrialResult};

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
    failure: FailureKind,
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
pub const STUDY_TABLE: [(FailureKind, Architecture, bool); 8] = [
    (FailureKind::Software, Architecture::SingleNode, false),
    (FailureKind::Software, Architecture::DrbdHeartbeat, true),
    (FailureKind::Software, Architecture::Combined, true),
    (FailureKind::Hardware, Architecture::SingleNode, false),
    (FailureKind::Hardware, Architecture::DrbdHeartbeat, true),
    (FailureKind::Hardware, Architecture::Combined, true),
    (FailureKind::Cluster, Architecture::DrbdHeartbeat, false),
    (FailureKind::Cluster, Architecture::Combined, true),
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

/// One fact of the study and whether the simulation reproduces it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fact {
    /// The fact, as the study states it.
    pub statement: String,
    /// What the simulation gives.
    pub found: String,
    /// Whether that reproduces the fact.
    pub holds: bool,
}

fn cell(
    failure: FailureKind,
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

/// Checks every acceptance fact of the "Predict" issue.
pub fn facts(results: &[TrialResult]) -> Vec<Fact> {
    let mut out = Vec::new();
    // 1. The Y/N table, exactly.
    for (failure, arch, expect) in STUDY_TABLE {
        for platform in Platform::ALL {
            let v = verdict(results, failure, arch, platform, &Service::ALL);
            let want = if expect { Verdict::Yes } else { Verdict::No };
            out.push(Fact {
                statement: format!(
                    "{} failure, {}, {}: {}",
                    failure.key(),
                    arch.label(),
                    platform.label(),
                    want
                ),
                found: v.to_string(),
                holds: v == want,
            });
        }
    }
    // 2. Software failure ranges in at least 90 % of trials, both platforms and both
    //    pair architectures.
    for (service, lo, hi) in [(Service::Apache, 45.0, 60.0), (Service::Mysql, 70.0, 100.0)] {
        for platform in Platform::ALL {
            for arch in [Architecture::DrbdHeartbeat, Architecture::Combined] {
                let c = cell(FailureKind::Software, arch, platform, service);
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
                out.push(Fact {
                    statement: format!(
                        "software failure, {}, {}, {}: recovers in {lo:.0}-{hi:.0} s in >= 90 % of trials",
                        arch.label(),
                        platform.label(),
                        service.label()
                    ),
                    found: format!("{within}/{n} ({:.0} %)", share * 100.0),
                    holds: n > 0 && share >= 0.9,
                });
            }
        }
    }
    let mean = |c: Cell| mean_sd(&recovery_times(results, c));
    // 3. Hardware: DRBD + Heartbeat faster than combined; VMware faster than OpenStack.
    for service in Service::ALL {
        for platform in Platform::ALL {
            let pair = mean(cell(
                FailureKind::Hardware,
                Architecture::DrbdHeartbeat,
                platform,
                service,
            ));
            let comb = mean(cell(
                FailureKind::Hardware,
                Architecture::Combined,
                platform,
                service,
            ));
            let (holds, found) = match (pair, comb) {
                (Some((p, _)), Some((c, _))) => (p < c, format!("{p:.1} s vs {c:.1} s")),
                _ => (false, "no recovered trials".to_string()),
            };
            out.push(Fact {
                statement: format!(
                    "hardware failure, {}, {}: DRBD + Heartbeat recovers faster than combined (mean)",
                    platform.label(),
                    service.label()
                ),
                found,
                holds,
            });
        }
        for arch in [Architecture::DrbdHeartbeat, Architecture::Combined] {
            let vm = mean(cell(FailureKind::Hardware, arch, Platform::Vmware, service));
            let os = mean(cell(
                FailureKind::Hardware,
                arch,
                Platform::Openstack,
                service,
            ));
            let (holds, found) = match (vm, os) {
                (Some((v, _)), Some((o, _))) => (v < o, format!("{v:.1} s vs {o:.1} s")),
                _ => (false, "no recovered trials".to_string()),
            };
            out.push(Fact {
                statement: format!(
                    "hardware failure, {}, {}: VMware recovers faster than OpenStack (mean)",
                    arch.label(),
                    service.label()
                ),
                found,
                holds,
            });
        }
    }
    // 4. Cluster failure (combined): VMware has the lower mean and the smaller spread.
    for service in Service::ALL {
        let vm = mean(cell(
            FailureKind::Cluster,
            Architecture::Combined,
            Platform::Vmware,
            service,
        ));
        let os = mean(cell(
            FailureKind::Cluster,
            Architecture::Combined,
            Platform::Openstack,
            service,
        ));
        let (holds, found) = match (vm, os) {
            (Some((vm_m, vm_sd)), Some((os_m, os_sd))) => (
                vm_m < os_m && vm_sd < os_sd,
                format!(
                    "VMware {vm_m:.1} s (sd {vm_sd:.1}) vs OpenStack {os_m:.1} s (sd {os_sd:.1})"
                ),
            ),
            _ => (false, "no recovered trials".to_string()),
        };
        out.push(Fact {
            statement: format!(
                "cluster failure, combined, {}: VMware has the lower mean and the smaller standard deviation",
                service.label()
            ),
            found,
            holds,
        });
    }
    out
}
