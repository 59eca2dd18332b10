//! `dualha validate`: every shipped profile, schedule and check configuration is valid
//! and recognised as what it is; a bad one exits 2 naming the key and value.

use std::process::Command;

fn validate(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dualha"))
        .arg("validate")
        .args(args)
        .output()
        .expect("dualha runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn files(dir: &str) -> Vec<String> {
    let dir = format!("{}/{dir}", env!("CARGO_MANIFEST_DIR"));
    let mut v: Vec<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path().display().to_string())
        .filter(|p| p.ends_with(".toml") || p.ends_with(".json"))
        .collect();
    v.sort();
    v
}

#[test]
fn shipped_files_are_valid_and_recognised() {
    for (dir, kind) in [
        ("profiles", "a valid profile"),
        ("profiles/check", "a valid check configuration"),
        ("schedules", "a valid fault schedule"),
    ] {
        let found = files(dir);
        assert!(!found.is_empty(), "{dir}");
        if dir == "schedules" {
            // Hand-written TOML and the checker's JSON (docs/formats.md lists them).
            assert!(found.len() >= 2, "{found:?}");
            assert!(found.iter().any(|f| f.ends_with(".json")), "{found:?}");
        }
        for f in found {
            let (code, out, err) = validate(&[&f]);
            assert_eq!(code, Some(0), "{f}: {err}");
            assert!(out.contains(kind), "{f}: {out}");
        }
    }
}

#[test]
fn a_bad_file_names_the_key_and_the_value() {
    let dir = std::env::temp_dir().join(format!("dualha-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[[event]]\nat = 1e300\nkind = \"crash\"\nnode = \"a\"\n",
    )
    .expect("write");
    let (code, _, err) = validate(&[&bad.display().to_string()]);
    assert_eq!(code, Some(2));
    assert!(err.contains("at = 1e300"), "{err}");
    // Told the wrong kind, it says what is wrong with it as that kind.
    let (code, _, err) = validate(&["--kind", "profile", &bad.display().to_string()]);
    assert_eq!(code, Some(2), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `dualha validate` checks a schedule without a lab; `dualha simulate` also checks it
/// against the lab it picks (nodes present, configuration, writes within the device):
/// every shipped schedule must run there, ending in 0 (no violation) or 1 (one found).
#[test]
fn shipped_schedules_run_in_the_lab_they_pick() {
    for f in files("schedules") {
        let out = Command::new(env!("CARGO_BIN_EXE_dualha"))
            .args(["simulate", "--schedule", &f])
            .output()
            .expect("dualha runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(matches!(out.status.code(), Some(0 | 1)), "{f}: {err}");
        assert!(!err.contains("panicked"), "{f}: {err}");
    }
}

/// The fuzz targets' seeds (`fuzz/seeds/`, docs/fuzzing.md) must be valid inputs: a
/// seed the format has outgrown keeps the fuzzer in the parser's error paths, never
/// reaching the checks after it.
#[test]
fn fuzz_seeds_are_valid() {
    for (dir, kind, says) in [
        ("profile", "profile", "a valid profile"),
        ("schedule", "schedule", "a valid fault schedule"),
        ("check_config", "check", "a valid check configuration"),
    ] {
        let found = files(&format!("../fuzz/seeds/{dir}"));
        assert!(!found.is_empty(), "fuzz/seeds/{dir}");
        for f in found {
            let (code, out, err) = validate(&["--kind", kind, &f]);
            assert_eq!(code, Some(0), "{f}: {err}");
            assert!(out.contains(says), "{f}: {out}");
        }
    }
}
