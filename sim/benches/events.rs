//! Simulated events per second on one core, for the study's DRBD + Heartbeat pair with
//! 1 s heartbeats (VMware platform: two FDM agents, a datastore and a gateway beside the
//! two guests), in steady state. Run with `cargo bench -p sim`.

use std::time::Instant;

use core::time::Duration;

use sim::world::World;
use sim::{Architecture, Cell, FailureClass, Platform, Profile, Service};

fn main() {
    let profile = Profile::thesis();
    let cell = Cell {
        failure: FailureClass::Hardware,
        architecture: Architecture::DrbdHeartbeat,
        platform: Platform::Vmware,
        service: Service::Apache,
    };
    let mut w = World::new(&profile, cell, 1);
    // Boot and settle, connecting the layers as a trial does.
    w.run_until(model::Time::ZERO + Duration::from_secs(300), |_, _| false);
    assert_eq!(w.serving().len(), 1, "the group runs");
    w.lab.set_recording(false);
    println!("sim/DRBD + Heartbeat pair, 1 s heartbeats, VMware layer, steady state, one core");
    let mut rates = Vec::new();
    for round in 1..=5 {
        let before = w.lab.events();
        let start = Instant::now();
        // Six virtual hours per round.
        w.lab.run_for(Duration::from_secs(6 * 3600));
        let secs = start.elapsed().as_secs_f64();
        let events = w.lab.events() - before;
        let rate = events as f64 / secs;
        println!(
            "  round {round}: {events} events in {secs:.3} s = {rate:.0} events/s ({:.0}x real time)",
            6.0 * 3600.0 / secs
        );
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    println!("  median          {:.0} events/s", rates[2]);
    println!("  best            {:.0} events/s", rates[4]);
}
