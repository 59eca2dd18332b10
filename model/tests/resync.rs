//! Resync: only dirty blocks travel, at the configured rate, and an interrupted resync
//! resumes where it stopped.

mod common;

use core::time::Duration;

use common::*;
use model::replication::{ConnState, DiskState, ReplicaCommand, ReplicaNotice, Role};

fn resynced(lab: &Lab, n: model::NodeId) -> Vec<u64> {
    notices(lab, n)
        .into_iter()
        .filter_map(|x| match x {
            ReplicaNotice::Resynced(b) => Some(b),
            _ => None,
        })
        .collect()
}

#[test]
fn reconnecting_resyncs_exactly_the_blocks_written_while_disconnected() {
    let mut lab = primary_pair(&|_| {});
    for (i, b) in [1u64, 2, 3, 500, 1023].into_iter().enumerate() {
        write(&mut lab, A, i as u64, b);
    }
    lab.run_for(Duration::from_millis(50));
    let gen_before = replica(&lab, A).uuids();
    lab.partition(A, B);
    detect_loss(&mut lab);
    // Written while disconnected; block 2 twice.
    for (i, b) in [2u64, 7, 600, 2].into_iter().enumerate() {
        write(&mut lab, A, 10 + i as u64, b);
    }
    lab.run_for(Duration::from_millis(50));
    assert_eq!(replica(&lab, A).bitmap().count(), 3);
    assert_ne!(
        replica(&lab, A).uuids().current,
        gen_before.current,
        "a Primary that loses its peer starts a new data generation"
    );
    lab.take_records();
    lab.heal(A, B);
    lab.run_for(Duration::from_secs(11));
    assert_eq!(replica(&lab, B).conn(), ConnState::Connected);
    assert_eq!(replica(&lab, B).disk(), DiskState::UpToDate);
    let mut got = resynced(&lab, B);
    got.sort();
    assert_eq!(got, vec![2, 7, 600], "only the dirty blocks travel");
    assert_identical(&lab);
    assert_eq!(on_disk(&lab, B, 2), Some(13));
    assert!(replica(&lab, A).bitmap().is_empty());
    assert!(replica(&lab, B).bitmap().is_empty());
    // The target adopted the source's identifiers.
    assert_eq!(
        replica(&lab, A).uuids().current & !1,
        replica(&lab, B).uuids().current
    );
    assert_eq!(replica(&lab, A).uuids().bitmap, 0);
    assert!(notices(&lab, A).contains(&ReplicaNotice::SyncFinished { blocks: 3 }));
}

#[test]
fn resync_runs_at_the_configured_rate_and_resumes_after_an_interruption() {
    // 40 KiB/s = 10 blocks/s: one block per 100 ms tick.
    let slow = |c: &mut model::replication::ReplicaConfig| c.resync_rate = 40 * 1024;
    let mut lab = primary_pair(&slow);
    lab.partition(A, B);
    detect_loss(&mut lab);
    for i in 0..40u64 {
        write(&mut lab, A, 100 + i, 200 + i);
    }
    lab.run_for(Duration::from_millis(100));
    lab.take_records();
    lab.heal(A, B);
    // Until A's next Hello (connect-int), then 1.5 s of resync.
    assert!(wait_for(&mut lab, Duration::from_secs(11), |l| {
        replica(l, B).conn() == ConnState::SyncTarget
    }));
    let t_sync = lab.now();
    lab.run_for(Duration::from_millis(1500));
    let first = resynced(&lab, B);
    assert_eq!(replica(&lab, B).conn(), ConnState::SyncTarget);
    assert!(
        (10..=20).contains(&first.len()),
        "about 10 blocks/s, got {} in 1.5 s from {t_sync}",
        first.len()
    );
    // Cut the link mid-resync.
    lab.partition(A, B);
    detect_loss(&mut lab);
    assert_eq!(replica(&lab, B).disk(), DiskState::Inconsistent);
    assert_eq!(replica(&lab, B).conn(), ConnState::Connecting);
    lab.take_records();
    lab.heal(A, B);
    lab.run_for(Duration::from_secs(20));
    let second = resynced(&lab, B);
    assert_eq!(replica(&lab, B).conn(), ConnState::Connected);
    assert_eq!(replica(&lab, B).disk(), DiskState::UpToDate);
    assert_identical(&lab);
    // Resumed: the blocks done before the cut are not sent again.
    for b in &first {
        assert!(!second.contains(b), "block {b} was resynced twice");
    }
    assert_eq!(first.len() + second.len(), 40);
}

#[test]
fn application_writes_during_resync_are_mirrored_and_never_overwritten_by_old_data() {
    let slow = |c: &mut model::replication::ReplicaConfig| c.resync_rate = 40 * 1024;
    let mut lab = primary_pair(&slow);
    lab.partition(A, B);
    detect_loss(&mut lab);
    for i in 0..20u64 {
        write(&mut lab, A, 100 + i, 300 + i);
    }
    lab.run_for(Duration::from_millis(100));
    lab.heal(A, B);
    assert!(wait_for(&mut lab, Duration::from_secs(11), |l| {
        replica(l, A).conn() == ConnState::SyncSource
    }));
    // Overwrite dirty blocks while they wait to be resynced.
    for i in 0..20u64 {
        write(&mut lab, A, 500 + i, 300 + i);
        lab.run_for(Duration::from_millis(37));
    }
    lab.run_for(Duration::from_secs(5));
    assert_eq!(replica(&lab, A).conn(), ConnState::Connected);
    assert_identical(&lab);
    for i in 0..20u64 {
        assert_eq!(on_disk(&lab, B, 300 + i), Some(500 + i));
    }
}

