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
        .filter(|p| p.ends_with(".toml"))
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
