//! `dualha simulate`: one run of a scripted fault schedule in the simulated lab.
//!
//! The schedule is a TOML list of faults (see `sim::schedule`) or the JSON schedule that
//! `dualha check` writes with a counterexample, so a violation the checker found replays
//! here with real durations, in the configuration it was found in (which also picks the
//! lab: no cluster layer is the DRBD + Heartbeat lab, a VMware or OpenStack layer the
//! combined one) and with its application writes. Prints the timeline of notable state
//! changes and what was measured; exit 0 when no property was violated, 1 when one was,
//! 2 on a usage, profile or schedule error (checked before the run), or when the run
//! reaches its event cap.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use sim::limits::{MAX_EVENTS_PER_TRIAL, MAX_SECS};
use sim::schedule::{LabSchedule, MAX_RANDOM_SPAN_SECS, MIN_MEAN_GAP_SECS, Schedule, lab_of};
use sim::trial::{TrialError, run_schedule};
use sim::{Architecture, Cell, FailureClass, Platform, Service};

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
    /// The architecture; default drbd-heartbeat, or the one a schedule's configuration
    /// needs.
    #[arg(long, value_enum)]
    pub architecture: Option<ArchitectureArg>,
    /// The platform; default vmware, or the one a schedule's configuration needs.
    #[arg(long, value_enum)]
    pub platform: Option<PlatformArg>,
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
    /// With `--random`: also write the drawn schedule to FILE (TOML), to replay it with
    /// `--schedule FILE` or keep it beside a bug report. The file must not exist.
    #[arg(long, value_name = "FILE", conflicts_with = "schedule")]
    pub save_schedule: Option<PathBuf>,
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

/// The lab: the flags, else what the schedule's configuration needs, else the pair on
/// VMware.
fn cell_for(args: &SimulateArgs, schedule: Option<&Schedule>) -> Cell {
    let needed = schedule
        .and_then(|s| s.config.as_ref())
        .map(|c| lab_of(c.cluster_layer));
    let architecture = match args.architecture {
        Some(ArchitectureArg::SingleNode) => Architecture::SingleNode,
        Some(ArchitectureArg::DrbdHeartbeat) => Architecture::DrbdHeartbeat,
        Some(ArchitectureArg::Combined) => Architecture::Combined,
        None => needed.map_or(Architecture::DrbdHeartbeat, |(a, _)| a),
    };
    let platform = match args.platform {
        Some(PlatformArg::Vmware) => Platform::Vmware,
        Some(PlatformArg::Openstack) => Platform::OpenStack,
        None => needed.and_then(|(_, p)| p).unwrap_or(Platform::Vmware),
    };
    Cell {
        failure: FailureClass::Software,
        architecture,
        platform,
        service: match args.service {
            ServiceArg::Apache => Service::Apache,
            ServiceArg::Mysql => Service::Mysql,
        },
    }
}

fn simulate(args: &SimulateArgs) -> Result<ExitCode> {
    let profile = crate::reproduce::load_profile(args.profile.as_deref())?;
    let schedule = match (&args.schedule, args.random) {
        (Some(path), _) => {
            let text = read_input(path)?;
            let s = Schedule::parse(&text).with_context(|| path.display().to_string())?;
            s.check_lab(cell_for(args, Some(&s)), &profile)
                .with_context(|| path.display().to_string())?;
            s
        }
        (None, Some(span)) => {
            secs_arg("--random", span, 1.0, MAX_RANDOM_SPAN_SECS)?;
            let mean_gap = args.mean_gap.unwrap_or(DEFAULT_MEAN_GAP_SECS);
            secs_arg("--mean-gap", mean_gap, MIN_MEAN_GAP_SECS, MAX_SECS)?;
            let s =
                Schedule::stochastic(args.seed, span, mean_gap).context("--random/--mean-gap")?;
            s.validate_for(cell_for(args, None).architecture)
                .context("the random schedule")?;
            let text = toml::to_string(&s).context("cannot print the schedule")?;
            if let Some(path) = &args.save_schedule {
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(path)
                    .with_context(|| format!("--save-schedule {}", path.display()))?;
                std::io::Write::write_all(&mut f, text.as_bytes())
                    .with_context(|| format!("--save-schedule {}", path.display()))?;
            }
            if !args.json {
                outln!("# random schedule (seed {}):", args.seed)?;
                for line in text.lines() {
                    outln!("# {line}")?;
                }
            }
            s
        }
        (None, None) => anyhow::bail!("give --schedule FILE or --random SECONDS"),
    };
    let cell = cell_for(args, Some(&schedule));
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
            "{} / {} / {}: {} scheduled events (times after a {:.0} s warm-up){}",
            cell.architecture.label(),
            cell.platform.label(),
            cell.service.label(),
            schedule.events.len(),
            profile.trial.warmup,
            schedule
                .config
                .as_ref()
                .map_or(String::new(), |c| format!("; configuration {}", c.name)),
        )?;
        for line in &run.timeline {
            outln!("  {line}")?;
        }
        print_outcome(&run)?;
    }
    Ok(if !run.violations.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// What was measured, in words: recovery (or the outage still going on and why), down
/// time, overlaps, violations.
fn print_outcome(run: &sim::trial::ScriptedRun) -> Result<()> {
    let r = &run.result;
    match (&run.outage, r.recovery_secs) {
        (Some(o), _) => {
            outln!(
                "the service is down at the end of the run (since {:.1} s): {}",
                o.since,
                o.why
            )?;
        }
        (None, Some(s)) => outln!("service back {s:.1} s after the first fault")?,
        (None, None) => outln!("the service never stopped answering")?,
    }
    let down = r
        .down_intervals
        .iter()
        .fold(0.0, |sum, (a, b)| sum + (b - a));
    outln!(
        "down intervals: {:?} ({down:.1} s in all); STONITH requests: {}; trace hash {}",
        r.down_intervals,
        r.fencing_events,
        r.trace_hash
    )?;
    for o in &run.overlaps {
        outln!("{}: from {:.3} s to {:.3} s", o.overlap, o.from, o.to)?;
    }
    for v in &run.violations {
        outln!("VIOLATION: {v}")?;
    }
    Ok(())
}
