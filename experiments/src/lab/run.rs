//! `dualha lab run`: the first measurement in the lab. For the DRBD + Heartbeat
//! architecture, each trial builds the lab, runs `dualha-node` in the two guest VMs'
//! namespaces (node1 the initial Primary), writes a pattern through NBD from the
//! client, powers node1's host off (SIGKILL of node1's `dualha-node`, every veth end of
//! node1 set down on the switch), and polls node2's export from the client until the
//! pattern reads back: the recovery time, and the proof that the acknowledged write
//! survived. `docs/lab.md` describes it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use super::netns;
use super::plan::{LabMember, LabPlan};

/// The two guests, in order: node1 starts Primary and is powered off.
const GUESTS: [&str; 2] = ["node1", "node2"];
/// Every guest's backing file.
const DISK_BYTES: u64 = 64 << 20;
/// The NBD export's name (DRBD's resource).
const RESOURCE: &str = "r0";
/// How long the pair may take to come up connected and UpToDate.
const START_WITHIN: Duration = Duration::from_secs(30);
/// How long node2 may take to serve the pattern after the power-off.
const RECOVER_WITHIN: Duration = Duration::from_secs(60);
/// How often the client probes node2.
const PROBE_EVERY: Duration = Duration::from_millis(50);
/// One `qemu-io` run's bound.
const QEMU_IO_WITHIN: Duration = Duration::from_secs(10);
/// The dummy OCF agent, written into the work directory (`real/ocf/dummy-service`).
const DUMMY_SERVICE: &str = include_str!("../../../real/ocf/dummy-service");

/// The fault a trial injects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// node1's host loses power: every one of node1's links goes down on the switch,
    /// then its `dualha-node` is killed (SIGKILL).
    PowerOff,
}

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
}

/// A run's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// The lab's name.
    pub name: String,
    /// The fault.
    pub fault: Fault,
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
    fn of(name: &str, fault: Fault, trials: Vec<Trial>) -> RunReport {
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
            match self.fault {
                Fault::PowerOff => "power-off of node1's host",
            }
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
        let t = trial(plan, &node, i, pattern, fault, stop)
            .with_context(|| format!("trial {i} of lab '{}'", plan.name))?;
        crate::cli::note(format_args!(
            "dualha lab run: trial {i}: recovery {:.3} s, durable {}",
            t.recovery_seconds,
            if t.durable { "yes" } else { "no" }
        ));
        done.push(t);
    }
    Ok(RunReport::of(&plan.name, fault, done))
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

/// A guest's address on network `net`, without its prefix length.
fn address(m: &LabMember, plan: &LabPlan, net: &str) -> Result<String> {
    let l = m
        .links
        .iter()
        .find(|l| plan.networks[l.network].name == net)
        .with_context(|| format!("{} is not on the {net} network", m.name))?;
    Ok(l.address.split('/').next().unwrap_or_default().to_string())
}

fn member<'a>(plan: &'a LabPlan, name: &str) -> Result<&'a LabMember> {
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

/// One guest's files.
struct Guest {
    name: &'static str,
    netns: String,
    config: PathBuf,
    log: PathBuf,
    public: String,
}

