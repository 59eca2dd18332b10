//! Fencing policies: resource-only outdates the peer, resource-and-stonith freezes I/O
//! until fence-peer answers; each fence-peer exit code does what DRBD does with it.

mod common;

use core::time::Duration;

use common::*;
use model::replication::{
    DiskState, FencingPolicy, PromoteRefused, ReplicaCommand, ReplicaConfig, ReplicaNotice, Role,
};
use model::{Effect, HandlerReply, HandlerRequest, WriteId};

fn fencing(policy: FencingPolicy) -> impl Fn(&mut ReplicaConfig) {
    move |c| c.fencing = policy
}

fn fence_requests(lab: &Lab, n: model::NodeId) -> usize {
    lab.effects_of(n)
        .filter(|e| matches!(e, Effect::Handler(HandlerRequest::FencePeer { .. })))
        .count()
}

fn answer(lab: &mut Lab, n: model::NodeId, exit_code: u8) {
    let peer = if n == A { B } else { A };
    lab.handler_done(
        n,
        HandlerReply {
            request: HandlerRequest::FencePeer { peer },
            exit_code,
        },
    );
    lab.run_for(Duration::from_millis(20));
}

#[test]
fn resource_and_stonith_freezes_io_until_fence_peer_answers_then_resumes() {
    let mut lab = primary_pair(&fencing(FencingPolicy::ResourceAndStonith));
    let before = replica(&lab, A).uuids();
    lab.partition(A, B);
    // A write in flight when the link dies.
    write(&mut lab, A, 1, 10);
    detect_loss(&mut lab);
    assert_eq!(fence_requests(&lab, A), 1);
    assert!(replica(&lab, A).io_suspended());
    assert!(notices(&lab, A).contains(&ReplicaNotice::IoSuspended));
    // Writes while frozen are neither acked nor failed.
    write(&mut lab, A, 2, 11);
    lab.run_for(Duration::from_secs(30));
    assert_eq!(lab.acked(A), vec![]);
    assert_eq!(replica(&lab, A).writes_in_flight(), 2);
    // The new data generation waits for the resume (NEW_CUR_UUID).
    assert_eq!(replica(&lab, A).uuids(), before);
    answer(&mut lab, A, 7);
    assert!(!replica(&lab, A).io_suspended());
    assert_eq!(replica(&lab, A).peer_disk(), DiskState::Outdated);
    assert_eq!(lab.acked(A), vec![WriteId(1), WriteId(2)]);
    assert_ne!(replica(&lab, A).uuids().current, before.current);
    assert!(notices(&lab, A).contains(&ReplicaNotice::IoResumed));
}

#[test]
fn a_broken_fence_peer_handler_leaves_io_frozen() {
    let mut lab = primary_pair(&fencing(FencingPolicy::ResourceAndStonith));
    lab.partition(A, B);
    detect_loss(&mut lab);
    write(&mut lab, A, 1, 10);
    answer(&mut lab, A, 1);
    assert!(replica(&lab, A).io_suspended());
    assert_eq!(lab.acked(A), vec![]);
}

#[test]
fn resource_only_calls_fence_peer_without_freezing() {
    let mut lab = primary_pair(&fencing(FencingPolicy::ResourceOnly));
    lab.partition(A, B);
    detect_loss(&mut lab);
    assert_eq!(fence_requests(&lab, A), 1);
    assert!(!replica(&lab, A).io_suspended());
    write(&mut lab, A, 1, 10);
    lab.run_for(Duration::from_millis(20));
    assert_eq!(lab.acked(A), vec![WriteId(1)]);
    answer(&mut lab, A, 4);
    assert_eq!(replica(&lab, A).peer_disk(), DiskState::Outdated);
}

#[test]
fn without_fencing_a_partition_lets_both_nodes_be_primary() {
    // The unsafe configuration the study used: assert that it is unsafe.
    let mut lab = primary_pair(&|_| {});
    lab.partition(A, B);
    detect_loss(&mut lab);
    lab.command(B, ReplicaCommand::Promote { force: false });
    assert_eq!(replica(&lab, A).role(), Role::Primary);
    assert_eq!(replica(&lab, B).role(), Role::Primary);
    assert_eq!(fence_requests(&lab, B), 0);
}

/// B, disconnected, is asked to promote under resource-only fencing; fence-peer answers
/// `exit`.
fn promote_b_with_fence_answer(exit: u8, force: bool) -> Lab {
    let mut lab = primary_pair(&fencing(FencingPolicy::ResourceOnly));
    lab.partition(A, B);
    detect_loss(&mut lab);
    lab.command(B, ReplicaCommand::Promote { force });
    assert_eq!(
        replica(&lab, B).role(),
        Role::Secondary,
        "waits for fence-peer"
    );
    assert_eq!(fence_requests(&lab, B), 1);
    answer(&mut lab, B, exit);
    lab
}

