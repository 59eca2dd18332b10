use super::*;
use crate::profile::Profile;
use crate::scenario::Architecture;

#[test]
fn toml_and_checker_json_give_the_same_events() {
    let toml = r#"
[[event]]
at = 1.5
kind = "partition"
a = "a"
b = "b"
net = "ring0"

[[event]]
at = 0.5
kind = "kill-service"
node = "a"
"#;
    let s = Schedule::parse(toml).expect("valid");
    assert_eq!(
        s.in_order()[0].fault,
        ScheduledFault::KillService { node: "a".into() }
    );
    let json = r#"{"format": "dualha-schedule/1", "config": {}, "events": [
        {"event": "kill-service", "at_ms": 500, "node": "a"},
        {"event": "partition", "at_ms": 1500, "cut": "a-b/ring0"},
        {"event": "write", "at_ms": 1600, "node": "a", "write": 1}]}"#;
    let j = Schedule::parse(json).expect("valid");
    assert_eq!(j.in_order(), s.in_order());
}

#[test]
fn random_schedules_replay_per_seed_and_validate() {
    let a = Schedule::stochastic(3, 3600.0, 300.0).expect("in range");
    assert_eq!(a, Schedule::stochastic(3, 3600.0, 300.0).expect("in range"));
    assert_ne!(a, Schedule::stochastic(4, 3600.0, 300.0).expect("in range"));
    assert!(a.events.len() >= 3, "{a:?}");
    a.validate().expect("random schedules use valid names");
    let text = toml::to_string(&a).expect("a schedule prints as TOML");
    assert_eq!(Schedule::parse(&text).expect("and reads back"), a);
    // The longest span at the shortest gap that stays under the cap still validates
    // (its heals land after the span).
    let long = Schedule::stochastic(1, MAX_RANDOM_SPAN_SECS, 60.0).expect("in range");
    long.validate_for(Architecture::DrbdHeartbeat)
        .expect("a random schedule fits the pair's lab");
}

#[test]
fn random_schedules_refuse_bad_parameters_and_stop_at_the_event_cap() {
    for (span, gap, key) in [
        (1e12, 300.0, "span = 1000000000000.0"),
        (f64::NAN, 300.0, "span = NaN"),
        (3600.0, 0.0001, "mean_gap = 0.0001"),
        (3600.0, f64::INFINITY, "mean_gap = inf"),
        (3600.0, -1.0, "mean_gap = -1.0"),
    ] {
        let e = Schedule::stochastic(1, span, gap).expect_err("out of range");
        assert!(e.to_string().starts_with(key), "{e}");
    }
    // About 864,000 faults expected: refused after drawing the cap, not after all.
    let e = Schedule::stochastic(1, MAX_RANDOM_SPAN_SECS, MIN_MEAN_GAP_SECS)
        .expect_err("too dense")
        .to_string();
    assert!(e.contains("more than 10000 events"), "{e}");
}

fn err(text: &str) -> String {
    Schedule::parse(text).expect_err("refused").to_string()
}

fn one(kind: &str, rest: &str) -> String {
    format!("[[event]]\nat = 1.0\nkind = \"{kind}\"\n{rest}")
}

#[test]
fn errors_name_the_event_and_the_allowed_values() {
    let e = err(&one("crash", "node = \"z\"\n"));
    assert!(
        e.contains("event 0") && e.contains("\"z\"") && e.contains("allowed"),
        "{e}"
    );
    assert!(err(&one("partition", "a = \"a\"\nb = \"b\"\nnet = \"ring7\"\n")).contains("ring7"));
    assert!(Schedule::parse(&one("explode", "node = \"a\"\n")).is_err());
}

#[test]
fn times_and_durations_out_of_range_are_refused_naming_the_value() {
    let cases = [
        (
            one("crash", "node = \"a\"\n").replace("1.0", "1e300"),
            "at = 1e300",
        ),
        (
            one("crash", "node = \"a\"\n").replace("1.0", "-1.0"),
            "at = -1.0",
        ),
        (
            one("crash", "node = \"a\"\n").replace("1.0", "nan"),
            "at = NaN",
        ),
        (one("hang", "node = \"a\"\nsecs = inf\n"), "secs = inf"),
        (one("hang", "node = \"a\"\nsecs = -5.0\n"), "secs = -5.0"),
        (one("hang", "node = \"a\"\nsecs = nan\n"), "secs = NaN"),
        (one("hang", "node = \"a\"\nsecs = 0.0\n"), "secs = 0.0"),
        (
            one("lose-messages", "a = \"a\"\nb = \"b\"\ncount = 0\n"),
            "count = 0",
        ),
    ];
    for (text, expected) in cases {
        let e = err(&text);
        assert!(e.contains(expected) && e.contains("must be between"), "{e}");
    }
}

