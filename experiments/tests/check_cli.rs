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

#[test]
fn a_bounded_verdict_says_up_to_how_many_steps_it_holds() {
    let cfg = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/profiles/check/heartbeat-no-fencing.toml"
    );
    // The split brain takes 4 steps (timed semantics), a failover 5: with 3, no safety
    // property is violated, the failover is unknown (exit 1), and the output must not
    // say more than it knows.
    let out = dualha(&["check", "--config", cfg, "--max-depth", "3"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(!text.contains("violated"), "{text}");
    assert!(text.contains("unknown (none within 3 steps)"), "{text}");
    assert!(text.contains("no split brain"), "{text}");
    assert!(text.contains("holds up to 3 steps"), "{text}");
    assert!(
        text.contains("search cut by the bound of 3 steps"),
        "{text}"
    );
    assert!(!text.contains("search complete"), "{text}");
    let out = dualha(&["check", "--config", cfg, "--max-depth", "4"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("violated (4 steps)"), "{text}");
}

#[test]
fn a_guest_configuration_error_is_said_once_with_its_path() {
    let dir = std::env::temp_dir().join(format!("dualha-check-rings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("rings.toml");
    std::fs::write(&file, "name = \"x\"\nrings = 3\n").expect("write");
    let out = dualha(&["check", "--config", file.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("membership.rings: 3 rings"), "{err}");
    assert_eq!(err.matches("3 rings").count(), 1, "said once: {err}");
}
