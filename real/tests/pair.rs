//! Two `dualha-node` processes on loopback, a real NBD client, real kills and partitions:
//! replication, failover, resync, split brain and fencing as an operator would see them.

mod common;

use std::time::{Duration, Instant};

use common::{FAST_TIMERS, Lab, LabOptions, eventually, qemu_io, same_bytes};
use real::control::ControlRequest;

const WAIT: Duration = Duration::from_secs(20);

fn fast() -> LabOptions {
    LabOptions {
        extra: [FAST_TIMERS.to_string(), FAST_TIMERS.to_string()],
        ..LabOptions::default()
    }
}

#[test]
fn writes_through_nbd_are_on_the_peer_disk_and_survive_kill_9_of_the_primary() {
    let mut lab = Lab::new("failover", fast());
    lab.start_synced();
    assert!(
        same_bytes(&lab.a.disk(), &lab.b.disk()),
        "the initial sync copied every block"
    );

    // Aligned and unaligned writes through a real NBD client; protocol C acknowledged them.
    qemu_io(
        &lab.a.nbd_url(),
        &[
            "write -P 0xab 0 1M",
            "write -P 0x5c 1049000 5000",
            "write -z 2M 64k",
        ],
    )
    .expect("writes on the Primary");
    assert!(
        same_bytes(&lab.a.disk(), &lab.b.disk()),
        "acknowledged writes are on bravo's disk"
    );
    let err = qemu_io(&lab.b.nbd_url(), &["read 0 4k"]).expect_err("the Secondary does not export");
    assert!(err.contains("bravo is Secondary"), "{err}");

    // Power loss of the Primary.
    lab.a.kill9();
    let t0 = Instant::now();
    let ok = eventually(WAIT, || qemu_io(&lab.b.nbd_url(), &["read 0 4k"]).is_ok());
    let failover = t0.elapsed();
    assert!(ok, "bravo took over\n{}", lab.b.log_text());
    eprintln!("kill -9 to first NBD read on the new Primary: {failover:?}");
    qemu_io(
        &lab.b.nbd_url(),
        &[
            "read -P 0xab 0 1M",
            "read -P 0x5c 1049000 5000",
            "read -P 0 2M 64k",
        ],
    )
    .expect("every acknowledged write is on the new Primary");
    assert!(lab.b.logged("bravo: heartbeat: node alpha is dead"));
    assert!(lab.b.logged("bravo: role:Primary"));

    // The old Primary comes back: it rejoins as Secondary and catches up.
    qemu_io(&lab.b.nbd_url(), &["write -P 0x77 8M 256k"]).expect("write while degraded");
    lab.a.start();
    lab.a.wait_for("resynced", WAIT, |s| {
        s.role == "Secondary" && s.disk == "UpToDate" && s.connection == "Connected"
    });
    assert!(
        same_bytes(&lab.a.disk(), &lab.b.disk()),
        "alpha resynced bravo's writes"
    );
}

#[test]
fn a_restarted_secondary_resyncs_only_the_blocks_written_without_it() {
    let mut lab = Lab::new("resync", fast());
    lab.start_synced();
    lab.b.kill9();
    lab.a
        .wait_for("disconnected", WAIT, |s| s.connection == "Connecting");
    // Ten blocks, spread over the device.
    let writes: Vec<String> = (0..10)
        .map(|i| format!("write -P 0x{:02x} {} 4k", 0x10 + i, i * 5 * 1024 * 1024))
        .collect();
    let refs: Vec<&str> = writes.iter().map(String::as_str).collect();
    qemu_io(&lab.a.nbd_url(), &refs).expect("degraded writes");
    let s = lab.a.wait_for("dirty", WAIT, |s| s.out_of_sync_bytes > 0);
    assert_eq!(
        s.out_of_sync_bytes,
        10 * 4096,
        "exactly the written blocks are out of sync"
    );
    lab.b.start();
    lab.b.wait_for("resynced", WAIT, |s| {
        s.connection == "Connected" && s.disk == "UpToDate"
    });
    assert!(
        lab.a
            .logged("resync started as SyncSource (40 KiB out of sync)"),
        "{}",
        lab.a.log_text()
    );
    assert!(same_bytes(&lab.a.disk(), &lab.b.disk()));
}

