//! Quorum: without a witness a lone node has none; with a diskless witness the side that
//! keeps the witness carries on, and an isolated Primary freezes instead of diverging.

mod common;

use core::time::Duration;

use common::*;
use model::replication::{
    OnNoQuorum, PromoteRefused, QuorumPolicy, ReplicaCommand, ReplicaConfig, ReplicaNotice, Role,
};
use model::{Effect, IoError, WriteId};

fn majority(c: &mut ReplicaConfig) {
    c.quorum = QuorumPolicy::Majority;
}

fn majority_io_error(c: &mut ReplicaConfig) {
    c.quorum = QuorumPolicy::Majority;
    c.on_no_quorum = OnNoQuorum::IoError;
}

fn with_witness(c: &mut ReplicaConfig) {
    c.quorum = QuorumPolicy::Majority;
    c.witness = Some(W);
}

#[test]
fn two_nodes_without_a_witness_lose_quorum_on_partition_and_suspend_io() {
    let mut lab = primary_pair(&majority);
    assert!(replica(&lab, A).has_quorum());
    lab.partition(A, B);
    write(&mut lab, A, 1, 5);
    detect_loss(&mut lab);
    assert!(!replica(&lab, A).has_quorum());
    assert!(notices(&lab, A).contains(&ReplicaNotice::Quorum(false)));
    assert!(replica(&lab, A).io_suspended());
    write(&mut lab, A, 2, 6);
    lab.run_for(Duration::from_secs(5));
    assert_eq!(lab.acked(A), vec![], "no write is acked without quorum");
    // B cannot take over either.
    lab.command(B, ReplicaCommand::Promote { force: false });
    assert_eq!(replica(&lab, B).role(), Role::Secondary);
    assert!(notices(&lab, B).contains(&ReplicaNotice::PromoteRefused(PromoteRefused::NoQuorum)));
    // Quorum returns with the peer; frozen writes complete.
    lab.heal(A, B);
    lab.run_for(Duration::from_secs(12));
    assert!(replica(&lab, A).has_quorum());
    assert_eq!(lab.acked(A), vec![WriteId(1), WriteId(2)]);
    assert_identical(&lab);
}

#[test]
fn on_no_quorum_io_error_fails_writes_instead() {
    let mut lab = primary_pair(&majority_io_error);
    lab.partition(A, B);
    detect_loss(&mut lab);
    write(&mut lab, A, 1, 5);
    assert!(lab.effects_of(A).any(|e| *e
        == Effect::WriteFailed {
            write: WriteId(1),
            error: IoError::NoQuorum
        }));
    assert!(!replica(&lab, A).io_suspended());
}

#[test]
fn with_a_witness_the_primary_keeps_quorum_when_only_the_peer_is_lost() {
    let mut lab = primary_pair(&with_witness);
    lab.run_for(Duration::from_secs(1));
    assert_eq!(witness(&lab).backs(), Some(A));
    lab.partition(A, B);
    detect_loss(&mut lab);
    assert!(replica(&lab, A).has_quorum());
    assert!(
        replica(&lab, B).has_quorum(),
        "B has the witness' vote as a Secondary"
    );
    write(&mut lab, A, 1, 5);
    lab.run_for(Duration::from_millis(20));
    assert_eq!(lab.acked(A), vec![WriteId(1)]);
    // The witness backs A: B's promotion is refused.
    lab.command(B, ReplicaCommand::Promote { force: false });
    lab.run_for(Duration::from_millis(20));
    assert_eq!(replica(&lab, B).role(), Role::Secondary);
    assert!(notices(&lab, B).contains(&ReplicaNotice::PromoteRefused(
        PromoteRefused::WitnessRefused
    )));
}

#[test]
fn with_a_witness_an_isolated_primary_freezes_and_the_peer_takes_over_without_split_brain() {
    let mut lab = primary_pair(&with_witness);
    lab.run_for(Duration::from_secs(1));
    // A is cut off from both B and the witness.
    lab.partition(A, B);
    lab.partition(A, W);
    write(&mut lab, A, 1, 5);
    detect_loss(&mut lab);
    lab.run_for(Duration::from_secs(11));
    assert!(!replica(&lab, A).has_quorum());
    assert!(replica(&lab, A).io_suspended());
    // The witness has forgotten A (its lease expired): B may be promoted.
    lab.command(B, ReplicaCommand::Promote { force: false });
    lab.run_for(Duration::from_millis(20));
    assert_eq!(replica(&lab, B).role(), Role::Primary);
    assert_eq!(witness(&lab).backs(), Some(B));
    write(&mut lab, B, 2, 6);
    lab.run_for(Duration::from_millis(20));
    assert_eq!(lab.acked(B), vec![WriteId(2)]);
    // A reaches the witness again, but the witness backs B: A stays frozen.
    lab.heal(A, W);
    lab.run_for(Duration::from_secs(25));
    assert_eq!(replica(&lab, A).role(), Role::Primary);
    assert!(!replica(&lab, A).has_quorum());
    assert_eq!(
        lab.acked(A),
        vec![],
        "the stale Primary acknowledges nothing"
    );
}

#[test]
fn a_secondary_without_quorum_cannot_be_promoted_even_with_a_witness_configured() {
    let mut lab = primary_pair(&with_witness);
    lab.run_for(Duration::from_secs(1));
    lab.partition(B, A);
    lab.partition(B, W);
    detect_loss(&mut lab);
    lab.run_for(Duration::from_secs(11));
    assert!(!replica(&lab, B).has_quorum());
    lab.command(B, ReplicaCommand::Promote { force: false });
    assert!(notices(&lab, B).contains(&ReplicaNotice::PromoteRefused(PromoteRefused::NoQuorum)));
    // A keeps quorum through the witness and goes on writing.
    write(&mut lab, A, 1, 5);
    lab.run_for(Duration::from_millis(20));
    assert_eq!(lab.acked(A), vec![WriteId(1)]);
}

#[test]
fn a_peer_outdated_through_the_witness_stays_unpromotable_after_the_primary_dies() {
    let mut lab = primary_pair(&with_witness);
    lab.run_for(Duration::from_secs(1));
    lab.partition(A, B);
    detect_loss(&mut lab);
    assert!(witness(&lab).is_outdated(B));
    assert_eq!(
        replica(&lab, A).peer_disk(),
        model::replication::DiskState::Outdated
    );
    // A acknowledges writes B does not have...
    write(&mut lab, A, 1, 5);
    lab.run_for(Duration::from_millis(20));
    assert_eq!(lab.acked(A), vec![WriteId(1)]);
    // ...and dies. B must not be promoted without them.
    lab.crash(A);
    lab.run_for(Duration::from_secs(30));
    lab.command(B, ReplicaCommand::Promote { force: false });
    lab.run_for(Duration::from_millis(20));
    assert_eq!(replica(&lab, B).role(), Role::Secondary);
    assert!(notices(&lab, B).contains(&ReplicaNotice::PromoteRefused(
        PromoteRefused::WitnessRefused
    )));
}
