//! The faults `dualha lab run` injects into node1, and what it looks for after them:
//! the power-off of node1's host, a hang of node1's `dualha-node` (SIGSTOP for a while,
//! then SIGCONT), and a partition of every link between node1 and node2 (replication
//! and both Heartbeat rings) while the public network stays up. `docs/lab.md`
//! describes them.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use super::nodes::Guest;
use super::plan::{LabMember, LabPlan};
use super::run::{GUESTS, check_stop, field, member, status};

/// Partition: how long the client tries to read the pattern from both exports.
const BOTH_WITHIN: Duration = Duration::from_secs(3);
/// Hang and partition: how long both nodes may take, once node1 is back, to find the
/// split brain (they reconnect every second: the lab's `connect-int`).
const SPLIT_BRAIN_WITHIN: Duration = Duration::from_secs(15);
/// Once one node logged the split brain, how long the other may take to log it too.
const PEER_GRACE: Duration = Duration::from_secs(3);

/// The fault a trial injects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// node1's host loses power: every one of node1's links goes down on the switch,
    /// then its `dualha-node` is killed (SIGKILL).
    PowerOff,
    /// node1's `dualha-node` hangs: SIGSTOP, then SIGCONT after `--hang-secs`.
    Hang,
    /// Every link between node1 and node2 (replication, ring 0, ring 1) goes down on the
    /// switch; the public network stays up. The links come back after the recovery.
    Partition,
}

impl Fault {
    /// How the report names it.
    pub fn describe(self, hang: Duration) -> String {
        match self {
            Fault::PowerOff => "power-off of node1's host".to_string(),
            Fault::Hang => format!(
                "hang of node1's dualha-node (SIGSTOP, SIGCONT after {:.1} s)",
                hang.as_secs_f64()
            ),
            Fault::Partition => {
                "partition of node1 from node2 (replication and both rings; public up)".to_string()
            }
        }
    }
}

/// The networks a partition cuts: every one between node1 and node2.
pub const PARTITIONED: [&str; 3] = ["drbd", "hb0", "hb1"];

/// The log line `dualha-node` writes when the handshake finds a split brain (DRBD's
/// "Split-Brain detected").
pub const SPLIT_BRAIN_LINE: &str = "Split-Brain detected";

/// `--hang-secs`: 0.5 to 120 seconds.
pub fn parse_hang_secs(s: &str) -> std::result::Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("hang-secs '{s}' is not a number of seconds"))?;
    if !(0.5..=120.0).contains(&v) {
        return Err(format!("hang-secs {s} is out of range: 0.5 to 120 seconds"));
    }
    Ok(v)
}