#[test]
fn a_partition_without_fencing_is_a_split_brain_detected_on_reconnect() {
    let mut lab = Lab::new(
        "splitbrain",
        LabOptions {
            proxies: true,
            ..fast()
        },
    );
    lab.start_synced();
    lab.partition(true);
    // Heartbeat on bravo declares alpha dead and takes over: two Primaries.
    lab.b.wait_for("Primary", WAIT, |s| s.role == "Primary");
    assert_eq!(lab.a.status().expect("alpha runs").role, "Primary");
    qemu_io(&lab.a.nbd_url(), &["write -P 0xaa 0 64k"]).expect("alpha writes");
    qemu_io(&lab.b.nbd_url(), &["write -P 0xbb 1M 64k"]).expect("bravo writes");
    lab.partition(false);
    // DRBD's default after-sb policies are `disconnect`: both refuse to resync.
    assert!(
        eventually(WAIT, || lab.a.logged("Split-Brain detected")
            && lab.b.logged("Split-Brain detected")),
        "split brain detected on both\n{}\n{}",
        lab.a.log_text(),
        lab.b.log_text()
    );
    for n in [&lab.a, &lab.b] {
        n.wait_for("StandAlone", WAIT, |s| s.connection == "StandAlone");
    }
    // Heartbeat sees both active and the node that is not preferred gives the group up.
    lab.b.wait_for("Secondary", WAIT, |s| s.role == "Secondary");
    // Manual recovery as drbd.conf(5) describes it: the victim discards its changes.
    let r = lab.b.ask(ControlRequest::Connect {
        discard_my_data: true,
    });
    assert!(r.ok, "{}", r.message);
    let r = lab.a.ask(ControlRequest::Connect {
        discard_my_data: false,
    });
    assert!(r.ok, "{}", r.message);
    lab.b.wait_for("resynced from alpha", WAIT, |s| {
        s.connection == "Connected" && s.disk == "UpToDate"
    });
    assert!(
        same_bytes(&lab.a.disk(), &lab.b.disk()),
        "bravo now holds alpha's data"
    );
    qemu_io(
        &lab.a.nbd_url(),
        &["read -P 0xaa 0 64k", "read -P 0 1M 64k"],
    )
    .expect("alpha's write kept, bravo's discarded");
}

#[test]
fn the_survivor_fences_a_hung_peer_before_it_takes_over() {
    let stonith = |dir: &std::path::Path, victim: &str| {
        format!(
            "[handlers]\nstonith = \"kill -9 $(cat {d}/{victim}.pid) && echo \\\"$DUALHA_NODE fenced $DUALHA_TARGET\\\" > {d}/fenced\"\n",
            d = dir.display()
        )
    };
    let mut lab = Lab::new("fencing", fast());
    for (node, victim) in [(&lab.a, "bravo"), (&lab.b, "alpha")] {
        let mut text = std::fs::read_to_string(&node.config).expect("config");
        text = text.replace(
            "[heartbeat]\n",
            "[heartbeat]\nstonith = true\nfence-timeout = 5\n",
        );
        text.push_str(&stonith(&lab.dir, victim));
        std::fs::write(&node.config, text).expect("config");
    }
    lab.start_synced();
    // The Primary hangs (SIGSTOP): it stops heartbeating but is not dead.
    lab.a.signal("STOP");
    lab.b.wait_for("Primary", WAIT, |s| s.role == "Primary");
    let log = lab.b.log_text();
    let fenced = log
        .find("STONITH node alpha: done")
        .expect("bravo fenced alpha");
    let promoted = log.find("bravo: role:Primary").expect("bravo promoted");
    assert!(fenced < promoted, "fencing came first:\n{log}");
    let record = std::fs::read_to_string(lab.dir.join("fenced")).expect("the STONITH command ran");
    assert_eq!(record.trim(), "bravo fenced alpha");
    assert!(lab.a.is_dead(), "alpha is off");
}

