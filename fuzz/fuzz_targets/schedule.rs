//! A fault schedule (`dualha simulate --schedule`, `dualha validate --kind schedule`):
//! TOML, `dualha-schedule/2` JSON or the checker's earlier `dualha-schedule/1` JSON,
//! parsed and checked (`Schedule::parse`); then, as `dualha simulate` does, checked
//! against every lab and the study's profile (`check_lab`). Any input must give `Ok` or
//! an error, never a panic, an abort, a hang or an allocation failure.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use sim::profile::Profile;
use sim::schedule::{LabSchedule, Schedule};
use sim::{Architecture, Cell, FailureKind, Platform, Service};

static PROFILE: LazyLock<Profile> = LazyLock::new(Profile::thesis);

fuzz_target!(|data: &[u8]| {
    // `dualha` refuses input that is not UTF-8 before any parser sees it.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(s) = Schedule::parse(text) else {
        return;
    };
    // What `dualha simulate` does next, in every lab it could pick.
    for architecture in Architecture::ALL {
        for platform in Platform::ALL {
            let cell = Cell {
                failure: FailureKind::Software,
                architecture,
                platform,
                service: Service::Apache,
            };
            let _ = s.check_lab(cell, &PROFILE);
        }
    }
    // What `dualha check` and `--save-schedule` write: a valid schedule prints.
    let _ = s.in_order();
    for e in &s.events {
        let _ = e.fault.describe();
    }
});
