mod common;

use common::*;
use model::replication::{ConnState, DiskState, Role};

#[test]
fn a_forced_primary_fully_syncs_a_fresh_peer_and_mirrors_writes() {
    let mut lab = primary_pair(&|_| {});
    write(&mut lab, A, 1, 7);
    lab.run_for(core::time::Duration::from_millis(50));
    assert_eq!(lab.acked(A), vec![model::WriteId(1)]);
    assert_eq!(on_disk(&lab, B, 7), Some(1));
    assert_identical(&lab);
    assert_eq!(replica(&lab, B).role(), Role::Secondary);
    assert_eq!(replica(&lab, B).conn(), ConnState::Connected);
    assert_eq!(replica(&lab, A).disk(), DiskState::UpToDate);
}
