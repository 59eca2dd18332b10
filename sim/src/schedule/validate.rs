//! Checking a schedule before it runs: every error names the event (or the
//! configuration's key) and the value.

use model::NodeId;
use model::schedule::{ClusterLayer, MembershipQuorum};

use super::{Schedule, ScheduleError, ScheduledFault, parse_net, parse_node};
use crate::limits::{
    MAX_LOST_MESSAGES, MAX_SCHEDULE_EVENTS, MAX_SCHEDULE_SECS, MAX_SECS, int_in, secs_in,
};
use crate::profile::Profile;
use crate::scenario::{Architecture, Cell, Platform};

/// The shortest host hang, seconds.
pub const MIN_HANG_SECS: f64 = 0.001;

/// Guests are ids 0 and 1; hosts 10 to 13 (`parse_node`).
fn is_guest(n: NodeId) -> bool {
    n.0 < 10
}

/// Checks times, durations, counts, node and network names, and that each fault fits
/// its targets; independent of the lab (see [`validate_for`]).
pub(super) fn validate(s: &Schedule) -> Result<(), ScheduleError> {
    if s.events.len() > MAX_SCHEDULE_EVENTS {
        return Err(ScheduleError::TooManyEvents(s.events.len()));
    }
    for (index, e) in s.events.iter().enumerate() {
        let fail = |problem: String| ScheduleError::Event {
            index,
            kind: e.fault.kind().to_string(),
            problem,
        };
        secs_in("at", e.at, 0.0, MAX_SCHEDULE_SECS).map_err(|r| fail(r.to_string()))?;
        let node = |key: &str, name: &str| {
            parse_node(name).ok_or_else(|| {
                fail(format!(
                    "unknown node {name:?} ({key}); allowed: a, b, h10, h11, h12, h13"
                ))
            })
        };
        let net = |n: &Option<String>| -> Result<(), ScheduleError> {
            if let Some(n) = n {
                parse_net(n).ok_or_else(|| {
                    fail(format!(
                        "unknown net {n:?}; allowed: public, replication, ring0, ring1 \
                         (leave `net` out for every network)"
                    ))
                })?;
            }
            Ok(())
        };
        let guest = |n: &str| -> Result<(), ScheduleError> {
            if is_guest(node("node", n)?) {
                return Ok(());
            }
            Err(fail(format!(
                "node = {n:?}: {} takes a guest (a or b){}",
                e.fault.kind(),
                if matches!(e.fault, ScheduledFault::Crash { .. }) {
                    "; a host fails with power-off or hang"
                } else {
                    ""
                }
            )))
        };
        match &e.fault {
            ScheduledFault::Partition { a, b, net: n } | ScheduledFault::Heal { a, b, net: n } => {
                net(n)?;
                pair(node("a", a)?, node("b", b)?, a, b).map_err(fail)?;
            }
            ScheduledFault::CutOneWay { from, to, net: n }
            | ScheduledFault::HealOneWay { from, to, net: n } => {
                net(n)?;
                ends(
                    node("from", from)?,
                    node("to", to)?,
                    ("from", from),
                    ("to", to),
                )
                .map_err(fail)?;
            }
            ScheduledFault::LoseMessages {
                a,
                b,
                net: n,
                count,
            } => {
                net(n)?;
                pair(node("a", a)?, node("b", b)?, a, b).map_err(fail)?;
                int_in(
                    "count",
                    u64::from(*count),
                    1,
                    u64::from(MAX_LOST_MESSAGES),
                    "",
                )
                .map_err(|r| fail(r.to_string()))?;
            }
            ScheduledFault::Crash { node: n }
            | ScheduledFault::Reboot { node: n }
            | ScheduledFault::KillService { node: n }
            | ScheduledFault::DiskFailure { node: n }
            | ScheduledFault::ClusterRestart { node: n }
            | ScheduledFault::Write { node: n, .. } => guest(n)?,
            ScheduledFault::PowerOff { node: n } => {
                node("node", n)?;
            }
            ScheduledFault::Hang { node: n, secs } => {
                node("node", n)?;
                secs_in("secs", *secs, MIN_HANG_SECS, MAX_SECS).map_err(|r| fail(r.to_string()))?;
            }
        }
    }
    Ok(())
}

/// [`validate`], and that every node it names exists in the lab of `architecture` (no
/// guest `b` in the single-node lab, hosts `h12` and `h13` only in the combined one).
pub(super) fn validate_for(s: &Schedule, architecture: Architecture) -> Result<(), ScheduleError> {
    validate(s)?;
    let layout = crate::world::layout_of(architecture);
    let present = |n: NodeId| layout.home.contains_key(&n) || layout.hosts().any(|h| h == n);
    let mut names: Vec<String> = layout
        .home
        .keys()
        .map(|&g| crate::world::node_name(g))
        .collect();
    names.extend(layout.hosts().map(crate::world::node_name));
    for (index, e) in s.events.iter().enumerate() {
        let named: Vec<(&str, &String)> = match &e.fault {
            ScheduledFault::Partition { a, b, .. }
            | ScheduledFault::Heal { a, b, .. }
            | ScheduledFault::LoseMessages { a, b, .. } => vec![("a", a), ("b", b)],
            ScheduledFault::CutOneWay { from, to, .. }
            | ScheduledFault::HealOneWay { from, to, .. } => vec![("from", from), ("to", to)],
            ScheduledFault::Crash { node }
            | ScheduledFault::Reboot { node }
            | ScheduledFault::PowerOff { node }
            | ScheduledFault::Hang { node, .. }
            | ScheduledFault::KillService { node }
            | ScheduledFault::DiskFailure { node }
            | ScheduledFault::ClusterRestart { node }
            | ScheduledFault::Write { node, .. } => vec![("node", node)],
        };
        for (key, name) in named {
            if !parse_node(name).is_some_and(present) {
                return Err(ScheduleError::Event {
                    index,
                    kind: e.fault.kind().to_string(),
                    problem: format!(
                        "{key} = {name:?} is not in the {} lab (its nodes: {})",
                        architecture.label(),
                        names.join(", ")
                    ),
                });
            }
        }
    }
    Ok(())
}

