//! ipfail's hand-over between two composed guests: the node that lost its router gives
//! the group up, the peer takes it over. Heartbeat releases before the peer acquires
//! (`hb_standby`: the releasing node stops its resources, then tells the peer, which only
//! then starts them) and Pacemaker demotes before it promotes, so the peer must not
//! promote, mount or start anything until the giver has finished stopping.

use core::convert::Infallible;
use core::time::Duration;

use model::guest::{Guest, GuestCommand, GuestConfig, GuestMsg, GuestNotice, GuestTimer};
use model::machine::delegate;
use model::membership::{MembershipConfig, MembershipMsg, MembershipNotice, PingNode};
use model::replication::{ReplicaCommand, ReplicaConfig, ReplicaMeta, ReplicaNotice, Role};
use model::resources::{GroupConfig, ResourceKind, ResourceNotice as Rm, ResourceSpec};
use model::testing::{Cluster, VirtualDisk, VirtualProcess};
use model::{Compose, Effect, Input, Machine, Net, NodeId, OcfAction, ProcessId, Time};

const A: NodeId = NodeId(0);
const B: NodeId = NodeId(1);
const P: NodeId = NodeId(2);
const DRBD: ProcessId = ProcessId(1);
const FS: ProcessId = ProcessId(2);
const IP: ProcessId = ProcessId(3);
const SERVICE: ProcessId = ProcessId(4);

/// A guest or the router the guests ping (the harness runs machines of one type).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Node {
    Guest(Box<Guest>),
    Router(PingNode),
}

impl Compose<Guest> for Node {
    fn lift_msg(msg: GuestMsg) -> GuestMsg {
        msg
    }
    fn lift_timer(timer: GuestTimer) -> GuestTimer {
        timer
    }
    fn lift_meta(meta: ReplicaMeta) -> Option<ReplicaMeta> {
        Some(meta)
    }
    fn lift_notice(notice: GuestNotice) -> GuestNotice {
        notice
    }
}

impl Compose<PingNode> for Node {
    fn lift_msg(msg: MembershipMsg) -> GuestMsg {
        GuestMsg::Membership(msg)
    }
    fn lift_timer(timer: Infallible) -> GuestTimer {
        match timer {}
    }
    fn lift_meta((): ()) -> Option<ReplicaMeta> {
        None
    }
    fn lift_notice(notice: Infallible) -> GuestNotice {
        match notice {}
    }
}

impl Machine for Node {
    type Msg = GuestMsg;
    type Timer = GuestTimer;
    type Command = GuestCommand;
    type Meta = ReplicaMeta;
    type Notice = GuestNotice;

    fn net(msg: &GuestMsg) -> Net {
        Guest::net(msg)
    }

    fn handle(&mut self, now: Time, input: Input<Self>, out: &mut Vec<Effect<Self>>) {
        match self {
            Node::Guest(g) => {
                let input = match input {
                    Input::Recv { from, msg } => Input::Recv { from, msg },
                    Input::Timer(t) => Input::Timer(t),
                    Input::Disk(d) => Input::Disk(d),
                    Input::HandlerDone(h) => Input::HandlerDone(h),
                    Input::Process(p) => Input::Process(p),
                    Input::FenceDone { node, success } => Input::FenceDone { node, success },
                    Input::Command(c) => Input::Command(c),
                };
                delegate(&mut **g, now, input, out);
            }
            Node::Router(r) => {
                if let Input::Recv {
                    from,
                    msg: GuestMsg::Membership(msg),
                } = input
                {
                    delegate(r, now, Input::Recv { from, msg }, out);
                }
            }
        }
    }
}

type Lab = Cluster<Node>;

fn guest(lab: &Lab, n: NodeId) -> &Guest {
    match lab.node(n) {
        Node::Guest(g) => g,
        Node::Router(_) => panic!("{n} is the router"),
    }
}

fn config(me: NodeId, peer: NodeId) -> GuestConfig {
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
    GuestConfig {
        replica: ReplicaConfig::new(me, peer, 1024),
        membership: MembershipConfig {
            ping_nodes: vec![P],
            ..MembershipConfig::heartbeat(me, peer)
        },
        group: GroupConfig::new(me, peer, A, resources),
    }
}

