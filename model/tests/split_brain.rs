//! Split brain end to end: every value of `after-sb-0pri`, `after-sb-1pri` and
//! `after-sb-2pri`, and manual recovery with `connect --discard-my-data`, checked on the
//! disks: which node's writes survive and which are thrown away.
//!
//! The recipe ([`split`]): A is Primary, connected and in sync, and writes some shared
//! history; the link breaks; with the default fencing `dont-care` the cut-off Secondary B
//! is promoted too; both write; some of them demote; the link heals and the handshake
//! decides. A was Primary when its changes began, so its bitmap UUID carries the "was
//! Primary" bit and B's does not: A is the *older* Primary, B the *younger*. B, the
//! accepting side, holds `RESOLVE_CONFLICTS` and loses ties.
//!
//! src: drbdsetup(8) `after-sb-0pri`, `after-sb-1pri`, `after-sb-2pri`, `rr-conflict`,
//! `--discard-my-data`; DRBD 8.4 `drbd_receiver.c` `drbd_asb_recover_0p/1p/2p` and
//! `drbd_sync_handshake`.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use core::time::Duration;

use common::*;
use model::replication::handshake::{HandshakeRefusal, SplitBrain};
use model::replication::{
    AfterSb0Pri, AfterSb1Pri, AfterSb2Pri, ConnState, DiskState, ReplicaCommand, ReplicaNotice,
    Role, RrConflict,
};
use model::{BlockNo, Effect, HandlerRequest, NodeId, Payload, WriteId};

/// Application writes: (write id, block). The payload of a write names its id.
type Writes = &'static [(u64, BlockNo)];

/// Written on A while connected: on both disks before the split.
const SHARED: Writes = &[(1, 10), (2, 11)];
/// A during the split, 3 blocks: overwrites shared block 11, writes block 20 that only A
/// touches, and block 30 that B writes too.
const A_WRITES: Writes = &[(101, 11), (102, 20), (103, 30)];
/// A during the split, 5 blocks: more than [`B_WRITES`].
const A_MANY: Writes = &[(101, 11), (102, 20), (103, 30), (104, 21), (105, 22)];
/// B during the split, 4 blocks: overwrites shared block 10, writes block 30 that A writes
/// too, and blocks 40 and 41 that only B touches.
const B_WRITES: Writes = &[(201, 10), (202, 30), (203, 40), (204, 41)];
/// B during the split, 3 blocks: as many as [`A_WRITES`].
const B_AS_MANY: Writes = &[(201, 10), (202, 30), (203, 40)];
/// No writes at all.
const NOTHING: Writes = &[];

/// The split-brain configuration of both nodes.
#[derive(Clone, Copy, Debug, Default)]
struct Policies {
    sb0: AfterSb0Pri,
    sb1: AfterSb1Pri,
    sb2: AfterSb2Pri,
    rr: RrConflict,
}

/// A healed split brain and what the disks held just before the link came back.
struct Split {
    lab: Lab,
    /// Every non-zero block of each disk just before the heal (or the reconnect).
    before: BTreeMap<NodeId, BTreeMap<BlockNo, Payload>>,
    /// Roles just before the heal (or the reconnect).
    roles: BTreeMap<NodeId, Role>,
    /// What each node wrote during the split.
    wrote: BTreeMap<NodeId, Writes>,
    /// Resolution expected by hand (`--discard-my-data`) rather than by a policy.
    manual: bool,
}

fn other(n: NodeId) -> NodeId {
    if n == A { B } else { A }
}

