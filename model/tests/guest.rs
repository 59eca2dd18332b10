//! The composed guest (replica + membership + resource manager) of the study's
//! DRBD + Heartbeat pair, driven end to end: the failovers the study measured, and the
//! unsafe and safe behaviours under a partition.

use core::time::Duration;

use model::guest::{Guest, GuestCommand, GuestConfig, GuestNotice};
use model::membership::{MembershipConfig, MembershipNotice};
use model::replication::{ReplicaConfig, Role};
use model::resources::{GroupConfig, ResourceKind, ResourceNotice, ResourceSpec};
use model::testing::{Cluster, VirtualDisk, VirtualProcess};
use model::{Effect, NodeId, OcfAction, ProcessId, ProcessRequest, Time};

const A: NodeId = NodeId(0);
const B: NodeId = NodeId(1);
const DRBD: ProcessId = ProcessId(1);
const FS: ProcessId = ProcessId(2);
const IP: ProcessId = ProcessId(3);
const SERVICE: ProcessId = ProcessId(4);

type Lab = Cluster<Guest>;

fn config(me: NodeId, peer: NodeId, tweak: &dyn Fn(&mut GuestConfig)) -> GuestConfig {
    let resources = vec![
        ResourceSpec::new(DRBD, "drbddisk::ha", ResourceKind::Replica),
        ResourceSpec::new(
            FS,
            "Filesystem::/dev/drbd0::/storage::ext4",
            ResourceKind::Filesystem,
        ),
        ResourceSpec::new(IP, "IPaddr2", ResourceKind::Address),
        ResourceSpec::new(SERVICE, "apache2", ResourceKind::Service),
    ];
    let mut cfg = GuestConfig {
        replica: ReplicaConfig::new(me, peer, 1024),
        membership: MembershipConfig::heartbeat(me, peer),
        group: GroupConfig::new(me, peer, A, resources),
    };
    tweak(&mut cfg);
    cfg
}

/// Two booted guests; A runs the group (the replica is already synchronised, as after
/// `create-md`, `primary --force` and the initial sync).
fn pair(tweak: &dyn Fn(&mut GuestConfig), delays: [Duration; 2]) -> Lab {
    let mut lab = Lab::new();
    for (me, peer) in [(A, B), (B, A)] {
        let guest = Guest::new(config(me, peer, tweak)).expect("valid guest configuration");
        lab.add(me, guest, VirtualDisk::new(Duration::from_millis(1)));
        let p = lab.processes_mut(me);
        // Mount 2 s (journal replay), address 1 s, Apache 3 s; 0.1 s monitors.
        let ms = Duration::from_millis;
        p.add(FS, VirtualProcess::new(ms(2000), ms(500), ms(100)));
        p.add(IP, VirtualProcess::new(ms(1000), ms(100), ms(100)));
        p.add(SERVICE, VirtualProcess::new(ms(3000), ms(1000), ms(100)));
    }
    // The initial sync: A forced Primary before the cluster stack starts.
    lab.command(
        A,
        GuestCommand::Replica(model::replication::ReplicaCommand::Promote { force: true }),
    );
    for n in [A, B] {
        lab.command(
            n,
            GuestCommand::Replica(model::replication::ReplicaCommand::Connect {
                discard_my_data: false,
            }),
        );
    }
    lab.run_for(Duration::from_secs(2));
    lab.command(
        A,
        GuestCommand::Replica(model::replication::ReplicaCommand::Demote),
    );
    lab.run_for(Duration::from_millis(10));
    for (n, d) in [A, B].into_iter().zip(delays) {
        lab.command(n, GuestCommand::Boot { fence_delay: d });
    }
    lab.run_for(Duration::from_secs(20));
    assert_eq!(
        lab.node(A).replica().role(),
        Role::Primary,
        "A runs the group"
    );
    assert!(lab.processes(A).get(SERVICE).is_some_and(|p| p.running));
    assert_eq!(lab.node(B).replica().role(), Role::Secondary);
    lab.take_records();
    lab
}

fn first_time(lab: &Lab, n: NodeId, pred: impl Fn(&Effect<Guest>) -> bool) -> Option<Time> {
    lab.records()
        .iter()
        .find(|r| r.node == n && pred(&r.effect))
        .map(|r| r.time)
}

fn started(lab: &Lab, n: NodeId, p: ProcessId) -> Option<Time> {
    first_time(
        lab,
        n,
        |e| matches!(e, Effect::Process(ProcessRequest { process, action: OcfAction::Start, .. }) if *process == p),
    )
}

fn membership_notice(lab: &Lab, n: NodeId, want: MembershipNotice) -> Option<Time> {
    first_time(lab, n, |e| {
        *e == Effect::Event(GuestNotice::Membership(want))
    })
}

#[test]
fn boot_starts_the_group_in_order_on_the_preferred_node_only() {
    let lab = pair(&|_| {}, [Duration::ZERO; 2]);
    assert!(lab.processes(A).get(FS).is_some_and(|p| p.running));
    assert!(lab.processes(A).get(IP).is_some_and(|p| p.running));
    for p in [FS, IP, SERVICE] {
        assert!(!lab.processes(B).get(p).is_some_and(|x| x.running));
    }
}

