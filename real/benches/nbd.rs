//! `cargo bench -p real --bench nbd`: `dualha-node` as an NBD server, measured against
//! the reference server (`nbdkit file`) with a real client, on this machine.
//!
//! It sets itself up from scratch (backing files, configurations, `create-md`, processes
//! on loopback addresses 127.201.x.y that the tests never use) and tears everything down
//! at the end, also on a panic (every process and directory is owned by a guard). It
//! prints figures and asserts no timing: speed targets are checked by reading them.
//!
//! 1. Throughput with `qemu-img bench` (one connection, queue depth 64, sequential
//!    offsets; writes with a non-zero pattern) against `nbdkit file`, a standalone
//!    `dualha-node` (its peer never starts: it takes over after `initdead` and serves
//!    degraded) and a protocol C pair, each on `/dev/shm` (tmpfs: `fdatasync` is free, so
//!    the figures are CPU and loopback) and on `/tmp` (ext4 on the VM's disk: the
//!    figures include `fdatasync`). Writes run twice: with FUA on every write
//!    (`-t writethrough`, the durability `dualha-node` gives every write anyway) and
//!    without (`-t writeback`, qemu-img's default: nbdkit may leave them in the page
//!    cache). Each cell is the median of [`TP_ROUNDS`] runs, interleaved across servers;
//!    the CPU time of the servers and of qemu-img per request (from /proc) comes with it,
//!    since it says where the time goes and varies far less than throughput on a
//!    shared machine.
//! 2. Latency of 4 KiB FUA writes, one at a time, from a minimal NBD client in this file
//!    (fixed newstyle, `NBD_OPT_GO`, simple replies), under protocols A, B and C, with
//!    nbdkit and a standalone node as references; cross-checked against the node's own
//!    `dualha_nbd_write_seconds` histogram (metrics endpoint).
//! 3. Failover: `kill -9` of the Primary of a pair to the first successful NBD read on
//!    the survivor, with the phases read from the survivor's timeline log; once with DRBD
//!    pings that notice the dead peer within Heartbeat's deadtime, once with DRBD's
//!    smallest `ping-int` (1 s), which does not.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use real::control::{self, ControlRequest};
use real::status::NodeStatus;

/// The node binary.
const NODE: &str = env!("CARGO_BIN_EXE_dualha-node");
/// Size of every backing file.
const DISK_BYTES: u64 = 256 << 20;
/// Rounds per throughput cell (the median is reported).
const TP_ROUNDS: usize = 5;
/// Rounds per latency row.
const LAT_ROUNDS: usize = 3;
/// Target duration of one qemu-img run.
const RUN_SECS: f64 = 0.25;
/// qemu-img bench queue depth.
const DEPTH: u32 = 64;
/// Sequential 4 KiB FUA writes per latency round.
const LAT_WRITES: usize = 2000;
/// Failover runs with each set of timers.
const FAILOVER_RUNS: usize = 5;
const FAILOVER_MIN_RUNS: usize = 3;
/// The shared secret of every lab.
const SECRET: &str = "bench horse battery staple";
const NBD_PORT: u16 = 10809;
const METRICS_PORT: u16 = 9100;

// ---------------------------------------------------------------------------------------
// Guards: processes and directories that go away whatever happens.

/// A child process killed (SIGKILL) and reaped when dropped.
struct Proc {
    child: Option<Child>,
}