/// Two booted guests and their router; A runs the group. The service takes `stop` to
/// stop (mount 2 s / unmount 0.5 s, address 1 s / 0.1 s, service start 3 s).
fn pair(stop: Duration) -> Lab {
    let mut lab = Lab::new();
    lab.add(P, Node::Router(PingNode::new(P)), VirtualDisk::default());
    for (me, peer) in [(A, B), (B, A)] {
        let g = Guest::new(config(me, peer)).expect("valid guest configuration");
        lab.add(
            me,
            Node::Guest(Box::new(g)),
            VirtualDisk::new(Duration::from_millis(1)),
        );
        let p = lab.processes_mut(me);
        let ms = Duration::from_millis;
        p.add(FS, VirtualProcess::new(ms(2000), ms(500), ms(100)));
        p.add(IP, VirtualProcess::new(ms(1000), ms(100), ms(100)));
        p.add(SERVICE, VirtualProcess::new(ms(3000), stop, ms(100)));
    }
    // The initial sync: A forced Primary before the cluster stack starts, then demoted.
    lab.command(
        A,
        GuestCommand::Replica(ReplicaCommand::Promote { force: true }),
    );
    for n in [A, B] {
        lab.command(
            n,
            GuestCommand::Replica(ReplicaCommand::Connect {
                discard_my_data: false,
            }),
        );
    }
    lab.run_for(Duration::from_secs(2));
    lab.command(A, GuestCommand::Replica(ReplicaCommand::Demote));
    lab.run_for(Duration::from_millis(10));
    for n in [A, B] {
        lab.command(
            n,
            GuestCommand::Boot {
                fence_delay: Duration::ZERO,
            },
        );
    }
    lab.run_for(Duration::from_secs(20));
    assert_eq!(guest(&lab, A).replica().role(), Role::Primary, "A runs it");
    assert!(lab.processes(A).get(SERVICE).is_some_and(|p| p.running));
    lab.take_records();
    lab
}

fn first_time(lab: &Lab, n: NodeId, pred: impl Fn(&Effect<Node>) -> bool) -> Option<Time> {
    lab.records()
        .iter()
        .find(|r| r.node == n && pred(&r.effect))
        .map(|r| r.time)
}

fn replica_notice(lab: &Lab, n: NodeId, pred: impl Fn(&ReplicaNotice) -> bool) -> Option<Time> {
    first_time(
        lab,
        n,
        |e| matches!(e, Effect::Event(GuestNotice::Replica(r)) if pred(r)),
    )
}

fn rm_notice(lab: &Lab, n: NodeId, want: Rm) -> Option<Time> {
    first_time(lab, n, |e| {
        *e == Effect::Event(GuestNotice::Resources(want.clone()))
    })
}

#[test]
fn the_peer_takes_the_group_over_only_after_the_giver_has_stopped_it() {
    // A's Apache takes 15 s to stop (within the 20 s operation timeout).
    let mut lab = pair(Duration::from_secs(15));
    // A loses its router; the heartbeat ring and the replication link are fine.
    lab.partition_net(A, P, Net::Public);
    lab.run_for(Duration::from_secs(120));

    let gave_up = first_time(&lab, A, |e| {
        *e == Effect::Event(GuestNotice::Membership(MembershipNotice::GiveUp))
    })
    .expect("A gives up (ipfail)");
    let took_over = first_time(&lab, B, |e| {
        *e == Effect::Event(GuestNotice::Membership(MembershipNotice::TakeOver))
    })
    .expect("B is told to take over");
    let a_stopped = rm_notice(&lab, A, Rm::GroupStopped).expect("A stops the group");
    let a_demoted =
        replica_notice(&lab, A, |r| *r == ReplicaNotice::Role(Role::Secondary)).expect("A demotes");
    assert!(gave_up <= took_over && took_over < a_stopped);
    assert!(
        a_stopped - gave_up >= Duration::from_secs(15),
        "the slow stop"
    );

    // B tries nothing before A has released the group: no promotion attempt (refused or
    // not) and no other start before A's demotion.
    let b_first_try = replica_notice(&lab, B, |r| {
        matches!(
            r,
            ReplicaNotice::Role(Role::Primary) | ReplicaNotice::PromoteRefused(_)
        )
    })
    .expect("B promotes");
    assert!(
        b_first_try > a_demoted,
        "B tried to promote at {b_first_try:?}, A demoted only at {a_demoted:?}"
    );
    assert_eq!(
        replica_notice(&lab, B, |r| matches!(r, ReplicaNotice::PromoteRefused(_))),
        None,
        "no refused promotion"
    );
    let b_mount = first_time(
        &lab,
        B,
        |e| matches!(e, Effect::Process(p) if p.process == FS && p.action == OcfAction::Start),
    )
    .expect("B mounts");
    assert!(b_mount > a_stopped);
    assert_eq!(guest(&lab, B).replica().role(), Role::Primary);
    assert!(lab.processes(B).get(SERVICE).is_some_and(|p| p.running));
    assert!(!lab.processes(A).get(SERVICE).is_some_and(|p| p.running));
}
