//! One trial: boot the lab, let it settle, inject the failure, probe until the service
//! answers again (or the horizon passes), and measure what happened.

use std::collections::BTreeMap;

use core::fmt::Write as _;
use core::time::Duration;

use model::cluster::ClusterNotice;
use model::guest::GuestNotice;
use model::membership::MembershipNotice;
use model::properties::Property;
use model::replication::ReplicaNotice;
use model::resources::ResourceNotice;
use model::{Effect, Time};
use serde::{Deserialize, Serialize};

use crate::node::SimNotice;
use crate::oracle::{Found, Oracle, OverlapSpan};
use crate::profile::{Profile, ProfileError};
use crate::rng::stream;
use crate::scenario::{Cell, FailureClass, Service};
use crate::schedule::{LabSchedule, Schedule, ScheduleError};
use crate::trace::TraceHash;
use crate::world::{FS, GUEST_A, IP, SERVICE, World, node_name, secs};

/// The longest stretch a trial runs between two looks at its event counter (the cap on
/// events). Nothing else happens at these instants: the layers are coupled after every
/// event, faults, probes and the world's own actions happen at their own times.
const CAP_STEP: Duration = Duration::from_secs(1);
/// How long a trial keeps running after the service is back, to see it stay up.
const SETTLE: Duration = Duration::from_secs(10);

/// One phase of a recovery and how long it took.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    /// `detection`, `vm restart`, `takeover`, `mount`, `address`, `service start`,
    /// `probe wait` (from the service answering again to the probe that saw it).
    pub name: String,
    /// Seconds.
    pub secs: f64,
}

/// What one trial measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrialResult {
    /// The cell.
    pub cell: Cell,
    /// The trial's number within its cell.
    pub trial: u32,
    /// The trial's own seed (derived from the run seed, the cell and the number).
    pub seed: u64,
    /// Virtual seconds from boot to the fault.
    pub fault_at: f64,
    /// The service answered again before the horizon (or never stopped answering) and
    /// still answered when the run stopped: an outage going on at the end is no
    /// recovery, even after an earlier one.
    pub recovered: bool,
    /// Seconds from the fault to the first successful probe after the outage it caused;
    /// `None` if it never came back, or never went down.
    pub recovery_secs: Option<f64>,
    /// Every interval in which probes failed after the warm-up (a hung host serves
    /// nobody): `[from, to)` seconds; `to` is the end of the run for an outage that
    /// never ended.
    pub down_intervals: Vec<(f64, f64)>,
    /// Where the recovery time went.
    pub phases: Vec<Phase>,
    /// Writes the transaction probe had acknowledged that the serving replica lacks.
    pub lost_acked_writes: u64,
    /// The guests were Primary with diverged data generations
    /// (`model::properties::Property::SplitBrain`, DRBD's split brain). Two Primaries
    /// without a fork, and two serving guests, are overlaps ([`ScriptedRun::overlaps`]).
    pub split_brain: bool,
    /// STONITH requests.
    pub fencing_events: u32,
    /// Guest VMs the cluster layer (re)booted after the fault.
    pub vm_restarts: u32,
    /// The guest serving at the end, if any.
    pub serving_at_end: Option<u16>,
    /// The lab did not reach its starting state (the group on guest A) by the fault.
    pub setup_failed: bool,
    /// The first property the oracles found violated (`model::properties`: split
    /// brain, a lost or missing acknowledged write, a stale Primary), with its time; it
    /// stopped the run.
    pub violation: Option<String>,
    /// Harness events processed.
    pub events: u64,
    /// Hash of every observable effect of the run: equal seeds give equal hashes.
    pub trace_hash: String,
}

/// The seed of trial `trial` of `cell` in a run seeded with `run_seed`.
pub fn trial_seed(run_seed: u64, cell: Cell, trial: u32) -> u64 {
    use rand::Rng;
    let label = format!(
        "{}/{}/{}/{}/{trial}",
        cell.failure.key(),
        cell.architecture.key(),
        cell.platform.key(),
        cell.service.key()
    );
    stream(run_seed, &label).random()
}

