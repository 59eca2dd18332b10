//! `REPORT.md`: the study's numbers beside the simulated ones, and why they differ.

use core::fmt::Write as _;
use std::collections::BTreeMap;

use sim::{Cell, Profile, TrialResult};

use super::acceptance::{Fact, mean_sd};
use super::tables;

/// What the report needs to know about the run (no wall-clock values: two runs with one
/// seed must write the same bytes).
#[derive(Clone, Debug)]
pub struct RunInfo {
    /// Trials per cell.
    pub trials: u32,
    /// The run seed.
    pub seed: u64,
    /// The profile's name.
    pub profile: String,
    /// The hash over every trial's trace hash.
    pub run_hash: String,
}

/// Mean seconds of each phase per recovered cell, phases in first-seen order.
pub fn phase_means(results: &[TrialResult]) -> Vec<(Cell, Vec<(String, f64)>)> {
    let mut out = Vec::new();
    for cell in Cell::all() {
        let rs: Vec<&TrialResult> = results
            .iter()
            .filter(|r| r.cell == cell && r.recovered)
            .collect();
        if rs.is_empty() {
            continue;
        }
        let mut order: Vec<String> = Vec::new();
        let mut sums: BTreeMap<String, f64> = BTreeMap::new();
        for r in &rs {
            for p in &r.phases {
                if !order.contains(&p.name) {
                    order.push(p.name.clone());
                }
                *sums.entry(p.name.clone()).or_insert(0.0) += p.secs;
            }
        }
        let n = rs.len() as f64;
        out.push((
            cell,
            order
                .into_iter()
                .map(|name| {
                    let v = sums.get(&name).copied().unwrap_or(0.0) / n;
                    (name, v)
                })
                .collect(),
        ));
    }
    out
}

/// The whole report.
pub fn render(
    results: &[TrialResult],
    facts: &[Fact],
    info: &RunInfo,
    profile: &Profile,
) -> String {
    let mut s = String::new();
    let holding = facts.iter().filter(|f| f.holds).count();
    let _ = writeln!(s, "# The study, reproduced in the simulator\n");
    let _ = writeln!(
        s,
        "Produced by `dualha reproduce --trials {} --seed {}` with profile `{}` \
         (`experiments/profiles/thesis.toml`): {} trials of {} cells. Run hash `{}` \
         (equal seeds give equal hashes). The study is `STUDY` in docs/sources.md.\n",
        info.trials,
        info.seed,
        info.profile,
        results.len(),
        results.len() / info.trials.max(1) as usize,
        info.run_hash
    );
    let _ = writeln!(
        s,
        "**{holding} of {} facts of the study hold in the simulation.**\n",
        facts.len()
    );
    let _ = writeln!(s, "## Recovered in all trials (Y) or never (N)\n");
    let _ = writeln!(
        s,
        "The study's tables 4.1-4.6 beside the simulation, Apache and MySQL pooled \
         (`tables.md`, `tables.csv`).\n"
    );
    s.push_str(&tables::yn_markdown(results));
    let _ = writeln!(s, "\n## The study's facts\n");
    let _ = writeln!(s, "| fact | simulated | holds |\n| --- | --- | --- |");
    for f in facts {
        let _ = writeln!(
            s,
            "| {} | {} | {} |",
            f.statement,
            f.found,
            if f.holds { "yes" } else { "**no**" }
        );
    }
    let _ = writeln!(s, "\n## Recovery times\n");
    let _ = writeln!(
        s,
        "Seconds from the failure to the first successful probe (probe every {} s, \
         the study's Monit cycle); `stats.csv` has the same numbers.\n",
        profile.probe.interval
    );
    s.push_str(&tables::stats_markdown(results));
    let _ = writeln!(
        s,
        "\nFigures like the study's 4.17-4.22 (one line per environment):\n"
    );
    for (failure, service) in tables::figure_cells() {
        let stem = format!("recovery-{}-{}", failure.key(), service.key());
        let _ = writeln!(s, "* ![{stem}]({stem}.png) ([SVG]({stem}.svg))");
    }
    let _ = writeln!(s, "\n## Where recovery time goes\n");
    let _ = writeln!(
        s,
        "Mean seconds per phase: detection (monitor, deadtime, or the cluster layer's \
         host failure), VM restart (the cluster layer boots the guest elsewhere), \
         takeover (stopping on the old node, handover, promotion), mount (file-system \
         check and journal replay), address, service start. ![phases](phases.png)\n"
    );
    let _ = writeln!(s, "| cell | phases |\n| --- | --- |");
    for (cell, phases) in phase_means(results) {
        let list: Vec<String> = phases.iter().map(|(n, v)| format!("{n} {v:.1}")).collect();
        let _ = writeln!(s, "| {cell} | {} |", list.join(", "));
    }
    let _ = writeln!(s, "\n## Safety during the trials\n");
    let sb = results.iter().filter(|r| r.split_brain).count();
    let lost: u64 = results.iter().map(|r| r.lost_acked_writes).sum();
    let fenced: u32 = results.iter().map(|r| r.fencing_events).sum();
    let _ = writeln!(
        s,
        "Split brain in {sb} trials; {lost} acknowledged transaction writes lost; {fenced} \
         STONITH requests. The study's failures never partition the guests, so its \
         configuration without fencing is not put to the test here: `dualha check` \
         finds the partition that breaks it.\n"
    );
    let _ = writeln!(
        s,
        "## Why the simulation differs from the study where it does\n"
    );
    s.push_str(EXPLANATIONS);
    let _ = mean_sd;
    s
}