/// Runs the recipe: `a` and `b` are the nodes' writes during the split, `secondaries`
/// demote before the link heals. With `both_promoted_during_split`, A demotes before the
/// split and is promoted during it like B, so neither bitmap UUID has the "was Primary"
/// bit.
fn split(
    p: Policies,
    both_promoted_during_split: bool,
    a: Writes,
    b: Writes,
    secondaries: &[NodeId],
) -> Split {
    let mut lab = primary_pair(&move |c| {
        c.after_sb_0pri = p.sb0;
        c.after_sb_1pri = p.sb1;
        c.after_sb_2pri = p.sb2;
        c.rr_conflict = p.rr;
    });
    for &(id, block) in SHARED {
        write(&mut lab, A, id, block);
    }
    lab.run_for(Duration::from_millis(100));
    for &(id, block) in SHARED {
        assert_eq!(
            on_disk(&lab, B, block),
            Some(id),
            "shared write {id} mirrored"
        );
    }
    if both_promoted_during_split {
        lab.command(A, ReplicaCommand::Demote);
        lab.run_for(Duration::from_millis(10));
    }

    lab.partition(A, B);
    detect_loss(&mut lab);
    for n in [A, B] {
        assert_eq!(
            replica(&lab, n).conn(),
            ConnState::Connecting,
            "{n} lost the peer"
        );
    }
    let promote: &[NodeId] = if both_promoted_during_split {
        &[A, B]
    } else {
        &[B]
    };
    for &n in promote {
        lab.command(n, ReplicaCommand::Promote { force: false });
        assert_eq!(
            replica(&lab, n).role(),
            Role::Primary,
            "fencing dont-care lets the cut-off {n} be promoted"
        );
    }

    for (n, writes) in [(A, a), (B, b)] {
        for &(id, block) in writes {
            write(&mut lab, n, id, block);
        }
    }
    lab.run_for(Duration::from_millis(100));
    for (n, writes) in [(A, a), (B, b)] {
        for &(id, block) in writes {
            assert!(
                lab.acked(n).contains(&WriteId(id)),
                "{n} acknowledged write {id}"
            );
            assert_eq!(
                on_disk(&lab, n, block),
                Some(id),
                "write {id} is on {n}'s disk"
            );
        }
        assert_eq!(
            replica(&lab, n).bitmap().count(),
            writes.len() as u64,
            "{n}'s bitmap holds exactly its own changes"
        );
    }
    for &n in secondaries {
        lab.command(n, ReplicaCommand::Demote);
        assert_eq!(replica(&lab, n).role(), Role::Secondary, "{n} demoted");
    }

    let mut run = Split {
        lab,
        before: BTreeMap::new(),
        roles: BTreeMap::new(),
        wrote: BTreeMap::from([(A, a), (B, b)]),
        manual: false,
    };
    run.snapshot();
    run.lab.heal(A, B);
    // A, the initiator, retries its Hello every connect-int (10 s).
    run.lab.run_for(Duration::from_secs(12));
    run
}

/// No Primary when the link heals: both demote first.
fn split_0pri(sb0: AfterSb0Pri, a: Writes, b: Writes) -> Split {
    let p = Policies {
        sb0,
        ..Policies::default()
    };
    split(p, false, a, b, &[A, B])
}

/// One Primary when the link heals: `secondary` demotes first.
fn split_1pri(sb1: AfterSb1Pri, sb0: AfterSb0Pri, secondary: NodeId) -> Split {
    let p = Policies {
        sb0,
        sb1,
        ..Policies::default()
    };
    split(p, false, A_WRITES, B_WRITES, &[secondary])
}

/// Two Primaries when the link heals.
fn split_2pri(sb2: AfterSb2Pri, sb0: AfterSb0Pri, rr: RrConflict) -> Split {
    let p = Policies {
        sb0,
        sb2,
        rr,
        ..Policies::default()
    };
    split(p, false, A_WRITES, B_WRITES, &[])
}

impl Split {
    fn snapshot(&mut self) {
        for n in [A, B] {
            self.before.insert(n, self.lab.disk(n).blocks());
            self.roles.insert(n, replica(&self.lab, n).role());
        }
        self.lab.take_records();
    }

