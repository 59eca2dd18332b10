//! Membership: failure detection (keepalive, warntime, deadtime, initdead, rings), ipfail,
//! quorum (two_node, wait_for_all, a quorum device) and the fencing decision, each as a
//! timeline of notices and effects at virtual times.
//!
//! Unless a test says otherwise: links take 1 ms one way, both members start at 0 s and
//! send heartbeats at every whole second, so the peer's last heartbeat before a failure
//! at 10.5 s is the one sent at 10 s, received at 10.001 s.

use core::time::Duration;

use model::membership::{
    DeviceNotice, IPFAIL_GRACE_KEEPALIVES, Membership, MembershipCommand, MembershipConfig,
    MembershipConfigError, MembershipNode, MembershipNodeNotice, MembershipNotice, NoQuorumPolicy,
    PeerState, PingNode, QuorumConfig, QuorumDevice,
};
use model::testing::{Cluster, FenceBehaviour, VirtualDisk, VirtualNetwork};
use model::{Effect, Net, NodeId, Time};

const A: NodeId = NodeId(0);
const B: NodeId = NodeId(1);
const P: NodeId = NodeId(2);
const Q: NodeId = NodeId(3);
const NET: Duration = Duration::from_millis(1);

type Lab = Cluster<MembershipNode>;

fn ms(millis: u64) -> Time {
    Time::from_millis(millis)
}

fn peer_of(n: NodeId) -> NodeId {
    if n == A { B } else { A }
}

/// A lab with members A and B configured by `cfg`, plus the ping nodes and the quorum
/// device A's configuration names. Nobody is started yet.
fn new_lab(cfg: &dyn Fn(NodeId, NodeId) -> MembershipConfig) -> Lab {
    let mut lab = Lab::new();
    lab.net = VirtualNetwork::new(NET);
    let ca = cfg(A, B);
    for &p in &ca.ping_nodes {
        lab.add(p, PingNode::new(p).into(), VirtualDisk::default());
    }
    if let Some(q) = ca.quorum.qdevice {
        lab.add(
            q,
            QuorumDevice::for_members(q, &ca).into(),
            VirtualDisk::default(),
        );
    }
    for n in [A, B] {
        let m = Membership::new(cfg(n, peer_of(n))).expect("valid test configuration");
        lab.add(n, m.into(), VirtualDisk::default());
    }
    lab
}

fn start(lab: &mut Lab, n: NodeId, fence_delay: Duration) {
    lab.command(n, MembershipCommand::Start { fence_delay });
}

/// A and B started at 0 s with no fence delay.
fn started(cfg: &dyn Fn(NodeId, NodeId) -> MembershipConfig) -> Lab {
    let mut lab = new_lab(cfg);
    start(&mut lab, A, Duration::ZERO);
    start(&mut lab, B, Duration::ZERO);
    lab
}

fn heartbeat(me: NodeId, peer: NodeId) -> MembershipConfig {
    MembershipConfig::heartbeat(me, peer)
}

fn stonith(me: NodeId, peer: NodeId) -> MembershipConfig {
    MembershipConfig {
        stonith: true,
        ..heartbeat(me, peer)
    }
}

fn member(lab: &Lab, n: NodeId) -> &Membership {
    lab.node(n).member().expect("a member")
}

/// The member notices of `n`, in order.
fn notices(lab: &Lab, n: NodeId) -> Vec<MembershipNotice> {
    lab.notices(n)
        .into_iter()
        .filter_map(|x| match x {
            MembershipNodeNotice::Member(m) => Some(m),
            MembershipNodeNotice::Device(_) => None,
        })
        .collect()
}

/// The times at which `n` emitted `notice`.
fn times(lab: &Lab, n: NodeId, notice: MembershipNotice) -> Vec<Time> {
    let want = Effect::Event(MembershipNodeNotice::Member(notice));
    lab.records()
        .iter()
        .filter(|r| r.node == n && r.effect == want)
        .map(|r| r.time)
        .collect()
}

/// When `n` first emitted `notice`.
fn first(lab: &Lab, n: NodeId, notice: MembershipNotice) -> Option<Time> {
    times(lab, n, notice).first().copied()
}

/// When `n` first emitted `notice` after `t` (quorum is also reported at start).
fn first_after(lab: &Lab, n: NodeId, notice: MembershipNotice, t: Time) -> Option<Time> {
    times(lab, n, notice).into_iter().find(|&x| x > t)
}