impl Proc {
    fn spawn(cmd: &mut Command) -> Proc {
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        Proc { child: Some(child) }
    }

    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn exited(&mut self) -> bool {
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
struct WorkDir(PathBuf);

impl WorkDir {
    fn new(root: &Path, tag: &str) -> WorkDir {
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

fn sparse_file(path: &Path) {
    std::fs::File::create(path)
        .and_then(|f| f.set_len(DISK_BYTES))
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
}

// ---------------------------------------------------------------------------------------
// Where the backing files live.

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Backing {
    Shm,
    Tmp,
}

impl Backing {
    fn root(self) -> PathBuf {
        match self {
            Backing::Shm => PathBuf::from("/dev/shm"),
            Backing::Tmp => std::env::temp_dir(),
        }
    }

    fn short(self) -> &'static str {
        match self {
            Backing::Shm => "shm",
            Backing::Tmp => "tmp",
        }
    }

    /// `/dev/shm (tmpfs)` or `/tmp (ext4 on /dev/vda)`, from /proc/mounts.
    fn describe(self) -> String {
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
struct Timers {
    keepalive: f64,
    deadtime: f64,
    initdead: f64,
    ping_int: f64,
    ping_timeout: f64,
    connect_int: f64,
}

/// Throughput and latency labs: 200 ms heartbeats, 1 s deadtime; DRBD's default pings
/// (10 s / 0.5 s), so a busy 2-core machine cannot make a pair drop mid-run.
const STEADY: Timers = Timers {
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
const FAILOVER: Timers = Timers {
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
const FAILOVER_DRBD_MIN: Timers = Timers {
    ping_int: 1.0,
    ping_timeout: 0.5,
    ..FAILOVER
};

struct Node {
    name: &'static str,
    ip: String,
    config: PathBuf,
    socket: PathBuf,
    log: PathBuf,
    proc: Option<Proc>,
}

impl Node {
    fn start(&mut self) {
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
    fn kill9(&mut self) -> (SystemTime, Instant) {
        let at = (SystemTime::now(), Instant::now());
        if let Some(mut p) = self.proc.take() {
            p.kill9();
        }
        at
    }

    fn nbd(&self) -> SocketAddr {
        addr(&self.ip, NBD_PORT)
    }

    fn url(&self) -> String {
        format!("nbd://{}:{NBD_PORT}/r0", self.ip)
    }

    fn pid(&self) -> Option<u32> {
        self.proc.as_ref().and_then(Proc::pid)
    }

    fn metrics(&self) -> SocketAddr {
        addr(&self.ip, METRICS_PORT)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn status(&self) -> Option<NodeStatus> {
        control::request(&self.socket, &ControlRequest::Status)
            .ok()
            .and_then(|r| r.status)
    }

    fn wait_for(&mut self, what: &str, within: Duration, pred: impl Fn(&NodeStatus) -> bool) {
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

fn addr(ip: &str, port: u16) -> SocketAddr {
    format!("{ip}:{port}")
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .unwrap_or_else(|| panic!("bad address {ip}:{port}"))
}

/// One or two nodes in a directory of their own. Nodes are declared before the
/// directory so that they are killed before it is removed.
struct Lab {
    nodes: Vec<Node>,
    _dir: WorkDir,
}

impl Lab {
    /// Writes the configurations and metadata of alpha (and bravo for a pair) on
    /// 127.201.`subnet`.1 and .2, then starts them and waits until alpha is Primary (and
    /// both are Connected and UpToDate).
    fn start(
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
    fn wait_ready(&mut self) {
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
    fn healthy(&self) -> Result<(), String> {
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

struct Nbdkit {
    proc: Proc,
    ip: String,
    _dir: WorkDir,
}

impl Nbdkit {
    fn available() -> bool {
        Command::new("nbdkit")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// `nbdkit file` on a fresh 256 MiB file on 127.201.`subnet`.9.
    fn start(backing: Backing, subnet: u8) -> Nbdkit {
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

    fn url(&self) -> String {
        format!("nbd://{}:{NBD_PORT}/r0", self.ip)
    }

    fn nbd(&self) -> SocketAddr {
        addr(&self.ip, NBD_PORT)
    }
}

// ---------------------------------------------------------------------------------------
// qemu-img bench.

#[derive(Clone, Copy, Debug)]
struct Op {
    label: &'static str,
    size: u32,
    write: bool,
    fua: bool,
}

const OPS: [Op; 6] = [
    Op {
        label: "4k write FUA",
        size: 4096,
        write: true,
        fua: true,
    },
    Op {
        label: "4k write",
        size: 4096,
        write: true,
        fua: false,
    },
    Op {
        label: "4k read",
        size: 4096,
        write: false,
        fua: false,
    },
    Op {
        label: "64k write FUA",
        size: 65536,
        write: true,
        fua: true,
    },
    Op {
        label: "64k write",
        size: 65536,
        write: true,
        fua: false,
    },
    Op {
        label: "64k read",
        size: 65536,
        write: false,
        fua: false,
    },
];

fn qemu_img_args(url: &str, op: Op, count: u64, pattern: u8) -> Vec<String> {
    let mut a: Vec<String> = [
        "bench",
        "-f",
        "raw",
        "-d",
        &DEPTH.to_string(),
        "-s",
        &op.size.to_string(),
        "-c",
        &count.to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if op.write {
        a.push("-w".into());
        a.push(format!("--pattern={pattern}"));
        a.push("-t".into());
        a.push(if op.fua { "writethrough" } else { "writeback" }.into());
    }
    a.push(url.to_string());
    a
}

/// Runs qemu-img bench: the seconds it reports and the CPU ticks it used.
fn qemu_bench(url: &str, op: Op, count: u64, pattern: u8) -> (f64, u64) {
    let args = qemu_img_args(url, op, count, pattern);
    let before = children_ticks();
    let out = Command::new("qemu-img")
        .args(&args)
        .output()
        .expect("run qemu-img (package qemu-utils)");
    let ticks = children_ticks().saturating_sub(before);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "qemu-img {}: {}{stdout}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    let secs = stdout
        .lines()
        .find_map(|l| {
            l.strip_prefix("Run completed in ")?
                .strip_suffix(" seconds.")?
                .parse::<f64>()
                .ok()
        })
        .unwrap_or_else(|| panic!("qemu-img {}: unexpected output {stdout}", args.join(" ")));
    (secs.max(0.001), ticks)
}

// ---------------------------------------------------------------------------------------
// A minimal NBD client (fixed newstyle, NBD_OPT_GO, simple replies), constants from the
// NBD protocol specification (doc/proto.md), independent of the server's own code.

const NBDMAGIC: u64 = 0x4e42_444d_4147_4943; // "NBDMAGIC"
const IHAVEOPT: u64 = 0x4948_4156_454f_5054; // "IHAVEOPT"
const FLAG_FIXED_NEWSTYLE: u16 = 1 << 0;
const FLAG_NO_ZEROES: u16 = 1 << 1;
const FLAG_C_FIXED_NEWSTYLE: u32 = 1 << 0;
const FLAG_C_NO_ZEROES: u32 = 1 << 1;
const OPT_GO: u32 = 7;
const OPT_REPLY_MAGIC: u64 = 0x0003_e889_0455_65a9;
const REP_ACK: u32 = 1;
const REP_INFO: u32 = 3;
const REP_FLAG_ERROR: u32 = 1 << 31;
const INFO_EXPORT: u16 = 0;
const TFLAG_SEND_FUA: u16 = 1 << 3;
const REQUEST_MAGIC: u32 = 0x2560_9513;
const SIMPLE_REPLY_MAGIC: u32 = 0x6744_6698;
const CMD_READ: u16 = 0;
const CMD_WRITE: u16 = 1;
const CMD_DISC: u16 = 2;
const CMD_FLAG_FUA: u16 = 1 << 0;

struct NbdClient {
    s: TcpStream,
    size: u64,
    next_handle: u64,
}

fn be_u16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}
fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}
fn be_u64(b: &[u8]) -> u64 {
    u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}
fn bad(what: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what)
}

impl NbdClient {
    /// Connects and negotiates `export` with `NBD_OPT_GO` (no info requests).
    fn connect(at: SocketAddr, export: &str, timeout: Duration) -> std::io::Result<NbdClient> {
        let mut s = TcpStream::connect_timeout(&at, timeout)?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(timeout))?;
        s.set_write_timeout(Some(timeout))?;
        let mut greeting = [0u8; 18];
        s.read_exact(&mut greeting)?;
        if be_u64(&greeting[0..8]) != NBDMAGIC || be_u64(&greeting[8..16]) != IHAVEOPT {
            return Err(bad(format!("not a newstyle NBD server: {greeting:02x?}")));
        }
        let hflags = be_u16(&greeting[16..18]);
        if hflags & FLAG_FIXED_NEWSTYLE == 0 {
            return Err(bad(format!("server is not fixed newstyle ({hflags:#x})")));
        }
        let mut cflags = FLAG_C_FIXED_NEWSTYLE;
        if hflags & FLAG_NO_ZEROES != 0 {
            cflags |= FLAG_C_NO_ZEROES;
        }
        let mut msg = Vec::with_capacity(64);
        msg.extend_from_slice(&cflags.to_be_bytes());
        msg.extend_from_slice(&IHAVEOPT.to_be_bytes());
        msg.extend_from_slice(&OPT_GO.to_be_bytes());
        msg.extend_from_slice(&(4 + export.len() as u32 + 2).to_be_bytes());
        msg.extend_from_slice(&(export.len() as u32).to_be_bytes());
        msg.extend_from_slice(export.as_bytes());
        msg.extend_from_slice(&0u16.to_be_bytes());
        s.write_all(&msg)?;
        let mut size = None;
        loop {
            let mut h = [0u8; 20];
            s.read_exact(&mut h)?;
            let (magic, option, kind, len) = (
                be_u64(&h[0..8]),
                be_u32(&h[8..12]),
                be_u32(&h[12..16]),
                be_u32(&h[16..20]),
            );
            if magic != OPT_REPLY_MAGIC || option != OPT_GO || len > 64 << 10 {
                return Err(bad(format!(
                    "bad option reply {magic:#x} {option} {kind:#x} {len}"
                )));
            }
            let mut data = vec![0u8; len as usize];
            s.read_exact(&mut data)?;
            match kind {
                REP_ACK => break,
                REP_INFO if data.len() >= 12 && be_u16(&data[0..2]) == INFO_EXPORT => {
                    let tflags = be_u16(&data[10..12]);
                    if tflags & TFLAG_SEND_FUA == 0 {
                        return Err(bad("the export does not take FUA".into()));
                    }
                    size = Some(be_u64(&data[2..10]));
                }
                k if k & REP_FLAG_ERROR != 0 => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionRefused,
                        format!(
                            "NBD_OPT_GO refused ({k:#x}): {}",
                            String::from_utf8_lossy(&data)
                        ),
                    ));
                }
                _ => {}
            }
        }
        let size = size.ok_or_else(|| bad("no NBD_INFO_EXPORT before the ack".into()))?;
        Ok(NbdClient {
            s,
            size,
            next_handle: 1,
        })
    }

    fn request(
        &mut self,
        cmd: u16,
        flags: u16,
        offset: u64,
        len: u32,
        data: &[u8],
    ) -> std::io::Result<u64> {
        let handle = self.next_handle;
        self.next_handle += 1;
        let mut msg = Vec::with_capacity(28 + data.len());
        msg.extend_from_slice(&REQUEST_MAGIC.to_be_bytes());
        msg.extend_from_slice(&flags.to_be_bytes());
        msg.extend_from_slice(&cmd.to_be_bytes());
        msg.extend_from_slice(&handle.to_be_bytes());
        msg.extend_from_slice(&offset.to_be_bytes());
        msg.extend_from_slice(&len.to_be_bytes());
        msg.extend_from_slice(data);
        // One write per request: header and payload in one segment.
        self.s.write_all(&msg)?;
        Ok(handle)
    }

    fn reply(&mut self, handle: u64) -> std::io::Result<()> {
        let mut r = [0u8; 16];
        self.s.read_exact(&mut r)?;
        let (magic, error, h) = (be_u32(&r[0..4]), be_u32(&r[4..8]), be_u64(&r[8..16]));
        if magic != SIMPLE_REPLY_MAGIC || h != handle {
            return Err(bad(format!(
                "bad reply {magic:#x} handle {h} (want {handle})"
            )));
        }
        if error != 0 {
            return Err(bad(format!("NBD error {error}")));
        }
        Ok(())
    }

    fn write_fua(&mut self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        let h = self.request(CMD_WRITE, CMD_FLAG_FUA, offset, data.len() as u32, data)?;
        self.reply(h)
    }

    fn read(&mut self, offset: u64, len: u32) -> std::io::Result<Vec<u8>> {
        let h = self.request(CMD_READ, 0, offset, len, &[])?;
        self.reply(h)?;
        let mut data = vec![0u8; len as usize];
        self.s.read_exact(&mut data)?;
        Ok(data)
    }
}

impl Drop for NbdClient {
    fn drop(&mut self) {
        let mut msg = Vec::with_capacity(28);
        msg.extend_from_slice(&REQUEST_MAGIC.to_be_bytes());
        msg.extend_from_slice(&0u16.to_be_bytes());
        msg.extend_from_slice(&CMD_DISC.to_be_bytes());
        msg.extend_from_slice(&[0u8; 20]);
        let _ = self.s.write_all(&msg);
    }
}

// ---------------------------------------------------------------------------------------
// Statistics.

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        return f64::NAN;
    }
    s[s.len() / 2]
}

/// The `q` quantile of sorted samples (nearest rank).
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1e3)
}

// ---------------------------------------------------------------------------------------
// Metrics endpoint: the node's write-latency histogram.

/// `(upper bound, cumulative count)` of `dualha_nbd_write_seconds`.
fn scrape_histogram(at: SocketAddr) -> Option<Vec<(f64, u64)>> {
    let mut s = TcpStream::connect_timeout(&at, Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let mut buckets = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("dualha_nbd_write_seconds_bucket{le=\"") else {
            continue;
        };
        let (le, count) = rest.split_once("\"} ")?;
        let le = if le == "+Inf" {
            f64::INFINITY
        } else {
            le.parse().ok()?
        };
        buckets.push((le, count.trim().parse().ok()?));
    }
    (!buckets.is_empty()).then_some(buckets)
}

/// The bucket bound holding quantile `q` of the writes between two scrapes.
fn histogram_quantile(before: &[(f64, u64)], after: &[(f64, u64)], q: f64) -> Option<f64> {
    let delta: Vec<(f64, u64)> = after
        .iter()
        .zip(before)
        .map(|((le, a), (_, b))| (*le, a.saturating_sub(*b)))
        .collect();
    let total = delta.last()?.1;
    if total == 0 {
        return None;
    }
    let want = (q * total as f64).ceil() as u64;
    delta.iter().find(|(_, c)| *c >= want).map(|(le, _)| *le)
}

fn bound(b: Option<f64>) -> String {
    match b {
        Some(x) if x.is_finite() => format!("≤ {:.0} µs", x * 1e6),
        Some(_) => "> 1.6 s".into(),
        None => "-".into(),
    }
}

// ---------------------------------------------------------------------------------------
// RFC 3339 timestamps of the node's log (UTC, `2026-11-29T13:06:13.707303Z`).

fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|x| x.parse::<i64>());
    let (hh, mm, ss) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    let nanos: u64 = format!("{frac:0<9}").get(..9)?.parse().ok()?;
    // Days since 1970-01-01 (H. Hinnant's days_from_civil).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?) + Duration::from_nanos(nanos))
}

/// The first line at or after `since` containing `needle`: its time.
fn first_after(log: &str, since: SystemTime, needle: &str) -> Option<SystemTime> {
    log.lines().find_map(|l| {
        let t = parse_rfc3339(l.split_whitespace().next()?)?;
        (t >= since && l.contains(needle)).then_some(t)
    })
}

fn count_between(log: &str, from: SystemTime, to: SystemTime, needle: &str) -> usize {
    log.lines()
        .filter(|l| {
            l.split_whitespace()
                .next()
                .and_then(parse_rfc3339)
                .is_some_and(|t| t >= from && t <= to && l.contains(needle))
        })
        .count()
}

fn since(a: SystemTime, b: SystemTime) -> Duration {
    b.duration_since(a).unwrap_or_default()
}

fn today() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    // H. Hinnant's civil_from_days.
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

// ---------------------------------------------------------------------------------------
// CPU time, from /proc (USER_HZ is 100 on Linux: one tick is 10 ms).

const TICK_US: f64 = 10_000.0;

/// Fields of `/proc/<pid>/stat` after the command name: index 0 is field 3 (state).
fn stat_fields(path: &str) -> Vec<u64> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let rest = text.rsplit_once(')').map_or("", |(_, r)| r);
    rest.split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect()
}

/// utime + stime of a whole process (its exited threads included), in ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let f = stat_fields(&format!("/proc/{pid}/stat"));
    f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)
}

/// cutime + cstime of this process: the CPU of the children it has waited for.
fn children_ticks() -> u64 {
    let f = stat_fields("/proc/self/stat");
    f.get(13).copied().unwrap_or(0) + f.get(14).copied().unwrap_or(0)
}

// ---------------------------------------------------------------------------------------
// The three measurements.

/// A server under test.
struct Target<'a> {
    backing: Backing,
    label: &'static str,
    url: String,
    nbd: SocketAddr,
    /// Its processes (both nodes of a pair), for CPU accounting.
    pids: Vec<u32>,
    /// The dualha lab behind it (None: nbdkit).
    lab: Option<&'a Lab>,
}

impl<'a> Target<'a> {
    fn lab(backing: Backing, label: &'static str, lab: &'a Lab) -> Target<'a> {
        Target {
            backing,
            label,
            url: lab.nodes[0].url(),
            nbd: lab.nodes[0].nbd(),
            pids: lab.nodes.iter().filter_map(Node::pid).collect(),
            lab: Some(lab),
        }
    }

