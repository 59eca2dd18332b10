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
pub mod tables;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use sim::limits::{MAX_EVENTS_PER_TRIAL, MAX_THREADS};
use sim::trace::TraceHash;
use sim::{Cell, Profile, TrialError, TrialResult, run_study};

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

/// Writes every output file of a finished run into `out`.
pub fn write_outputs(
    out: &Path,
    results: &[TrialResult],
    info: &report::RunInfo,
    profile: &Profile,
) -> Result<Vec<acceptance::Fact>> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let facts = acceptance::facts(results);
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
    for (failure, service) in tables::figure_cells() {
        let stem = out.join(format!("recovery-{}-{}", failure.key(), service.key()));
        plots::recovery_figure(results, failure, service, &stem)?;
    }
    plots::phase_breakdown(results, &out.join("phases"))?;
    write("REPORT.md", &report::render(results, &facts, info, profile))?;
    Ok(facts)
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
    let total = cells.len() * args.trials as usize;
    note(format_args!(
        "dualha reproduce: {} cells x {} trials = {total} trials on {threads} threads (seed {})",
        cells.len(),
        args.trials,
        args.seed
    ));
    let started = Instant::now();
    let bar = crate::progress::Progress::new(total as u64, "trials");
    let progress = |done: usize| bar.set(done as u64);
    let results = run_study(
        &profile,
        &cells,
        args.trials,
        args.seed,
        threads,
        args.max_events,
        &progress,
    )
    .map_err(|e| match e {
        TrialError::EventLimit { cell, trial, .. } => anyhow::anyhow!(
            "trial {trial} of {cell}: {e}; --max-events {} is the limit",
            args.max_events
        ),
        other => anyhow::Error::new(other),
    });
    bar.finish();
    let results = results?;
    let simulated = started.elapsed();
    let info = report::RunInfo {
        trials: args.trials,
        seed: args.seed,
        profile: profile.name.clone(),
        run_hash: run_hash(&results),
    };
    let facts = write_outputs(&args.out, &results, &info, &profile)?;
    let holding = facts.iter().filter(|f| f.holds).count();
    if args.json {
        let summary = serde_json::json!({
            "trials": args.trials,
            "seed": args.seed,
            "run_hash": info.run_hash,
            "facts": facts,
        });
        outln!(
            "{}",
            serde_json::to_string_pretty(&summary).context("cannot encode summary")?
        )?;
    }
    note(format_args!("dualha reproduce: run hash {}", info.run_hash));
    note(format_args!(
        "dualha reproduce: {holding}/{} facts of the study hold; report in {} (simulated in {:.1} s, {:.1} s in all)",
        facts.len(),
        args.out.join("REPORT.md").display(),
        simulated.as_secs_f64(),
        started.elapsed().as_secs_f64()
    ));
    for f in facts.iter().filter(|f| !f.holds) {
        note(format_args!(
            "  does not hold: {} (simulated: {})",
            f.statement, f.found
        ));
    }
    Ok(ExitCode::SUCCESS)
}
