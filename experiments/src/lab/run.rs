//! `dualha lab run`: the first measurement in the lab. For the DRBD + Heartbeat
//! architecture, each trial builds the lab, runs `dualha-node` in the two guest VMs'
//! namespaces (node1 the initial Primary), writes a pattern through NBD from the
//! client, injects a fault into node1 (`fault`: power-off, hang, partition), and polls
//! node2's export from the client until the pattern reads back: the recovery time, and
//! the proof that the acknowledged write survived. `docs/lab.md` describes it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use super::fault;
pub use super::fault::Fault;
use super::netns;
use super::nodes::{Guest, write_configs};
use super::plan::{LabMember, LabPlan};

/// The two guests, in order: node1 starts Primary and is powered off.
pub(super) const GUESTS: [&str; 2] = ["node1", "node2"];
/// Every guest's backing file.
pub(super) const DISK_BYTES: u64 = 64 << 20;
/// The NBD export's name (DRBD's resource).
pub(super) const RESOURCE: &str = "r0";
/// How long the pair may take to come up connected and UpToDate.
const START_WITHIN: Duration = Duration::from_secs(30);
/// How long node2 may take to serve the pattern after the power-off.
const RECOVER_WITHIN: Duration = Duration::from_secs(60);
/// How often the client probes node2.
const PROBE_EVERY: Duration = Duration::from_millis(50);
/// One `qemu-io` run's bound.
const QEMU_IO_WITHIN: Duration = Duration::from_secs(10);
/// The dummy OCF agent, written into the work directory (`real/ocf/dummy-service`).
pub(super) const DUMMY_SERVICE: &str = include_str!("../../../real/ocf/dummy-service");

/// One trial's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct Trial {
    /// 1-based.
    pub trial: usize,
    /// The byte written and read back.
    pub pattern: u8,
    /// Seconds from the fault to node2 serving the pattern.
    pub recovery_seconds: f64,
    /// The acknowledged write read back from node2.
    pub durable: bool,
    /// How many probes of node2 failed before one succeeded.
    pub failed_probes: usize,
    /// Seconds from the fault to node2's log saying `role:Primary` (its wall-clock
    /// timestamp against the fault's), if the log has the line.
    pub promoted_seconds: Option<f64>,
    /// Which node's export served the pattern first: node2, or node1 again after a hang
    /// shorter than Heartbeat's deadtime. Hang and partition only (a power-off's is
    /// always node2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovered_on: Option<String>,
    /// Hang and partition: whether either node logged DRBD's "Split-Brain detected"
    /// within the bounded wait after node1 came back (SIGCONT, or the links up again).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split_brain_detected: Option<bool>,
    /// Hang and partition: whether the client read the pattern from both exports at
    /// once (node1's after SIGCONT or during the partition, node2's after the takeover).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub both_served: Option<bool>,
    /// Hang and partition: both nodes' replication connection state at the end of the
    /// wait (`StandAlone` once the split brain dropped the connection).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub connections_after: Vec<String>,
    /// Hang and partition: the nodes whose log has "Split-Brain detected".
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub split_brain_nodes: Vec<String>,
}

/// A run's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// The lab's name.
    pub name: String,
    /// The fault.
    pub fault: Fault,
    /// The hang's length, seconds (`--fault hang`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hang_seconds: Option<f64>,
    /// Each trial.
    pub trials: Vec<Trial>,
    /// Mean recovery, seconds.
    pub mean_seconds: f64,
    /// Median recovery, seconds.
    pub p50_seconds: f64,
    /// Longest recovery, seconds.
    pub max_seconds: f64,
    /// Whether every trial's write survived.
    pub all_durable: bool,
}

impl RunReport {
    fn of(name: &str, fault: Fault, hang: Duration, trials: Vec<Trial>) -> RunReport {
        let mut r: Vec<f64> = trials.iter().map(|t| t.recovery_seconds).collect();
        r.sort_by(f64::total_cmp);
        let n = r.len().max(1) as f64;
        let p50 = if r.is_empty() {
            0.0
        } else if r.len() % 2 == 1 {
            r[r.len() / 2]
        } else {
            (r[r.len() / 2 - 1] + r[r.len() / 2]) / 2.0
        };
        RunReport {
            name: name.to_string(),
            fault,
            hang_seconds: (fault == Fault::Hang).then_some(hang.as_secs_f64()),
            mean_seconds: r.iter().sum::<f64>() / n,
            p50_seconds: p50,
            max_seconds: r.last().copied().unwrap_or(0.0),
            all_durable: trials.iter().all(|t| t.durable),
            trials,
        }
    }

