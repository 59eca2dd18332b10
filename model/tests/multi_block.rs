//! Writes and reads of a run of blocks: one write id, one `Data` message, one peer
//! acknowledgement and one disk request per run, while the protocols' acknowledgement
//! points, the out-of-sync bitmap (per block) and resync stay what they are for one block.

mod common;

use core::time::Duration;

use common::*;
use model::disk::BLOCK_SIZE;
use model::replication::{ConnMsg, ConnState, Protocol, ReplicaCommand, ReplicaMsg};
use model::{DiskOp, DiskToken, Effect, IoError, Payload, ReadId, WriteId};

const BS: usize = BLOCK_SIZE as usize;

/// Sixteen blocks (64 KiB), block `i` filled with byte `i + 1`.
fn run_payload(count: u32) -> Payload {
    let mut bytes = Vec::with_capacity(count as usize * BS);
    for i in 0..count {
        bytes.resize(bytes.len() + BS, i as u8 + 1);
    }
    Payload::from_vec(bytes)
}

/// A connected pair with A Primary, recording messages and disk requests too.
fn pair(protocol: Protocol) -> Lab {
    let mut lab = primary_pair(&|c| c.protocol = protocol);
    lab.set_recording_io(true);
    lab
}

fn write_run(lab: &mut Lab, id: u64, block: u64, count: u32) {
    lab.command(
        A,
        ReplicaCommand::Write {
            id: WriteId(id),
            block,
            count,
            data: run_payload(count),
        },
    );
}

/// `n`'s block `block` is the `i`th block of [`run_payload`].
fn holds(lab: &Lab, n: model::NodeId, block: u64, i: u32) -> bool {
    lab.disk(n)
        .block(block)
        .is_some_and(|p| p.as_bytes().len() == BS && p.as_bytes().iter().all(|&b| b == i as u8 + 1))
}

fn sends(lab: &Lab, n: model::NodeId) -> Vec<ConnMsg> {
    lab.effects_of(n)
        .filter_map(|e| match e {
            Effect::Send {
                msg: ReplicaMsg::Conn { msg, .. },
                ..
            } => Some(msg.clone()),
            _ => None,
        })
        .collect()
}

