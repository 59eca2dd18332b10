//! One long run: the study's lab of a cell with every component failing and being
//! repaired by its own seeded process, measured by the [`Meter`].
//!
//! Each component instance (a host's hardware and hypervisor, each guest's OS and
//! service, the pair's link, each cluster's site) alternates between working and failed,
//! with durations drawn from its own stream (`rng::stream(seed, "availability/<name>")`),
//! so adding a component does not move another's failures. Failures and repairs act
//! through the world like a schedule's faults (`World::apply`), and hosts power off and
//! on ([`World::power_off_host`], [`World::power_on_host`]); a host runs while its
//! hardware, hypervisor and site all work. The layers react as in any trial: the cluster
//! layer restarts VMs, Heartbeat takes over, a rebooted guest rejoins and resyncs — in
//! simulated time, so a second failure during a resync or a restart meets the lab as it
//! is. The driver's own steps happen in a fixed order at equal times (components in
//! their order, then writes, then the operator), never from a hash map.

use model::{NodeId, Time};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::config::{AvailabilityProfile, ComponentKind};
use super::meter::Meter;
use crate::profile::Profile;
use crate::rng::stream;
use crate::scenario::{Architecture, Cell};
use crate::schedule::ScheduledFault;
use crate::world::{GUEST_A, GUEST_B, World, node_name, secs};

/// What one component instance acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Host(NodeId),
    Guest(NodeId),
    Link,
    Site(usize),
}

#[derive(Debug)]
struct Component {
    kind: ComponentKind,
    target: Target,
    failed: bool,
    /// When it fails (working) or is repaired (failed) next.
    next: Time,
    rng: ChaCha8Rng,
}

/// One run's measurements.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// The run's seed.
    pub seed: u64,
    /// Seconds measured (after the warm-up).
    pub secs: f64,
    /// Seconds the service answered.
    pub up_secs: f64,
    /// Seconds it did not.
    pub down_secs: f64,
    /// Outages begun.
    pub outages: u64,
    /// The longest outage, seconds.
    pub longest_outage_secs: f64,
    /// The service moved to the other guest.
    pub failovers: u64,
    /// A standby became Primary while the Primary was up and answering.
    pub false_failovers: u64,
    /// Two Primaries with diverged data began (`model::properties`).
    pub split_brains: u64,
    /// Application writes issued to the serving replica.
    pub writes: u64,
    /// Acknowledged writes that no replica holds any more.
    pub lost_writes: u64,
    /// Seconds with fewer than two UpToDate, connected replicas (and no resync).
    pub degraded_secs: f64,
    /// Seconds a resync ran.
    pub resync_secs: f64,
    /// Failures per kind of component, in [`ComponentKind::ALL`] order.
    pub failures: Vec<(ComponentKind, u64)>,
    /// Harness events.
    pub events: u64,
}

impl RunResult {
    /// The fraction of the time the service answered.
    pub fn availability(&self) -> f64 {
        if self.secs > 0.0 {
            self.up_secs / self.secs
        } else {
            1.0
        }
    }
}

/// The component instances of `w`'s lab, each with its first failure drawn.
fn components(w: &World, a: &AvailabilityProfile, seed: u64, start: Time) -> Vec<Component> {
    let mut targets = Vec::new();
    for h in w.hosts() {
        targets.push((ComponentKind::Host, Target::Host(h)));
        targets.push((ComponentKind::Hypervisor, Target::Host(h)));
    }
    for &g in w.guests.keys() {
        targets.push((ComponentKind::GuestOs, Target::Guest(g)));
        targets.push((ComponentKind::Service, Target::Guest(g)));
    }
    if w.cell.architecture != Architecture::SingleNode {
        targets.push((ComponentKind::Link, Target::Link));
    }
    for i in 0..w.layout.clusters.len() {
        targets.push((ComponentKind::Site, Target::Site(i)));
    }
    targets
        .into_iter()
        .filter(|(k, _)| a.component(*k).enabled)
        .map(|(kind, target)| {
            let name = match target {
                Target::Host(n) | Target::Guest(n) => node_name(n),
                Target::Link => "a-b".to_string(),
                Target::Site(i) => format!("cluster{i}"),
            };
            let mut rng = stream(seed, &format!("availability/{}/{name}", kind.key()));
            let next = start + secs(a.component(kind).failure.draw(&mut rng));
            Component {
                kind,
                target,
                failed: false,
                next,
                rng,
            }
        })
        .collect()
}

/// Whether host `h` runs: its hardware, hypervisor and site all work.
fn host_works(w: &World, comps: &[Component], h: NodeId) -> bool {
    comps.iter().all(|c| {
        !c.failed
            || match c.target {
                Target::Host(x) => x != h,
                Target::Site(i) => !w.layout.clusters[i].hosts.contains(&h),
                _ => true,
            }
    })
}

