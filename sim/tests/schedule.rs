//! Scripted schedules: the checker's kind of counterexample replays in the simulator with
//! real durations, and the oracles stop the run at the violation.

use model::properties::{Overlap, Property};
use sim::limits::MAX_EVENTS_PER_TRIAL;
use sim::schedule::{LabSchedule, Schedule};
use sim::trial::run_schedule;
use sim::{Architecture, Cell, FailureClass, Platform, Profile, Service};

/// The calibrated values: a 1 s probe, failover at the first failure and a mount that
/// takes tens of seconds, which the timelines below were written against.
fn what_if() -> Profile {
    Profile::thesis().calibrated().expect("calibrates")
}

fn pair(platform: Platform) -> Cell {
    Cell {
        failure: FailureClass::Software,
        architecture: Architecture::DrbdHeartbeat,
        platform,
        service: Service::Apache,
    }
}

#[test]
fn a_partition_of_the_study_configuration_ends_in_split_brain() {
    // The study ran Heartbeat without fencing: cut every network between the guests.
    let s = Schedule::parse("[[event]]\nat = 1.0\nkind = \"partition\"\na = \"a\"\nb = \"b\"\n")
        .expect("valid schedule");
    let run = run_schedule(
        &what_if(),
        pair(Platform::Vmware),
        &s,
        3,
        MAX_EVENTS_PER_TRIAL,
    )
    .expect("runs");
    let v = run.result.violation.expect("the oracle stops the run");
    assert!(v.starts_with("split brain"), "{v}");
    assert!(run.result.split_brain);
    assert!(
        run.timeline
            .iter()
            .any(|l| l.contains("heartbeat: taking over resources")),
        "{:#?}",
        run.timeline
    );
}

#[test]
fn a_one_way_cut_makes_only_the_deaf_side_declare_its_peer_dead() {
    // Everything a sends is lost; what b sends arrives. b stops hearing a's heartbeats
    // and takes over; a keeps hearing b and never declares it dead: without fencing,
    // a split brain all the same.
    let s =
        Schedule::parse("[[event]]\nat = 1.0\nkind = \"cut-one-way\"\nfrom = \"a\"\nto = \"b\"\n")
            .expect("valid schedule");
    let run = run_schedule(
        &what_if(),
        pair(Platform::Vmware),
        &s,
        3,
        MAX_EVENTS_PER_TRIAL,
    )
    .expect("runs");
    let said = |t: &str| run.timeline.iter().any(|l| l.contains(t));
    assert!(said("FAULT cut a->b one way"), "{:#?}", run.timeline);
    assert!(said("b: heartbeat: node a is dead"), "{:#?}", run.timeline);
    assert!(!said("a: heartbeat: node b is dead"), "{:#?}", run.timeline);
    let v = run.result.violation.expect("the oracle stops the run");
    assert!(v.starts_with("split brain"), "{v}");
}

#[test]
fn one_ring_down_is_harmless() {
    let s = Schedule::parse(
        "[[event]]\nat = 1.0\nkind = \"partition\"\na = \"a\"\nb = \"b\"\nnet = \"ring1\"\n",
    )
    .expect("valid schedule");
    let run = run_schedule(
        &what_if(),
        pair(Platform::Vmware),
        &s,
        3,
        MAX_EVENTS_PER_TRIAL,
    )
    .expect("runs");
    assert_eq!(run.result.violation, None);
    assert!(
        run.result.down_intervals.is_empty(),
        "{:?}",
        run.result.down_intervals
    );
}

#[test]
fn a_host_that_hangs_longer_than_deadtime_comes_back_to_a_split_brain() {
    // Jepsen's pause nemesis: the peer takes over after deadtime, then the hung Primary
    // resumes with its group still running.
    let s = Schedule::parse("[[event]]\nat = 1.0\nkind = \"hang\"\nnode = \"a\"\nsecs = 60.0\n")
        .expect("valid schedule");
    let run = run_schedule(
        &what_if(),
        pair(Platform::Vmware),
        &s,
        3,
        MAX_EVENTS_PER_TRIAL,
    )
    .expect("runs");
    let v = run.result.violation.expect("split brain after the resume");
    assert!(v.starts_with("split brain"), "{v}");
    // While a hung, b took over: two Primaries, not yet a split brain (a had not
    // noticed and started a generation of its own).
    let two = run
        .overlaps
        .iter()
        .find(|o| o.overlap == Overlap::TwoPrimaries)
        .expect("two primaries reported");
    assert!(two.from < two.to, "{:?}", run.overlaps);
    // A hang shorter than deadtime is survived without a failover.
    let s = Schedule::parse("[[event]]\nat = 1.0\nkind = \"hang\"\nnode = \"a\"\nsecs = 10.0\n")
        .expect("valid schedule");
    let run = run_schedule(
        &what_if(),
        pair(Platform::Vmware),
        &s,
        3,
        MAX_EVENTS_PER_TRIAL,
    )
    .expect("runs");
    assert_eq!(run.result.violation, None);
    assert!(
        !run.timeline
            .iter()
            .any(|l| l.contains("heartbeat: taking over resources"))
    );
}