/// A scripted run: its measurements and a readable timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScriptedRun {
    /// What was measured (recovery is counted from the first scripted fault).
    pub result: TrialResult,
    /// Every property violated at the event that stopped the run (empty: none).
    pub violations: Vec<Found>,
    /// When two guests were Primary, and when two served, at once.
    pub overlaps: Vec<OverlapSpan>,
    /// The outage going on when the run stopped, and why nobody serves.
    pub outage: Option<Outage>,
    /// The notable state changes after the warm-up, one line each: `time node: change`.
    pub timeline: Vec<String>,
}

/// An outage still going on when a run stopped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outage {
    /// Virtual seconds since boot of the first failed probe.
    pub since: f64,
    /// Why no guest serves, guest by guest (down, hung, not promoted, group stopped...).
    pub why: String,
}

/// Why a trial could not run to its end; nothing was measured.
#[derive(Debug, thiserror::Error)]
pub enum TrialError {
    /// The profile has a value out of range.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// The schedule has a bad event.
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    /// The trial reached its cap on harness events before its horizon (the message
    /// leaves the cell and trial to the caller: a scripted run has no study cell).
    #[error(
        "stopped at {at} of virtual time after {events} events, over the limit of {limit} \
         events per trial; a shorter horizon or schedule, or longer keepalive, probe and \
         monitor intervals, take fewer"
    )]
    EventLimit {
        /// The cell.
        cell: Cell,
        /// The trial's number.
        trial: u32,
        /// Virtual time when it stopped.
        at: Time,
        /// Events processed.
        events: u64,
        /// The cap.
        limit: u64,
    },
}

/// What a trial injects.
enum Injection<'a> {
    /// One of the study's failures against guest A.
    Study(FailureClass),
    /// A scripted schedule.
    Script(&'a Schedule),
}

/// Which kind of run, once the injection is under way.
#[derive(Clone, Copy, PartialEq, Eq)]
enum InjectionKind {
    Study,
    Script,
}

/// Runs one trial of the study, without an event cap.
///
/// # Panics
///
/// If `profile` does not validate (one from [`Profile::from_toml`] does); use
/// [`try_run_trial`] for a profile built or changed by hand.
pub fn run_trial(profile: &Profile, cell: Cell, trial: u32, run_seed: u64) -> TrialResult {
    let seed = trial_seed(run_seed, cell, trial);
    match run(
        profile,
        cell,
        trial,
        seed,
        Injection::Study(cell.failure),
        u64::MAX,
    ) {
        Ok((result, _, _)) => result,
        Err(e) => panic!("run_trial: {e}"),
    }
}

/// Runs one trial of the study after checking the profile; stops with
/// [`TrialError::EventLimit`] after `max_events` harness events
/// ([`crate::limits::MAX_EVENTS_PER_TRIAL`] is the command line's default).
pub fn try_run_trial(
    profile: &Profile,
    cell: Cell,
    trial: u32,
    run_seed: u64,
    max_events: u64,
) -> Result<TrialResult, TrialError> {
    profile.validate()?;
    run_checked_trial(profile, cell, trial, run_seed, max_events)
}

/// [`try_run_trial`] for a profile already validated.
pub(crate) fn run_checked_trial(
    profile: &Profile,
    cell: Cell,
    trial: u32,
    run_seed: u64,
    max_events: u64,
) -> Result<TrialResult, TrialError> {
    let seed = trial_seed(run_seed, cell, trial);
    let injection = Injection::Study(cell.failure);
    Ok(run(profile, cell, trial, seed, injection, max_events)?.0)
}

/// Runs a scripted schedule in the lab of `cell` (its failure kind is ignored), seeded
/// with `seed`; times in the schedule count from the end of the warm-up. A schedule
/// with a configuration (a checker's counterexample) runs the pair set up that way,
/// with its application writes. The profile and the schedule (for the cell's lab and
/// the profile) are checked first; the run stops at the first violated property, or
/// with [`TrialError::EventLimit`] after `max_events` harness events.
pub fn run_schedule(
    profile: &Profile,
    cell: Cell,
    schedule: &Schedule,
    seed: u64,
    max_events: u64,
) -> Result<ScriptedRun, TrialError> {
    profile.validate()?;
    schedule.check_lab(cell, profile)?;
    let injection = Injection::Script(schedule);
    let (result, timeline, observed) = run(profile, cell, 0, seed, injection, max_events)?;
    Ok(ScriptedRun {
        result,
        timeline,
        violations: observed.found,
        overlaps: observed.overlaps,
        outage: observed.outage,
    })
}

