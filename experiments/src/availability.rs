//! `dualha availability`: long-run availability of each architecture, simulated with
//! failure and repair processes for every component (`sim::availability`), and with
//! `--analytic` the Markov chain built from the same profile.
//!
//! Runs are independent (seed, seed + 1, ...), spread over `--threads` threads and
//! summarised in seed order, so the answer does not depend on the thread count.
//! Progress (simulated days) goes to standard error.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sim::availability::{
    Analytic, RunResult, Summary, YEAR, analytic, run_availability, summarise,
};
use sim::limits::MAX_THREADS;
use sim::{Architecture, Cell, FailureClass, Platform, Service};

use crate::outln;
use crate::progress::Progress;
use crate::simulate::{ArchitectureArg, PlatformArg, ServiceArg};

/// `--years`: from about nine hours to a century.
pub const YEARS: (f64, f64) = (0.001, 100.0);
/// `--runs`.
pub const RUNS: (u64, u64) = (1, 1000);
/// The most application writes one run may issue (the write ledger keeps 8 bytes per
/// write: about 100 MB).
pub const MAX_WRITES_PER_RUN: f64 = 12.0e6;

/// What a long-run study covers, for `dualha availability` and `dualha sweep` alike.
#[derive(Debug, clap::Args)]
pub struct RunScope {
    /// Simulated years per run (0.001 to 100).
    #[arg(long, default_value_t = 1.0)]
    pub years: f64,
    /// Independent runs per cell (and per sweep point), 1 to 1000; the 95 % intervals
    /// are across runs.
    #[arg(long, default_value_t = 2)]
    pub runs: u64,
    /// One architecture; all three if absent.
    #[arg(long, value_enum)]
    pub architecture: Option<ArchitectureArg>,
    /// One platform; both if absent.
    #[arg(long, value_enum)]
    pub platform: Option<PlatformArg>,
    /// The service.
    #[arg(long, value_enum, default_value = "apache")]
    pub service: ServiceArg,
    /// The first run's seed (run i uses seed + i; in a sweep, point p's run r uses
    /// seed + p * runs + r).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Worker threads (1 to 256).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
}

/// Arguments of `dualha availability`.
#[derive(Debug, clap::Args)]
pub struct AvailabilityArgs {
    /// A profile instead of the study's (its `[availability]` section, or the defaults).
    #[arg(long)]
    pub profile: Option<PathBuf>,
    /// Years, runs, cells, seed and threads.
    #[command(flatten)]
    pub scope: RunScope,
    /// Only the analytic model (a Markov chain from the profile's means): no simulation.
    #[arg(long)]
    pub analytic: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// `K/N`: run only the runs whose index (cell by cell, run by run) modulo N is
    /// K - 1 and write `availability-shard-K-of-N.json` into `--out` for `dualha merge`.
    #[arg(long)]
    pub shard: Option<String>,
    /// Where `--shard` writes its file.
    #[arg(long, default_value = "out/availability")]
    pub out: PathBuf,
}

/// One row: a cell's simulation (unless `--analytic`) and its chain.
#[derive(Debug, Serialize)]
struct Row {
    architecture: Architecture,
    platform: Platform,
    service: Service,
    analytic: Option<Analytic>,
    simulated: Option<Summary>,
}

/// Runs `dualha availability`.
pub fn run(args: &AvailabilityArgs) -> ExitCode {
    crate::cli::exit_code("dualha availability", availability(args))
}

fn cells(args: &AvailabilityArgs) -> Vec<Cell> {
    cells_of(
        args.scope.architecture,
        args.scope.platform,
        args.scope.service,
    )
}

