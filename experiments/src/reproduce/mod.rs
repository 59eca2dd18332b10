//! `dualha reproduce`: the study, reproduced in the simulator.
//!
//! Runs every cell of the study (3 architectures x 2 platforms x 2 services x 3
//! failures) for a number of trials, in parallel and deterministically, and writes under
//! the output directory: `tables.md`/`tables.csv` (recovered Y/N, like the study's tables
//! 4.1-4.6), `stats.md`/`stats.csv`, the figures `recovery-<failure>-<service>.png/.svg`
//! (like 4.17-4.22) and `phases.png/.svg`, `REPORT.md` and `results.json`. Output files
//! hold no wall-clock values: two runs with one seed write byte-identical files; wall
//! time goes to the terminal only.

pub mod acceptance;
pub mod plots;
pub mod report;
pub mod sensitivity;
pub mod stats;
pub mod tables;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use sim::calibration::cell_reads;
use sim::limits::{MAX_EVENTS_PER_TRIAL, MAX_THREADS};
use sim::trace::TraceHash;
use sim::{Cell, Profile, TrialError, TrialResult, run_study};

use sensitivity::{RunPlan, SensitivityRow, ValueSet, run_set};

use crate::cli::{ensure_writable_dir, note, read_input};
use crate::outln;
use crate::simulate::MAX_EVENTS_ARG;

/// Arguments of `dualha reproduce`.
#[derive(Debug, clap::Args)]
pub struct ReproduceArgs {
    /// Trials per cell (the study ran 30).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub trials: u32,
    /// The run seed; the same seed writes the same files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where to write the report.
    #[arg(long, default_value = "out/thesis")]
    pub out: PathBuf,
    /// A profile TOML file instead of the study's (`experiments/profiles/thesis.toml`).
    #[arg(long)]
    pub profile: Option<PathBuf>,
    /// Worker threads, 1 to 256 (default: every core).
    #[arg(long, value_parser = threads_arg)]
    pub threads: Option<usize>,
    /// Print a JSON summary (facts and per-cell statistics) to standard output.
    #[arg(long)]
    pub json: bool,
    /// Trials per cell of each sensitivity run (one per calibrated value, plus the
    /// calibrated set they are compared with); 0 skips the sensitivity table.
    /// Default: a third of `--trials`, at least 10.
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub sensitivity_trials: Option<u32>,
    /// Stop with an error when one trial takes more than this many simulated events
    /// (the study's trials take fewer than 20,000).
    #[arg(long, default_value_t = MAX_EVENTS_PER_TRIAL, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=MAX_EVENTS_ARG))]
    pub max_events: u64,
}

/// Parses `--threads`: 1 to [`MAX_THREADS`].
pub fn threads_arg(s: &str) -> Result<usize, String> {
    let n: usize = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of threads"))?;
    if (1..=MAX_THREADS).contains(&n) {
        Ok(n)
    } else {
        Err(format!("{n}: must be between 1 and {MAX_THREADS}"))
    }
}

/// Loads the profile named by `path`, or the study's.
pub fn load_profile(path: Option<&Path>) -> Result<Profile> {
    match path {
        None => Ok(Profile::thesis()),
        Some(p) => {
            let text = read_input(p)?;
            Profile::from_toml(&text).with_context(|| p.display().to_string())
        }
    }
}

/// The hash over every trial's trace hash, in result order.
pub fn run_hash(results: &[TrialResult]) -> String {
    let mut h = TraceHash::default();
    for r in results {
        h.add(r.trace_hash.as_bytes());
    }
    h.hex()
}

/// What one reproduction computed: the headline (sourced) value set, the calibrated
/// one and the sensitivity table.
#[derive(Clone, Debug)]
pub struct Reproduction {
    /// The profile as written: sourced defaults.
    pub sourced: ValueSet,
    /// Every calibrated value applied (absent when the profile has none).
    pub calibrated: Option<ValueSet>,
    /// For each calibrated value, the facts that flip when it returns to its source.
    pub sensitivity: Vec<SensitivityRow>,
    /// Trials per cell of the calibrated set the sensitivity rows compare with.
    pub sensitivity_trials: u32,
}

