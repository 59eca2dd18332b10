//! Hostile profiles and runs: every bad value is an error naming the key, the value and
//! the allowed range, never a panic or a hang; the event cap stops a run that would take
//! too long, with an error naming the limit.

use std::time::Instant;

use sim::limits::MAX_EVENTS_PER_TRIAL;
use sim::profile::THESIS_TOML;
use sim::schedule::{LabSchedule, Schedule};
use sim::trial::run_schedule;
use sim::{
    Architecture, Cell, FailureClass, Platform, Profile, Service, TrialError, run_study,
    try_run_trial,
};

/// The study's profile with one line changed.
fn with(from: &str, to: &str) -> String {
    assert!(THESIS_TOML.contains(from), "{from} is in the profile");
    THESIS_TOML.replacen(from, to, 1)
}

fn refused(from: &str, to: &str) -> String {
    Profile::from_toml(&with(from, to))
        .expect_err(to)
        .to_string()
}

fn pair() -> Cell {
    Cell {
        failure: FailureClass::Software,
        architecture: Architecture::DrbdHeartbeat,
        platform: Platform::Vmware,
        service: Service::Apache,
    }
}

#[test]
fn every_hostile_profile_value_is_refused_naming_key_value_and_range() {
    let cases = [
        // (line in thesis.toml, replacement, expected start of the message)
        (
            "resync_rate_mib = 100",
            "resync_rate_mib = 0",
            "drbd.resync_rate_mib = 0: must be between 1 and 100000 MiB/s",
        ),
        (
            "resync_rate_mib = 100",
            "resync_rate_mib = 9223372036854775807",
            "drbd.resync_rate_mib = 9223372036854775807",
        ),
        (
            "blocks = 1024",
            "blocks = 0",
            "drbd.blocks = 0: must be between 1 and 268435456 blocks",
        ),
        (
            "op_timeout = 20.0",
            "op_timeout = 0.0",
            "resources.op_timeout = 0.0: must be between 0.001 and 86400 seconds",
        ),
        (
            "op_timeout = 20.0",
            "op_timeout = -5.0",
            "resources.op_timeout = -5.0",
        ),
        (
            "op_timeout = 20.0",
            "op_timeout = nan",
            "resources.op_timeout = NaN",
        ),
        (
            "keepalive = 1.0",
            "keepalive = 1e-9",
            "heartbeat.keepalive = 1e-9: must be between 0.001 and 3600 seconds",
        ),
        (
            "keepalive = 1.0",
            "keepalive = inf",
            "heartbeat.keepalive = inf",
        ),
        (
            "deadtime = 30.0",
            "deadtime = inf",
            "heartbeat.deadtime = inf: must be between 0 and 86400 seconds",
        ),
        (
            "deadtime = 30.0",
            "deadtime = 1.0",
            "heartbeat.deadtime = 1.0: must be more than 2 x keepalive (1.0)",
        ),
        (
            "initdead = 60.0",
            "initdead = -1.0",
            "heartbeat.initdead = -1.0: must be between 0 and 86400 seconds",
        ),
        (
            "horizon = 600.0",
            "horizon = 1e12",
            "trial.horizon = 1000000000000.0: must be between 1 and 86400 seconds",
        ),
        (
            "horizon = 600.0",
            "horizon = 1e300",
            "trial.horizon = 1e300",
        ),
        ("horizon = 600.0", "horizon = -inf", "trial.horizon = -inf"),
        (
            "warmup = 300.0",
            "warmup = -10.0",
            "trial.warmup = -10.0: must be between 0 and 86400 seconds",
        ),
        (
            "interval = 30.0",
            "interval = 1e-6",
            "probe.interval = 1e-6: must be between 0.1 and 3600 seconds",
        ),
        (
            "monitor_interval = 20.0",
            "monitor_interval = -20.0",
            "filesystem.monitor_interval = -20.0: must be 0 (no monitor) or between 0.1 and 86400 seconds",
        ),
        (
            "monitor_interval = 10.0",
            "monitor_interval = nan",
            "services.apache.monitor_interval = NaN",
        ),
        (
            "rings = 1",
            "rings = 3",
            "heartbeat.rings = 3: must be between 1 and 2",
        ),
        (
            "name = \"thesis\"",
            "name = \"\"",
            "name = \"\": must be 1 to 100 characters",
        ),
        ("name = \"thesis\"", "name = \"a\\nb\"", "name = \"a\\nb\""),
        (
            "min = 0.0001, max = 0.0002",
            "min = 0.0001, max = 1e300",
            "network.latency.max = 1e300: must be between 0 and 86400 seconds",
        ),
        (
            "min = 0.0005, max = 0.0015",
            "min = 0.0015, max = 0.0005",
            "drbd.disk_latency.max = 0.0005: must not be below min (0.0015)",
        ),
        (
            "secs = 0.0 }",
            "secs = -1.0 }",
            "platforms.vmware.control_plane_failover.secs = -1.0",
        ),
    ];
    for (from, to, expected) in cases {
        let e = refused(from, to);
        assert!(
            e.starts_with(expected),
            "{to}:\n  got      {e}\n  expected {expected}"
        );
    }
}