/// The times of `n`'s STONITH requests.
fn fences(lab: &Lab, n: NodeId) -> Vec<Time> {
    lab.records()
        .iter()
        .filter(|r| r.node == n && matches!(r.effect, Effect::Fence(_)))
        .map(|r| r.time)
        .collect()
}

/// Position of the first effect of `n` matching `pred` among its recorded effects.
fn position(lab: &Lab, n: NodeId, pred: impl Fn(&Effect<MembershipNode>) -> bool) -> Option<usize> {
    lab.effects_of(n).position(pred)
}

// ---------------------------------------------------------------------------------------
// Failure detection
// ---------------------------------------------------------------------------------------

#[test]
fn the_peer_is_declared_dead_at_deadtime_not_before() {
    let mut lab = started(&heartbeat);
    lab.run_until(ms(5_000));
    assert_eq!(member(&lab, A).peer_state(), PeerState::Alive);
    assert_eq!(first(&lab, A, MembershipNotice::PeerAlive(B)), Some(ms(1)));
    lab.run_until(ms(10_500));
    lab.crash(B);
    // Last heartbeat received at 10.001 s; 29.9 s later B is not yet dead.
    lab.run_until(ms(10_001 + 29_900));
    assert_eq!(first(&lab, A, MembershipNotice::PeerDead(B)), None);
    assert_ne!(member(&lab, A).peer_state(), PeerState::Dead);
    lab.run_until(ms(60_000));
    let dead = first(&lab, A, MembershipNotice::PeerDead(B));
    assert_eq!(
        dead,
        Some(ms(40_001)),
        "exactly deadtime after the last heartbeat"
    );
    assert!(
        dead.is_some_and(|t| t <= ms(10_500 + 30_000 + 1_000)),
        "by crash + deadtime + keepalive"
    );
    // No STONITH, two_node: the survivor takes over at once.
    assert_eq!(first(&lab, A, MembershipNotice::TakeOver), Some(ms(40_001)));
    assert_eq!(fences(&lab, A), vec![]);
}

#[test]
fn warntime_warns_before_deadtime_and_a_late_heartbeat_clears_it() {
    // A crash: warned at 15 s of silence, dead at 30 s.
    let mut lab = started(&heartbeat);
    lab.run_until(ms(10_500));
    lab.crash(B);
    lab.run_until(ms(25_000));
    assert_eq!(first(&lab, A, MembershipNotice::PeerWarn(B)), None);
    lab.run_until(ms(60_000));
    assert_eq!(
        first(&lab, A, MembershipNotice::PeerWarn(B)),
        Some(ms(25_001))
    );
    assert_eq!(
        first(&lab, A, MembershipNotice::PeerDead(B)),
        Some(ms(40_001))
    );

    // A 20 s outage of the only ring: warned, then alive again, never dead.
    let mut lab = started(&heartbeat);
    lab.run_until(ms(10_500));
    lab.partition_net(A, B, Net::Ring(0));
    lab.run_until(ms(30_500));
    lab.heal_net(A, B, Net::Ring(0));
    lab.run_until(ms(60_000));
    assert_eq!(
        times(&lab, A, MembershipNotice::PeerWarn(B)),
        vec![ms(25_001)]
    );
    assert_eq!(
        times(&lab, A, MembershipNotice::PeerAlive(B)),
        vec![ms(1), ms(31_001)],
        "the heartbeat sent at 31 s ends the warning"
    );
    assert_eq!(first(&lab, A, MembershipNotice::PeerDead(B)), None);
    assert_eq!(first(&lab, A, MembershipNotice::TakeOver), None);
}

/// The Heartbeat user guide's example timers: keepalive 2 s, warntime 5 s, deadtime
/// 15 s, initdead 60 s.
fn user_guide(me: NodeId, peer: NodeId) -> MembershipConfig {
    MembershipConfig {
        keepalive: Duration::from_secs(2),
        warntime: Duration::from_secs(5),
        deadtime: Duration::from_secs(15),
        initdead: Duration::from_secs(60),
        deadping: Duration::from_secs(15),
        ..heartbeat(me, peer)
    }
}

