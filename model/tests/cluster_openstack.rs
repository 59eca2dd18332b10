//! The OpenStack-style cluster layer (Nova + Masakari) in the harness: a failed host is
//! down for Nova after `service_down_time`, reported by the host monitors at their next
//! poll, fenced, disabled and evacuated after the documented waits, 3 VMs at a time;
//! evacuation is refused while the host is up; local-storage VMs stay; the recovery
//! methods place VMs where they should.
//!
//! Timing: everything boots at 0; nova-compute reports at 0, 10, 20, ... s, ring
//! heartbeats leave every second, the host monitors poll at 60, 120, ... s, and every
//! message takes `NET`. A host crashed at 40.5 s was last heard at 40 s + NET (its last
//! report and its last ring heartbeat), and the monitors report it at their 60 s poll.

use std::sync::Arc;

use core::time::Duration;

use model::cluster::openstack::{
    ComputeHost, MasakariEngine, NovaController, OpenStackConfig, OpenStackNode, RecoveryMethod,
};
use model::cluster::{
    ClusterCommand, ClusterNotice, NotRestartable, VmRestartLayer, VmSpec, VmStorage,
};
use model::testing::{Cluster, FenceBehaviour, VirtualDisk, VirtualProcess};
use model::{Effect, Net, NodeId, ProcessId, Time};

const A: NodeId = NodeId(0);
const B: NodeId = NodeId(1);
const C: NodeId = NodeId(2);
const R: NodeId = NodeId(3);
const NOVA: NodeId = NodeId(10);
const ENGINE: NodeId = NodeId(11);

/// One-way delay of every link.
const NET: Duration = Duration::from_millis(1);
/// How long a guest takes to boot.
const BOOT: Duration = Duration::from_secs(20);

type Lab = Cluster<OpenStackNode>;

/// The last report and ring heartbeat of a host crashed at 40.5 s arrive at 40 s + NET.
const T: Time = Time(40_001_000_000);
/// The host monitors' first poll after the failure.
const POLL: Time = Time::from_secs(60);

fn vm(id: u16, home: NodeId) -> VmSpec {
    VmSpec::new(ProcessId(id), format!("vm{id}"), home)
}

/// Computes A, B, C (and R if `tweak` lists it), two VMs on A (vm1, vm2), one on B
/// (vm3), one on C (vm4), unless `tweak` changes them.
fn config(computes: &[NodeId], tweak: &dyn Fn(&mut OpenStackConfig)) -> OpenStackConfig {
    let mut cfg = OpenStackConfig::new(computes.iter().copied(), NOVA, ENGINE);
    cfg.vms = vec![vm(1, A), vm(2, A), vm(3, B), vm(4, C)];
    tweak(&mut cfg);
    cfg.validate().expect("test configuration is valid");
    cfg
}

/// The cluster booted at 0 with every VM running at home, run to 40.5 s.
fn lab(computes: &[NodeId], tweak: &dyn Fn(&mut OpenStackConfig)) -> Lab {
    let cfg = Arc::new(config(computes, tweak));
    let mut lab = Lab::new();
    lab.net = model::testing::VirtualNetwork::new(NET);
    lab.add(
        NOVA,
        NovaController::new(Arc::clone(&cfg)).into(),
        VirtualDisk::new(NET),
    );
    lab.add(
        ENGINE,
        MasakariEngine::new(Arc::clone(&cfg)).into(),
        VirtualDisk::new(NET),
    );
    for h in computes {
        lab.add(*h, ComputeHost::new(&cfg, *h).into(), VirtualDisk::new(NET));
        for v in &cfg.vms {
            lab.processes_mut(*h)
                .add(v.id, VirtualProcess::new(BOOT, NET, NET));
        }
    }
    lab.command(NOVA, ClusterCommand::Boot);
    for h in computes {
        lab.command(*h, ClusterCommand::Boot);
    }
    for v in &cfg.vms {
        lab.command(v.home, ClusterCommand::PowerOn(v.id));
    }
    lab.run_until(Time::from_millis(40_500));
    lab
}

/// When `n` emitted `notice` first.
fn when(lab: &Lab, n: NodeId, notice: &ClusterNotice) -> Option<Time> {
    lab.records()
        .iter()
        .find(|r| r.node == n && r.effect == Effect::Event(notice.clone()))
        .map(|r| r.time)
}

/// `t` is `expected` give or take `slack` (message hops).
fn assert_near(t: Option<Time>, expected: Time, slack: Duration, what: &str) {
    let t = t.unwrap_or_else(|| panic!("{what}: never happened"));
    assert!(
        t >= expected && t <= expected + slack,
        "{what}: at {t}, expected {expected} (+{slack:?})"
    );
}

