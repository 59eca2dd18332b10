use std::collections::BTreeSet;

use super::*;

/// A hand-built observation: guests, acknowledged writes, what each disk holds and what
/// each Primary had to have.
struct Fixed {
    guests: Vec<GuestView>,
    acked: Vec<u64>,
    holds: BTreeSet<(u16, u64)>,
    before: BTreeSet<(u16, u64)>,
    serving: Vec<u16>,
}

impl Observation for Fixed {
    fn guests(&self) -> impl Iterator<Item = GuestView> + '_ {
        self.guests.iter().copied()
    }
    fn acknowledged(&self) -> impl Iterator<Item = WriteId> + '_ {
        self.acked.iter().map(|&w| WriteId(w))
    }
    fn holds(&self, guest: NodeId, write: WriteId) -> bool {
        self.holds.contains(&(guest.0, write.0))
    }
    fn acknowledged_before_promotion(&self, guest: NodeId, write: WriteId) -> bool {
        self.before.contains(&(guest.0, write.0))
    }
    fn serves(&self, guest: NodeId) -> bool {
        self.serving.contains(&guest.0)
    }
}

const G0: GenerationIds = GenerationIds {
    current: 0x1000,
    bitmap: 0,
    history: [0x800, 0],
};

fn guest(n: u16, role: Role, generations: GenerationIds) -> GuestView {
    GuestView {
        node: NodeId(n),
        presence: Presence::Up,
        role,
        disk: DiskState::UpToDate,
        generations,
    }
}

fn newer(g: GenerationIds, fresh: u64) -> GenerationIds {
    let mut g = g;
    g.new_current(fresh, true);
    g
}

fn pair(a: GuestView, b: GuestView) -> Fixed {
    Fixed {
        guests: vec![a, b],
        acked: Vec::new(),
        holds: BTreeSet::new(),
        before: BTreeSet::new(),
        serving: Vec::new(),
    }
}

#[test]
fn two_primaries_are_a_split_brain_only_once_their_generations_fork() {
    // b took over with a new generation while a, hung or frozen, still has the old
    // one: two Primaries, no fork.
    let o = pair(
        guest(0, Role::Primary, G0),
        guest(1, Role::Primary, newer(G0, 0x2000)),
    );
    assert!(Property::SplitBrain.holds(&o));
    assert!(Overlap::TwoPrimaries.happens(&o));
    // a notices the lost peer and starts its own generation: forked (rule 90).
    let o = pair(
        guest(0, Role::Primary, newer(G0, 0x3000)),
        guest(1, Role::Primary, newer(G0, 0x2000)),
    );
    let v = Property::SplitBrain.check(&o).expect_err("forked");
    assert!(v.to_string().starts_with("split brain: a and b"), "{v}");
    // The same generations with one side Secondary or down: no split brain (yet).
    let mut down = guest(0, Role::Primary, newer(G0, 0x3000));
    down.presence = Presence::Down;
    let o = pair(down, guest(1, Role::Primary, newer(G0, 0x2000)));
    assert!(Property::SplitBrain.holds(&o));
    assert!(!Overlap::TwoPrimaries.happens(&o));
    // A hung Primary is still a Primary.
    let mut hung = guest(0, Role::Primary, newer(G0, 0x3000));
    hung.presence = Presence::Hung;
    let o = pair(hung, guest(1, Role::Primary, newer(G0, 0x2000)));
    assert!(!Property::SplitBrain.holds(&o));
}

#[test]
fn divergence_is_what_drbds_handshake_calls_split_brain() {
    assert!(!diverged(&G0, &G0));
    assert!(
        !diverged(&G0, &newer(G0, 0x2000)),
        "rule 50/70: one is newer"
    );
    let resynced_since = GenerationIds {
        current: 0x4000,
        bitmap: 0,
        history: [0x1000, 0x800],
    };
    assert!(!diverged(&resynced_since, &G0), "history: rule 80");
    assert!(!diverged(&G0, &resynced_since), "history: rule 60");
    assert!(diverged(&newer(G0, 0x3000), &newer(G0, 0x2000)), "rule 90");
    let unrelated = GenerationIds {
        current: 0x7000,
        bitmap: 0,
        history: [0x6000, 0x5000],
    };
    assert!(diverged(&G0, &unrelated), "unrelated data");
}

#[test]
fn a_write_is_lost_only_when_no_replica_holds_it() {
    let mut o = pair(guest(0, Role::Primary, G0), guest(1, Role::Secondary, G0));
    o.acked = vec![1, 2];
    o.holds = BTreeSet::from([(0, 1), (0, 2)]);
    assert!(Property::LostWrite.holds(&o));
    // A resync from b overwrote write 2 on a: gone everywhere.
    o.holds = BTreeSet::from([(0, 1), (1, 1)]);
    let v = Property::LostWrite.check(&o).expect_err("lost");
    assert_eq!(v.detail, Detail::LostWrite { write: WriteId(2) });
    // A guest that is down still has its disk.
    o.guests[0].presence = Presence::Down;
    o.holds = BTreeSet::from([(0, 1), (0, 2)]);
    assert!(Property::LostWrite.holds(&o));
}

#[test]
fn a_primary_must_hold_what_was_acknowledged_before_its_promotion() {
    let mut o = pair(guest(0, Role::Secondary, G0), guest(1, Role::Primary, G0));
    o.acked = vec![1, 2];
    o.holds = BTreeSet::from([(0, 1), (0, 2), (1, 1)]);
    // Write 2 was acknowledged after b's promotion (by a, in a split): not b's business.
    o.before = BTreeSet::from([(1, 1)]);
    assert!(Property::MissingWrite.holds(&o));
    o.before = BTreeSet::from([(1, 1), (1, 2)]);
    let v = Property::MissingWrite.check(&o).expect_err("missing");
    assert_eq!(
        v.detail,
        Detail::MissingWrite {
            guest: NodeId(1),
            write: WriteId(2)
        }
    );
    // It is on a, so it is not lost.
    assert!(Property::LostWrite.holds(&o));
}

#[test]
fn a_primary_on_an_outdated_disk_is_stale_and_two_servers_are_reported() {
    let mut b = guest(1, Role::Primary, G0);
    b.disk = DiskState::Outdated;
    let mut o = pair(guest(0, Role::Secondary, G0), b);
    let v = Property::StalePrimary.check(&o).expect_err("stale");
    assert_eq!(
        v.to_string(),
        "stale primary: b is Primary on an Outdated disk"
    );
    assert!(!Overlap::TwoServing.happens(&o));
    o.serving = vec![0, 1];
    assert!(Overlap::TwoServing.happens(&o));
    assert_eq!(violations(&o).len(), 1);
}
