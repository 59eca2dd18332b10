//! Every refused promotion names its reason; what survives a crash.

mod common;

use core::time::Duration;

use common::*;
use model::replication::{
    ConnState, DiskState, PeerRole, PromoteRefused, ReplicaCommand, ReplicaNotice, Role,
};

fn refusals(lab: &Lab, n: model::NodeId) -> Vec<PromoteRefused> {
    notices(lab, n)
        .into_iter()
        .filter_map(|x| match x {
            ReplicaNotice::PromoteRefused(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn promote(lab: &mut Lab, n: model::NodeId) {
    lab.command(n, ReplicaCommand::Promote { force: false });
    lab.run_for(Duration::from_millis(20));
}

#[test]
fn refused_while_the_peer_is_primary() {
    let mut lab = primary_pair(&|_| {});
    promote(&mut lab, B);
    assert_eq!(refusals(&lab, B), vec![PromoteRefused::PeerIsPrimary]);
    assert_eq!(replica(&lab, B).role(), Role::Secondary);
}

#[test]
fn allowed_while_the_peer_is_primary_in_dual_primary_mode() {
    let mut lab = primary_pair(&|c| c.allow_two_primaries = true);
    promote(&mut lab, B);
    assert_eq!(refusals(&lab, B), vec![]);
    assert_eq!(replica(&lab, B).role(), Role::Primary);
    assert_eq!(replica(&lab, A).peer_role(), PeerRole::Primary);
}

#[test]
fn refused_without_a_local_disk() {
    let mut lab = primary_pair(&|_| {});
    lab.command(A, ReplicaCommand::Demote);
    lab.fail_disk(B);
    // B is Secondary: the failure shows when it writes a replicated block.
    lab.command(A, ReplicaCommand::Promote { force: false });
    lab.run_for(Duration::from_millis(20));
    write(&mut lab, A, 2, 2);
    lab.run_for(Duration::from_millis(20));
    assert_eq!(replica(&lab, B).disk(), DiskState::Diskless);
    lab.command(A, ReplicaCommand::Demote);
    lab.run_for(Duration::from_millis(20));
    promote(&mut lab, B);
    assert_eq!(refusals(&lab, B), vec![PromoteRefused::NoLocalDisk]);
}

#[test]
fn refused_with_an_inconsistent_disk_unless_forced() {
    let mut lab = fresh(&|_| {});
    promote(&mut lab, B);
    assert_eq!(
        refusals(&lab, B),
        vec![PromoteRefused::NoUpToDateDisk(DiskState::Inconsistent)]
    );
    lab.command(B, ReplicaCommand::Promote { force: true });
    assert_eq!(replica(&lab, B).role(), Role::Primary);
    assert_eq!(replica(&lab, B).disk(), DiskState::UpToDate);
}

#[test]
fn refused_while_sync_target() {
    let slow = |c: &mut model::replication::ReplicaConfig| c.resync_rate = 40 * 1024;
    let mut lab = primary_pair(&slow);
    lab.partition(A, B);
    detect_loss(&mut lab);
    for i in 0..30 {
        write(&mut lab, A, i, i);
    }
    lab.heal(A, B);
    assert!(wait_for(&mut lab, Duration::from_secs(11), |l| replica(
        l, B
    )
    .conn()
        == ConnState::SyncTarget));
    lab.command(A, ReplicaCommand::Demote);
    lab.run_for(Duration::from_millis(20));
    promote(&mut lab, B);
    assert_eq!(
        refusals(&lab, B),
        vec![PromoteRefused::NoUpToDateDisk(DiskState::Inconsistent)]
    );
}

#[test]
fn concurrent_promotions_on_a_connected_pair_let_exactly_one_through() {
    let mut lab = primary_pair(&|_| {});
    lab.command(A, ReplicaCommand::Demote);
    lab.run_for(Duration::from_millis(20));
    lab.command(A, ReplicaCommand::Promote { force: false });
    lab.command(B, ReplicaCommand::Promote { force: false });
    lab.run_for(Duration::from_millis(20));
    let primaries = [A, B]
        .into_iter()
        .filter(|&n| replica(&lab, n).role() == Role::Primary)
        .count();
    assert_eq!(primaries, 1);
    // B holds RESOLVE_CONFLICTS: it wins, A is refused by its peer.
    assert_eq!(replica(&lab, B).role(), Role::Primary);
    assert_eq!(refusals(&lab, A), vec![PromoteRefused::PeerRefused]);
    assert_eq!(replica(&lab, A).peer_role(), PeerRole::Primary);
}

#[test]
fn refused_when_the_connection_dies_during_the_state_change() {
    let mut lab = primary_pair(&|_| {});
    lab.command(A, ReplicaCommand::Demote);
    lab.run_for(Duration::from_millis(20));
    lab.partition(A, B);
    lab.command(B, ReplicaCommand::Promote { force: false });
    detect_loss(&mut lab);
    assert_eq!(refusals(&lab, B), vec![PromoteRefused::ConnectionLost]);
    assert_eq!(replica(&lab, B).role(), Role::Secondary);
}

#[test]
fn metadata_survives_a_crash_and_the_connection_does_not() {
    let mut lab = primary_pair(&|_| {});
    lab.partition(A, B);
    detect_loss(&mut lab);
    write(&mut lab, A, 1, 100);
    lab.command(A, ReplicaCommand::Demote);
    lab.run_for(Duration::from_millis(20));
    let uuids = replica(&lab, A).uuids();
    let bitmap = replica(&lab, A).bitmap().clone();
    assert!(bitmap.contains(100));
    lab.crash(A);
    reboot(&mut lab, A, &|_| {});
    let a = replica(&lab, A);
    assert_eq!(a.uuids(), uuids);
    assert_eq!(a.bitmap(), &bitmap);
    assert_eq!(a.role(), Role::Secondary);
    assert!(!a.crashed_primary(), "it demoted cleanly before the crash");
    assert_eq!(a.conn(), ConnState::StandAlone);
    assert_eq!(a.disk(), DiskState::UpToDate);
    assert_eq!(a.peer_disk(), DiskState::DUnknown);
}
