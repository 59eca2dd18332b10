//! Random fault schedules against a replicated pair, with the checker's properties as
//! oracles after every step: a cheap, seeded exploration that runs before the exhaustive
//! checker exists (and keeps running after, as a smoke test of the same properties).
//!
//! Each seed drives: application writes on whichever node is Primary, partitions and
//! heals of the replication link, crashes and reboots, and a Heartbeat-like failover
//! that promotes a Secondary once it has lost its peer. Fencing is
//! `resource-and-stonith` and the `fence-peer` handler STONITHs the peer (powers it off,
//! exit 7), as `stonith_admin-fence-peer.sh` does. The oracles:
//!
//! * no split brain: never two Primaries that both acknowledged a write since the last
//!   time they were connected;
//! * no lost acknowledged write: whenever a node is Primary with an UpToDate disk and
//!   flowing I/O, every block holds the newest acknowledged write to it or a newer one.
//!
//! The failover waits for the peer after a reboot (`wait_for_all`, DRBD's `wfc-timeout`
//! in the study's configuration): a node that comes back and promotes itself before it
//! has seen its peer trusts a stale "peer is outdated" flag, as real DRBD does — see
//! [`a_fenced_node_that_reboots_alone_trusts_a_stale_peer_outdated_flag`].

mod common;

use std::collections::BTreeMap;

use core::time::Duration;

use common::*;
use model::replication::{
    ConnState, DiskState, FencingPolicy, Protocol, ReplicaCommand, ReplicaConfig, Role,
};
use model::{Effect, HandlerReply, HandlerRequest, NodeId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn safe(c: &mut ReplicaConfig) {
    c.fencing = FencingPolicy::ResourceAndStonith;
    c.protocol = Protocol::C;
}

struct Run {
    lab: Lab,
    rng: ChaCha8Rng,
    next_write: u64,
    /// Block -> newest acknowledged write id.
    acked: BTreeMap<u64, u64>,
    /// Records already looked at.
    seen: usize,
    /// Node -> it acknowledged a write since it was last connected.
    acked_alone: BTreeMap<NodeId, bool>,
    /// Node -> it has been connected to its peer since it last booted.
    seen_peer: BTreeMap<NodeId, bool>,
    /// Whether the failover waits for the peer after a reboot.
    wait_for_all: bool,
    tweak: fn(&mut ReplicaConfig),
}

impl Run {
    fn other(n: NodeId) -> NodeId {
        if n == A { B } else { A }
    }

    /// Reacts to new effects: acknowledgements and fence-peer requests.
    fn observe(&mut self) {
        let new: Vec<_> = self.lab.records()[self.seen..].to_vec();
        self.seen = self.lab.records().len();
        for r in new {
            match r.effect {
                Effect::Ack(w) => {
                    // Payload and id are equal; block = id % 16.
                    let block = w.0 % 16;
                    let e = self.acked.entry(block).or_insert(0);
                    *e = (*e).max(w.0);
                    let connected = self
                        .lab
                        .try_node(r.node)
                        .and_then(|n| n.replica())
                        .is_some_and(|x| x.conn().is_connected());
                    if !connected {
                        self.acked_alone.insert(r.node, true);
                    }
                }
                Effect::Handler(HandlerRequest::FencePeer { peer }) => {
                    // STONITH the peer, then answer "peer was STONITHed".
                    if self.lab.is_up(peer) {
                        self.lab.crash(peer);
                    }
                    if self.lab.is_up(r.node) {
                        self.lab.handler_done(
                            r.node,
                            HandlerReply {
                                request: HandlerRequest::FencePeer { peer },
                                exit_code: 7,
                            },
                        );
                    }
                }
                _ => {}
            }
        }
    }

    fn check(&mut self, seed: u64, step: usize) {
        for n in [A, B] {
            let Some(r) = self.lab.try_node(n).and_then(|x| x.replica()) else {
                continue;
            };
            if r.conn().is_connected() && r.conn() == ConnState::Connected {
                self.acked_alone.insert(n, false);
            }
            if r.conn().is_connected() {
                self.seen_peer.insert(n, true);
            }
            if r.role() == Role::Primary && r.disk() == DiskState::UpToDate && !r.io_suspended() {
                for (&block, &id) in &self.acked {
                    let have = on_disk(&self.lab, n, block).unwrap_or(0);
                    assert!(
                        have >= id,
                        "seed {seed} step {step}: Primary {n} lacks acknowledged write {id} \
                         on block {block} (has {have})"
                    );
                }
            }
        }
        let both_primary = [A, B].into_iter().all(|n| {
            self.lab
                .try_node(n)
                .and_then(|x| x.replica())
                .is_some_and(|r| r.role() == Role::Primary)
        });
        let both_wrote = [A, B]
            .into_iter()
            .all(|n| self.acked_alone.get(&n) == Some(&true));
        assert!(
            !(both_primary && both_wrote),
            "seed {seed} step {step}: split brain: both Primary and both acknowledged writes alone"
        );
    }

    fn step(&mut self) {
        let roll = self.rng.random_range(0..100u32);
        let node = if self.rng.random_bool(0.5) { A } else { B };
        match roll {
            0..=49 => {
                // A write on every Primary that is up.
                for n in [A, B] {
                    let primary = self
                        .lab
                        .try_node(n)
                        .and_then(|x| x.replica())
                        .is_some_and(|r| r.role() == Role::Primary);
                    if primary {
                        self.next_write += 1;
                        let id = self.next_write;
                        write(&mut self.lab, n, id, id % 16);
                    }
                }
            }
            50..=59 => self.lab.partition(A, B),
            60..=74 => self.lab.heal(A, B),
            75..=79 => {
                if self.lab.is_up(node) {
                    self.lab.crash(node);
                }
            }
            _ => {
                if !self.lab.is_up(node) {
                    reboot(&mut self.lab, node, &self.tweak);
                    self.seen_peer.insert(node, false);
                    self.lab.command(
                        node,
                        ReplicaCommand::Connect {
                            discard_my_data: false,
                        },
                    );
                }
            }
        }
        // Heartbeat-like failover: a Secondary that has lost its peer is promoted.
        for n in [A, B] {
            let lost_peer = self
                .lab
                .try_node(n)
                .and_then(|x| x.replica())
                .is_some_and(|r| r.role() == Role::Secondary && !r.conn().is_connected());
            let peer_down_or_cut = !self.lab.is_up(Self::other(n))
                || !self.lab.net.is_up(A, B, model::Net::Replication);
            let may = !self.wait_for_all || self.seen_peer.get(&n) != Some(&false);
            if lost_peer && peer_down_or_cut && may {
                self.lab
                    .command(n, ReplicaCommand::Promote { force: false });
            }
        }
        self.observe();
        let d = Duration::from_millis(self.rng.random_range(1..4000));
        self.lab.run_for(d);
        self.observe();
    }
}

fn explore(seed: u64, steps: usize, tweak: fn(&mut ReplicaConfig), wait_for_all: bool) -> Run {
    let mut run = Run {
        seen_peer: BTreeMap::new(),
        wait_for_all,
        lab: primary_pair(&tweak),
        rng: ChaCha8Rng::seed_from_u64(seed),
        next_write: 0,
        acked: BTreeMap::new(),
        seen: 0,
        acked_alone: BTreeMap::new(),
        tweak,
    };
    for step in 0..steps {
        run.step();
        run.check(seed, step);
    }
    run
}

/// The first seed below `seeds` whose schedule breaks an oracle, and the oracle's message.
fn first_violation(
    seeds: u64,
    tweak: fn(&mut ReplicaConfig),
    wait_for_all: bool,
) -> Option<String> {
    (0..seeds).find_map(|seed| {
        std::panic::catch_unwind(|| {
            explore(seed, 60, tweak, wait_for_all);
        })
        .err()
        .map(|e| {
            e.downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "a non-string panic".to_string())
        })
    })
}

