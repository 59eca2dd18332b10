//! `dualha simulate`: a scripted partition of the study's configuration ends in split
//! brain (exit 1, with the timeline); a bad schedule is refused (exit 2, naming it).

use std::process::Command;

fn dualha() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dualha"))
}

#[test]
fn the_shipped_partition_schedule_finds_the_split_brain() {
    let out = dualha()
        .args(["simulate", "--schedule"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schedules/partition.toml"
        ))
        .output()
        .expect("dualha runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("VIOLATION: split brain"), "{text}");
    assert!(text.contains("heartbeat: taking over resources"), "{text}");
    assert!(
        text.contains("FAULT partition a-b (every network)"),
        "{text}"
    );
}

#[test]
fn a_saved_random_schedule_replays_the_same_run() {
    let dir = std::env::temp_dir().join(format!("dualha-save-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("random.toml");
    let random = dualha()
        .args([
            "simulate",
            "--random",
            "3600",
            "--seed",
            "4",
            "--save-schedule",
        ])
        .arg(&file)
        .output()
        .expect("dualha runs");
    let replay = dualha()
        .args(["simulate", "--seed", "4", "--schedule"])
        .arg(&file)
        .output()
        .expect("dualha runs");
    assert_eq!(random.status.code(), replay.status.code());
    let without_comments = |o: &[u8]| -> String {
        String::from_utf8_lossy(o)
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        without_comments(&random.stdout),
        without_comments(&replay.stdout)
    );
    assert!(String::from_utf8_lossy(&replay.stdout).contains("FAULT "));
    // Never over an existing file.
    let again = dualha()
        .args(["simulate", "--random", "60", "--save-schedule"])
        .arg(&file)
        .output()
        .expect("dualha runs");
    assert_eq!(again.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn random_faults_print_their_schedule_and_replay_per_seed() {
    let run = || {
        dualha()
            .args([
                "simulate",
                "--random",
                "900",
                "--mean-gap",
                "200",
                "--seed",
                "4",
            ])
            .output()
            .expect("dualha runs")
    };
    let (a, b) = (run(), run());
    assert_eq!(a.stdout, b.stdout, "same seed, same output");
    assert!(String::from_utf8_lossy(&a.stdout).starts_with("# random schedule (seed 4):"));
}

#[test]
fn a_bad_schedule_is_refused_naming_the_problem() {
    let dir = std::env::temp_dir().join(format!("dualha-simulate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("bad.toml");
    std::fs::write(
        &path,
        "[[event]]\nat = 1.0\nkind = \"crash\"\nnode = \"zz\"\n",
    )
    .expect("write");
    let out = dualha()
        .args(["simulate", "--schedule"])
        .arg(&path)
        .output()
        .expect("dualha runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown node \"zz\""), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
