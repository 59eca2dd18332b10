use super::*;
use crate::replication::{AfterSb0Pri, AfterSb1Pri, AfterSb2Pri};

fn config() -> PairConfig {
    PairConfig {
        name: "heartbeat-no-fencing".to_string(),
        protocol: ProtocolChoice::C,
        fencing: FencingChoice::DontCare,
        after_sb_0pri: AfterSb0Pri::Disconnect,
        after_sb_1pri: AfterSb1Pri::Disconnect,
        after_sb_2pri: AfterSb2Pri::Disconnect,
        drbd_quorum_witness: false,
        stonith: false,
        membership_quorum: MembershipQuorum::TwoNode,
        rings: 1,
        ping_node: false,
        cluster_layer: ClusterLayer::Off,
        start: Start::Running,
        boot_order: Default::default(),
        drbd: Default::default(),
        heartbeat: Default::default(),
        resources: Default::default(),
    }
}

fn sample() -> Schedule {
    Schedule {
        format: Some(Format::V2),
        config: Some(config()),
        events: vec![
            TimedFault {
                at: 0.1,
                fault: Fault::Partition {
                    a: "a".into(),
                    b: "b".into(),
                    net: None,
                },
            },
            TimedFault {
                at: 0.2,
                fault: Fault::Write {
                    node: "a".into(),
                    write: 1,
                },
            },
            TimedFault {
                at: 0.3,
                fault: Fault::LoseMessages {
                    a: "b".into(),
                    b: "a".into(),
                    net: Some("replication".into()),
                    count: 1,
                },
            },
        ],
    }
}

#[test]
fn a_schedule_round_trips_through_json_and_toml() {
    let s = sample();
    let json = serde_json::to_string(&s).expect("JSON");
    assert!(json.contains(r#""format":"dualha-schedule/2""#), "{json}");
    assert!(
        json.contains(r#"{"kind":"partition","at":0.1,"a":"a","b":"b"}"#),
        "{json}"
    );
    assert_eq!(serde_json::from_str::<Schedule>(&json).expect("reads"), s);
    let toml = toml::to_string(&s).expect("TOML");
    assert!(toml.contains("[[event]]"), "{toml}");
    assert_eq!(toml::from_str::<Schedule>(&toml).expect("reads"), s);
}

#[test]
fn unknown_and_missing_keys_are_errors_not_defaults() {
    let bad = |text: &str| {
        serde_json::from_str::<Schedule>(text)
            .expect_err("refused")
            .to_string()
    };
    let e = bad(r#"{"event": [{"kind": "crash", "at": 1, "node": "a", "nodee": "b"}]}"#);
    assert!(e.contains("unknown field `nodee`"), "{e}");
    let e = bad(r#"{"event": [{"kind": "crash", "at": 1}]}"#);
    assert!(e.contains("missing field `node`"), "{e}");
    let e = bad(r#"{"event": [{"kind": "write", "at": 1, "node": "a"}]}"#);
    assert!(e.contains("missing field `write`"), "{e}");
    let e = bad(r#"{"format": "dualha-schedule/3", "event": []}"#);
    assert!(e.contains("dualha-schedule/2"), "{e}");
    let e = bad(r#"{"events": []}"#);
    assert!(e.contains("unknown field `events`"), "{e}");
    // A configuration must be complete.
    let mut json = serde_json::to_value(sample()).expect("JSON");
    if let Some(c) = json.get_mut("config").and_then(|c| c.as_object_mut()) {
        c.remove("fencing");
    }
    let e = bad(&json.to_string());
    assert!(e.contains("missing field `fencing`"), "{e}");
}

#[test]
fn events_sort_by_time_keeping_file_order_for_ties() {
    let mut s = sample();
    s.events.reverse();
    s.events[0].at = 0.2;
    let kinds: Vec<&str> = s.in_order().iter().map(|e| e.fault.kind()).collect();
    assert_eq!(kinds, ["partition", "lose-messages", "write"]);
    assert!(s.has_writes());
    for k in Fault::KINDS {
        assert!(Fault::keys_of(k).is_some(), "{k}");
    }
}