/// Every boot a compute host asked its driver for after `after`: (time, vm, host). The
/// `VmStarting` notice goes with each `Process Start` (the harness does not record
/// `Process` effects).
fn boots_after(lab: &Lab, after: Time) -> Vec<(Time, u16, NodeId)> {
    lab.records()
        .iter()
        .filter(|r| r.time > after)
        .filter_map(|r| match &r.effect {
            Effect::Event(ClusterNotice::VmStarting { vm, host }) => Some((r.time, vm.0, *host)),
            _ => None,
        })
        .collect()
}

const ABC: [NodeId; 3] = [A, B, C];

#[test]
fn a_failed_host_is_down_after_60_s_and_evacuated_after_stonith_wait_and_180_s() {
    let mut lab = lab(&ABC, &|_| {});
    lab.crash(A);
    lab.run_until(Time::from_secs(320));
    // Nova: no report for service_down_time.
    assert_near(
        when(&lab, NOVA, &ClusterNotice::ServiceDown(A)),
        T + Duration::from_secs(60),
        Duration::ZERO,
        "nova: A down",
    );
    // The monitors saw A leave the ring 6.6 s after its last heartbeat, and report it
    // at their next poll.
    for n in [B, C] {
        assert_eq!(
            when(&lab, n, &ClusterNotice::HostDownNotified(A)),
            Some(POLL)
        );
        assert!(
            !lab.node(n)
                .compute()
                .expect("compute")
                .monitor
                .online()
                .contains(&A)
        );
    }
    // The engine: one workflow, fence at once, stonith_wait 30 s, disable, 180 s, evacuate.
    let notified = POLL + NET;
    assert_eq!(
        when(&lab, ENGINE, &ClusterNotice::HostFailed(A)),
        Some(notified)
    );
    let fences: Vec<Time> = lab
        .records()
        .iter()
        .filter(|r| r.node == ENGINE && r.effect == Effect::Fence(A))
        .map(|r| r.time)
        .collect();
    assert_eq!(fences, vec![notified], "fenced once");
    assert_eq!(
        when(
            &lab,
            ENGINE,
            &ClusterNotice::HostFenced {
                host: A,
                success: true
            }
        ),
        Some(notified + Duration::from_secs(1))
    );
    let disabled = notified + Duration::from_secs(30);
    assert_near(
        when(&lab, NOVA, &ClusterNotice::ComputeDisabled(A)),
        disabled,
        NET,
        "service disabled after stonith_wait",
    );
    let evacuate = disabled + Duration::from_secs(180);
    let started: Vec<(Time, ProcessId, NodeId)> = lab
        .records()
        .iter()
        .filter_map(|r| match &r.effect {
            Effect::Event(ClusterNotice::VmRestartStarted { vm, host }) => {
                Some((r.time, *vm, *host))
            }
            _ => None,
        })
        .collect();
    assert_eq!(started.len(), 2, "{started:?}");
    for (t, _, _) in &started {
        assert_near(
            Some(*t),
            evacuate,
            4 * NET,
            "evacuated after the 180 s wait",
        );
    }
    // The scheduler spreads them over B and C (one VM each before).
    assert_eq!(
        started
            .iter()
            .map(|(_, v, h)| (v.0, *h))
            .collect::<Vec<_>>(),
        vec![(1, B), (2, C)]
    );
    assert_near(
        when(
            &lab,
            NOVA,
            &ClusterNotice::VmRestarted {
                vm: ProcessId(1),
                host: B,
            },
        ),
        evacuate + BOOT,
        5 * NET,
        "vm1 active on B",
    );
    assert!(lab.node(B).vms_running().contains(&ProcessId(1)));
    assert!(lab.node(C).vms_running().contains(&ProcessId(2)));
    assert_eq!(
        lab.node(NOVA)
            .controller()
            .and_then(|c| c.location(ProcessId(1))),
        Some(B)
    );
    assert!(
        lab.notices(ENGINE)
            .contains(&ClusterNotice::HostRecoveryFinished(A))
    );
    assert!(lab.node(ENGINE).is_coordinator());
}

#[test]
fn nova_refuses_to_evacuate_a_host_that_is_not_yet_down() {
    let mut lab = lab(&ABC, &|_| {});
    lab.crash(A);
    lab.run_until(Time::from_secs(45));
    lab.command(NOVA, ClusterCommand::Evacuate { vm: ProcessId(1) });
    assert_eq!(
        when(
            &lab,
            NOVA,
            &ClusterNotice::EvacuationRefused {
                vm: ProcessId(1),
                host: A
            }
        ),
        Some(Time::from_secs(45))
    );
    assert!(boots_after(&lab, T).is_empty());
    // After service_down_time it goes through.
    lab.run_until(Time::from_secs(101));
    lab.command(NOVA, ClusterCommand::Evacuate { vm: ProcessId(1) });
    lab.run_for(Duration::from_millis(10));
    assert_eq!(
        boots_after(&lab, T),
        vec![(Time::from_secs(101) + NET, 1, B)]
    );
    // Forcing the service down lets vm2 go at once, before service_down_time would.
    let mut lab = self::lab(&ABC, &|_| {});
    lab.crash(A);
    lab.run_until(Time::from_secs(45));
    lab.command(NOVA, ClusterCommand::ForceDown { host: A });
    lab.command(NOVA, ClusterCommand::Evacuate { vm: ProcessId(2) });
    lab.run_for(Duration::from_millis(10));
    assert_eq!(
        when(&lab, NOVA, &ClusterNotice::ServiceDown(A)),
        Some(Time::from_secs(45))
    );
    assert_eq!(
        boots_after(&lab, T),
        vec![(Time::from_secs(45) + NET, 2, B)]
    );
}

