//! The timed semantics (`docs/verification.md`, "Timed semantics"): every pending event
//! has a deadline, and an event may happen only if no other must happen strictly before
//! it. Each test is an order the untimed checker allowed and real timing excludes, or a
//! race that the configured windows decide.
#![cfg(feature = "check")]

use model::check::config::{A, B, Budget, Cut, FaultKind, FencingChoice};
use model::check::model::{FAILOVER, NO_SPLIT_BRAIN};
use model::check::state::AnyTimer;
use model::check::{Action, CheckConfig, CheckModel, RunOptions, State, Verdict, check};
use model::guest::GuestTimer;
use model::membership::MembershipTimer;
use model::replication::ReplicaTimer;
use stateright::Model;

fn step(m: &CheckModel, s: &State, action: Action) -> State {
    match m.next_state(s, action.clone()) {
        Some(next) => next,
        None => panic!("{action:?} is not possible in {}", CheckModel::summary(s)),
    }
}

fn dead(node: model::NodeId) -> Action {
    Action::Timer {
        node,
        timer: AnyTimer::Guest(GuestTimer::Membership(MembershipTimer::Dead)),
    }
}

fn actions(m: &CheckModel, s: &State) -> Vec<Action> {
    let mut out = Vec::new();
    m.actions(s, &mut out);
    out
}

const AB: Cut = Cut::between(A, B, None);

#[test]
fn a_replicated_write_completes_before_any_timer_can_fire() {
    // Untimed, a write's DRBD Data message and disk request could wait while any timer
    // fired (a 1 ms disk write pending for 30 s). Their windows (10 ms, 20 ms) are far
    // shorter than every armed timer: no timer may fire, no time may pass.
    let m = CheckModel::new(CheckConfig::default()).expect("valid");
    let s = step(&m, m.init(), Action::Write { node: A });
    assert!(s.disk_queue[0].len() == 1 && !s.channels.is_empty());
    for a in actions(&m, &s) {
        assert!(
            !matches!(a, Action::Timer { .. }),
            "{a:?} offered while the write is in flight"
        );
    }
    assert!(m.next_state(&s, dead(B)).is_none());
    // Housekeeping due now may run, but time cannot pass the write's deadlines.
    if let Some(next) = m.next_state(&s, Action::Advance) {
        assert_eq!(next.disk_queue[0].len(), 1);
        assert!(next.disk_queue[0][0].1 <= m.config().timing.disk_max_ms);
    }
}

#[test]
fn a_live_peer_is_never_declared_dead_and_keepalives_are_not_choices() {
    // Keep-alives run as time passes, in deadline order: one node's keepalive cannot
    // fire twice while the peer's fires not at all, so over an uncut ring the peer's
    // heartbeats always re-arm Dead before it is due.
    let m = CheckModel::new(CheckConfig::default()).expect("valid");
    let s = m.init();
    for a in actions(&m, s) {
        assert!(
            !matches!(
                a,
                Action::Timer {
                    timer: AnyTimer::Guest(GuestTimer::Membership(MembershipTimer::Keepalive)),
                    ..
                }
            ),
            "keepalive offered as a choice"
        );
    }
    for n in [A, B] {
        assert!(m.next_state(s, dead(n)).is_none(), "{n} declared dead");
    }
}

#[test]
fn a_handshake_over_a_healed_link_is_not_starved_past_deadtime() {
    // Untimed, after a partition heals the DRBD handshake could stay in flight while the
    // 30 s deadtime ran out. Timed: the handshake's messages take at most 10 ms each.
    let cfg = CheckConfig {
        name: "handshake".to_string(),
        budget: Budget {
            faults: 1,
            writes: 0,
            kinds: vec![FaultKind::Partition],
            ..Budget::default()
        },
        ..CheckConfig::default()
    };
    let m = CheckModel::new(cfg).expect("valid");
    let mut s = step(&m, m.init(), Action::Partition(AB));
    // b's, then a's DRBD keep-alive goes unanswered.
    s = step(&m, &s, Action::Advance);
    s = step(&m, &s, Action::Advance);
    s = step(&m, &s, Action::Heal(AB));
    // Time passes until a connection retry sends DRBD's Hello.
    s = step(&m, &s, Action::Advance);
    assert!(!s.channels.is_empty(), "{}", CheckModel::summary(&s));
    for n in [A, B] {
        assert!(m.next_state(&s, dead(n)).is_none(), "{n}'s Dead fired");
    }
    assert!(!actions(&m, &s).iter().any(|a| matches!(
        a,
        Action::Timer {
            timer: AnyTimer::Guest(GuestTimer::Replica(ReplicaTimer::PingTimeout)),
            ..
        }
    )));
}

fn stonith_partition(handler_max_ms: u32) -> model::check::Outcome {
    let mut cfg = CheckConfig {
        name: "stonith-race".to_string(),
        fencing: FencingChoice::ResourceAndStonith,
        stonith: true,
        budget: Budget {
            faults: 1,
            writes: 1,
            kinds: vec![FaultKind::Partition],
            ..Budget::default()
        },
        ..CheckConfig::default()
    };
    cfg.timing.handler_max_ms = handler_max_ms;
    check(
        CheckModel::new(cfg).expect("valid"),
        RunOptions {
            threads: 2,
            max_depth: 10,
        },
    )
}

#[test]
fn the_fencing_race_under_resource_and_stonith_is_decided_by_the_windows() {
    // a (Primary) notices the cut within ping-int + ping-timeout (10.5 s) and its
    // fence-peer handler powers b off; b's Heartbeat waits 30 s. With the handler done
    // within 10 s, a always wins: b never takes over.
    let quick = stonith_partition(10_000);
    assert_eq!(quick.verdict(NO_SPLIT_BRAIN), Some(Verdict::Holds));
    assert_ne!(quick.verdict(FAILOVER), Some(Verdict::Holds));
    // A handler that may take 40 s races b's deadtime, and b may win.
    let slow = stonith_partition(40_000);
    assert_eq!(slow.verdict(NO_SPLIT_BRAIN), Some(Verdict::Holds));
    assert_eq!(slow.verdict(FAILOVER), Some(Verdict::Holds));
}
