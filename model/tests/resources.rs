//! The resource manager: two nodes A (preferred) and B, each with the group
//! `drbddisk::r0 Filesystem IPaddr2 apache` as virtual processes; timelines of OCF
//! requests, notices and handovers under failures.
//!
//! Durations of the virtual actions: promote/demote 1 s, file system start 2 s / stop 1 s,
//! address 1 s / 1 s, service start 3 s / stop 2 s, every monitor 100 ms; the network
//! between the managers takes 1 ms. So a group started at t = 0 issues
//! promote at 0 s, mount at 1 s, address at 3 s, service at 4 s, and runs at 7 s.
//!
//! The harness does not record `Effect::Process`, so the managers run inside `Traced`,
//! which copies every OCF request into a notice at the moment it is issued.

use core::time::Duration;

use model::resources::{
    GroupConfig, GroupPhase, PeerStatus, ResourceCommand, ResourceKind, ResourceManager,
    ResourceMsg, ResourceNotice, ResourceSpec, ResourceTimer,
};
use model::testing::{Cluster, FenceBehaviour, VirtualDisk, VirtualNetwork, VirtualProcess};
use model::{
    Compose, Effect, Input, Machine, Net, NodeId, OcfAction, OcfExit, ProcessEvent, ProcessId,
    ProcessRequest, Time,
};

const A: NodeId = NodeId(0);
const B: NodeId = NodeId(1);
const DRBD: ProcessId = ProcessId(1);
const FS: ProcessId = ProcessId(2);
const IP: ProcessId = ProcessId(3);
const SVC: ProcessId = ProcessId(4);

use OcfAction::{Demote, Promote, Start, Stop};
use ResourceCommand as Cmd;

/// A resource manager whose OCF requests show up in the harness' records.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Traced(ResourceManager);

/// A notice of the manager, or one of its OCF requests.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Seen {
    Notice(ResourceNotice),
    Request(ProcessRequest),
}

impl Compose<ResourceManager> for Traced {
    fn lift_msg(msg: ResourceMsg) -> ResourceMsg {
        msg
    }
    fn lift_timer(timer: ResourceTimer) -> ResourceTimer {
        timer
    }
    fn lift_meta((): ()) -> Option<()> {
        Some(())
    }
    fn lift_notice(notice: ResourceNotice) -> Seen {
        Seen::Notice(notice)
    }
}

impl Machine for Traced {
    type Msg = ResourceMsg;
    type Timer = ResourceTimer;
    type Command = ResourceCommand;
    type Meta = ();
    type Notice = Seen;

    fn net(msg: &ResourceMsg) -> Net {
        ResourceManager::net(msg)
    }

    fn handle(&mut self, now: Time, input: Input<Self>, out: &mut Vec<Effect<Self>>) {
        let input = match input {
            Input::Recv { from, msg } => Input::Recv { from, msg },
            Input::Timer(t) => Input::Timer(t),
            Input::Disk(d) => Input::Disk(d),
            Input::HandlerDone(h) => Input::HandlerDone(h),
            Input::Process(p) => Input::Process(p),
            Input::FenceDone { node, success } => Input::FenceDone { node, success },
            Input::Command(c) => Input::Command(c),
        };
        let mut inner = Vec::new();
        self.0.handle(now, input, &mut inner);
        for effect in inner {
            if let Effect::Process(p) = &effect {
                out.push(Effect::Event(Seen::Request(*p)));
            }
            out.extend(effect.lift());
        }
    }
}

type Lab = Cluster<Traced>;

fn rm(lab: &Lab, node: NodeId) -> &ResourceManager {
    &lab.node(node).0
}

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

fn ms(millis: u64) -> Time {
    Time::from_millis(millis)
}

fn config(me: NodeId, tweak: &dyn Fn(&mut GroupConfig)) -> GroupConfig {
    let peer = if me == A { B } else { A };
    let mut c = GroupConfig::new(
        me,
        peer,
        A,
        vec![
            ResourceSpec::new(DRBD, "drbddisk::r0", ResourceKind::Replica),
            ResourceSpec::new(
                FS,
                "Filesystem::/dev/drbd0::/mnt::ext4",
                ResourceKind::Filesystem,
            ),
            ResourceSpec::new(IP, "IPaddr2", ResourceKind::Address),
            ResourceSpec::new(SVC, "apache", ResourceKind::Service),
        ],
    );
    tweak(&mut c);
    c.validate().expect("test configuration is valid");
    c
}

/// The group's processes on `node`; the replica runs unpromoted (DRBD Secondary).
fn add_processes(lab: &mut Lab, node: NodeId) {
    let monitor = Duration::from_millis(100);
    let p = lab.processes_mut(node);
    p.add(
        DRBD,
        VirtualProcess {
            promote: s(1),
            running: true,
            ..VirtualProcess::new(s(1), s(1), monitor)
        },
    );
    p.add(FS, VirtualProcess::new(s(2), s(1), monitor));
    p.add(IP, VirtualProcess::new(s(1), s(1), monitor));
    p.add(SVC, VirtualProcess::new(s(3), s(2), monitor));
}

