//! `dualha`: the command line of the dualha toolkit.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Two-layer high availability: verify, predict, run and measure.
#[derive(Debug, Parser)]
#[command(name = "dualha", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// One variant per subcommand; each runs through its module's `run`.
#[derive(Debug, Subcommand)]
enum Command {
    /// Model-check configurations for split brain, lost writes and stale primaries.
    Check(experiments::check::CheckArgs),
    /// Reproduce the study in the simulator and write its report (the main job).
    Reproduce(experiments::reproduce::ReproduceArgs),
    /// Replay a scripted fault schedule (or a checker counterexample) in the simulator.
    Simulate(experiments::simulate::SimulateArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => experiments::check::run(&args),
        Command::Reproduce(args) => experiments::reproduce::run(&args),
        Command::Simulate(args) => experiments::simulate::run(&args),
    }
}
