//! Replicated writes per second for a protocol C pair in the in-memory harness.
//!
//! Run with `cargo bench -p model`. Each write goes through the whole path: the
//! Primary's handle, its local disk, the Data message, the Secondary's handle and disk,
//! the WriteAck, and the acknowledgement; the harness' queue and virtual network included.
//! Prints writes per second on one core (the harness is single-threaded).

use std::time::Instant;

use core::time::Duration;

use model::replication::{ConnState, Replica, ReplicaCommand, ReplicaConfig, Role};
use model::testing::{Cluster, VirtualDisk};
use model::{NodeId, Payload, WriteId};

const A: NodeId = NodeId(0);
const B: NodeId = NodeId(1);
const BLOCKS: u64 = 1 << 16;

fn pair() -> Cluster<Replica> {
    let mut lab = Cluster::new();
    for (me, peer) in [(A, B), (B, A)] {
        let mut cfg = ReplicaConfig::new(me, peer, BLOCKS);
        cfg.resync_rate = 1 << 30;
        lab.add(
            me,
            Replica::new(cfg),
            VirtualDisk::new(Duration::from_micros(50)),
        );
        lab.command(
            me,
            ReplicaCommand::Connect {
                discard_my_data: false,
            },
        );
    }
    lab.run_for(Duration::from_millis(10));
    lab.command(A, ReplicaCommand::Promote { force: true });
    lab.run_for(Duration::from_secs(5));
    assert_eq!(lab.node(A).role(), Role::Primary);
    assert_eq!(
        lab.node(A).conn(),
        ConnState::Connected,
        "initial sync done"
    );
    lab.take_records();
    lab.set_recording(false);
    lab
}

/// Writes `total` blocks with `depth` writes outstanding; returns the acks counted.
fn run(lab: &mut Cluster<Replica>, total: u64, depth: u64) -> u64 {
    run_more(lab, 0, total, depth)
}

/// As [`run`], numbering the writes from `first`.
fn run_more(lab: &mut Cluster<Replica>, first: u64, count: u64, depth: u64) -> u64 {
    let total = first + count;
    let mut acked = first;
    let mut next = first;
    while acked < total {
        while next < total && next - acked < depth {
            let payload = Payload::from_u64(next);
            lab.command(
                A,
                ReplicaCommand::Write {
                    id: WriteId(next),
                    block: next % BLOCKS,
                    count: 1,
                    data: payload,
                },
            );
            next += 1;
        }
        lab.step();
        // Under protocol C a write leaves the in-flight set when it is acknowledged.
        acked = next - lab.node(A).writes_in_flight() as u64;
    }
    acked - first
}

fn main() {
    let mut lab = pair();
    run(&mut lab, 100_000, 64);
    let per_round = 1_000_000;
    let mut rates = Vec::new();
    let mut events_per_sec = Vec::new();
    let mut done = 0;
    println!("replication/protocol-C pair, 64 writes outstanding, in-memory harness, one core");
    for round in 1..=5 {
        let events_before = lab.events();
        let start = Instant::now();
        let acked = run_more(&mut lab, done, per_round, 64);
        let secs = start.elapsed().as_secs_f64();
        done += acked;
        let rate = acked as f64 / secs;
        let events = (lab.events() - events_before) as f64 / secs;
        println!(
            "  round {round}: {acked} writes in {secs:.3} s = {rate:.0} writes/s ({:.0} ns/write, {events:.0} harness events/s)",
            1e9 / rate
        );
        rates.push(rate);
        events_per_sec.push(events);
    }
    assert_eq!(
        lab.disk(A).blocks(),
        lab.disk(B).blocks(),
        "the replicas hold the same blocks"
    );
    rates.sort_by(f64::total_cmp);
    events_per_sec.sort_by(f64::total_cmp);
    println!("  median          {:.0} writes/s", rates[2]);
    println!("  best            {:.0} writes/s", rates[4]);
    println!("  median events   {:.0} /s", events_per_sec[2]);
}