    /// The operator reconnects: `connect --discard-my-data` on `discarding` (manual
    /// recovery), plain `connect` on the other; a node still trying to connect keeps
    /// doing so. A retries its Hello every connect-int (10 s).
    fn reconnect(&mut self, discarding: Option<NodeId>) {
        self.snapshot();
        for n in [A, B] {
            let discard_my_data = Some(n) == discarding;
            self.lab
                .command(n, ReplicaCommand::Connect { discard_my_data });
        }
        self.lab.run_for(Duration::from_secs(12));
        self.manual = discarding.is_some();
    }

    /// The one split-brain notice of `n`, after its one handshake, which found the split
    /// brain by rule 90.
    fn split_brain(&self, n: NodeId) -> SplitBrain {
        let seen: Vec<SplitBrain> = notices(&self.lab, n)
            .into_iter()
            .filter_map(|x| match x {
                ReplicaNotice::SplitBrain(sb) => Some(sb),
                _ => None,
            })
            .collect();
        assert_eq!(seen.len(), 1, "{n} reports split brain once: {seen:?}");
        let rules: Vec<u16> = notices(&self.lab, n)
            .into_iter()
            .filter_map(|x| match x {
                ReplicaNotice::Handshake { rule, .. } => Some(rule),
                _ => None,
            })
            .collect();
        // drbd_uuid_compare rule 90: equal bitmap UUIDs, different current UUIDs.
        assert_eq!(rules, [90], "{n} handshook once, by the split-brain rule");
        seen[0]
    }

    fn expect(&self, primaries: u8, discard_mine: Option<bool>) -> SplitBrain {
        SplitBrain {
            primaries,
            discard_mine,
            manual: self.manual,
        }
    }

    fn refusals(&self, n: NodeId) -> Vec<HandshakeRefusal> {
        notices(&self.lab, n)
            .into_iter()
            .filter_map(|x| match x {
                ReplicaNotice::Refused(why) => Some(why),
                _ => None,
            })
            .collect()
    }

    fn sync_started(&self, n: NodeId) -> Vec<(bool, u64)> {
        notices(&self.lab, n)
            .into_iter()
            .filter_map(|x| match x {
                ReplicaNotice::SyncStarted { source, blocks } => Some((source, blocks)),
                _ => None,
            })
            .collect()
    }

    fn handlers(&self, n: NodeId) -> Vec<HandlerRequest> {
        self.lab
            .effects_of(n)
            .filter_map(|e| match e {
                Effect::Handler(h) => Some(*h),
                _ => None,
            })
            .collect()
    }

    fn conn(&self, n: NodeId) -> ConnState {
        replica(&self.lab, n).conn()
    }

    /// `n`'s disk is as it was before the heal: its own split-brain writes are there.
    fn assert_kept(&self, n: NodeId) {
        assert_eq!(
            &self.lab.disk(n).blocks(),
            &self.before[&n],
            "{n} kept its data"
        );
        for &(id, block) in self.wrote[&n] {
            assert_eq!(
                on_disk(&self.lab, n, block),
                Some(id),
                "{n} kept write {id}"
            );
        }
    }

