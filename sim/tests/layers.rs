//! The two layers' coupling (`model::world::LayerCoupling`) as the simulator drives it:
//! event by event, not polled, and within what the checker's abstraction of the
//! cluster layer allows.
//!
//! The checker does not run the FDM and Nova/Masakari machines; it lets a guest whose
//! host lost power be restarted by the cluster layer at any later step, a crashed guest
//! reboot, and a guest STONITH powered off stay down for good (`model::check`,
//! `Down`). That over-approximates the real machines only if, seen from the guests, the
//! real cluster layer never does anything else: it never runs one guest twice, never
//! brings back a guest STONITH powered off, and a guest only boots when it is down.
//! The last test runs the real machines of both platforms under random faults with
//! STONITH configured and checks exactly that, after every event.

use core::time::Duration;

use model::Time;
use model::schedule::PairConfig;
use model::world::GuestChange;
use sim::schedule::{LabSchedule, Schedule};
use sim::world::{GUEST_A, World};
use sim::{Architecture, Cell, FailureClass, Platform, Profile, Service};

fn cell(architecture: Architecture, platform: Platform) -> Cell {
    Cell {
        failure: FailureClass::Hardware,
        architecture,
        platform,
        service: Service::Apache,
    }
}

fn at(s: f64) -> Time {
    Time::ZERO + Duration::from_secs_f64(s)
}

#[test]
fn a_host_power_off_takes_its_guest_down_in_the_same_instant() {
    let p = Profile::thesis();
    let mut w = World::new(&p, cell(Architecture::DrbdHeartbeat, Platform::Vmware), 1);
    w.run_until(at(200.0), |_, _| false);
    assert!(w.lab.is_up(GUEST_A), "a runs after the warm-up");
    let Some(host) = w.coupling.host_of(GUEST_A) else {
        panic!("a's VM runs nowhere")
    };
    let before = w.lab.now();
    w.power_off_host(host);
    assert_eq!(w.lab.now(), before, "no time passed");
    assert!(!w.lab.is_up(GUEST_A), "a went down with its host");
    assert_eq!(w.coupling.host_of(GUEST_A), None);
    assert_eq!(
        w.layer_log.last(),
        Some(&(
            before,
            GuestChange::Down {
                guest: GUEST_A,
                host
            }
        ))
    );
}

#[test]
fn a_restarted_vm_brings_its_guest_up_in_the_event_its_boot_finishes() {
    use model::Effect;
    use model::cluster::ClusterNotice;
    use sim::node::SimNotice;

    let p = Profile::thesis();
    for platform in Platform::ALL {
        let mut w = World::new(&p, cell(Architecture::Combined, platform), 3);
        w.run_until(at(200.0), |_, _| false);
        let Some(home) = w.coupling.host_of(GUEST_A) else {
            panic!("{platform}: a's VM runs nowhere")
        };
        let fault = w.lab.now();
        w.power_off_host(home);
        w.run_until(at(600.0), |_, _| false);
        // The cluster layer's notice that the VM is up again elsewhere, and the guest's
        // boot: the same instant.
        let powered_on = w.lab.records().iter().find_map(|r| match &r.effect {
            Effect::Event(SimNotice::Cluster(ClusterNotice::VmPoweredOn { vm, host }))
                if r.time > fault && *vm == model::world::ids::vm_of(GUEST_A) =>
            {
                Some((r.time, *host))
            }
            _ => None,
        });
        let Some((t, host)) = powered_on else {
            panic!("{platform}: the cluster layer never restarted a's VM")
        };
        assert_ne!(host, home);
        assert!(
            w.boots.contains(&(t, GUEST_A, host)),
            "{platform}: a booted at {t} on {host}? boots: {:?}",
            w.boots
        );
    }
}

/// The pair with STONITH in both layers and the platform's cluster layer.
fn stonith_pair(platform: Platform) -> PairConfig {
    let layer = match platform {
        Platform::Vmware => "vmware",
        Platform::OpenStack => "openstack",
    };
    let text = format!(
        "[config]\nname = \"stonith\"\nprotocol = \"C\"\nfencing = \"resource-and-stonith\"\n\
         after_sb_0pri = \"Disconnect\"\nafter_sb_1pri = \"Disconnect\"\n\
         after_sb_2pri = \"Disconnect\"\ndrbd_quorum_witness = false\nstonith = true\n\
         membership_quorum = \"two-node\"\nrings = 1\nping_node = false\n\
         cluster_layer = \"{layer}\"\nstart = \"running\"\n"
    );
    match Schedule::parse(&text).map(|s| s.config) {
        Ok(Some(c)) => c,
        other => panic!("the pair configuration parses: {other:?}"),
    }
}

/// What the guest-level trace of one run broke of the checker's abstraction, if
/// anything.
fn abstraction_broken(w: &World) -> Option<String> {
    if let Some((t, g)) = w.vm_split_brains.first() {
        return Some(format!("{t}: {g}'s VM ran on two hosts at once"));
    }
    for &(fenced_at, g) in &w.fenced_guests {
        let came_back = w.layer_log.iter().find(|(t, c)| {
            *t >= fenced_at && matches!(c, GuestChange::Boot { guest, .. } if *guest == g)
        });
        if let Some((t, c)) = came_back {
            return Some(format!(
                "{g} was fenced at {fenced_at} and came back: {t} {c:?}"
            ));
        }
    }
    None
}

#[test]
fn the_real_cluster_layers_stay_within_the_checkers_abstraction() {
    let p = Profile::thesis();
    let warm = p.trial.warmup;
    let (mut fences, mut restarts) = (0, 0);
    for platform in Platform::ALL {
        for seed in 1..=40 {
            let c = cell(Architecture::Combined, platform);
            let pair = stonith_pair(platform);
            let mut w = World::with_config(&p, c, seed, Some(&pair));
            let faults = match Schedule::stochastic(seed, 900.0, 60.0) {
                Ok(s) => s.in_order(),
                Err(e) => panic!("{e}"),
            };
            let mut broken = None;
            let mut check = |w: &mut World, _| {
                broken = broken.take().or_else(|| abstraction_broken(w));
                broken.is_some()
            };
            for e in faults {
                if w.run_until(at(warm + e.at), &mut check) {
                    break;
                }
                w.apply(&e.fault);
                w.couple();
            }
            w.run_until(at(warm + 1500.0), &mut check);
            if let Some(why) = broken.or_else(|| abstraction_broken(&w)) {
                panic!(
                    "{platform}, seed {seed}: {why}\nlayers: {:?}\nfenced: {:?}\nat {}",
                    w.layer_log,
                    w.fenced_guests,
                    w.lab.now()
                );
            }
            fences += w.fenced_guests.len();
            restarts += w
                .layer_log
                .iter()
                .filter(|(_, c)| {
                    matches!(c, GuestChange::Boot { guest, host }
                        if w.layout.home.get(guest) != Some(host))
                })
                .count();
        }
    }
    // Not vacuous: the runs fenced guests and restarted VMs on other hosts.
    assert!(fences > 0, "no guest was ever fenced");
    assert!(
        restarts > 0,
        "the cluster layer never restarted a VM elsewhere"
    );
    println!("{fences} fences, {restarts} restarts on another host");
}
