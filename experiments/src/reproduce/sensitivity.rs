//! The value sets a reproduction compares, and the sensitivity table.
//!
//! The headline is the profile as written: sourced defaults (and estimates that are not
//! chosen for any fact). The calibrated set applies every `[[calibration]]` entry. For
//! each entry the calibrated set is run again with that one value returned to its
//! sourced default, and the facts whose verdict changes are listed: what each
//! calibrated value carries, computed, never written by hand.

use serde::Serialize;
use sim::calibration::cell_reads;
use sim::{Cell, Profile, TrialError, TrialResult, run_study};

use super::acceptance::{Fact, facts};

/// The trials of one value set and the facts they give.
#[derive(Clone, Debug)]
pub struct ValueSet {
    /// `sourced` or `calibrated`.
    pub label: String,
    /// Every trial, in cell then trial order.
    pub results: Vec<TrialResult>,
    /// The study's facts against them.
    pub facts: Vec<Fact>,
}

/// One calibrated value and the facts it carries.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SensitivityRow {
    /// The profile key.
    pub key: String,
    /// Its sourced default, as TOML.
    pub sourced: String,
    /// Its calibrated value, as TOML.
    pub calibrated: String,
    /// Why it is calibrated.
    pub why: String,
    /// Facts whose verdict differs from the calibrated set's when this value returns to
    /// its sourced default: (statement, verdict with the calibrated value, verdict with
    /// the sourced one, whether the new verdict is decided by the trial count).
    pub flips: Vec<(String, bool, bool, bool)>,
}

/// How to run the trials of a value set.
#[derive(Clone, Copy, Debug)]
pub struct RunPlan<'a> {
    /// The cells.
    pub cells: &'a [Cell],
    /// Trials per cell.
    pub trials: u32,
    /// The run seed.
    pub seed: u64,
    /// Worker threads.
    pub threads: usize,
    /// The event cap per trial.
    pub max_events: u64,
}

/// Runs `profile` as planned and checks the facts.
pub fn run_set(
    label: &str,
    profile: &Profile,
    plan: RunPlan<'_>,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<ValueSet, TrialError> {
    let results = run_study(
        profile,
        plan.cells,
        plan.trials,
        plan.seed,
        plan.threads,
        plan.max_events,
        progress,
    )?;
    let facts = facts(&results, plan.seed);
    Ok(ValueSet {
        label: label.to_string(),
        results,
        facts,
    })
}

/// The facts whose verdict differs between `base` and `other`, in fact order.
pub fn flips(base: &[Fact], other: &[Fact]) -> Vec<(String, bool, bool, bool)> {
    base.iter()
        .zip(other)
        .filter(|(a, b)| a.holds != b.holds)
        .map(|(a, b)| (a.statement.clone(), a.holds, b.holds, b.decided))
        .collect()
}

/// The sensitivity table: for every calibration entry of `profile`, the calibrated
/// profile with that entry at its sourced default, run as planned, against `base` (the
/// calibrated set's trials, run as planned; the cells that do not read the entry's key,
/// `sim::calibration::cell_reads`, are taken from it).
pub fn sensitivity(
    profile: &Profile,
    base: &[TrialResult],
    plan: RunPlan<'_>,
    progress: &(dyn Fn(usize) + Sync),
) -> anyhow::Result<Vec<SensitivityRow>> {
    let calibrated = facts(base, plan.seed);
    let calibrated = &calibrated[..];
    let mut rows = Vec::new();
    let mut done = 0;
    for (i, c) in profile.calibration.iter().enumerate() {
        let reverted = profile.calibrated_except(i)?;
        // Cells that do not read the key would run the same trials as the base.
        let cells: Vec<Cell> = plan
            .cells
            .iter()
            .copied()
            .filter(|&cell| cell_reads(profile, cell, &c.key))
            .collect();
        let step = RunPlan {
            cells: &cells,
            ..plan
        };
        let before = done;
        let changed = run_study(
            &reverted,
            &cells,
            step.trials,
            step.seed,
            step.threads,
            step.max_events,
            &|n| progress(before + n),
        )?;
        done += changed.len();
        let mut results: Vec<TrialResult> = base
            .iter()
            .filter(|r| !cell_reads(profile, r.cell, &c.key))
            .cloned()
            .collect();
        results.extend(changed);
        let set_facts = facts(&results, plan.seed);
        let show = |v: Option<toml::Value>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
        rows.push(SensitivityRow {
            key: c.key.clone(),
            sourced: show(profile.value_at(&c.key)),
            calibrated: c.value.to_string(),
            why: c.why.clone(),
            flips: flips(calibrated, &set_facts),
        });
    }
    Ok(rows)
}
