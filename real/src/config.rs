//! The node's configuration file: one TOML file per node, in the vocabulary of
//! `drbd.conf` and Heartbeat's `ha.cf`/`haresources`, turned into the model's
//! [`GuestConfig`] plus what only the driver needs (addresses, paths, commands).
//!
//! Every value is checked before the node starts; an error names the file, the key, the
//! value and what is allowed. Unknown keys are refused, so a typo cannot silently leave a
//! default in place.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use model::guest::GuestConfig;
use model::membership::MembershipConfig;
use model::replication::{
    AfterSb0Pri, AfterSb1Pri, AfterSb2Pri, FencingPolicy, Protocol, ReplicaConfig, RrConflict,
};
use model::resources::{GroupConfig, ResourceKind, ResourceSpec};
use model::{NodeId, ProcessId};
use serde::Deserialize;

/// The replica's resource in the group: the first process id (the model's group needs one
/// resource of kind Replica, which the guest serves itself).
pub const REPLICA_RESOURCE: ProcessId = ProcessId(0);

/// The whole file as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NodeFile {
    /// Who this node is.
    pub node: NodeSection,
    /// Where its data lives.
    pub storage: StorageSection,
    /// Its addresses.
    pub net: NetSection,
    /// The shared secret (DRBD `shared-secret`, Heartbeat `authkeys`).
    pub security: SecuritySection,
    /// DRBD's options.
    #[serde(default)]
    pub drbd: DrbdSection,
    /// Heartbeat's options.
    #[serde(default)]
    pub heartbeat: HeartbeatSection,
    /// DRBD handlers and the STONITH command.
    #[serde(default)]
    pub handlers: HandlersSection,
    /// The group after the replica, in start order (`haresources`).
    #[serde(default, rename = "resource")]
    pub resources: Vec<ResourceSection>,
}

/// `[node]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NodeSection {
    /// This node's name (DRBD `on NAME`, Heartbeat `node NAME`).
    pub name: String,
    /// The peer's name.
    pub peer_name: String,
    /// 0 or 1; the peer has the other. The lower id opens the replication connection.
    pub id: u16,
    /// The DRBD resource name (`r0`), exported over NBD under this name.
    #[serde(default = "default_resource")]
    pub resource: String,
}

fn default_resource() -> String {
    "r0".to_string()
}

/// `[storage]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StorageSection {
    /// The backing file or block device; its size, rounded down to 4 KiB, is the device's.
    /// Relative paths here and elsewhere in the file are relative to the file.
    pub disk: PathBuf,
    /// The metadata file (DRBD's external meta-disk).
    pub meta: PathBuf,
}

/// `[net]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NetSection {
    /// The replication link (TCP).
    pub replication: LinkSection,
    /// Heartbeat rings (UDP), one or two.
    pub rings: Vec<LinkSection>,
    /// Where the Primary exports the device over NBD.
    pub nbd: SocketAddr,
    /// The control socket for `dualha-node status`, `promote`, ...
    pub control: PathBuf,
    /// Prometheus metrics over HTTP, if set.
    #[serde(default)]
    pub metrics: Option<SocketAddr>,
}

/// One link: where this node listens and where the peer does.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LinkSection {
    /// This node's address.
    pub listen: SocketAddr,
    /// The peer's address.
    pub peer: SocketAddr,
}

/// `[security]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SecuritySection {
    /// The shared secret, at least 8 bytes (DRBD's `shared-secret`).
    pub shared_secret: String,
}

