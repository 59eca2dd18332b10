use sim::{Architecture, Cell, FailureKind, Platform, Profile, Service};

#[test]
#[ignore]
fn dump() {
    let p = Profile::thesis();
    let cell = Cell { failure: FailureKind::Software, architecture: Architecture::DrbdHeartbeat, platform: Platform::Openstack, service: Service::Apache };
    let mut w = sim::world::World::new(&p, cell, 5);
    for _ in 0..1200 { w.lab.run_for(core::time::Duration::from_millis(100)); w.sync_layers(); }
    let n = w.lab.records().len();
    eprintln!("serving {:?}", w.serving());
    w.lab.processes_mut(sim::world::GUEST_A).get_mut(sim::world::SERVICE).unwrap().running = false;
    for _ in 0..1200 { w.lab.run_for(core::time::Duration::from_millis(100)); w.sync_layers(); }
    for r in &w.lab.records()[n..] {
        let s = format!("{:?}", r.effect);
        if !s.contains("Monitor") { eprintln!("{} {} {}", r.time, r.node, s); }
    }
    eprintln!("serving {:?}", w.serving());
}