/// What a run measured besides its [`TrialResult`].
struct Observed {
    /// Every property violated at the first event that violated any.
    found: Vec<Found>,
    /// Two Primaries, two serving guests: when.
    overlaps: Vec<OverlapSpan>,
    /// The outage going on when the run stopped, if any.
    outage: Option<Outage>,
}

/// Runs the lab to `until`, asking the properties after every event; stops at the event
/// that violates one.
fn run_checked(w: &mut World, oracle: &mut Oracle, until: Time) {
    w.run_until(until, |w, recorded| oracle.after_event(w, recorded));
}

fn run(
    profile: &Profile,
    cell: Cell,
    trial: u32,
    seed: u64,
    injection: Injection<'_>,
    max_events: u64,
) -> Result<(TrialResult, Vec<String>, Observed), TrialError> {
    // The cap is checked between steps of at most `CAP_STEP`: a validated profile keeps
    // one step's events few, and reading the counter changes nothing in the run.
    let over = |w: &World| {
        (w.lab.events() > max_events).then(|| TrialError::EventLimit {
            cell,
            trial,
            at: w.lab.now(),
            events: w.lab.events(),
            limit: max_events,
        })
    };
    let pair = match &injection {
        Injection::Study(_) => None,
        Injection::Script(s) => s.config.as_ref(),
    };
    let mut w = match &injection {
        Injection::Study(_) => World::study(profile, cell, seed),
        Injection::Script(_) => World::with_config(profile, cell, seed, pair),
    };
    let mut oracle = Oracle::new();
    let mut fault_rng = stream(seed, "fault");
    let warm = Time::ZERO + secs(profile.trial.warmup);
    let mut script: Vec<(Time, crate::schedule::ScheduledFault)> = match &injection {
        Injection::Study(_) => Vec::new(),
        Injection::Script(s) => s
            .in_order()
            .into_iter()
            .map(|e| (warm + secs(e.at), e.fault))
            .collect(),
    };
    // Popped from the back: earliest last.
    script.reverse();
    let fault_at = match &injection {
        Injection::Study(_) => warm + profile.trial.fault_offset.sample(&mut fault_rng),
        Injection::Script(_) => script.last().map_or(warm, |(t, _)| *t),
    };
    let probe_every = secs(profile.probe.interval);
    let mut probe = Probe::new(cell.service == Service::Mysql);
    // The probe's cycle runs at its own phase, not aligned with the fault (a Monit
    // cycle of 30 s would otherwise meet every fault at the same point of its cycle).
    let phase = {
        use rand::Rng;
        stream(seed, "probe-phase").random_range(0.0..profile.probe.interval)
    };
    let mut next_probe = Time::ZERO + secs(phase) + probe_every;

    // Warm-up. The properties hold from the start (a partitioned start may break one
    // before the first scripted event).
    while w.lab.now() < fault_at && !oracle.violated() {
        let until = (w.lab.now() + CAP_STEP).min(fault_at).min(next_probe);
        run_checked(&mut w, &mut oracle, until);
        if let Some(e) = over(&w) {
            return Err(e);
        }
        while next_probe <= w.lab.now() {
            probe.probe(&mut w, next_probe, false);
            next_probe = next_probe + probe_every;
        }
    }
    let setup_failed = w.serving() != [GUEST_A];
    let records_before = w.lab.records().len();

    let injection_kind = match injection {
        Injection::Study(failure) => {
            let delay = profile.platforms[&cell.platform]
                .control_plane_failover
                .sample(&mut stream(seed, "control-plane"));
            inject(&mut w, failure, delay);
            InjectionKind::Study
        }
        Injection::Script(_) => InjectionKind::Script,
    };
    oracle.after_world(&mut w);

    let last_fault = script.first().map_or(fault_at, |(t, _)| *t);
    let horizon = last_fault + secs(profile.trial.horizon);
    let scripted = matches!(injection_kind, InjectionKind::Script);
    let mut recovered_at: Option<Time> = None;
    // When the service answered again (at the event that brought it back), before a
    // probe saw it: the rest of the recovery is the wait for the probe.
    let mut serving_down = !w.guests.keys().any(|&g| w.serves(g));
    let mut serving_again: Option<Time> = None;
    let mut went_down = false;
    while w.lab.now() < horizon && !oracle.violated() {
        let now = w.lab.now();
        // A study trial ends once the service is back and stays up; a scripted run plays
        // out until its horizon, since later faults may still break something.
        if !scripted
            && recovered_at.is_some_and(|t| now >= t + SETTLE && now >= last_fault + SETTLE)
        {
            break;
        }
        let mut applied = false;
        while script.last().is_some_and(|(t, _)| *t <= w.lab.now()) {
            if let Some((_, fault)) = script.pop() {
                w.apply(&fault);
                applied = true;
            }
        }
        if applied && oracle.after_world(&mut w) {
            break;
        }
        let mut until = (w.lab.now() + CAP_STEP).min(next_probe).min(horizon);
        if let Some((t, _)) = script.last() {
            until = until.min(*t);
        }
        w.run_until(until, |w, recorded| {
            let violated = oracle.after_event(w, recorded);
            if recorded && serving_again.is_none() {
                let serving = w.guests.keys().any(|&g| w.serves(g));
                serving_down |= !serving;
                if serving_down && serving {
                    serving_again = Some(w.lab.now());
                }
            }
            violated
        });
        if let Some(e) = over(&w) {
            return Err(e);
        }
        while next_probe <= w.lab.now() {
            let ok = probe.probe(&mut w, next_probe, true);
            if next_probe >= fault_at {
                went_down |= !ok;
                // An outage shorter than the probe's cycle can fall between two probes:
                // it still happened (the world saw it), and the probe that follows the
                // service's return is when it is seen to be back.
                let back = went_down || serving_again.is_some_and(|t| next_probe >= t);
                if ok && back && recovered_at.is_none() {
                    recovered_at = Some(next_probe);
                }
            }
            next_probe = next_probe + probe_every;
        }
    }

    let end = w.lab.now();
    let lost = probe.lost_acked(&w);
    let found = oracle.found().to_vec();
    let split_brain = found
        .iter()
        .any(|f| f.violation.property == Property::SplitBrain);
    let phases = crate::phases::phases(&w, records_before, fault_at, recovered_at, serving_again);
    let fencing_events = w.lab.records()[records_before..]
        .iter()
        .filter(|r| matches!(r.effect, Effect::Fence(_)))
        .count() as u32;
    let mut hash = TraceHash::default();
    for r in w.lab.records() {
        let _ = writeln!(hash, "{}|{}|{:?}", r.time.as_nanos(), r.node.0, r.effect);
    }
    // An outage still going on when the run stops counts: it is in the down intervals
    // (ending at the stop), and the service has not recovered.
    let down_since = probe.down_since();
    let outage = down_since.map(|since| Outage {
        since: since.as_nanos() as f64 / 1e9,
        why: w.why_not_serving().unwrap_or_else(|| {
            "it answers again, after the last probe before the run stopped".to_string()
        }),
    });
    let result = TrialResult {
        cell,
        trial,
        seed,
        fault_at: fault_at.as_nanos() as f64 / 1e9,
        recovered: (recovered_at.is_some() || !went_down) && down_since.is_none(),
        recovery_secs: recovered_at.map(|t| (t - fault_at).as_secs_f64()),
        down_intervals: probe.down_intervals(end),
        phases,
        lost_acked_writes: lost,
        split_brain,
        fencing_events,
        vm_restarts: w.boots.iter().filter(|(t, _, _)| *t > fault_at).count() as u32,
        serving_at_end: w.serving().first().map(|g| g.0),
        setup_failed,
        violation: found.first().map(Found::to_string),
        events: w.lab.events(),
        trace_hash: hash.hex(),
    };
    // The injected faults, where they happened among the machines' reactions.
    let faults: Vec<(Time, String)> = match &injection {
        Injection::Study(_) => Vec::new(),
        Injection::Script(sch) => sch
            .in_order()
            .into_iter()
            .map(|e| (warm + secs(e.at), e.fault.describe()))
            .filter(|(t, _)| *t <= w.lab.now())
            .collect(),
    };
    let timeline = merge_faults(timeline(&w, records_before), &faults);
    let observed = Observed {
        found,
        overlaps: oracle.overlaps(end),
        outage,
    };
    Ok((result, timeline, observed))
}

