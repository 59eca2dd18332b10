//! Every rule of `drbd_uuid_compare`, table-driven, and the handshake's own refusals.
//!
//! Each row builds the two nodes' generation identifiers so that exactly the named rule
//! decides, and checks the verdict from both sides: the peer must reach the mirrored
//! verdict under the mirrored rule, or the two nodes would disagree on the sync direction.

use model::NodeId;
use model::replication::bitmap::Bitmap;
use model::replication::handshake::{HandshakeParams, HandshakeRefusal, Outcome, decide};
use model::replication::uuid::{
    GenerationIds, UUID_JUST_CREATED, UUID_NEW_BM_OFFSET, UuidView, compare,
};
use model::replication::{DiskState, ReplicaConfig, Role};

const C: u64 = 0xC0_0000;
const P: u64 = 0x50_0000;
const M: u64 = 0x3E_0000;
const H1: u64 = 0x11_0000;
const H2: u64 = 0x12_0000;
const X: u64 = 0x77_0000;
const Y: u64 = 0x78_0000;

fn ids(current: u64, bitmap: u64, h0: u64, h1: u64) -> GenerationIds {
    GenerationIds {
        current,
        bitmap,
        history: [h0, h1],
    }
}

fn view(uuids: GenerationIds) -> UuidView {
    UuidView {
        uuids,
        crashed_primary: false,
        role: Role::Secondary,
    }
}

struct Row {
    name: &'static str,
    me: UuidView,
    peer: UuidView,
    resolve_conflicts: bool,
    rule: u16,
    verdict: i32,
    /// The rule the peer decides by, seeing the same pair from its side.
    mirror_rule: u16,
}

fn rows() -> Vec<Row> {
    let crashed = |mut v: UuidView| {
        v.crashed_primary = true;
        v
    };
    let primary = |mut v: UuidView| {
        v.role = Role::Primary;
        v
    };
    let jc = view(GenerationIds::JUST_CREATED);
    let eq = view(ids(C, 0, H1, H2));
    let row = |name, me, peer, rule, verdict, mirror_rule| Row {
        name,
        me,
        peer,
        resolve_conflicts: false,
        rule,
        verdict,
        mirror_rule,
    };
    vec![
        row("10 both just created", jc, jc, 10, 0, 10),
        row("20 me just created: full sync target", jc, eq, 20, -2, 30),
        row("30 peer just created: full sync source", eq, jc, 30, 2, 20),
        row(
            "34 I was source and missed resync-finished: corrected, source",
            view(ids(C, M, H1, H2)),
            view(ids(C, 0, M, H1)),
            34,
            1,
            35,
        ),
        row(
            "36 I was source, peer failed to write the sync UUID",
            view(ids(C, M, H1, H2)),
            view(ids(C, 0, X, Y)),
            36,
            1,
            37,
        ),
        row(
            "35 I was target, peer missed resync-finished",
            view(ids(C, 0, M, H1)),
            view(ids(C, M, H1, H2)),
            35,
            -1,
            34,
        ),
        row(
            "37 I was target, failed to write the sync UUID",
            view(ids(C, 0, X, Y)),
            view(ids(C, M, H1, H2)),
            37,
            -1,
            36,
        ),
        row(
            "40 equal, nobody crashed as Primary: no sync",
            eq,
            eq,
            40,
            0,
            40,
        ),
        row(
            "40 I crashed as Primary: I am source",
            crashed(eq),
            eq,
            40,
            1,
            40,
        ),
        row(
            "40 peer crashed as Primary: I am target",
            eq,
            crashed(eq),
            40,
            -1,
            40,
        ),
        row(
            "40 both crashed as Primary, no RESOLVE_CONFLICTS: source",
            crashed(eq),
            crashed(eq),
            40,
            1,
            40,
        ),
        row(
            "41 crashed-primary flag but I am Primary now: source",
            primary(crashed(eq)),
            eq,
            41,
            1,
            41,
        ),
        row(
            "41 both Primary with unrotated UUIDs: unresolvable",
            primary(crashed(eq)),
            primary(eq),
            41,
            -100,
            41,
        ),
        row(
            "50 my current is the peer's bitmap UUID: bitmap sync target",
            view(ids(C, 0, H1, H2)),
            view(ids(P, C, H1, H2)),
            50,
            -1,
            70,
        ),
        row(
            "51 peer's sync UUID was lost: undo, target",
            view(ids(C, 0, H1, H2)),
            view(ids(P, C + UUID_NEW_BM_OFFSET, C, H1)),
            51,
            -1,
            71,
        ),
        row(
            "60 my current is in the peer's history: full sync target",
            view(ids(C, 0, H1, H2)),
            view(ids(P, X, Y, C)),
            60,
            -2,
            80,
        ),
        row(
            "70 my bitmap UUID is the peer's current: bitmap sync source",
            view(ids(P, C, H1, H2)),
            view(ids(C, 0, H1, H2)),
            70,
            1,
            50,
        ),
        row(
            "71 my sync UUID was lost: undo, source",
            view(ids(P, C + UUID_NEW_BM_OFFSET, C, H1)),
            view(ids(C, 0, H1, H2)),
            71,
            1,
            51,
        ),
        row(
            "80 the peer's current is in my history: full sync source",
            view(ids(P, X, Y, C)),
            view(ids(C, 0, H1, H2)),
            80,
            2,
            60,
        ),
        row(
            "90 equal bitmap UUIDs: split brain, auto-recoverable",
            view(ids(C, M, H1, H2)),
            view(ids(P, M, H1, H2)),
            90,
            100,
            90,
        ),
        row(
            "100 shared history only: split brain",
            view(ids(C, M, H1, X)),
            view(ids(P, Y, H2, H1)),
            100,
            -100,
            100,
        ),
        row(
            // DRBD 8.4 leaves `rule_nr` at 100 and returns -1000: its log reads
            // "uuid_compare()=-1000 by rule 100".
            "100 nothing shared: unrelated data",
            view(ids(C, M, H1, H2)),
            view(ids(P, Y, X, X + 2)),
            100,
            -1000,
            100,
        ),
    ]
}

