//! Carries a [`LabPlan`] out with iproute2 (`ip netns`, veth pairs, bridges), takes it
//! down, and finds what a killed run left behind. Needs root (CAP_NET_ADMIN and
//! CAP_SYS_ADMIN for namespaces); every failure names the command that failed.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use super::plan::LabPlan;

/// Where running labs are recorded, so `down` and `clean` know what to remove.
const STATE_DIR: &str = "/run/dualha";

/// The state file of lab `name`.
pub fn state_file(name: &str) -> PathBuf {
    PathBuf::from(STATE_DIR).join(format!("lab-{name}.json"))
}

/// The work directory of lab `name`'s runs (node configurations, logs, disks).
pub fn work_dir(name: &str) -> PathBuf {
    PathBuf::from(STATE_DIR).join(format!("lab-{name}"))
}

/// Runs `ip ARGS`; the error names the command and what `ip` said.
fn ip(args: &[&str]) -> Result<()> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("cannot run `ip` (iproute2)")?;
    if !out.status.success() {
        bail!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// The network namespaces that exist now.
pub fn existing_namespaces() -> Result<Vec<String>> {
    let out = Command::new("ip")
        .args(["netns", "list"])
        .stdin(Stdio::null())
        .output()
        .context("cannot run `ip netns list` (iproute2)")?;
    if !out.status.success() {
        bail!(
            "`ip netns list` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect())
}

/// Refuses to start without the privileges a lab needs, saying so plainly.
pub fn require_root() -> Result<()> {
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(str::to_string))
        })
        .unwrap_or_default();
    if uid != "0" {
        bail!("a lab needs root (network namespaces, veth pairs and bridges): run it as root");
    }
    Ok(())
}

/// Builds the lab: the switch namespace with a bridge per network, a namespace per
/// member, a veth pair per attachment with the member's address. Records the plan in
/// the state file first, so a run killed half way is found by `clean`. On failure,
/// removes what it made.
pub fn up(plan: &LabPlan) -> Result<()> {
    require_root()?;
    let existing = existing_namespaces()?;
    if let Some(taken) = plan.namespaces().iter().find(|n| existing.contains(n)) {
        bail!(
            "namespace {taken} exists already: another lab named '{}' is up, or a killed \
             run left it (dualha lab down --name {0}, or dualha lab clean --name {0})",
            plan.name
        );
    }
    std::fs::create_dir_all(STATE_DIR).with_context(|| format!("cannot create {STATE_DIR}"))?;
    let state = state_file(&plan.name);
    let json = serde_json::to_string_pretty(plan).context("cannot encode the lab plan")?;
    std::fs::write(&state, json).with_context(|| format!("cannot write {}", state.display()))?;
    let made = build(plan);
    if made.is_err() {
        let _ = down(plan);
    }
    made
}

fn build(plan: &LabPlan) -> Result<()> {
    let sw = plan.switch.as_str();
    ip(&["netns", "add", sw])?;
    ip(&["-n", sw, "link", "set", "lo", "up"])?;
    for n in &plan.networks {
        ip(&["-n", sw, "link", "add", &n.bridge, "type", "bridge"])?;
        ip(&["-n", sw, "link", "set", &n.bridge, "up"])?;
    }
    for m in &plan.members {
        let ns = m.netns.as_str();
        ip(&["netns", "add", ns])?;
        ip(&["-n", ns, "link", "set", "lo", "up"])?;
        for l in &m.links {
            let bridge = &plan.networks[l.network].bridge;
            ip(&[
                "-n", sw, "link", "add", &l.outer, "type", "veth", "peer", "name", &l.inner,
                "netns", ns,
            ])?;
            ip(&["-n", sw, "link", "set", &l.outer, "master", bridge, "up"])?;
            ip(&["-n", ns, "addr", "add", &l.address, "dev", &l.inner])?;
            ip(&["-n", ns, "link", "set", &l.inner, "up"])?;
        }
    }
    Ok(())
}

/// Removes the lab's namespaces (their veth ends go with them) and its state file.
/// Namespaces already gone are fine; returns how many were removed.
pub fn down(plan: &LabPlan) -> Result<usize> {
    let existing = existing_namespaces()?;
    let mut removed = 0;
    let mut failed = Vec::new();
    for ns in plan.namespaces().iter().rev() {
        if existing.contains(ns) {
            match ip(&["netns", "del", ns]) {
                Ok(()) => removed += 1,
                Err(e) => failed.push(format!("{e:#}")),
            }
        }
    }
    let state = state_file(&plan.name);
    if state.exists() {
        std::fs::remove_file(&state)
            .with_context(|| format!("cannot remove {}", state.display()))?;
    }
    if !failed.is_empty() {
        bail!(
            "some namespaces could not be removed: {}",
            failed.join("; ")
        );
    }
    Ok(removed)
}

/// Reads the plan of a running lab from its state file.
pub fn load(name: &str) -> Result<LabPlan> {
    let state = state_file(name);
    let text = std::fs::read_to_string(&state).with_context(|| {
        format!(
            "no lab '{name}' is recorded ({} cannot be read): is it up? `dualha lab clean \
             --name {name}` removes leftovers",
            state.display()
        )
    })?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a lab plan", state.display()))
}

/// Removes every namespace whose name starts with `name-`, the state file and the work
/// directory of `lab run` (its logs too): what a killed run left behind. Returns the namespaces removed.
pub fn clean(name: &str) -> Result<Vec<String>> {
    require_root()?;
    super::plan::check_name(name)?;
    let prefix = format!("{name}-");
    let mut removed = Vec::new();
    for ns in existing_namespaces()? {
        if ns.starts_with(&prefix) {
            ip(&["netns", "del", &ns])?;
            removed.push(ns);
        }
    }
    let state = state_file(name);
    if state.exists() {
        std::fs::remove_file(&state)
            .with_context(|| format!("cannot remove {}", state.display()))?;
    }
    let work = work_dir(name);
    if work.exists() {
        std::fs::remove_dir_all(&work)
            .with_context(|| format!("cannot remove {}", work.display()))?;
    }
    Ok(removed)
}

/// Runs `program args` inside `netns` (`ip netns exec`), returning the child.
pub fn spawn_in(netns: &str, program: &str, args: &[&str]) -> Result<std::process::Child> {
    Command::new("ip")
        .args(["netns", "exec", netns, program])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {program} in namespace {netns}"))
}