/// `lines` (each starting with its time, in order) with a `FAULT` line for each fault
/// inserted before the first line at or after the fault's time.
fn merge_faults(lines: Vec<(Time, String)>, faults: &[(Time, String)]) -> Vec<String> {
    let mut out = Vec::with_capacity(lines.len() + faults.len());
    let mut f = faults.iter().peekable();
    for (t, line) in lines {
        while let Some((ft, text)) = f.next_if(|(ft, _)| *ft <= t) {
            out.push(format!("{ft} FAULT {text}"));
        }
        out.push(line);
    }
    out.extend(f.map(|(ft, text)| format!("{ft} FAULT {text}")));
    out
}

/// The notable changes after `from`, one line each, in the wording the daemon logs
/// (`model::guest::notice_text`): `a: role:Primary`, `b: heartbeat: node a is dead`.
fn timeline(w: &World, from: usize) -> Vec<(Time, String)> {
    let mut out = Vec::new();
    for (t, g, h) in &w.boots {
        if w.lab.records().get(from).is_some_and(|r| *t >= r.time) {
            out.push((*t, format!("{t} {g}: VM booted on {}", node_name(*h))));
        }
    }
    let process = |p: model::ProcessId| match p {
        crate::world::DRBD => "drbddisk".to_string(),
        FS => "Filesystem".to_string(),
        IP => "IPaddr2".to_string(),
        SERVICE => "service".to_string(),
        other => other.to_string(),
    };
    let vm = |p: model::ProcessId| {
        [GUEST_A, crate::world::GUEST_B]
            .into_iter()
            .find(|g| crate::world::vm_of(*g) == p)
            .map_or_else(|| p.to_string(), node_name)
    };
    for r in &w.lab.records()[from..] {
        let line = match &r.effect {
            Effect::Event(SimNotice::Guest(n)) => {
                let notable = match n {
                    // The peer's state echoed on every change and per-block progress
                    // would drown the timeline.
                    GuestNotice::Replica(
                        ReplicaNotice::Peer { .. }
                        | ReplicaNotice::Resynced(_)
                        | ReplicaNotice::NewCurrentUuid(_)
                        | ReplicaNotice::Handshake { .. },
                    ) => false,
                    GuestNotice::Membership(
                        MembershipNotice::PeerWarn(_)
                        | MembershipNotice::RingUp(_)
                        | MembershipNotice::RingDown(_),
                    ) => false,
                    GuestNotice::Resources(
                        ResourceNotice::GroupStarting
                        | ResourceNotice::GroupStopping
                        | ResourceNotice::FailCount { .. },
                    ) => false,
                    _ => true,
                };
                notable
                    .then(|| model::guest::notice_text(n, &node_name, &process))
                    .flatten()
            }
            Effect::Event(SimNotice::Cluster(n)) => match n {
                ClusterNotice::HostFailed(_)
                | ClusterNotice::VmRestartStarted { .. }
                | ClusterNotice::VmNotRestartable { .. }
                | ClusterNotice::MasterElected(_)
                | ClusterNotice::HostIsolated(_)
                | ClusterNotice::IsolationResponse { .. }
                | ClusterNotice::HostFenced { .. } => {
                    model::cluster::cluster_notice_text(n, &node_name, &vm)
                }
                _ => None,
            },
            Effect::Fence(n) => Some(format!("STONITH {}", node_name(*n))),
            _ => None,
        };
        if let Some(line) = line {
            out.push((r.time, format!("{} {}: {line}", r.time, node_name(r.node))));
        }
    }
    out.sort_by_key(|(t, _)| *t);
    out
}