#[test]
fn initdead_applies_until_the_first_heartbeat() {
    // B never starts: A declares it dead after initdead (60 s), not deadtime (15 s).
    let mut lab = new_lab(&user_guide);
    start(&mut lab, A, Duration::ZERO);
    lab.run_until(ms(59_900));
    assert_eq!(first(&lab, A, MembershipNotice::PeerDead(B)), None);
    assert_eq!(member(&lab, A).peer_state(), PeerState::Unknown);
    lab.run_until(ms(70_000));
    assert_eq!(
        first(&lab, A, MembershipNotice::PeerDead(B)),
        Some(ms(60_000))
    );
    assert_eq!(
        first(&lab, A, MembershipNotice::RingDown(0)),
        Some(ms(60_000))
    );

    // B boots 40 s after A: later than deadtime, within initdead, so it is not dead.
    let mut lab = new_lab(&user_guide);
    start(&mut lab, A, Duration::ZERO);
    lab.run_until(ms(40_000));
    start(&mut lab, B, Duration::ZERO);
    lab.run_until(ms(120_000));
    assert_eq!(
        first(&lab, A, MembershipNotice::PeerAlive(B)),
        Some(ms(40_001))
    );
    assert_eq!(
        first(&lab, A, MembershipNotice::RingUp(0)),
        Some(ms(40_001))
    );
    assert_eq!(first(&lab, A, MembershipNotice::PeerDead(B)), None);
    // And deadtime, not initdead, applies after the first heartbeat.
    lab.crash(B);
    lab.run_until(ms(200_000));
    // B's heartbeats go out at 40, 42, ... 120 s; the one of 120 s is still in flight
    // when B crashes, so the last one A hears arrives at 118.001 s.
    assert_eq!(
        first(&lab, A, MembershipNotice::PeerDead(B)),
        Some(ms(118_001 + 15_000))
    );
}

fn two_rings(me: NodeId, peer: NodeId) -> MembershipConfig {
    MembershipConfig {
        rings: 2,
        ..heartbeat(me, peer)
    }
}

#[test]
fn one_ring_down_is_only_a_ring_down_both_rings_down_is_a_failure() {
    let mut lab = started(&two_rings);
    lab.run_until(ms(10_500));
    assert!(member(&lab, A).ring_up(0) && member(&lab, A).ring_up(1));
    lab.partition_net(A, B, Net::Ring(1));
    lab.run_until(ms(70_500));
    for n in [A, B] {
        assert_eq!(
            notices(&lab, n)
                .into_iter()
                .filter(|x| !matches!(x, MembershipNotice::Quorum(_)))
                .collect::<Vec<_>>(),
            vec![
                MembershipNotice::RingUp(0),
                MembershipNotice::PeerAlive(peer_of(n)),
                MembershipNotice::RingUp(1),
                MembershipNotice::RingDown(1),
            ],
            "{n}: ring 1 down, nothing else"
        );
    }
    assert_eq!(
        first(&lab, A, MembershipNotice::RingDown(1)),
        Some(ms(40_001))
    );
    assert!(!member(&lab, A).ring_up(1));

    // Now ring 0 too: silent on every ring, the peer is dead deadtime later.
    lab.partition_net(A, B, Net::Ring(0));
    lab.run_until(ms(110_000));
    assert_eq!(
        first(&lab, A, MembershipNotice::RingDown(0)),
        Some(ms(100_001))
    );
    assert_eq!(
        first(&lab, A, MembershipNotice::PeerDead(B)),
        Some(ms(100_001))
    );
    assert_eq!(
        first(&lab, A, MembershipNotice::TakeOver),
        Some(ms(100_001))
    );

    // Both rings back at 110 s (B's heartbeat of 110 s was sent before the heal).
    lab.heal(A, B);
    lab.run_until(ms(112_000));
    assert_eq!(
        times(&lab, A, MembershipNotice::PeerAlive(B)).last(),
        Some(&ms(111_001))
    );
    assert_eq!(
        times(&lab, A, MembershipNotice::RingUp(1)).last(),
        Some(&ms(111_001))
    );
}

// ---------------------------------------------------------------------------------------
// ipfail
// ---------------------------------------------------------------------------------------

fn ipfail(me: NodeId, peer: NodeId) -> MembershipConfig {
    MembershipConfig {
        ping_nodes: vec![P],
        ..heartbeat(me, peer)
    }
}

