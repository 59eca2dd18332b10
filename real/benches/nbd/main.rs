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

mod client;
mod lab;
mod report;
mod stats;

use client::*;
use lab::*;
use report::*;
use stats::*;

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