#[test]
fn a_vm_on_local_storage_is_not_evacuated() {
    let mut lab = lab(&ABC, &|c| c.vms[0].storage = VmStorage::Local);
    lab.crash(A);
    lab.run_until(Time::from_secs(320));
    assert!(
        lab.notices(ENGINE)
            .contains(&ClusterNotice::VmNotRestartable {
                vm: ProcessId(1),
                reason: NotRestartable::LocalStorage,
            })
    );
    let boots = boots_after(&lab, T);
    assert_eq!(boots.len(), 1, "{boots:?}");
    assert_eq!(boots[0].1, 2, "only the shared vm2 moves");
    for h in [B, C] {
        assert!(!lab.node(h).vms_running().contains(&ProcessId(1)));
    }
}

#[test]
fn reserved_host_takes_the_vms_and_auto_never_uses_a_reserved_host() {
    let computes = [A, B, C, R];
    let mut lab = lab(&computes, &|c| {
        c.reserved_hosts = vec![R];
        c.recovery_method = RecoveryMethod::ReservedHost;
        c.vms.push(vm(5, A));
    });
    lab.crash(A);
    lab.run_until(Time::from_secs(340));
    assert!(
        lab.notices(NOVA)
            .contains(&ClusterNotice::ComputeEnabled(R))
    );
    let hosts: Vec<NodeId> = boots_after(&lab, T).iter().map(|(_, _, h)| *h).collect();
    assert_eq!(hosts, vec![R, R, R]);
    assert_eq!(
        lab.node(R).vms_running(),
        [1, 2, 5].map(ProcessId).into_iter().collect()
    );
    // The same failure with `auto`: R (disabled, and the least loaded) gets nothing.
    let mut lab = self::lab(&computes, &|c| {
        c.reserved_hosts = vec![R];
        c.vms.push(vm(5, A));
    });
    lab.crash(A);
    lab.run_until(Time::from_secs(340));
    let hosts: Vec<NodeId> = boots_after(&lab, T).iter().map(|(_, _, h)| *h).collect();
    assert_eq!(hosts.len(), 3);
    assert!(!hosts.contains(&R), "{hosts:?}");
    assert!(lab.node(R).vms_running().is_empty());
}

#[test]
fn more_than_three_vms_are_evacuated_three_at_a_time() {
    let mut lab = lab(&ABC, &|c| {
        c.vms = (1..=7).map(|i| vm(i, A)).collect();
    });
    lab.crash(A);
    lab.run_until(Time::from_secs(400));
    let boots = boots_after(&lab, T);
    assert_eq!(boots.len(), 7, "{boots:?}");
    let first = boots[0].0;
    let wave = |t: Time| (t - first).as_secs() / BOOT.as_secs();
    let waves: Vec<u64> = boots.iter().map(|(t, _, _)| wave(*t)).collect();
    assert_eq!(waves, vec![0, 0, 0, 1, 1, 1, 2], "{boots:?}");
    // A worker takes the next VM as soon as its VM is confirmed active.
    assert_near(Some(boots[3].0), first + BOOT, 4 * NET, "second wave");
    assert_near(Some(boots[6].0), first + 2 * BOOT, 8 * NET, "third wave");
    let running: usize = [B, C]
        .iter()
        .map(|h| lab.node(*h).vms_running().len())
        .sum();
    assert_eq!(running, 7);
}