/// `[drbd]`: DRBD 8.4's options with its defaults (src: drbd.conf(5), drbdsetup(8)).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct DrbdSection {
    /// `A`, `B` or `C` (default C).
    pub protocol: String,
    /// `dont-care`, `resource-only` or `resource-and-stonith` (default dont-care).
    pub fencing: String,
    /// `disconnect`, `discard-younger-primary`, `discard-older-primary`,
    /// `discard-zero-changes`, `discard-least-changes`, `discard-node-NAME`.
    pub after_sb_0pri: String,
    /// `disconnect`, `consensus`, `discard-secondary`, `call-pri-lost-after-sb`,
    /// `violently-as0p`.
    pub after_sb_1pri: String,
    /// `disconnect`, `violently-as0p`, `call-pri-lost-after-sb`.
    pub after_sb_2pri: String,
    /// `disconnect` or `call-pri-lost`.
    pub rr_conflict: String,
    /// `ping-int` in seconds (default 10).
    pub ping_int: f64,
    /// `ping-timeout` in seconds (default 0.5).
    pub ping_timeout: f64,
    /// `connect-int` in seconds (default 10).
    pub connect_int: f64,
    /// Resync rate in MiB/s (default 100, the `c-max-rate` default).
    pub resync_rate_mib: u64,
}

impl Default for DrbdSection {
    fn default() -> Self {
        DrbdSection {
            protocol: "C".into(),
            fencing: "dont-care".into(),
            after_sb_0pri: "disconnect".into(),
            after_sb_1pri: "disconnect".into(),
            after_sb_2pri: "disconnect".into(),
            rr_conflict: "disconnect".into(),
            ping_int: 10.0,
            ping_timeout: 0.5,
            connect_int: 10.0,
            resync_rate_mib: 100,
        }
    }
}

/// `[heartbeat]`: Heartbeat's `ha.cf` with its defaults (src: heartbeat `config.c`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct HeartbeatSection {
    /// Seconds between heartbeats (default 1).
    pub keepalive: f64,
    /// Seconds of silence after which the peer is dead (default 30).
    pub deadtime: f64,
    /// Seconds of silence after which a late heartbeat is logged (default deadtime/2).
    pub warntime: Option<f64>,
    /// Deadtime at start-up (default from deadtime, as Heartbeat derives it).
    pub initdead: Option<f64>,
    /// Whether the group returns to the preferred node (default on).
    pub auto_failback: bool,
    /// The node that runs the group first (default: the node with id 0).
    pub preferred: Option<String>,
    /// Whether a dead peer is fenced with the STONITH command before takeover.
    pub stonith: bool,
    /// Seconds to wait for the STONITH command (default 60).
    pub fence_timeout: f64,
    /// Soft failures of a resource before the group leaves this node (default: never).
    pub migration_threshold: Option<u32>,
}

impl Default for HeartbeatSection {
    fn default() -> Self {
        HeartbeatSection {
            keepalive: 1.0,
            deadtime: 30.0,
            warntime: None,
            initdead: None,
            auto_failback: true,
            preferred: None,
            stonith: false,
            fence_timeout: 60.0,
            migration_threshold: None,
        }
    }
}

/// `[handlers]`: shell commands, run with `sh -c`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HandlersSection {
    /// DRBD's `fence-peer`: exit 3-7 as DRBD reads them. Unset: exit 5 (peer unreachable).
    pub fence_peer: Option<String>,
    /// DRBD's `split-brain` notification.
    pub split_brain: Option<String>,
    /// DRBD's `pri-lost-after-sb`.
    pub pri_lost_after_sb: Option<String>,
    /// DRBD's `pri-lost`.
    pub pri_lost: Option<String>,
    /// The STONITH command (exit 0: the peer is off). Needed with `heartbeat.stonith`.
    pub stonith: Option<String>,
}

/// One `[[resource]]` of the group.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ResourceSection {
    /// The resource's name (`OCF_RESOURCE_INSTANCE`).
    pub name: String,
    /// `filesystem`, `address` or `service`.
    pub kind: String,
    /// The OCF agent: an executable taking the action as its argument.
    pub agent: PathBuf,
    /// `OCF_RESKEY_<name>` parameters.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Seconds between monitors (0: none; default the agent kind's).
    pub monitor_interval: Option<f64>,
    /// Seconds any action may take (default 20, Pacemaker's).
    pub op_timeout: Option<f64>,
}

