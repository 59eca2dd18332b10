//! The local control socket: `dualha-node status`, `promote`, `demote`, ... talk to the
//! running node over a Unix socket that only root (the file's owner) may open, one JSON
//! request line and one JSON answer line per connection, like `drbdsetup` talking to
//! the kernel over netlink.

use std::io::{BufRead, BufReader, Read as _, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt as _, AsyncWriteExt};
use tokio::net::UnixListener;
use tokio::sync::{mpsc::UnboundedSender, oneshot};

use crate::event::Event;
use crate::status::NodeStatus;

/// The longest request line accepted.
const MAX_REQUEST: usize = 4096;

/// An operator request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum ControlRequest {
    /// The node's state.
    Status,
    /// `drbdadm primary [--force]`.
    Promote {
        /// `--force`.
        #[serde(default)]
        force: bool,
    },
    /// `drbdadm secondary`.
    Demote,
    /// `drbdadm connect [--discard-my-data]`.
    Connect {
        /// `--discard-my-data`.
        #[serde(default)]
        discard_my_data: bool,
    },
    /// `drbdadm disconnect`.
    Disconnect,
    /// `drbdadm outdate`.
    Outdate,
    /// `drbdadm invalidate`.
    Invalidate,
    /// `drbdadm pause-sync`.
    PauseSync,
    /// `drbdadm resume-sync`.
    ResumeSync,
    /// `crm resource cleanup`: forget fail counts, bans and blocks.
    Cleanup,
}

/// The answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ControlReply {
    /// Whether the request was carried out.
    pub ok: bool,
    /// What happened, or why not.
    pub message: String,
    /// The node's state after the request.
    pub status: Option<NodeStatus>,
}

/// Serves the control socket at `path` until the task is dropped.
pub async fn serve(path: &Path, events: UnboundedSender<Event>) -> std::io::Result<()> {
    if path.exists() {
        // A socket left by a killed node; a live node would still be listening, and
        // binding over it is what every daemon with a control socket does.
        std::fs::remove_file(path)?;
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    loop {
        let (stream, _) = listener.accept().await?;
        let events = events.clone();
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut line = String::new();
            let mut reader = tokio::io::BufReader::new(read).take(MAX_REQUEST as u64);
            let reply = match reader.read_line(&mut line).await {
                Err(e) => ControlReply::error(format!("unreadable request: {e}")),
                Ok(_) => match serde_json::from_str::<ControlRequest>(line.trim()) {
                    Err(e) => ControlReply::error(format!("bad request: {e}")),
                    Ok(req) => {
                        let (tx, rx) = oneshot::channel();
                        if events.send(Event::Control(req, tx)).is_err() {
                            ControlReply::error("the node is shutting down".into())
                        } else {
                            rx.await
                                .unwrap_or_else(|_| ControlReply::error("no answer".into()))
                        }
                    }
                },
            };
            if let Ok(mut text) = serde_json::to_string(&reply) {
                text.push('\n');
                let _ = write.write_all(text.as_bytes()).await;
            }
        });
    }
}

impl ControlReply {
    /// A refusal.
    pub fn error(message: String) -> ControlReply {
        ControlReply {
            ok: false,
            message,
            status: None,
        }
    }
}

/// Sends one request to the node at `path` and waits for its answer (blocking: the
/// command-line side needs no runtime).
pub fn request(path: &Path, req: &ControlRequest) -> anyhow::Result<ControlReply> {
    use anyhow::Context;
    let mut stream = std::os::unix::net::UnixStream::connect(path).with_context(|| {
        format!(
            "{}: cannot reach the node's control socket (is `dualha-node run` running, and are you root?)",
            path.display()
        )
    })?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut text = serde_json::to_string(req)?;
    text.push('\n');
    stream.write_all(text.as_bytes())?;
    let mut line = String::new();
    BufReader::new(stream)
        .take(64 << 20)
        .read_line(&mut line)
        .context("reading the node's answer")?;
    serde_json::from_str(&line)
        .with_context(|| format!("unreadable answer from the node: {line:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_one_json_object_each() {
        let r: ControlRequest =
            serde_json::from_str(r#"{"op":"promote","force":true}"#).expect("parse");
        assert_eq!(r, ControlRequest::Promote { force: true });
        let r: ControlRequest = serde_json::from_str(r#"{"op":"pause-sync"}"#).expect("parse");
        assert_eq!(r, ControlRequest::PauseSync);
        assert!(serde_json::from_str::<ControlRequest>(r#"{"op":"format-disk"}"#).is_err());
    }
}