    fn nbdkit(backing: Backing, k: &Nbdkit) -> Target<'a> {
        Target {
            backing,
            label: "nbdkit",
            url: k.url(),
            nbd: k.nbd(),
            pids: k.proc.pid().into_iter().collect(),
            lab: None,
        }
    }

    fn server_ticks(&self) -> u64 {
        self.pids.iter().map(|&p| cpu_ticks(p)).sum()
    }
}

/// One cell of the throughput table.
#[derive(Clone, Default)]
struct Cell {
    /// MiB/s of each round.
    mib: Vec<f64>,
    /// Requests over all rounds.
    requests: u64,
    /// CPU ticks of the server's processes over all rounds.
    server_ticks: u64,
    /// CPU ticks of qemu-img over all rounds.
    client_ticks: u64,
}

impl Cell {
    fn median(&self) -> f64 {
        median(&self.mib)
    }

    /// (max - min) / median of the rounds.
    fn spread(&self) -> f64 {
        let max = self.mib.iter().copied().fold(f64::MIN, f64::max);
        let min = self.mib.iter().copied().fold(f64::MAX, f64::min);
        (max - min) / self.median()
    }

    fn server_us(&self) -> f64 {
        self.server_ticks as f64 * TICK_US / self.requests as f64
    }

    fn client_us(&self) -> f64 {
        self.client_ticks as f64 * TICK_US / self.requests as f64
    }
}