#[test]
fn malformed_profiles_are_refused_by_the_parser() {
    for (text, expected) in [
        (String::new(), "missing field `name`"),
        (
            with("keepalive = 1.0", "keepalive = 1.0\nkeepalive = 2.0"),
            "duplicate key",
        ),
        (with("blocks = 1024", "blocks = -1"), "blocks"),
        (with("keepalive = 1.0", "keepalive = \"fast\""), "keepalive"),
        (with("[services.mysql]", "[services.nginx]"), "nginx"),
    ] {
        let e = Profile::from_toml(&text).expect_err("refused").to_string();
        assert!(e.contains(expected), "{e}");
    }
    let big = format!("{THESIS_TOML}{}", "#".repeat(sim::limits::MAX_INPUT_BYTES));
    let e = Profile::from_toml(&big).expect_err("too large").to_string();
    assert!(e.contains("at most 4194304 bytes"), "{e}");
}

#[test]
fn values_that_pass_their_ranges_but_make_an_invalid_guest_are_refused_not_a_panic() {
    // More than 2 x keepalive as a float, not once rounded to a duration.
    let e = refused("deadtime = 30.0", "deadtime = 2.0000000001");
    assert!(
        e.starts_with("DRBD + Heartbeat / Apache: the guests' configuration is refused"),
        "{e}"
    );
    assert!(e.contains("membership.deadtime"), "{e}");
}

#[test]
fn a_profile_changed_by_hand_is_checked_by_the_trial_functions() {
    let mut p = Profile::thesis();
    p.drbd.resync_rate_mib = 0;
    let e = try_run_trial(&p, pair(), 0, 1, MAX_EVENTS_PER_TRIAL).expect_err("refused");
    assert!(e.to_string().starts_with("drbd.resync_rate_mib = 0"), "{e}");
    let s = Schedule::default();
    assert!(run_schedule(&p, pair(), &s, 1, MAX_EVENTS_PER_TRIAL).is_err());
    assert!(run_study(&p, &[pair()], 1, 1, 1, MAX_EVENTS_PER_TRIAL, &|_| {}).is_err());
}

#[test]
fn the_event_cap_stops_a_run_with_an_error_naming_the_limit() {
    // The fastest heartbeat for a long horizon: far more events than the cap allows.
    let text = with("keepalive = 1.0", "keepalive = 0.001").replacen(
        "horizon = 600.0",
        "horizon = 86400.0",
        1,
    );
    let p = Profile::from_toml(&text).expect("each value is in range");
    let started = Instant::now();
    let e = try_run_trial(&p, pair(), 0, 1, 200_000).expect_err("over the cap");
    assert!(
        matches!(e, TrialError::EventLimit { limit: 200_000, .. }),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("over the limit of 200000 events per trial"),
        "{e}"
    );
    assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
    let s = Schedule::parse("[[event]]\nat = 1.0\nkind = \"kill-service\"\nnode = \"a\"\n")
        .expect("valid");
    let e = run_schedule(&p, pair(), &s, 1, 200_000).expect_err("over the cap");
    assert!(matches!(e, TrialError::EventLimit { .. }), "{e}");
    let e = run_study(&p, &[pair()], 3, 1, 2, 200_000, &|_| {}).expect_err("over the cap");
    assert!(matches!(e, TrialError::EventLimit { trial: 0, .. }), "{e}");
    // The study's own trials are far below the default cap.
    let r = try_run_trial(&Profile::thesis(), pair(), 0, 1, MAX_EVENTS_PER_TRIAL).expect("runs");
    assert!(r.events < MAX_EVENTS_PER_TRIAL / 100, "{}", r.events);
}

#[test]
fn a_schedule_naming_a_node_outside_the_lab_is_refused_before_it_runs() {
    let s = Schedule::parse("[[event]]\nat = 1.0\nkind = \"power-off\"\nnode = \"h12\"\n")
        .expect("a valid name");
    let e = run_schedule(&Profile::thesis(), pair(), &s, 1, MAX_EVENTS_PER_TRIAL)
        .expect_err("h12 is only in the combined lab")
        .to_string();
    assert!(
        e.contains("node = \"h12\" is not in the DRBD + Heartbeat lab"),
        "{e}"
    );
}
