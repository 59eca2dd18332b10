//! `REPORT.md`: the study's numbers beside the simulated ones, and why they differ.

use core::fmt::Write as _;
use std::collections::BTreeMap;

use sim::profile::{Failover, HostHa, WatchdogAction};
use sim::{Cell, Platform, Profile, TrialResult};

use super::Reproduction;
use super::acceptance::{Fact, FactKind};
use super::sensitivity::ValueSet;
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
    /// The hash over every trial's trace hash (the sourced set).
    pub run_hash: String,
    /// The same over the calibrated set's trials.
    pub calibrated_run_hash: Option<String>,
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

/// The phase that makes the difference between the sourced and the calibrated set in
/// the cells of `fact`: for a fact about one cell, the phase whose mean differs most;
/// for a comparison of two cells, the phase whose gap between them (first minus
/// second) differs most. `None` without a calibrated set.
fn phase_that_differs(
    fact: &Fact,
    sourced: &ValueSet,
    calibrated: Option<&ValueSet>,
) -> Option<String> {
    let c = calibrated?;
    let s_means = phase_means(&sourced.results);
    let c_means = phase_means(&c.results);
    let lookup = |all: &[(Cell, Vec<(String, f64)>)], cell: Cell, name: &str| {
        all.iter()
            .find(|(c, _)| *c == cell)
            .and_then(|(_, ps)| ps.iter().find(|(n, _)| n == name).map(|(_, v)| *v))
            .unwrap_or(0.0)
    };
    let mut names: Vec<String> = Vec::new();
    for all in [&s_means, &c_means] {
        for (cell, ps) in all.iter() {
            if fact.cells.contains(cell) {
                for (n, _) in ps {
                    if !names.contains(n) {
                        names.push(n.clone());
                    }
                }
            }
        }
    }
    let value = |all: &[(Cell, Vec<(String, f64)>)], name: &str| match fact.cells[..] {
        [one] => lookup(all, one, name),
        [a, b, ..] => lookup(all, a, name) - lookup(all, b, name),
        [] => 0.0,
    };
    let mut best: Option<(f64, String)> = None;
    for name in names {
        let a = value(&s_means, &name);
        let b = value(&c_means, &name);
        if best.as_ref().is_none_or(|(d, _)| (a - b).abs() > *d) {
            let what = if fact.cells.len() > 1 {
                format!("{name}, gap {a:+.1} s vs {b:+.1} s")
            } else {
                format!("{name} {a:.1} s vs {b:.1} s")
            };
            best = Some(((a - b).abs(), what));
        }
    }
    best.map(|(_, t)| t)
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "**no**" }
}

fn decided(f: &Fact) -> &'static str {
    if f.decided {
        "decided"
    } else {
        "**undecided**"
    }
}