/// Throughput per (target, op), rounds interleaved: round 1 of every cell, then round 2...
fn throughput(targets: &[Target<'_>], warnings: &mut Vec<String>) -> Vec<Vec<Cell>> {
    println!(
        "\n## 1. Throughput (qemu-img bench -d {DEPTH}; {TP_ROUNDS} rounds of ~{RUN_SECS} s per cell)"
    );
    // Warm-up: every block written once (allocates the files' pages and brings every
    // activity-log extent of the replicas in), then a calibration run per cell.
    let full = Op {
        label: "warm-up",
        size: 65536,
        write: true,
        fua: true,
    };
    for t in targets {
        let (secs, _) = qemu_bench(&t.url, full, DISK_BYTES / 65536, 0x5a);
        println!(
            "  warm-up {} {}: 256 MiB written in {secs:.2} s",
            t.backing.short(),
            t.label
        );
    }
    let mut counts = vec![vec![0u64; OPS.len()]; targets.len()];
    for (ti, t) in targets.iter().enumerate() {
        for (oi, op) in OPS.iter().enumerate() {
            let probe = if op.size == 4096 { 2000 } else { 300 };
            let (secs, _) = qemu_bench(&t.url, *op, probe, 0x3c);
            let n = (RUN_SECS / (secs / probe as f64)) as u64;
            counts[ti][oi] = n.clamp(probe, 100 * probe).div_ceil(100) * 100;
        }
    }
    let mut cells = vec![vec![Cell::default(); OPS.len()]; targets.len()];
    for round in 0..TP_ROUNDS {
        for (oi, op) in OPS.iter().enumerate() {
            for (ti, t) in targets.iter().enumerate() {
                let n = counts[ti][oi];
                let server = t.server_ticks();
                let (secs, client) = qemu_bench(&t.url, *op, n, 0xa5 ^ round as u8);
                let c = &mut cells[ti][oi];
                c.server_ticks += t.server_ticks().saturating_sub(server);
                c.client_ticks += client;
                c.requests += n;
                c.mib
                    .push((n * u64::from(op.size)) as f64 / f64::from(1 << 20) / secs);
            }
        }
        for t in targets {
            if let Some(lab) = t.lab
                && let Err(e) = lab.healthy()
            {
                warnings.push(format!(
                    "throughput round {}: {} on {}: {e}: its figures are not valid",
                    round + 1,
                    t.label,
                    t.backing.short()
                ));
            }
        }
        println!(
            "  round {} of {TP_ROUNDS} done (load {})",
            round + 1,
            loadavg()
        );
    }
    cells
}

struct LatencyRow {
    backing: Backing,
    label: &'static str,
    p50: Vec<Duration>,
    p99: Vec<Duration>,
    mean: Vec<Duration>,
    server: Option<(Option<f64>, Option<f64>)>,
}

/// Sequential 4 KiB FUA writes, one at a time, rounds interleaved across targets.
fn latency(targets: &[Target<'_>]) -> Vec<LatencyRow> {
    println!(
        "\n## 2. 4 KiB FUA write latency ({LAT_ROUNDS} rounds of {LAT_WRITES} writes per server)"
    );
    let mut rows: Vec<LatencyRow> = targets
        .iter()
        .map(|t| LatencyRow {
            backing: t.backing,
            label: t.label,
            p50: Vec::new(),
            p99: Vec::new(),
            mean: Vec::new(),
            server: None,
        })
        .collect();
    let block: Vec<u8> = (0..4096u32).map(|i| (i % 251) as u8 | 1).collect();
    let before: Vec<Option<Vec<(f64, u64)>>> = targets
        .iter()
        .map(|t| {
            t.lab
                .and_then(|lab| scrape_histogram(lab.nodes[0].metrics()))
        })
        .collect();
    for round in 0..LAT_ROUNDS {
        for (t, row) in targets.iter().zip(rows.iter_mut()) {
            let n = LAT_WRITES;
            let mut c = NbdClient::connect(t.nbd, "r0", Duration::from_secs(5))
                .unwrap_or_else(|e| panic!("NBD client to {} ({}): {e}", t.label, t.nbd));
            let blocks = (c.size / 4096).min(16384);
            for i in 0..50 {
                c.write_fua(i * 4096, &block).expect("warm-up FUA write");
            }
            let mut lat = Vec::with_capacity(n);
            for i in 0..n as u64 {
                let start = Instant::now();
                c.write_fua((i % blocks) * 4096, &block)
                    .unwrap_or_else(|e| panic!("FUA write to {}: {e}", t.label));
                lat.push(start.elapsed());
            }
            drop(c);
            let mean = lat.iter().sum::<Duration>() / lat.len() as u32;
            lat.sort();
            row.p50.push(quantile(&lat, 0.50));
            row.p99.push(quantile(&lat, 0.99));
            row.mean.push(mean);
        }
        println!(
            "  round {} of {LAT_ROUNDS} done (load {})",
            round + 1,
            loadavg()
        );
    }
    for ((t, row), before) in targets.iter().zip(rows.iter_mut()).zip(before) {
        if let (Some(lab), Some(before)) = (t.lab, before)
            && let Some(after) = scrape_histogram(lab.nodes[0].metrics())
        {
            row.server = Some((
                histogram_quantile(&before, &after, 0.5),
                histogram_quantile(&before, &after, 0.99),
            ));
        }
    }
    rows
}

struct FailoverRun {
    killed: &'static str,
    total: Duration,
    detection: Option<Duration>,
    link_noticed: Option<Duration>,
    promotion: Option<Duration>,
    refused: usize,
    /// The first refusal's reason, as logged.
    refused_why: Option<String>,
    export_read: Option<Duration>,
}

/// `runs` times: write a block on the Primary, kill -9 it, poll the survivor with
/// connect + read every 10 ms, read the phases from the survivor's log, restart the
/// killed node and wait until it is a synced Secondary (roles swap every run).
fn failover(lab: &mut Lab, runs: usize) -> Vec<FailoverRun> {
    let mut out = Vec::new();
    let mut primary = 0usize;
    for run in 0..runs {
        let survivor = 1 - primary;
        let mark = 0x40 + run as u8;
        {
            let p = &lab.nodes[primary];
            let mut c = NbdClient::connect(p.nbd(), "r0", Duration::from_secs(5))
                .unwrap_or_else(|e| panic!("NBD client to the Primary {}: {e}", p.name));
            c.write_fua(0, &[mark; 4096])
                .expect("FUA write before the kill");
        }
        // Let the kill land at a different phase of the heartbeat each run.
        std::thread::sleep(Duration::from_millis(150 + 37 * run as u64));
        let (killed_at, killed_instant) = lab.nodes[primary].kill9();
        let s = &lab.nodes[survivor];
        let deadline = killed_instant + Duration::from_secs(20);
        let (read_at, total) = loop {
            let got = NbdClient::connect(s.nbd(), "r0", Duration::from_millis(200))
                .and_then(|mut c| c.read(0, 4096));
            if let Ok(data) = got {
                let t = (SystemTime::now(), killed_instant.elapsed());
                assert!(
                    data.iter().all(|&b| b == mark),
                    "the write acknowledged before the kill is on the new Primary"
                );
                break t;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not serve within 20 s of the kill\n{}",
                s.name,
                s.log_text()
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        let (me, peer) = (s.name, lab.nodes[primary].name);
        let log = s.log_text();
        let dead = first_after(
            &log,
            killed_at,
            &format!("{me}: heartbeat: node {peer} is dead"),
        );
        let link = first_after(&log, killed_at, &format!("{me}: replication:"));
        let promoted = dead.and_then(|d| first_after(&log, d, &format!("{me}: role:Primary")));
        let refused = match (dead, promoted) {
            (Some(d), Some(p)) => count_between(&log, d, p, "promote refused"),
            _ => 0,
        };
        let refused_why = dead.and_then(|d| {
            log.lines()
                .filter(|l| {
                    l.split_whitespace()
                        .next()
                        .and_then(parse_rfc3339)
                        .is_some_and(|t| t >= d)
                })
                .find_map(|l| {
                    l.split_once("promote refused: ")
                        .map(|(_, w)| w.to_string())
                })
        });
        out.push(FailoverRun {
            killed: peer,
            total,
            detection: dead.map(|d| since(killed_at, d)),
            link_noticed: link.map(|l| since(killed_at, l)),
            promotion: dead.zip(promoted).map(|(d, p)| since(d, p)),
            refused,
            refused_why,
            export_read: promoted.map(|p| since(p, read_at)),
        });
        println!(
            "  run {}: kill -9 {peer} -> first read on {me} after {}",
            run + 1,
            ms(total)
        );
        let n = &mut lab.nodes[primary];
        n.start();
        n.wait_for(
            "Secondary, Connected, UpToDate",
            Duration::from_secs(30),
            |st| st.role == "Secondary" && st.connection == "Connected" && st.disk == "UpToDate",
        );
        lab.nodes[survivor].wait_for(
            "Primary with an UpToDate peer",
            Duration::from_secs(30),
            |st| st.role == "Primary" && st.peer_disk == "UpToDate",
        );
        primary = survivor;
    }
    out
}

// ---------------------------------------------------------------------------------------
// Reports (Markdown tables, pasted into docs/performance.md).

fn report_throughput(out: &mut String, targets: &[Target<'_>], cells: &[Vec<Cell>]) {
    let _ = writeln!(
        out,
        "\n## 1. Throughput, MiB/s (median of {TP_ROUNDS} rounds; qemu-img bench -d {DEPTH}; in brackets: share of nbdkit on the same backing, ✗ below the floor)\n"
    );
    let _ = write!(out, "| backing | server |");
    for op in OPS {
        let _ = write!(out, " {} |", op.label);
    }
    let _ = writeln!(out, "\n| --- | --- |{}", " ---: |".repeat(OPS.len()));
    let reference = |b: Backing| {
        targets
            .iter()
            .position(|t| t.backing == b && t.lab.is_none())
            .map(|i| &cells[i])
    };
    let mut misses = Vec::new();
    let mut worst_spread = (0.0, String::new());
    for (t, row) in targets.iter().zip(cells) {
        let _ = write!(out, "| {} | {} |", t.backing.short(), t.label);
        for (oi, c) in row.iter().enumerate() {
            let v = c.median();
            if c.spread() > worst_spread.0 {
                worst_spread = (
                    c.spread(),
                    format!("{} {} {}", t.backing.short(), t.label, OPS[oi].label),
                );
            }
            match reference(t.backing).filter(|_| t.lab.is_some()) {
                Some(r) => {
                    let share = v / r[oi].median();
                    let floor = if t.label == "standalone" { 0.9 } else { 0.6 };
                    let miss = share < floor;
                    if miss {
                        misses.push(format!(
                            "{} on {}, {}: {:.0} % of nbdkit (floor {:.0} %: {:.0} points short)",
                            t.label,
                            t.backing.short(),
                            OPS[oi].label,
                            share * 100.0,
                            floor * 100.0,
                            (floor - share) * 100.0
                        ));
                    }
                    let mark = if miss { " ✗" } else { "" };
                    let _ = write!(out, " {v:.0} ({:.0} %{mark}) |", share * 100.0);
                }
                None => {
                    let _ = write!(out, " {v:.0} |");
                }
            }
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(
        out,
        "\nLargest round-to-round spread (max - min over median): {:.0} % ({}).",
        worst_spread.0 * 100.0,
        worst_spread.1
    );
    if reference(Backing::Shm).is_none() && reference(Backing::Tmp).is_none() {
        let _ = writeln!(
            out,
            "nbdkit missing: no ratios, floors not checked (apt-get install nbdkit)."
        );
    } else {
        let _ = writeln!(
            out,
            "Floors: standalone ≥ 90 % of nbdkit, pair ≥ 60 % of nbdkit: {} of {} cells missed.",
            misses.len(),
            targets.iter().filter(|t| t.lab.is_some()).count() * OPS.len()
        );
        for m in &misses {
            let _ = writeln!(out, "- {m}");
        }
    }

    let _ = writeln!(
        out,
        "\nCPU per request, µs: server (both nodes for a pair) / qemu-img, over all rounds\n"
    );
    let _ = write!(out, "| backing | server |");
    for op in OPS {
        let _ = write!(out, " {} |", op.label);
    }
    let _ = writeln!(out, "\n| --- | --- |{}", " ---: |".repeat(OPS.len()));
    for (t, row) in targets.iter().zip(cells) {
        let _ = write!(out, "| {} | {} |", t.backing.short(), t.label);
        for c in row {
            let _ = write!(out, " {:.1} / {:.1} |", c.server_us(), c.client_us());
        }
        let _ = writeln!(out);
    }
}

fn report_latency(out: &mut String, rows: &[LatencyRow]) {
    let _ = writeln!(
        out,
        "\n## 2. 4 KiB FUA write latency, one request at a time (median over {LAT_ROUNDS} rounds of each round's figure)\n"
    );
    let _ = writeln!(
        out,
        "| backing | server | p50 | p99 | mean | node's histogram p50 / p99 (bucket bound) |"
    );
    let _ = writeln!(out, "| --- | --- | ---: | ---: | ---: | --- |");
    let med = |v: &[Duration]| {
        Duration::from_secs_f64(median(
            &v.iter().map(Duration::as_secs_f64).collect::<Vec<_>>(),
        ))
    };
    for r in rows {
        let server = r.server.map_or("-".to_string(), |(a, b)| {
            format!("{} / {}", bound(a), bound(b))
        });
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {server} |",
            r.backing.short(),
            r.label,
            us(med(&r.p50)),
            us(med(&r.p99)),
            us(med(&r.mean))
        );
    }
}

fn report_failover(out: &mut String, title: &str, t: Timers, runs: &[FailoverRun]) {
    let _ = writeln!(
        out,
        "\n## 3. Failover, {title}: kill -9 of the Primary to the first NBD read on the survivor (/tmp; keepalive {} s, deadtime {} s, DRBD ping-int {} s, ping-timeout {} s)\n",
        t.keepalive, t.deadtime, t.ping_int, t.ping_timeout
    );
    let _ = writeln!(
        out,
        "| run | killed | total | detection (kill → is dead) | promotion (dead → role:Primary) | refused promotes | export + first read | total − detection | DRBD noticed (kill → replication:) |"
    );
    let _ = writeln!(
        out,
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    let opt = |d: Option<Duration>| d.map_or("?".to_string(), ms);
    let after = |r: &FailoverRun| r.detection.map(|d| r.total.saturating_sub(d));
    for (i, r) in runs.iter().enumerate() {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            i + 1,
            r.killed,
            ms(r.total),
            opt(r.detection),
            opt(r.promotion),
            r.refused,
            opt(r.export_read),
            opt(after(r)),
            opt(r.link_noticed)
        );
    }
    let med_of = |f: &dyn Fn(&FailoverRun) -> Option<Duration>| {
        let v: Vec<f64> = runs.iter().filter_map(f).map(|d| d.as_secs_f64()).collect();
        (!v.is_empty()).then(|| Duration::from_secs_f64(median(&v)))
    };
    let _ = writeln!(
        out,
        "| median | | {} | {} | {} | | {} | {} | {} |",
        opt(med_of(&|r| Some(r.total))),
        opt(med_of(&|r| r.detection)),
        opt(med_of(&|r| r.promotion)),
        opt(med_of(&|r| r.export_read)),
        opt(med_of(&after)),
        opt(med_of(&|r| r.link_noticed))
    );
    if let Some(why) = runs.iter().find_map(|r| r.refused_why.as_deref()) {
        let _ = writeln!(
            out,
            "\nPromotion refused with: \"{why}\"; retried 1 s later."
        );
    }
    let worst = runs.iter().map(|r| r.total).max().unwrap_or_default();
    let worst_after = runs.iter().filter_map(after).max().unwrap_or_default();
    let _ = writeln!(
        out,
        "\nFloor (under 2 s): {} (worst {}). Goal (detection + at most 100 ms): {} (worst total − detection {}).",
        if worst < Duration::from_secs(2) {
            "met"
        } else {
            "MISSED"
        },
        ms(worst),
        if worst_after <= Duration::from_millis(100) {
            "met"
        } else {
            "missed"
        },
        ms(worst_after)
    );
}

// ---------------------------------------------------------------------------------------

fn main() {
    // `cargo bench` passes `--bench` (and any filter); both are ignored.
    let started = Instant::now();
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into());
    println!("# dualha-node over NBD ({})", today());
    println!(
        "machine: {nproc} cores, kernel {kernel}, load {} at start",
        loadavg()
    );
    let backings = [Backing::Shm, Backing::Tmp];
    for b in backings {
        println!("backing files ({}): {}", b.short(), b.describe());
    }
    println!("node binary: {NODE}");
    let qemu = Command::new("qemu-img").arg("--version").output();
    assert!(
        qemu.as_ref().is_ok_and(|o| o.status.success()),
        "qemu-img is missing: apt-get install qemu-utils"
    );
    let have_nbdkit = Nbdkit::available();
    if !have_nbdkit {
        println!(
            "nbdkit NOT FOUND: skipping the nbdkit reference rows, the ratios and the floors (apt-get install nbdkit)"
        );
    }

    // Every server of sections 1 and 2 runs from here on and idles (heartbeats only)
    // while the others are measured. Subnets 127.201.1x for /dev/shm, 2x for /tmp.
    let subnet = |b: Backing| if b == Backing::Shm { 10 } else { 20 };
    let nbdkits: Vec<Option<Nbdkit>> = backings
        .iter()
        .map(|&b| have_nbdkit.then(|| Nbdkit::start(b, subnet(b))))
        .collect();
    let kinds = [
        ("standalone", false, "C"),
        ("pair C", true, "C"),
        ("pair B", true, "B"),
        ("pair A", true, "A"),
    ];
    let mut labs: BTreeMap<(Backing, &'static str), Lab> = BTreeMap::new();
    for &b in &backings {
        for (i, (label, pair, protocol)) in kinds.into_iter().enumerate() {
            let tag = format!("{}-{}", b.short(), label.replace(' ', "-"));
            let lab = Lab::start(&tag, b, subnet(b) + 1 + i as u8, pair, protocol, STEADY);
            labs.insert((b, label), lab);
        }
    }
    let setup = Instant::now();
    for lab in labs.values_mut() {
        lab.wait_ready();
    }
    println!(
        "{} dualha labs up, initial 256 MiB syncs done, in {:.1} s",
        labs.len(),
        setup.elapsed().as_secs_f64()
    );
    let mut warnings = Vec::new();

    // 1. Throughput.
    let section = Instant::now();
    let mut tp_targets = Vec::new();
    for (&b, k) in backings.iter().zip(&nbdkits) {
        if let Some(k) = k {
            tp_targets.push(Target::nbdkit(b, k));
        }
        for l in ["standalone", "pair C"] {
            tp_targets.push(Target::lab(b, l, &labs[&(b, l)]));
        }
    }
    let tp = throughput(&tp_targets, &mut warnings);
    let tp_secs = section.elapsed().as_secs_f64();

    // 2. Latency.
    let section = Instant::now();
    let mut lat_targets = Vec::new();
    for (&b, k) in backings.iter().zip(&nbdkits) {
        if let Some(k) = k {
            lat_targets.push(Target::nbdkit(b, k));
        }
        for l in ["standalone", "pair A", "pair B", "pair C"] {
            lat_targets.push(Target::lab(b, l, &labs[&(b, l)]));
        }
    }
    let lat = latency(&lat_targets);
    for t in &lat_targets {
        if let Some(lab) = t.lab
            && let Err(e) = lab.healthy()
        {
            warnings.push(format!(
                "latency: {} on {}: {e}",
                t.label,
                t.backing.short()
            ));
        }
    }
    let lat_secs = section.elapsed().as_secs_f64();

    let mut out = String::new();
    report_throughput(&mut out, &tp_targets, &tp);
    report_latency(&mut out, &lat);
    drop(lat_targets);
    drop(tp_targets);
    drop(labs);
    drop(nbdkits);

    // 3. Failover, on /tmp: a promotion persists metadata with fsync, as on a real disk.
    let section = Instant::now();
    println!(
        "\n## 3. Failover ({FAILOVER_RUNS} runs with DRBD pings shorter than deadtime, {FAILOVER_MIN_RUNS} with DRBD's smallest ping-int)"
    );
    let mut lab = Lab::start("failover", Backing::Tmp, 30, true, "C", FAILOVER);
    lab.wait_ready();
    let fo = failover(&mut lab, FAILOVER_RUNS);
    drop(lab);
    let mut lab = Lab::start(
        "failover-min",
        Backing::Tmp,
        31,
        true,
        "C",
        FAILOVER_DRBD_MIN,
    );
    lab.wait_ready();
    let fo_min = failover(&mut lab, FAILOVER_MIN_RUNS);
    drop(lab);
    report_failover(&mut out, "pings inside deadtime", FAILOVER, &fo);
    report_failover(
        &mut out,
        "DRBD's smallest ping-int",
        FAILOVER_DRBD_MIN,
        &fo_min,
    );
    let fo_secs = section.elapsed().as_secs_f64();

    if !warnings.is_empty() {
        let _ = writeln!(out, "\nWarnings:");
        for w in &warnings {
            let _ = writeln!(out, "- {w}");
        }
    }
    println!(
        "\n# Results ({}, {nproc} cores, kernel {kernel}; load {} at the end; {:.0} s in all: throughput {tp_secs:.0} s, latency {lat_secs:.0} s, failover {fo_secs:.0} s)",
        today(),
        loadavg(),
        started.elapsed().as_secs_f64()
    );
    print!("{out}");
}
