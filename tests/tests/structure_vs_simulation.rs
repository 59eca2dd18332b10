//! One question, two answers: which architecture survives which failure. The topology
//! derives it from the structure of the lab graph; the simulator from running the
//! machines. They must agree cell by cell (and both must agree with the study).

use model::topology::{self, FailureClass, Recovery, ServiceKind, Topology};
use sim::{Architecture, Cell, FailureKind, Platform, Profile, Service, run_trial};

fn topo_arch(a: Architecture) -> topology::Architecture {
    match a {
        Architecture::SingleNode => topology::Architecture::SingleNode,
        Architecture::DrbdHeartbeat => topology::Architecture::DrbdHeartbeat,
        Architecture::Combined => topology::Architecture::Combined,
    }
}

fn class(f: FailureKind) -> FailureClass {
    match f {
        FailureKind::Software => FailureClass::Software,
        FailureKind::Hardware => FailureClass::Hardware,
        FailureKind::Cluster => FailureClass::Cluster,
    }
}

#[test]
fn the_topology_and_the_simulator_agree_on_what_survives() {
    let profile = Profile::thesis();
    for failure in FailureKind::ALL {
        for architecture in Architecture::ALL {
            for platform in Platform::ALL {
                let t = Topology::build(topo_arch(architecture), platform, ServiceKind::Apache);
                let service = t.services()[0];
                let f = t
                    .study_failure(service, class(failure))
                    .expect("the study's failure applies");
                let structural = t.recovery(service, &f) != Recovery::Lost;
                let cell = Cell {
                    failure,
                    architecture,
                    platform,
                    service: Service::Apache,
                };
                let simulated = run_trial(&profile, cell, 0, 11).recovered;
                assert_eq!(
                    structural, simulated,
                    "{cell}: the topology says {structural}, the simulator {simulated}"
                );
            }
        }
    }
}
