//! `dualha sweep` and `dualha merge` as a user runs them: a sweep in three shards merged
//! gives the whole sweep's files byte for byte, and bad input exits 2 naming it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn dualha(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dualha"))
        .args(args)
        .output()
        .expect("the dualha binary runs")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dualha-sweep-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A tiny sweep where things happen: guest OS failures every 1-3 hours over 8.76 hours.
const SWEEP: [&str; 12] = [
    "sweep",
    "--param",
    "availability.guest_os.failure.mean=3600..10800:3600",
    "--param",
    "heartbeat.deadtime=10,30",
    "--years",
    "0.001",
    "--runs",
    "2",
    "--architecture",
    "drbd-heartbeat",
    "--platform",
];

fn ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn three_shards_merged_are_the_whole_sweep_byte_for_byte() {
    let whole = scratch("whole");
    let mut args = SWEEP.to_vec();
    args.extend(["vmware", "--out", s(&whole)]);
    ok(&dualha(&args));

    let parts = scratch("parts");
    let mut shards = Vec::new();
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let mut args = SWEEP.to_vec();
        // One thread for the shards, two for the whole: the thread count changes nothing.
        args.extend([
            "vmware",
            "--out",
            s(&parts),
            "--shard",
            &shard,
            "--threads",
            "1",
        ]);
        ok(&dualha(&args));
        shards.push(parts.join(format!("shard-{k}-of-3.json")));
    }
    let merged = scratch("merged");
    let mut args: Vec<&str> = vec!["merge", "--out", s(&merged)];
    // Any order.
    args.extend(shards.iter().rev().map(|p| s(p)));
    ok(&dualha(&args));

    for file in [
        "sweep.csv",
        "sweep.json",
        "availability-drbd-heartbeat-vmware.svg",
        "availability-drbd-heartbeat-vmware.png",
        "false-failovers-drbd-heartbeat-vmware.svg",
        "false-failovers-drbd-heartbeat-vmware.png",
        "lost-writes-drbd-heartbeat-vmware.svg",
        "lost-writes-drbd-heartbeat-vmware.png",
    ] {
        let a = std::fs::read(whole.join(file)).expect(file);
        let b = std::fs::read(merged.join(file)).expect(file);
        assert!(
            a == b,
            "{file} differs between the whole sweep and the merge"
        );
    }
    let csv = std::fs::read_to_string(whole.join("sweep.csv")).expect("csv");
    assert_eq!(csv.lines().count(), 7, "{csv}");
    assert!(
        csv.starts_with(
            "point,availability.guest_os.failure.mean,heartbeat.deadtime,architecture,"
        )
    );
    assert!(
        csv.contains("\n5,10800,30,drbd-heartbeat,vmware,apache,"),
        "{csv}"
    );

    // A shard missing, or given twice, or from another sweep: refused, naming it.
    let out = dualha(&["merge", "--out", s(&merged), s(&shards[0]), s(&shards[1])]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in no shard: 2, 5"), "{err}");
    let out = dualha(&[
        "merge",
        "--out",
        s(&merged),
        s(&shards[0]),
        s(&shards[1]),
        s(&shards[2]),
        s(&shards[0]),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("point 0 is in"));
    let other = scratch("other");
    let mut args = SWEEP.to_vec();
    args.extend([
        "vmware",
        "--out",
        s(&other),
        "--shard",
        "3/3",
        "--seed",
        "2",
    ]);
    ok(&dualha(&args));
    let out = dualha(&[
        "merge",
        "--out",
        s(&merged),
        s(&shards[0]),
        s(&shards[1]),
        s(&other.join("shard-3-of-3.json")),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("different sweeps"));
    for d in [whole, parts, merged, other] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn bad_parameters_exit_2_naming_them() {
    let out_dir = scratch("bad");
    let cases: [(&str, &[&str]); 6] = [
        ("heartbeat.deadtme=1..2:1", &["deadtme", "deadtime"]),
        ("heartbeat.deadtime=-5..5:5", &["heartbeat.deadtime", "-5"]),
        ("heartbeat.deadtime=1..2:0", &["1..2:0", "STEP <= 0"]),
        ("heartbeat.deadtime=1..5000:1", &["more than 1000"]),
        ("drbd.protocol=A,D", &["drbd.protocol", "D"]),
        (
            "drbd.resync_rate_mib=1.5,2",
            &["drbd.resync_rate_mib", "whole number"],
        ),
    ];
    for (param, says) in cases {
        let out = dualha(&[
            "sweep",
            "--param",
            param,
            "--years",
            "0.001",
            "--runs",
            "1",
            "--out",
            s(&out_dir),
        ]);
        assert_eq!(out.status.code(), Some(2), "{param}");
        let err = String::from_utf8_lossy(&out.stderr);
        for word in says {
            assert!(err.contains(word), "{param}: {err}");
        }
    }
    let out = dualha(&[
        "sweep",
        "--param",
        "heartbeat.deadtime=10..40:1",
        "--param",
        "heartbeat.keepalive=1..2:0.01",
        "--out",
        s(&out_dir),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("31 x 101 points"));
    let out = dualha(&[
        "sweep",
        "--param",
        "heartbeat.deadtime=10",
        "--shard",
        "4/3",
        "--out",
        s(&out_dir),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--shard \"4/3\""));
    let _ = std::fs::remove_dir_all(out_dir);
}

#[test]
fn availability_in_shards_merges_to_the_unsharded_output() {
    let dir = scratch("avail");
    let base = [
        "availability",
        "--years",
        "0.001",
        "--runs",
        "3",
        "--architecture",
        "drbd-heartbeat",
        "--json",
    ];
    let whole = dualha(&base);
    ok(&whole);
    let mut shards = Vec::new();
    for k in 1..=2 {
        let shard = format!("{k}/2");
        let mut args = base.to_vec();
        args.extend(["--shard", &shard, "--out", s(&dir)]);
        ok(&dualha(&args));
        shards.push(dir.join(format!("availability-shard-{k}-of-2.json")));
    }
    let merged = dualha(&["merge", "--json", s(&shards[1]), s(&shards[0])]);
    ok(&merged);
    assert!(!whole.stdout.is_empty());
    assert!(
        whole.stdout == merged.stdout,
        "the merged study differs from the unsharded one"
    );
    let out = dualha(&["merge", "--json", s(&shards[1])]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("runs in no shard: 0, 2, 4"));
    let _ = std::fs::remove_dir_all(dir);
}
