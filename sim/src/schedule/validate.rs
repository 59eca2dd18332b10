//! Checking a schedule before it runs: every error names the event, the key and the
//! value.

use model::NodeId;

use super::{Schedule, ScheduleError, ScheduledFault, parse_net, parse_node};
use crate::limits::{
    MAX_LOST_MESSAGES, MAX_SCHEDULE_EVENTS, MAX_SCHEDULE_SECS, MAX_SECS, int_in, secs_in,
};
use crate::scenario::Architecture;
use crate::world::Layout;

/// The shortest host hang, seconds.
pub const MIN_HANG_SECS: f64 = 0.001;

/// Guests are ids 0 and 1; hosts 10 to 13 (`parse_node`).
fn is_guest(n: NodeId) -> bool {
    n.0 < 10
}

impl Schedule {
    /// Checks times, durations, counts, node and network names, and that each fault
    /// fits its targets; independent of the lab (see [`Schedule::validate_for`]).
    pub fn validate(&self) -> Result<(), ScheduleError> {
        if self.events.len() > MAX_SCHEDULE_EVENTS {
            return Err(ScheduleError::TooManyEvents(self.events.len()));
        }
        for (index, e) in self.events.iter().enumerate() {
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
            match &e.fault {
                ScheduledFault::Partition { a, b, net } | ScheduledFault::Heal { a, b, net } => {
                    if let Some(n) = net {
                        parse_net(n).ok_or_else(|| {
                            fail(format!(
                                "unknown net {n:?}; allowed: public, replication, ring0, ring1 \
                                 (leave `net` out for every network)"
                            ))
                        })?;
                    }
                    pair(node("a", a)?, node("b", b)?, a, b).map_err(fail)?;
                }
                ScheduledFault::LoseMessages { a, b, count } => {
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
                | ScheduledFault::KillService { node: n }
                | ScheduledFault::DiskFailure { node: n }
                | ScheduledFault::ClusterRestart { node: n } => {
                    if !is_guest(node("node", n)?) {
                        return Err(fail(format!(
                            "node = {n:?}: {} takes a guest (a or b){}",
                            e.fault.kind(),
                            if matches!(e.fault, ScheduledFault::Crash { .. }) {
                                "; a host fails with power-off or hang"
                            } else {
                                ""
                            }
                        )));
                    }
                }
                ScheduledFault::PowerOff { node: n } => {
                    node("node", n)?;
                }
                ScheduledFault::Hang { node: n, secs } => {
                    node("node", n)?;
                    secs_in("secs", *secs, MIN_HANG_SECS, MAX_SECS)
                        .map_err(|r| fail(r.to_string()))?;
                }
            }
        }
        Ok(())
    }

    /// [`Schedule::validate`], and that every node it names exists in the lab of
    /// `architecture` (no guest `b` in the single-node lab, hosts `h12` and `h13` only in
    /// the combined one).
    pub fn validate_for(&self, architecture: Architecture) -> Result<(), ScheduleError> {
        self.validate()?;
        let layout = Layout::of(architecture);
        let present = |n: NodeId| {
            layout.home.contains_key(&n) || layout.clusters.iter().any(|c| c.hosts.contains(&n))
        };
        let mut names: Vec<String> = layout
            .home
            .keys()
            .map(|&g| crate::world::node_name(g))
            .collect();
        names.extend(
            layout
                .clusters
                .iter()
                .flat_map(|c| c.hosts.iter().map(|&h| crate::world::node_name(h))),
        );
        for (index, e) in self.events.iter().enumerate() {
            let named: Vec<(&str, &String)> = match &e.fault {
                ScheduledFault::Partition { a, b, .. }
                | ScheduledFault::Heal { a, b, .. }
                | ScheduledFault::LoseMessages { a, b, .. } => vec![("a", a), ("b", b)],
                ScheduledFault::Crash { node }
                | ScheduledFault::PowerOff { node }
                | ScheduledFault::Hang { node, .. }
                | ScheduledFault::KillService { node }
                | ScheduledFault::DiskFailure { node }
                | ScheduledFault::ClusterRestart { node } => vec![("node", node)],
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
}

/// Two ends of a link: different, and both guests or both hosts (guests and hosts never
/// message each other, so a cut between them would do nothing).
fn pair(x: NodeId, y: NodeId, a: &str, b: &str) -> Result<(), String> {
    if x == y {
        return Err(format!(
            "a = {a:?}, b = {b:?}: the two ends must be different nodes"
        ));
    }
    if is_guest(x) != is_guest(y) {
        return Err(format!(
            "a = {a:?}, b = {b:?}: both ends must be guests (a, b) or both hosts (h10..h13)"
        ));
    }
    Ok(())
}