/// Injects the study's failure against the serving guest A; `control_plane` is how long
/// the platform's control plane takes to fail over when a cluster fails.
fn inject(w: &mut World, failure: FailureClass, control_plane: Duration) {
    match failure {
        // "Stop the running service by hand": a clean stop, behind the cluster's back.
        FailureClass::Software => {
            w.lab.set_running(GUEST_A, SERVICE, false);
        }
        FailureClass::Hardware => {
            if let Some(host) = w.coupling.host_of(GUEST_A) {
                w.power_off_host(host);
            }
        }
        FailureClass::Cluster => {
            let Some(host) = w.coupling.host_of(GUEST_A) else {
                return;
            };
            let Some(cluster) = w.layout.cluster_of(host).cloned() else {
                return;
            };
            // The control plane that lived in this cluster must fail over elsewhere.
            w.shared.borrow_mut().control_plane_delay = Some(control_plane);
            for h in cluster.hosts {
                w.power_off_host(h);
            }
            for n in [cluster.controller, cluster.engine, cluster.datastore] {
                if w.lab.try_node(n).is_some() {
                    w.lab.crash(n);
                }
            }
        }
    }
}

/// The probes: an availability probe (ApacheBench- or tpcc-like request every interval),
/// and for MySQL a transaction that writes one block and must stay durable.
struct Probe {
    writes: bool,
    /// Block -> newest acknowledged write.
    acked: BTreeMap<u64, u64>,
    records_seen: usize,
    /// (time, ok) of every probe after the warm-up.
    results: Vec<(Time, bool)>,
}

