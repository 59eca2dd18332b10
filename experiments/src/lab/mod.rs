//! `dualha lab`: the two-cluster lab on one Linux machine, as root. Hosts, guest VMs,
//! the client (and a witness or ping node if the topology has one) are network
//! namespaces joined by veth pairs to one bridge per network, built from the same
//! `model::topology` description the simulator uses (`docs/lab.md`).
//!
//! * `plan` prints what `up` would build (no root needed);
//! * `up` builds it, checks that every network carries traffic, and holds it until
//!   Ctrl-C or SIGTERM, then tears it down (`--detach` leaves it up for `down`);
//! * `down` tears down a lab left up; `clean` removes what a killed run left behind;
//! * `run` measures: `dualha-node` in the guests, a write, a fault, the recovery.

pub mod fault;
pub mod netns;
mod nodes;
pub mod plan;
pub mod reach;
pub mod run;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use model::topology::{Architecture, Platform, ServiceKind, Topology};

use crate::cli::exit_code;
use crate::outln;
use crate::simulate::{ArchitectureArg, PlatformArg, ServiceArg};
pub use plan::LabPlan;

/// How long `--fault hang` freezes node1 unless `--hang-secs` says otherwise: longer
/// than the lab's 2 s deadtime, so node2 takes over.
const DEFAULT_HANG_SECS: f64 = 5.0;

/// `dualha lab`.
#[derive(Debug, Args)]
pub struct LabArgs {
    #[command(subcommand)]
    command: LabCommand,
}

/// Which lab: its architecture and platform, and its name.
#[derive(Debug, Args)]
pub struct LabSpec {
    /// The architecture whose topology the lab is built from.
    #[arg(long, value_enum, default_value = "drbd-heartbeat")]
    pub architecture: ArchitectureArg,
    /// The platform (names of hosts and VMs follow it).
    #[arg(long, value_enum, default_value = "vmware")]
    pub platform: PlatformArg,
    /// The service.
    #[arg(long, value_enum, default_value = "apache")]
    pub service: ServiceArg,
    /// The lab's name: its namespaces are called NAME-<element>.
    #[arg(long, default_value = "dualha")]
    pub name: String,
}