#[test]
fn fence_peer_exit_codes_decide_the_promotion() {
    // 4 outdated, 7 stonithed, 3 peer inconsistent, 5 unreachable (with an UpToDate disk).
    for exit in [3, 4, 5, 7] {
        let lab = promote_b_with_fence_answer(exit, false);
        assert_eq!(replica(&lab, B).role(), Role::Primary, "exit {exit}");
        let expect = if exit == 3 {
            DiskState::Inconsistent
        } else {
            DiskState::Outdated
        };
        assert_eq!(replica(&lab, B).peer_disk(), expect, "exit {exit}");
    }
    // 6: the peer is Primary: B outdates itself and stays Secondary.
    let lab = promote_b_with_fence_answer(6, false);
    assert_eq!(replica(&lab, B).role(), Role::Secondary);
    assert_eq!(replica(&lab, B).disk(), DiskState::Outdated);
    assert!(notices(&lab, B).contains(&ReplicaNotice::PromoteRefused(
        PromoteRefused::NoUpToDateDisk(DiskState::Outdated)
    )));
    // A broken handler: refused, naming the exit code.
    let lab = promote_b_with_fence_answer(1, false);
    assert_eq!(replica(&lab, B).role(), Role::Secondary);
    assert!(notices(&lab, B).contains(&ReplicaNotice::PromoteRefused(
        PromoteRefused::PeerNotOutdated(1)
    )));
    // --force promotes into split brain even so.
    let lab = promote_b_with_fence_answer(1, true);
    assert_eq!(replica(&lab, B).role(), Role::Primary);
}

#[test]
fn an_outdated_node_cannot_be_promoted_and_comes_back_outdated_after_a_reboot() {
    let mut lab = primary_pair(&fencing(FencingPolicy::ResourceOnly));
    lab.partition(A, B);
    detect_loss(&mut lab);
    // dopd on B, asked by A's fence-peer, outdates B.
    lab.command(B, ReplicaCommand::Outdate);
    assert_eq!(replica(&lab, B).disk(), DiskState::Outdated);
    lab.command(B, ReplicaCommand::Promote { force: false });
    assert_eq!(replica(&lab, B).role(), Role::Secondary);
    assert!(notices(&lab, B).contains(&ReplicaNotice::PromoteRefused(
        PromoteRefused::NoUpToDateDisk(DiskState::Outdated)
    )));
    lab.crash(B);
    reboot(&mut lab, B, &fencing(FencingPolicy::ResourceOnly));
    assert_eq!(replica(&lab, B).disk(), DiskState::Outdated);
    // A Primary refuses to outdate itself.
    lab.command(A, ReplicaCommand::Outdate);
    assert_eq!(replica(&lab, A).disk(), DiskState::UpToDate);
}

#[test]
fn a_rebooted_consistent_node_needs_fence_peer_before_it_may_be_promoted() {
    let mut lab = primary_pair(&fencing(FencingPolicy::ResourceOnly));
    lab.crash(B);
    reboot(&mut lab, B, &fencing(FencingPolicy::ResourceOnly));
    // Attach with fencing on: Consistent, not UpToDate (the peer may have newer data).
    assert_eq!(replica(&lab, B).disk(), DiskState::Consistent);
    lab.command(B, ReplicaCommand::Promote { force: false });
    assert_eq!(fence_requests(&lab, B), 1);
    answer(&mut lab, B, 4);
    assert_eq!(replica(&lab, B).disk(), DiskState::UpToDate);
    assert_eq!(replica(&lab, B).role(), Role::Primary);
}

/// What dopd answers a `fence-peer` request that reached this node: `drbdadm outdate`
/// here, converted (dopd.c `msg_start_outdate`). A Primary refuses and is not outdated.
#[test]
fn dopd_answers_what_drbdadm_outdate_on_the_peer_gives() {
    use model::replication::dopd;
    let mut lab = primary_pair(&fencing(FencingPolicy::ResourceOnly));
    // Still connected: "Refusing to be Outdated while Connected" (drbdsetup 11 -> 5).
    assert_eq!(dopd::answer(replica(&lab, B)), dopd::PEER_UNREACHABLE);
    assert_eq!(dopd::answer(replica(&lab, A)), dopd::PEER_UNREACHABLE);
    lab.partition(A, B);
    detect_loss(&mut lab);
    // A disconnected Primary would lose its only UpToDate disk (17 -> 6).
    assert_eq!(dopd::answer(replica(&lab, A)), dopd::PEER_PRIMARY);
    // A disconnected Secondary is outdated (0 -> 4), also when it already is.
    assert_eq!(dopd::answer(replica(&lab, B)), dopd::PEER_OUTDATED);
    lab.command(B, ReplicaCommand::Outdate);
    assert_eq!(dopd::answer(replica(&lab, B)), dopd::PEER_OUTDATED);
    // A fresh, Inconsistent disk is below Outdated (5 -> 3).
    let fresh = fresh(&fencing(FencingPolicy::ResourceOnly));
    assert_eq!(dopd::answer(replica(&fresh, A)), dopd::PEER_INCONSISTENT);
}