    /// Resolved against `loser`: its changes are discarded, the winner's copied over.
    fn assert_discarded(&self, loser: NodeId, primaries: u8) {
        let winner = other(loser);
        assert_eq!(self.split_brain(loser), self.expect(primaries, Some(true)));
        assert_eq!(
            self.split_brain(winner),
            self.expect(primaries, Some(false))
        );
        // A bitmap-based resync of the blocks either side changed.
        let changed: BTreeSet<BlockNo> = [A, B]
            .iter()
            .flat_map(|n| self.wrote[n].iter().map(|&(_, block)| block))
            .collect();
        let changed = changed.len() as u64;
        assert_eq!(
            self.sync_started(loser),
            [(false, changed)],
            "{loser} is target"
        );
        assert_eq!(
            self.sync_started(winner),
            [(true, changed)],
            "{winner} is source"
        );
        for n in [A, B] {
            assert_eq!(
                self.conn(n),
                ConnState::Connected,
                "{n} connected after the resync"
            );
            assert_eq!(
                replica(&self.lab, n).disk(),
                DiskState::UpToDate,
                "{n} UpToDate"
            );
            assert_eq!(
                replica(&self.lab, n).role(),
                self.roles[&n],
                "{n} kept its role"
            );
            assert_eq!(self.refusals(n), [], "{n} refused nothing");
            assert_eq!(self.handlers(n), [], "{n} called no handler");
        }

        let theirs = &self.before[&winner];
        assert_eq!(
            &self.lab.disk(winner).blocks(),
            theirs,
            "winner {winner} kept its data"
        );
        assert_eq!(
            &self.lab.disk(loser).blocks(),
            theirs,
            "loser {loser} became a copy of the winner's disk"
        );
        for &(id, block) in self.wrote[&loser] {
            let reverted = theirs.get(&block).and_then(Payload::as_u64);
            assert_ne!(reverted, Some(id));
            assert_eq!(
                on_disk(&self.lab, loser, block),
                reverted,
                "{loser}'s write {id} to block {block} is gone"
            );
        }
        for &(id, block) in self.wrote[&winner] {
            assert_eq!(
                on_disk(&self.lab, loser, block),
                Some(id),
                "{winner}'s write {id} reached {loser}"
            );
        }
    }

    /// Not resolved: both drop the connection, go StandAlone, call `split-brain` and keep
    /// their own data.
    fn assert_unresolved(&self, primaries: u8) {
        for n in [A, B] {
            assert_eq!(self.split_brain(n), self.expect(primaries, None), "{n}");
            assert_eq!(self.refusals(n), [HandshakeRefusal::SplitBrain], "{n}");
            assert_eq!(self.handlers(n), [HandlerRequest::SplitBrain], "{n}");
            assert_eq!(self.conn(n), ConnState::StandAlone, "{n}");
            assert_eq!(
                replica(&self.lab, n).role(),
                self.roles[&n],
                "{n} kept its role"
            );
            self.assert_kept(n);
        }
    }

    /// The policy discards the Primary `loser`; `rr-conflict` makes it refuse to become
    /// sync target (calling `loser_handlers`). The winner, left as sync source of a dropped
    /// connection, keeps trying to connect. Nobody's data changes.
    fn assert_primary_refuses_to_be_target(
        &self,
        loser: NodeId,
        primaries: u8,
        loser_handlers: &[HandlerRequest],
    ) {
        let winner = other(loser);
        assert_eq!(self.split_brain(loser), self.expect(primaries, Some(true)));
        assert_eq!(
            self.split_brain(winner),
            self.expect(primaries, Some(false))
        );
        assert_eq!(
            self.refusals(loser),
            [HandshakeRefusal::PrimaryWouldBeTarget]
        );
        assert_eq!(self.refusals(winner), []);
        assert_eq!(self.handlers(loser), loser_handlers);
        assert_eq!(self.handlers(winner), []);
        assert_eq!(self.conn(loser), ConnState::StandAlone);
        assert_eq!(self.conn(winner), ConnState::Connecting);
        assert_eq!(replica(&self.lab, loser).role(), Role::Primary);
        self.assert_kept(loser);
        self.assert_kept(winner);
    }

    /// The policy discards the Primary `loser`, which cannot demote (its device is in use)
    /// and calls `pri-lost-after-sb`: unresolved on it. Nobody's data changes.
    fn assert_pri_lost_after_sb(&self, loser: NodeId, primaries: u8) {
        let winner = other(loser);
        assert_eq!(self.split_brain(loser), self.expect(primaries, None));
        assert_eq!(
            self.split_brain(winner),
            self.expect(primaries, Some(false))
        );
        assert_eq!(self.refusals(loser), [HandshakeRefusal::SplitBrain]);
        assert_eq!(self.refusals(winner), []);
        assert_eq!(
            self.handlers(loser),
            [
                HandlerRequest::PrimaryLostAfterSplitBrain,
                HandlerRequest::SplitBrain
            ]
        );
        assert_eq!(self.handlers(winner), []);
        assert_eq!(self.conn(loser), ConnState::StandAlone);
        assert_eq!(self.conn(winner), ConnState::Connecting);
        assert_eq!(replica(&self.lab, loser).role(), Role::Primary);
        self.assert_kept(loser);
        self.assert_kept(winner);
    }
}

