//! Running what lives outside the protocol: OCF resource agents, DRBD's handlers and the
//! STONITH command, each as a child process whose exit code becomes the machine's input.
//!
//! Agents get the environment Pacemaker gives them (`OCF_ROOT`, `OCF_RESOURCE_INSTANCE`,
//! `OCF_RESOURCE_TYPE`, `OCF_RESKEY_<param>`, `OCF_RESKEY_CRM_meta_timeout` in ms; src:
//! the OCF resource agent API, ClusterLabs "Pacemaker Explained"), so Debian's
//! `resource-agents` and the project's own scripts both work. Handlers get what DRBD's
//! user-mode helpers get (`DRBD_RESOURCE`, `DRBD_PEER`, `DRBD_PEER_ADDRESS`; src:
//! drbd.conf(5) "handlers"). An agent that outlives its timeout is killed with its whole
//! process group, as Pacemaker's executor does, and counts as timed out.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use model::{
    HandlerReply, HandlerRequest, NodeId, OcfAction, OcfExit, ProcessEvent, ProcessRequest,
};
use tokio::process::Command;
use tokio::sync::mpsc::UnboundedSender;

use crate::config::NodeConfig;
use crate::event::Event;

/// Where Debian's resource-agents put the OCF tree.
const OCF_ROOT: &str = "/usr/lib/ocf";
/// How long a DRBD handler may run before it is killed and counts as failed (DRBD itself
/// waits for ever; a hung fence-peer would freeze I/O for ever).
const HANDLER_TIMEOUT: Duration = Duration::from_secs(120);
/// The most output of a failed agent that is logged.
const MAX_LOGGED_OUTPUT: usize = 2048;

/// The action's name as OCF agents take it.
pub fn action_name(a: OcfAction) -> &'static str {
    match a {
        OcfAction::Start => "start",
        OcfAction::Stop => "stop",
        OcfAction::Monitor => "monitor",
        OcfAction::Promote => "promote",
        OcfAction::Demote => "demote",
    }
}

/// How a child process ended.
enum Ended {
    Exit(i32),
    Signal,
    TimedOut,
    NotStarted(std::io::Error),
}

/// Runs `cmd` in its own process group; kills the group after `timeout`.
async fn run(mut cmd: Command, timeout: Duration, what: String) -> Ended {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return Ended::NotStarted(e),
    };
    let pid = child.id();
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(out)) => {
            let code = out.status.code();
            if code != Some(0) {
                let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
                text.push_str(&String::from_utf8_lossy(&out.stdout));
                let text: String = text.chars().take(MAX_LOGGED_OUTPUT).collect();
                tracing::info!(target: "dualha::agent", "{what} exited {code:?}: {}", text.trim());
            }
            code.map_or(Ended::Signal, Ended::Exit)
        }
        Ok(Err(e)) => Ended::NotStarted(e),
        Err(_) => {
            // The child itself is killed on drop; its descendants with the group.
            if let Some(pid) = pid {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", "--", &format!("-{pid}")])
                    .stderr(Stdio::null())
                    .status();
            }
            tracing::warn!(target: "dualha::agent", "{what} timed out after {timeout:?}: killed");
            Ended::TimedOut
        }
    }
}

