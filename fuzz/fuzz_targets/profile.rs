//! A simulation profile (`dualha reproduce --profile`, `dualha simulate --profile`,
//! `dualha validate --kind profile`): TOML parsed and every value checked, including the
//! guests the profile makes in every architecture. Any input must give `Ok` or an
//! error, never a panic, an abort, a hang or an allocation failure.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sim::profile::Profile;

fuzz_target!(|data: &[u8]| {
    // `dualha` refuses input that is not UTF-8 before any parser sees it.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Profile::from_toml(text);
});