// after-sb-0pri: both Secondary when the link heals.

#[test]
fn sb0_disconnect_leaves_both_standalone_with_their_own_writes() {
    split_0pri(AfterSb0Pri::Disconnect, A_WRITES, B_WRITES).assert_unresolved(0);
}

#[test]
fn sb0_discard_younger_primary_discards_b() {
    // B changed more blocks: least-changes would discard A.
    split_0pri(AfterSb0Pri::DiscardYoungerPrimary, A_WRITES, B_WRITES).assert_discarded(B, 0);
}

#[test]
fn sb0_discard_older_primary_discards_a() {
    // A changed more blocks: least-changes would discard B.
    split_0pri(AfterSb0Pri::DiscardOlderPrimary, A_MANY, B_WRITES).assert_discarded(A, 0);
}

#[test]
fn sb0_discard_younger_or_older_primary_falls_back_to_least_changes() {
    // Both were Secondary at the split and promoted during it: no "was Primary" bit on
    // either side, so DRBD "did not find a decision" and uses discard-least-changes.
    let p = |sb0| Policies {
        sb0,
        ..Policies::default()
    };
    // Younger would discard B; A changed fewer blocks.
    split(
        p(AfterSb0Pri::DiscardYoungerPrimary),
        true,
        A_WRITES,
        B_WRITES,
        &[A, B],
    )
    .assert_discarded(A, 0);
    // Older would discard A; B changed fewer blocks.
    split(
        p(AfterSb0Pri::DiscardOlderPrimary),
        true,
        A_MANY,
        B_WRITES,
        &[A, B],
    )
    .assert_discarded(B, 0);
}

#[test]
fn sb0_discard_zero_changes_discards_b_when_only_a_wrote() {
    split_0pri(AfterSb0Pri::DiscardZeroChanges, A_WRITES, NOTHING).assert_discarded(B, 0);
}

#[test]
fn sb0_discard_zero_changes_discards_a_when_only_b_wrote() {
    split_0pri(AfterSb0Pri::DiscardZeroChanges, NOTHING, B_WRITES).assert_discarded(A, 0);
}

#[test]
fn sb0_discard_zero_changes_is_unresolved_when_both_wrote() {
    split_0pri(AfterSb0Pri::DiscardZeroChanges, A_WRITES, B_WRITES).assert_unresolved(0);
}

#[test]
fn sb0_discard_zero_changes_without_any_changes_discards_b_the_resolve_conflicts_holder() {
    split_0pri(AfterSb0Pri::DiscardZeroChanges, NOTHING, NOTHING).assert_discarded(B, 0);
}

#[test]
fn sb0_discard_least_changes_discards_a_with_fewer_blocks() {
    split_0pri(AfterSb0Pri::DiscardLeastChanges, A_WRITES, B_WRITES).assert_discarded(A, 0);
}

#[test]
fn sb0_discard_least_changes_discards_b_with_fewer_blocks() {
    split_0pri(AfterSb0Pri::DiscardLeastChanges, A_MANY, B_WRITES).assert_discarded(B, 0);
}

#[test]
fn sb0_discard_least_changes_tie_discards_b_the_resolve_conflicts_holder() {
    split_0pri(AfterSb0Pri::DiscardLeastChanges, A_WRITES, B_AS_MANY).assert_discarded(B, 0);
}

#[test]
fn sb0_discard_node_a_discards_a() {
    split_0pri(AfterSb0Pri::DiscardNode(A), A_MANY, B_WRITES).assert_discarded(A, 0);
}