/// The cells of an architecture and platform choice (all of each when absent), platform
/// by platform.
pub(crate) fn cells_of(
    architecture: Option<ArchitectureArg>,
    platform: Option<PlatformArg>,
    service: ServiceArg,
) -> Vec<Cell> {
    let architectures = match architecture {
        None => vec![
            Architecture::SingleNode,
            Architecture::DrbdHeartbeat,
            Architecture::Combined,
        ],
        Some(ArchitectureArg::SingleNode) => vec![Architecture::SingleNode],
        Some(ArchitectureArg::DrbdHeartbeat) => vec![Architecture::DrbdHeartbeat],
        Some(ArchitectureArg::Combined) => vec![Architecture::Combined],
    };
    let platforms = match platform {
        None => vec![Platform::Vmware, Platform::OpenStack],
        Some(PlatformArg::Vmware) => vec![Platform::Vmware],
        Some(PlatformArg::Openstack) => vec![Platform::OpenStack],
    };
    let service = match service {
        ServiceArg::Apache => Service::Apache,
        ServiceArg::Mysql => Service::Mysql,
    };
    platforms
        .iter()
        .flat_map(|&platform| {
            architectures.iter().map(move |&architecture| Cell {
                failure: FailureClass::Software,
                architecture,
                platform,
                service,
            })
        })
        .collect()
}

/// Checks `--years`, `--runs` and `--threads`, and that a run of `years` under
/// `profile` stays within [`MAX_WRITES_PER_RUN`].
pub(crate) fn check_limits(
    profile: &sim::Profile,
    years: f64,
    runs: u64,
    threads: usize,
) -> Result<()> {
    if !(years >= YEARS.0 && years <= YEARS.1) {
        anyhow::bail!(
            "--years {}: must be between {} and {}",
            years,
            YEARS.0,
            YEARS.1
        );
    }
    if !(RUNS.0..=RUNS.1).contains(&runs) {
        anyhow::bail!("--runs {}: must be between {} and {}", runs, RUNS.0, RUNS.1);
    }
    if !(1..=MAX_THREADS).contains(&threads) {
        anyhow::bail!("--threads {threads}: must be between 1 and {MAX_THREADS}");
    }
    check_writes(profile, years)
}

/// Checks that a run of `years` under `profile` issues at most [`MAX_WRITES_PER_RUN`]
/// writes.
pub(crate) fn check_writes(profile: &sim::Profile, years: f64) -> Result<()> {
    let writes = years * YEAR / profile.availability.write_interval;
    if writes > MAX_WRITES_PER_RUN {
        anyhow::bail!(
            "--years {} with availability.write_interval = {} s issues about {writes:.0} \
             writes per run; at most {MAX_WRITES_PER_RUN:.0} (raise the interval or \
             shorten the run)",
            years,
            profile.availability.write_interval
        );
    }
    Ok(())
}

/// One simulated run to do: a profile, a cell and the run's seed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Job<'a> {
    /// The profile.
    pub profile: &'a sim::Profile,
    /// The cell.
    pub cell: Cell,
    /// The run's seed.
    pub seed: u64,
}

/// Runs `jobs` of `secs` simulated seconds each on `threads` threads, with progress in
/// simulated days on standard error; the results come back in job order, whatever the
/// thread count.
pub(crate) fn run_jobs(jobs: &[Job<'_>], secs: f64, threads: usize) -> Result<Vec<RunResult>> {
    let days_per_run = (secs / 86_400.0).ceil() as u64;
    let progress = Progress::new(days_per_run * jobs.len() as u64, "simulated days");
    let done = AtomicU64::new(0);
    let next = AtomicU64::new(0);
    let results: Vec<Vec<(usize, RunResult)>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads.min(jobs.len()))
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                        let Some(job) = jobs.get(i) else { break };
                        let mut reported = 0u64;
                        let result =
                            run_availability(job.profile, job.cell, secs, job.seed, &mut |f| {
                                let now = (f * days_per_run as f64) as u64;
                                if now > reported {
                                    let total = done.fetch_add(now - reported, Ordering::Relaxed)
                                        + now
                                        - reported;
                                    reported = now;
                                    progress.set(total);
                                }
                            });
                        mine.push((i, result));
                    }
                    mine
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_default())
            .collect()
    });
    progress.finish();
    let mut all: Vec<(usize, RunResult)> = results.into_iter().flatten().collect();
    all.sort_by_key(|(i, _)| *i);
    if all.len() != jobs.len() {
        anyhow::bail!("a worker thread failed");
    }
    Ok(all.into_iter().map(|(_, r)| r).collect())
}

/// What a shard file of `dualha availability --shard K/N` says it is.
pub(crate) const SHARD_FORMAT: &str = "dualha-availability-shard/1";