fn lab(tweak: &dyn Fn(&mut GroupConfig)) -> Lab {
    let mut lab = Lab::new();
    lab.net = VirtualNetwork::new(Duration::from_millis(1));
    for n in [A, B] {
        lab.add(
            n,
            Traced(ResourceManager::new(config(n, tweak))),
            VirtualDisk::new(Duration::from_millis(1)),
        );
        add_processes(&mut lab, n);
    }
    lab
}

/// Both nodes up and aware of each other, A running the group from t = 0 (at 7 s).
fn running_pair(tweak: &dyn Fn(&mut GroupConfig)) -> Lab {
    let mut lab = lab(tweak);
    for n in [A, B] {
        lab.command(n, Cmd::Start);
    }
    for n in [A, B] {
        lab.command(n, Cmd::PeerAlive);
    }
    lab
}

/// The start/stop/promote/demote requests of `node` (monitors left out), with their times.
fn requests(lab: &Lab, node: NodeId) -> Vec<(Time, ProcessId, OcfAction)> {
    lab.records()
        .iter()
        .filter(|r| r.node == node)
        .filter_map(|r| match &r.effect {
            Effect::Event(Seen::Request(p)) if p.action != OcfAction::Monitor => {
                Some((r.time, p.process, p.action))
            }
            _ => None,
        })
        .collect()
}

fn requests_after(lab: &Lab, node: NodeId, t: Time) -> Vec<(Time, ProcessId, OcfAction)> {
    requests(lab, node)
        .into_iter()
        .filter(|(at, _, _)| *at > t)
        .collect()
}

/// The times of the monitors `node` ran on `id`.
fn monitors(lab: &Lab, node: NodeId, id: ProcessId) -> Vec<Time> {
    lab.records()
        .iter()
        .filter(|r| r.node == node)
        .filter_map(|r| match &r.effect {
            Effect::Event(Seen::Request(p))
                if p.action == OcfAction::Monitor && p.process == id =>
            {
                Some(r.time)
            }
            _ => None,
        })
        .collect()
}

/// When `node` first emitted `notice`.
fn noticed(lab: &Lab, node: NodeId, notice: &ResourceNotice) -> Option<Time> {
    lab.records()
        .iter()
        .find(|r| r.node == node && r.effect == Effect::Event(Seen::Notice(notice.clone())))
        .map(|r| r.time)
}

/// Every time `node` emitted `notice`.
fn noticed_all(lab: &Lab, node: NodeId, notice: &ResourceNotice) -> Vec<Time> {
    lab.records()
        .iter()
        .filter(|r| r.node == node && r.effect == Effect::Event(Seen::Notice(notice.clone())))
        .map(|r| r.time)
        .collect()
}

/// The manager's own notices (not the traced requests).
fn notices(lab: &Lab, node: NodeId) -> Vec<ResourceNotice> {
    lab.notices(node)
        .into_iter()
        .filter_map(|n| match n {
            Seen::Notice(n) => Some(n),
            Seen::Request(_) => None,
        })
        .collect()
}

fn fail_counts(lab: &Lab, node: NodeId) -> Vec<(ProcessId, u32)> {
    notices(lab, node)
        .into_iter()
        .filter_map(|n| match n {
            ResourceNotice::FailCount { id, count } => Some((id, count)),
            _ => None,
        })
        .collect()
}

/// The group, started on `node` at `t0` seconds plus `ms0` milliseconds.
fn started_at(t0_ms: u64) -> Vec<(Time, ProcessId, OcfAction)> {
    vec![
        (ms(t0_ms), DRBD, Promote),
        (ms(t0_ms + 1000), FS, Start),
        (ms(t0_ms + 3000), IP, Start),
        (ms(t0_ms + 4000), SVC, Start),
    ]
}

/// The group, stopped starting at `t0_ms`.
fn stopped_at(t0_ms: u64) -> Vec<(Time, ProcessId, OcfAction)> {
    vec![
        (ms(t0_ms), SVC, Stop),
        (ms(t0_ms + 2000), IP, Stop),
        (ms(t0_ms + 3000), FS, Stop),
        (ms(t0_ms + 4000), DRBD, Demote),
    ]
}

fn promoted(lab: &Lab, node: NodeId) -> bool {
    lab.processes(node).get(DRBD).is_some_and(|p| p.promoted)
}

#[test]
fn the_group_starts_left_to_right_and_give_up_stops_it_right_to_left() {
    let mut lab = lab(&|_| {});
    lab.command(A, Cmd::Start);
    lab.command(B, Cmd::Start);
    lab.run_until(Time::from_secs(20));
    assert_eq!(requests(&lab, A), started_at(0));
    assert_eq!(
        noticed(&lab, A, &ResourceNotice::GroupStarted),
        Some(Time::from_secs(7))
    );
    assert!(promoted(&lab, A));
    assert_eq!(requests(&lab, B), vec![], "the other node stays passive");

    lab.command(A, Cmd::GiveUp);
    lab.run_until(Time::from_secs(60));
    assert_eq!(requests_after(&lab, A, ms(7000)), stopped_at(20_000));
    assert_eq!(
        noticed(&lab, A, &ResourceNotice::GroupStopped),
        Some(Time::from_secs(25))
    );
    assert!(!promoted(&lab, A), "the replica is demoted");
    assert!(lab.processes(A).get(DRBD).is_some_and(|p| p.running));
    assert_eq!(rm(&lab, A).phase(), GroupPhase::Stopped);
    // Standing by: no restart without Start or TakeOver.
    assert_eq!(requests_after(&lab, A, ms(24_000)), vec![]);
    lab.command(A, Cmd::Start);
    lab.run_for(s(10));
    assert_eq!(requests_after(&lab, A, ms(24_000)), started_at(60_000));
}