#[test]
fn resource_and_stonith_with_protocol_c_never_splits_or_loses_an_acknowledged_write() {
    let mut writes = 0;
    let mut failovers = 0;
    let seeds: u64 = std::env::var("CHAOS_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    for seed in 0..seeds {
        let run = explore(seed, 60, safe, true);
        writes += run.acked.len();
        failovers += [A, B]
            .into_iter()
            .filter(|&n| {
                run.lab
                    .effects_of(n)
                    .any(|e| matches!(e, Effect::Handler(_)))
            })
            .count();
    }
    // The schedules did something: writes were acknowledged and failovers fenced.
    assert!(writes > 0);
    assert!(failovers > 0);
}

#[test]
fn without_fencing_the_same_schedules_find_a_split_brain() {
    fn unsafe_(c: &mut ReplicaConfig) {
        c.fencing = FencingPolicy::DontCare;
    }
    let found = first_violation(40, unsafe_, true).expect("the oracles must be able to fail");
    assert!(
        found.contains("split brain") || found.contains("lacks acknowledged write"),
        "{found}"
    );
}

#[test]
fn a_fenced_node_that_reboots_alone_trusts_a_stale_peer_outdated_flag() {
    // A correct model of an unsafe procedure: without waiting for the peer after a
    // reboot, resource-and-stonith alone does not prevent a stale Primary.
    let found = first_violation(40, safe, false).expect("a stale Primary");
    assert!(found.contains("lacks acknowledged write"), "{found}");
}

#[test]
fn the_stale_flag_scenario_step_by_step() {
    let mut lab = primary_pair(&safe);
    lab.partition(A, B);
    detect_loss(&mut lab);
    // A (Primary) fences B: B is powered off, A records "peer outdated" on disk.
    lab.crash(B);
    let stonithed = HandlerReply {
        request: HandlerRequest::FencePeer { peer: B },
        exit_code: 7,
    };
    lab.handler_done(A, stonithed);
    assert_eq!(replica(&lab, A).peer_disk(), DiskState::Outdated);
    // B comes back, is promoted, fences A, and writes.
    reboot(&mut lab, B, &safe);
    lab.command(B, ReplicaCommand::Promote { force: false });
    lab.crash(A);
    lab.handler_done(
        B,
        HandlerReply {
            request: HandlerRequest::FencePeer { peer: A },
            exit_code: 7,
        },
    );
    assert_eq!(replica(&lab, B).role(), Role::Primary);
    write(&mut lab, B, 1, 1);
    lab.run_for(Duration::from_millis(20));
    assert_eq!(lab.acked(B), vec![model::WriteId(1)]);
    // B dies; A reboots alone: its metadata still says B is outdated, so it needs no
    // fencing and is promoted without B's write.
    lab.crash(B);
    reboot(&mut lab, A, &safe);
    assert_eq!(replica(&lab, A).disk(), DiskState::UpToDate);
    lab.command(A, ReplicaCommand::Promote { force: false });
    assert_eq!(replica(&lab, A).role(), Role::Primary);
    assert_eq!(
        on_disk(&lab, A, 1),
        None,
        "the acknowledged write 1 is lost"
    );
}

#[test]
fn protocol_a_with_fencing_still_loses_acknowledged_writes() {
    fn protocol_a(c: &mut ReplicaConfig) {
        c.fencing = FencingPolicy::ResourceAndStonith;
        c.protocol = Protocol::A;
    }
    let found = first_violation(40, protocol_a, true)
        .expect("protocol A acknowledges before the peer has the data");
    assert!(found.contains("lacks acknowledged write"), "{found}");
}