#[test]
fn ipfail_keeps_the_isolated_node_from_taking_over_while_the_other_does() {
    let mut lab = started(&ipfail);
    lab.run_until(ms(10_500));
    // A loses every network: to B and to the router.
    lab.partition(A, B);
    lab.partition(A, P);
    lab.run_until(ms(100_000));

    // B still reaches the router: dead peer at 40.001 s; the answer to its 40 s ping
    // (40.002 s) is the first proof of connectivity since, so it takes over then.
    assert_eq!(
        first(&lab, B, MembershipNotice::PeerDead(A)),
        Some(ms(40_001))
    );
    assert_eq!(first(&lab, B, MembershipNotice::TakeOver), Some(ms(40_002)));
    assert_eq!(first(&lab, B, MembershipNotice::Isolated(true)), None);

    // A's last pong came at 10.002 s: isolated at 40.002 s, and it gives up.
    assert_eq!(
        first(&lab, A, MembershipNotice::PeerDead(B)),
        Some(ms(40_001))
    );
    assert_eq!(
        first(&lab, A, MembershipNotice::Isolated(true)),
        Some(ms(40_002))
    );
    assert_eq!(first(&lab, A, MembershipNotice::GiveUp), Some(ms(40_002)));
    assert_eq!(first(&lab, A, MembershipNotice::TakeOver), None);
    assert!(member(&lab, A).is_isolated());
}

#[test]
fn ipfail_hands_over_from_a_node_that_lost_its_router_while_the_peer_is_alive() {
    let mut lab = started(&ipfail);
    lab.run_until(ms(10_500));
    // Only A's public network breaks; the heartbeat ring is fine.
    lab.partition(A, P);
    lab.run_until(ms(100_000));
    let grace = u64::from(IPFAIL_GRACE_KEEPALIVES) * 1_000;
    assert_eq!(
        first(&lab, A, MembershipNotice::Isolated(true)),
        Some(ms(40_002))
    );
    // A gives up once the counts have been stable for the grace period...
    assert_eq!(
        first(&lab, A, MembershipNotice::GiveUp),
        Some(ms(40_002 + grace))
    );
    // ...and B takes over on A's next heartbeat, which says so.
    assert_eq!(first(&lab, B, MembershipNotice::TakeOver), Some(ms(44_001)));
    assert_eq!(first(&lab, A, MembershipNotice::TakeOver), None);
    for n in [A, B] {
        assert_eq!(member(&lab, n).peer_state(), PeerState::Alive, "{n}");
        assert!(
            !notices(&lab, n)
                .iter()
                .any(|x| matches!(x, MembershipNotice::PeerDead(_)))
        );
    }
}

#[test]
fn ipfail_does_not_move_resources_when_the_router_dies_for_both() {
    let mut lab = started(&ipfail);
    lab.run_until(ms(10_500));
    // The router dies, but A's last answer is from 10 s and B's from 11 s: A notices a
    // second before B, while B's heartbeats still report the router reachable.
    lab.partition(A, P);
    lab.run_until(ms(11_500));
    lab.partition(B, P);
    lab.run_until(ms(100_000));
    assert_eq!(
        first(&lab, A, MembershipNotice::Isolated(true)),
        Some(ms(40_002))
    );
    assert_eq!(
        first(&lab, B, MembershipNotice::Isolated(true)),
        Some(ms(41_002))
    );
    for n in [A, B] {
        assert_eq!(first(&lab, n, MembershipNotice::GiveUp), None, "{n}");
        assert_eq!(first(&lab, n, MembershipNotice::TakeOver), None, "{n}");
    }
}

// ---------------------------------------------------------------------------------------
// Fencing
// ---------------------------------------------------------------------------------------

#[test]
fn without_fencing_a_partition_makes_both_sides_take_over() {
    // The unsafe configuration of the study: a correct model of it must show the split.
    let mut lab = started(&heartbeat);
    lab.run_until(ms(10_500));
    lab.partition(A, B);
    lab.run_until(ms(60_000));
    for n in [A, B] {
        assert_eq!(
            first(&lab, n, MembershipNotice::PeerDead(peer_of(n))),
            Some(ms(40_001))
        );
        assert_eq!(
            first(&lab, n, MembershipNotice::TakeOver),
            Some(ms(40_001)),
            "{n}"
        );
        assert_eq!(fences(&lab, n), vec![], "{n}");
        assert!(lab.is_up(n));
    }
}

