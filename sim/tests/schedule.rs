//! Scripted schedules: the checker's kind of counterexample replays in the simulator with
//! real durations, and the oracles stop the run at the violation.

use sim::limits::MAX_EVENTS_PER_TRIAL;
use sim::schedule::Schedule;
use sim::trial::run_schedule;
use sim::{Architecture, Cell, FailureKind, Platform, Profile, Service};

fn pair(platform: Platform) -> Cell {
    Cell {
        failure: FailureKind::Software,
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
        &Profile::thesis(),
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
fn one_ring_down_is_harmless() {
    let s = Schedule::parse(
        "[[event]]\nat = 1.0\nkind = \"partition\"\na = \"a\"\nb = \"b\"\nnet = \"ring1\"\n",
    )
    .expect("valid schedule");
    let run = run_schedule(
        &Profile::thesis(),
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
        &Profile::thesis(),
        pair(Platform::Vmware),
        &s,
        3,
        MAX_EVENTS_PER_TRIAL,
    )
    .expect("runs");
    let v = run.result.violation.expect("split brain after the resume");
    assert!(v.starts_with("split brain"), "{v}");
    // A hang shorter than deadtime is survived without a failover.
    let s = Schedule::parse("[[event]]\nat = 1.0\nkind = \"hang\"\nnode = \"a\"\nsecs = 10.0\n")
        .expect("valid schedule");
    let run = run_schedule(
        &Profile::thesis(),
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
        &Profile::thesis(),
        pair(Platform::Openstack),
        &s,
        3,
        MAX_EVENTS_PER_TRIAL,
    )
    .expect("runs");
    assert!(run.result.recovered, "{:#?}", run.timeline);
    assert_eq!(run.result.violation, None);
    assert_eq!(run.result.serving_at_end, Some(1), "the service moved to b");
}