#[test]
fn an_unconfirmed_evacuation_fails_after_90_s_and_auto_priority_falls_back_to_the_reserved_host() {
    let computes = [A, B, C, R];
    let mut lab = lab(&computes, &|c| {
        c.reserved_hosts = vec![R];
        c.recovery_method = RecoveryMethod::AutoPriority;
        c.vms = vec![vm(1, A)];
    });
    // vm1 hangs booting on B and C (an agent that never answers).
    for h in [B, C] {
        if let Some(p) = lab.processes_mut(h).get_mut(ProcessId(1)) {
            p.hung = true;
        }
    }
    lab.crash(A);
    lab.run_until(Time::from_secs(450));
    let boots = boots_after(&lab, T);
    assert_eq!(boots.len(), 2, "{boots:?}");
    assert_eq!(boots[0].2, B, "auto: the scheduler's pick");
    assert_eq!(boots[1].2, R, "then the reserved host");
    let failed = lab
        .records()
        .iter()
        .find(|r| {
            r.effect
                == Effect::Event(ClusterNotice::VmRestartFailed {
                    vm: ProcessId(1),
                    attempt: 1,
                })
        })
        .map(|r| r.time);
    // Evacuated at the poll + 30 s + 180 s (+ the hops), given up 90 s later.
    let evacuated = POLL + Duration::from_secs(210);
    assert_near(Some(boots[0].0), evacuated, 5 * NET, "evacuated");
    assert_near(
        failed,
        evacuated + Duration::from_secs(90),
        5 * NET,
        "not confirmed within 90 s",
    );
    assert!(lab.notices(NOVA).contains(&ClusterNotice::VmRestarted {
        vm: ProcessId(1),
        host: R,
    }));
    assert!(
        lab.notices(ENGINE)
            .contains(&ClusterNotice::HostRecoveryFinished(A))
    );
}

#[test]
fn a_host_that_cannot_be_fenced_is_not_evacuated() {
    let mut lab = lab(&ABC, &|_| {});
    lab.fencing = FenceBehaviour::Fails(Duration::from_secs(5));
    lab.crash(A);
    lab.run_until(Time::from_secs(320));
    assert!(lab.notices(ENGINE).contains(&ClusterNotice::HostFenced {
        host: A,
        success: false
    }));
    for v in [1, 2] {
        assert!(
            lab.notices(ENGINE)
                .contains(&ClusterNotice::VmNotRestartable {
                    vm: ProcessId(v),
                    reason: NotRestartable::HostNotFenced,
                })
        );
    }
    assert!(boots_after(&lab, T).is_empty());
    assert!(
        !lab.notices(NOVA)
            .contains(&ClusterNotice::ComputeDisabled(A))
    );
}

#[test]
fn a_host_cut_off_the_ring_is_reported_by_the_majority_only_and_fenced() {
    let mut lab = lab(&ABC, &|_| {});
    for h in [B, C] {
        lab.partition_net(A, h, Net::Ring(0));
    }
    lab.run_until(Time::from_secs(61));
    // A has no quorum and reports nobody; B and C report A.
    assert!(
        lab.notices(A)
            .iter()
            .all(|n| !matches!(n, ClusterNotice::HostDownNotified(_)))
    );
    assert!(!lab.node(A).compute().expect("compute").monitor.quorate());
    assert_eq!(
        when(&lab, B, &ClusterNotice::HostDownNotified(A)),
        Some(POLL)
    );
    // The engine fences A although its VMs still ran: Masakari trusts the cluster stack.
    lab.run_until(Time::from_secs(62));
    assert!(!lab.is_up(A), "fenced");
    lab.run_until(Time::from_secs(320));
    assert_eq!(boots_after(&lab, T).len(), 2);
}

#[test]
fn configuration_errors_name_the_field_and_value() {
    use model::cluster::openstack::OpenStackConfigError;
    let base = config(&ABC, &|_| {});
    let check = |tweak: &dyn Fn(&mut OpenStackConfig), want: OpenStackConfigError| {
        let mut c = base.clone();
        tweak(&mut c);
        let got = c.validate().expect_err("refused");
        assert_eq!(got, want);
        got.to_string()
    };
    let msg = check(
        &|c| c.recovery_method = RecoveryMethod::RhPriority,
        OpenStackConfigError::NoReservedHost(RecoveryMethod::RhPriority),
    );
    assert!(msg.starts_with("recovery_method"), "{msg}");
    check(
        &|c| c.reserved_hosts = vec![NOVA],
        OpenStackConfigError::ReservedNotACompute(NOVA),
    );
    check(&|c| c.engine = B, OpenStackConfigError::EngineIsACompute(B));
    let msg = check(
        &|c| c.timers.service_down_time = Duration::from_secs(10),
        OpenStackConfigError::ServiceDownTime {
            service_down_time: Duration::from_secs(10),
            report_interval: Duration::from_secs(10),
        },
    );
    assert!(msg.contains("service_down_time"), "{msg}");
    check(&|c| c.evacuate_workers = 0, OpenStackConfigError::NoWorkers);
    // The defaults are Nova's and Masakari's.
    let d = OpenStackConfig::new([A], NOVA, ENGINE);
    assert_eq!(d.evacuate_workers, 3);
    assert_eq!(d.timers.report_interval, Duration::from_secs(10));
    assert_eq!(d.timers.service_down_time, Duration::from_secs(60));
    assert_eq!(d.timers.wait_after_service_update, Duration::from_secs(180));
}