fn write_configs(plan: &LabPlan, dir: &Path) -> Result<Vec<Guest>> {
    let agent = dir.join("dummy-service");
    std::fs::write(&agent, DUMMY_SERVICE)
        .with_context(|| format!("cannot write {}", agent.display()))?;
    set_executable(&agent)?;
    let ms: Vec<&LabMember> = GUESTS
        .iter()
        .map(|g| member(plan, g))
        .collect::<Result<_>>()?;
    let mut guests = Vec::new();
    for (i, name) in GUESTS.iter().enumerate() {
        let (me, peer) = (ms[i], ms[1 - i]);
        let d = dir.display();
        let config = dir.join(format!("{name}.toml"));
        let disk = dir.join(format!("{name}.img"));
        let f = std::fs::File::create(&disk)
            .with_context(|| format!("cannot create {}", disk.display()))?;
        f.set_len(DISK_BYTES)
            .with_context(|| format!("cannot size {}", disk.display()))?;
        let public = address(me, plan, "public")?;
        let text = format!(
            r#"# Written by `dualha lab run` for lab '{lab}'.
[node]
name = "{name}"
peer-name = "{peer_name}"
id = {i}
resource = "{RESOURCE}"

[storage]
disk = "{d}/{name}.img"
meta = "{d}/{name}.meta"

[net]
replication = {{ listen = "{me_drbd}:7789", peer = "{peer_drbd}:7789" }}
rings = [
  {{ listen = "{me_hb0}:7694", peer = "{peer_hb0}:7694" }},
  {{ listen = "{me_hb1}:7694", peer = "{peer_hb1}:7694" }},
]
nbd = "{public}:10809"
control = "{d}/{name}.sock"
metrics = "{public}:9101"

[security]
shared-secret = "dualha lab {lab}"

[drbd]
protocol = "C"
ping-int = 1.0

[heartbeat]
keepalive = 0.2
deadtime = 2.0
auto-failback = false
preferred = "node1"

[[resource]]
name = "web"
kind = "service"
agent = "{agent}"
params = {{ state = "{d}/web-on-{name}" }}
monitor-interval = 5
"#,
            lab = plan.name,
            peer_name = peer.name,
            me_drbd = address(me, plan, "drbd")?,
            peer_drbd = address(peer, plan, "drbd")?,
            me_hb0 = address(me, plan, "hb0")?,
            peer_hb0 = address(peer, plan, "hb0")?,
            me_hb1 = address(me, plan, "hb1")?,
            peer_hb1 = address(peer, plan, "hb1")?,
            agent = agent.display(),
        );
        std::fs::write(&config, text)
            .with_context(|| format!("cannot write {}", config.display()))?;
        guests.push(Guest {
            name,
            netns: me.netns.clone(),
            config,
            log: dir.join(format!("{name}.log")),
            public,
        });
    }
    Ok(guests)
}

fn set_executable(p: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot make {} executable", p.display()))
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
fn qemu_io(ns: &str, url: &str, command: &str) -> Result<std::result::Result<(), String>> {
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
fn status(node: &Path, g: &Guest) -> Option<serde_json::Value> {
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

fn field<'v>(s: &'v serde_json::Value, key: &str) -> &'v str {
    s.get(key).and_then(|v| v.as_str()).unwrap_or("")
}

fn log_tail(p: &Path) -> String {
    let text = std::fs::read_to_string(p).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

fn check_stop(stop: &AtomicBool) -> Result<()> {
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
    fault: Fault,
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
    let wall0 = std::time::SystemTime::now();
    let t0 = Instant::now();
    match fault {
        Fault::PowerOff => {
            // The links first, in one `ip -batch`, then the process: a killed process's
            // sockets would send FIN/RST to node2 while the link is still up, which a host
            // losing power never does.
            let node1 = member(plan, GUESTS[0])?;
            let batch: String = node1
                .links
                .iter()
                .map(|l| format!("link set {} down\n", l.outer))
                .collect();
            let mut ip = Command::new("ip")
                .args(["-n", &plan.switch, "-batch", "-"])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .context("cannot run `ip`")?;
            if let Some(mut stdin) = ip.stdin.take() {
                use std::io::Write as _;
                stdin
                    .write_all(batch.as_bytes())
                    .context("cannot write to `ip -batch`")?;
            }
            let out = ip.wait_with_output().context("`ip -batch` did not end")?;
            if let Some((_, c)) = running.children.first_mut() {
                let _ = c.kill();
                let _ = c.wait();
            }
            if !out.status.success() {
                bail!(
                    "cannot set node1's links down ({}): {}",
                    batch.trim().replace('\n', "; "),
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
        }
    }

    // Recovery: node2 serves the pattern.
    let mut failed = 0;
    let mut last_error = String::new();
    let recovered = loop {
        check_stop(stop)?;
        let probe = Instant::now();
        match qemu_io(
            &client,
            &url(&guests[1]),
            &format!("read -P {pattern} 0 1M"),
        )? {
            Ok(()) => break Some((t0.elapsed(), true)),
            // node2 answered with other bytes: the acknowledged write is lost.
            Err(e) if e.contains("Pattern verification failed") => {
                last_error = e;
                break Some((t0.elapsed(), false));
            }
            Err(e) => {
                failed += 1;
                last_error = e;
            }
        }
        if t0.elapsed() > RECOVER_WITHIN {
            break None;
        }
        if let Some(rest) = PROBE_EVERY.checked_sub(probe.elapsed()) {
            std::thread::sleep(rest);
        }
    };
    let Some((took, durable)) = recovered else {
        bail!(
            "node2 did not serve the pattern within {RECOVER_WITHIN:?} of the power-off \
             ({failed} probes; the last said: {last_error})\nnode2's log:\n{}",
            log_tail(&guests[1].log)
        );
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
