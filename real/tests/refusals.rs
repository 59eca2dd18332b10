//! What `dualha-node` refuses, and that a refusal never takes a running node down:
//! corrupt metadata, a wrong secret, a peer with other settings, garbage on the
//! replication port, bad configuration files.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::{FAST_TIMERS, Lab, LabOptions, eventually};

fn fast() -> LabOptions {
    LabOptions {
        extra: [FAST_TIMERS.to_string(), FAST_TIMERS.to_string()],
        ..LabOptions::default()
    }
}

/// Runs `dualha-node` to completion: (exit code, stderr).
fn run_node(args: &[&str], config: &std::path::Path) -> (Option<i32>, String) {
    let (code, _, err) = common::dualha_node(args, config);
    (code, err)
}

#[test]
fn corrupt_or_missing_metadata_is_refused_naming_the_file() {
    let lab = Lab::new("corrupt-md", fast());
    let meta = lab.a.meta();
    let good = std::fs::read(&meta).expect("metadata");
    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x10;
    for (what, bytes) in [
        ("flipped bit", flipped),
        ("truncated", good[..good.len() / 2].to_vec()),
    ] {
        std::fs::write(&meta, &bytes).expect("corrupt it");
        let (code, err) = run_node(&["run"], &lab.a.config);
        assert_eq!(code, Some(2), "{what}: {err}");
        assert!(
            err.contains("alpha.meta") && err.contains("corrupt metadata"),
            "{what}: {err}"
        );
        assert_eq!(
            std::fs::read(&meta).expect("still there"),
            bytes,
            "{what}: nothing rewritten"
        );
    }
    std::fs::remove_file(&meta).expect("remove");
    let (code, err) = run_node(&["run"], &lab.a.config);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("no metadata") && err.contains("create-md"),
        "{err}"
    );
    // create-md does not overwrite without --force.
    std::fs::write(&meta, b"anything").expect("write");
    let (code, err) = run_node(&["create-md"], &lab.a.config);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--force"), "{err}");
}

#[test]
fn a_wrong_secret_or_other_settings_keep_the_peers_apart() {
    let mut lab = Lab::new(
        "secret",
        LabOptions {
            secrets: ["correct horse battery", "incorrect horse battery"],
            ..fast()
        },
    );
    lab.a.start();
    lab.b.start();
    assert!(
        eventually(Duration::from_secs(10), || lab
            .a
            .logged("shared-secret differs")
            || lab.b.logged("shared-secret differs")),
        "{}\n{}",
        lab.a.log_text(),
        lab.b.log_text()
    );
    std::thread::sleep(Duration::from_millis(500));
    for n in [&lab.a, &lab.b] {
        let s = n.status().expect("still running");
        assert_ne!(
            s.connection, "Connected",
            "{}: connected without the secret",
            n.name
        );
    }

    let mut extra = [
        FAST_TIMERS.to_string(),
        FAST_TIMERS.replace("[drbd]\n", "[drbd]\nprotocol = \"A\"\n"),
    ];
    extra[0].push('\n');
    let mut lab = Lab::new(
        "protocol",
        LabOptions {
            extra,
            ..LabOptions::default()
        },
    );
    lab.a.start();
    lab.b.start();
    assert!(
        eventually(Duration::from_secs(10), || lab
            .a
            .logged("drbd.protocol differs: here C, peer A")),
        "{}",
        lab.a.log_text()
    );
    assert!(eventually(Duration::from_secs(5), || lab
        .b
        .logged("drbd.protocol differs: here A, peer C")));
}

#[test]
fn garbage_on_the_replication_port_closes_only_that_connection() {
    let mut lab = Lab::new("garbage", fast());
    lab.start_synced();
    let port = format!("{}:7789", lab.b.ip);
    for junk in [
        b"GET / HTTP/1.0\r\n\r\n".to_vec(),
        vec![0u8; 100],
        b"DHA1\x01\0\0\0\xff\xff\xff\xff\0\0\0\0".to_vec(), // a frame claiming 4 GiB
    ] {
        let mut s = TcpStream::connect(&port).expect("connect");
        let _ = s.write_all(&junk);
        drop(s);
    }
    std::thread::sleep(Duration::from_millis(300));
    let s = lab.b.status().expect("bravo still answers");
    assert_eq!(
        s.connection, "Connected",
        "the real peer's connection is untouched"
    );
    assert!(
        lab.b.logged("replication connection from"),
        "{}",
        lab.b.log_text()
    );
    common::qemu_io(&lab.a.nbd_url(), &["write -P 0x33 0 64k"]).expect("replication still works");
    assert!(common::same_bytes(&lab.a.disk(), &lab.b.disk()));
}

#[test]
fn bad_configuration_files_name_the_key_and_the_value() {
    let lab = Lab::new("badconfig", fast());
    let base = std::fs::read_to_string(&lab.a.config).expect("config");
    let cases = [
        (base.replace("id = 0", "id = 3"), "node.id = 3"),
        (
            base.replace("deadtime = 0.6", "deadtime = -1"),
            "heartbeat.deadtime = -1",
        ),
        (
            base.replace("[drbd]\n", "[drbd]\nfencing = \"resource-only\"\n"),
            "needs handlers.fence-peer",
        ),
        (
            base.replace(
                "[drbd]\n",
                "[drbd]\nafter-sb-0pri = \"discard-node-zulu\"\n",
            ),
            "drbd.after-sb-0pri",
        ),
        (
            base.replace("[storage]\n", "[storage]\ndsik = \"x\"\n"),
            "unknown field `dsik`",
        ),
        (
            base.replace("nbd = ", "nbd = \"not an address\"\nx = "),
            "nbd",
        ),
        (String::from("\u{0}\u{1}"), "TOML parse error"),
    ];
    for (text, expect) in cases {
        std::fs::write(&lab.a.config, &text).expect("write");
        let (code, err) = run_node(&["check-config"], &lab.a.config);
        assert_eq!(code, Some(2), "{expect}: {err}");
        assert!(
            err.contains("alpha.toml") && err.contains(expect),
            "expected {expect:?} in: {err}"
        );
    }
}