/// Everything that decides an availability study's simulated results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct StudyDefinition {
    profile: sim::Profile,
    cells: Vec<Cell>,
    years: f64,
    runs: u64,
    seed: u64,
}

impl StudyDefinition {
    /// Job `i` (cell `i / runs`, run `i % runs`).
    fn job(&self, i: usize) -> Job<'_> {
        let runs = self.runs as usize;
        Job {
            profile: &self.profile,
            cell: self.cells[i / runs],
            seed: self.seed.wrapping_add((i % runs) as u64),
        }
    }

    fn jobs(&self) -> usize {
        self.cells.len() * self.runs as usize
    }
}

/// A shard file of `dualha availability --shard K/N`: the runs `i` with
/// `i % N == K - 1`, run `i` being run `i % runs` of cell `i / runs`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct StudyShard {
    format: String,
    definition: StudyDefinition,
    shard: u64,
    shards: u64,
    runs: Vec<(usize, RunResult)>,
}

fn availability(args: &AvailabilityArgs) -> Result<ExitCode> {
    let shard = args
        .shard
        .as_deref()
        .map(crate::sweep::parse_shard)
        .transpose()?;
    let profile = crate::reproduce::load_profile(args.profile.as_deref())?;
    check_limits(
        &profile,
        args.scope.years,
        args.scope.runs,
        args.scope.threads,
    )?;
    let def = StudyDefinition {
        profile,
        cells: cells(args),
        years: args.scope.years,
        runs: args.scope.runs,
        seed: args.scope.seed,
    };
    let mut rows = analytic_rows(&def)?;
    if let Some((k, n)) = shard {
        if args.analytic {
            anyhow::bail!("--shard runs simulations; --analytic has none to share out");
        }
        crate::cli::ensure_writable_dir("--out", &args.out)?;
        let indices: Vec<usize> = (0..def.jobs()).filter(|&i| i as u64 % n == k - 1).collect();
        let jobs: Vec<Job<'_>> = indices.iter().map(|&i| def.job(i)).collect();
        let results = run_jobs(&jobs, def.years * YEAR, args.scope.threads)?;
        let file = StudyShard {
            format: SHARD_FORMAT.to_string(),
            shard: k,
            shards: n,
            runs: indices.into_iter().zip(results).collect(),
            definition: def,
        };
        let path = args.out.join(format!("availability-shard-{k}-of-{n}.json"));
        let text = serde_json::to_string(&file).context("cannot encode the shard")?;
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        crate::cli::note(format_args!(
            "dualha availability: wrote {}",
            path.display()
        ));
        return Ok(ExitCode::SUCCESS);
    }
    if !args.analytic {
        let jobs: Vec<Job<'_>> = (0..def.jobs()).map(|i| def.job(i)).collect();
        let started = std::time::Instant::now();
        let all = run_jobs(&jobs, def.years * YEAR, args.scope.threads)?;
        for (row, runs) in rows.iter_mut().zip(all.chunks(args.scope.runs as usize)) {
            row.simulated = Some(summarise(runs));
        }
        crate::cli::note(format_args!(
            "dualha availability: {} runs of {} years in {:.1} s",
            jobs.len(),
            args.scope.years,
            started.elapsed().as_secs_f64()
        ));
    }
    print_rows(&rows, &def, args.json)
}

fn analytic_rows(def: &StudyDefinition) -> Result<Vec<Row>> {
    def.cells
        .iter()
        .map(|&c| {
            Ok(Row {
                architecture: c.architecture,
                platform: c.platform,
                service: c.service,
                analytic: Some(analytic(&def.profile, c).with_context(|| {
                    format!("the analytic model of {}", c.architecture.label())
                })?),
                simulated: None,
            })
        })
        .collect()
}

fn print_rows(rows: &[Row], def: &StudyDefinition, json: bool) -> Result<ExitCode> {
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&rows).context("cannot encode the results")?
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    print_table(rows, def)?;
    Ok(ExitCode::SUCCESS)
}