#[test]
fn faults_must_fit_their_targets() {
    for kind in ["kill-service", "crash", "disk-failure", "cluster-restart"] {
        let e = err(&one(kind, "node = \"h10\"\n"));
        assert!(
            e.contains("node = \"h10\"") && e.contains("takes a guest"),
            "{e}"
        );
    }
    for kind in ["partition", "heal"] {
        let e = err(&one(kind, "a = \"a\"\nb = \"a\"\n"));
        assert!(e.contains("must be different"), "{e}");
        let e = err(&one(kind, "a = \"a\"\nb = \"h10\"\n"));
        assert!(e.contains("both ends"), "{e}");
    }
    let e = err(&one("lose-messages", "a = \"b\"\nb = \"b\"\ncount = 1\n"));
    assert!(e.contains("must be different"), "{e}");
    // Hosts may be cut from each other, and power off or hang.
    Schedule::parse(&one("partition", "a = \"h10\"\nb = \"h11\"\n")).expect("hosts");
    Schedule::parse(&one("power-off", "node = \"h10\"\n")).expect("host power-off");
}

#[test]
fn a_misspelled_key_is_refused_not_ignored() {
    // `nett` would otherwise leave `net` out: every network cut.
    let e = err(&one(
        "partition",
        "a = \"a\"\nb = \"b\"\nnett = \"ring0\"\n",
    ));
    assert!(
        e.contains("unknown key \"nett\"") && e.contains("allowed: at, kind, a, b, net"),
        "{e}"
    );
    let e = err(&one("crash", "node = \"a\"\nsecs = 3.0\n"));
    assert!(e.contains("unknown key \"secs\""), "{e}");
    // The checker's JSON too, and duplicate keys.
    let json = |event: &str| {
        format!(r#"{{"format": "dualha-schedule/1", "config": {{}}, "events": [{event}]}}"#)
    };
    let e = err(&json(
        r#"{"event": "crash", "at_ms": 1, "node": "a", "nodee": "b"}"#,
    ));
    assert!(e.contains("nodee"), "{e}");
    let e = err(&json(
        r#"{"event": "crash", "at_ms": 1, "node": "a", "node": "b"}"#,
    ));
    assert!(e.contains("duplicate field `node`"), "{e}");
    let e = err(&json(r#"{"event": "crash", "at_ms": -5, "node": "a"}"#));
    assert!(e.contains("-5"), "{e}");
    let e = err(&json(r#"{"event": "crash", "at_ms": 1}"#));
    assert!(e.contains("needs \"node\""), "{e}");
    let e = err(&json(r#"{"event": "partition", "at_ms": 1, "cut": "ab"}"#));
    assert!(e.contains("cut = \"ab\""), "{e}");
    let e = err(&json(
        r#"{"event": "partition", "at_ms": 1, "cut": "a-b/rnig0"}"#,
    ));
    assert!(e.contains("unknown net \"rnig0\""), "{e}");
    let e = err(&json(
        r#"{"event": "crash", "at_ms": 18446744073709551615, "node": "a"}"#,
    ));
    assert!(e.contains("at = ") && e.contains("172800"), "{e}");
}

#[test]
fn nodes_must_exist_in_the_lab_they_run_in() {
    let s = Schedule::parse(&one("power-off", "node = \"h12\"\n")).expect("valid name");
    s.validate_for(Architecture::Combined)
        .expect("h12 is a backup host");
    let e = s
        .validate_for(Architecture::DrbdHeartbeat)
        .expect_err("no h12")
        .to_string();
    assert!(
        e.contains("node = \"h12\" is not in the DRBD + Heartbeat lab") && e.contains("h11"),
        "{e}"
    );
    let s = Schedule::parse(&one("crash", "node = \"b\"\n")).expect("valid name");
    assert!(s.validate_for(Architecture::SingleNode).is_err());
}

#[test]
fn size_and_count_are_bounded() {
    let big = "#".repeat(crate::limits::MAX_INPUT_BYTES + 1);
    assert!(err(&big).contains("at most 4194304 bytes"));
    let many = one("crash", "node = \"a\"\n").repeat(MAX_SCHEDULE_EVENTS + 1);
    let e = err(&many);
    assert!(
        e.contains("10001 events") && e.contains("at most 10000"),
        "{e}"
    );
    let ev = r#"{"event": "crash", "at_ms": 1, "node": "a"}"#;
    let events = vec![ev; MAX_SCHEDULE_EVENTS + 1].join(",");
    let e = err(&format!(
        r#"{{"format": "dualha-schedule/1", "events": [{events}]}}"#
    ));
    assert!(e.contains("10001 events"), "{e}");
    // Empty input is a schedule without faults.
    assert_eq!(Schedule::parse("").expect("empty").events, vec![]);
}

/// A complete configuration (the checker's `heartbeat-no-fencing`) with `change` applied.
fn config_toml(change: &str) -> String {
    let keys = [
        ("name", "\"heartbeat-no-fencing\""),
        ("protocol", "\"C\""),
        ("fencing", "\"dont-care\""),
        ("after_sb_0pri", "\"Disconnect\""),
        ("after_sb_1pri", "\"Disconnect\""),
        ("after_sb_2pri", "\"Disconnect\""),
        ("drbd_quorum_witness", "false"),
        ("stonith", "false"),
        ("membership_quorum", "\"two-node\""),
        ("rings", "1"),
        ("ping_node", "false"),
        ("cluster_layer", "\"off\""),
        ("start", "\"running\""),
    ];
    let (key, value) = change.split_once(" = ").unwrap_or((change, ""));
    let mut text = "format = \"dualha-schedule/2\"\n[config]\n".to_string();
    for (k, v) in keys {
        if k == key {
            if !value.is_empty() {
                text.push_str(&format!("{k} = {value}\n"));
            }
        } else {
            text.push_str(&format!("{k} = {v}\n"));
        }
    }
    if !keys.iter().any(|(k, _)| *k == key) && !value.is_empty() {
        text.push_str(&format!("{key} = {value}\n"));
    }
    text + &one("partition", "a = \"a\"\nb = \"b\"\n")
}

fn pair_cell() -> Cell {
    Cell {
        failure: crate::scenario::FailureClass::Software,
        architecture: Architecture::DrbdHeartbeat,
        platform: crate::scenario::Platform::Vmware,
        service: crate::scenario::Service::Apache,
    }
}

#[test]
fn the_checkers_schedule_reads_the_same_as_json_and_toml() {
    let toml_text = config_toml("");
    let s = Schedule::parse(&toml_text).expect("valid");
    assert_eq!(
        s.config.as_ref().map(|c| c.name.as_str()),
        Some("heartbeat-no-fencing")
    );
    let json = serde_json::to_string(&s).expect("JSON");
    assert_eq!(Schedule::parse(&json).expect("valid JSON"), s);
    s.check_lab(pair_cell(), &Profile::thesis())
        .expect("the pair's lab");
}

#[test]
fn a_configuration_is_complete_and_fits_the_lab_or_is_refused() {
    // A missing key is an error, never the default.
    let e = err(&config_toml("fencing"));
    assert!(e.contains("missing field `fencing`"), "{e}");
    let e = err(&config_toml("fencnig = \"dont-care\""));
    assert!(e.contains("unknown field `fencnig`"), "{e}");
    let lab = |change: &str| {
        Schedule::parse(&config_toml(change))
            .expect("valid")
            .check_lab(pair_cell(), &Profile::thesis())
            .expect_err("refused")
            .to_string()
    };
    let e = lab("drbd_quorum_witness = true");
    assert!(
        e.starts_with("config.drbd_quorum_witness") && e.contains("no DRBD witness"),
        "{e}"
    );
    let e = lab("membership_quorum = \"qdevice\"");
    assert!(e.contains("no quorum device"), "{e}");
    let e = lab("cluster_layer = \"vmware\"");
    assert!(
        e.contains("--architecture combined --platform vmware"),
        "{e}"
    );
    let e = lab("rings = 3");
    assert!(
        e.starts_with("config.(guest)") && e.contains("rings"),
        "{e}"
    );
    // A write beyond the profile's device.
    let s = Schedule::parse(&one("write", "node = \"a\"\nwrite = 5000\n")).expect("valid");
    let e = s
        .check_lab(pair_cell(), &Profile::thesis())
        .expect_err("beyond the device")
        .to_string();
    assert!(
        e.contains("write = 5000") && e.contains("drbd.blocks = 1024"),
        "{e}"
    );
    // A write on a host.
    let e = err(&one("write", "node = \"h10\"\nwrite = 1\n"));
    assert!(e.contains("takes a guest"), "{e}");
}
