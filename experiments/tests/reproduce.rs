//! `dualha reproduce`: the study's facts hold on a reduced trial count, and the report is
//! byte-identical across runs with one seed.

use std::path::PathBuf;
use std::process::Command;

use experiments::reproduce::acceptance;
use sim::limits::MAX_EVENTS_PER_TRIAL;
use sim::{Cell, Profile, run_study};

#[test]
fn the_study_facts_hold_on_ten_trials_per_cell() {
    let profile = Profile::thesis();
    let results = run_study(
        &profile,
        &Cell::all(),
        10,
        1,
        2,
        MAX_EVENTS_PER_TRIAL,
        &|_| {},
    )
    .expect("the study's profile runs");
    assert_eq!(results.len(), Cell::all().len() * 10);
    let facts = acceptance::facts(&results);
    let failing: Vec<String> = facts
        .iter()
        .filter(|f| !f.holds)
        .map(|f| format!("{} -> {}", f.statement, f.found))
        .collect();
    assert!(
        failing.is_empty(),
        "facts that do not hold:\n{}",
        failing.join("\n")
    );
    // The checks can fail: a profile without the cluster layer's delays inverts the
    // hardware ordering.
    assert!(facts.len() >= 30);
    assert!(
        results.iter().all(|r| !r.setup_failed),
        "every trial started from the group on A"
    );
    assert!(results.iter().all(|r| !r.split_brain));
    assert_eq!(results.iter().map(|r| r.lost_acked_writes).sum::<u64>(), 0);
}

#[test]
fn a_faster_heartbeat_in_the_combined_architecture_breaks_the_hardware_ordering() {
    // Mechanisms, not drawn results: with combined_deadtime as short as the pair's, the
    // peer takes over as fast as in DRBD + Heartbeat and the study's ordering is gone.
    let mut profile = Profile::thesis();
    profile.heartbeat.combined_deadtime = profile.heartbeat.deadtime;
    let cells: Vec<Cell> = Cell::all()
        .into_iter()
        .filter(|c| c.failure == sim::FailureKind::Hardware && c.platform == sim::Platform::Vmware)
        .collect();
    let results = run_study(&profile, &cells, 6, 1, 2, MAX_EVENTS_PER_TRIAL, &|_| {})
        .expect("the profile runs");
    let facts = acceptance::facts(&results);
    assert!(facts.iter().any(|f| {
        f.statement.starts_with("hardware failure, VMware")
            && f.statement.contains("faster than combined")
            && !f.holds
    }));
}

fn dualha() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dualha"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dualha-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn two_runs_with_one_seed_write_byte_identical_reports() {
    let a = temp_dir("a");
    let b = temp_dir("b");
    for dir in [&a, &b] {
        let out = dualha()
            .args(["reproduce", "--trials", "2", "--seed", "9", "--out"])
            .arg(dir)
            .output()
            .expect("dualha runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut names: Vec<String> = std::fs::read_dir(&a)
        .expect("output directory")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for must in [
        "REPORT.md",
        "results.json",
        "tables.md",
        "tables.csv",
        "stats.csv",
        "phases.png",
        "phases.svg",
        "recovery-hardware-mysql.png",
    ] {
        assert!(
            names.iter().any(|n| n == must),
            "{must} missing from {names:?}"
        );
    }
    for n in &names {
        let x = std::fs::read(a.join(n)).expect("read");
        let y = std::fs::read(b.join(n)).expect("read");
        assert!(x == y, "{n} differs between two runs with one seed");
    }
    let report = std::fs::read_to_string(a.join("REPORT.md")).expect("report");
    assert!(report.contains("Recovered in all trials (Y) or never (N)"));
    let _ = std::fs::remove_dir_all(&a);
    let _ = std::fs::remove_dir_all(&b);
}

#[test]
fn a_bad_profile_is_refused_with_exit_2_naming_the_key() {
    let dir = temp_dir("profile");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("bad.toml");
    let text = sim::profile::THESIS_TOML.replace("rings = 1", "rings = 3");
    std::fs::write(&path, text).expect("write profile");
    let out = dualha()
        .args(["reproduce", "--trials", "1", "--profile"])
        .arg(&path)
        .arg("--out")
        .arg(dir.join("out"))
        .output()
        .expect("dualha runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("heartbeat.rings"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