    /// The text `dualha lab run` prints.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "lab '{}': {} trials of {}",
            self.name,
            self.trials.len(),
            self.fault
                .describe(Duration::from_secs_f64(self.hang_seconds.unwrap_or(0.0)))
        );
        for t in &self.trials {
            let _ = writeln!(
                s,
                "  trial {}: recovery {:.3} s, durable {} (pattern 0x{:02x}, {} failed probes{})",
                t.trial,
                t.recovery_seconds,
                if t.durable { "yes" } else { "no" },
                t.pattern,
                t.failed_probes,
                t.promoted_seconds
                    .map(|p| format!("; node2 logged Primary at {p:.3} s"))
                    .unwrap_or_default()
            );
            if self.fault != Fault::PowerOff {
                let yes = |b: Option<bool>| match b {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "-",
                };
                let _ = writeln!(
                    s,
                    "    served first by {}; both exports served at once: {}; split brain \
                     detected: {} (logged by: {}; connections after: {})",
                    t.recovered_on.as_deref().unwrap_or("-"),
                    yes(t.both_served),
                    yes(t.split_brain_detected),
                    if t.split_brain_nodes.is_empty() {
                        "none".to_string()
                    } else {
                        t.split_brain_nodes.join(", ")
                    },
                    t.connections_after.join(", ")
                );
            }
        }
        let _ = writeln!(
            s,
            "recovery: mean {:.3} s, p50 {:.3} s, max {:.3} s; durable {}/{}",
            self.mean_seconds,
            self.p50_seconds,
            self.max_seconds,
            self.trials.iter().filter(|t| t.durable).count(),
            self.trials.len()
        );
        s
    }
}

/// `--trials`: 1 to 50.
pub fn parse_trials(s: &str) -> std::result::Result<usize, String> {
    let n: usize = s
        .parse()
        .map_err(|_| format!("trials '{s}' is not a whole number"))?;
    if !(1..=50).contains(&n) {
        return Err(format!("trials {n} is out of range: 1 to 50"));
    }
    Ok(n)
}

/// `dualha-node`, next to the running `dualha`.
pub fn node_binary() -> Result<PathBuf> {
    let me = std::env::current_exe().context("cannot find the running dualha")?;
    let dir = me
        .parent()
        .context("the running dualha has no directory")?
        .to_path_buf();
    // `cargo test` runs integration tests' copies from target/*/deps; the binaries sit
    // one level up.
    for d in [dir.clone(), dir.join("..")] {
        let node = d.join("dualha-node");
        if node.is_file() {
            return Ok(node);
        }
    }
    bail!(
        "dualha-node is not next to dualha in {}: build it with `cargo build --release -p \
         real` (or `cargo build -p real` for a debug dualha)",
        dir.display()
    )
}

/// Runs the trials; `stop` is set by Ctrl-C or SIGTERM.
pub fn run(
    plan: &LabPlan,
    trials: usize,
    fault: Fault,
    hang: Duration,
    stop: &Arc<AtomicBool>,
) -> Result<RunReport> {
    netns::require_root()?;
    let node = node_binary()?;
    which("qemu-io", "qemu-utils")?;
    let mut done = Vec::new();
    for i in 1..=trials {
        let pattern = pattern(i);
        crate::cli::note(format_args!(
            "dualha lab run: trial {i}/{trials} (pattern 0x{pattern:02x})"
        ));
        let t = trial(plan, &node, i, pattern, (fault, hang), stop)
            .with_context(|| format!("trial {i} of lab '{}'", plan.name))?;
        crate::cli::note(format_args!(
            "dualha lab run: trial {i}: recovery {:.3} s, durable {}",
            t.recovery_seconds,
            if t.durable { "yes" } else { "no" }
        ));
        if let (Some(sb), Some(both)) = (t.split_brain_detected, t.both_served) {
            crate::cli::note(format_args!(
                "dualha lab run: trial {i}: split brain detected {sb}, both served {both}"
            ));
        }
        done.push(t);
    }
    Ok(RunReport::of(&plan.name, fault, hang, done))
}

/// Trial `i`'s pattern byte: its own, never 0 (a fresh disk reads zeroes).
fn pattern(i: usize) -> u8 {
    0x10 + (i as u8).wrapping_mul(0x25) % 0xe0
}

fn which(program: &str, package: &str) -> Result<()> {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false);
    if !found {
        bail!("{program} is not installed (package {package}): the lab's client needs it");
    }
    Ok(())
}

