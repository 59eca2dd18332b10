//! The VMware-style cluster layer (vSphere HA / FDM) in the harness: election, the
//! documented failure timelines (slave failure T+15 s / T+18 s, master failure T+35 s,
//! isolation T+30 s / T+60 s), partitions, local storage, restart priority and
//! concurrency, retries, and the VM locks that keep a VM from running twice.
//!
//! Timing: every agent boots at 0 and ticks every second, so heartbeats leave at whole
//! seconds and arrive `NET` later. A host failure at `x.5 s` is therefore noticed from
//! the last heartbeat, at `x s + NET`: the "T" of the documented timelines.

use std::collections::BTreeSet;
use std::sync::Arc;

use core::time::Duration;

use model::cluster::vmware::{
    AgentRole, Datastore, FdmAgent, HostStatus, IsolationAddress, VmwareConfig, VmwareNode,
};
use model::cluster::{
    ClusterCommand, ClusterNotice, IsolationAction, NotRestartable, RestartPriority,
    VmRestartLayer, VmSpec, VmStorage,
};
use model::testing::{Cluster, VirtualDisk, VirtualProcess};
use model::{Effect, Net, NodeId, OcfAction, OcfExit, ProcessId, Time};

const A: NodeId = NodeId(0);
const B: NodeId = NodeId(1);
const C: NodeId = NodeId(2);
const D1: NodeId = NodeId(10);
const D2: NodeId = NodeId(11);
const D3: NodeId = NodeId(12);
const GW: NodeId = NodeId(20);

/// One-way delay of every link.
const NET: Duration = Duration::from_millis(1);
/// How long a guest takes to boot.
const BOOT: Duration = Duration::from_secs(5);
/// How long a power-off takes.
const STOP: Duration = Duration::from_secs(1);

type Lab = Cluster<VmwareNode>;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn vm(id: u16, home: NodeId) -> VmSpec {
    VmSpec::new(ProcessId(id), format!("vm{id}"), home)
}

/// `hosts`, each mounting D1 and D2, the gateway as isolation address, one shared VM per
/// host (vm1 on A, vm2 on B, vm3 on C) unless `tweak` changes it.
fn config(hosts: &[NodeId], tweak: &dyn Fn(&mut VmwareConfig)) -> VmwareConfig {
    let mut cfg = VmwareConfig::new(hosts.iter().copied());
    for h in hosts {
        cfg.mounts.insert(*h, vec![D1, D2]);
    }
    cfg.isolation_address = Some(GW);
    cfg.vms = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| vm(i as u16 + 1, *h))
        .collect();
    tweak(&mut cfg);
    cfg.validate().expect("test configuration is valid");
    cfg
}

/// The cluster booted at 0 with every VM powered on at its home, run to 40.5 s (elected
/// at 15 s, settled at 25 s).
fn lab(hosts: &[NodeId], tweak: &dyn Fn(&mut VmwareConfig)) -> Lab {
    let cfg = Arc::new(config(hosts, tweak));
    let mut lab = Lab::new();
    lab.net = model::testing::VirtualNetwork::new(NET);
    for ds in cfg.datastores() {
        lab.add(
            ds,
            Datastore::new(cfg.timers.lock_lease).into(),
            VirtualDisk::new(NET),
        );
    }
    lab.add(GW, IsolationAddress.into(), VirtualDisk::new(NET));
    for h in hosts {
        lab.add(
            *h,
            FdmAgent::new(Arc::clone(&cfg), *h).into(),
            VirtualDisk::new(NET),
        );
        for v in &cfg.vms {
            lab.processes_mut(*h)
                .add(v.id, VirtualProcess::new(BOOT, STOP, NET));
        }
    }
    for h in hosts {
        lab.command(*h, ClusterCommand::Boot);
    }
    for v in &cfg.vms {
        lab.command(v.home, ClusterCommand::PowerOn(v.id));
    }
    lab.run_until(Time::from_millis(40_500));
    lab
}

fn agent(lab: &Lab, n: NodeId) -> &FdmAgent {
    lab.node(n).agent().expect("an agent")
}

/// When `n` emitted `notice` first.
fn when(lab: &Lab, n: NodeId, notice: &ClusterNotice) -> Option<Time> {
    when_after(lab, n, notice, Time::ZERO)
}

