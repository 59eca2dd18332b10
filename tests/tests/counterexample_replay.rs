//! One schedule, two drivers: a violation the model checker finds in a configuration
//! known to be unsafe is written as a schedule (as `dualha check --schedules` writes it),
//! read back by the simulator (as `dualha simulate --schedule` reads it) and replayed
//! with real durations in the configuration it carries, with its application writes;
//! the simulator's oracles — the same property definitions — find the same violation.

use std::path::Path;

use model::check::{CheckModel, Outcome, RunOptions, Verdict, check};
use model::properties::Property;
use model::schedule::Fault;
use sim::limits::MAX_EVENTS_PER_TRIAL;
use sim::schedule::{LabSchedule, Schedule, lab_of};
use sim::trial::run_schedule;
use sim::{Cell, FailureClass, Profile, Service};

/// The study's configuration (Heartbeat without STONITH, DRBD without fencing) under
/// one partition, checked to `steps`.
fn checked(steps: usize) -> Outcome {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../experiments/profiles/check/heartbeat-no-fencing.toml");
    let cfg = experiments::check::load_config(&path).expect("the shipped configuration loads");
    let model = CheckModel::new(cfg).expect("valid");
    check(
        model,
        RunOptions {
            threads: 2,
            max_depth: steps,
        },
    )
}

/// The counterexample to `property`, through JSON and back.
fn schedule_of(o: &Outcome, property: Property) -> Schedule {
    let p = o
        .properties
        .iter()
        .find(|p| p.name == property.name())
        .expect("reported");
    assert_eq!(p.verdict, Verdict::Violated, "{}", property.name());
    let c = p.counterexample.as_ref().expect("a counterexample");
    let json = serde_json::to_string_pretty(&c.schedule).expect("a schedule writes as JSON");
    let s = Schedule::parse(&json).expect("and the simulator reads it");
    assert_eq!(s, c.schedule, "nothing lost on the way");
    s
}

/// Replays `s` in the lab its configuration needs; the properties it violated.
fn replay(s: &Schedule) -> Vec<Property> {
    let config = s
        .config
        .as_ref()
        .expect("the schedule keeps its configuration");
    assert_eq!(config.name, "heartbeat-no-fencing");
    let (architecture, platform) = lab_of(config.cluster_layer);
    let cell = Cell {
        failure: FailureClass::Software,
        architecture,
        platform: platform.unwrap_or(sim::Platform::Vmware),
        service: Service::Apache,
    };
    // The calibrated values probe (and write) every second, as the replay expects.
    let profile = Profile::thesis().calibrated().expect("calibrates");
    let run = run_schedule(&profile, cell, s, 1, MAX_EVENTS_PER_TRIAL)
        .expect("the schedule fits the lab");
    assert_eq!(
        run.result.violation,
        run.violations.first().map(ToString::to_string)
    );
    run.violations
        .iter()
        .map(|f| f.violation.property)
        .collect()
}

#[test]
fn a_split_brain_found_by_the_checker_is_a_split_brain_in_the_simulator() {
    // Four steps find it (timed semantics): the partition, time passing to b's and then
    // a's DRBD ping timeout, Heartbeat's deadtime on b, and b is promoted beside a.
    let o = checked(6);
    let s = schedule_of(&o, Property::SplitBrain);
    assert!(
        matches!(s.events[0].fault, Fault::Partition { .. }),
        "{s:?}"
    );
    let found = replay(&s);
    assert!(found.contains(&Property::SplitBrain), "{found:?}");
}

#[test]
fn an_acknowledged_write_missing_on_the_new_primary_replays_with_its_write() {
    // a keeps acknowledging writes on its side of the partition until b takes over
    // without them.
    let o = checked(8);
    let s = schedule_of(&o, Property::MissingWrite);
    assert!(s.has_writes(), "the counterexample writes: {s:?}");
    let found = replay(&s);
    assert!(found.contains(&Property::MissingWrite), "{found:?}");
}
