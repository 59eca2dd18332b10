//! Guards, backing files, `dualha-node` labs and the nbdkit reference server.

use super::*;

// ---------------------------------------------------------------------------------------
// Guards: processes and directories that go away whatever happens.

/// A child process killed (SIGKILL) and reaped when dropped.
pub(crate) struct Proc {
    pub(crate) child: Option<Child>,
}

impl Proc {
    pub(crate) fn spawn(cmd: &mut Command) -> Proc {
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        Proc { child: Some(child) }
    }

    pub(crate) fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub(crate) fn exited(&mut self) -> bool {
        match self.child.as_mut() {
            None => true,
            Some(c) => matches!(c.try_wait(), Ok(Some(_))),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A directory removed with everything in it when dropped.
pub(crate) struct WorkDir(pub(crate) PathBuf);

impl WorkDir {
    pub(crate) fn new(root: &Path, tag: &str) -> WorkDir {
        let dir = root.join(format!("dualha-bench-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        WorkDir(dir)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn sparse_file(path: &Path) {
    std::fs::File::create(path)
        .and_then(|f| f.set_len(DISK_BYTES))
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
}

// ---------------------------------------------------------------------------------------
// Where the backing files live.

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Backing {
    Shm,
    Tmp,
}

impl Backing {
    pub(crate) fn root(self) -> PathBuf {
        match self {
            Backing::Shm => PathBuf::from("/dev/shm"),
            Backing::Tmp => std::env::temp_dir(),
        }
    }

    pub(crate) fn short(self) -> &'static str {
        match self {
            Backing::Shm => "shm",
            Backing::Tmp => "tmp",
        }
    }

    /// `/dev/shm (tmpfs)` or `/tmp (ext4 on /dev/vda)`, from /proc/mounts.
    pub(crate) fn describe(self) -> String {
        let root = self.root();
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
        let mut best: Option<(usize, String)> = None;
        for line in mounts.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 3 || !root.starts_with(f[1]) {
                continue;
            }
            if best.as_ref().is_none_or(|(n, _)| f[1].len() >= *n) {
                let what = if f[2] == "tmpfs" {
                    "tmpfs".to_string()
                } else {
                    format!("{} on {}", f[2], f[0])
                };
                best = Some((f[1].len(), what));
            }
        }
        format!(
            "{} ({})",
            root.display(),
            best.map_or("unknown".into(), |(_, w)| w)
        )
    }
}

// ---------------------------------------------------------------------------------------
// dualha-node labs.

/// Timers of a lab's nodes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timers {
    pub(crate) keepalive: f64,
    pub(crate) deadtime: f64,
    pub(crate) initdead: f64,
    pub(crate) ping_int: f64,
    pub(crate) ping_timeout: f64,
    pub(crate) connect_int: f64,
}

/// Throughput and latency labs: 200 ms heartbeats, 1 s deadtime; DRBD's default pings
/// (10 s / 0.5 s), so a busy 2-core machine cannot make a pair drop mid-run.
pub(crate) const STEADY: Timers = Timers {
    keepalive: 0.2,
    deadtime: 1.0,
    initdead: 3.0,
    ping_int: 10.0,
    ping_timeout: 0.5,
    connect_int: 1.0,
};

/// The failover lab: DRBD pings every 0.5 s with a 0.2 s timeout, so the survivor's
/// replication layer notices the dead peer (at most 0.7 s) before Heartbeat's deadtime
/// (1 s) ends and the promotion is not refused because the peer still counts as Primary.
pub(crate) const FAILOVER: Timers = Timers {
    keepalive: 0.2,
    deadtime: 1.0,
    initdead: 3.0,
    ping_int: 0.5,
    ping_timeout: 0.2,
    connect_int: 0.3,
};

/// The failover lab with DRBD's smallest ping-int (1 s, drbdsetup(8)) and default
/// ping-timeout: the survivor's replication layer may still count the dead Primary as
/// connected when Heartbeat's deadtime ends.
pub(crate) const FAILOVER_DRBD_MIN: Timers = Timers {
    ping_int: 1.0,
    ping_timeout: 0.5,
    ..FAILOVER
};

pub(crate) struct Node {
    pub(crate) name: &'static str,
    pub(crate) ip: String,
    pub(crate) config: PathBuf,
    pub(crate) socket: PathBuf,
    pub(crate) log: PathBuf,
    pub(crate) proc: Option<Proc>,
}

impl Node {
    pub(crate) fn start(&mut self) {
        assert!(self.proc.is_none(), "{} already runs", self.name);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("node log file");
        self.proc = Some(Proc::spawn(
            Command::new(NODE)
                .args(["run", "--config"])
                .arg(&self.config)
                .env("RUST_LOG", "info")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log),
        ));
    }

    /// SIGKILL; the wall-clock time just before the signal.
    pub(crate) fn kill9(&mut self) -> (SystemTime, Instant) {
        let at = (SystemTime::now(), Instant::now());
        if let Some(mut p) = self.proc.take() {
            p.kill9();
        }
        at
    }

    pub(crate) fn nbd(&self) -> SocketAddr {
        addr(&self.ip, NBD_PORT)
    }

    pub(crate) fn url(&self) -> String {
        format!("nbd://{}:{NBD_PORT}/r0", self.ip)
    }

    pub(crate) fn pid(&self) -> Option<u32> {
        self.proc.as_ref().and_then(Proc::pid)
    }

    pub(crate) fn metrics(&self) -> SocketAddr {
        addr(&self.ip, METRICS_PORT)
    }

    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub(crate) fn status(&self) -> Option<NodeStatus> {
        control::request(&self.socket, &ControlRequest::Status)
            .ok()
            .and_then(|r| r.status)
    }

    pub(crate) fn wait_for(
        &mut self,
        what: &str,
        within: Duration,
        pred: impl Fn(&NodeStatus) -> bool,
    ) {
        let deadline = Instant::now() + within;
        let mut last = None;
        while Instant::now() < deadline {
            if let Some(s) = self.status() {
                if pred(&s) {
                    return;
                }
                last = Some(s);
            } else if self.proc.as_mut().is_some_and(Proc::exited) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let log = self.log_text();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        panic!(
            "{} ({}): not {what} within {within:?}; last status {last:?}\n--- log tail ---\n{}",
            self.name,
            self.config.display(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
}

pub(crate) fn addr(ip: &str, port: u16) -> SocketAddr {
    format!("{ip}:{port}")
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .unwrap_or_else(|| panic!("bad address {ip}:{port}"))
}

/// One or two nodes in a directory of their own. Nodes are declared before the
/// directory so that they are killed before it is removed.
pub(crate) struct Lab {
    pub(crate) nodes: Vec<Node>,
    pub(crate) _dir: WorkDir,
}

impl Lab {
    /// Writes the configurations and metadata of alpha (and bravo for a pair) on
    /// 127.201.`subnet`.1 and .2, then starts them and waits until alpha is Primary (and
    /// both are Connected and UpToDate).
    pub(crate) fn start(
        tag: &str,
        backing: Backing,
        subnet: u8,
        pair: bool,
        protocol: &str,
        t: Timers,
    ) -> Lab {
        let dir = WorkDir::new(&backing.root(), tag);
        let ip = |host: u8| format!("127.201.{subnet}.{host}");
        // A standalone node's peer never starts: it takes over after initdead.
        let initdead = if pair { t.initdead } else { t.deadtime };
        let node = |name: &'static str, peer: &str, id: u16, me: String, other: String| {
            let d = dir.0.display();
            let text = format!(
                r#"[node]
name = "{name}"
peer-name = "{peer}"
id = {id}
[storage]
disk = "{d}/{name}.img"
meta = "{d}/{name}.meta"
[net]
replication = {{ listen = "{me}:7789", peer = "{other}:7789" }}
rings = [{{ listen = "{me}:6940", peer = "{other}:6940" }}]
nbd = "{me}:{NBD_PORT}"
control = "{d}/{name}.sock"
metrics = "{me}:{METRICS_PORT}"
[security]
shared-secret = "{SECRET}"
[drbd]
protocol = "{protocol}"
ping-int = {}
ping-timeout = {}
connect-int = {}
resync-rate-mib = 10000
[heartbeat]
keepalive = {}
deadtime = {}
initdead = {initdead}
auto-failback = false
"#,
                t.ping_int, t.ping_timeout, t.connect_int, t.keepalive, t.deadtime
            );
            let config = dir.0.join(format!("{name}.toml"));
            std::fs::write(&config, text).expect("write node config");
            sparse_file(&dir.0.join(format!("{name}.img")));
            Node {
                name,
                ip: me,
                socket: dir.0.join(format!("{name}.sock")),
                log: dir.0.join(format!("{name}.log")),
                config,
                proc: None,
            }
        };
        let mut nodes = vec![node("alpha", "bravo", 0, ip(1), ip(2))];
        if pair {
            nodes.push(node("bravo", "alpha", 1, ip(2), ip(1)));
        }
        for (i, n) in nodes.iter().enumerate() {
            let mut cmd = Command::new(NODE);
            cmd.args(["create-md", "--config"]).arg(&n.config);
            if i == 0 {
                cmd.arg("--initial-primary");
            }
            let out = cmd.output().expect("run dualha-node create-md");
            assert!(
                out.status.success(),
                "create-md {}: {}",
                n.name,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        for n in &mut nodes {
            n.start();
        }
        Lab { nodes, _dir: dir }
    }

    /// Waits until alpha is Primary and, for a pair, both are Connected and UpToDate.
    pub(crate) fn wait_ready(&mut self) {
        let within = Duration::from_secs(60);
        let pair = self.nodes.len() == 2;
        self.nodes[0].wait_for("Primary", within, |s| s.role == "Primary");
        if pair {
            for n in &mut self.nodes {
                n.wait_for("Connected and UpToDate", within, |s| {
                    s.connection == "Connected" && s.disk == "UpToDate" && s.peer_disk == "UpToDate"
                });
            }
        }
    }

    /// Whether the Primary still serves as it did at the start: Primary, and for a pair
    /// Connected with an UpToDate peer.
    pub(crate) fn healthy(&self) -> Result<(), String> {
        let s = self.nodes[0]
            .status()
            .ok_or_else(|| "no status from alpha".to_string())?;
        let pair = self.nodes.len() == 2;
        if s.role != "Primary"
            || (pair && (s.connection != "Connected" || s.peer_disk != "UpToDate"))
        {
            return Err(format!(
                "alpha is {} / {} / peer disk {}",
                s.role, s.connection, s.peer_disk
            ));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// nbdkit.

pub(crate) struct Nbdkit {
    pub(crate) proc: Proc,
    pub(crate) ip: String,
    pub(crate) _dir: WorkDir,
}

impl Nbdkit {
    pub(crate) fn available() -> bool {
        Command::new("nbdkit")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// `nbdkit file` on a fresh 256 MiB file on 127.201.`subnet`.9.
    pub(crate) fn start(backing: Backing, subnet: u8) -> Nbdkit {
        let dir = WorkDir::new(&backing.root(), &format!("nbdkit-{}", backing.short()));
        let img = dir.0.join("nbdkit.img");
        sparse_file(&img);
        let ip = format!("127.201.{subnet}.9");
        let log = std::fs::File::create(dir.0.join("nbdkit.log")).expect("nbdkit log");
        let mut proc = Proc::spawn(
            Command::new("nbdkit")
                .args(["-f", "--exit-with-parent", "-i", &ip, "-p"])
                .arg(NBD_PORT.to_string())
                .arg("file")
                .arg(&img)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log),
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&addr(&ip, NBD_PORT), Duration::from_millis(100)).is_err()
        {
            assert!(
                Instant::now() < deadline && !proc.exited(),
                "nbdkit on {ip} did not start: {}",
                std::fs::read_to_string(dir.0.join("nbdkit.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Nbdkit {
            proc,
            ip,
            _dir: dir,
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("nbd://{}:{NBD_PORT}/r0", self.ip)
    }

    pub(crate) fn nbd(&self) -> SocketAddr {
        addr(&self.ip, NBD_PORT)
    }
}
