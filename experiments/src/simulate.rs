//! `dualha simulate`: one run of a scripted fault schedule in the simulated lab.
//!
//! The schedule is a TOML list of faults (see `sim::schedule`) or the JSON schedule that
//! `dualha check` writes with a counterexample, so a violation the checker found replays
//! here with real durations. Prints the timeline of notable state changes and what was
//! measured; exit 0 when no oracle was violated, 1 when one was, 2 on a usage, profile or
//! schedule error.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use sim::schedule::Schedule;
use sim::trial::run_schedule;
use sim::{Architecture, Cell, FailureKind, Platform, Service};

/// Arguments of `dualha simulate`.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// The fault schedule: TOML, or the JSON a `dualha check` counterexample writes.
    #[arg(long, required_unless_present = "random", conflicts_with = "random")]
    pub schedule: Option<PathBuf>,
    /// Instead of a schedule: random faults over this many seconds (mean gap
    /// `--mean-gap`), drawn from the seed; the schedule is printed so it can be kept.
    #[arg(long)]
    pub random: Option<f64>,
    /// Mean seconds between random faults.
    #[arg(long, default_value_t = 300.0)]
    pub mean_gap: f64,
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
    match simulate(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("dualha simulate: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn simulate(args: &SimulateArgs) -> Result<ExitCode> {
    let profile = crate::reproduce::load_profile(args.profile.as_deref())?;
    let schedule = match (&args.schedule, args.random) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read schedule {}", path.display()))?;
            Schedule::parse(&text).with_context(|| format!("schedule {}", path.display()))?
        }
        (None, Some(span)) => {
            let positive = |x: f64| x.is_finite() && x > 0.0;
            if !positive(span) || !positive(args.mean_gap) {
                anyhow::bail!("--random and --mean-gap take positive seconds");
            }
            let s = Schedule::stochastic(args.seed, span, args.mean_gap);
            if !args.json {
                println!("# random schedule (seed {}):", args.seed);
                let text = toml::to_string(&s).context("cannot print the schedule")?;
                for line in text.lines() {
                    println!("# {line}");
                }
            }
            s
        }
        (None, None) => anyhow::bail!("give --schedule FILE or --random SECONDS"),
    };
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
    let run = run_schedule(&profile, cell, &schedule, args.seed);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&run).context("cannot encode the run")?
        );
    } else {
        println!(
            "{} / {} / {}: {} scheduled events (times after a {:.0} s warm-up)",
            cell.architecture.label(),
            cell.platform.label(),
            cell.service.label(),
            schedule.events.len(),
            profile.trial.warmup
        );
        for line in &run.timeline {
            println!("  {line}");
        }
        let r = &run.result;
        match (r.recovered, r.recovery_secs) {
            (true, Some(s)) => println!("service back {s:.1} s after the first fault"),
            (true, None) => println!("the service never stopped answering"),
            (false, _) => println!("the service did not come back within the horizon"),
        }
        println!(
            "down intervals: {:?}; STONITH requests: {}; trace hash {}",
            r.down_intervals, r.fencing_events, r.trace_hash
        );
        if let Some(v) = &r.violation {
            println!("VIOLATION: {v}");
        }
    }
    Ok(if run.result.violation.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