#[test]
fn give_up_during_the_start_waits_for_the_running_action_then_stops_in_reverse() {
    let mut lab = lab(&|_| {});
    lab.command(A, Cmd::Start);
    lab.run_until(Time::from_secs(2));
    lab.command(A, Cmd::GiveUp);
    lab.run_until(Time::from_secs(30));
    assert_eq!(
        requests(&lab, A),
        vec![
            (ms(0), DRBD, Promote),
            (ms(1000), FS, Start),
            (ms(3000), FS, Stop),
            (ms(4000), DRBD, Demote),
        ]
    );
    assert_eq!(
        noticed(&lab, A, &ResourceNotice::GroupStopped),
        Some(Time::from_secs(5))
    );
    assert_eq!(noticed(&lab, A, &ResourceNotice::GroupStarted), None);
}

#[test]
fn both_nodes_up_the_preferred_node_starts_once_it_knows_the_peer_is_passive() {
    let mut lab = lab(&|_| {});
    for n in [A, B] {
        lab.command(n, Cmd::PeerAlive);
    }
    for n in [A, B] {
        lab.command(n, Cmd::Start);
    }
    lab.run_until(Time::from_secs(30));
    assert_eq!(requests(&lab, A), started_at(1));
    assert_eq!(requests(&lab, B), vec![]);
    assert_eq!(
        rm(&lab, B).peer_status(),
        Some(PeerStatus {
            active: true,
            eligible: true
        })
    );
}

#[test]
fn started_resources_are_monitored_at_their_agents_intervals() {
    let mut lab = running_pair(&|_| {});
    lab.run_until(Time::from_secs(45));
    // Each interval runs from the previous monitor's answer (100 ms later), as
    // pacemaker-execd reschedules a recurring operation when it finishes.
    let at = |v: &[u64]| v.iter().map(|&x| ms(x)).collect::<Vec<_>>();
    assert_eq!(
        monitors(&lab, A, DRBD),
        at(&[11_000, 21_100, 31_200, 41_300])
    );
    assert_eq!(monitors(&lab, A, FS), at(&[23_000, 43_100]));
    assert_eq!(monitors(&lab, A, IP), at(&[14_000, 24_100, 34_200, 44_300]));
    assert_eq!(monitors(&lab, A, SVC), at(&[17_000, 27_100, 37_200]));
    assert_eq!(monitors(&lab, B, SVC), vec![], "nothing runs on B");
}

#[test]
fn a_killed_service_is_restarted_then_the_group_moves_at_the_migration_threshold() {
    let mut lab = running_pair(&|c| c.migration_threshold = 2);
    lab.run_until(Time::from_secs(10));
    lab.processes_mut(A).kill(SVC);
    lab.run_until(Time::from_secs(25));
    // The monitor at 17 s finds it dead (17.1 s): stop, then start, only the service.
    assert_eq!(
        noticed(
            &lab,
            A,
            &ResourceNotice::MonitorFailed {
                id: SVC,
                exit: OcfExit::NotRunning
            }
        ),
        Some(ms(17_100))
    );
    assert_eq!(
        requests_after(&lab, A, ms(7000)),
        vec![(ms(17_100), SVC, Stop), (ms(19_100), SVC, Start)]
    );
    assert_eq!(
        noticed_all(&lab, A, &ResourceNotice::GroupStarted),
        vec![Time::from_secs(7), ms(22_100)]
    );
    assert_eq!(
        noticed(&lab, A, &ResourceNotice::Restarting(SVC)),
        Some(ms(17_100))
    );
    assert_eq!(rm(&lab, A).fail_count(SVC), Some(1));

    // The second failure (monitor at 32.1 s) reaches the threshold: the group moves.
    lab.processes_mut(A).kill(SVC);
    lab.run_until(Time::from_secs(60));
    assert_eq!(fail_counts(&lab, A), vec![(SVC, 1), (SVC, 2)]);
    assert_eq!(
        noticed(&lab, A, &ResourceNotice::MigrationThresholdReached(SVC)),
        Some(ms(32_200))
    );
    assert_eq!(requests_after(&lab, A, ms(20_000)), stopped_at(32_200));
    assert_eq!(
        noticed(&lab, A, &ResourceNotice::HandedOver),
        Some(ms(37_200))
    );
    assert_eq!(requests(&lab, B), started_at(37_201));
    // The replica is demoted here (36.2 s, done 37.2 s) before the peer promotes it.
    let demoted = requests(&lab, A)
        .into_iter()
        .find(|r| r.2 == Demote)
        .map(|r| r.0);
    let promoted_b = requests(&lab, B).first().map(|r| r.0);
    assert!(demoted < promoted_b && demoted.is_some());
    assert!(!promoted(&lab, A));
    assert!(promoted(&lab, B));
    assert_eq!(
        noticed(&lab, B, &ResourceNotice::GroupStarted),
        Some(ms(44_201))
    );
    assert!(!rm(&lab, A).is_eligible());
}