/// Runs the sourced set, the calibrated set and the sensitivity runs.
pub fn reproduce_sets(
    profile: &Profile,
    plan: RunPlan<'_>,
    sensitivity_trials: u32,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Reproduction> {
    let per_set = plan.cells.len() * plan.trials as usize;
    let sourced = run_set("sourced", profile, plan, progress)?;
    let mut reproduction = Reproduction {
        sourced,
        calibrated: None,
        sensitivity: Vec::new(),
        sensitivity_trials,
    };
    if profile.calibration.is_empty() {
        return Ok(reproduction);
    }
    let calibrated_profile = profile.calibrated()?;
    let offset = |base: usize| move |done: usize| progress(base + done);
    let calibrated = run_set("calibrated", &calibrated_profile, plan, &offset(per_set))?;
    if sensitivity_trials > 0 {
        // Only the cells the facts read (the study has no single node under a cluster
        // failure).
        let read: Vec<Cell> = plan
            .cells
            .iter()
            .copied()
            .filter(|&c| tables::in_study(c.failure, c.architecture))
            .collect();
        let splan = RunPlan {
            trials: sensitivity_trials,
            cells: &read,
            ..plan
        };
        // The rows compare like with like: a calibrated set of the same trials.
        let base = run_study(
            &calibrated_profile,
            &read,
            sensitivity_trials,
            plan.seed,
            plan.threads,
            plan.max_events,
            &offset(2 * per_set),
        )?;
        let done_before = 2 * per_set + base.len();
        reproduction.sensitivity =
            sensitivity::sensitivity(profile, &base, splan, &offset(done_before))?;
    }
    reproduction.calibrated = Some(calibrated);
    Ok(reproduction)
}

/// Trials the whole reproduction runs, for the progress bar.
fn total_trials(profile: &Profile, cells: &[Cell], trials: u32, sensitivity_trials: u32) -> usize {
    let per_set = cells.len() * trials as usize;
    if profile.calibration.is_empty() {
        return per_set;
    }
    let read = cells
        .iter()
        .filter(|c| tables::in_study(c.failure, c.architecture))
        .count();
    if sensitivity_trials == 0 {
        return 2 * per_set;
    }
    let sens: usize = profile
        .calibration
        .iter()
        .map(|c| {
            cells
                .iter()
                .filter(|&&cell| tables::in_study(cell.failure, cell.architecture))
                .filter(|&&cell| cell_reads(profile, cell, &c.key))
                .count()
        })
        .sum();
    2 * per_set + (read + sens) * sensitivity_trials as usize
}

/// The default trials per sensitivity run: a third of `--trials`, at least 10 and at
/// most `--trials`, which keeps the default reproduction under half a minute on two
/// cores.
fn default_sensitivity_trials(trials: u32) -> u32 {
    (trials / 3).max(10).min(trials)
}

/// Writes every output file of a finished reproduction into `out`: the tables,
/// statistics, figures and `results.json` are the headline (sourced) set's.
pub fn write_outputs(
    out: &Path,
    reproduction: &Reproduction,
    info: &report::RunInfo,
    profile: &Profile,
) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let results = &reproduction.sourced.results;
    let write = |name: &str, text: &str| -> Result<()> {
        let path = out.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
    };
    write("tables.md", &tables::yn_markdown(results))?;
    write("tables.csv", &tables::yn_csv(results))?;
    write("stats.md", &tables::stats_markdown(results))?;
    write("stats.csv", &tables::stats_csv(results))?;
    write(
        "results.json",
        &serde_json::to_string_pretty(results).context("cannot encode results")?,
    )?;
    if let Some(c) = &reproduction.calibrated {
        write("stats-calibrated.csv", &tables::stats_csv(&c.results))?;
    }
    write(
        "sensitivity.json",
        &serde_json::to_string_pretty(&reproduction.sensitivity)
            .context("cannot encode the sensitivity table")?,
    )?;
    for (failure, service) in tables::figure_cells() {
        let stem = out.join(format!("recovery-{}-{}", failure.key(), service.key()));
        plots::recovery_figure(results, failure, service, &stem)?;
    }
    plots::phase_breakdown(results, &out.join("phases"))?;
    write("REPORT.md", &report::render(reproduction, info, profile))?;
    Ok(())
}