#[test]
fn a_host_failure_moves_the_group_after_deadtime() {
    let mut lab = pair(&|_| {}, [Duration::ZERO; 2]);
    let t0 = lab.now();
    lab.crash(A);
    lab.run_for(Duration::from_secs(60));
    let dead = membership_notice(&lab, B, MembershipNotice::PeerDead(A)).expect("A declared dead");
    // Deadtime 30 s after the last heartbeat (keepalive 1 s).
    assert!(dead - t0 >= Duration::from_secs(29) && dead - t0 <= Duration::from_secs(31));
    assert_eq!(lab.node(B).replica().role(), Role::Primary);
    let svc = started(&lab, B, SERVICE).expect("service started on B");
    // Promote, then mount 2 s, address 1 s, then the service starts.
    assert_eq!(svc - dead, Duration::from_secs(3));
    assert!(lab.processes(B).get(SERVICE).is_some_and(|p| p.running));
}

#[test]
fn a_software_failure_past_the_migration_threshold_moves_the_group_with_the_replica() {
    let mut lab = pair(&|c| c.group.migration_threshold = 1, [Duration::ZERO; 2]);
    lab.processes_mut(A).kill(SERVICE);
    lab.run_for(Duration::from_secs(30));
    // A demotes its replica, B promotes it and starts the service on the replicated data.
    assert_eq!(lab.node(A).replica().role(), Role::Secondary);
    assert_eq!(lab.node(B).replica().role(), Role::Primary);
    assert!(lab.processes(B).get(SERVICE).is_some_and(|p| p.running));
    let handed = first_time(&lab, A, |e| {
        *e == Effect::Event(GuestNotice::Resources(ResourceNotice::HandedOver))
    })
    .expect("A hands over");
    let b_primary = first_time(&lab, B, |e| {
        *e == Effect::Event(GuestNotice::Replica(
            model::replication::ReplicaNotice::Role(Role::Primary),
        ))
    })
    .expect("B promoted");
    assert!(handed <= b_primary, "A demotes before B promotes");
}

#[test]
fn without_fencing_a_partition_makes_both_guests_primary() {
    // The study's configuration (Heartbeat without STONITH): a correct model of an
    // unsafe configuration.
    let mut lab = pair(&|_| {}, [Duration::ZERO; 2]);
    lab.partition(A, B);
    lab.run_for(Duration::from_secs(60));
    assert_eq!(lab.node(A).replica().role(), Role::Primary);
    assert_eq!(lab.node(B).replica().role(), Role::Primary, "split brain");
    assert!(lab.processes(B).get(SERVICE).is_some_and(|p| p.running));
}

#[test]
fn with_stonith_the_survivor_fences_before_it_promotes_and_the_delay_breaks_the_shoot_out() {
    let stonith = |c: &mut GuestConfig| c.membership.stonith = true;
    let mut lab = pair(&stonith, [Duration::from_secs(5), Duration::ZERO]);
    lab.partition(A, B);
    lab.run_for(Duration::from_secs(60));
    // B's delay is shorter: B fences A, A is powered off before its own fence goes out.
    let fence = first_time(&lab, B, |e| *e == Effect::Fence(A)).expect("B fences A");
    assert!(!lab.is_up(A));
    assert!(lab.is_up(B));
    assert_eq!(first_time(&lab, A, |e| matches!(e, Effect::Fence(_))), None);
    let take_over = membership_notice(&lab, B, MembershipNotice::TakeOver).expect("take-over");
    assert!(fence < take_over, "fence before take-over");
    let promoted = first_time(&lab, B, |e| {
        *e == Effect::Event(GuestNotice::Replica(
            model::replication::ReplicaNotice::Role(Role::Primary),
        ))
    })
    .expect("B promoted");
    assert!(take_over <= promoted);
    assert_eq!(lab.node(B).replica().role(), Role::Primary);
}

#[test]
fn a_guest_restarted_from_its_metadata_rejoins_as_secondary_and_resyncs() {
    let mut lab = pair(&|c| c.group.auto_failback = false, [Duration::ZERO; 2]);
    lab.crash(A);
    lab.run_for(Duration::from_secs(60));
    assert_eq!(lab.node(B).replica().role(), Role::Primary);
    let meta = lab.persisted(A).cloned();
    let guest = Guest::restart(config(A, B, &|c| c.group.auto_failback = false), meta)
        .expect("valid configuration");
    lab.restart(A, guest);
    lab.command(
        A,
        GuestCommand::Boot {
            fence_delay: Duration::ZERO,
        },
    );
    lab.run_for(Duration::from_secs(40));
    assert_eq!(lab.node(A).replica().role(), Role::Secondary);
    assert_eq!(
        lab.node(A).replica().conn(),
        model::replication::ConnState::Connected
    );
    assert_eq!(lab.node(B).replica().role(), Role::Primary);
}