/// The whole report.
pub fn render(r: &Reproduction, info: &RunInfo, profile: &Profile) -> String {
    let mut s = String::new();
    let facts = &r.sourced.facts;
    let results = &r.sourced.results;
    let count = |fs: &[Fact], kind: FactKind| {
        let of: Vec<&Fact> = fs.iter().filter(|f| f.kind == kind).collect();
        (of.iter().filter(|f| f.holds).count(), of.len())
    };
    let holding = facts.iter().filter(|f| f.holds).count();
    let (sh, sn) = count(facts, FactKind::Structural);
    let (th, tn) = count(facts, FactKind::Timing);
    let undecided = facts.iter().filter(|f| !f.decided).count();
    let lucky = facts.iter().filter(|f| f.holds && !f.decided).count();
    let _ = writeln!(s, "# The study, reproduced in the simulator\n");
    let _ = writeln!(
        s,
        "Produced by `dualha reproduce --trials {} --seed {}` with profile `{}` \
         (`experiments/profiles/thesis.toml`): {} trials of {} cells per value set. Run \
         hash `{}` (sourced values){} (equal seeds give equal hashes). The study is \
         `STUDY` in docs/sources.md.\n",
        info.trials,
        info.seed,
        info.profile,
        results.len(),
        results.len() / info.trials.max(1) as usize,
        info.run_hash,
        info.calibrated_run_hash
            .as_ref()
            .map_or(String::new(), |h| format!(", `{h}` (calibrated values)")),
    );
    let _ = writeln!(
        s,
        "**With sourced values, {holding} of {} facts of the study are reproduced: {sh} of \
         {sn} structural (Y/N) facts and {th} of {tn} timing facts.** {undecided} of the \
         {} verdicts cannot be decided by {} trials per cell (their 95 % interval straddles \
         the threshold), so another seed or trial count may turn them; {lucky} of the \
         reproduced facts are among those.",
        facts.len(),
        facts.len(),
        info.trials
    );
    if let Some(c) = &r.calibrated {
        let ch = c.facts.iter().filter(|f| f.holds).count();
        let (csh, _) = count(&c.facts, FactKind::Structural);
        let (cth, _) = count(&c.facts, FactKind::Timing);
        let cu = c.facts.iter().filter(|f| !f.decided).count();
        let _ = writeln!(
            s,
            "With the {} calibrated values applied, {ch} of {} hold ({csh} structural, {cth} \
             timing; {cu} undecided). The sourced count is the headline: a calibrated value \
             is chosen to make a number come out, and the sensitivity table below shows \
             which facts each one carries.",
            profile.calibration.len(),
            c.facts.len()
        );
    }
    let _ = writeln!(s, "\n## The setup simulated\n");
    setup(&mut s, profile);
    let _ = writeln!(
        s,
        "\n## Structural facts: recovered in all trials (Y) or never (N)\n"
    );
    let _ = writeln!(
        s,
        "Apache and MySQL pooled, like the study's tables 4.1-4.6 (`tables.md`, \
         `tables.csv`). Y means every trial recovered; the interval is the recovered \
         share's.\n"
    );
    facts_table(&mut s, r, FactKind::Structural);
    let _ = writeln!(s, "\n## Timing facts\n");
    let _ = writeln!(
        s,
        "\"All trials\" is read strictly; the 90 % reading stands beside it. A range \
         fact is decided when the Wilson interval of the share within the range lies on \
         one side of 90 % (a share below 90 % would show 30 of 30 in the study's 30 trials \
         less than one time in 20); an ordering when the Welch interval of the difference \
         of means (and for the spread the bootstrap interval of the difference of \
         standard deviations, seeded) excludes zero.\n"
    );
    facts_table(&mut s, r, FactKind::Timing);
    let not: Vec<&Fact> = facts.iter().filter(|f| !f.holds).collect();
    let _ = writeln!(s, "\n## Not reproduced with sourced values\n");
    if not.is_empty() {
        let _ = writeln!(s, "Every fact is reproduced with sourced values.");
    } else {
        let _ = writeln!(
            s,
            "Each fact that does not hold, what came out, and the phase of the recovery \
             that differs most from the calibrated set: its mean for a fact about one \
             cell, its gap between the two cells compared (first minus second) for an \
             ordering (the phases are listed under \"Where recovery time goes\").\n"
        );
        let _ = writeln!(
            s,
            "| fact | simulated | phase that differs (sourced vs calibrated) |"
        );
        let _ = writeln!(s, "| --- | --- | --- |");
        for f in not {
            let _ = writeln!(
                s,
                "| {} | {} | {} |",
                f.statement,
                f.found,
                phase_that_differs(f, &r.sourced, r.calibrated.as_ref())
                    .unwrap_or_else(|| "-".to_string())
            );
        }
    }
    sensitivity_section(&mut s, r, info.seed);
    let _ = writeln!(s, "\n## Recovery times (sourced values)\n");
    let _ = writeln!(
        s,
        "Seconds from the failure to the first successful probe (probe every {} s); \
         `stats.csv` has the same numbers, `stats-calibrated.csv` the calibrated set's.\n",
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
        "Mean seconds per phase: detection (watchdog, monitor, deadtime, or the cluster \
         layer's host failure), VM restart (the cluster layer boots the guest elsewhere), \
         takeover (stopping on the old node, handover, promotion), mount, address, service \
         start and the wait for the next probe. ![phases](phases.png)\n"
    );
    let _ = writeln!(s, "| cell | sourced | calibrated |\n| --- | --- | --- |");
    let cal = r.calibrated.as_ref().map(|c| phase_means(&c.results));
    for (cell, phases) in phase_means(results) {
        let show = |ps: &[(String, f64)]| {
            ps.iter()
                .map(|(n, v)| format!("{n} {v:.1}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let other = cal
            .as_ref()
            .and_then(|all| all.iter().find(|(c, _)| *c == cell))
            .map_or_else(|| "-".to_string(), |(_, ps)| show(ps));
        let _ = writeln!(s, "| {cell} | {} | {other} |", show(&phases));
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
    let _ = writeln!(s, "## Mechanisms and calibration\n");
    s.push_str(EXPLANATIONS);
    s
}

/// The named choices of the profile, as the report states them.
fn setup(s: &mut String, profile: &Profile) {
    let failover = match profile.setup.failover {
        Failover::HeartbeatV1 => {
            "Heartbeat v1 (`haresources`): resources started and stopped, never monitored"
        }
        Failover::Pacemaker => "Pacemaker-style: monitors, operation timeouts, migration-threshold",
    };
    let action = match profile.watchdog.action {
        WatchdogAction::None => "none",
        WatchdogAction::Failover => "`heartbeat stop`, a graceful handover to the peer",
        WatchdogAction::Restart => "restart the service in place",
    };
    let _ = writeln!(s, "* failover in the guests: {failover};");
    let _ = writeln!(
        s,
        "* the software failure: the service is stopped by hand; a Monit-like watchdog in \
         the pair's guests checks every {} s (random phase) and acts: {action};",
        profile.watchdog.cycle
    );
    for p in Platform::ALL {
        let ha = match profile.platforms[&p].host_ha {
            HostHa::VsphereHa => "vSphere HA restarts the VMs of a failed host",
            HostHa::Masakari => "Nova + Masakari evacuate the VMs of a failed host",
        };
        let _ = writeln!(s, "* {}: {ha};", p.label());
    }
    let _ = writeln!(
        s,
        "* the lab: three hosts, a two-host HA cluster (h10, h11) and a third host (h12) \
         for the combined architecture's other guest; guest A starts on h10 or h11, drawn \
         per trial, so its host is the HA master in about half the trials;"
    );
    let _ = writeln!(
        s,
        "* the measurement: a probe every {} s, from the failure to the first successful \
         probe.",
        profile.probe.interval
    );
}

/// The facts of one kind, sourced beside calibrated.
fn facts_table(s: &mut String, r: &Reproduction, kind: FactKind) {
    let cal = r.calibrated.as_ref().map(|c| &c.facts);
    let timing = kind == FactKind::Timing;
    let _ = writeln!(
        s,
        "| fact | sourced: simulated | reproduced |{} 95 % interval | trial count | calibrated: simulated | reproduced |",
        if timing { " 90 % reading |" } else { "" }
    );
    let _ = writeln!(
        s,
        "| --- | --- | --- |{} --- | --- | --- | --- |",
        if timing { " --- |" } else { "" }
    );
    for (i, f) in r.sourced.facts.iter().enumerate() {
        if f.kind != kind {
            continue;
        }
        let reading = match f.reading_90 {
            Some(b) => format!(" {} |", yes_no(b)),
            None if timing => " - |".to_string(),
            None => String::new(),
        };
        let (cf, ch) = cal
            .and_then(|c| c.get(i))
            .map_or(("-".to_string(), "-"), |c| {
                (c.found.clone(), yes_no(c.holds))
            });
        let _ = writeln!(
            s,
            "| {} | {} | {} |{reading} {} | {} | {cf} | {ch} |",
            f.statement,
            f.found,
            yes_no(f.holds),
            f.interval,
            decided(f)
        );
    }
}

fn sensitivity_section(s: &mut String, r: &Reproduction, seed: u64) {
    let _ = writeln!(s, "\n## Sensitivity: what each calibrated value carries\n");
    if r.sensitivity.is_empty() {
        let _ = writeln!(
            s,
            "No sensitivity runs (the profile has no calibrated values, or \
             `--sensitivity-trials 0`)."
        );
        return;
    }
    let _ = writeln!(
        s,
        "Computed by the program: the calibrated set is run again ({} trials per cell, \
         seed {}) with one value returned to its sourced default, and every fact whose \
         verdict changes is listed (\"(undecided)\": the new verdict's interval straddles \
         its threshold).\n",
        r.sensitivity_trials, seed
    );
    let _ = writeln!(
        s,
        "| calibrated value | sourced default | calibrated | facts that flip | why calibrated |"
    );
    let _ = writeln!(s, "| --- | --- | --- | --- | --- |");
    for row in &r.sensitivity {
        let flips = if row.flips.is_empty() {
            "none".to_string()
        } else {
            row.flips
                .iter()
                .map(|(f, from, to, dec)| {
                    format!(
                        "{f}: {} -> {}{}",
                        if *from { "holds" } else { "fails" },
                        if *to { "holds" } else { "fails" },
                        if *dec { "" } else { " (undecided)" }
                    )
                })
                .collect::<Vec<_>>()
                .join("<br>")
        };
        let _ = writeln!(
            s,
            "| `{}` | `{}` | `{}` | {} ({} fact{}) | {} |",
            row.key,
            row.sourced,
            row.calibrated,
            flips,
            row.flips.len(),
            if row.flips.len() == 1 { "" } else { "s" },
            row.why
        );
    }
}

/// What comes from mechanisms and what from calibration, written once for every run
/// (the numbers above change, the mechanisms do not).
const EXPLANATIONS: &str = "\
* **From mechanisms (structural facts).** Which failures are survived follows from the \
  architecture and the machines: a single node has nobody to take over and local \
  storage the cluster layer cannot restart from; the DRBD + Heartbeat pair loses both \
  guests when its one cluster fails; the combined pair keeps a guest outside it. A \
  software failure is survived only because something notices the stopped service: \
  Heartbeat v1 does not, so the study's setup needs the watchdog (Monit running \
  `heartbeat stop`).
* **From durations (timing facts).** Every recovery time is the sum of the steps the \
  machines take: detection (the watchdog's cycle, Heartbeat's deadtime, vSphere HA's \
  T+15-18 s, or T+35 s when the failed host was the HA master: DD), the handover or \
  VM restart, promotion, mount, address and service start, plus the wait for the next \
  probe. With sourced values the software failover takes seconds after detection (no \
  file-system check on ext4, a clean unmount), the combined architecture's Heartbeat \
  takes over after the same deadtime as the pair's, and the two platforms run the same \
  vSphere HA under the same guests, so the timing facts that need something slower do \
  not come out; the calibrated values put that something in (see the sensitivity \
  table).
* **What the study's numbers imply about its unstated mechanisms.** Apache's 45-60 s \
  after a software failure, with a 15 s spread, needs about 45 s of steady work besides \
  a detection window of about 15 s: more than a clean ext4 handover and an Apache start \
  take, e.g. a file-system check, a longer stop, or a measurement that counted from \
  another moment. The combined architecture being slower after a host failure means \
  its Heartbeat did not take over before the VM restart (a longer deadtime, or no \
  takeover at all). OpenStack being slower than VMware on the same vSphere HA means \
  something besides vSphere HA delayed it (nested guests, the control plane or the \
  network path); no source gives the amount.
";
