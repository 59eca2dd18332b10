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
    let mut acked = 0;
    let mut next = 0;
    while acked < total {
        while next < total && next - acked < depth {
            let payload = Payload::from_u64(next);
            lab.command(
                A,
                ReplicaCommand::Write {
                    id: WriteId(next),
                    block: next % BLOCKS,
                    data: payload,
                },
            );
            next += 1;
        }
        lab.step();
        // Under protocol C a write leaves the in-flight set when it is acknowledged.
        acked = next - lab.node(A).writes_in_flight() as u64;
    }
    acked
}

fn main() {
    let mut lab = pair();
    run(&mut lab, 100_000, 64);
    let total = 2_000_000;
    let events_before = lab.events();
    let start = Instant::now();
    let acked = run(&mut lab, total, 64);
    let secs = start.elapsed().as_secs_f64();
    let events = lab.events() - events_before;
    assert_eq!(acked, total);
    assert_eq!(
        lab.disk(A).block(5).and_then(|p| p.as_u64()),
        lab.disk(B).block(5).and_then(|p| p.as_u64()),
        "replicas agree"
    );
    println!("replication/protocol-C pair, 64 writes outstanding, in-memory harness, one core");
    println!("  writes          {acked}");
    println!("  wall time       {secs:.3} s");
    println!("  writes/s        {:.0}", acked as f64 / secs);
    println!("  ns/write        {:.0}", secs * 1e9 / acked as f64);
    println!("  harness events  {events} ({:.0}/s)", events as f64 / secs);
}