/// When `n` emitted `notice` first at or after `after`.
fn when_after(lab: &Lab, n: NodeId, notice: &ClusterNotice, after: Time) -> Option<Time> {
    lab.records()
        .iter()
        .find(|r| r.node == n && r.time >= after && r.effect == Effect::Event(notice.clone()))
        .map(|r| r.time)
}

/// Times `n` asked its driver to run `action` (start or stop) on `vm`: the
/// `VmStarting` / `VmStopping` notice that goes with each `Process` request (the harness
/// carries `Process` effects out itself and does not record them).
fn process_calls(lab: &Lab, n: NodeId, vm: u16, action: OcfAction) -> Vec<Time> {
    let vm = ProcessId(vm);
    lab.records()
        .iter()
        .filter(|r| {
            r.node == n
                && match (&r.effect, action) {
                    (Effect::Event(ClusterNotice::VmStarting { vm: v, host }), OcfAction::Start)
                    | (Effect::Event(ClusterNotice::VmStopping { vm: v, host }), OcfAction::Stop) => {
                        *v == vm && *host == n
                    }
                    _ => false,
                }
        })
        .map(|r| r.time)
        .collect()
}

/// Every `VmRestartStarted` anywhere: (time, vm, host).
fn restarts_started(lab: &Lab) -> Vec<(Time, u16, NodeId)> {
    lab.records()
        .iter()
        .filter_map(|r| match &r.effect {
            Effect::Event(ClusterNotice::VmRestartStarted { vm, host }) => {
                Some((r.time, vm.0, *host))
            }
            _ => None,
        })
        .collect()
}

/// `t` is `expected` give or take `slack` (message hops).
fn assert_near(t: Option<Time>, expected: Time, slack: Duration, what: &str) {
    let t = t.unwrap_or_else(|| panic!("{what}: never happened"));
    assert!(
        t >= expected && t <= expected + slack,
        "{what}: at {t}, expected {expected} (+{slack:?})"
    );
}

/// Cuts `n` off the management network (from every host and the gateway).
fn isolate(lab: &mut Lab, n: NodeId, hosts: &[NodeId], gateway_too: bool) {
    for h in hosts {
        if *h != n {
            lab.partition_net(n, *h, Net::Management);
        }
    }
    if gateway_too {
        lab.partition_net(n, GW, Net::Management);
    }
}

const HOSTS: [NodeId; 3] = [A, B, C];
/// The last heartbeat before a failure at 40.5 s arrives at 40 s + NET.
const T: Time = Time(40_001_000_000);

#[test]
fn election_takes_15_s_and_the_most_datastores_win_then_the_highest_id() {
    // All mount two datastores: the highest id, C, wins.
    let lab = lab(&HOSTS, &|_| {});
    assert_eq!(
        when(&lab, C, &ClusterNotice::MasterElected(C)),
        Some(Time::from_secs(15))
    );
    assert_eq!(agent(&lab, C).role(), AgentRole::Master);
    assert_eq!(agent(&lab, A).role(), AgentRole::Slave(C));
    assert_eq!(agent(&lab, B).role(), AgentRole::Slave(C));
    assert!(lab.node(C).is_coordinator());
    // A mounts a third datastore: A wins despite the lower id.
    let lab = self::lab(&HOSTS, &|c| {
        c.mounts.insert(A, vec![D1, D2, D3]);
    });
    assert_eq!(
        when(&lab, A, &ClusterNotice::MasterElected(A)),
        Some(Time::from_secs(15))
    );
    assert_eq!(agent(&lab, C).role(), AgentRole::Slave(A));
    // The master protects every running VM, and the datastores hold the list.
    let protected = agent(&lab, A).protected().expect("master");
    assert_eq!(protected.get(&ProcessId(1)), Some(&A));
    assert_eq!(protected.get(&ProcessId(3)), Some(&C));
    let ds = lab.node(D1).datastore().expect("datastore");
    assert_eq!(ds.protected(), protected);
    assert_eq!(
        lab.node(B).vms_running(),
        BTreeSet::from([ProcessId(2)]),
        "each VM runs at home"
    );
}

