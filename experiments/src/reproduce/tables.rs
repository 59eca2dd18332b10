//! The study's tables from simulated trials: the Y/N table (like tables 4.1-4.6) and a
//! per-cell statistics table, in Markdown and CSV.

use core::fmt::Write as _;

use sim::{Architecture, Cell, FailureClass, Platform, Service, TrialResult};

use super::acceptance::{STUDY_TABLE, mean_sd, recovery_times, trials_of, verdict};

/// The Y/N table beside the study's, as Markdown.
pub fn yn_markdown(results: &[TrialResult]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| failure | architecture | VMware (study) | VMware (simulated) | OpenStack (study) | OpenStack (simulated) |"
    );
    let _ = writeln!(s, "| --- | --- | --- | --- | --- | --- |");
    for (failure, arch, expect) in STUDY_TABLE {
        let study = if expect { "Y" } else { "N" };
        let vm = verdict(results, failure, arch, Platform::Vmware, &Service::ALL);
        let os = verdict(results, failure, arch, Platform::OpenStack, &Service::ALL);
        let _ = writeln!(
            s,
            "| {} (Apache, MySQL) | {} | {study} | {vm} | {study} | {os} |",
            failure.key(),
            arch.label()
        );
    }
    s
}

/// The Y/N table as CSV.
pub fn yn_csv(results: &[TrialResult]) -> String {
    let mut s = String::from("failure,architecture,platform,study,simulated\n");
    for (failure, arch, expect) in STUDY_TABLE {
        for platform in Platform::ALL {
            let v = verdict(results, failure, arch, platform, &Service::ALL);
            let _ = writeln!(
                s,
                "{},{},{},{},{v}",
                failure.key(),
                arch.key(),
                platform.key(),
                if expect { "Y" } else { "N" }
            );
        }
    }
    s
}

/// Recovery statistics of one cell, seconds.
struct CellStats {
    trials: usize,
    recovered: usize,
    /// Mean, sd, min, max of the recovered trials.
    summary: Option<(f64, f64, f64, f64)>,
}

fn stats(results: &[TrialResult], cell: Cell) -> CellStats {
    let t = recovery_times(results, cell);
    let summary = mean_sd(&t).map(|(m, sd)| {
        let min = t.iter().copied().fold(f64::INFINITY, f64::min);
        let max = t.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (m, sd, min, max)
    });
    CellStats {
        trials: trials_of(results, cell).len(),
        recovered: t.len(),
        summary,
    }
}

/// Every cell's recovery statistics, as Markdown.
pub fn stats_markdown(results: &[TrialResult]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| failure | architecture | platform | service | recovered | mean s | sd s | min s | max s |"
    );
    let _ = writeln!(s, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for cell in Cell::all() {
        let CellStats {
            trials: n,
            recovered: rec,
            summary,
        } = stats(results, cell);
        if n == 0 {
            continue;
        }
        let (m, sd, lo, hi) = match summary {
            Some((m, sd, lo, hi)) => (
                format!("{m:.1}"),
                format!("{sd:.1}"),
                format!("{lo:.1}"),
                format!("{hi:.1}"),
            ),
            None => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {rec}/{n} | {m} | {sd} | {lo} | {hi} |",
            cell.failure.key(),
            cell.architecture.label(),
            cell.platform.label(),
            cell.service.label()
        );
    }
    s
}

/// Every cell's recovery statistics, as CSV (empty fields where nothing recovered).
pub fn stats_csv(results: &[TrialResult]) -> String {
    let mut s = String::from(
        "failure,architecture,platform,service,trials,recovered,mean_s,sd_s,min_s,max_s\n",
    );
    for cell in Cell::all() {
        let CellStats {
            trials: n,
            recovered: rec,
            summary,
        } = stats(results, cell);
        if n == 0 {
            continue;
        }
        let nums = summary
            .map(|(m, sd, lo, hi)| format!("{m:.3},{sd:.3},{lo:.3},{hi:.3}"))
            .unwrap_or_else(|| ",,,".to_string());
        let _ = writeln!(
            s,
            "{},{},{},{},{n},{rec},{nums}",
            cell.failure.key(),
            cell.architecture.key(),
            cell.platform.key(),
            cell.service.key()
        );
    }
    s
}

/// The failures and services the study drew figures for (4.17-4.22).
pub fn figure_cells() -> Vec<(FailureClass, Service)> {
    FailureClass::ALL
        .into_iter()
        .flat_map(|f| Service::ALL.into_iter().map(move |s| (f, s)))
        .collect()
}

/// Whether `arch` takes part in `failure` in the study.
pub fn in_study(failure: FailureClass, arch: Architecture) -> bool {
    STUDY_TABLE
        .iter()
        .any(|&(f, a, _)| f == failure && a == arch)
}
