//! One question, two answers: which architecture survives which failure. The topology
//! derives it from the structure of the lab graph; the simulator from running the
//! machines. They must agree cell by cell (and both must agree with the study).

use model::topology::{Recovery, ServiceKind, Topology};
use sim::{Architecture, Cell, FailureClass, Platform, Profile, Service, run_trial};

#[test]
fn the_topology_and_the_simulator_agree_on_what_survives() {
    let profile = Profile::thesis();
    for failure in FailureClass::ALL {
        for architecture in Architecture::ALL {
            for platform in Platform::ALL {
                let t = Topology::build(architecture, platform, ServiceKind::Apache);
                let service = t.services()[0];
                let f = t
                    .study_failure(service, failure)
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