/// Kills the service at 10 s and at 80 s with migration-threshold 2.
fn two_failures_70_s_apart(failure_timeout: Duration) -> Lab {
    let mut lab = running_pair(&|c| {
        c.migration_threshold = 2;
        c.failure_timeout = failure_timeout;
    });
    lab.run_until(Time::from_secs(10));
    lab.processes_mut(A).kill(SVC);
    lab.run_until(Time::from_secs(80));
    lab.processes_mut(A).kill(SVC);
    lab.run_until(Time::from_secs(120));
    lab
}

#[test]
fn failure_timeout_expires_the_fail_count_so_a_later_failure_restarts_in_place() {
    let lab = two_failures_70_s_apart(s(60));
    // First failure at 17.1 s, forgotten 60 s later.
    assert_eq!(
        noticed(&lab, A, &ResourceNotice::FailCountExpired(SVC)),
        Some(ms(77_100))
    );
    // The second (found by the monitor at 82.6 s, the 100 ms monitors having shifted the
    // 10 s cadence) counts as the first again: restart, no move.
    assert_eq!(fail_counts(&lab, A), vec![(SVC, 1), (SVC, 1)]);
    assert_eq!(
        noticed_all(&lab, A, &ResourceNotice::Restarting(SVC)),
        vec![ms(17_100), ms(82_700)]
    );
    assert_eq!(noticed(&lab, A, &ResourceNotice::HandedOver), None);
    assert_eq!(requests(&lab, B), vec![]);
    assert_eq!(rm(&lab, A).phase(), GroupPhase::Started);

    // Without failure-timeout the same two failures move the group.
    let lab = two_failures_70_s_apart(Duration::ZERO);
    assert_eq!(fail_counts(&lab, A), vec![(SVC, 1), (SVC, 2)]);
    assert_eq!(
        noticed(&lab, A, &ResourceNotice::HandedOver),
        Some(ms(87_700))
    );
    assert_eq!(requests(&lab, B), started_at(87_701));
}

#[test]
fn a_failed_start_with_start_failure_is_fatal_moves_the_group_at_once() {
    let mut lab = lab(&|_| {});
    if let Some(p) = lab.processes_mut(A).get_mut(SVC) {
        p.start_result = Some(OcfExit::ErrGeneric);
    }
    for n in [A, B] {
        lab.command(n, Cmd::Start);
        lab.command(n, Cmd::PeerAlive);
    }
    lab.run_until(Time::from_secs(40));
    assert_eq!(
        noticed(
            &lab,
            A,
            &ResourceNotice::StartFailed {
                id: SVC,
                exit: OcfExit::ErrGeneric
            }
        ),
        Some(Time::from_secs(7))
    );
    assert_eq!(fail_counts(&lab, A), vec![(SVC, u32::MAX)]);
    let mut expected = started_at(0);
    expected.extend(stopped_at(7000));
    assert_eq!(
        requests(&lab, A),
        expected,
        "one start, then stop everything"
    );
    assert_eq!(requests(&lab, B), started_at(12_001));
    assert_eq!(
        noticed(&lab, B, &ResourceNotice::GroupStarted),
        Some(ms(19_001))
    );
}

#[test]
fn without_start_failure_is_fatal_a_failing_start_is_retried_up_to_the_threshold() {
    let mut lab = lab(&|c| {
        c.start_failure_is_fatal = false;
        c.migration_threshold = 3;
    });
    if let Some(p) = lab.processes_mut(A).get_mut(SVC) {
        p.start_result = Some(OcfExit::ErrGeneric);
        p.start_fails_always = true;
    }
    for n in [A, B] {
        lab.command(n, Cmd::Start);
        lab.command(n, Cmd::PeerAlive);
    }
    lab.run_until(Time::from_secs(60));
    let svc: Vec<_> = requests(&lab, A)
        .into_iter()
        .filter(|r| r.1 == SVC)
        .collect();
    assert_eq!(
        svc,
        vec![
            (ms(4000), SVC, Start),
            (ms(7000), SVC, Stop),
            (ms(9000), SVC, Start),
            (ms(12_000), SVC, Stop),
            (ms(14_000), SVC, Start),
            (ms(17_000), SVC, Stop),
        ]
    );
    assert_eq!(fail_counts(&lab, A), vec![(SVC, 1), (SVC, 2), (SVC, 3)]);
    assert_eq!(requests(&lab, B), started_at(22_001));
}