#[test]
fn with_stonith_the_survivor_fences_before_it_takes_over() {
    let mut lab = started(&stonith);
    lab.fencing = FenceBehaviour::Works(Duration::from_secs(1));
    lab.run_until(ms(10_500));
    lab.crash(B);
    lab.run_until(ms(41_000));
    assert_eq!(
        first(&lab, A, MembershipNotice::PeerDead(B)),
        Some(ms(40_001))
    );
    assert_eq!(
        first(&lab, A, MembershipNotice::Fencing(B)),
        Some(ms(40_001))
    );
    assert_eq!(fences(&lab, A), vec![ms(40_001)]);
    assert_eq!(
        first(&lab, A, MembershipNotice::TakeOver),
        None,
        "no take-over while the fence is in flight"
    );
    lab.run_until(ms(60_000));
    assert_eq!(
        first(
            &lab,
            A,
            MembershipNotice::Fenced {
                node: B,
                success: true
            }
        ),
        Some(ms(41_001))
    );
    assert_eq!(first(&lab, A, MembershipNotice::TakeOver), Some(ms(41_001)));
    let fence = position(&lab, A, |e| *e == Effect::Fence(B));
    let take_over = position(&lab, A, |e| {
        *e == Effect::Event(MembershipNodeNotice::Member(MembershipNotice::TakeOver))
    });
    assert!(
        fence.is_some() && take_over.is_some() && fence < take_over,
        "Fence {fence:?} precedes TakeOver {take_over:?}"
    );
    assert_eq!(fences(&lab, A).len(), 1, "no second fence");
}

#[test]
fn the_fence_delay_breaks_a_shoot_out() {
    // A draws 0 s, B draws 5 s: A's fence lands (41.001 s) before B's would go out
    // (45.001 s), so B dies without shooting.
    let mut lab = new_lab(&stonith);
    lab.fencing = FenceBehaviour::Works(Duration::from_secs(1));
    start(&mut lab, A, Duration::ZERO);
    start(&mut lab, B, Duration::from_secs(5));
    lab.run_until(ms(10_500));
    lab.partition(A, B);
    lab.run_until(ms(100_000));
    assert!(lab.is_up(A));
    assert!(!lab.is_up(B), "B was fenced");
    assert_eq!(fences(&lab, A), vec![ms(40_001)]);
    assert_eq!(fences(&lab, B), vec![], "B never got to shoot");
    assert_eq!(first(&lab, A, MembershipNotice::TakeOver), Some(ms(41_001)));
    assert_eq!(first(&lab, B, MembershipNotice::TakeOver), None);
    assert_eq!(first(&lab, B, MembershipNotice::Fencing(A)), None);

    // The control: equal delays, both shoot, both die.
    let mut lab = started(&stonith);
    lab.fencing = FenceBehaviour::Works(Duration::from_secs(1));
    lab.run_until(ms(10_500));
    lab.partition(A, B);
    lab.run_until(ms(100_000));
    assert_eq!(fences(&lab, A), vec![ms(40_001)]);
    assert_eq!(fences(&lab, B), vec![ms(40_001)]);
    assert!(!lab.is_up(A) && !lab.is_up(B), "a shoot-out kills both");
}

#[test]
fn a_failing_fence_is_retried_and_never_leads_to_take_over() {
    let mut lab = started(&stonith);
    lab.fencing = FenceBehaviour::Fails(Duration::from_secs(2));
    lab.run_until(ms(10_500));
    lab.crash(B);
    lab.run_until(ms(50_000));
    // Fence at 40.001 s, failure at 42.001 s, retry one keepalive later, and so on.
    assert_eq!(
        fences(&lab, A),
        vec![ms(40_001), ms(43_001), ms(46_001), ms(49_001)]
    );
    assert_eq!(
        times(
            &lab,
            A,
            MembershipNotice::Fenced {
                node: B,
                success: false
            }
        ),
        vec![ms(42_001), ms(45_001), ms(48_001)]
    );
    assert_eq!(first(&lab, A, MembershipNotice::TakeOver), None);
}