pub(super) fn member<'a>(plan: &'a LabPlan, name: &str) -> Result<&'a LabMember> {
    plan.members
        .iter()
        .find(|m| m.name == name)
        .with_context(|| {
            format!(
                "the lab has no {name}: `lab run` needs the drbd-heartbeat architecture on vmware"
            )
        })
}

/// Everything a trial started, stopped and removed when it ends, however it ends.
struct Running<'a> {
    plan: &'a LabPlan,
    children: Vec<(String, Child)>,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        for (_, c) in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = netns::down(self.plan);
    }
}

/// Runs `program args` to completion within `within`; (success, stdout, stderr).
fn run_bounded(cmd: &mut Command, within: Duration) -> Result<(bool, String, String)> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    let deadline = Instant::now() + within;
    loop {
        if child.try_wait()?.is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output()?;
            return Ok((
                false,
                String::from_utf8_lossy(&out.stdout).into_owned(),
                format!("timed out after {within:?}"),
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output()?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// `qemu-io -c COMMAND` against `url` from namespace `ns`; Err(what it said) if it failed
/// (a failed pattern check is reported on stdout with exit 0).
pub(super) fn qemu_io(
    ns: &str,
    url: &str,
    command: &str,
) -> Result<std::result::Result<(), String>> {
    let (ok, stdout, stderr) = run_bounded(
        Command::new("ip").args([
            "netns", "exec", ns, "qemu-io", "-f", "raw", url, "-c", command,
        ]),
        QEMU_IO_WITHIN,
    )?;
    if ok && !stdout.contains("Pattern verification failed") && !stdout.contains("failed:") {
        Ok(Ok(()))
    } else {
        Ok(Err(format!("{}{}", stderr.trim(), stdout.trim())))
    }
}

/// The node's status through its control socket (the socket is a path: no namespace
/// needed), or None while it does not answer.
pub(super) fn status(node: &Path, g: &Guest) -> Option<serde_json::Value> {
    let (ok, stdout, _) = run_bounded(
        Command::new(node)
            .args(["status", "--json", "--config"])
            .arg(&g.config),
        Duration::from_secs(5),
    )
    .ok()?;
    if !ok {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&stdout).ok()?;
    v.get("status").cloned().filter(|s| !s.is_null())
}

pub(super) fn field<'v>(s: &'v serde_json::Value, key: &str) -> &'v str {
    s.get(key).and_then(|v| v.as_str()).unwrap_or("")
}

fn log_tail(p: &Path) -> String {
    let text = std::fs::read_to_string(p).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

pub(super) fn check_stop(stop: &AtomicBool) -> Result<()> {
    if stop.load(Ordering::SeqCst) {
        bail!("interrupted");
    }
    Ok(())
}

fn trial(
    plan: &LabPlan,
    node: &Path,
    index: usize,
    pattern: u8,
    (fault, hang): (Fault, Duration),
    stop: &AtomicBool,
) -> Result<Trial> {
    let dir = netns::work_dir(&plan.name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    netns::up(plan)?;
    let mut running = Running {
        plan,
        children: Vec::new(),
    };
    check_stop(stop)?;
    let guests = write_configs(plan, &dir)?;
    let client = member(plan, "client")?.netns.clone();

    for (i, g) in guests.iter().enumerate() {
        let mut cmd = Command::new(node);
        cmd.args(["create-md", "--config"]).arg(&g.config);
        if i == 0 {
            cmd.arg("--initial-primary");
        }
        let (ok, _, stderr) = run_bounded(&mut cmd, Duration::from_secs(10))?;
        if !ok {
            bail!(
                "`dualha-node create-md` for {} failed: {}",
                g.name,
                stderr.trim()
            );
        }
    }
    for g in &guests {
        let log = std::fs::File::create(&g.log)
            .with_context(|| format!("cannot create {}", g.log.display()))?;
        let child = Command::new("ip")
            .args(["netns", "exec", &g.netns])
            .arg(node)
            .args(["run", "--config"])
            .arg(&g.config)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start dualha-node in {}", g.netns))?;
        running.children.push((g.name.to_string(), child));
    }

    // Up: node1 Primary, both connected and UpToDate.
    let deadline = Instant::now() + START_WITHIN;
    loop {
        check_stop(stop)?;
        let s: Vec<Option<serde_json::Value>> = guests.iter().map(|g| status(node, g)).collect();
        let ready = match (&s[0], &s[1]) {
            (Some(a), Some(b)) => {
                field(a, "role") == "Primary"
                    && [a, b].iter().all(|x| {
                        field(x, "connection") == "Connected"
                            && field(x, "disk") == "UpToDate"
                            && field(x, "peer_disk") == "UpToDate"
                    })
            }
            _ => false,
        };
        if ready {
            break;
        }
        for (name, c) in &mut running.children {
            if let Some(status) = c.try_wait()? {
                bail!(
                    "dualha-node on {name} exited ({status}) before the pair was up; its log:\n{}",
                    log_tail(&dir.join(format!("{name}.log")))
                );
            }
        }
        if Instant::now() > deadline {
            bail!(
                "the pair was not up within {START_WITHIN:?} (node1 Primary, both connected \
                 and UpToDate); last status node1 {}, node2 {}\nnode1's log:\n{}\nnode2's log:\n{}",
                s[0].as_ref().map_or("none".into(), |v| v.to_string()),
                s[1].as_ref().map_or("none".into(), |v| v.to_string()),
                log_tail(&guests[0].log),
                log_tail(&guests[1].log)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    // The acknowledged write, through node1's export.
    let url = |g: &Guest| format!("nbd://{}:10809/{RESOURCE}", g.public);
    if let Err(e) = qemu_io(
        &client,
        &url(&guests[0]),
        &format!("write -P {pattern} 0 1M"),
    )? {
        bail!("the client's write to node1 failed: {e}");
    }

    // The fault.
    let node1 = member(plan, GUESTS[0])?;
    let wall0 = std::time::SystemTime::now();
    let t0 = Instant::now();
    let continued = Arc::new(AtomicBool::new(false));
    let mut cont = None;
    match fault {
        Fault::PowerOff => {
            fault::power_off(plan, node1, running.children.first_mut().map(|(_, c)| c))?;
        }
        Fault::Hang => {
            let pid = running.children[0].1.id();
            fault::signal(pid, "STOP")?;
            cont = Some(fault::continue_after(pid, hang, &continued));
        }
        Fault::Partition => fault::set_links(plan, node1, Some(&fault::PARTITIONED), false)?,
    }
    let read = |g: &Guest| qemu_io(&client, &url(g), &format!("read -P {pattern} 0 1M"));

    // Recovery: node2 serves the pattern (or node1 again, once a hang is over).
    let mut failed = 0;
    let mut last_error = String::new();
    let recovered = 'probe: loop {
        check_stop(stop)?;
        let probe = Instant::now();
        let node1_back = fault == Fault::Hang && continued.load(Ordering::SeqCst);
        for g in guests.iter().rev().take(if node1_back { 2 } else { 1 }) {
            match read(g)? {
                Ok(()) => break 'probe Some((t0.elapsed(), true, g.name)),
                // The node answered with other bytes: the acknowledged write is lost.
                Err(e) if e.contains("Pattern verification failed") => {
                    last_error = e;
                    break 'probe Some((t0.elapsed(), false, g.name));
                }
                Err(e) => {
                    failed += 1;
                    last_error = e;
                }
            }
        }
        if t0.elapsed() > RECOVER_WITHIN {
            break None;
        }
        if let Some(rest) = PROBE_EVERY.checked_sub(probe.elapsed()) {
            std::thread::sleep(rest);
        }
    };
    let Some((took, durable, recovered_on)) = recovered else {
        bail!(
            "node2 did not serve the pattern within {RECOVER_WITHIN:?} of the fault \
             ({failed} probes; the last said: {last_error})\nnode2's log:\n{}",
            log_tail(&guests[1].log)
        );
    };

    // Hang and partition: node1 comes back still Primary. Do both exports serve, and
    // does DRBD find the split brain when the two reconnect?
    let after = match fault {
        Fault::PowerOff => fault::Aftermath::default(),
        _ => fault::aftermath(fault, plan, node, &guests, &read, cont, stop)?,
    };
    if !durable {
        crate::cli::note(format_args!(
            "dualha lab run: node2 serves other bytes than the acknowledged write: {last_error}"
        ));
    }

    // node2 stops cleanly (SIGTERM); `running` tears the rest down.
    if let Some((_, c)) = running.children.get_mut(1) {
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while c.try_wait()?.is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    drop(running);
    let promoted_seconds = promoted_after(&guests[1].log, wall0);
    // The disks are 128 MiB of /run (a tmpfs); the logs and configurations stay.
    for g in &guests {
        for ext in ["img", "meta"] {
            let _ = std::fs::remove_file(dir.join(format!("{}.{ext}", g.name)));
        }
    }
    Ok(Trial {
        trial: index,
        pattern,
        recovery_seconds: took.as_secs_f64(),
        durable,
        failed_probes: failed,
        promoted_seconds,
        recovered_on: (fault != Fault::PowerOff).then(|| recovered_on.to_string()),
        split_brain_detected: after.split_brain,
        both_served: after.both_served,
        connections_after: after.connections,
        split_brain_nodes: after.split_brain_nodes,
    })
}

/// Seconds from `wall0` to the first line of node2's log, after `wall0`, saying it
/// became Primary (`... node2: role:Primary`, timestamped `YYYY-MM-DDTHH:MM:SS.ffffffZ`
/// in UTC by `dualha-node`'s log).
fn promoted_after(log: &Path, wall0: std::time::SystemTime) -> Option<f64> {
    let since_epoch = wall0
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs_f64();
    let day = (since_epoch / 86_400.0).floor() * 86_400.0;
    let text = std::fs::read_to_string(log).ok()?;
    text.lines()
        .filter(|l| l.ends_with(": role:Primary"))
        .filter_map(|l| {
            let clock = l.split_whitespace().next()?.split('T').nth(1)?;
            let clock = clock.strip_suffix('Z')?;
            let mut parts = clock.split(':');
            let h: f64 = parts.next()?.parse().ok()?;
            let m: f64 = parts.next()?.parse().ok()?;
            let s: f64 = parts.next()?.parse().ok()?;
            let mut at = day + h * 3600.0 + m * 60.0 + s;
            if at + 43_200.0 < since_epoch {
                at += 86_400.0; // past midnight
            }
            Some(at - since_epoch)
        })
        .find(|d| *d >= 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial(i: usize, r: f64, durable: bool) -> Trial {
        Trial {
            trial: i,
            pattern: 1,
            recovery_seconds: r,
            durable,
            failed_probes: 0,
            promoted_seconds: None,
            recovered_on: None,
            split_brain_detected: None,
            both_served: None,
            connections_after: Vec::new(),
            split_brain_nodes: Vec::new(),
        }
    }

    #[test]
    fn trials_are_one_to_fifty_and_errors_name_the_value() {
        assert_eq!(parse_trials("1"), Ok(1));
        assert_eq!(parse_trials("50"), Ok(50));
        assert!(
            parse_trials("0")
                .expect_err("refused")
                .contains("trials 0 is out of range")
        );
        assert!(
            parse_trials("51")
                .expect_err("refused")
                .contains("trials 51")
        );
        assert!(parse_trials("two").expect_err("refused").contains("'two'"));
    }

    #[test]
    fn the_summary_is_mean_median_and_max() {
        let r = RunReport::of(
            "x",
            Fault::PowerOff,
            Duration::ZERO,
            vec![
                trial(1, 3.0, true),
                trial(2, 1.0, true),
                trial(3, 2.0, false),
            ],
        );
        assert_eq!(
            (r.mean_seconds, r.p50_seconds, r.max_seconds),
            (2.0, 2.0, 3.0)
        );
        assert!(!r.all_durable);
        let even = RunReport::of(
            "x",
            Fault::PowerOff,
            Duration::ZERO,
            vec![trial(1, 1.0, true), trial(2, 2.0, true)],
        );
        assert_eq!(even.p50_seconds, 1.5);
        assert!(even.text().contains("durable 2/2"), "{}", even.text());
    }

    #[test]
    fn patterns_are_never_zero() {
        let all: Vec<u8> = (1..=50).map(pattern).collect();
        assert!(!all.contains(&0));
        assert!(all.windows(2).all(|w| w[0] != w[1]), "{all:?}");
    }

    #[test]
    fn node2s_promotion_is_read_from_its_log_after_the_fault() {
        let dir = std::env::temp_dir().join(format!("dualha-labrun-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let log = dir.join("node2.log");
        std::fs::write(
            &log,
            "2026-12-08T01:21:00.000000Z  INFO dualha::timeline: node2: role:Primary\n\
             2026-12-08T01:22:01.839402Z  INFO dualha::timeline: node2: role:Primary\n",
        )
        .expect("log");
        // 2026-12-08T01:21:59.950000Z
        let wall0 = std::time::UNIX_EPOCH + Duration::from_micros(1_796_692_919_950_000);
        let p = promoted_after(&log, wall0).expect("found");
        assert!((p - 1.889402).abs() < 1e-3, "{p}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