/// The architecture and platform a configuration's cluster layer runs in: the pair in
/// one cluster without VM restart (local storage), or across two clusters that restart
/// its VMs; `None` for the platform when either would do.
pub fn lab_of(layer: ClusterLayer) -> (Architecture, Option<Platform>) {
    match layer {
        ClusterLayer::Off => (Architecture::DrbdHeartbeat, None),
        ClusterLayer::Vmware => (Architecture::Combined, Some(Platform::Vmware)),
        ClusterLayer::Openstack => (Architecture::Combined, Some(Platform::OpenStack)),
    }
}

/// That the schedule's configuration can be set up in the lab of `cell` with `profile`,
/// and that its writes fit the profile's device.
pub(super) fn check_lab(s: &Schedule, cell: Cell, profile: &Profile) -> Result<(), ScheduleError> {
    for (index, e) in s.events.iter().enumerate() {
        if let ScheduledFault::Write { write, .. } = &e.fault {
            if *write >= profile.drbd.blocks {
                return Err(ScheduleError::Event {
                    index,
                    kind: e.fault.kind().to_string(),
                    problem: format!(
                        "write = {write}: the block must be below the profile's drbd.blocks \
                         = {}",
                        profile.drbd.blocks
                    ),
                });
            }
        }
    }
    let Some(c) = &s.config else {
        return Ok(());
    };
    let refuse = |key: &str, problem: String| {
        Err(ScheduleError::Config {
            key: key.to_string(),
            problem,
        })
    };
    let (architecture, platform) = lab_of(c.cluster_layer);
    if cell.architecture != architecture || platform.is_some_and(|p| p != cell.platform) {
        return refuse(
            "cluster_layer",
            format!(
                "{:?} needs the {} lab{} (--architecture {}{}), not {} on {}",
                c.cluster_layer,
                architecture.label(),
                platform.map_or(String::new(), |p| format!(" on {}", p.label())),
                architecture.key().replace('_', "-"),
                platform.map_or(String::new(), |p| format!(" --platform {}", p.key())),
                cell.architecture.label(),
                cell.platform.label(),
            ),
        );
    }
    if c.drbd_quorum_witness {
        return refuse(
            "drbd_quorum_witness",
            "true: the simulated lab has no DRBD witness; only the checker explores it".to_string(),
        );
    }
    if c.ping_node {
        return refuse(
            "ping_node",
            "true: the simulated lab has no ipfail ping node; only the checker explores it"
                .to_string(),
        );
    }
    if c.membership_quorum == MembershipQuorum::Qdevice {
        return refuse(
            "membership_quorum",
            "qdevice: the simulated lab has no quorum device; only the checker explores it"
                .to_string(),
        );
    }
    if let Some(f) = c.drbd.fence_peer {
        return refuse(
            "drbd.fence_peer",
            format!(
                "{:?}: the simulated lab runs its own fence-peer handler; only the checker \
                 explores another",
                f.key()
            ),
        );
    }
    if c.boot_order != model::schedule::config::BootOrder::DrbdFirst {
        return refuse(
            "boot_order",
            "\"together\": the simulated lab starts DRBD first; only the checker explores \
             another order"
                .to_string(),
        );
    }
    if c.heartbeat.fence_delay_a.is_some() || c.heartbeat.fence_delay_b.is_some() {
        return refuse(
            "heartbeat.fence_delay_a",
            "set: the simulated lab draws its own fence delays (its profile's \
             pcmk_delay_max); only the checker takes fixed ones"
                .to_string(),
        );
    }
    crate::world::check_pair(profile, cell, c).or_else(|e| refuse("(guest)", e.to_string()))
}

/// Two ends of a link: different, and both guests or both hosts (guests and hosts never
/// message each other, so a cut between them would do nothing).
fn pair(x: NodeId, y: NodeId, a: &str, b: &str) -> Result<(), String> {
    ends(x, y, ("a", a), ("b", b))
}

/// [`pair`] with the keys the event spells its ends with (`from`/`to` for one-way cuts).
fn ends(x: NodeId, y: NodeId, (ka, a): (&str, &str), (kb, b): (&str, &str)) -> Result<(), String> {
    if x == y {
        return Err(format!(
            "{ka} = {a:?}, {kb} = {b:?}: the two ends must be different nodes"
        ));
    }
    if is_guest(x) != is_guest(y) {
        return Err(format!(
            "{ka} = {a:?}, {kb} = {b:?}: both ends must be guests (a, b) or both hosts (h10..h13)"
        ));
    }
    Ok(())
}
