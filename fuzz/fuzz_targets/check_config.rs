//! A model-checker configuration (`dualha check --config`, `dualha validate --kind
//! check`): TOML parsed and validated (`experiments::check::parse_config`, what
//! `load_config` runs on the file's text); then, as `dualha check` does before it
//! explores, the checker's model built from it (which boots the pair once). Any input
//! must give `Ok` or an error, never a panic, an abort, a hang or an allocation failure.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::check::CheckModel;

fuzz_target!(|data: &[u8]| {
    // `dualha` refuses input that is not UTF-8 before any parser sees it.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(cfg) = experiments::check::parse_config(text) else {
        return;
    };
    let _ = CheckModel::new(cfg);
});