#[test]
fn sigterm_hands_the_group_over_without_waiting_for_deadtime() {
    // A deadtime of 30 s: only a graceful handover can be quick.
    let slow = FAST_TIMERS
        .replace("deadtime = 0.6", "deadtime = 30")
        .replace("initdead = 2.0", "initdead = 30");
    let mut lab = Lab::new(
        "handover",
        LabOptions {
            extra: [slow.clone(), slow],
            ..LabOptions::default()
        },
    );
    lab.start_synced();
    qemu_io(&lab.a.nbd_url(), &["write -P 0x42 0 128k"]).expect("write");
    let t0 = Instant::now();
    lab.a.signal("TERM");
    lab.b
        .wait_for("Primary", Duration::from_secs(15), |s| s.role == "Primary");
    eprintln!("graceful handover: {:?}", t0.elapsed());
    assert_eq!(lab.a.wait_exit(WAIT), Some(0), "alpha stopped cleanly");
    qemu_io(&lab.b.nbd_url(), &["read -P 0x42 0 128k"]).expect("data on bravo");
}

#[test]
fn a_primary_that_loses_replication_outdates_its_peer_through_fence_peer() {
    // dopd's job done by a script: outdate the peer over the control socket (dopd uses
    // the heartbeat ring), then exit 4, "peer outdated". The peer may not have noticed
    // the lost connection yet, and a connected node cannot be outdated: the script
    // retries, as crm-fence-peer.sh waits. The rings stay up.
    let mut lab = Lab::new(
        "fencepeer",
        LabOptions {
            proxies: true,
            ..fast()
        },
    );
    let handler = |peer_config: &std::path::Path| {
        format!(
            "[handlers]\nfence-peer = \"env | grep ^DRBD_ > {d}/fence-env; for i in $(seq 100); do {node} outdate --config {peer} && exit 4; sleep 0.1; done; exit 5\"\n",
            d = lab.dir.display(),
            node = common::NODE,
            peer = peer_config.display()
        )
    };
    for (node, peer) in [(&lab.a, &lab.b), (&lab.b, &lab.a)] {
        let mut text = std::fs::read_to_string(&node.config).expect("config");
        text = text.replace("[drbd]\n", "[drbd]\nfencing = \"resource-only\"\n");
        text.push_str(&handler(&peer.config));
        std::fs::write(&node.config, text).expect("config");
    }
    lab.start_synced();
    lab.repl_proxy.as_ref().expect("proxy").set_cut(true);
    lab.b.wait_for("Outdated", WAIT, |s| s.disk == "Outdated");
    let env = std::fs::read_to_string(lab.dir.join("fence-env")).expect("the handler ran");
    for want in ["DRBD_RESOURCE=r0", "DRBD_PEER=bravo", "DRBD_NODE=alpha"] {
        assert!(env.lines().any(|l| l == want), "{want} in {env}");
    }
    // The Primary goes on alone; the outdated Secondary could not be promoted.
    qemu_io(&lab.a.nbd_url(), &["write -P 0x66 0 64k"]).expect("alpha keeps serving");
    let r = lab.b.ask(ControlRequest::Promote { force: false });
    assert!(!r.ok && r.message.contains("Outdated"), "{}", r.message);
    lab.repl_proxy.as_ref().expect("proxy").set_cut(false);
    lab.b.wait_for("resynced", WAIT, |s| {
        s.connection == "Connected" && s.disk == "UpToDate"
    });
    assert!(same_bytes(&lab.a.disk(), &lab.b.disk()));
}

