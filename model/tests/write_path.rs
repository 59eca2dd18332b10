//! The write path: each protocol acknowledges at exactly DRBD's point, and what a
//! Primary crash loses under each.

mod common;

use core::time::Duration;

use common::*;
use model::replication::{ConnState, Protocol, ReplicaCommand, Role};
use model::{Effect, IoError, Time, WriteId};

/// Network 10 ms one way, disks 1 ms: the points are far apart.
fn slow_link(protocol: Protocol) -> Lab {
    let mut lab = primary_pair(&|c| c.protocol = protocol);
    lab.net.set_delay(A, B, Duration::from_millis(10));
    for n in [A, B] {
        lab.disk_mut(n).write_latency = Duration::from_millis(1);
    }
    lab
}

/// Runs one write from `t0` and returns when it was acknowledged, relative to `t0`.
fn ack_delay(protocol: Protocol) -> (Duration, Lab) {
    let mut lab = slow_link(protocol);
    let t0 = lab.now();
    write(&mut lab, A, 1, 3);
    lab.run_for(Duration::from_millis(100));
    let at = ack_time(&lab, A, 1).expect("the write is acknowledged");
    (at - t0, lab)
}

#[test]
fn protocol_a_acks_when_the_local_write_is_done_and_the_data_is_sent() {
    let (d, _) = ack_delay(Protocol::A);
    // Local disk 1 ms; the peer has not even received it (10 ms away).
    assert_eq!(d, Duration::from_millis(1));
}

#[test]
fn protocol_b_acks_when_the_peer_has_received_the_data() {
    let (d, _) = ack_delay(Protocol::B);
    // 10 ms there, RecvAck 10 ms back; the peer's disk write is not waited for.
    assert_eq!(d, Duration::from_millis(20));
}

#[test]
fn protocol_c_acks_when_the_peers_disk_write_is_done() {
    let (d, lab) = ack_delay(Protocol::C);
    // 10 ms there, 1 ms peer disk, 10 ms back.
    assert_eq!(d, Duration::from_millis(21));
    assert_eq!(on_disk(&lab, B, 3), Some(1));
}

#[test]
fn no_ack_precedes_its_point_even_when_the_local_disk_is_slowest() {
    // Local disk 50 ms, network 1 ms: every protocol must still wait for the local write.
    for protocol in [Protocol::A, Protocol::B, Protocol::C] {
        let mut lab = primary_pair(&|c| c.protocol = protocol);
        lab.disk_mut(A).write_latency = Duration::from_millis(50);
        let t0 = lab.now();
        write(&mut lab, A, 1, 3);
        lab.run_for(Duration::from_millis(49));
        assert_eq!(
            lab.acked(A),
            vec![],
            "{protocol:?} acked before the local write"
        );
        lab.run_for(Duration::from_millis(2));
        assert_eq!(ack_time(&lab, A, 1), Some(t0 + Duration::from_millis(50)));
    }
}

/// A acks, crashes with the data still in flight, B is promoted: what did B get?
fn crash_with_writes_in_flight(protocol: Protocol) -> (Vec<WriteId>, Lab) {
    let mut lab = slow_link(protocol);
    for i in 0..5 {
        write(&mut lab, A, 100 + i, 10 + i);
    }
    // 5 ms: past the local write (1 ms), before the data reaches B (10 ms).
    lab.run_for(Duration::from_millis(5));
    let acked = lab.acked(A);
    lab.crash(A);
    detect_loss(&mut lab);
    assert_eq!(replica(&lab, B).conn(), ConnState::Connecting);
    lab.command(B, ReplicaCommand::Promote { force: false });
    assert_eq!(replica(&lab, B).role(), Role::Primary);
    (acked, lab)
}

#[test]
fn protocol_a_loses_acknowledged_writes_when_the_primary_crashes() {
    let (acked, lab) = crash_with_writes_in_flight(Protocol::A);
    assert_eq!(acked.len(), 5, "protocol A acked all five before the crash");
    for w in acked {
        assert_eq!(on_disk(&lab, B, w.0 - 90), None, "{w} should be lost");
    }
}

#[test]
fn protocol_c_loses_no_acknowledged_write_when_the_primary_crashes() {
    let (acked, lab) = crash_with_writes_in_flight(Protocol::C);
    assert!(acked.is_empty(), "nothing can be acked within 5 ms under C");
    // Let writes acked later (none) and in general: every ack is on B.
    for w in acked {
        assert_eq!(on_disk(&lab, B, w.0 - 90), Some(w.0));
    }
}

#[test]
fn protocol_c_acked_writes_survive_a_crash_right_after_the_ack() {
    let mut lab = slow_link(Protocol::C);
    for i in 0..5 {
        write(&mut lab, A, 100 + i, 10 + i);
    }
    lab.run_for(Duration::from_millis(21));
    let acked = lab.acked(A);
    assert_eq!(acked.len(), 5);
    lab.crash(A);
    detect_loss(&mut lab);
    lab.command(B, ReplicaCommand::Promote { force: false });
    for w in acked {
        assert_eq!(on_disk(&lab, B, w.0 - 90), Some(w.0), "{w} lost");
    }
}