/// Runs the lab of `cell` for `secs_to_run` seconds after the profile's warm-up, with
/// the failure and repair processes of `profile.availability`, seeded with `seed`.
/// `progress` is told the fraction done now and then (every simulated day).
///
/// The profile is the caller's to validate (`Profile::validate`).
pub fn run_availability(
    profile: &Profile,
    cell: Cell,
    secs_to_run: f64,
    seed: u64,
    progress: &mut dyn FnMut(f64),
) -> RunResult {
    let a = &profile.availability;
    let mut w = World::study(profile, cell, seed);
    let start = Time::ZERO + secs(profile.trial.warmup);
    w.run_until(start, |_, _| false);
    w.forget_records();
    let end = start + secs(secs_to_run);
    let mut comps = components(&w, a, seed, start);
    let mut failures = vec![0u64; ComponentKind::ALL.len()];
    let mut meter = Meter::new(&w, start);
    let write_every = secs(a.write_interval);
    let mut next_write = start + write_every;
    let mut writes = 0u64;
    let mut operator_rng = stream(seed, "availability/operator");
    let mut operator_due: Vec<Time> = Vec::new();
    let day = secs(86_400.0);
    let mut next_progress = start + day;
    loop {
        let due = comps
            .iter()
            .map(|c| c.next)
            .chain([next_write, next_progress, end])
            .chain(operator_due.iter().copied())
            .min()
            .unwrap_or(end);
        w.run_until(due, |w, recorded| {
            meter.after_event(w, recorded);
            false
        });
        let now = w.lab.now();
        for i in 0..comps.len() {
            if comps[i].next > now {
                continue;
            }
            let was_up: Vec<(NodeId, bool)> = w
                .hosts()
                .into_iter()
                .map(|h| (h, host_works(&w, &comps, h)))
                .collect();
            let c = &mut comps[i];
            c.failed = !c.failed;
            let p = a.component(c.kind);
            let d = if c.failed {
                p.repair.draw(&mut c.rng)
            } else {
                p.failure.draw(&mut c.rng)
            };
            c.next = now + secs(d);
            let (kind, target, failed) = (c.kind, c.target, c.failed);
            if failed && let Some(k) = ComponentKind::ALL.iter().position(|&x| x == kind) {
                failures[k] += 1;
            }
            act(&mut w, kind, target, failed);
            for (h, before) in was_up {
                let after = host_works(&w, &comps, h);
                if before && !after {
                    w.power_off_host(h);
                } else if !before && after {
                    w.power_on_host(h);
                }
            }
            if !failed {
                // A repair may make a VM startable again that no layer will start.
                operator_due.push(now + secs(a.operator.draw(&mut operator_rng)));
            }
            meter.evaluate(&w);
        }
        if operator_due.iter().any(|&t| t <= now) {
            operator_due.retain(|&t| t > now);
            for g in w.vms_off() {
                w.operator_power_on(g);
            }
            meter.evaluate(&w);
        }
        if next_write <= now {
            meter.check_writes(&w);
            if let Some(&g) = w.serving().first() {
                let block = w.ledger.issued() % 64;
                if w.write(g, block).is_some() {
                    writes += 1;
                }
            }
            next_write = next_write + write_every;
        }
        w.forget_records();
        if next_progress <= now {
            next_progress = next_progress + day;
            progress(((now - start).as_secs_f64() / secs_to_run).min(1.0));
        }
        if now >= end {
            break;
        }
    }
    meter.finish(end);
    meter.check_writes(&w);
    progress(1.0);
    RunResult {
        seed,
        secs: secs_to_run,
        up_secs: meter.up,
        down_secs: meter.down,
        outages: meter.outages,
        longest_outage_secs: meter.longest_outage,
        failovers: meter.failovers,
        false_failovers: meter.false_failovers,
        split_brains: meter.split_brains,
        writes,
        lost_writes: meter.lost_writes(),
        degraded_secs: meter.degraded,
        resync_secs: meter.resyncing,
        failures: ComponentKind::ALL.into_iter().zip(failures).collect(),
        events: w.lab.events(),
    }
}

/// What a failure or repair of a component does to the lab (hosts are powered off and
/// on by the caller, from all their components).
fn act(w: &mut World, kind: ComponentKind, target: Target, failed: bool) {
    let fault = match (kind, target, failed) {
        (ComponentKind::GuestOs, Target::Guest(g), true) => {
            ScheduledFault::Crash { node: node_name(g) }
        }
        (ComponentKind::GuestOs, Target::Guest(g), false) => {
            ScheduledFault::Reboot { node: node_name(g) }
        }
        (ComponentKind::Service, Target::Guest(g), true) => {
            ScheduledFault::KillService { node: node_name(g) }
        }
        (ComponentKind::Service, Target::Guest(g), false) => {
            w.restart_service(g);
            return;
        }
        (ComponentKind::Link, _, true) => ScheduledFault::Partition {
            a: node_name(GUEST_A),
            b: node_name(GUEST_B),
            net: None,
        },
        (ComponentKind::Link, _, false) => ScheduledFault::Heal {
            a: node_name(GUEST_A),
            b: node_name(GUEST_B),
            net: None,
        },
        _ => return,
    };
    w.apply(&fault);
    w.couple();
}