#[test]
fn a_hard_error_bans_the_node_and_moves_until_cleanup() {
    let mut lab = lab(&|c| c.start_failure_is_fatal = false);
    if let Some(p) = lab.processes_mut(A).get_mut(SVC) {
        p.start_result = Some(OcfExit::ErrInstalled);
    }
    for n in [A, B] {
        lab.command(n, Cmd::Start);
        lab.command(n, Cmd::PeerAlive);
    }
    lab.run_until(Time::from_secs(30));
    assert_eq!(
        noticed(
            &lab,
            A,
            &ResourceNotice::Banned {
                id: SVC,
                exit: OcfExit::ErrInstalled
            }
        ),
        Some(Time::from_secs(7))
    );
    // Not a soft failure: no retry here, no fail count.
    assert_eq!(noticed(&lab, A, &ResourceNotice::Restarting(SVC)), None);
    assert_eq!(fail_counts(&lab, A), vec![]);
    assert!(rm(&lab, A).is_banned());
    assert_eq!(requests_after(&lab, A, ms(4000)), stopped_at(7000));
    assert_eq!(requests(&lab, B), started_at(12_001));
    // auto_failback does not bring it back to a banned node...
    assert_eq!(
        rm(&lab, B).peer_status(),
        Some(PeerStatus {
            active: false,
            eligible: false
        })
    );
    assert_eq!(requests_after(&lab, B, ms(16_001)), vec![]);
    // ...until the operator cleans the ban up.
    lab.command(A, Cmd::Cleanup);
    lab.run_until(Time::from_secs(60));
    assert_eq!(
        noticed(&lab, B, &ResourceNotice::FailingBack),
        Some(ms(30_001))
    );
    assert_eq!(requests_after(&lab, B, ms(16_001)), stopped_at(30_001));
    assert_eq!(requests_after(&lab, A, ms(12_000)), started_at(35_002));
}

#[test]
fn a_hard_error_from_a_monitor_bans_the_node_and_the_late_real_answer_is_ignored() {
    let mut lab = running_pair(&|_| {});
    // The service's monitor is issued at 17 s; its agent answers "permission denied"
    // at once, before the harness' own answer (17.1 s), which is then stale.
    lab.run_until(Time::from_secs(17));
    let call = lab
        .records()
        .iter()
        .rev()
        .find_map(|r| match &r.effect {
            Effect::Event(Seen::Request(p))
                if p.process == SVC && p.action == OcfAction::Monitor =>
            {
                Some(p.call)
            }
            _ => None,
        })
        .expect("a monitor of the service at 17 s");
    lab.input(
        A,
        Input::Process(ProcessEvent {
            process: SVC,
            action: OcfAction::Monitor,
            call,
            exit: OcfExit::ErrPerm,
        }),
    );
    lab.run_until(Time::from_secs(40));
    let failed: Vec<_> = notices(&lab, A)
        .into_iter()
        .filter(|n| matches!(n, ResourceNotice::MonitorFailed { .. }))
        .collect();
    assert_eq!(
        failed,
        vec![ResourceNotice::MonitorFailed {
            id: SVC,
            exit: OcfExit::ErrPerm
        }]
    );
    assert!(rm(&lab, A).is_banned());
    assert_eq!(requests_after(&lab, A, ms(7000)), stopped_at(17_000));
    assert_eq!(requests(&lab, B), started_at(22_001));
}

#[test]
fn a_fatal_error_stops_the_group_and_it_runs_nowhere() {
    let mut lab = lab(&|_| {});
    if let Some(p) = lab.processes_mut(A).get_mut(SVC) {
        p.start_result = Some(OcfExit::ErrConfigured);
    }
    for n in [A, B] {
        lab.command(n, Cmd::Start);
        lab.command(n, Cmd::PeerAlive);
    }
    lab.run_until(Time::from_secs(20));
    let blocked = ResourceNotice::Blocked {
        id: SVC,
        exit: OcfExit::ErrConfigured,
    };
    assert_eq!(noticed(&lab, A, &blocked), Some(Time::from_secs(7)));
    assert_eq!(requests_after(&lab, A, ms(4000)), stopped_at(7000));
    assert_eq!(
        noticed(&lab, A, &ResourceNotice::GroupStopped),
        Some(Time::from_secs(12))
    );
    assert_eq!(noticed(&lab, A, &ResourceNotice::HandedOver), None);
    // The peer heard of it and refuses the group even when told to take over.
    assert_eq!(noticed(&lab, B, &blocked), Some(ms(7001)));
    assert!(rm(&lab, B).is_blocked());
    lab.crash(A);
    lab.command(B, Cmd::PeerDead);
    lab.command(B, Cmd::TakeOver);
    lab.run_until(Time::from_secs(60));
    assert_eq!(
        noticed(&lab, B, &ResourceNotice::CannotRun),
        Some(Time::from_secs(20))
    );
    assert_eq!(requests(&lab, B), vec![]);
}

