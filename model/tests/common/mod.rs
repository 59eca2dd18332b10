//! Shared set-up for the replication tests: a two-node resource (optionally with a
//! witness) in the in-memory harness.
#![allow(dead_code)]

use core::time::Duration;

use model::replication::{
    ConnState, DiskState, Replica, ReplicaCommand, ReplicaConfig, ReplicaNotice, ReplicationNode,
    ReplicationNotice, Role, Witness, WitnessConfig,
};
use model::testing::{Cluster, VirtualDisk};
use model::{Effect, NodeId, Payload, WriteId};

pub const A: NodeId = NodeId(0);
pub const B: NodeId = NodeId(1);
pub const W: NodeId = NodeId(2);

/// Blocks of the test device: 64 extents' worth would be slow to full-sync at the
/// default rate in a debug build, so 1024 blocks (4 MiB).
pub const BLOCKS: u64 = 1024;
/// One-way network delay in the tests.
pub const NET: Duration = Duration::from_millis(1);
/// Disk latency in the tests.
pub const DISK: Duration = Duration::from_millis(2);

pub type Lab = Cluster<ReplicationNode>;

/// The configuration of `me` in a pair with `peer`, adjusted by `tweak`.
pub fn config(me: NodeId, peer: NodeId, tweak: &dyn Fn(&mut ReplicaConfig)) -> ReplicaConfig {
    let mut c = ReplicaConfig::new(me, peer, BLOCKS);
    tweak(&mut c);
    c.validate().expect("test configuration is valid");
    c
}

/// Two fresh replicas A and B (and the witness W if the tweak sets one), not connected.
pub fn fresh(tweak: &dyn Fn(&mut ReplicaConfig)) -> Lab {
    let mut lab = Lab::new();
    lab.net = model::testing::VirtualNetwork::new(NET);
    let ca = config(A, B, tweak);
    let cb = config(B, A, tweak);
    if let Some(w) = ca.witness {
        let wc = WitnessConfig {
            me: w,
            timers: ca.timers,
        };
        lab.add(
            w,
            ReplicationNode::from(Witness::new(wc)),
            VirtualDisk::new(DISK),
        );
    }
    lab.add(
        A,
        ReplicationNode::from(Replica::new(ca)),
        VirtualDisk::new(DISK),
    );
    lab.add(
        B,
        ReplicationNode::from(Replica::new(cb)),
        VirtualDisk::new(DISK),
    );
    lab
}

/// A connected, fully synchronised pair with A Primary: the state a resource is in after
/// `create-md`, `primary --force` on A and `connect` on both.
pub fn primary_pair(tweak: &dyn Fn(&mut ReplicaConfig)) -> Lab {
    let mut lab = fresh(tweak);
    connect_both(&mut lab);
    lab.run_for(Duration::from_secs(1));
    assert_eq!(
        replica(&lab, A).conn(),
        ConnState::Connected,
        "fresh pair connects"
    );
    assert_eq!(replica(&lab, A).disk(), DiskState::Inconsistent);
    lab.command(A, ReplicaCommand::Promote { force: true });
    lab.run_for(Duration::from_millis(10));
    assert_eq!(replica(&lab, A).role(), Role::Primary, "forced promotion");
    // The initial full sync; slow resync rates take a while.
    for _ in 0..300 {
        lab.run_for(Duration::from_secs(1));
        if replica(&lab, A).conn() == ConnState::Connected {
            break;
        }
    }
    assert_eq!(replica(&lab, A).conn(), ConnState::Connected);
    assert_eq!(replica(&lab, B).conn(), ConnState::Connected);
    assert_eq!(replica(&lab, B).disk(), DiskState::UpToDate);
    lab.take_records();
    lab
}

pub fn connect_both(lab: &mut Lab) {
    for n in [A, B] {
        lab.command(
            n,
            ReplicaCommand::Connect {
                discard_my_data: false,
            },
        );
    }
}

pub fn replica(lab: &Lab, n: NodeId) -> &Replica {
    lab.node(n).replica().expect("a replica")
}

pub fn witness(lab: &Lab) -> &Witness {
    lab.node(W).witness().expect("the witness")
}

/// Application write `id` of block `block` on `n`; the payload names the write.
pub fn write(lab: &mut Lab, n: NodeId, id: u64, block: u64) {
    lab.command(
        n,
        ReplicaCommand::Write {
            id: WriteId(id),
            block,
            count: 1,
            data: Payload::from_u64(id),
        },
    );
}

/// The write id whose payload is on `block` of `n`'s disk.
pub fn on_disk(lab: &Lab, n: NodeId, block: u64) -> Option<u64> {
    lab.disk(n).block(block).and_then(|p| p.as_u64())
}

/// Time of the acknowledgement of `id` on `n`, if any.
pub fn ack_time(lab: &Lab, n: NodeId, id: u64) -> Option<model::Time> {
    lab.records()
        .iter()
        .find(|r| r.node == n && r.effect == Effect::Ack(WriteId(id)))
        .map(|r| r.time)
}

/// The replica notices of `n`.
pub fn notices(lab: &Lab, n: NodeId) -> Vec<ReplicaNotice> {
    lab.notices(n)
        .into_iter()
        .filter_map(|x| match x {
            ReplicationNotice::Replica(r) => Some(r),
            ReplicationNotice::Witness(_) => None,
        })
        .collect()
}

/// Lets both nodes notice a broken link: ping-int plus ping-timeout, and some.
pub fn detect_loss(lab: &mut Lab) {
    lab.run_for(Duration::from_secs(11));
}

/// A crashed node boots again from its persisted metadata (not yet connected), with the
/// configuration `tweak` makes.
pub fn reboot(lab: &mut Lab, n: NodeId, tweak: &dyn Fn(&mut ReplicaConfig)) {
    let peer = if n == A { B } else { A };
    let meta = lab.persisted(n).cloned();
    lab.restart(
        n,
        ReplicationNode::from(Replica::restart(config(n, peer, tweak), meta)),
    );
}

/// Both disks hold the same blocks.
pub fn assert_identical(lab: &Lab) {
    assert_eq!(lab.disk(A).blocks(), lab.disk(B).blocks(), "disks differ");
}

/// Runs in 10 ms steps until `cond` holds or `max` has passed; whether it held.
pub fn wait_for(lab: &mut Lab, max: Duration, cond: impl Fn(&Lab) -> bool) -> bool {
    let end = lab.now() + max;
    while lab.now() < end {
        if cond(lab) {
            return true;
        }
        lab.run_for(Duration::from_millis(10));
    }
    cond(lab)
}
