//! `dualha-node`: one node of a DRBD + Heartbeat-style pair on a real host — a replicated
//! disk exported over NBD by the Primary, with heartbeats, fencing and OCF resources.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use real::config::NodeConfig;
use real::control::{self, ControlRequest};

/// Runs one node of a replicated, failover pair (DRBD-like replication with
/// Heartbeat/Pacemaker-like failover), or talks to the running node.
#[derive(Debug, Parser)]
#[command(
    name = "dualha-node",
    version,
    about = "One node of a replicated failover pair: a DRBD-like replicated disk exported over NBD by the Primary, Heartbeat-like failure detection, fencing and OCF resources",
    long_about = "One node of a replicated failover pair: a DRBD-like replicated disk exported over NBD by the Primary, with Heartbeat-like failure detection, DRBD handlers, STONITH and OCF resource agents. It runs the same state machines that `dualha check` verifies and `dualha simulate` times.\n\nStart: `create-md` once per node (`--initial-primary` on one), then `run` on both. Talk to a running node with `status`, `promote`, `demote`, ... (each takes the node's `--config`). Configuration reference: docs/real.md."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the node in the foreground (logs to standard error; SIGTERM hands the group
    /// over to the peer, then stops).
    Run(ConfigArg),
    /// Write fresh metadata (like `drbdadm create-md`); run once per node before `run`.
    CreateMd {
        #[command(flatten)]
        config: ConfigArg,
        /// This node's data is the initial sync's source (like `drbdadm primary --force`
        /// on a new resource). Use on exactly one node.
        #[arg(long)]
        initial_primary: bool,
        /// Overwrite existing metadata (the next connection does a full sync).
        #[arg(long)]
        force: bool,
    },
    /// Check a configuration file and print what it configures.
    CheckConfig(ConfigArg),
    /// Show the running node's state (like `drbdadm status` plus `crm_mon`).
    Status {
        #[command(flatten)]
        config: ConfigArg,
        /// Print JSON instead.
        #[arg(long)]
        json: bool,
    },
    /// Make the replica Primary (`drbdadm primary`).
    Promote {
        #[command(flatten)]
        config: ConfigArg,
        /// Promote even an Inconsistent or Outdated disk, or without outdating the peer.
        #[arg(long)]
        force: bool,
    },
    /// Make the replica Secondary (`drbdadm secondary`).
    Demote(ConfigArg),
    /// Connect to the peer (`drbdadm connect`).
    Connect {
        #[command(flatten)]
        config: ConfigArg,
        /// Resolve a split brain by discarding this node's changes.
        #[arg(long)]
        discard_my_data: bool,
    },
    /// Disconnect from the peer (`drbdadm disconnect`).
    Disconnect(ConfigArg),
    /// Mark this node's disk Outdated (`drbdadm outdate`).
    Outdate(ConfigArg),
    /// Throw this Secondary's data away and resync every block from the peer
    /// (`drbdadm invalidate`); disconnected, on the next connection.
    Invalidate(ConfigArg),
    /// Pause a running resync.
    PauseSync(ConfigArg),
    /// Resume a paused resync.
    ResumeSync(ConfigArg),
    /// Forget fail counts, bans and blocks of the group (`crm resource cleanup`).
    Cleanup(ConfigArg),
}

#[derive(Debug, clap::Args)]
struct ConfigArg {
    /// The node's configuration file.
    #[arg(long, short, value_name = "FILE")]
    config: PathBuf,
}

fn load(c: &ConfigArg) -> anyhow::Result<NodeConfig> {
    Ok(NodeConfig::load(&c.config)?)
}

fn ask(c: &ConfigArg, req: ControlRequest, json: bool) -> anyhow::Result<ExitCode> {
    let cfg = load(c)?;
    let reply = control::request(&cfg.control, &req)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&reply)?);
    } else if req == ControlRequest::Status {
        match &reply.status {
            Some(s) => print!("{}", s.human()),
            None => println!("{}", reply.message),
        }
    } else {
        println!("{}", reply.message);
    }
    Ok(if reply.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(c) => {
            tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
                )
                .init();
            load(&c).and_then(real::node::run).map(|()| ExitCode::SUCCESS)
        }
        Command::CreateMd {
            config,
            initial_primary,
            force,
        } => load(&config)
            .and_then(|cfg| real::node::create_md(&cfg, initial_primary, force))
            .map(|msg| {
                println!("{msg}");
                ExitCode::SUCCESS
            }),
        Command::CheckConfig(c) => load(&c).map(|cfg| {
            let g = cfg.guest(1);
            println!(
                "{}: node {} (id {}) with peer {}; protocol {:?}, fencing {}, deadtime {:?}, keepalive {:?}; group: {}",
                cfg.file.display(),
                cfg.name,
                cfg.me.0,
                cfg.peer_name,
                g.replica.protocol,
                g.replica.fencing,
                g.membership.deadtime,
                g.membership.keepalive,
                g.group.resources.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(", ")
            );
            ExitCode::SUCCESS
        }),
        Command::Status { config, json } => ask(&config, ControlRequest::Status, json),
        Command::Promote { config, force } => ask(&config, ControlRequest::Promote { force }, false),
        Command::Demote(c) => ask(&c, ControlRequest::Demote, false),
        Command::Connect {
            config,
            discard_my_data,
        } => ask(&config, ControlRequest::Connect { discard_my_data }, false),
        Command::Disconnect(c) => ask(&c, ControlRequest::Disconnect, false),
        Command::Outdate(c) => ask(&c, ControlRequest::Outdate, false),
        Command::Invalidate(c) => ask(&c, ControlRequest::Invalidate, false),
        Command::PauseSync(c) => ask(&c, ControlRequest::PauseSync, false),
        Command::ResumeSync(c) => ask(&c, ControlRequest::ResumeSync, false),
        Command::Cleanup(c) => ask(&c, ControlRequest::Cleanup, false),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("dualha-node: {e:#}");
            ExitCode::from(2)
        }
    }
}
