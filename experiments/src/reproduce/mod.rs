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

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use sim::trace::TraceHash;
use sim::{Cell, Profile, TrialResult, run_study};

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
    /// Worker threads (default: every core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print a JSON summary (facts and per-cell statistics) to standard output.
    #[arg(long)]
    pub json: bool,
}

/// Loads the profile named by `path`, or the study's.
pub fn load_profile(path: Option<&Path>) -> Result<Profile> {
    match path {
        None => Ok(Profile::thesis()),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read profile {}", p.display()))?;
            Profile::from_toml(&text).with_context(|| format!("profile {}", p.display()))
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
    match reproduce(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("dualha reproduce: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn reproduce(args: &ReproduceArgs) -> Result<ExitCode> {
    let profile = load_profile(args.profile.as_deref())?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let cells = Cell::all();
    let total = cells.len() * args.trials as usize;
    eprintln!(
        "dualha reproduce: {} cells x {} trials = {total} trials on {threads} threads (seed {})",
        cells.len(),
        args.trials,
        args.seed
    );
    let started = Instant::now();
    let progress = |done: usize| {
        if done % 20 == 0 || done == total {
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "\r  {done}/{total} trials ({:.0} %)",
                done as f64 * 100.0 / total as f64
            );
            let _ = err.flush();
        }
    };
    let results = run_study(&profile, &cells, args.trials, args.seed, threads, &progress);
    eprintln!();
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
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).context("cannot encode summary")?
        );
    }
    eprintln!("dualha reproduce: run hash {}", info.run_hash);
    eprintln!(
        "dualha reproduce: {holding}/{} facts of the study hold; report in {} (simulated in {:.1} s, {:.1} s in all)",
        facts.len(),
        args.out.join("REPORT.md").display(),
        simulated.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    for f in facts.iter().filter(|f| !f.holds) {
        eprintln!("  does not hold: {} (simulated: {})", f.statement, f.found);
    }
    Ok(ExitCode::SUCCESS)
}