#[test]
fn slave_failure_without_heartbeat_datastores_restarts_at_t_plus_15_s() {
    let mut lab = lab(&HOSTS, &|c| c.heartbeat_datastores = 0);
    lab.crash(A);
    lab.run_until(Time::from_secs(70));
    let t15 = T + Duration::from_secs(15);
    assert_near(
        when(&lab, C, &ClusterNotice::HostFailed(A)),
        t15,
        Duration::ZERO,
        "master declares A dead",
    );
    // B and C run one VM each: the tie goes to the lower id, B.
    assert_eq!(restarts_started(&lab), vec![(t15, 1, B)]);
    // B locks vm1's files (a round trip to D1) and boots it.
    let starts = process_calls(&lab, B, 1, OcfAction::Start);
    assert_eq!(starts.len(), 1);
    assert_near(Some(starts[0]), t15, 4 * NET, "B boots vm1");
    assert_near(
        when(
            &lab,
            C,
            &ClusterNotice::VmRestarted {
                vm: ProcessId(1),
                host: B,
            },
        ),
        t15 + BOOT,
        6 * NET,
        "vm1 runs on B",
    );
    assert!(lab.node(B).vms_running().contains(&ProcessId(1)));
    assert_eq!(
        agent(&lab, C)
            .protected()
            .and_then(|p| p.get(&ProcessId(1))),
        Some(&B)
    );
}

#[test]
fn slave_failure_with_heartbeat_datastores_restarts_at_t_plus_18_s() {
    let mut lab = lab(&HOSTS, &|_| {});
    lab.crash(A);
    lab.run_until(Time::from_secs(57));
    assert_eq!(agent(&lab, C).host_status(A), Some(HostStatus::Silent));
    assert!(restarts_started(&lab).is_empty(), "nothing at T+15 s");
    lab.run_until(Time::from_secs(70));
    let t18 = T + Duration::from_secs(18);
    assert_near(
        when(&lab, C, &ClusterNotice::HostFailed(A)),
        t18,
        Duration::ZERO,
        "master declares A dead",
    );
    assert_eq!(restarts_started(&lab), vec![(t18, 1, B)]);
    assert_eq!(agent(&lab, C).host_status(A), Some(HostStatus::Failed));
}

#[test]
fn master_failure_new_master_at_t_plus_25_s_restarts_at_t_plus_35_s() {
    let mut lab = lab(&HOSTS, &|_| {});
    lab.crash(C);
    lab.run_until(Time::from_secs(90));
    for n in [A, B] {
        assert_near(
            when_after(&lab, n, &ClusterNotice::ElectionStarted, T),
            T + Duration::from_secs(10),
            Duration::ZERO,
            "slaves start an election",
        );
    }
    // A and B both mount two datastores: B, the higher id, wins.
    assert_near(
        when(&lab, B, &ClusterNotice::MasterElected(B)),
        T + Duration::from_secs(25),
        Duration::ZERO,
        "B elected",
    );
    assert_eq!(agent(&lab, A).role(), AgentRole::Slave(B));
    let t35 = T + Duration::from_secs(35);
    assert_near(
        when(&lab, B, &ClusterNotice::HostFailed(C)),
        t35,
        Duration::ZERO,
        "new master declares C dead",
    );
    // vm3 was on the protected list the old master wrote; A and B run one VM each.
    assert_eq!(restarts_started(&lab), vec![(t35, 3, A)]);
    assert!(lab.node(A).vms_running().contains(&ProcessId(3)));
}

