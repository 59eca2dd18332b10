//! `dualha`: the command line of the dualha toolkit.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Two-layer high availability: verify, predict, run and measure.
#[derive(Debug, Parser)]
#[command(
    name = "dualha",
    version,
    about = "Two-layer high availability (DRBD-style replication with Heartbeat/Pacemaker-style failover inside VMs that a virtualization cluster restarts): verify a configuration, predict its recoveries, reproduce the study",
    long_about = "Two-layer high availability: DRBD-style block replication with Heartbeat/Pacemaker-style failover inside guests, on top of a virtualization cluster (vSphere-HA-like or Nova + Masakari-like) that restarts the VMs of a dead host.\n\n  check         proves a configuration free of split brain and lost acknowledged writes up to a depth, or prints the shortest failure schedule that breaks it\n  reproduce     reruns the study in the deterministic simulator and writes its report\n  simulate      replays one fault schedule (or a checker counterexample) in the simulated lab\n  availability  simulates years of component failures and repairs, and solves the analytic Markov chain\n  sweep         runs the availability study over a grid of profile values (sharded with --shard K/N, joined by merge)\n  sweep         runs the availability study over a grid of profile values, whole or in shards (--shard K/N)\n  merge         combines sweep shards into the whole sweep's output\n  lab           builds the lab of network namespaces (as root) where real nodes run\n\nThe daemon that runs the same machines on real hosts is `dualha-node`. Documentation: docs/ in the source tree."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// One variant per subcommand; each runs through its module's `run`.
#[derive(Debug, Subcommand)]
enum Command {
    /// Long-run availability: simulated years of failures and repairs, and the analytic
    /// Markov chain.
    Availability(experiments::availability::AvailabilityArgs),
    /// Combine the shard files of `dualha sweep --shard K/N` into the whole sweep's output.
    Merge(experiments::sweep::MergeArgs),
    /// Long-run availability over a grid of profile values (CSV, JSON, figures), whole or
    /// in shards.
    Sweep(experiments::sweep::SweepArgs),
    /// Model-check configurations for split brain, lost writes and stale primaries.
    Check(experiments::check::CheckArgs),
    /// Reproduce the study in the simulator and write its report (the main job).
    Reproduce(experiments::reproduce::ReproduceArgs),
    /// Replay a scripted fault schedule (or a checker counterexample) in the simulator.
    Simulate(experiments::simulate::SimulateArgs),
    /// Check a profile, a fault schedule or a check configuration without running it.
    Validate(experiments::validate::ValidateArgs),
    /// Build, tear down or clean up the lab of network namespaces (as root).
    Lab(experiments::lab::LabArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Availability(args) => experiments::availability::run(&args),
        Command::Merge(args) => experiments::sweep::run_merge(&args),
        Command::Sweep(args) => experiments::sweep::run(&args),
        Command::Check(args) => experiments::check::run(&args),
        Command::Reproduce(args) => experiments::reproduce::run(&args),
        Command::Simulate(args) => experiments::simulate::run(&args),
        Command::Validate(args) => experiments::validate::run(&args),
        Command::Lab(args) => experiments::lab::run(&args),
    }
}