#[test]
fn pause_and_resume_sync() {
    let slow = |c: &mut model::replication::ReplicaConfig| c.resync_rate = 40 * 1024;
    let mut lab = primary_pair(&slow);
    lab.partition(A, B);
    detect_loss(&mut lab);
    for i in 0..10u64 {
        write(&mut lab, A, i, i);
    }
    lab.heal(A, B);
    assert!(wait_for(&mut lab, Duration::from_secs(11), |l| {
        replica(l, B).conn() == ConnState::SyncTarget
    }));
    lab.command(B, ReplicaCommand::PauseSync);
    lab.run_for(Duration::from_millis(10));
    assert_eq!(replica(&lab, A).conn(), ConnState::PausedSyncS);
    assert_eq!(replica(&lab, B).conn(), ConnState::PausedSyncT);
    let left = replica(&lab, A).bitmap().count();
    lab.run_for(Duration::from_secs(3));
    assert_eq!(
        replica(&lab, A).bitmap().count(),
        left,
        "paused means paused"
    );
    lab.command(B, ReplicaCommand::ResumeSync);
    lab.run_for(Duration::from_secs(3));
    assert_eq!(replica(&lab, A).conn(), ConnState::Connected);
    assert_identical(&lab);
}

#[test]
fn a_crashed_primary_resyncs_its_activity_log_to_the_peer() {
    // A crashes as Primary with writes that reached only its own disk; B stays Secondary.
    let mut lab = primary_pair(&|_| {});
    lab.net.set_delay(A, B, Duration::from_millis(10));
    write(&mut lab, A, 1, 70);
    lab.run_for(Duration::from_millis(5));
    assert_eq!(on_disk(&lab, A, 70), Some(1));
    assert_eq!(on_disk(&lab, B, 70), None);
    lab.crash(A);
    detect_loss(&mut lab);
    reboot(&mut lab, A, &|_| {});
    assert!(replica(&lab, A).crashed_primary());
    assert_eq!(replica(&lab, A).role(), Role::Secondary);
    // The whole 4 MiB extent of block 70 is marked out of sync.
    assert!(replica(&lab, A).bitmap().contains(70));
    assert_eq!(replica(&lab, A).bitmap().count(), 1024);
    connect_both(&mut lab);
    lab.run_for(Duration::from_secs(3));
    assert!(notices(&lab, A).contains(&ReplicaNotice::Handshake {
        rule: 40,
        outcome: model::replication::handshake::Outcome::SyncSource { full: false }
    }));
    assert_identical(&lab);
    assert!(!replica(&lab, A).crashed_primary());
}

#[test]
fn invalidating_a_connected_secondary_resyncs_every_block_from_the_primary() {
    let mut lab = primary_pair(&|_| {});
    for (i, b) in [3u64, 9].into_iter().enumerate() {
        write(&mut lab, A, i as u64, b);
    }
    lab.run_for(Duration::from_millis(50));
    let blocks = replica(&lab, A).config().blocks;
    lab.take_records();
    lab.command(A, ReplicaCommand::Invalidate);
    assert_eq!(
        replica(&lab, A).disk(),
        DiskState::UpToDate,
        "a Primary is never invalidated"
    );
    lab.command(B, ReplicaCommand::Invalidate);
    assert_eq!(replica(&lab, B).disk(), DiskState::Inconsistent);
    assert_eq!(replica(&lab, B).bitmap().count(), blocks);
    lab.run_for(Duration::from_millis(10));
    assert!(
        notices(&lab, A).contains(&ReplicaNotice::SyncStarted {
            source: true,
            blocks
        }),
        "the Primary resyncs the whole device: {:?}",
        notices(&lab, A)
    );
    lab.run_for(Duration::from_secs(60));
    assert_eq!(replica(&lab, B).conn(), ConnState::Connected);
    assert_eq!(replica(&lab, B).disk(), DiskState::UpToDate);
    assert_eq!(resynced(&lab, B).len() as u64, blocks);
    assert_identical(&lab);
    assert_eq!(on_disk(&lab, B, 9), Some(1));
}

#[test]
fn invalidating_a_disconnected_secondary_makes_the_next_connection_a_full_resync() {
    let mut lab = primary_pair(&|_| {});
    write(&mut lab, A, 0, 5);
    lab.run_for(Duration::from_millis(50));
    let blocks = replica(&lab, A).config().blocks;
    lab.partition(A, B);
    detect_loss(&mut lab);
    lab.command(B, ReplicaCommand::Invalidate);
    assert_eq!(replica(&lab, B).disk(), DiskState::Inconsistent);
    lab.command(B, ReplicaCommand::Promote { force: false });
    assert_eq!(
        replica(&lab, B).role(),
        Role::Secondary,
        "no good data to serve"
    );
    lab.take_records();
    lab.heal(A, B);
    lab.run_for(Duration::from_secs(60));
    assert_eq!(replica(&lab, B).disk(), DiskState::UpToDate);
    assert_eq!(
        resynced(&lab, B).len() as u64,
        blocks,
        "every block travels"
    );
    assert_identical(&lab);
}