#[derive(Debug, Subcommand)]
enum LabCommand {
    /// Print the lab a topology gives: namespaces, networks, addresses (no root needed).
    Plan {
        #[command(flatten)]
        spec: LabSpec,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Build the lab, check every network, hold it until Ctrl-C, then tear it down.
    Up {
        #[command(flatten)]
        spec: LabSpec,
        /// Leave the lab up and return (`dualha lab down` removes it).
        #[arg(long)]
        detach: bool,
    },
    /// Measure: per trial, build the lab, run dualha-node in node1 and node2, write
    /// through NBD, inject the fault, time until node2 serves the write; tear down.
    Run {
        /// The lab's name.
        #[arg(long, default_value = "dualha")]
        name: String,
        /// How many trials (1 to 50).
        #[arg(long, default_value = "2", value_parser = run::parse_trials)]
        trials: usize,
        /// The fault each trial injects.
        #[arg(long, value_enum, default_value = "power-off")]
        fault: run::Fault,
        /// `--fault hang` only: seconds between SIGSTOP and SIGCONT (0.5 to 120; default 5).
        #[arg(long, value_parser = fault::parse_hang_secs)]
        hang_secs: Option<f64>,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Tear down a lab left up with `up --detach`.
    Down {
        /// The lab's name.
        #[arg(long, default_value = "dualha")]
        name: String,
    },
    /// Remove every namespace named NAME-* and the lab's record: leftovers of a killed run.
    Clean {
        /// The lab's name.
        #[arg(long, default_value = "dualha")]
        name: String,
    },
    /// (Internal) answer one UDP datagram inside a lab namespace.
    #[command(hide = true)]
    UdpEcho {
        #[arg(long)]
        bind: SocketAddr,
    },
    /// (Internal) send UDP probes until one is echoed; prints the seconds it took.
    #[command(hide = true)]
    UdpReach {
        #[arg(long)]
        to: SocketAddr,
    },
}

/// Runs `dualha lab`.
pub fn run(args: &LabArgs) -> ExitCode {
    exit_code("dualha lab", lab(args))
}

/// The topology `spec` names.
pub fn topology(spec: &LabSpec) -> Topology {
    let architecture = match spec.architecture {
        ArchitectureArg::SingleNode => Architecture::SingleNode,
        ArchitectureArg::DrbdHeartbeat => Architecture::DrbdHeartbeat,
        ArchitectureArg::Combined => Architecture::Combined,
    };
    let platform = match spec.platform {
        PlatformArg::Vmware => Platform::Vmware,
        PlatformArg::Openstack => Platform::OpenStack,
    };
    let service = match spec.service {
        ServiceArg::Apache => ServiceKind::Apache,
        ServiceArg::Mysql => ServiceKind::Mysql,
    };
    Topology::build(architecture, platform, service)
}

fn lab(args: &LabArgs) -> Result<ExitCode> {
    match &args.command {
        LabCommand::Plan { spec, json } => {
            let plan = LabPlan::from_topology(&spec.name, &topology(spec))?;
            if *json {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&plan).context("cannot encode the plan")?
                )?;
            } else {
                print_plan(&plan)?;
            }
        }
        LabCommand::Up { spec, detach } => {
            let plan = LabPlan::from_topology(&spec.name, &topology(spec))?;
            // Before anything is built: a Ctrl-C during the build tears it down too.
            let (stop_tx, stop_rx) = mpsc::channel();
            if !*detach {
                ctrlc::set_handler(move || {
                    let _ = stop_tx.send(());
                })
                .context("cannot catch Ctrl-C")?;
            }
            crate::cli::note(format_args!(
                "dualha lab: building '{}': {} namespaces, {} networks",
                plan.name,
                plan.namespaces().len(),
                plan.networks.len()
            ));
            netns::up(&plan)?;
            let checked = reach::check_all(&plan);
            let reached = match checked {
                Ok(r) => r,
                Err(e) => {
                    let _ = netns::down(&plan);
                    return Err(e.context("the lab was built but does not carry traffic"));
                }
            };
            print_plan(&plan)?;
            for r in &reached {
                outln!(
                    "  {}: {} -> {} answered in {:.1} ms",
                    r.network,
                    r.from,
                    r.to,
                    r.took.as_secs_f64() * 1e3
                )?;
            }
            if *detach {
                outln!(
                    "lab '{}' is up; `dualha lab down --name {0}` removes it",
                    plan.name
                )?;
            } else {
                outln!("lab '{}' is up; Ctrl-C tears it down", plan.name)?;
                let _ = stop_rx.recv();
                let removed = netns::down(&plan)?;
                outln!("lab '{}' torn down ({removed} namespaces)", plan.name)?;
            }
        }
        LabCommand::Run {
            name,
            trials,
            fault,
            hang_secs,
            json,
        } => {
            let spec = LabSpec {
                architecture: ArchitectureArg::DrbdHeartbeat,
                platform: PlatformArg::Vmware,
                service: ServiceArg::Apache,
                name: name.clone(),
            };
            if hang_secs.is_some() && *fault != run::Fault::Hang {
                anyhow::bail!(
                    "--hang-secs applies to --fault hang only (this run's fault is {})",
                    fault.describe(Duration::ZERO)
                );
            }
            let hang_secs = hang_secs.unwrap_or(DEFAULT_HANG_SECS);
            let plan = LabPlan::from_topology(name, &topology(&spec))?;
            let stop = Arc::new(AtomicBool::new(false));
            let flag = Arc::clone(&stop);
            ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
                .context("cannot catch Ctrl-C")?;
            let report = run::run(
                &plan,
                *trials,
                *fault,
                Duration::from_secs_f64(hang_secs),
                &stop,
            )?;
            if *json {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&report).context("cannot encode the report")?
                )?;
            } else {
                crate::cli::write_line(format_args!("{}", report.text().trim_end()))?;
            }
            if !report.all_durable {
                return Ok(ExitCode::from(1));
            }
        }
        LabCommand::Down { name } => {
            netns::require_root()?;
            let plan = netns::load(name)?;
            let removed = netns::down(&plan)?;
            outln!("lab '{name}' torn down ({removed} namespaces)")?;
        }
        LabCommand::Clean { name } => {
            let removed = netns::clean(name)?;
            outln!(
                "removed {} leftover namespaces of lab '{name}'{}",
                removed.len(),
                if removed.is_empty() {
                    String::new()
                } else {
                    format!(": {}", removed.join(", "))
                }
            )?;
        }
        LabCommand::UdpEcho { bind } => reach::echo(*bind)?,
        LabCommand::UdpReach { to } => {
            let took = reach::reach(*to)?;
            outln!("{}", took.as_secs_f64())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_plan(plan: &LabPlan) -> Result<()> {
    outln!("lab '{}' (switch namespace {})", plan.name, plan.switch)?;
    for n in &plan.networks {
        outln!("  network {} ({}): {}", n.name, n.role, n.subnet)?;
    }
    for m in &plan.members {
        let links: Vec<String> = m
            .links
            .iter()
            .map(|l| format!("{} {}", l.inner, l.address))
            .collect();
        outln!(
            "  {} {} [{}]: {}",
            m.kind,
            m.name,
            m.netns,
            links.join(", ")
        )?;
    }
    Ok(())
}