#[test]
fn a_failed_stop_fences_the_node_which_then_does_nothing_more() {
    let mut lab = running_pair(&|_| {});
    lab.fencing = FenceBehaviour::Fails(s(1));
    if let Some(p) = lab.processes_mut(A).get_mut(SVC) {
        p.stop_result = Some(OcfExit::ErrGeneric);
    }
    lab.run_until(Time::from_secs(10));
    lab.command(A, Cmd::GiveUp);
    lab.run_until(Time::from_secs(100));
    assert_eq!(
        noticed(
            &lab,
            A,
            &ResourceNotice::StopFailed {
                id: SVC,
                exit: OcfExit::ErrGeneric
            }
        ),
        Some(Time::from_secs(12))
    );
    let fences: Vec<_> = lab
        .records()
        .iter()
        .filter(|r| r.effect == Effect::Fence(A))
        .map(|r| (r.time, r.node))
        .collect();
    assert_eq!(fences, vec![(Time::from_secs(12), A)]);
    // No further action: the address, mount and replica stay as they are, and no
    // monitor runs any more (the replica's would have run at 21 s, 31 s, ...).
    assert_eq!(
        requests_after(&lab, A, ms(7000)),
        vec![(ms(10_000), SVC, Stop)]
    );
    assert!(
        monitors(&lab, A, DRBD)
            .iter()
            .all(|&t| t < Time::from_secs(12))
    );
    assert_eq!(rm(&lab, A).phase(), GroupPhase::Fenced);
    assert!(promoted(&lab, A));
}

#[test]
fn a_hung_stop_times_out_and_fences_the_node() {
    let mut lab = running_pair(&|_| {});
    lab.run_until(Time::from_secs(10));
    if let Some(p) = lab.processes_mut(A).get_mut(SVC) {
        p.hung = true;
    }
    lab.command(A, Cmd::GiveUp);
    lab.run_until(Time::from_secs(30) + Duration::from_millis(500));
    assert_eq!(
        noticed(
            &lab,
            A,
            &ResourceNotice::StopFailed {
                id: SVC,
                exit: OcfExit::Timeout
            }
        ),
        Some(Time::from_secs(30))
    );
    assert!(lab.is_up(A), "the fence takes 1 s");
    lab.run_until(Time::from_secs(32));
    assert!(!lab.is_up(A), "fenced at 31 s");
}

#[test]
fn a_hung_start_times_out_after_op_timeout_and_moves_the_group() {
    let mut lab = lab(&|_| {});
    if let Some(p) = lab.processes_mut(A).get_mut(FS) {
        p.hung = true;
    }
    for n in [A, B] {
        lab.command(n, Cmd::Start);
        lab.command(n, Cmd::PeerAlive);
    }
    lab.run_until(Time::from_secs(1));
    // The mount was requested at 1 s and will never answer; its stop will.
    if let Some(p) = lab.processes_mut(A).get_mut(FS) {
        p.hung = false;
    }
    lab.run_until(Time::from_secs(40));
    assert_eq!(
        noticed(
            &lab,
            A,
            &ResourceNotice::StartFailed {
                id: FS,
                exit: OcfExit::Timeout
            }
        ),
        Some(Time::from_secs(21))
    );
    assert_eq!(
        requests(&lab, A),
        vec![
            (ms(0), DRBD, Promote),
            (ms(1000), FS, Start),
            (ms(21_000), FS, Stop),
            (ms(22_000), DRBD, Demote),
        ]
    );
    assert_eq!(requests(&lab, B), started_at(23_001));
}

#[test]
fn take_over_on_the_passive_node_starts_the_group() {
    let mut lab = running_pair(&|_| {});
    lab.run_until(Time::from_secs(10));
    lab.crash(A);
    lab.run_until(Time::from_secs(12));
    lab.command(B, Cmd::PeerDead);
    lab.run_until(Time::from_secs(15));
    assert_eq!(requests(&lab, B), vec![], "PeerDead alone starts nothing");
    lab.command(B, Cmd::TakeOver);
    lab.run_until(Time::from_secs(30));
    assert_eq!(requests(&lab, B), started_at(15_000));
    assert_eq!(
        noticed(&lab, B, &ResourceNotice::GroupStarted),
        Some(Time::from_secs(22))
    );
}

/// A runs the group, crashes at 10 s; B takes over at 12 s (runs at 19 s); A boots again
/// at 30 s and rejoins.
fn failover_and_return(auto_failback: bool) -> Lab {
    let mut lab = running_pair(&|c| c.auto_failback = auto_failback);
    lab.run_until(Time::from_secs(10));
    lab.crash(A);
    lab.run_until(Time::from_secs(12));
    lab.command(B, Cmd::PeerDead);
    lab.command(B, Cmd::TakeOver);
    lab.run_until(Time::from_secs(30));
    lab.restart(
        A,
        Traced(ResourceManager::new(config(A, &|c| {
            c.auto_failback = auto_failback
        }))),
    );
    // The replica attaches as Secondary at boot.
    if let Some(p) = lab.processes_mut(A).get_mut(DRBD) {
        p.running = true;
    }
    lab.command(A, Cmd::PeerAlive);
    lab.command(A, Cmd::Start);
    lab.command(B, Cmd::PeerAlive);
    lab.run_until(Time::from_secs(60));
    lab
}

