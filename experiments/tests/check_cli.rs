//! `dualha check` as a user runs it: exit codes and error messages.

use std::process::Command;

fn dualha(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dualha"))
        .args(args)
        .output()
        .expect("the dualha binary runs")
}

#[test]
fn a_bad_key_exits_2_naming_the_key_and_the_allowed_values() {
    let dir = std::env::temp_dir().join(format!("dualha-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("bad.toml");
    std::fs::write(&file, "fencing = \"sometimes\"\n").expect("write");
    let out = dualha(&["check", "--config", file.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("fencing"), "{err}");
    assert!(err.contains("resource-and-stonith"), "{err}");
    std::fs::write(&file, "fencnig = \"dont-care\"\n").expect("write");
    let out = dualha(&["check", "--config", file.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("fencnig"));
}

#[test]
fn no_configuration_is_a_usage_error() {
    assert_eq!(dualha(&["check"]).status.code(), Some(2));
}