#[test]
fn a_hung_fence_times_out_after_fence_timeout_and_is_retried() {
    let mut lab = started(&stonith);
    lab.fencing = FenceBehaviour::Hangs;
    lab.run_until(ms(10_500));
    lab.crash(B);
    lab.run_until(ms(105_000));
    assert_eq!(fences(&lab, A), vec![ms(40_001), ms(101_001)]);
    assert_eq!(
        first(
            &lab,
            A,
            MembershipNotice::Fenced {
                node: B,
                success: false
            }
        ),
        Some(ms(100_001)),
        "fencing-timeout 60 s"
    );
    assert_eq!(first(&lab, A, MembershipNotice::TakeOver), None);
}

// ---------------------------------------------------------------------------------------
// Quorum
// ---------------------------------------------------------------------------------------

fn quorum(q: QuorumConfig) -> impl Fn(NodeId, NodeId) -> MembershipConfig {
    move |me, peer| MembershipConfig {
        quorum: q,
        ..heartbeat(me, peer)
    }
}

#[test]
fn two_node_with_wait_for_all_a_node_started_alone_gets_no_quorum() {
    let mut lab = new_lab(&quorum(QuorumConfig::two_node()));
    start(&mut lab, A, Duration::ZERO);
    lab.run_until(ms(100_000));
    assert_eq!(first(&lab, A, MembershipNotice::Quorum(false)), Some(ms(0)));
    assert_eq!(first(&lab, A, MembershipNotice::Quorum(true)), None);
    assert_eq!(
        first(&lab, A, MembershipNotice::PeerDead(B)),
        Some(ms(30_000))
    );
    assert_eq!(first(&lab, A, MembershipNotice::TakeOver), None);
    assert!(!member(&lab, A).is_quorate());
    // Once the peer has been seen, quorum comes, and stays when the peer is lost again.
    start(&mut lab, B, Duration::ZERO);
    lab.run_until(ms(110_500));
    assert_eq!(
        first(&lab, A, MembershipNotice::Quorum(true)),
        Some(ms(100_001))
    );
    lab.crash(B);
    lab.run_until(ms(150_000));
    assert_eq!(
        first(&lab, A, MembershipNotice::PeerDead(B)),
        Some(ms(30_000))
    );
    assert_eq!(
        times(&lab, A, MembershipNotice::PeerDead(B)),
        vec![ms(30_000), ms(140_001)]
    );
    assert!(
        member(&lab, A).is_quorate(),
        "two_node: a lone node keeps quorum"
    );
    assert_eq!(
        first(&lab, A, MembershipNotice::TakeOver),
        Some(ms(140_001))
    );
}

#[test]
fn two_node_without_wait_for_all_a_node_started_alone_is_quorate_and_takes_over() {
    let q = QuorumConfig {
        wait_for_all: false,
        ..QuorumConfig::two_node()
    };
    let mut lab = new_lab(&quorum(q));
    start(&mut lab, A, Duration::ZERO);
    lab.run_until(ms(100_000));
    assert_eq!(first(&lab, A, MembershipNotice::Quorum(true)), Some(ms(0)));
    assert_eq!(
        first(&lab, A, MembershipNotice::PeerDead(B)),
        Some(ms(30_000))
    );
    assert_eq!(first(&lab, A, MembershipNotice::TakeOver), Some(ms(30_000)));
}

#[test]
fn without_two_node_a_lone_survivor_loses_quorum_and_the_policy_decides() {
    for (policy, give_up, take_over) in [
        (NoQuorumPolicy::Stop, true, false),
        (NoQuorumPolicy::Freeze, false, false),
        (NoQuorumPolicy::Ignore, false, true),
    ] {
        let cfg = move |me, peer| MembershipConfig {
            quorum: QuorumConfig::majority(),
            no_quorum_policy: policy,
            ..heartbeat(me, peer)
        };
        let mut lab = started(&cfg);
        lab.run_until(ms(10_500));
        assert!(member(&lab, A).is_quorate());
        lab.crash(B);
        lab.run_until(ms(60_000));
        assert_eq!(
            first_after(&lab, A, MembershipNotice::Quorum(false), ms(10_500)),
            Some(ms(40_001)),
            "{policy:?}"
        );
        assert_eq!(
            first(&lab, A, MembershipNotice::GiveUp).is_some(),
            give_up,
            "{policy:?}"
        );
        assert_eq!(
            first(&lab, A, MembershipNotice::TakeOver).is_some(),
            take_over,
            "{policy:?}"
        );
    }
}