#[test]
fn isolated_slave_declares_isolation_at_t_plus_30_s_and_responds_at_t_plus_60_s() {
    let mut lab = lab(&HOSTS, &|_| {});
    isolate(&mut lab, A, &HOSTS, true);
    lab.run_until(Time::from_secs(130));
    assert_near(
        when(&lab, A, &ClusterNotice::MasterElected(A)),
        T + Duration::from_secs(25),
        Duration::ZERO,
        "A elects itself",
    );
    assert_near(
        when(&lab, A, &ClusterNotice::HostIsolated(A)),
        T + Duration::from_secs(30),
        Duration::ZERO,
        "A declares itself isolated",
    );
    assert_near(
        when(
            &lab,
            A,
            &ClusterNotice::IsolationResponse {
                host: A,
                action: IsolationAction::LeavePoweredOn,
            },
        ),
        T + Duration::from_secs(60),
        Duration::ZERO,
        "isolation response",
    );
    assert_eq!(agent(&lab, A).role(), AgentRole::Isolated);
    // Leave powered on: vm1 keeps running on A and nobody restarts it.
    assert!(process_calls(&lab, A, 1, OcfAction::Stop).is_empty());
    assert!(lab.node(A).vms_running().contains(&ProcessId(1)));
    assert!(restarts_started(&lab).is_empty());
    // The master saw A alive on the datastores: partitioned at T+18 s, isolated once
    // A's poweron file carries the flag (read at the next tick).
    assert_near(
        when(&lab, C, &ClusterNotice::HostPartitioned(A)),
        T + Duration::from_secs(18),
        Duration::ZERO,
        "master: A partitioned",
    );
    assert_near(
        when(&lab, C, &ClusterNotice::HostIsolated(A)),
        T + Duration::from_secs(30),
        secs(1.1),
        "master: A isolated",
    );
    assert_eq!(agent(&lab, C).host_status(A), Some(HostStatus::Isolated));
    // The network comes back: A rejoins C and clears its flag.
    for h in [B, C, GW] {
        lab.heal_net(A, h, Net::Management);
    }
    lab.run_until(Time::from_secs(135));
    assert_eq!(agent(&lab, A).role(), AgentRole::Slave(C));
    assert_eq!(agent(&lab, C).host_status(A), Some(HostStatus::Alive));
    assert!(
        lab.notices(C).contains(&ClusterNotice::HostRecovered(A)),
        "master hears A again"
    );
    assert_eq!(
        lab.node(D1)
            .datastore()
            .and_then(|d| d.file(A))
            .map(|f| f.isolated),
        Some(false)
    );
}

#[test]
fn isolation_response_power_off_lets_the_master_restart_the_vms_elsewhere() {
    let mut lab = lab(&HOSTS, &|c| {
        c.isolation_response = IsolationAction::PowerOff
    });
    isolate(&mut lab, A, &HOSTS, true);
    lab.run_until(Time::from_secs(130));
    let t60 = T + Duration::from_secs(60);
    assert_eq!(process_calls(&lab, A, 1, OcfAction::Stop), vec![t60]);
    assert_near(
        when(
            &lab,
            A,
            &ClusterNotice::VmPoweredOff {
                vm: ProcessId(1),
                host: A,
            },
        ),
        t60 + STOP,
        Duration::ZERO,
        "vm1 off",
    );
    // The master reads A's poweron file at its next tick, sees vm1 gone and restarts it
    // on B (the lock A released is free).
    let started = restarts_started(&lab);
    assert_eq!(started.len(), 1, "{started:?}");
    let (at, v, host) = started[0];
    assert_eq!((v, host), (1, B));
    assert_near(
        Some(at),
        t60 + STOP,
        secs(1.1),
        "restart after the power-off",
    );
    assert!(lab.node(B).vms_running().contains(&ProcessId(1)));
    assert!(!lab.node(A).vms_running().contains(&ProcessId(1)));
}

#[test]
fn each_partition_elects_a_master_and_no_vm_is_restarted() {
    let mut lab = lab(&HOSTS, &|_| {});
    lab.run_until(Time::from_millis(40_500));
    // A loses B and C but still reaches the gateway: a partition, not an isolation.
    isolate(&mut lab, A, &HOSTS, false);
    lab.run_until(Time::from_secs(100));
    assert_near(
        when(&lab, A, &ClusterNotice::MasterElected(A)),
        T + Duration::from_secs(25),
        Duration::ZERO,
        "A masters its own partition",
    );
    assert_eq!(agent(&lab, A).role(), AgentRole::Master);
    assert_eq!(agent(&lab, C).role(), AgentRole::Master);
    assert!(!lab.notices(A).contains(&ClusterNotice::HostIsolated(A)));
    // Each master sees the other side alive on the datastores.
    assert_near(
        when(&lab, A, &ClusterNotice::HostPartitioned(C)),
        T + Duration::from_secs(35),
        Duration::ZERO,
        "A: C partitioned",
    );
    assert_near(
        when(&lab, C, &ClusterNotice::HostPartitioned(A)),
        T + Duration::from_secs(18),
        Duration::ZERO,
        "C: A partitioned",
    );
    assert!(restarts_started(&lab).is_empty());
    assert!(lab.records().iter().all(|r| !matches!(
        r.effect,
        Effect::Event(ClusterNotice::IsolationResponse { .. })
    )));
    // Healed: the two masters meet, A (fewer-or-equal datastores, lower id) steps down.
    for h in [B, C] {
        lab.heal_net(A, h, Net::Management);
    }
    lab.run_until(Time::from_secs(103));
    assert_eq!(agent(&lab, A).role(), AgentRole::Slave(C));
    assert_eq!(agent(&lab, C).host_status(A), Some(HostStatus::Alive));
}