#[test]
fn the_checkers_schedule_format_replays() {
    let json = r#"{"format": "dualha-schedule/1", "config": {}, "events": [
        {"event": "kill-service", "at_ms": 1000, "node": "a"}]}"#;
    let s = Schedule::parse(json).expect("valid schedule");
    let run = run_schedule(
        &what_if(),
        pair(Platform::OpenStack),
        &s,
        3,
        MAX_EVENTS_PER_TRIAL,
    )
    .expect("runs");
    assert!(run.result.recovered, "{:#?}", run.timeline);
    assert_eq!(run.result.violation, None);
    assert_eq!(run.result.serving_at_end, Some(1), "the service moved to b");
}

#[test]
fn a_hung_host_serves_nobody_and_its_outage_counts() {
    // 10 s of a frozen Primary are 10 s without the service, though nothing fails over.
    let s = Schedule::parse("[[event]]\nat = 1.0\nkind = \"hang\"\nnode = \"a\"\nsecs = 10.0\n")
        .expect("valid schedule");
    let run = run_schedule(
        &what_if(),
        pair(Platform::Vmware),
        &s,
        3,
        MAX_EVENTS_PER_TRIAL,
    )
    .expect("runs");
    let down: f64 = run.result.down_intervals.iter().map(|(a, b)| b - a).sum();
    assert!(
        (9.0..=11.0).contains(&down),
        "{:?}",
        run.result.down_intervals
    );
    assert!(run.result.recovered);
    assert_eq!(run.outage, None);
}

#[test]
fn a_service_that_never_comes_back_says_why() {
    // Both hosts of the pair lose power: nothing restarts a guest on local storage.
    let s = Schedule::parse(
        "[[event]]\nat = 1.0\nkind = \"power-off\"\nnode = \"h10\"\n\
         [[event]]\nat = 1.0\nkind = \"power-off\"\nnode = \"h11\"\n",
    )
    .expect("valid schedule");
    let run = run_schedule(
        &what_if(),
        pair(Platform::Vmware),
        &s,
        3,
        MAX_EVENTS_PER_TRIAL,
    )
    .expect("runs");
    assert!(!run.result.recovered);
    let outage = run.outage.expect("down at the end");
    assert!(
        outage.why.contains("a: down") && outage.why.contains("host h10 is off"),
        "{}",
        outage.why
    );
    // The outage is in the down intervals up to the end of the run.
    let &(from, to) = run.result.down_intervals.last().expect("an interval");
    let horizon = what_if().trial.horizon;
    assert!(
        from <= outage.since && to > from + horizon - 100.0,
        "{from} {to}"
    );
}

#[test]
fn a_crashed_guest_reboots_when_the_schedule_says_so() {
    let s = Schedule::parse(
        "[[event]]\nat = 1.0\nkind = \"crash\"\nnode = \"b\"\n\
         [[event]]\nat = 5.0\nkind = \"reboot\"\nnode = \"b\"\n",
    )
    .expect("valid schedule");
    let run = run_schedule(
        &what_if(),
        pair(Platform::Vmware),
        &s,
        3,
        MAX_EVENTS_PER_TRIAL,
    )
    .expect("runs");
    assert_eq!(run.result.violation, None);
    assert!(
        run.timeline.iter().any(|l| l.contains("b: VM booted")),
        "{:#?}",
        run.timeline
    );
    assert!(run.result.down_intervals.is_empty());
}

/// The checker's `resource-and-stonith` configuration, as a schedule carries it.
const STONITH_CONFIG: &str = r#"
format = "dualha-schedule/2"

[config]
name = "resource-and-stonith"
protocol = "C"
fencing = "resource-and-stonith"
after_sb_0pri = "Disconnect"
after_sb_1pri = "Disconnect"
after_sb_2pri = "Disconnect"
drbd_quorum_witness = false
stonith = true
membership_quorum = "two-node"
rings = 1
ping_node = false
cluster_layer = "off"
start = "running"
"#;

#[test]
fn a_schedules_configuration_is_the_one_that_runs() {
    // The same partition as the study's split brain, in the fenced configuration: DRBD
    // freezes I/O, its fence-peer helper powers b off, and no split brain follows.
    let text = format!(
        "{STONITH_CONFIG}\n[[event]]\nat = 1.0\nkind = \"partition\"\na = \"a\"\nb = \"b\"\n\
         [[event]]\nat = 5.0\nkind = \"write\"\nnode = \"a\"\nwrite = 3\n"
    );
    let s = Schedule::parse(&text).expect("valid schedule");
    let run = run_schedule(
        &what_if(),
        pair(Platform::Vmware),
        &s,
        1,
        MAX_EVENTS_PER_TRIAL,
    )
    .expect("runs");
    assert!(run.violations.is_empty(), "{:?}", run.violations);
    assert!(
        run.timeline.iter().any(|l| l.contains("I/O suspended")),
        "{:#?}",
        run.timeline
    );
    assert!(run.result.down_intervals.is_empty());
    // Without the configuration the same events are the study's split brain.
    let mut bare = s.clone();
    bare.config = None;
    let run = run_schedule(
        &what_if(),
        pair(Platform::Vmware),
        &bare,
        1,
        MAX_EVENTS_PER_TRIAL,
    )
    .expect("runs");
    assert_eq!(
        run.violations.first().map(|f| f.violation.property),
        Some(Property::SplitBrain)
    );
}