impl Probe {
    fn new(writes: bool) -> Probe {
        Probe {
            writes,
            acked: BTreeMap::new(),
            records_seen: 0,
            results: Vec::new(),
        }
    }

    /// One probe at `at`; true if the service answered.
    fn probe(&mut self, w: &mut World, at: Time, record: bool) -> bool {
        self.collect_acks(w);
        let serving = w.serving();
        let ok = !serving.is_empty();
        if self.writes {
            if let Some(&g) = serving.first() {
                // The transaction cycles through 64 blocks: write n goes to n % 64.
                let block = (w.ledger.issued() + 1) % 64;
                w.write(g, block);
            }
        }
        if record {
            self.results.push((at, ok));
        }
        ok
    }

    fn collect_acks(&mut self, w: &World) {
        let records = w.lab.records();
        for r in &records[self.records_seen..] {
            if let Effect::Ack(write) = r.effect {
                if let Some(block) = w.ledger.block_of(write) {
                    let e = self.acked.entry(block).or_insert(0);
                    *e = (*e).max(write.0);
                }
            }
        }
        self.records_seen = records.len();
    }

    /// Acknowledged writes missing on the guest serving at the end.
    fn lost_acked(&mut self, w: &World) -> u64 {
        self.collect_acks(w);
        let Some(&g) = w.serving().first() else {
            return 0;
        };
        self.acked
            .iter()
            .filter(|&(&block, &id)| {
                let have = w
                    .lab
                    .disk(g)
                    .block(block)
                    .and_then(|p| p.as_u64())
                    .unwrap_or(0);
                have < id
            })
            .count() as u64
    }

    /// When the outage going on at the last probe began; `None` if that probe
    /// succeeded (or there was none).
    fn down_since(&self) -> Option<Time> {
        let last_up = self.results.iter().rposition(|&(_, ok)| ok);
        let first_down = last_up.map_or(0, |i| i + 1);
        self.results.get(first_down).map(|&(t, _)| t)
    }

    fn down_intervals(&self, end: Time) -> Vec<(f64, f64)> {
        let s = |t: Time| t.as_nanos() as f64 / 1e9;
        let mut out = Vec::new();
        let mut down_since: Option<Time> = None;
        for &(t, ok) in &self.results {
            match (ok, down_since) {
                (false, None) => down_since = Some(t),
                (true, Some(from)) => {
                    out.push((s(from), s(t)));
                    down_since = None;
                }
                _ => {}
            }
        }
        if let Some(from) = down_since {
            out.push((s(from), s(end)));
        }
        out
    }
}