#[test]
fn a_broken_replication_socket_is_noticed_at_once_even_with_drbd_s_default_ping_int() {
    // DRBD's default ping-int of 10 s is far longer than the 0.6 s deadtime: were the
    // replica told of the dead peer only by its ping timeout, Heartbeat's take-over would
    // find the peer still "Primary" and be refused until then. The socket's reset on
    // kill -9 tells it at once, as DRBD's socket error does.
    let timers = FAST_TIMERS.replace("ping-int = 0.3", "ping-int = 10");
    let mut lab = Lab::new(
        "brokensocket",
        LabOptions {
            extra: [timers.clone(), timers],
            ..LabOptions::default()
        },
    );
    lab.start_synced();
    lab.a.kill9();
    lab.b.wait_for("Primary", WAIT, |s| s.role == "Primary");
    let log = lab.b.log_text();
    assert!(log.contains("bravo: replication:Connecting"), "{log}");
    assert!(!log.contains("promote refused"), "{log}");
    qemu_io(&lab.b.nbd_url(), &["read 0 4k"]).expect("bravo serves");
}

#[test]
fn a_client_request_is_one_replicated_write_and_lands_on_the_peer_disk() {
    let mut lab = Lab::new("runs", fast());
    lab.start_synced();
    let acked = |lab: &Lab| lab.a.status().map_or(0, |s| s.writes_acked);
    let before = acked(&lab);
    // Ten 64 KiB writes, one of 1 MiB (256 blocks, one run), one of 2 MiB (two runs),
    // one unaligned at both ends (a run of 2 and two read-modify-writes) and one
    // WRITE_ZEROES of 64 KiB.
    let mut cmds: Vec<String> = (0..10)
        .map(|i| format!("write -P {} {}k 64k", 0x10 + i, 64 * i))
        .collect();
    cmds.push("write -P 0x3a 1M 1M".into());
    cmds.push("write -P 0x3b 4M 2M".into());
    cmds.push("write -P 0x3c 8294500 12288".into());
    cmds.push("write -z 12M 64k".into());
    let refs: Vec<&str> = cmds.iter().map(String::as_str).collect();
    qemu_io(&lab.a.nbd_url(), &refs).expect("writes on the Primary");
    assert_eq!(
        acked(&lab) - before,
        10 + 1 + 2 + 3 + 1,
        "one acknowledged replica write per run, not per 4 KiB block"
    );
    assert!(
        same_bytes(&lab.a.disk(), &lab.b.disk()),
        "acknowledged (protocol C) writes are on bravo's disk"
    );
    let bravo = std::fs::read(lab.b.disk()).expect("bravo's disk");
    for i in 0..10usize {
        let block = &bravo[i * 65536..(i + 1) * 65536];
        assert!(
            block.iter().all(|&b| b == 0x10 + i as u8),
            "64 KiB write {i}"
        );
    }
    assert!(bravo[(1 << 20)..(2 << 20)].iter().all(|&b| b == 0x3a));
    assert!(bravo[(4 << 20)..(6 << 20)].iter().all(|&b| b == 0x3b));
    assert!(bravo[8294500..8294500 + 12288].iter().all(|&b| b == 0x3c));
    assert!(
        bravo[(12 << 20)..(12 << 20) + 65536]
            .iter()
            .all(|&b| b == 0)
    );

    // Many requests in flight at once, answered out of order, from a real client.
    let out = std::process::Command::new("qemu-img")
        .args([
            "bench", "-f", "raw", "-w", "-d", "32", "-s", "64k", "-c", "400",
        ])
        .args(["--pattern=0x5a", "-o", "16M", &lab.a.nbd_url()])
        .output()
        .expect("qemu-img (package qemu-utils) runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        same_bytes(&lab.a.disk(), &lab.b.disk()),
        "after qemu-img bench"
    );
    let bravo = std::fs::read(lab.b.disk()).expect("bravo's disk");
    assert!(
        bravo[(16 << 20)..(16 << 20) + 400 * 65536]
            .iter()
            .all(|&b| b == 0x5a)
    );
    // Reads of runs through the client see the same bytes.
    qemu_io(
        &lab.a.nbd_url(),
        &["read -P 0x3b 4M 2M", "read -P 0x3c 8294500 12288"],
    )
    .expect("reads on the Primary");
}
