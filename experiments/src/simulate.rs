//! `dualha simulate`: one run of a scripted fault schedule in the simulated lab.
//!
//! The schedule is a TOML list of faults (see `sim::schedule`) or the JSON schedule that
//! `dualha check` writes with a counterexample, so a violation the checker found replays
//! here with real durations. Prints the timeline of notable state changes and what was
//! measured; exit 0 when no oracle was violated, 1 when one was, 2 on a usage, profile or
//! schedule error (checked before the run), or when the run reaches its event cap.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use sim::limits::{MAX_EVENTS_PER_TRIAL, MAX_SECS};
use sim::schedule::{MAX_RANDOM_SPAN_SECS, MIN_MEAN_GAP_SECS, Schedule};
use sim::trial::{TrialError, run_schedule};
use sim::{Architecture, Cell, FailureKind, Platform, Service};

use crate::cli::{read_input, secs_arg};
use crate::outln;

/// `--mean-gap` when not given, seconds.
pub const DEFAULT_MEAN_GAP_SECS: f64 = 300.0;

/// The most `--max-events` may allow (about ten minutes of simulation).
pub const MAX_EVENTS_ARG: u64 = 1_000_000_000;

/// Arguments of `dualha simulate`.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// The fault schedule: TOML, or the JSON a `dualha check` counterexample writes.
    #[arg(long, required_unless_present = "random", conflicts_with = "random")]
    pub schedule: Option<PathBuf>,
    /// Instead of a schedule: random faults over this many seconds (1 to 86400; mean gap
    /// `--mean-gap`), drawn from the seed; the schedule is printed so it can be kept.
    #[arg(long, value_name = "SECONDS")]
    pub random: Option<f64>,
    /// Mean seconds between random faults (0.1 to 86400; at most 10000 faults); default
    /// 300.
    #[arg(long, value_name = "SECONDS", conflicts_with = "schedule")]
    pub mean_gap: Option<f64>,
    /// The architecture.
    #[arg(long, value_enum, default_value = "drbd-heartbeat")]
    pub architecture: ArchitectureArg,
    /// The platform.
    #[arg(long, value_enum, default_value = "vmware")]
    pub platform: PlatformArg,
    /// The service.
    #[arg(long, value_enum, default_value = "apache")]
    pub service: ServiceArg,
    /// The seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// A profile instead of the study's.
    #[arg(long)]
    pub profile: Option<PathBuf>,
    /// Print the result as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Stop with an error after this many simulated events (a guard against profiles
    /// and schedules that would run for hours).
    #[arg(long, default_value_t = MAX_EVENTS_PER_TRIAL, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=MAX_EVENTS_ARG))]
    pub max_events: u64,
}

/// `--architecture` values.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ArchitectureArg {
    /// One VM, no HA.
    SingleNode,
    /// DRBD + Heartbeat in one cluster.
    DrbdHeartbeat,
    /// The pair across two clusters, with VM restart.
    Combined,
}

/// `--platform` values.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum PlatformArg {
    /// vSphere HA.
    Vmware,
    /// Nova + Masakari.
    Openstack,
}

/// `--service` values.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ServiceArg {
    /// Apache.
    Apache,
    /// MySQL (its probe writes and checks for lost acknowledged writes).
    Mysql,
}

/// Runs `dualha simulate`.
pub fn run(args: &SimulateArgs) -> ExitCode {
    crate::cli::exit_code("dualha simulate", simulate(args))
}

fn simulate(args: &SimulateArgs) -> Result<ExitCode> {
    let profile = crate::reproduce::load_profile(args.profile.as_deref())?;
    let cell = Cell {
        failure: FailureKind::Software,
        architecture: match args.architecture {
            ArchitectureArg::SingleNode => Architecture::SingleNode,
            ArchitectureArg::DrbdHeartbeat => Architecture::DrbdHeartbeat,
            ArchitectureArg::Combined => Architecture::Combined,
        },
        platform: match args.platform {
            PlatformArg::Vmware => Platform::Vmware,
            PlatformArg::Openstack => Platform::Openstack,
        },
        service: match args.service {
            ServiceArg::Apache => Service::Apache,
            ServiceArg::Mysql => Service::Mysql,
        },
    };
    let schedule = match (&args.schedule, args.random) {
        (Some(path), _) => {
            let text = read_input(path)?;
            let s = Schedule::parse(&text).with_context(|| path.display().to_string())?;
            s.validate_for(cell.architecture)
                .with_context(|| path.display().to_string())?;
            s
        }
        (None, Some(span)) => {
            secs_arg("--random", span, 1.0, MAX_RANDOM_SPAN_SECS)?;
            let mean_gap = args.mean_gap.unwrap_or(DEFAULT_MEAN_GAP_SECS);
            secs_arg("--mean-gap", mean_gap, MIN_MEAN_GAP_SECS, MAX_SECS)?;
            let s =
                Schedule::stochastic(args.seed, span, mean_gap).context("--random/--mean-gap")?;
            s.validate_for(cell.architecture)
                .context("the random schedule")?;
            if !args.json {
                outln!("# random schedule (seed {}):", args.seed)?;
                let text = toml::to_string(&s).context("cannot print the schedule")?;
                for line in text.lines() {
                    outln!("# {line}")?;
                }
            }
            s
        }
        (None, None) => anyhow::bail!("give --schedule FILE or --random SECONDS"),
    };
    let run =
        run_schedule(&profile, cell, &schedule, args.seed, args.max_events).map_err(
            |e| match e {
                TrialError::EventLimit { .. } => {
                    anyhow::anyhow!("{e}; --max-events {} is the limit", args.max_events)
                }
                other => anyhow::Error::new(other),
            },
        )?;
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&run).context("cannot encode the run")?
        )?;
    } else {
        outln!(
            "{} / {} / {}: {} scheduled events (times after a {:.0} s warm-up)",
            cell.architecture.label(),
            cell.platform.label(),
            cell.service.label(),
            schedule.events.len(),
            profile.trial.warmup
        )?;
        for line in &run.timeline {
            outln!("  {line}")?;
        }
        let r = &run.result;
        match (r.recovered, r.recovery_secs) {
            (true, Some(s)) => outln!("service back {s:.1} s after the first fault")?,
            (true, None) => outln!("the service never stopped answering")?,
            (false, _) => outln!("the service did not come back within the horizon")?,
        }
        outln!(
            "down intervals: {:?}; STONITH requests: {}; trace hash {}",
            r.down_intervals,
            r.fencing_events,
            r.trace_hash
        )?;
        if let Some(v) = &r.violation {
            outln!("VIOLATION: {v}")?;
        }
    }
    Ok(if run.result.violation.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