#[test]
fn a_secondary_refuses_application_io_and_reads_are_local() {
    let mut lab = primary_pair(&|_| {});
    write(&mut lab, B, 1, 1);
    assert!(lab.effects_of(B).any(|e| *e
        == Effect::WriteFailed {
            write: WriteId(1),
            error: IoError::NotPrimary
        }));
    write(&mut lab, A, 2, 5);
    lab.run_for(Duration::from_millis(20));
    lab.command(
        A,
        ReplicaCommand::Read {
            id: model::ReadId(9),
            block: 5,
            count: 1,
        },
    );
    lab.run_for(Duration::from_millis(20));
    let read = lab.effects_of(A).find_map(|e| match e {
        Effect::ReadDone { read, result } => Some((*read, result.clone())),
        _ => None,
    });
    assert_eq!(
        read,
        Some((model::ReadId(9), Ok(Some(model::Payload::from_u64(2)))))
    );
    write(&mut lab, A, 3, common::BLOCKS);
    assert!(lab.effects_of(A).any(|e| *e
        == Effect::WriteFailed {
            write: WriteId(3),
            error: IoError::OutOfRange
        }));
}

#[test]
fn writes_while_disconnected_are_acked_locally_and_marked_out_of_sync() {
    let mut lab = primary_pair(&|_| {});
    lab.partition(A, B);
    detect_loss(&mut lab);
    let t0 = lab.now();
    write(&mut lab, A, 1, 40);
    lab.run_for(Duration::from_millis(10));
    assert_eq!(ack_time(&lab, A, 1), Some(t0 + DISK));
    assert!(replica(&lab, A).bitmap().contains(40));
    assert_eq!(replica(&lab, A).bitmap().count(), 1);
    let _ = Time::ZERO;
}

#[test]
fn a_local_disk_failure_fails_the_primarys_writes_and_detaches() {
    let mut lab = primary_pair(&|_| {});
    lab.fail_disk(A);
    write(&mut lab, A, 1, 1);
    lab.run_for(Duration::from_millis(20));
    assert!(lab.effects_of(A).any(|e| *e
        == Effect::WriteFailed {
            write: WriteId(1),
            error: IoError::Disk
        }));
    assert_eq!(
        replica(&lab, A).disk(),
        model::replication::DiskState::Diskless
    );
    // The peer learns that A has no disk.
    assert_eq!(
        replica(&lab, B).peer_disk(),
        model::replication::DiskState::Diskless
    );
}

/// Protocol B: A's write is acknowledged once B has *received* it (`RecvAck`), and B's
/// disk is slow, so the write is still on its way to B's disk when A crashes. B is
/// promoted after it noticed the loss: the acknowledged write must be on B's disk when B
/// becomes Primary (DRBD waits for the peer writes it received, `active_ee`, before the
/// connection is torn down; drbd_receiver.c `conn_disconnect` -> `drbd_disconnected`).
#[test]
fn protocol_b_loses_no_acknowledged_write_when_the_primary_crashes_before_the_peer_wrote_it() {
    let mut lab = primary_pair(&|c| c.protocol = Protocol::B);
    lab.disk_mut(B).write_latency = Duration::from_secs(20);
    let t0 = lab.now();
    write(&mut lab, A, 1, 7);
    lab.run_for(Duration::from_millis(10));
    // Local write 2 ms, RecvAck back at 2 ms: acknowledged long before B's disk is done.
    assert_eq!(ack_time(&lab, A, 1), Some(t0 + DISK));
    assert_eq!(on_disk(&lab, B, 7), None, "B's write is still in flight");
    lab.crash(A);
    detect_loss(&mut lab);
    assert_eq!(replica(&lab, B).conn(), ConnState::Connecting);
    assert_eq!(on_disk(&lab, B, 7), None, "B's write is still in flight");
    lab.command(B, ReplicaCommand::Promote { force: false });
    let promoted = wait_for(&mut lab, Duration::from_secs(30), |l| {
        replica(l, B).role() == Role::Primary
    });
    assert!(promoted, "B is promoted once its disk is done");
    let at = lab
        .records()
        .iter()
        .find(|r| {
            r.node == B
                && r.effect
                    == Effect::Event(model::replication::ReplicationNotice::Replica(
                        model::replication::ReplicaNotice::Role(Role::Primary),
                    ))
        })
        .map(|r| r.time)
        .expect("B reports Primary");
    assert!(
        at >= t0 + Duration::from_secs(20),
        "B became Primary at {at:?}, before its peer write completed (at {:?})",
        t0 + Duration::from_secs(20)
    );
    assert_eq!(
        on_disk(&lab, B, 7),
        Some(1),
        "the acknowledged write is on the new Primary's disk"
    );
}