#[test]
fn sb0_discard_node_b_discards_b() {
    split_0pri(AfterSb0Pri::DiscardNode(B), A_WRITES, B_WRITES).assert_discarded(B, 0);
}

// after-sb-1pri: one node demotes before the link heals. The 0pri policy is
// discard-younger-primary throughout: it points at B.

const YOUNGER: AfterSb0Pri = AfterSb0Pri::DiscardYoungerPrimary;

#[test]
fn sb1_disconnect_is_unresolved_whatever_the_0pri_policy() {
    split_1pri(AfterSb1Pri::Disconnect, YOUNGER, B).assert_unresolved(1);
}

#[test]
fn sb1_consensus_discards_the_secondary_when_0pri_agrees() {
    // A Primary, B Secondary: 0pri discards B, the Secondary.
    split_1pri(AfterSb1Pri::Consensus, YOUNGER, B).assert_discarded(B, 1);
}

#[test]
fn sb1_consensus_is_unresolved_when_0pri_would_discard_the_primary() {
    // B Primary, A Secondary: 0pri discards B, the Primary.
    split_1pri(AfterSb1Pri::Consensus, YOUNGER, A).assert_unresolved(1);
}

#[test]
fn sb1_discard_secondary_discards_secondary_b() {
    split_1pri(AfterSb1Pri::DiscardSecondary, AfterSb0Pri::Disconnect, B).assert_discarded(B, 1);
}

#[test]
fn sb1_discard_secondary_discards_secondary_a_even_against_0pri() {
    // 0pri would discard B, the Primary; discard-secondary ignores it.
    split_1pri(AfterSb1Pri::DiscardSecondary, YOUNGER, A).assert_discarded(A, 1);
}

#[test]
fn sb1_call_pri_lost_after_sb_discards_the_secondary_when_0pri_does() {
    split_1pri(AfterSb1Pri::CallPriLostAfterSb, YOUNGER, B).assert_discarded(B, 1);
}

#[test]
fn sb1_call_pri_lost_after_sb_calls_the_handler_on_a_primary_0pri_discards() {
    split_1pri(AfterSb1Pri::CallPriLostAfterSb, YOUNGER, A).assert_pri_lost_after_sb(B, 1);
}

#[test]
fn sb1_violently_as0p_discards_the_secondary_when_0pri_does() {
    split_1pri(AfterSb1Pri::ViolentlyAs0p, YOUNGER, B).assert_discarded(B, 1);
}

#[test]
fn sb1_violently_as0p_discarding_the_primary_is_refused_by_rr_conflict() {
    // rr-conflict disconnect (the default): "I shall become SyncTarget, but I am primary!"
    split_1pri(AfterSb1Pri::ViolentlyAs0p, YOUNGER, A).assert_primary_refuses_to_be_target(
        B,
        1,
        &[],
    );
}

#[test]
fn sb1_policies_that_defer_to_0pri_disconnect_stay_unresolved() {
    for sb1 in [
        AfterSb1Pri::Consensus,
        AfterSb1Pri::CallPriLostAfterSb,
        AfterSb1Pri::ViolentlyAs0p,
    ] {
        split_1pri(sb1, AfterSb0Pri::Disconnect, B).assert_unresolved(1);
    }
}

// after-sb-2pri: both still Primary when the link heals.

#[test]
fn sb2_disconnect_is_unresolved_whatever_the_0pri_policy() {
    split_2pri(AfterSb2Pri::Disconnect, YOUNGER, RrConflict::Disconnect).assert_unresolved(2);
}

#[test]
fn sb2_violently_as0p_discarding_younger_b_is_refused_by_rr_conflict() {
    split_2pri(AfterSb2Pri::ViolentlyAs0p, YOUNGER, RrConflict::Disconnect)
        .assert_primary_refuses_to_be_target(B, 2, &[]);
}