#[test]
fn auto_failback_on_hands_the_group_back_to_the_returning_preferred_node() {
    let lab = failover_and_return(true);
    assert_eq!(requests_after(&lab, B, ms(0)), {
        let mut v = started_at(12_000);
        v.extend(stopped_at(30_001));
        v
    });
    assert_eq!(
        noticed(&lab, B, &ResourceNotice::FailingBack),
        Some(ms(30_001))
    );
    assert_eq!(
        noticed(&lab, B, &ResourceNotice::HandedOver),
        Some(ms(35_001))
    );
    // B demotes (34.001 s, done 35.001 s) before A promotes (35.002 s).
    assert_eq!(requests_after(&lab, A, ms(30_000)), started_at(35_002));
    assert_eq!(
        noticed_all(&lab, A, &ResourceNotice::GroupStarted),
        vec![Time::from_secs(7), ms(42_002)]
    );
    assert!(promoted(&lab, A) && !promoted(&lab, B));
}

#[test]
fn auto_failback_off_leaves_the_group_where_it_runs() {
    let lab = failover_and_return(false);
    assert_eq!(requests(&lab, B), started_at(12_000));
    assert_eq!(noticed(&lab, B, &ResourceNotice::FailingBack), None);
    assert_eq!(requests_after(&lab, A, ms(30_000)), vec![]);
    assert_eq!(rm(&lab, B).phase(), GroupPhase::Started);
    assert_eq!(rm(&lab, A).phase(), GroupPhase::Stopped);
    assert!(promoted(&lab, B) && !promoted(&lab, A));
}

#[test]
fn after_a_partition_heals_the_node_that_is_not_preferred_yields() {
    let mut lab = running_pair(&|_| {});
    lab.run_until(Time::from_secs(10));
    lab.partition(A, B);
    for n in [A, B] {
        lab.command(n, Cmd::PeerDead);
    }
    lab.command(B, Cmd::TakeOver);
    lab.run_until(Time::from_secs(30));
    assert_eq!(rm(&lab, A).phase(), GroupPhase::Started);
    assert_eq!(rm(&lab, B).phase(), GroupPhase::Started);
    lab.heal(A, B);
    for n in [A, B] {
        lab.command(n, Cmd::PeerAlive);
    }
    lab.run_until(Time::from_secs(60));
    assert_eq!(
        noticed(&lab, B, &ResourceNotice::ActiveOnBoth),
        Some(ms(30_001))
    );
    assert!(noticed(&lab, A, &ResourceNotice::ActiveOnBoth).is_some());
    assert_eq!(requests_after(&lab, B, ms(20_000)), stopped_at(30_001));
    assert_eq!(requests_after(&lab, A, ms(7000)), vec![]);
    assert_eq!(rm(&lab, A).phase(), GroupPhase::Started);
    assert_eq!(rm(&lab, B).phase(), GroupPhase::Stopped);
}

#[test]
fn the_replica_monitor_expects_running_promoted() {
    let mut lab = running_pair(&|_| {});
    lab.run_until(Time::from_secs(8));
    // Demoted behind the manager's back: still running, no longer promoted.
    if let Some(p) = lab.processes_mut(A).get_mut(DRBD) {
        p.promoted = false;
    }
    lab.run_until(Time::from_secs(30));
    assert_eq!(
        noticed(
            &lab,
            A,
            &ResourceNotice::MonitorFailed {
                id: DRBD,
                exit: OcfExit::Success
            }
        ),
        Some(ms(11_100))
    );
    // The whole group sits on the replica: all of it restarts.
    let mut expected = stopped_at(11_100);
    expected.extend(started_at(16_100));
    assert_eq!(requests_after(&lab, A, ms(7000)), expected);
    assert_eq!(
        noticed_all(&lab, A, &ResourceNotice::GroupStarted),
        vec![Time::from_secs(7), ms(23_100)]
    );
    assert!(promoted(&lab, A));
}

/// The group on A with a file system whose start takes `fs_start`, under an op timeout
/// of `fs_timeout` for it.
fn with_fs_start(fs_start: Duration, fs_timeout: Duration) -> Lab {
    let mut lab = lab(&|c| c.resources[1].op_timeout = fs_timeout);
    if let Some(p) = lab.processes_mut(A).get_mut(FS) {
        p.start = fs_start;
    }
    for n in [A, B] {
        lab.command(n, Cmd::Start);
        lab.command(n, Cmd::PeerAlive);
    }
    lab.run_until(Time::from_secs(90));
    lab
}

fn svc_start(lab: &Lab, node: NodeId) -> Option<Time> {
    requests(lab, node)
        .into_iter()
        .find(|r| r.1 == SVC && r.2 == Start)
        .map(|r| r.0)
}

#[test]
fn a_40_s_fsck_delays_the_service_start_by_40_s() {
    // The Filesystem agent's advertised start timeout is 60 s.
    let quick = with_fs_start(s(2), s(60));
    let fsck = with_fs_start(s(42), s(60));
    assert_eq!(svc_start(&quick, A), Some(Time::from_secs(4)));
    assert_eq!(svc_start(&fsck, A), Some(Time::from_secs(44)));
    assert_eq!(
        noticed(&fsck, A, &ResourceNotice::GroupStarted),
        Some(Time::from_secs(47))
    );
    assert_eq!(requests(&fsck, B), vec![]);

    // Under Pacemaker's default op timeout (20 s) the same fsck fails the start at 21 s
    // and the group moves to B.
    let timed_out = with_fs_start(s(42), s(20));
    assert_eq!(
        noticed(
            &timed_out,
            A,
            &ResourceNotice::StartFailed {
                id: FS,
                exit: OcfExit::Timeout
            }
        ),
        Some(Time::from_secs(21))
    );
    assert_eq!(svc_start(&timed_out, A), None);
    assert_eq!(requests(&timed_out, B), started_at(23_001));
}