#[test]
fn a_vm_on_local_storage_is_never_restarted_elsewhere_only_on_its_host_return() {
    let mut lab = lab(&HOSTS, &|c| {
        c.vms[0].storage = VmStorage::Local;
        c.vms.push(vm(4, A));
    });
    lab.crash(A);
    lab.run_until(Time::from_secs(90));
    assert!(lab.notices(C).contains(&ClusterNotice::VmNotRestartable {
        vm: ProcessId(1),
        reason: NotRestartable::LocalStorage,
    }));
    for h in [B, C] {
        assert!(process_calls(&lab, h, 1, OcfAction::Start).is_empty());
    }
    // The shared VM of the same host is restarted.
    let started = restarts_started(&lab);
    assert_eq!(started.len(), 1);
    assert_eq!(started[0].1, 4);
    // A comes back: the master restarts the local VM on its home.
    let cfg = Arc::new(config(&HOSTS, &|c| {
        c.vms[0].storage = VmStorage::Local;
        c.vms.push(vm(4, A));
    }));
    lab.restart(A, FdmAgent::new(cfg, A).into());
    lab.command(A, ClusterCommand::Boot);
    lab.run_until(Time::from_secs(110));
    assert!(lab.notices(C).contains(&ClusterNotice::HostRecovered(A)));
    assert!(lab.notices(C).contains(&ClusterNotice::VmRestarted {
        vm: ProcessId(1),
        host: A,
    }));
    assert!(lab.node(A).vms_running().contains(&ProcessId(1)));
}

#[test]
fn restarts_follow_priority_and_at_most_32_power_ons_per_host() {
    let priorities = [
        RestartPriority::Low,
        RestartPriority::Medium,
        RestartPriority::High,
        RestartPriority::FtSecondary,
        RestartPriority::Agent,
    ];
    let tweak = |c: &mut VmwareConfig| {
        c.vms = (0..40u16)
            .map(|i| vm(100 + i, A).with_priority(priorities[usize::from(i % 5)]))
            .collect();
        c.heartbeat_datastores = 0;
    };
    let mut lab = lab(&[A, B], &tweak);
    assert_eq!(lab.node(A).vms_running().len(), 40);
    lab.crash(A);
    lab.run_until(Time::from_secs(80));
    let t15 = T + Duration::from_secs(15);
    let started = restarts_started(&lab);
    assert_eq!(started.len(), 40);
    let first: Vec<_> = started.iter().filter(|(t, _, _)| *t == t15).collect();
    assert_eq!(first.len(), 32, "32 concurrent power-ons on B");
    // In priority order: the 8 Low VMs are the ones left for later.
    let prio = |v: u16| priorities[usize::from((v - 100) % 5)];
    let order: Vec<RestartPriority> = started.iter().map(|(_, v, _)| prio(*v)).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "issued in priority order");
    for (t, v, host) in &started[32..] {
        assert_eq!(prio(*v), RestartPriority::Low);
        assert_eq!(*host, B);
        // A slot frees when the first boots finish.
        assert_near(Some(*t), t15 + BOOT, 10 * NET, "second wave");
    }
    assert_eq!(lab.node(B).vms_running().len(), 40);
}

