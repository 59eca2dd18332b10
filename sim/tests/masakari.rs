//! The Nova + Masakari what-if platform: a host failure meets each hostmonitor's poll
//! anywhere in its interval (its phase is drawn per host and trial), so the cluster
//! layer's detection is spread over the interval instead of being the same every time.

use sim::limits::MAX_EVENTS_PER_TRIAL;
use sim::profile::HostHa;
use sim::schedule::{LabSchedule, Schedule};
use sim::trial::run_schedule;
use sim::{Architecture, Cell, FailureClass, Platform, Profile, Service};

#[test]
fn detection_by_the_hostmonitors_is_spread_over_their_polling_interval() {
    let mut p = Profile::thesis();
    if let Some(os) = p.platforms.get_mut(&Platform::OpenStack) {
        os.host_ha = HostHa::Masakari;
    }
    let cell = Cell {
        failure: FailureClass::Hardware,
        architecture: Architecture::SingleNode,
        platform: Platform::OpenStack,
        service: Service::Apache,
    };
    let s = Schedule::parse("[[event]]\nat = 1.0\nkind = \"power-off\"\nnode = \"h10\"\n")
        .expect("valid schedule");
    let mut detections = Vec::new();
    for seed in 1..=10 {
        let run = run_schedule(&p, cell, &s, seed, MAX_EVENTS_PER_TRIAL).expect("runs");
        // "319.431s masakari32: host h10 failed": the engine's notice, after a hostmonitor
        // saw the host gone at its poll.
        let failed = run
            .timeline
            .iter()
            .find(|l| l.contains("host h10 failed"))
            .and_then(|l| l.split('s').next())
            .and_then(|t| t.trim().parse::<f64>().ok());
        match failed {
            Some(t) => detections.push(t - 301.0),
            None => panic!("seed {seed}: no host failure noticed\n{:#?}", run.timeline),
        }
    }
    let lo = detections.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = detections.iter().copied().fold(0.0, f64::max);
    // masakari-hostmonitor's default monitoring_interval is 60 s; the ring timeout adds
    // a few seconds before a poll can see the host gone.
    assert!(hi - lo > 20.0, "spread over the interval: {detections:?}");
    assert!(
        hi < 60.0 + 30.0,
        "never more than one interval late: {detections:?}"
    );
}