fn disk_requests(lab: &Lab, n: model::NodeId) -> Vec<(DiskToken, DiskOp)> {
    lab.effects_of(n)
        .filter_map(|e| match e {
            Effect::Disk(r) => Some((r.token, r.op.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_sixteen_block_write_is_one_message_one_ack_and_one_disk_request_on_each_side() {
    let mut lab = pair(Protocol::C);
    write_run(&mut lab, 1, 32, 16);
    lab.run_for(Duration::from_millis(50));

    let data: Vec<_> = sends(&lab, A)
        .into_iter()
        .filter(|m| matches!(m, ConnMsg::Data { .. }))
        .collect();
    assert_eq!(data.len(), 1, "one Data message: {data:?}");
    assert!(matches!(
        data[0],
        ConnMsg::Data {
            write: WriteId(1),
            block: 32,
            count: 16,
            ..
        }
    ));
    let acks: Vec<_> = sends(&lab, B)
        .into_iter()
        .filter(|m| matches!(m, ConnMsg::WriteAck { .. }))
        .collect();
    assert_eq!(acks, vec![ConnMsg::WriteAck { write: WriteId(1) }]);
    for n in [A, B] {
        let writes: Vec<_> = disk_requests(&lab, n)
            .into_iter()
            .filter(|(_, op)| matches!(op, DiskOp::Write { .. }))
            .collect();
        assert_eq!(writes.len(), 1, "node {n}: {writes:?}");
        assert!(matches!(
            writes[0].1,
            DiskOp::Write {
                block: 32,
                count: 16,
                ..
            }
        ));
        for i in 0..16 {
            assert!(
                holds(&lab, n, 32 + u64::from(i), i),
                "node {n} block {}",
                32 + i
            );
        }
        assert!(lab.disk(n).block(31).is_none() && lab.disk(n).block(48).is_none());
    }
    assert_eq!(lab.acked(A), vec![WriteId(1)]);
    assert!(replica(&lab, A).bitmap().is_empty());
    assert_eq!(replica(&lab, A).writes_in_flight(), 0);
}

#[test]
fn a_run_is_acknowledged_at_each_protocols_point() {
    // Network 10 ms one way, disks 1 ms, as in write_path.rs: A at the local write, B when
    // the peer has the data, C when the peer's disk has it.
    for (protocol, expected) in [(Protocol::A, 1), (Protocol::B, 20), (Protocol::C, 21)] {
        let mut lab = primary_pair(&|c| c.protocol = protocol);
        lab.net.set_delay(A, B, Duration::from_millis(10));
        for n in [A, B] {
            lab.disk_mut(n).write_latency = Duration::from_millis(1);
        }
        let t0 = lab.now();
        write_run(&mut lab, 1, 0, 16);
        lab.run_for(Duration::from_millis(100));
        let at = ack_time(&lab, A, 1).expect("acknowledged");
        assert_eq!(at - t0, Duration::from_millis(expected), "{protocol:?}");
    }
}

#[test]
fn a_run_written_while_disconnected_marks_every_block_and_resyncs() {
    let mut lab = primary_pair(&|_| {});
    lab.partition(A, B);
    detect_loss(&mut lab);
    write_run(&mut lab, 1, 100, 16);
    lab.run_for(Duration::from_millis(10));
    assert_eq!(lab.acked(A), vec![WriteId(1)]);
    let bitmap = replica(&lab, A).bitmap();
    assert_eq!(bitmap.count(), 16);
    assert!((100..116).all(|b| bitmap.contains(b)));
    lab.heal(A, B);
    assert!(wait_for(&mut lab, Duration::from_secs(30), |lab| {
        replica(lab, A).conn() == ConnState::Connected && replica(lab, A).bitmap().is_empty()
    }));
    for i in 0..16 {
        assert!(holds(&lab, B, 100 + u64::from(i), i));
    }
}

#[test]
fn a_run_in_flight_when_the_connection_breaks_is_marked_block_by_block() {
    let mut lab = primary_pair(&|c| c.protocol = Protocol::C);
    lab.net.set_delay(A, B, Duration::from_millis(10));
    write_run(&mut lab, 1, 200, 16);
    lab.run_for(Duration::from_millis(3));
    lab.partition(A, B);
    detect_loss(&mut lab);
    assert_eq!(replica(&lab, A).conn(), ConnState::Connecting);
    let bitmap = replica(&lab, A).bitmap();
    assert!(
        (200..216).all(|b| bitmap.contains(b)),
        "every block of the run is out of sync"
    );
}

#[test]
fn runs_past_the_end_or_of_no_block_are_refused() {
    let mut lab = primary_pair(&|_| {});
    write_run(&mut lab, 1, BLOCKS - 15, 16);
    lab.command(
        A,
        ReplicaCommand::Write {
            id: WriteId(2),
            block: 0,
            count: 0,
            data: Payload::zeroes(),
        },
    );
    lab.command(
        A,
        ReplicaCommand::Read {
            id: ReadId(3),
            block: u64::MAX,
            count: 2,
        },
    );
    lab.run_for(Duration::from_millis(10));
    for id in [1, 2] {
        assert!(lab.effects_of(A).any(|e| *e
            == Effect::WriteFailed {
                write: WriteId(id),
                error: IoError::OutOfRange
            }));
    }
    assert!(lab.effects_of(A).any(|e| *e
        == Effect::ReadDone {
            read: ReadId(3),
            result: Err(IoError::OutOfRange)
        }));
    assert!(lab.disk(A).blocks().is_empty() && lab.disk(B).blocks().is_empty());
}

#[test]
fn a_run_is_read_with_one_disk_request() {
    let mut lab = pair(Protocol::C);
    write_run(&mut lab, 1, 10, 4);
    lab.run_for(Duration::from_millis(20));
    lab.take_records();
    lab.command(
        A,
        ReplicaCommand::Read {
            id: ReadId(2),
            block: 9,
            count: 6,
        },
    );
    lab.run_for(Duration::from_millis(20));
    assert_eq!(disk_requests(&lab, A).len(), 1);
    let got = lab
        .effects_of(A)
        .find_map(|e| match e {
            Effect::ReadDone {
                read: ReadId(2),
                result: Ok(p),
            } => p.clone(),
            _ => None,
        })
        .expect("the run read");
    for k in 0..6u32 {
        let block = got.block(k, 6);
        let want = if (1..5).contains(&k) { k as u8 } else { 0 };
        assert!(
            block.as_bytes().iter().all(|&b| b == want),
            "block {k} of the read"
        );
        assert!(block.as_bytes().len() == BS || want == 0);
    }
}