/// A configuration the node cannot run with.
#[derive(Debug, thiserror::Error)]
pub enum NodeConfigError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Read {
        /// The file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has an unknown or mistyped key.
    #[error("{file}: {message}")]
    Parse {
        /// The file.
        file: PathBuf,
        /// The parser's message (it names the key and line).
        message: String,
    },
    /// A value is out of range.
    #[error("{file}: {key} = {value}: {allowed}")]
    Value {
        /// The file.
        file: PathBuf,
        /// The key, with its section.
        key: String,
        /// The value found.
        value: String,
        /// What is allowed.
        allowed: String,
    },
}

/// An agent of the group as the driver runs it.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// The resource's name.
    pub name: String,
    /// The executable.
    pub agent: PathBuf,
    /// `OCF_RESKEY_*` parameters.
    pub params: BTreeMap<String, String>,
    /// How long the driver lets any action run before it kills the agent.
    pub op_timeout: Duration,
}

/// A checked configuration: the model's part and the driver's part.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// The file it came from.
    pub file: PathBuf,
    /// This node.
    pub me: NodeId,
    /// The peer.
    pub peer: NodeId,
    /// This node's name.
    pub name: String,
    /// The peer's name.
    pub peer_name: String,
    /// The DRBD resource name.
    pub resource: String,
    /// Backing disk.
    pub disk: PathBuf,
    /// Metadata file.
    pub meta: PathBuf,
    /// Replication link.
    pub replication: LinkSection,
    /// Heartbeat rings.
    pub rings: Vec<LinkSection>,
    /// NBD address.
    pub nbd: SocketAddr,
    /// Control socket.
    pub control: PathBuf,
    /// Metrics address.
    pub metrics: Option<SocketAddr>,
    /// The shared secret.
    pub secret: Vec<u8>,
    /// Handlers.
    pub handlers: HandlersSection,
    /// The group's agents by process id.
    pub agents: BTreeMap<ProcessId, AgentConfig>,
    /// The model's guest configuration (its replica size is set by [`NodeConfig::guest`]).
    guest: GuestConfig,
}

impl NodeConfig {
    /// Reads and checks `file`.
    pub fn load(file: &Path) -> Result<NodeConfig, NodeConfigError> {
        let text = std::fs::read_to_string(file).map_err(|source| NodeConfigError::Read {
            file: file.to_path_buf(),
            source,
        })?;
        NodeConfig::parse(file, &text)
    }

    /// Parses and checks `text`, naming `file` in errors.
    pub fn parse(file: &Path, text: &str) -> Result<NodeConfig, NodeConfigError> {
        let raw: NodeFile = toml::from_str(text).map_err(|e| NodeConfigError::Parse {
            file: file.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let mut cfg = Checker { file }.check(raw)?;
        // Relative paths are relative to the file, so a configuration works from any
        // working directory.
        let base = file.parent().unwrap_or(Path::new("."));
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        resolve(&mut cfg.disk);
        resolve(&mut cfg.meta);
        resolve(&mut cfg.control);
        for a in cfg.agents.values_mut() {
            resolve(&mut a.agent);
        }
        Ok(cfg)
    }

    /// The model's configuration for a device of `blocks` blocks.
    pub fn guest(&self, blocks: u64) -> GuestConfig {
        let mut g = self.guest.clone();
        g.replica.blocks = blocks;
        g
    }
}

struct Checker<'a> {
    file: &'a Path,
}

impl Checker<'_> {
    fn err(&self, key: &str, value: impl ToString, allowed: impl Into<String>) -> NodeConfigError {
        NodeConfigError::Value {
            file: self.file.to_path_buf(),
            key: key.to_string(),
            value: value.to_string(),
            allowed: allowed.into(),
        }
    }

