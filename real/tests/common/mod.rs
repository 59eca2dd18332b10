//! A two-node lab on one machine without root: `dualha-node` processes on their own
//! loopback addresses, each with a backing file, metadata and control socket in a
//! temporary directory, optionally behind fault-injecting proxies; real NBD clients
//! (`qemu-io`) against the Primary's export.

#![allow(dead_code)]

pub mod proxy;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use real::control::{self, ControlRequest};
use real::status::NodeStatus;

pub use proxy::{TcpProxy, UdpProxy};

/// The node binary under test.
pub const NODE: &str = env!("CARGO_BIN_EXE_dualha-node");
/// The device size of every lab: 64 MiB, 16 activity-log extents.
pub const DISK_BYTES: u64 = 64 << 20;

static NEXT_SUBNET: AtomicU8 = AtomicU8::new(1);

/// One node of a lab.
#[derive(Debug)]
pub struct Node {
    pub name: &'static str,
    pub dir: PathBuf,
    pub config: PathBuf,
    pub ip: String,
    pub child: Option<Child>,
}

impl Node {
    pub fn disk(&self) -> PathBuf {
        self.dir.join(format!("{}.img", self.name))
    }
    pub fn log(&self) -> PathBuf {
        self.dir.join(format!("{}.log", self.name))
    }
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.log()).unwrap_or_default()
    }
    pub fn meta(&self) -> PathBuf {
        self.dir.join(format!("{}.meta", self.name))
    }
    pub fn socket(&self) -> PathBuf {
        self.dir.join(format!("{}.sock", self.name))
    }
    pub fn nbd_url(&self) -> String {
        format!("nbd://{}:10809/r0", self.ip)
    }
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Starts `dualha-node run`, appending to the node's log.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "{} is already running", self.name);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())
            .expect("log file");
        let child = Command::new(NODE)
            .args(["run", "--config"])
            .arg(&self.config)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start dualha-node");
        std::fs::write(
            self.dir.join(format!("{}.pid", self.name)),
            child.id().to_string(),
        )
        .expect("pid file");
        self.child = Some(child);
    }

    /// Power loss: SIGKILL, nothing flushed, nothing handed over.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends a signal by name (`STOP`, `CONT`, `TERM`).
    pub fn signal(&self, sig: &str) {
        let pid = self.pid().expect("running");
        let ok = Command::new("kill")
            .args([format!("-{sig}"), pid.to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill -{sig} {pid}");
    }

    /// Waits for the process to exit by itself; its exit code.
    pub fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                self.child = None;
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Whether the process has exited (killed by the test or by a STONITH command).
    pub fn is_dead(&mut self) -> bool {
        match self.child.as_mut() {
            None => true,
            Some(c) => eventually(Duration::from_secs(5), || {
                matches!(c.try_wait(), Ok(Some(_)))
            }),
        }
    }

    pub fn status(&self) -> Option<NodeStatus> {
        control::request(&self.socket(), &ControlRequest::Status)
            .ok()
            .and_then(|r| r.status)
    }

    pub fn ask(&self, req: ControlRequest) -> real::control::ControlReply {
        control::request(&self.socket(), &req).expect("control socket")
    }

    /// Polls the node's status until `pred` holds; panics with the status and log after
    /// `within`.
    pub fn wait_for(
        &self,
        what: &str,
        within: Duration,
        pred: impl Fn(&NodeStatus) -> bool,
    ) -> NodeStatus {
        let deadline = Instant::now() + within;
        let mut last = None;
        while Instant::now() < deadline {
            if let Some(s) = self.status() {
                if pred(&s) {
                    return s;
                }
                last = Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "{}: not {what} within {within:?}; last status {last:#?}\n--- log ---\n{}",
            self.name,
            self.log_text()
        );
    }

    /// Whether the log has a line containing `text`.
    pub fn logged(&self, text: &str) -> bool {
        self.log_text().contains(text)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            // A stopped node must be continued to die.
            let _ = Command::new("kill")
                .args(["-CONT", &c.id().to_string()])
                .status();
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Knobs of a lab's configuration.
#[derive(Clone, Debug)]
pub struct LabOptions {
    /// Extra TOML appended to both nodes' files, per node (alpha, bravo).
    pub extra: [String; 2],
    /// Put the links between the nodes through proxies that can cut them.
    pub proxies: bool,
    /// Secrets of alpha and bravo.
    pub secrets: [&'static str; 2],
}

impl Default for LabOptions {
    fn default() -> Self {
        LabOptions {
            extra: [String::new(), String::new()],
            proxies: false,
            secrets: ["correct horse battery", "correct horse battery"],
        }
    }
}

/// Two nodes, alpha (id 0, preferred) and bravo.
#[derive(Debug)]
pub struct Lab {
    pub dir: PathBuf,
    pub a: Node,
    pub b: Node,
    pub repl_proxy: Option<TcpProxy>,
    pub ring_proxies: Vec<UdpProxy>,
}

/// Timers short enough for tests: 100 ms heartbeats, 600 ms deadtime, DRBD pings every
/// 300 ms with DRBD's default 500 ms ping timeout.
pub const FAST_TIMERS: &str = r#"
[drbd]
ping-int = 0.3
ping-timeout = 0.5
connect-int = 0.3
[heartbeat]
keepalive = 0.1
deadtime = 0.6
initdead = 2.0
auto-failback = false
"#;

impl Lab {
    /// Writes both configurations, creates the disks and metadata (alpha the initial
    /// sync source); nothing runs yet.
    pub fn new(test: &str, opts: LabOptions) -> Lab {
        let subnet = NEXT_SUBNET.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("dualha-lab-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("lab dir");
        let base = 40 + (std::process::id() % 150) as u8;
        let ip = |host: u8| format!("127.{base}.{subnet}.{host}");
        let (ip_a, ip_b) = (ip(1), ip(2));
        // Where each node reaches the other: directly, or through a proxy on .3.
        let mut repl_proxy = None;
        let mut ring_proxies = Vec::new();
        let (a_to_b_repl, a_to_b_ring, b_to_a_ring) = if opts.proxies {
            let p = TcpProxy::start(&format!("{}:7789", ip(3)), &format!("{ip_b}:7789"));
            let r1 = UdpProxy::start(&format!("{}:6940", ip(3)), &format!("{ip_b}:6940"));
            let r2 = UdpProxy::start(&format!("{}:6941", ip(3)), &format!("{ip_a}:6940"));
            let addrs = (p.listen.clone(), r1.listen.clone(), r2.listen.clone());
            repl_proxy = Some(p);
            ring_proxies = vec![r1, r2];
            addrs
        } else {
            (
                format!("{ip_b}:7789"),
                format!("{ip_b}:6940"),
                format!("{ip_a}:6940"),
            )
        };
        let node = |name: &'static str,
                    peer: &str,
                    id: u16,
                    me_ip: &str,
                    repl_peer: &str,
                    ring_peer: &str,
                    secret: &str,
                    extra: &str| {
            let config = dir.join(format!("{name}.toml"));
            let mut text = String::new();
            let _ = write!(
                text,
                r#"[node]
name = "{name}"
peer-name = "{peer}"
id = {id}
[storage]
disk = "{d}/{name}.img"
meta = "{d}/{name}.meta"
[net]
replication = {{ listen = "{me_ip}:7789", peer = "{repl_peer}" }}
rings = [{{ listen = "{me_ip}:6940", peer = "{ring_peer}" }}]
nbd = "{me_ip}:10809"
control = "{d}/{name}.sock"
[security]
shared-secret = "{secret}"
"#,
                d = dir.display()
            );
            text.push_str(extra);
            std::fs::write(&config, text).expect("config");
            let n = Node {
                name,
                dir: dir.clone(),
                config,
                ip: me_ip.to_string(),
                child: None,
            };
            let f = std::fs::File::create(n.disk()).expect("disk");
            f.set_len(DISK_BYTES).expect("disk size");
            n
        };
        let a = node(
            "alpha",
            "bravo",
            0,
            &ip_a,
            &a_to_b_repl,
            &a_to_b_ring,
            opts.secrets[0],
            &opts.extra[0],
        );
        // Bravo never dials (the lower id does), so its replication peer is alpha itself.
        let b = node(
            "bravo",
            "alpha",
            1,
            &ip_b,
            &format!("{ip_a}:7789"),
            &b_to_a_ring,
            opts.secrets[1],
            &opts.extra[1],
        );
        create_md(&a, true);
        create_md(&b, false);
        Lab {
            dir,
            a,
            b,
            repl_proxy,
            ring_proxies,
        }
    }

    /// Starts both and waits until alpha is Primary and both disks are UpToDate.
    pub fn start_synced(&mut self) {
        self.a.start();
        self.b.start();
        let within = Duration::from_secs(20);
        self.a.wait_for("Primary", within, |s| s.role == "Primary");
        for n in [&self.a, &self.b] {
            n.wait_for("connected and UpToDate", within, |s| {
                s.connection == "Connected" && s.disk == "UpToDate" && s.peer_disk == "UpToDate"
            });
        }
    }

    /// Cuts (or heals) every link between the nodes.
    pub fn partition(&self, cut: bool) {
        if let Some(p) = &self.repl_proxy {
            p.set_cut(cut);
        }
        for r in &self.ring_proxies {
            r.set_cut(cut);
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

pub fn create_md(n: &Node, initial_primary: bool) {
    let mut cmd = Command::new(NODE);
    cmd.args(["create-md", "--config"]).arg(&n.config);
    if initial_primary {
        cmd.arg("--initial-primary");
    }
    let out = cmd.output().expect("create-md");
    assert!(
        out.status.success(),
        "create-md: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `qemu-io` with `commands` against `url`; Ok(stdout) or Err(stderr).
pub fn qemu_io(url: &str, commands: &[&str]) -> Result<String, String> {
    let mut cmd = Command::new("qemu-io");
    cmd.args(["-f", "raw", url]);
    for c in commands {
        cmd.args(["-c", c]);
    }
    let out = cmd.output().expect("qemu-io (package qemu-utils) runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    // qemu-io reports a failed pattern check on stdout and still exits 0.
    if out.status.success()
        && !stdout.contains("Pattern verification failed")
        && !stdout.contains("failed:")
    {
        Ok(stdout)
    } else {
        Err(format!("{stderr}{stdout}"))
    }
}

/// Runs `dualha-node ARGS --config CONFIG` to completion: (exit code, stdout, stderr).
pub fn dualha_node(args: &[&str], config: &Path) -> (Option<i32>, String, String) {
    let out = Command::new(NODE)
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .expect("dualha-node runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Whether two files have the same bytes.
pub fn same_bytes(a: &Path, b: &Path) -> bool {
    std::fs::read(a).expect("read a") == std::fs::read(b).expect("read b")
}

/// Waits until `f` holds, polling; false after `within`.
pub fn eventually(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}