#[test]
fn a_software_failure_below_the_threshold_is_restarted_in_place() {
    let mut lab = pair(&|_| {}, [Duration::ZERO; 2]);
    let t0 = lab.now();
    lab.processes_mut(A).kill(SERVICE);
    lab.run_for(Duration::from_secs(30));
    let restart = started(&lab, A, SERVICE).expect("restarted on A");
    assert!(restart > t0);
    assert!(lab.processes(A).get(SERVICE).is_some_and(|p| p.running));
    // Nothing moved: the replica stays Primary on A and B runs nothing.
    assert_eq!(lab.node(A).replica().role(), Role::Primary);
    assert_eq!(lab.node(B).replica().role(), Role::Secondary);
    assert_eq!(started(&lab, B, SERVICE), None);
    // The mount and the address below the service were not touched.
    assert_eq!(started(&lab, A, FS), None);
    assert_eq!(started(&lab, A, IP), None);
}

#[test]
fn the_group_starts_left_to_right_when_the_peer_takes_over() {
    let mut lab = pair(&|_| {}, [Duration::ZERO; 2]);
    lab.crash(A);
    lab.run_for(Duration::from_secs(60));
    let promoted = first_time(&lab, B, |e| {
        *e == Effect::Event(GuestNotice::Replica(
            model::replication::ReplicaNotice::Role(Role::Primary),
        ))
    })
    .expect("replica promoted");
    let fs = started(&lab, B, FS).expect("mounted");
    let ip = started(&lab, B, IP).expect("address");
    let svc = started(&lab, B, SERVICE).expect("service");
    assert!(promoted <= fs && fs < ip && ip < svc);
}

/// Replication traffic 200 ms slower than the heartbeat ring: the resource managers'
/// handover overtakes DRBD's news that the old Primary demoted.
#[derive(Debug)]
struct SlowReplication;

impl model::testing::Timing for SlowReplication {
    fn message(&mut self, _: NodeId, _: NodeId, net: model::Net, base: Duration) -> Duration {
        if net == model::Net::Replication {
            base + Duration::from_millis(200)
        } else {
            base
        }
    }
}

#[test]
fn a_promotion_refused_while_the_peers_demotion_is_in_flight_is_retried() {
    let mut lab = pair(&|c| c.group.migration_threshold = 1, [Duration::ZERO; 2]);
    lab.set_timing(Box::new(SlowReplication));
    lab.processes_mut(A).kill(SERVICE);
    lab.run_for(Duration::from_secs(40));
    let refused = first_time(&lab, B, |e| {
        matches!(
            e,
            Effect::Event(GuestNotice::Replica(
                model::replication::ReplicaNotice::PromoteRefused(_)
            ))
        )
    })
    .expect("the first try is refused: B still sees A as Primary");
    let promoted = first_time(&lab, B, |e| {
        *e == Effect::Event(GuestNotice::Replica(
            model::replication::ReplicaNotice::Role(Role::Primary),
        ))
    })
    .expect("a later try succeeds");
    assert!(promoted > refused);
    assert!(
        promoted - refused <= Duration::from_secs(2),
        "retried 1 s later"
    );
    assert!(lab.processes(B).get(SERVICE).is_some_and(|p| p.running));
}

/// Protocol B, a Heartbeat take-over: A's write is acknowledged when B has received it;
/// B's disk takes 35 s, so when A crashes right after the acknowledgement and B takes
/// over after deadtime (30 s), the write is still on its way to B's disk. B must not be
/// promoted before it is there (DRBD writes the peer requests it received before the
/// connection is gone, so protocol B survives one crash of the Primary).
#[test]
fn a_heartbeat_take_over_under_protocol_b_waits_for_the_writes_the_peer_received() {
    use model::replication::{Protocol, ReplicaCommand, ReplicaNotice};
    let protocol_b = |c: &mut GuestConfig| c.replica.protocol = Protocol::B;
    let mut lab = pair(&protocol_b, [Duration::ZERO; 2]);
    lab.disk_mut(B).write_latency = Duration::from_secs(35);
    lab.command(
        A,
        GuestCommand::Replica(ReplicaCommand::Write {
            id: model::WriteId(1),
            block: 7,
            count: 1,
            data: model::Payload::from_u64(1),
        }),
    );
    lab.run_for(Duration::from_millis(10));
    assert_eq!(lab.acked(A), vec![model::WriteId(1)], "acked on RecvAck");
    let t0 = lab.now();
    lab.crash(A);
    lab.run_for(Duration::from_secs(60));
    let take_over = membership_notice(&lab, B, MembershipNotice::TakeOver).expect("B takes over");
    let promoted = first_time(&lab, B, |e| {
        *e == Effect::Event(GuestNotice::Replica(ReplicaNotice::Role(Role::Primary)))
    })
    .expect("B promoted");
    assert!(
        take_over - t0 < Duration::from_secs(33),
        "deadtime, not the disk"
    );
    assert!(
        promoted - t0 >= Duration::from_secs(34),
        "B was promoted {:?} after the crash, before its disk had the acknowledged write",
        promoted - t0
    );
    assert_eq!(
        lab.disk(B).block(7).and_then(|p| p.as_u64()),
        Some(1),
        "the acknowledged write is on the new Primary's disk"
    );
    assert!(lab.processes(B).get(SERVICE).is_some_and(|p| p.running));
}