    fn choice<T: Copy>(
        &self,
        key: &str,
        value: &str,
        table: &[(&str, T)],
    ) -> Result<T, NodeConfigError> {
        table
            .iter()
            .find(|(name, _)| *name == value)
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
                self.err(
                    key,
                    format!("{value:?}"),
                    format!("one of {}", names.join(", ")),
                )
            })
    }

    fn seconds(
        &self,
        key: &str,
        value: f64,
        min: f64,
        max: f64,
    ) -> Result<Duration, NodeConfigError> {
        if value.is_finite() && (min..=max).contains(&value) {
            Ok(Duration::from_secs_f64(value))
        } else {
            Err(self.err(key, value, format!("seconds between {min} and {max}")))
        }
    }

    fn check(&self, raw: NodeFile) -> Result<NodeConfig, NodeConfigError> {
        let n = &raw.node;
        if n.id > 1 {
            return Err(self.err("node.id", n.id, "0 or 1 (the peer has the other)"));
        }
        let me = NodeId(n.id);
        let peer = NodeId(1 - n.id);
        for (key, name) in [
            ("node.name", &n.name),
            ("node.peer-name", &n.peer_name),
            ("node.resource", &n.resource),
        ] {
            let ok = !name.is_empty()
                && name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
            if !ok {
                return Err(self.err(
                    key,
                    format!("{name:?}"),
                    "1-64 characters of A-Z a-z 0-9 - _ .",
                ));
            }
        }
        if n.name == n.peer_name {
            return Err(self.err(
                "node.peer-name",
                &n.peer_name,
                "a name other than node.name",
            ));
        }
        let secret = raw.security.shared_secret.as_bytes().to_vec();
        if secret.len() < 8 {
            return Err(self.err("security.shared-secret", "(hidden)", "at least 8 bytes"));
        }
        if !(1..=2).contains(&raw.net.rings.len()) {
            return Err(self.err("net.rings", raw.net.rings.len(), "one or two rings"));
        }
        let replica = self.replica(&raw, me, peer)?;
        let mut membership = self.membership(&raw.heartbeat, me, peer)?;
        membership.rings = raw.net.rings.len() as u8;
        let (group, agents) = self.group(&raw, me, peer)?;
        if raw.heartbeat.stonith && raw.handlers.stonith.is_none() {
            return Err(self.err(
                "heartbeat.stonith",
                true,
                "needs handlers.stonith, the command that powers the peer off",
            ));
        }
        if replica.fencing != FencingPolicy::DontCare && raw.handlers.fence_peer.is_none() {
            return Err(self.err(
                "drbd.fencing",
                format!("{:?}", raw.drbd.fencing),
                "needs handlers.fence-peer, the command that outdates or fences the peer",
            ));
        }
        let guest = GuestConfig {
            replica,
            membership,
            group,
        };
        guest
            .validate()
            .map_err(|e| self.err("(combination)", e.to_string(), "a consistent configuration"))?;
        Ok(NodeConfig {
            file: self.file.to_path_buf(),
            me,
            peer,
            name: n.name.clone(),
            peer_name: n.peer_name.clone(),
            resource: n.resource.clone(),
            disk: raw.storage.disk,
            meta: raw.storage.meta,
            replication: raw.net.replication,
            rings: raw.net.rings,
            nbd: raw.net.nbd,
            control: raw.net.control,
            metrics: raw.net.metrics,
            secret,
            handlers: raw.handlers,
            agents,
            guest,
        })
    }

    fn replica(
        &self,
        raw: &NodeFile,
        me: NodeId,
        peer: NodeId,
    ) -> Result<ReplicaConfig, NodeConfigError> {
        let d = &raw.drbd;
        // The real size is the backing disk's, known when the node opens it.
        let mut c = ReplicaConfig::new(me, peer, 1);
        c.protocol = self.choice(
            "drbd.protocol",
            &d.protocol,
            &[("A", Protocol::A), ("B", Protocol::B), ("C", Protocol::C)],
        )?;
        c.fencing = self.choice(
            "drbd.fencing",
            &d.fencing,
            &[
                ("dont-care", FencingPolicy::DontCare),
                ("resource-only", FencingPolicy::ResourceOnly),
                ("resource-and-stonith", FencingPolicy::ResourceAndStonith),
            ],
        )?;
        let (me_name, peer_name) = (&raw.node.name, &raw.node.peer_name);
        let discard_me = format!("discard-node-{me_name}");
        let discard_peer = format!("discard-node-{peer_name}");
        c.after_sb_0pri = self.choice(
            "drbd.after-sb-0pri",
            &d.after_sb_0pri,
            &[
                ("disconnect", AfterSb0Pri::Disconnect),
                (
                    "discard-younger-primary",
                    AfterSb0Pri::DiscardYoungerPrimary,
                ),
                ("discard-older-primary", AfterSb0Pri::DiscardOlderPrimary),
                ("discard-zero-changes", AfterSb0Pri::DiscardZeroChanges),
                ("discard-least-changes", AfterSb0Pri::DiscardLeastChanges),
                (discard_me.as_str(), AfterSb0Pri::DiscardNode(me)),
                (discard_peer.as_str(), AfterSb0Pri::DiscardNode(peer)),
            ],
        )?;
        c.after_sb_1pri = self.choice(
            "drbd.after-sb-1pri",
            &d.after_sb_1pri,
            &[
                ("disconnect", AfterSb1Pri::Disconnect),
                ("consensus", AfterSb1Pri::Consensus),
                ("discard-secondary", AfterSb1Pri::DiscardSecondary),
                ("call-pri-lost-after-sb", AfterSb1Pri::CallPriLostAfterSb),
                ("violently-as0p", AfterSb1Pri::ViolentlyAs0p),
            ],
        )?;
        c.after_sb_2pri = self.choice(
            "drbd.after-sb-2pri",
            &d.after_sb_2pri,
            &[
                ("disconnect", AfterSb2Pri::Disconnect),
                ("violently-as0p", AfterSb2Pri::ViolentlyAs0p),
                ("call-pri-lost-after-sb", AfterSb2Pri::CallPriLostAfterSb),
            ],
        )?;
        c.rr_conflict = self.choice(
            "drbd.rr-conflict",
            &d.rr_conflict,
            &[
                ("disconnect", RrConflict::Disconnect),
                ("call-pri-lost", RrConflict::CallPriLost),
            ],
        )?;
        // drbdsetup(8) ranges: ping-int 1-120 s, ping-timeout 0.1-30 s, connect-int 1-120 s.
        c.timers.ping_int = self.seconds("drbd.ping-int", d.ping_int, 0.01, 120.0)?;
        c.timers.ping_timeout = self.seconds("drbd.ping-timeout", d.ping_timeout, 0.01, 30.0)?;
        c.timers.connect_int = self.seconds("drbd.connect-int", d.connect_int, 0.01, 120.0)?;
        if !(1..=10_000).contains(&d.resync_rate_mib) {
            return Err(self.err(
                "drbd.resync-rate-mib",
                d.resync_rate_mib,
                "1 to 10000 MiB/s",
            ));
        }
        c.resync_rate = d.resync_rate_mib << 20;
        Ok(c)
    }

    fn membership(
        &self,
        h: &HeartbeatSection,
        me: NodeId,
        peer: NodeId,
    ) -> Result<MembershipConfig, NodeConfigError> {
        let keepalive = self.seconds("heartbeat.keepalive", h.keepalive, 0.01, 3600.0)?;
        let deadtime = self.seconds("heartbeat.deadtime", h.deadtime, 0.03, 36_000.0)?;
        let mut m = MembershipConfig::heartbeat(me, peer).with_deadtime(deadtime);
        m.keepalive = keepalive;
        if let Some(w) = h.warntime {
            m.warntime = self.seconds("heartbeat.warntime", w, 0.0, h.deadtime)?;
        }
        if let Some(i) = h.initdead {
            m.initdead = self.seconds("heartbeat.initdead", i, h.deadtime, 36_000.0)?;
        }
        m.stonith = h.stonith;
        m.fence_timeout = self.seconds("heartbeat.fence-timeout", h.fence_timeout, 0.01, 3600.0)?;
        m.validate()
            .map_err(|e| self.err("heartbeat", e.to_string(), "timers Heartbeat accepts"))?;
        Ok(m)
    }

    fn group(
        &self,
        raw: &NodeFile,
        me: NodeId,
        peer: NodeId,
    ) -> Result<(GroupConfig, BTreeMap<ProcessId, AgentConfig>), NodeConfigError> {
        let h = &raw.heartbeat;
        let preferred = match h.preferred.as_deref() {
            None => NodeId(0),
            Some(p) if p == raw.node.name => me,
            Some(p) if p == raw.node.peer_name => peer,
            Some(p) => {
                return Err(self.err(
                    "heartbeat.preferred",
                    format!("{p:?}"),
                    "node.name or node.peer-name",
                ));
            }
        };
        let mut specs = vec![ResourceSpec::new(
            REPLICA_RESOURCE,
            format!("drbddisk::{}", raw.node.resource),
            ResourceKind::Replica,
        )];
        let mut agents = BTreeMap::new();
        if raw.resources.len() > 32 {
            return Err(self.err("resource", raw.resources.len(), "at most 32 resources"));
        }
        for (i, r) in raw.resources.iter().enumerate() {
            let key = |k: &str| format!("resource[{i}].{k}");
            let kind = self.choice(
                &key("kind"),
                &r.kind,
                &[
                    ("filesystem", ResourceKind::Filesystem),
                    ("address", ResourceKind::Address),
                    ("service", ResourceKind::Service),
                ],
            )?;
            let id = ProcessId(i as u16 + 1);
            let mut spec = ResourceSpec::new(id, r.name.clone(), kind);
            if let Some(m) = r.monitor_interval {
                spec.monitor_interval = self.seconds(&key("monitor-interval"), m, 0.0, 86_400.0)?;
            }
            if let Some(t) = r.op_timeout {
                spec.op_timeout = self.seconds(&key("op-timeout"), t, 0.01, 86_400.0)?;
            }
            for k in r.params.keys() {
                if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(self.err(
                        &key("params"),
                        format!("{k:?}"),
                        "parameter names of A-Z a-z 0-9 _",
                    ));
                }
            }
            agents.insert(
                id,
                AgentConfig {
                    name: r.name.clone(),
                    agent: r.agent.clone(),
                    params: r.params.clone(),
                    op_timeout: spec.op_timeout,
                },
            );
            specs.push(spec);
        }
        let mut g = GroupConfig::new(me, peer, preferred, specs);
        g.auto_failback = h.auto_failback;
        if let Some(t) = h.migration_threshold {
            g.migration_threshold = t;
        }
        Ok((g, agents))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const MINIMAL: &str = r#"