#[test]
fn answers_to_stale_calls_are_ignored() {
    let mut lab = running_pair(&|_| {});
    lab.run_until(Time::from_secs(10));
    let start_call = lab
        .records()
        .iter()
        .find_map(|r| match &r.effect {
            Effect::Event(Seen::Request(p)) if p.process == SVC && p.action == Start => {
                Some(p.call)
            }
            _ => None,
        })
        .expect("the service was started");
    for (action, call, exit) in [
        (Start, start_call, OcfExit::ErrGeneric),
        (OcfAction::Monitor, 9999, OcfExit::NotRunning),
        (OcfAction::Monitor, start_call, OcfExit::NotRunning),
    ] {
        lab.input(
            A,
            Input::Process(ProcessEvent {
                process: SVC,
                action,
                call,
                exit,
            }),
        );
    }
    lab.run_until(Time::from_secs(16));
    assert!(notices(&lab, A).iter().all(|n| !matches!(
        n,
        ResourceNotice::MonitorFailed { .. } | ResourceNotice::StartFailed { .. }
    )));
    assert_eq!(requests_after(&lab, A, ms(7000)), vec![]);
    assert_eq!(rm(&lab, A).phase(), GroupPhase::Started);
}

#[test]
fn give_up_with_the_peer_reachable_hands_the_group_over() {
    // ipfail: A lost its ping nodes, B did not; the ring between them still works.
    let mut lab = running_pair(&|_| {});
    lab.run_until(Time::from_secs(10));
    lab.command(A, Cmd::GiveUp);
    lab.run_until(Time::from_secs(40));
    assert_eq!(requests_after(&lab, A, ms(7000)), stopped_at(10_000));
    assert_eq!(
        noticed(&lab, A, &ResourceNotice::HandedOver),
        Some(ms(15_000))
    );
    assert_eq!(requests(&lab, B), started_at(15_001));
    // A stands by: with auto_failback on, B still keeps the group, since A is not
    // eligible until it is started again.
    assert_eq!(noticed(&lab, B, &ResourceNotice::FailingBack), None);
    assert!(!rm(&lab, A).is_eligible());
}

/// ipfail's hand-over as the membership layer delivers it: A (running the group) is told
/// `GiveUp`, and B, whose peer is alive and says it gave up, is told `TakeOver` at the
/// same moment. A's service takes 15 s to stop. Heartbeat releases before the peer
/// acquires (`hb_standby`: the releasing node stops its resources, then tells the peer)
/// and Pacemaker demotes before it promotes: B must not promote until A has demoted.
#[test]
fn take_over_from_a_live_peer_that_gives_up_waits_until_it_has_released_the_group() {
    let mut lab = running_pair(&|_| {});
    if let Some(p) = lab.processes_mut(A).get_mut(SVC) {
        p.stop = s(15);
    }
    lab.run_until(Time::from_secs(10));
    lab.command(A, Cmd::GiveUp);
    lab.command(B, Cmd::TakeOver);
    lab.run_until(Time::from_secs(60));
    // A: service 10-25 s, address 25-26 s, mount 26-27 s, demote 27-28 s.
    assert_eq!(
        requests_after(&lab, A, ms(7000)),
        vec![
            (ms(10_000), SVC, Stop),
            (ms(25_000), IP, Stop),
            (ms(26_000), FS, Stop),
            (ms(27_000), DRBD, Demote),
        ]
    );
    assert_eq!(
        noticed(&lab, A, &ResourceNotice::GroupStopped),
        Some(ms(28_000))
    );
    // B starts only once A's release reaches it, 1 ms later.
    assert_eq!(requests(&lab, B), started_at(28_001));
    assert!(promoted(&lab, B) && !promoted(&lab, A));
    assert_eq!(rm(&lab, B).phase(), GroupPhase::Started);
}

/// The same hand-over, but A dies while it releases the group: B's manager learns that
/// the peer is dead and waits for the membership layer's verdict on the failover (with
/// STONITH: after the fence) before it starts the group.
#[test]
fn a_hand_over_whose_giver_dies_half_way_waits_for_the_failover_take_over() {
    let mut lab = running_pair(&|_| {});
    if let Some(p) = lab.processes_mut(A).get_mut(SVC) {
        p.stop = s(15);
    }
    lab.run_until(Time::from_secs(10));
    lab.command(A, Cmd::GiveUp);
    lab.command(B, Cmd::TakeOver);
    lab.run_until(Time::from_secs(15));
    lab.crash(A);
    lab.run_until(Time::from_secs(20));
    lab.command(B, Cmd::PeerDead);
    lab.run_until(Time::from_secs(25));
    assert_eq!(
        requests(&lab, B),
        vec![],
        "nothing before the failover's TakeOver"
    );
    lab.command(B, Cmd::TakeOver);
    lab.run_until(Time::from_secs(40));
    assert_eq!(requests(&lab, B), started_at(25_000));
}