#[test]
fn sb2_violently_as0p_discarding_older_a_is_refused_by_rr_conflict() {
    split_2pri(
        AfterSb2Pri::ViolentlyAs0p,
        AfterSb0Pri::DiscardOlderPrimary,
        RrConflict::Disconnect,
    )
    .assert_primary_refuses_to_be_target(A, 2, &[]);
}

#[test]
fn sb2_violently_as0p_with_rr_conflict_call_pri_lost_calls_pri_lost() {
    split_2pri(AfterSb2Pri::ViolentlyAs0p, YOUNGER, RrConflict::CallPriLost)
        .assert_primary_refuses_to_be_target(B, 2, &[HandlerRequest::PrimaryLost]);
}

#[test]
fn sb2_call_pri_lost_after_sb_calls_the_handler_on_younger_b() {
    split_2pri(
        AfterSb2Pri::CallPriLostAfterSb,
        YOUNGER,
        RrConflict::Disconnect,
    )
    .assert_pri_lost_after_sb(B, 2);
}

#[test]
fn sb2_call_pri_lost_after_sb_calls_the_handler_on_older_a() {
    split_2pri(
        AfterSb2Pri::CallPriLostAfterSb,
        AfterSb0Pri::DiscardOlderPrimary,
        RrConflict::Disconnect,
    )
    .assert_pri_lost_after_sb(A, 2);
}

#[test]
fn sb2_policies_that_defer_to_0pri_disconnect_stay_unresolved() {
    for sb2 in [AfterSb2Pri::ViolentlyAs0p, AfterSb2Pri::CallPriLostAfterSb] {
        split_2pri(sb2, AfterSb0Pri::Disconnect, RrConflict::Disconnect).assert_unresolved(2);
    }
}

// Manual recovery: `connect --discard-my-data` on the victim, `connect` on the other.

#[test]
fn manual_recovery_discards_secondary_b_after_unresolved_0pri_split_brain() {
    let mut run = split_0pri(AfterSb0Pri::Disconnect, A_WRITES, B_WRITES);
    run.assert_unresolved(0);
    run.reconnect(Some(B));
    run.assert_discarded(B, 0);
}

#[test]
fn manual_recovery_discards_demoted_a_after_unresolved_2pri_split_brain() {
    let mut run = split_2pri(AfterSb2Pri::Disconnect, YOUNGER, RrConflict::Disconnect);
    run.assert_unresolved(2);
    run.lab.command(A, ReplicaCommand::Demote);
    run.reconnect(Some(A));
    run.assert_discarded(A, 1);
}

#[test]
fn manual_recovery_cannot_discard_a_primary() {
    let mut run = split_2pri(AfterSb2Pri::Disconnect, YOUNGER, RrConflict::Disconnect);
    run.assert_unresolved(2);
    run.reconnect(Some(A));
    run.assert_primary_refuses_to_be_target(A, 2, &[]);
}

// Reconnecting after a one-sided verdict.

#[test]
fn reconnecting_after_a_refused_resolution_applies_the_policies_again() {
    // B, the younger Primary, refuses to be discarded (rr-conflict); A had decided to be
    // sync source, but the connection dropped before any bitmap was exchanged. In DRBD
    // the sync UUID is made in `drbd_start_resync` after the bitmap exchange, so neither
    // node's UUIDs changed. The operator demotes B and connects it again: the same split
    // brain (rule 90), now with one Primary, and discard-secondary resolves it.
    let p = Policies {
        sb0: YOUNGER,
        sb1: AfterSb1Pri::DiscardSecondary,
        sb2: AfterSb2Pri::ViolentlyAs0p,
        rr: RrConflict::Disconnect,
    };
    let mut run = split(p, false, A_WRITES, B_WRITES, &[]);
    run.assert_primary_refuses_to_be_target(B, 2, &[]);
    run.lab.command(B, ReplicaCommand::Demote);
    run.reconnect(None);
    run.assert_discarded(B, 1);
}