/// `dualha merge` of availability shards: checks that they are of one study and hold
/// every run once, then prints what the unsharded `dualha availability` prints.
pub(crate) fn merge_shards(files: &[(PathBuf, String)], json: bool) -> Result<ExitCode> {
    let mut def: Option<(StudyDefinition, &PathBuf)> = None;
    let mut slots: Vec<Option<(RunResult, &PathBuf)>> = Vec::new();
    for (path, text) in files {
        let shard: StudyShard = serde_json::from_str(text).with_context(|| {
            format!(
                "{}: not a shard file of dualha availability",
                path.display()
            )
        })?;
        match &def {
            None => {
                slots = vec![None; shard.definition.jobs()];
                def = Some((shard.definition, path));
            }
            Some((d, first)) if *d != shard.definition => anyhow::bail!(
                "{} and {} are shards of different studies (profile, cells, years, runs or \
                 seed differ)",
                first.display(),
                path.display()
            ),
            Some(_) => {}
        }
        for (i, r) in shard.runs {
            let Some(slot) = slots.get_mut(i) else {
                anyhow::bail!("{}: run {i} is not one of the study's", path.display());
            };
            if let Some((_, other)) = slot {
                anyhow::bail!(
                    "run {i} is in {} and in {}",
                    other.display(),
                    path.display()
                );
            }
            *slot = Some((r, path));
        }
    }
    let Some((def, _)) = def else {
        anyhow::bail!("no shard files");
    };
    let missing: Vec<String> = slots
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_none())
        .map(|(i, _)| i.to_string())
        .take(20)
        .collect();
    if !missing.is_empty() {
        anyhow::bail!("runs in no shard: {}", missing.join(", "));
    }
    let all: Vec<RunResult> = slots.into_iter().flatten().map(|(r, _)| r).collect();
    let mut rows = analytic_rows(&def)?;
    for (row, runs) in rows.iter_mut().zip(all.chunks(def.runs as usize)) {
        row.simulated = Some(summarise(runs));
    }
    print_rows(&rows, &def, json)
}

fn print_table(rows: &[Row], def: &StudyDefinition) -> Result<()> {
    let profile = &def.profile;
    outln!(
        "profile {}, protocol {}, {} run(s) of {} year(s) per row, seed {}",
        profile.name,
        profile.drbd.protocol,
        def.runs,
        def.years,
        def.seed
    )?;
    if !profile.availability.all_exponential() {
        outln!("(not every distribution is exponential: the chain uses their means)")?;
    }
    for row in rows {
        outln!(
            "\n{} / {} / {}",
            row.architecture.label(),
            row.platform.label(),
            row.service.label()
        )?;
        if let Some(a) = &row.analytic {
            outln!(
                "  analytic:   availability {:.6} ({:.2} nines), downtime {:.1} min/year, {:.2} outages/year ({} states)",
                a.availability,
                sim::availability::nines(a.availability),
                a.downtime_min_per_year,
                a.outages_per_year,
                a.states
            )?;
        }
        if let Some(s) = &row.simulated {
            let opt = |x: Option<f64>, unit: &str| {
                x.map_or("-".to_string(), |v| format!("{v:.1} {unit}"))
            };
            outln!(
                "  simulated:  availability {:.6} [{:.6}, {:.6}] ({:.2} nines)",
                s.availability.mean,
                s.availability.low,
                s.availability.high,
                s.nines
            )?;
            outln!(
                "              downtime {:.1} min/year [{:.1}, {:.1}], {:.2} outages/year, service MTTF {}, MTTR {}, longest {:.1} min",
                s.downtime_min_per_year.mean,
                s.downtime_min_per_year.low,
                s.downtime_min_per_year.high,
                s.outages_per_year,
                opt(s.mttf_hours, "h"),
                opt(s.mttr_minutes, "min"),
                s.longest_outage_minutes
            )?;
            outln!(
                "              failovers {:.2}/year, false failovers {}, split brains {}, acknowledged writes lost {} of {}",
                s.failovers_per_year,
                s.false_failovers,
                s.split_brains,
                s.lost_writes,
                s.writes
            )?;
            outln!(
                "              degraded {:.3} % of the time, resyncing {:.4} %; failures: {}",
                s.degraded_fraction * 100.0,
                s.resync_fraction * 100.0,
                s.failures
                    .iter()
                    .map(|(k, n)| format!("{} {n}", k.key()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
    }
    Ok(())
}