#[test]
fn failed_restarts_are_retried_at_2_6_14_and_30_minutes_then_given_up() {
    let mut lab = lab(&[A, B], &|c| c.heartbeat_datastores = 0);
    if let Some(p) = lab.processes_mut(B).get_mut(ProcessId(1)) {
        p.start_result = Some(OcfExit::ErrGeneric);
        p.start_fails_always = true;
    }
    lab.crash(A);
    lab.run_until(Time::from_secs(40 + 31 * 60));
    let t0 = T + Duration::from_secs(15);
    let times: Vec<Duration> = restarts_started(&lab)
        .iter()
        .map(|(t, v, _)| {
            assert_eq!(*v, 1);
            *t - t0
        })
        .collect();
    let expected = [0u64, 2, 6, 14, 30];
    assert_eq!(times.len(), expected.len(), "{times:?}");
    for (got, min) in times.iter().zip(expected) {
        let want = Duration::from_secs(min * 60);
        assert!(
            *got >= want && *got <= want + 10 * NET,
            "attempt at +{got:?}, expected +{want:?}"
        );
    }
    let failed: Vec<u8> = lab
        .notices(B)
        .iter()
        .filter_map(|n| match n {
            ClusterNotice::VmRestartFailed { attempt, .. } => Some(*attempt),
            _ => None,
        })
        .collect();
    assert_eq!(failed, vec![1, 2, 3, 4, 5]);
    assert!(lab.notices(B).contains(&ClusterNotice::VmNotRestartable {
        vm: ProcessId(1),
        reason: NotRestartable::RetriesExhausted,
    }));
    assert!(agent(&lab, B).pending_restarts().is_empty());
}

#[test]
fn without_heartbeat_datastores_a_partitioned_host_is_declared_dead_but_its_lock_stops_a_second_copy()
 {
    let mut lab = lab(&HOSTS, &|c| c.heartbeat_datastores = 0);
    isolate(&mut lab, A, &HOSTS, false);
    lab.run_until(Time::from_secs(60));
    // C cannot tell the partition from a failure...
    assert_near(
        when(&lab, C, &ClusterNotice::HostFailed(A)),
        T + Duration::from_secs(15),
        Duration::ZERO,
        "C declares A dead",
    );
    assert_eq!(restarts_started(&lab).len(), 1);
    // ... but A still heartbeats D1 and holds vm1's lock: B's power-on is refused.
    assert!(process_calls(&lab, B, 1, OcfAction::Start).is_empty());
    assert!(lab.notices(C).contains(&ClusterNotice::VmRestartFailed {
        vm: ProcessId(1),
        attempt: 1
    }));
    assert_eq!(
        lab.node(D1)
            .datastore()
            .and_then(|d| d.lock_holder(ProcessId(1))),
        Some(A)
    );
    assert!(lab.node(A).vms_running().contains(&ProcessId(1)));
}

#[test]
fn configuration_errors_name_the_field_and_value() {
    use model::cluster::VmConfigError;
    use model::cluster::vmware::VmwareConfigError;
    let base = config(&HOSTS, &|_| {});
    let check = |tweak: &dyn Fn(&mut VmwareConfig), want: VmwareConfigError| {
        let mut c = base.clone();
        tweak(&mut c);
        let got = c.validate().expect_err("refused");
        assert_eq!(got, want);
        got.to_string()
    };
    let msg = check(
        &|c| c.vms.push(vm(1, B)),
        VmwareConfigError::Vm(VmConfigError::DuplicateId(ProcessId(1))),
    );
    assert!(msg.contains("vms") && msg.contains("p1"), "{msg}");
    check(
        &|c| c.vms.push(vm(9, NodeId(7))),
        VmwareConfigError::Vm(VmConfigError::HomeNotAHost {
            vm: ProcessId(9),
            home: NodeId(7),
        }),
    );
    check(
        &|c| {
            c.mounts.insert(A, vec![B]);
        },
        VmwareConfigError::DatastoreIsAHost(B),
    );
    check(
        &|c| c.isolation_address = Some(D1),
        VmwareConfigError::IsolationAddressTaken(D1),
    );
    let msg = check(
        &|c| c.restart_attempts = vec![Duration::ZERO, Duration::ZERO],
        VmwareConfigError::RestartAttempts(vec![Duration::ZERO, Duration::ZERO]),
    );
    assert!(msg.starts_with("restart_attempts"), "{msg}");
    check(
        &|c| c.max_concurrent_power_ons = 0,
        VmwareConfigError::NoPowerOns,
    );
    // The defaults are vSphere's.
    let d = VmwareConfig::new([A]);
    assert_eq!(d.heartbeat_datastores, 2);
    assert_eq!(d.max_concurrent_power_ons, 32);
    assert_eq!(d.isolation_response, IsolationAction::LeavePoweredOn);
    assert_eq!(d.timers.isolation_policy_delay, Duration::from_secs(30));
}
