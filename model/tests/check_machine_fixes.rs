//! Model errors the checker found in the machines, each pinned through the checker's
//! own driver: a path that must not exist, or a property that must hold.
//!
//! * dopd: the checker's `fence-peer` handler under `resource-only` fencing is dopd
//!   (drbd-peer-outdater): it asks the peer's dopd, over a Heartbeat ring, to run
//!   `drbdadm outdate`, and answers what that gave. A peer that is Primary refuses
//!   (drbdsetup exits 17, dopd answers 6), and DRBD then outdates the *caller's* disk
//!   (`conn_try_outdate_peer`, "Peer is primary, outdating myself"): the caller must not
//!   become a second Primary.
//! * Protocol B acknowledges a write once the peer has received it; the peer writes what
//!   it received before it can be promoted, so one crash of the Primary loses no
//!   acknowledged write.
#![cfg(feature = "check")]

use model::check::config::{A, B, Budget, Cut, FaultKind, FencingChoice, ProtocolChoice};
use model::check::model::NO_LOST_WRITE;
use model::check::state::AnyTimer;
use model::check::{Action, CheckConfig, CheckModel, RunOptions, State, Verdict, check};
use model::guest::GuestTimer;
use model::membership::MembershipTimer;
use model::replication::{ConnState, DiskState, Role};
use stateright::Model;

fn step(m: &CheckModel, s: &State, action: Action) -> State {
    match m.next_state(s, action.clone()) {
        Some(next) => next,
        None => panic!("{action:?} is not possible in {}", CheckModel::summary(s)),
    }
}

fn timer(node: model::NodeId, t: GuestTimer) -> Action {
    Action::Timer {
        node,
        timer: AnyTimer::Guest(t),
    }
}

#[test]
fn dopd_refuses_to_outdate_a_primary_and_the_caller_outdates_itself() {
    let cfg = CheckConfig {
        name: "dopd-primary-peer".to_string(),
        fencing: FencingChoice::ResourceOnly,
        ..CheckConfig::default()
    };
    let m = CheckModel::new(cfg).expect("valid configuration");
    let ab = Cut::between(A, B, None);
    let mut s = m.init().clone();
    // Every network between a and b is cut; both replicas notice when their DRBD
    // keep-alive goes unanswered (b at 0.5 s, a at 10.5 s); a, Primary, calls fence-peer,
    // whose dopd cannot reach b (5).
    s = step(&m, &s, Action::Partition(ab));
    s = step(&m, &s, Action::Advance);
    s = step(&m, &s, Action::Advance);
    assert!(
        s.handlers.contains_key(&(A, B)),
        "{}",
        CheckModel::summary(&s)
    );
    s = step(&m, &s, Action::FencePeer { node: A, peer: B });
    // b's Heartbeat declares a dead (deadtime) and takes over: the promotion calls
    // fence-peer.
    s = step(
        &m,
        &s,
        timer(B, GuestTimer::Membership(MembershipTimer::Dead)),
    );
    assert!(
        s.handlers.contains_key(&(B, A)),
        "{}",
        CheckModel::summary(&s)
    );
    // The ring comes back before dopd asks: it reaches a, which is Primary.
    s = step(&m, &s, Action::Heal(ab));
    s = step(&m, &s, Action::FencePeer { node: B, peer: A });

    let a = s.guests[0].as_ref().expect("a runs").replica();
    let b = s.guests[1].as_ref().expect("b runs").replica();
    assert_eq!(a.role(), Role::Primary);
    assert_eq!(a.disk(), DiskState::UpToDate, "a Primary is never outdated");
    assert_eq!(a.conn(), ConnState::Connecting);
    assert_eq!(
        b.role(),
        Role::Secondary,
        "b was promoted beside the Primary a: {}",
        CheckModel::summary(&s)
    );
    assert_eq!(b.disk(), DiskState::Outdated, "exit 6: b outdates itself");
}

#[test]
fn protocol_b_loses_no_acknowledged_write_when_the_primary_crashes() {
    // As the matrix's protocol-a/-c rows: one crash, one write, 10 steps.
    let cfg = CheckConfig {
        name: "protocol-b-primary-crash".to_string(),
        protocol: ProtocolChoice::B,
        fencing: FencingChoice::ResourceAndStonith,
        budget: Budget {
            faults: 1,
            writes: 1,
            kinds: vec![FaultKind::Crash],
            ..Budget::default()
        },
        ..CheckConfig::default()
    };
    let o = check(
        CheckModel::new(cfg).expect("valid configuration"),
        RunOptions {
            threads: 2,
            max_depth: 10,
        },
    );
    let lost = o.properties.iter().find(|p| p.name == NO_LOST_WRITE);
    assert_eq!(
        o.verdict(NO_LOST_WRITE),
        Some(Verdict::Holds),
        "{:?}",
        lost.and_then(|p| p.counterexample.as_ref())
            .map(model::check::trace::render)
    );
}
