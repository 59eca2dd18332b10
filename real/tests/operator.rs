//! The operator's side of a running pair: `dualha-node status` (human and JSON),
//! refused commands and their exit codes, the control socket's permissions, and the
//! Prometheus metrics.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;

use common::{DISK_BYTES, FAST_TIMERS, Lab, LabOptions, dualha_node, qemu_io, same_bytes};
use real::control::ControlRequest;

fn scrape(addr: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("metrics endpoint");
    s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n")
        .expect("request");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("response");
    text
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("{name} in\n{text}"))
}

#[test]
fn status_commands_and_metrics_show_the_pair() {
    let mut lab = Lab::new(
        "operator",
        LabOptions {
            extra: [FAST_TIMERS.to_string(), FAST_TIMERS.to_string()],
            ..LabOptions::default()
        },
    );
    // Metrics on alpha's address, port 9101.
    let addr = format!("{}:9101", lab.a.ip);
    let text = std::fs::read_to_string(&lab.a.config).expect("config");
    let text = text.replace("[security]", &format!("metrics = \"{addr}\"\n[security]"));
    std::fs::write(&lab.a.config, text).expect("config");
    lab.start_synced();

    let (code, out, err) = dualha_node(&["status"], &lab.a.config);
    assert_eq!(code, Some(0), "{err}");
    for want in [
        "r0 role:Primary",
        "  disk:UpToDate",
        "  bravo role:Secondary",
        "replication:Connected peer-disk:UpToDate",
        "Heartbeat: peer bravo Alive; ring0 up",
    ] {
        assert!(out.contains(want), "{want:?} in\n{out}");
    }
    let (code, out, _) = dualha_node(&["status", "--json"], &lab.b.config);
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["status"]["role"], "Secondary");
    assert_eq!(v["status"]["peer_role"], "Primary");

    // A refused promotion says why and exits 1.
    let (code, out, _) = dualha_node(&["promote"], &lab.b.config);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("refused: the peer is Primary"), "{out}");

    // `outdate` changes nothing on a connected node, and says so.
    let (code, out, _) = dualha_node(&["outdate"], &lab.b.config);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("only a disconnected Secondary can be outdated"),
        "{out}"
    );
    assert_eq!(lab.b.status().expect("status").disk, "UpToDate");

    // `invalidate`: refused on the Primary with the rule it breaks; on the Secondary it
    // throws the local data away and takes every block from the peer. Damage bravo's
    // backing file behind its back: only a whole-device resync makes the two equal again.
    let (code, out, _) = dualha_node(&["invalidate"], &lab.a.config);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("only a Secondary can be invalidated"), "{out}");
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(lab.b.disk())
            .expect("bravo's disk");
        f.seek(SeekFrom::Start(3 << 20)).expect("seek");
        f.write_all(&[0x5a; 8192]).expect("damage");
    }
    assert!(!same_bytes(&lab.a.disk(), &lab.b.disk()));
    let r = lab.b.ask(ControlRequest::Invalidate);
    assert!(r.ok, "{}", r.message);
    let st = r.status.expect("status");
    assert_eq!(st.disk, "Inconsistent", "invalidated at once");
    assert_eq!(st.out_of_sync_bytes, DISK_BYTES, "every block out of sync");
    lab.b
        .wait_for("resynced", std::time::Duration::from_secs(60), |s| {
            s.disk == "UpToDate" && s.connection == "Connected"
        });
    assert!(same_bytes(&lab.a.disk(), &lab.b.disk()), "resynced whole");

    // Only the owner may use the control socket.
    let mode = std::fs::metadata(lab.a.socket())
        .expect("socket")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    qemu_io(
        &lab.a.nbd_url(),
        &["write -P 0x21 0 64k", "read -P 0x21 0 64k"],
    )
    .expect("I/O");
    let m = scrape(&addr);
    assert_eq!(metric(&m, "dualha_primary "), 1.0);
    assert_eq!(metric(&m, "dualha_connected "), 1.0);
    assert_eq!(metric(&m, "dualha_out_of_sync_bytes "), 0.0);
    // One replica write for the 64 KiB run (it was 16, one per block, before runs).
    assert!(metric(&m, "dualha_writes_acked_total ") >= 1.0, "{m}");
    assert!(metric(&m, "dualha_nbd_write_seconds_count ") >= 1.0, "{m}");

    // Degraded: bravo gone, alpha's writes are out of sync, and the metrics say so.
    lab.b.kill9();
    lab.a
        .wait_for("disconnected", std::time::Duration::from_secs(20), |s| {
            s.connection == "Connecting"
        });
    qemu_io(&lab.a.nbd_url(), &["write -P 0x22 1M 8k"]).expect("degraded write");
    let m = scrape(&addr);
    assert_eq!(metric(&m, "dualha_connected "), 0.0);
    assert_eq!(metric(&m, "dualha_out_of_sync_bytes "), 8192.0, "{m}");
}
