//! The canonical counterexample: the shortest path to a violating state, and among the
//! shortest the first in the model's action order.
//!
//! stateright's breadth-first search runs on several threads, and which violating state
//! it records depends on how the threads interleave (and, on one thread, it keeps the
//! *last* violating state it visits, not the first). Two runs of the same configuration
//! could then print different counterexamples. Once the search has shown that a
//! violation exists within `n` steps, this single-threaded breadth-first search finds the
//! one answer that depends on nothing but the model: layer by layer, states in the order
//! they were discovered, actions in the order [`Model::actions`] lists them. Its cost is
//! bounded by the search already done (it stops at the first violating state, at most `n`
//! steps deep).

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use stateright::Model;

use super::model::CheckModel;
use super::state::{Action, State};

/// A state's fingerprint: SipHash with fixed keys, so the same on every run.
fn fingerprint(s: &State) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// The shortest schedule of at most `max_steps` actions from the initial state to a
/// state where `hit` holds, first in action order among the shortest; `None` if there
/// is none within `max_steps`.
pub fn shortest_path_to(
    model: &CheckModel,
    max_steps: usize,
    hit: &dyn Fn(&State) -> bool,
) -> Option<Vec<Action>> {
    let init = model.init().clone();
    if hit(&init) {
        return Some(Vec::new());
    }
    let init_fp = fingerprint(&init);
    // Each reached state's parent and the action that reached it (looked up only, never
    // iterated: the map's order cannot leak into the answer).
    let mut parent: HashMap<u64, (u64, Action)> = HashMap::new();
    let mut frontier: Vec<(u64, State)> = vec![(init_fp, init)];
    let mut actions = Vec::new();
    for _ in 0..max_steps {
        let mut next = Vec::new();
        for (from_fp, s) in &frontier {
            actions.clear();
            model.actions(s, &mut actions);
            for a in actions.drain(..) {
                let Some(n) = model.next_state(s, a.clone()) else {
                    continue;
                };
                let fp = fingerprint(&n);
                if fp == init_fp || parent.contains_key(&fp) {
                    continue;
                }
                parent.insert(fp, (*from_fp, a));
                if hit(&n) {
                    return Some(path_to(&parent, init_fp, fp));
                }
                next.push((fp, n));
            }
        }
        if next.is_empty() {
            return None;
        }
        frontier = next;
    }
    None
}

fn path_to(parent: &HashMap<u64, (u64, Action)>, init_fp: u64, mut fp: u64) -> Vec<Action> {
    let mut path = Vec::new();
    while fp != init_fp {
        let Some((from, a)) = parent.get(&fp) else {
            break;
        };
        path.push(a.clone());
        fp = *from;
    }
    path.reverse();
    path
}