fn with_qdevice(me: NodeId, peer: NodeId) -> MembershipConfig {
    quorum(QuorumConfig::with_qdevice(Q))(me, peer)
}

/// The device's notices after `t`.
fn device_notices_after(lab: &Lab, t: Time) -> Vec<DeviceNotice> {
    lab.records()
        .iter()
        .filter(|r| r.node == Q && r.time > t)
        .filter_map(|r| match r.effect {
            Effect::Event(MembershipNodeNotice::Device(d)) => Some(d),
            _ => None,
        })
        .collect()
}

#[test]
fn a_quorum_device_gives_quorum_to_exactly_one_side_of_a_partition() {
    let mut lab = started(&with_qdevice);
    lab.run_until(ms(10_500));
    for n in [A, B] {
        assert!(member(&lab, n).is_quorate(), "{n}");
    }
    let split = lab.now();
    lab.partition(A, B);
    lab.run_until(ms(100_000));
    let winners: Vec<NodeId> = [A, B]
        .into_iter()
        .filter(|&n| first(&lab, n, MembershipNotice::TakeOver).is_some())
        .collect();
    assert_eq!(winners.len(), 1, "exactly one side takes over: {winners:?}");
    let winner = winners[0];
    let loser = peer_of(winner);
    assert_eq!(
        device_notices_after(&lab, split),
        vec![DeviceNotice::Holder(Some(winner))]
    );
    // Each asks the device as a partition of one when it declares its peer dead
    // (40.001 s): one round trip later the winner takes over, the loser gives up.
    assert_eq!(
        first(&lab, winner, MembershipNotice::TakeOver),
        Some(ms(40_003))
    );
    assert_eq!(
        first_after(&lab, winner, MembershipNotice::Quorum(false), split),
        None,
        "the winner's quorum never flaps"
    );
    assert!(member(&lab, winner).is_quorate());
    assert_eq!(
        first_after(&lab, loser, MembershipNotice::Quorum(false), split),
        Some(ms(40_003))
    );
    assert_eq!(
        first(&lab, loser, MembershipNotice::GiveUp),
        Some(ms(40_003))
    );
    assert!(!member(&lab, loser).is_quorate());
}

#[test]
fn a_quorum_device_sides_with_the_node_that_still_reaches_it() {
    let mut lab = started(&with_qdevice);
    lab.run_until(ms(10_500));
    let split = lab.now();
    // A is cut off from B and from the device.
    lab.partition(A, B);
    lab.partition(A, Q);
    lab.run_until(ms(100_000));
    assert_eq!(first(&lab, B, MembershipNotice::TakeOver), Some(ms(40_003)));
    assert_eq!(
        first_after(&lab, B, MembershipNotice::Quorum(false), split),
        None
    );
    // A's last vote arrived at 10.002 s and expires deadtime later.
    assert_eq!(
        first_after(&lab, A, MembershipNotice::Quorum(false), split),
        Some(ms(40_002))
    );
    assert_eq!(first(&lab, A, MembershipNotice::GiveUp), Some(ms(40_002)));
    assert_eq!(first(&lab, A, MembershipNotice::TakeOver), None);
    assert_eq!(
        device_notices_after(&lab, split),
        vec![DeviceNotice::Holder(Some(B))]
    );
}

// ---------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------