/// Sets `member`'s switch-side veth ends up or down, those on `networks` (all of them if
/// None), in one `ip -batch` in the switch's namespace.
pub fn set_links(
    plan: &LabPlan,
    member: &LabMember,
    networks: Option<&[&str]>,
    up: bool,
) -> Result<()> {
    let batch: String = member
        .links
        .iter()
        .filter(|l| networks.is_none_or(|n| n.contains(&plan.networks[l.network].name.as_str())))
        .map(|l| format!("link set {} {}\n", l.outer, if up { "up" } else { "down" }))
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
    if !out.status.success() {
        bail!(
            "cannot set {}'s links {} ({}): {}",
            member.name,
            if up { "up" } else { "down" },
            batch.trim().replace('\n', "; "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// The power-off: the links first, in one `ip -batch`, then the process. A killed
/// process's sockets would send FIN/RST to node2 while the link is still up, which a
/// host losing power never does.
pub fn power_off(plan: &LabPlan, node1: &LabMember, process: Option<&mut Child>) -> Result<()> {
    let links = set_links(plan, node1, None, false);
    if let Some(c) = process {
        let _ = c.kill();
        let _ = c.wait();
    }
    links
}

/// Sends `signal` (`STOP`, `CONT`) to process `pid`.
pub fn signal(pid: u32, signal: &str) -> Result<()> {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .context("cannot run `kill`")?;
    if !status.success() {
        bail!("`kill -{signal} {pid}` failed ({status})");
    }
    Ok(())
}

/// SIGCONT to `pid` after `after`, from a thread; `continued` is set once it is sent.
/// The handle says whether the signal went.
pub fn continue_after(
    pid: u32,
    after: Duration,
    continued: &Arc<AtomicBool>,
) -> std::thread::JoinHandle<Result<()>> {
    let flag = Arc::clone(continued);
    std::thread::spawn(move || {
        std::thread::sleep(after);
        let sent = signal(pid, "CONT");
        flag.store(true, Ordering::SeqCst);
        sent
    })
}

/// Whether `log` has the split-brain line.
pub fn split_brain_logged(log: &Path) -> bool {
    std::fs::read_to_string(log)
        .map(|t| t.lines().any(|l| l.contains(SPLIT_BRAIN_LINE)))
        .unwrap_or(false)
}

/// What a hang or a partition left behind, once node1 was back.
#[derive(Debug, Default)]
pub struct Aftermath {
    /// Whether the client read the pattern from both exports in one round of probes.
    pub both_served: Option<bool>,
    /// Whether either node logged the split brain.
    pub split_brain: Option<bool>,
    /// The nodes that logged it.
    pub split_brain_nodes: Vec<String>,
    /// Both nodes' replication connection state at the end.
    pub connections: Vec<String>,
}

/// After the recovery of a hang or a partition: the partition's client probes both
/// exports (up to 3 s), then the links come back; the hang waits for its SIGCONT and
/// probes both exports while it watches. Then, up to 15 s, both nodes' logs and status:
/// the watch ends once both logged the split brain and are StandAlone, 3 s after the
/// first did, or once both stayed Connected without it for 3 s.
pub(super) fn aftermath(
    fault: Fault,
    plan: &LabPlan,
    node: &Path,
    guests: &[Guest],
    read: &dyn Fn(&Guest) -> Result<std::result::Result<(), String>>,
    cont: Option<JoinHandle<Result<()>>>,
    stop: &AtomicBool,
) -> Result<Aftermath> {
    let both = || -> Result<bool> { Ok(read(&guests[0])?.is_ok() && read(&guests[1])?.is_ok()) };
    let mut served = false;
    if fault == Fault::Partition {
        let until = Instant::now() + BOTH_WITHIN;
        while !served && Instant::now() < until {
            check_stop(stop)?;
            served = both()?;
        }
        set_links(plan, member(plan, GUESTS[0])?, Some(&PARTITIONED), true)?;
    }
    if let Some(h) = cont {
        h.join()
            .map_err(|_| anyhow::anyhow!("the SIGCONT thread panicked"))??;
    }
    let deadline = Instant::now() + SPLIT_BRAIN_WITHIN;
    let (mut first_seen, mut connected_since) = (None, None);
    let mut after = Aftermath::default();
    loop {
        check_stop(stop)?;
        if fault == Fault::Hang && !served {
            served = both()?;
        }
        after.split_brain_nodes = guests
            .iter()
            .filter(|g| split_brain_logged(&g.log))
            .map(|g| g.name.to_string())
            .collect();
        let logged = after.split_brain_nodes.len();
        if logged > 0 && first_seen.is_none() {
            first_seen = Some(Instant::now());
        }
        after.connections = guests
            .iter()
            .map(|g| status(node, g).map_or("no answer".into(), |s| field(&s, "connection").into()))
            .collect();
        let standalone = after.connections.iter().all(|c| c == "StandAlone");
        // Reconnected through a handshake that found no split brain: none will come.
        if after.connections.iter().all(|c| c == "Connected") && logged == 0 {
            connected_since.get_or_insert_with(Instant::now);
        } else {
            connected_since = None;
        }
        let reconnected = connected_since.is_some_and(|at: Instant| at.elapsed() > PEER_GRACE);
        let graced = first_seen.is_some_and(|at: Instant| at.elapsed() > PEER_GRACE);
        if logged == guests.len() && standalone
            || graced
            || reconnected
            || Instant::now() > deadline
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    after.split_brain = Some(!after.split_brain_nodes.is_empty());
    after.both_served = Some(served);
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hang_secs_are_half_a_second_to_two_minutes_and_errors_name_the_value() {
        assert_eq!(parse_hang_secs("0.5"), Ok(0.5));
        assert_eq!(parse_hang_secs("120"), Ok(120.0));
        assert_eq!(parse_hang_secs("5"), Ok(5.0));
        assert!(
            parse_hang_secs("0.4")
                .expect_err("refused")
                .contains("hang-secs 0.4 is out of range")
        );
        assert!(
            parse_hang_secs("121")
                .expect_err("refused")
                .contains("hang-secs 121")
        );
        assert!(
            parse_hang_secs("NaN")
                .expect_err("refused")
                .contains("hang-secs NaN")
        );
        assert!(
            parse_hang_secs("long")
                .expect_err("refused")
                .contains("'long'")
        );
    }

    #[test]
    fn the_split_brain_line_is_found_in_a_log() {
        let dir = std::env::temp_dir().join(format!("dualha-labfault-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let log = dir.join("node1.log");
        std::fs::write(
            &log,
            "2026-12-08T01:21:00.000000Z  INFO dualha::timeline: node1: Split-Brain \
             detected, 2 primaries, dropping connection (manual recovery needed)\n",
        )
        .expect("log");
        assert!(split_brain_logged(&log));
        assert!(!split_brain_logged(&dir.join("none.log")));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