#[test]
fn every_rule_of_drbd_uuid_compare_decides_its_row_and_the_peer_agrees() {
    let mut seen = std::collections::BTreeSet::new();
    for row in rows() {
        let mine = compare(&row.me, &row.peer, row.resolve_conflicts);
        assert_eq!(
            (mine.rule, mine.verdict),
            (row.rule, row.verdict),
            "{}",
            row.name
        );
        let theirs = compare(&row.peer, &row.me, !row.resolve_conflicts);
        let mirrored = if row.verdict.abs() >= 100 {
            row.verdict
        } else {
            -row.verdict
        };
        assert_eq!(
            (theirs.rule, theirs.verdict),
            (row.mirror_rule, mirrored),
            "{} (seen from the peer)",
            row.name
        );
        seen.insert(row.rule);
    }
    let all = [
        10, 20, 30, 34, 35, 36, 37, 40, 41, 50, 51, 60, 70, 71, 80, 90, 100,
    ];
    assert_eq!(seen, all.into_iter().collect(), "every rule has a row");
}

#[test]
fn both_crashed_primaries_are_arbitrated_by_resolve_conflicts() {
    let eq = UuidView {
        uuids: ids(C, 0, H1, H2),
        crashed_primary: true,
        role: Role::Secondary,
    };
    assert_eq!(compare(&eq, &eq, true).verdict, -1);
    assert_eq!(compare(&eq, &eq, false).verdict, 1);
}

#[test]
fn rules_34_and_71_correct_the_deciding_nodes_own_identifiers() {
    let r34 = compare(&view(ids(C, M, H1, H2)), &view(ids(C, 0, M, H1)), false);
    assert_eq!(r34.corrected_self, Some(ids(C, 0, M, H1)));
    let r71 = compare(
        &view(ids(P, C + UUID_NEW_BM_OFFSET, C, H1)),
        &view(ids(C, 0, H1, H2)),
        false,
    );
    assert_eq!(r71.corrected_self, Some(ids(P, C, H1, H1)));
    assert_eq!(
        compare(&view(ids(C, M, H1, H2)), &view(ids(C, 0, X, Y)), false).corrected_self,
        None
    );
}