/// Runs `dualha reproduce`.
pub fn run(args: &ReproduceArgs) -> ExitCode {
    crate::cli::exit_code("dualha reproduce", reproduce(args))
}

fn reproduce(args: &ReproduceArgs) -> Result<ExitCode> {
    let profile = load_profile(args.profile.as_deref())?;
    // Before minutes of simulation: a report that cannot be written is found now.
    ensure_writable_dir("--out", &args.out)?;
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_THREADS))
    });
    let cells = Cell::all();
    let sensitivity_trials = args
        .sensitivity_trials
        .unwrap_or_else(|| default_sensitivity_trials(args.trials));
    let total = total_trials(&profile, &cells, args.trials, sensitivity_trials);
    note(format_args!(
        "dualha reproduce: {} cells x {} trials, sourced and calibrated values, {} sensitivity runs: {total} trials on {threads} threads (seed {})",
        cells.len(),
        args.trials,
        if sensitivity_trials == 0 {
            0
        } else {
            profile.calibration.len()
        },
        args.seed
    ));
    let started = Instant::now();
    let bar = crate::progress::Progress::new(total as u64, "trials");
    let progress = |done: usize| bar.set(done as u64);
    let plan = RunPlan {
        cells: &cells,
        trials: args.trials,
        seed: args.seed,
        threads,
        max_events: args.max_events,
    };
    let reproduction = reproduce_sets(&profile, plan, sensitivity_trials, &progress);
    bar.finish();
    let reproduction = reproduction.map_err(|e| match e.downcast::<TrialError>() {
        Ok(e @ TrialError::EventLimit { cell, trial, .. }) => anyhow::anyhow!(
            "trial {trial} of {cell}: {e}; --max-events {} is the limit",
            args.max_events
        ),
        Ok(other) => anyhow::Error::new(other),
        Err(other) => other,
    })?;
    let simulated = started.elapsed();
    let info = report::RunInfo {
        trials: args.trials,
        seed: args.seed,
        profile: profile.name.clone(),
        run_hash: run_hash(&reproduction.sourced.results),
        calibrated_run_hash: reproduction
            .calibrated
            .as_ref()
            .map(|c| run_hash(&c.results)),
    };
    write_outputs(&args.out, &reproduction, &info, &profile)?;
    let facts = &reproduction.sourced.facts;
    let holding = facts.iter().filter(|f| f.holds).count();
    if args.json {
        let summary = serde_json::json!({
            "trials": args.trials,
            "seed": args.seed,
            "run_hash": info.run_hash,
            "facts": facts,
            "calibrated_run_hash": info.calibrated_run_hash,
            "calibrated_facts": reproduction.calibrated.as_ref().map(|c| &c.facts),
            "sensitivity": reproduction.sensitivity,
        });
        outln!(
            "{}",
            serde_json::to_string_pretty(&summary).context("cannot encode summary")?
        )?;
    }
    note(format_args!("dualha reproduce: run hash {}", info.run_hash));
    if let Some(c) = &reproduction.calibrated {
        note(format_args!(
            "dualha reproduce: with the calibrated values {}/{} facts hold",
            c.facts.iter().filter(|f| f.holds).count(),
            c.facts.len()
        ));
    }
    note(format_args!(
        "dualha reproduce: with sourced values {holding}/{} facts of the study hold; report in {} (simulated in {:.1} s, {:.1} s in all)",
        facts.len(),
        args.out.join("REPORT.md").display(),
        simulated.as_secs_f64(),
        started.elapsed().as_secs_f64()
    ));
    for f in facts.iter().filter(|f| !f.holds) {
        note(format_args!(
            "  not reproduced: {} (simulated: {})",
            f.statement, f.found
        ));
    }
    Ok(ExitCode::SUCCESS)
}