[node]
name = "alpha"
peer-name = "bravo"
id = 0
[storage]
disk = "/tmp/a.img"
meta = "/tmp/a.meta"
[net]
replication = { listen = "127.0.0.1:7789", peer = "127.0.0.2:7789" }
rings = [{ listen = "127.0.0.1:6940", peer = "127.0.0.2:6940" }]
nbd = "127.0.0.1:10809"
control = "/tmp/a.sock"
[security]
shared-secret = "correct horse"
"#;

    fn parse(text: &str) -> Result<NodeConfig, NodeConfigError> {
        NodeConfig::parse(Path::new("a.toml"), text)
    }

    #[test]
    fn a_minimal_file_takes_drbd_and_heartbeat_defaults() {
        let c = parse(MINIMAL).expect("valid");
        let g = c.guest(100);
        assert_eq!(g.replica.blocks, 100);
        assert_eq!(g.replica.protocol, Protocol::C);
        assert_eq!(g.membership.deadtime, Duration::from_secs(30));
        assert_eq!(g.group.resources.len(), 1);
        assert_eq!(c.peer, NodeId(1));
    }

    #[test]
    fn errors_name_the_file_key_value_and_choices() {
        let text = format!("{MINIMAL}\n[drbd]\nprotocol = \"D\"\n");
        let e = parse(&text).expect_err("bad protocol").to_string();
        assert!(
            e.contains("a.toml: drbd.protocol = \"D\": one of A, B, C"),
            "{e}"
        );

        let text = format!("{MINIMAL}\n[heartbeat]\nkeepalive = -1.0\n");
        let e = parse(&text).expect_err("negative keepalive").to_string();
        assert!(e.contains("heartbeat.keepalive = -1"), "{e}");

        let text = format!("{MINIMAL}\n[heartbeat]\ndeadtime = nan\n");
        assert!(parse(&text).is_err());

        let text = MINIMAL.replace("id = 0", "id = 7");
        let e = parse(&text).expect_err("bad id").to_string();
        assert!(e.contains("node.id = 7"), "{e}");

        let text = MINIMAL.replace("[storage]", "[storage]\ndsik = \"x\"");
        let e = parse(&text).expect_err("typo").to_string();
        assert!(e.contains("dsik"), "{e}");

        let text = MINIMAL.replace("correct horse", "short");
        let e = parse(&text).expect_err("short secret").to_string();
        assert!(
            e.contains("security.shared-secret") && !e.contains("short"),
            "{e}"
        );
    }

    #[test]
    fn discard_node_names_a_configured_node() {
        let text = format!("{MINIMAL}\n[drbd]\nafter-sb-0pri = \"discard-node-bravo\"\n");
        let c = parse(&text).expect("valid");
        assert_eq!(
            c.guest(1).replica.after_sb_0pri,
            AfterSb0Pri::DiscardNode(NodeId(1))
        );
        let text = format!("{MINIMAL}\n[drbd]\nafter-sb-0pri = \"discard-node-zulu\"\n");
        assert!(parse(&text).is_err());
    }

    #[test]
    fn resources_follow_the_replica_in_order() {
        let text = format!(
            "{MINIMAL}\n[[resource]]\nname = \"svc\"\nkind = \"service\"\nagent = \"/bin/true\"\nparams = {{ port = \"80\" }}\nop-timeout = 5\n"
        );
        let c = parse(&text).expect("valid");
        let g = c.guest(1);
        assert_eq!(g.group.resources[1].kind, ResourceKind::Service);
        assert_eq!(c.agents[&ProcessId(1)].op_timeout, Duration::from_secs(5));
        let bad = text.replace("\"service\"", "\"database\"");
        let e = parse(&bad).expect_err("bad kind").to_string();
        assert!(e.contains("resource[0].kind"), "{e}");
    }

    #[test]
    fn the_shipped_quick_start_files_are_valid_and_mirror_each_other() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("conf");
        let a = NodeConfig::load(&dir.join("alpha.toml")).expect("alpha.toml");
        let b = NodeConfig::load(&dir.join("bravo.toml")).expect("bravo.toml");
        assert_eq!((a.me, a.peer), (b.peer, b.me));
        assert_eq!(a.replication.listen, b.replication.peer);
        assert_eq!(a.rings[0].peer, b.rings[0].listen);
        assert!(
            a.agents[&ProcessId(1)].agent.exists(),
            "the agent path resolves from the file"
        );
    }

    #[test]
    fn stonith_needs_a_command() {
        let text = format!("{MINIMAL}\n[heartbeat]\nstonith = true\n");
        let e = parse(&text).expect_err("no command").to_string();
        assert!(e.contains("handlers.stonith"), "{e}");
    }
}