#[test]
fn every_invalid_configuration_is_refused_naming_its_field() {
    use MembershipConfigError as E;
    let ok = heartbeat(A, B);
    assert_eq!(ok.validate(), Ok(()));
    let s = Duration::from_secs;
    let cases: Vec<(MembershipConfig, E, &str)> = vec![
        (
            MembershipConfig {
                peer: A,
                ..ok.clone()
            },
            E::PeerIsSelf(A),
            "peer:",
        ),
        (
            MembershipConfig {
                rings: 0,
                ..ok.clone()
            },
            E::Rings(0),
            "rings:",
        ),
        (
            MembershipConfig {
                rings: 3,
                ..ok.clone()
            },
            E::Rings(3),
            "rings:",
        ),
        (
            MembershipConfig {
                keepalive: Duration::ZERO,
                ..ok.clone()
            },
            E::ZeroKeepalive,
            "keepalive:",
        ),
        (
            MembershipConfig {
                deadtime: s(2),
                warntime: s(1) + Duration::from_millis(500),
                initdead: s(30),
                ..ok.clone()
            },
            E::DeadtimeTooShort {
                deadtime: s(2),
                keepalive: s(1),
            },
            "deadtime:",
        ),
        (
            MembershipConfig {
                warntime: s(30),
                ..ok.clone()
            },
            E::WarntimeNotBelowDeadtime {
                warntime: s(30),
                deadtime: s(30),
            },
            "warntime:",
        ),
        (
            MembershipConfig {
                warntime: s(1),
                ..ok.clone()
            },
            E::WarntimeTooShort {
                warntime: s(1),
                keepalive: s(1),
            },
            "warntime:",
        ),
        (
            MembershipConfig {
                initdead: s(20),
                ..ok.clone()
            },
            E::InitdeadBelowDeadtime {
                initdead: s(20),
                deadtime: s(30),
            },
            "initdead:",
        ),
        (
            MembershipConfig {
                deadping: s(2),
                ..ok.clone()
            },
            E::DeadpingTooShort {
                deadping: s(2),
                keepalive: s(1),
            },
            "deadping:",
        ),
        (
            MembershipConfig {
                ping_nodes: (10..27).map(NodeId).collect(),
                ..ok.clone()
            },
            E::TooManyPingNodes(17),
            "ping_nodes:",
        ),
        (
            MembershipConfig {
                ping_nodes: vec![P, B],
                ..ok.clone()
            },
            E::PingNodeIsMember(B),
            "ping_nodes:",
        ),
        (
            MembershipConfig {
                ping_nodes: vec![P, P],
                ..ok.clone()
            },
            E::DuplicatePingNode(P),
            "ping_nodes:",
        ),
        (
            MembershipConfig {
                quorum: QuorumConfig::with_qdevice(A),
                ..ok.clone()
            },
            E::QdeviceIsMember(A),
            "quorum.qdevice:",
        ),
        (
            MembershipConfig {
                quorum: QuorumConfig::with_qdevice(P),
                ping_nodes: vec![P],
                ..ok.clone()
            },
            E::QdeviceIsPingNode(P),
            "quorum.qdevice:",
        ),
        (
            MembershipConfig {
                quorum: QuorumConfig {
                    qdevice: Some(Q),
                    ..QuorumConfig::two_node()
                },
                ..ok.clone()
            },
            E::TwoNodeWithQdevice(Q),
            "quorum.two_node:",
        ),
        (
            MembershipConfig {
                fence_timeout: Duration::ZERO,
                ..ok.clone()
            },
            E::ZeroFenceTimeout,
            "fence_timeout:",
        ),
    ];
    for (cfg, want, field) in cases {
        let got = cfg.validate();
        assert_eq!(got, Err(want.clone()));
        assert!(want.to_string().starts_with(field), "{want} names {field}");
        assert_eq!(Membership::new(cfg).err(), Some(want));
    }
    // The derived timers of a short deadtime are valid (warntime 5 s, initdead 20 s).
    let short = heartbeat(A, B).with_deadtime(Duration::from_secs(10));
    assert_eq!(short.validate(), Ok(()));
    assert_eq!(short.initdead, Duration::from_secs(20));
}

/// The resource layer lets a hand-over's `TakeOver` wait until the live peer has released
/// the group, and forgets it when the peer dies meanwhile; so a hand-over that turns into
/// a failover must be announced again once the failover may proceed (here after the ping
/// proof; with STONITH after the fence).
#[test]
fn a_hand_over_whose_giver_then_dies_is_announced_again_as_a_failover() {
    let mut lab = started(&ipfail);
    lab.run_until(ms(10_500));
    lab.partition(A, P);
    lab.run_until(ms(50_500));
    assert_eq!(times(&lab, B, MembershipNotice::TakeOver), vec![ms(44_001)]);
    lab.crash(A);
    lab.run_until(ms(100_000));
    // A's last heartbeat arrived at 50.001 s: dead at 80.001 s; the router's answer to
    // B's 80 s ping (80.002 s) is the first proof of connectivity since.
    assert_eq!(
        first(&lab, B, MembershipNotice::PeerDead(A)),
        Some(ms(80_001))
    );
    assert_eq!(
        times(&lab, B, MembershipNotice::TakeOver),
        vec![ms(44_001), ms(80_002)]
    );
}
