//! `dualha lab` on this machine, as root: the lab of network namespaces is built from
//! the topology, carries traffic on every network (the command checks that itself with
//! a UDP echo between two members of each network, run inside their namespaces), and
//! leaves nothing behind: not after `down`, not after SIGTERM, not after `clean`.
//!
//! Without root (or without iproute2) these tests fail, loudly: a lab that cannot be
//! built must not look like one that works.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const DUALHA: &str = env!("CARGO_BIN_EXE_dualha");

fn dualha(args: &[&str]) -> Output {
    Command::new(DUALHA)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("dualha runs")
}

fn namespaces(prefix: &str) -> Vec<String> {
    let out = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("`ip netns list` runs (iproute2 is needed for the lab)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(&format!("{prefix}-")))
        .map(str::to_string)
        .collect()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn a_detached_lab_carries_traffic_refuses_a_second_copy_and_goes_away() {
    let name = "dhtest-det";
    let _ = dualha(&["lab", "clean", "--name", name]);
    let up = dualha(&["lab", "up", "--detach", "--name", name]);
    assert!(up.status.success(), "{}", text(&up));
    let out = String::from_utf8_lossy(&up.stdout);
    for net in ["public", "drbd", "hb0", "hb1", "management"] {
        assert!(out.contains(&format!("  {net}: ")), "{net} checked:\n{out}");
    }
    assert!(out.contains("public: client -> node1 answered"), "{out}");
    let made = namespaces(name);
    assert_eq!(made.len(), 7, "switch, 3 hosts, 2 guests, client: {made:?}");

    let again = dualha(&["lab", "up", "--detach", "--name", name]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains(&format!("{name}-switch exists")),
        "{}",
        text(&again)
    );
    assert_eq!(namespaces(name).len(), 7, "the refused run removed nothing");

    let down = dualha(&["lab", "down", "--name", name]);
    assert!(down.status.success(), "{}", text(&down));
    assert!(namespaces(name).is_empty(), "{:?}", namespaces(name));
    let down_again = dualha(&["lab", "down", "--name", name]);
    assert!(!down_again.status.success(), "nothing left to take down");
}

#[test]
fn a_held_lab_is_torn_down_on_sigterm() {
    let name = "dhtest-held";
    let _ = dualha(&["lab", "clean", "--name", name]);
    let child = Command::new(DUALHA)
        .args(["lab", "up", "--name", name, "--architecture", "combined"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dualha starts");
    let start = Instant::now();
    while namespaces(name).len() < 11 || start.elapsed() < Duration::from_millis(500) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the combined lab did not come up: {:?}",
            namespaces(name)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Wait for its traffic check to finish (it prints the lab when it holds it).
    std::thread::sleep(Duration::from_secs(3));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let out = child.wait_with_output().expect("dualha ends");
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("torn down (11 namespaces)"),
        "{}",
        text(&out)
    );
    assert!(namespaces(name).is_empty(), "{:?}", namespaces(name));
}

#[test]
fn clean_removes_what_a_killed_run_left() {
    let name = "dhtest-kill";
    let _ = dualha(&["lab", "clean", "--name", name]);
    let up = dualha(&["lab", "up", "--detach", "--name", name]);
    assert!(up.status.success(), "{}", text(&up));
    // A killed run's leftovers: the namespaces without their record, and a work
    // directory with a log in it.
    let _ = std::fs::remove_file(format!("/run/dualha/lab-{name}.json"));
    let work = format!("/run/dualha/lab-{name}");
    std::fs::create_dir_all(&work).expect("work directory");
    std::fs::write(format!("{work}/node1.log"), "left behind").expect("a log");
    let down = dualha(&["lab", "down", "--name", name]);
    assert!(!down.status.success(), "no record, no down");
    assert!(
        String::from_utf8_lossy(&down.stderr).contains("lab clean"),
        "the error points to clean: {}",
        text(&down)
    );
    let clean = dualha(&["lab", "clean", "--name", name]);
    assert!(clean.status.success(), "{}", text(&clean));
    assert!(
        String::from_utf8_lossy(&clean.stdout).contains("removed 7 leftover namespaces"),
        "{}",
        text(&clean)
    );
    assert!(namespaces(name).is_empty());
    assert!(
        !std::path::Path::new(&work).exists(),
        "the work directory is gone"
    );
    let bad = dualha(&["lab", "clean", "--name", "../etc"]);
    assert!(!bad.status.success());
}