#[test]
fn the_primary_bit_is_ignored_when_comparing() {
    let me = view(ids(C | 1, 0, H1, H2));
    let peer = view(ids(C, 0, H1 | 1, H2));
    assert_eq!(compare(&me, &peer, false).rule, 40);
    assert_ne!(UUID_JUST_CREATED & 1, 1);
}

fn params(node: u16, uuids: GenerationIds, disk: DiskState, role: Role) -> HandshakeParams {
    HandshakeParams {
        node: NodeId(node),
        uuids,
        disk,
        role,
        crashed_primary: false,
        discard_my_data: false,
        bitmap: Bitmap::new(),
    }
}

#[test]
fn the_handshake_refuses_what_drbd_refuses() {
    let cfg = ReplicaConfig::new(NodeId(0), NodeId(1), 16);
    // Unrelated data.
    let me = params(0, ids(C, M, H1, H2), DiskState::UpToDate, Role::Secondary);
    let peer = params(1, ids(P, Y, X, X + 2), DiskState::UpToDate, Role::Secondary);
    let unrelated = decide(&cfg, &me, &peer, false);
    assert_eq!(
        unrelated.outcome,
        Outcome::Disconnect(HandshakeRefusal::UnrelatedData)
    );
    // As DRBD 8.4 logs it: "uuid_compare()=-1000 by rule 100".
    assert_eq!(
        (unrelated.comparison.rule, unrelated.comparison.verdict),
        (100, -1000)
    );
    // The UUIDs say I am source, but my disk is Inconsistent and the peer's is too.
    let me = params(
        0,
        ids(P, C, H1, H2),
        DiskState::Inconsistent,
        Role::Secondary,
    );
    let peer = params(
        1,
        ids(C, 0, H1, H2),
        DiskState::Inconsistent,
        Role::Secondary,
    );
    assert_eq!(
        decide(&cfg, &me, &peer, false).outcome,
        Outcome::Disconnect(HandshakeRefusal::SourceIsInconsistent)
    );
    // A Primary that would become sync target (rr-conflict disconnect).
    let me = params(0, ids(C, 0, H1, H2), DiskState::UpToDate, Role::Primary);
    let peer = params(1, ids(P, C, H1, H2), DiskState::UpToDate, Role::Secondary);
    assert_eq!(
        decide(&cfg, &me, &peer, false).outcome,
        Outcome::Disconnect(HandshakeRefusal::PrimaryWouldBeTarget)
    );
}

#[test]
fn disk_states_override_the_uuids_as_drbd_does() {
    let cfg = ReplicaConfig::new(NodeId(0), NodeId(1), 16);
    // Equal UUIDs, but my disk is Inconsistent and the peer's is not: become target.
    let me = params(
        0,
        ids(C, 0, H1, H2),
        DiskState::Inconsistent,
        Role::Secondary,
    );
    let peer = params(1, ids(C, 0, H1, H2), DiskState::UpToDate, Role::Secondary);
    assert_eq!(
        decide(&cfg, &me, &peer, true).outcome,
        Outcome::SyncTarget { full: false }
    );
    assert_eq!(
        decide(&cfg, &peer, &me, false).outcome,
        Outcome::SyncSource { full: false }
    );
    // A full-sync verdict stays full.
    let me = params(
        0,
        ids(C, 0, H1, H2),
        DiskState::Inconsistent,
        Role::Secondary,
    );
    let peer = params(1, ids(P, X, Y, C), DiskState::UpToDate, Role::Secondary);
    assert_eq!(
        decide(&cfg, &me, &peer, true).outcome,
        Outcome::SyncTarget { full: true }
    );
}
