//! The group's OCF resources on real processes: the project's own agent
//! (`real/ocf/dummy-service`) started after the replica, moved on failover, restarted in
//! place when its monitor fails.

mod common;

use std::time::Duration;

use common::{FAST_TIMERS, Lab, LabOptions, eventually};

const WAIT: Duration = Duration::from_secs(20);

fn agent() -> String {
    format!("{}/ocf/dummy-service", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_service_follows_the_replica_and_is_restarted_when_its_monitor_fails() {
    let dir = std::env::temp_dir().join(format!("dualha-svc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let resource = |node: &str| {
        format!(
            "\n[[resource]]\nname = \"web\"\nkind = \"service\"\nagent = \"{}\"\nmonitor-interval = 0.2\nop-timeout = 5\nparams = {{ state = \"{d}/{node}.running\", log = \"{d}/actions\" }}\n",
            agent(),
            d = dir.display()
        )
    };
    let extra = [
        format!("{FAST_TIMERS}{}", resource("alpha")),
        format!("{FAST_TIMERS}{}", resource("bravo")),
    ];
    let mut lab = Lab::new(
        "service",
        LabOptions {
            extra,
            ..LabOptions::default()
        },
    );
    lab.start_synced();
    let running = |n: &str| dir.join(format!("{n}.running")).exists();
    assert!(
        eventually(WAIT, || running("alpha")),
        "{}",
        lab.a.log_text()
    );
    assert!(!running("bravo"));
    lab.a
        .wait_for("group started", WAIT, |s| s.group == "Started");

    // The service dies behind the cluster's back: the monitor sees OCF_NOT_RUNNING and,
    // with Pacemaker's default migration-threshold (INFINITY), it restarts in place.
    std::fs::remove_file(dir.join("alpha.running")).expect("kill the service");
    assert!(
        eventually(WAIT, || lab.a.logged("web: monitor failed (OCF exit 7)")),
        "{}",
        lab.a.log_text()
    );
    assert!(eventually(WAIT, || running("alpha")), "restarted on alpha");
    assert!(!running("bravo"));

    // Power loss: the replica and then the service move to bravo, in group order.
    lab.a.kill9();
    lab.b.wait_for("group started", WAIT, |s| {
        s.group == "Started" && s.role == "Primary"
    });
    assert!(running("bravo"));
    let log = lab.b.log_text();
    let promoted = log.find("bravo: role:Primary").expect("promoted");
    let started = log.find("bravo: web: started").expect("service started");
    assert!(
        promoted < started,
        "the replica is promoted before the service starts"
    );
    let actions = std::fs::read_to_string(dir.join("actions")).expect("agent log");
    assert!(
        actions.lines().all(|l| l.ends_with(" web")),
        "OCF_RESOURCE_INSTANCE set: {actions}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
