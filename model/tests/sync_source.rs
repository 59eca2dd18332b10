//! A Consistent disk that becomes sync source is UpToDate: DRBD's `sanitize_state` pins
//! the disk of a node in WFBitMapS, SyncSource or PausedSyncS to UpToDate (src: Linux
//! `drbd_state.c` `sanitize_state`, `case C_SYNC_SOURCE: disk_min = D_UP_TO_DATE`).
//!
//! Found by running the daemon: with fencing, a restarted UpToDate disk comes back
//! Consistent (its peer's state is unknown); when its fresh peer connected, it synced
//! the peer as source but stayed Consistent, so it could never be promoted.

mod common;

use core::time::Duration;

use common::*;
use model::replication::{
    ConnState, DiskState, FencingPolicy, Replica, ReplicaCommand, ReplicationNode, Role,
};
use model::testing::VirtualDisk;

#[test]
fn a_consistent_sync_source_becomes_up_to_date_and_can_be_promoted() {
    let fenced =
        |c: &mut model::replication::ReplicaConfig| c.fencing = FencingPolicy::ResourceOnly;
    // A: made UpToDate on its own (`primary --force`, `secondary`), then restarted.
    let mut alone = Replica::new(config(A, B, &fenced));
    let mut out = Vec::new();
    use model::Machine;
    for cmd in [
        ReplicaCommand::Promote { force: true },
        ReplicaCommand::Demote,
    ] {
        alone.handle(model::Time::ZERO, model::Input::Command(cmd), &mut out);
    }
    assert_eq!(alone.disk(), DiskState::UpToDate);
    let restarted = Replica::restart(config(A, B, &fenced), Some(alone.meta()));
    assert_eq!(
        restarted.disk(),
        DiskState::Consistent,
        "the peer's state is unknown"
    );

    let mut lab = Lab::new();
    lab.net = model::testing::VirtualNetwork::new(NET);
    lab.add(A, ReplicationNode::from(restarted), VirtualDisk::new(DISK));
    lab.add(
        B,
        ReplicationNode::from(Replica::new(config(B, A, &fenced))),
        VirtualDisk::new(DISK),
    );
    connect_both(&mut lab);
    lab.run_for(Duration::from_secs(20));
    assert_eq!(replica(&lab, A).conn(), ConnState::Connected);
    assert_eq!(replica(&lab, B).disk(), DiskState::UpToDate);
    assert_eq!(
        replica(&lab, A).disk(),
        DiskState::UpToDate,
        "the sync source is UpToDate"
    );
    lab.command(A, ReplicaCommand::Promote { force: false });
    lab.run_for(Duration::from_millis(10));
    assert_eq!(replica(&lab, A).role(), Role::Primary);
}