/// The explanations, written once for every run (the numbers above change, the
/// mechanisms do not).
const EXPLANATIONS: &str = "\
* **Software failure.** Recovery is the service monitor's cycle (uniform over 10 s) plus \
  the group's stop on the failed node, the handover, promotion, the file-system check \
  before the mount (36-40 s, calibrated: the study's Apache recovers in 45-60 s although \
  Apache starts in seconds, so something else dominates, and the file-system check is \
  the step of the DRBD + Heartbeat recipe that takes tens of seconds), the address and \
  the service start. MySQL is slower by its stop and its InnoDB start (25-40 s, \
  calibrated). The platforms differ only in how fast the address moves, hence the \
  study's \"small differences between environments\".
* **Hardware failure.** DRBD + Heartbeat: Heartbeat's deadtime (30 s, Heartbeat's default: HA-CF in docs/sources.md) then the \
  takeover; the file system needs journal replay after the crash. Combined: Heartbeat \
  waits longer (deadtime 90 s, calibrated) and the cluster layer restarts the failed \
  guest first: vSphere HA at T+15-18 s (DD in docs/sources.md) plus a guest boot; the guest comes back, \
  its DRBD resyncs, and it takes its group again. The study gives no absolute numbers \
  here, only the order, which is what the facts check. On OpenStack the host layer is \
  slower (Nova's 60 s service_down_time, Masakari's 30 s stonith_wait and 180 s wait \
  period: MI and MS in docs/sources.md), so Heartbeat's takeover on the peer comes first there, and the address \
  takes longer (a Neutron port update, calibrated).
* **Cluster failure.** Only the combined architecture has a node outside the failed \
  cluster; its Heartbeat takes over after deadtime. On OpenStack the control plane that \
  lived in the failed cluster must fail over before the service address answers \
  (10-90 s, calibrated), hence the larger and more variable recovery.
* **Single node.** Nothing watches or restarts the service, and its disk is local, so \
  the cluster layer refuses to restart it elsewhere: N everywhere, as in the study.
* **What the study does not give.** Its figures' individual trials, the guests' \
  `ha.cf`, the file-system size and the service load are not published; every duration \
  that stands in for them is marked `calibrated` in the profile, and changing it moves \
  the affected recoveries by the same amount (the simulator draws durations of steps, \
  never recovery times).
";