/// Runs one OCF action of the group and reports its exit as [`Event::Process`].
pub fn spawn_ocf(cfg: &NodeConfig, req: ProcessRequest, events: UnboundedSender<Event>) {
    let Some(agent) = cfg.agents.get(&req.process).cloned() else {
        tracing::error!("no agent configured for resource {}", req.process);
        let _ = events.send(Event::Process(ProcessEvent {
            process: req.process,
            action: req.action,
            call: req.call,
            exit: OcfExit::ErrConfigured,
        }));
        return;
    };
    let action = action_name(req.action);
    let mut cmd = Command::new(&agent.agent);
    cmd.arg(action)
        .env("OCF_ROOT", OCF_ROOT)
        .env("OCF_FUNCTIONS_DIR", format!("{OCF_ROOT}/lib/heartbeat"))
        .env("OCF_RESOURCE_INSTANCE", &agent.name)
        .env("OCF_RESOURCE_TYPE", file_name(&agent.agent))
        .env("OCF_RA_VERSION_MAJOR", "1")
        .env("OCF_RA_VERSION_MINOR", "0")
        .env("__OCF_ACTION", action)
        .env(
            "OCF_RESKEY_CRM_meta_timeout",
            agent.op_timeout.as_millis().to_string(),
        )
        .env("HA_RSCTMP", std::env::temp_dir());
    for (k, v) in &agent.params {
        cmd.env(format!("OCF_RESKEY_{k}"), v);
    }
    let what = format!("{} {action}", agent.name);
    tokio::spawn(async move {
        let exit = match run(cmd, agent.op_timeout, what.clone()).await {
            Ended::Exit(code) => OcfExit::from_code(u8::try_from(code).unwrap_or(1)),
            Ended::Signal => OcfExit::ErrGeneric,
            Ended::TimedOut => OcfExit::Timeout,
            Ended::NotStarted(e) => {
                tracing::error!(target: "dualha::agent", "{what}: cannot run {}: {e}", agent.agent.display());
                OcfExit::ErrInstalled
            }
        };
        let _ = events.send(Event::Process(ProcessEvent {
            process: req.process,
            action: req.action,
            call: req.call,
            exit,
        }));
    });
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn shell(command: &str, cfg: &NodeConfig) -> Command {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(command)
        .env("DRBD_RESOURCE", &cfg.resource)
        .env("DRBD_PEER", &cfg.peer_name)
        .env("DRBD_PEER_ADDRESS", cfg.replication.peer.ip().to_string())
        .env("DRBD_NODE", &cfg.name)
        .env("DUALHA_NODE", &cfg.name)
        .env("DUALHA_PEER", &cfg.peer_name);
    cmd
}

/// Runs a DRBD handler; `fence-peer`'s exit code comes back as [`Event::Handler`].
pub fn spawn_handler(cfg: &NodeConfig, req: HandlerRequest, events: UnboundedSender<Event>) {
    let (command, name) = match req {
        HandlerRequest::FencePeer { .. } => (cfg.handlers.fence_peer.clone(), "fence-peer"),
        HandlerRequest::SplitBrain => (cfg.handlers.split_brain.clone(), "split-brain"),
        HandlerRequest::PrimaryLostAfterSplitBrain => {
            (cfg.handlers.pri_lost_after_sb.clone(), "pri-lost-after-sb")
        }
        HandlerRequest::PrimaryLost => (cfg.handlers.pri_lost.clone(), "pri-lost"),
    };
    let answers = matches!(req, HandlerRequest::FencePeer { .. });
    let Some(command) = command else {
        if answers {
            // No helper: DRBD reports a broken helper, which keeps I/O frozen and the peer
            // not outdated; the configuration check normally prevents this.
            tracing::warn!("no {name} handler configured");
            let _ = events.send(Event::Handler(HandlerReply {
                request: req,
                exit_code: 1,
            }));
        }
        return;
    };
    let cmd = shell(&command, cfg);
    tracing::info!(target: "dualha::handler", "running {name} handler");
    tokio::spawn(async move {
        let code = match run(cmd, HANDLER_TIMEOUT, format!("{name} handler")).await {
            Ended::Exit(c) => u8::try_from(c).unwrap_or(1),
            _ => 1,
        };
        tracing::info!(target: "dualha::handler", "{name} handler exit code {code}");
        if answers {
            let _ = events.send(Event::Handler(HandlerReply {
                request: req,
                exit_code: code,
            }));
        }
    });
}

/// Runs the STONITH command against `node`; exit 0 means the node is off.
pub fn spawn_fence(
    cfg: &NodeConfig,
    node: NodeId,
    timeout: Duration,
    events: UnboundedSender<Event>,
) {
    let Some(command) = cfg.handlers.stonith.clone() else {
        let _ = events.send(Event::FenceDone {
            node,
            success: false,
        });
        return;
    };
    let mut cmd = shell(&command, cfg);
    cmd.env("DUALHA_TARGET", &cfg.peer_name);
    tracing::warn!(target: "dualha::stonith", "fencing {}", cfg.peer_name);
    tokio::spawn(async move {
        let success = matches!(
            run(cmd, timeout, "stonith".to_string()).await,
            Ended::Exit(0)
        );
        let _ = events.send(Event::FenceDone { node, success });
    });
}
