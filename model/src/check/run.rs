//! Running the checker on one configuration and collecting verdicts.

use serde::{Deserialize, Serialize};
use stateright::{Checker, Model};

use super::config::CheckConfig;
use super::model::{CheckModel, FAILOVER, PROPERTIES};
use super::state::{Action, State};
use super::trace::{Counterexample, replay};

/// A property's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Safety: no reachable state within the bounds violates it. Reachability: an
    /// example was found.
    Holds,
    /// Safety: a counterexample was found. Reachability: no reachable state within the
    /// bounds has it, and the search was not cut short.
    Violated,
    /// Reachability only: no example within the depth bound, which cut the search.
    Unknown,
}

impl core::fmt::Display for Verdict {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Verdict::Holds => "holds",
            Verdict::Violated => "violated",
            Verdict::Unknown => "unknown",
        })
    }
}

/// The default bound in steps. With the timed semantics a step of time passing covers
/// every keep-alive until something new starts, so 20 steps reach a failure, the
/// takeover, the restart of the failed side and its return; the whole matrix at this
/// depth takes about 40 s on 2 cores (`docs/performance.md`).
pub const DEFAULT_STEPS: usize = 20;

/// How to run the checker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunOptions {
    /// Worker threads; the verdicts and counterexamples do not depend on them.
    pub threads: usize,
    /// Explore every path of up to this many steps (actions) from the initial state.
    pub max_depth: usize,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            threads: 1,
            max_depth: DEFAULT_STEPS,
        }
    }
}

/// One property's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PropertyResult {
    /// Its name.
    pub name: String,
    /// `always` or `sometimes`.
    pub kind: String,
    /// The verdict.
    pub verdict: Verdict,
    /// Steps of the counterexample (safety) or example (reachability), if any.
    pub length: Option<usize>,
    /// The counterexample of a violated safety property.
    pub counterexample: Option<Counterexample>,
}

/// The outcome of checking one configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The configuration.
    pub config: CheckConfig,
    /// Each property, in [`PROPERTIES`] order.
    pub properties: Vec<PropertyResult>,
    /// States generated (including revisits).
    pub states_generated: usize,
    /// Distinct states.
    pub states_unique: usize,
    /// The most steps of any path explored (at most the bound).
    pub max_depth: usize,
    /// The bound in steps the search ran with.
    #[serde(default)]
    pub bound: usize,
    /// Whether the bound cut the search: some state needs more steps than the bound to
    /// reach, so "holds" means "holds up to `bound` steps". Otherwise every state within
    /// the fault and write budget was explored and "holds" is a proof for that budget.
    pub depth_bounded: bool,
}

impl Outcome {
    /// The verdict of property `name`.
    pub fn verdict(&self, name: &str) -> Option<Verdict> {
        self.properties
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.verdict)
    }

    /// Whether every property holds.
    pub fn all_hold(&self) -> bool {
        self.properties.iter().all(|p| p.verdict == Verdict::Holds)
    }

    /// A property's verdict as a user should read it: a safety property that holds says
    /// whether the search was complete or cut by the bound.
    pub fn verdict_text(&self, p: &PropertyResult) -> String {
        match (p.verdict, p.kind.as_str()) {
            (Verdict::Holds, "always") if self.depth_bounded => {
                format!("holds up to {} steps", self.bound)
            }
            (Verdict::Holds, "always") => "holds (search complete)".to_string(),
            (Verdict::Unknown, _) => format!("unknown (none within {} steps)", self.bound),
            (v, _) => v.to_string(),
        }
    }
}

/// How far a running search has got, for progress output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SearchProgress {
    /// States generated so far.
    pub generated: usize,
    /// Distinct states so far.
    pub unique: usize,
    /// The deepest level reached so far.
    pub depth: usize,
}

/// Checks `model` by breadth-first search and replays every discovery.
pub fn check(model: CheckModel, opts: RunOptions) -> Outcome {
    check_with_progress(model, opts, &|_| {})
}

/// As [`check`], calling `progress` about five times a second while the search runs (the
/// verdicts do not depend on it: it only reads the search's counters).
pub fn check_with_progress(
    model: CheckModel,
    opts: RunOptions,
    progress: &dyn Fn(SearchProgress),
) -> Outcome {
    let replay_model = model.clone();
    let steps = opts.max_depth.max(1);
    // stateright counts the initial state as depth 1 and skips, unchecked, every state
    // at depth >= its target: paths of `steps` actions need a target of `steps + 2`.
    let target = steps + 2;
    let running = model
        .checker()
        .threads(opts.threads.max(1))
        .target_max_depth(target)
        .spawn_bfs();
    while !running.is_done() {
        std::thread::sleep(std::time::Duration::from_millis(200));
        progress(SearchProgress {
            generated: running.state_count(),
            unique: running.unique_state_count(),
            depth: running.max_depth().saturating_sub(1).min(steps),
        });
    }
    let checker = running.join();
    // A state at depth `target` (steps + 1 actions) was generated and skipped: the bound
    // cut the search.
    let depth_bounded = checker.max_depth() >= target;
    let max_depth = checker.max_depth().saturating_sub(1).min(steps);
    let complete = !depth_bounded && checker.is_done();
    let properties = PROPERTIES
        .iter()
        .map(|&name| {
            let path = checker.discovery(name);
            let sometimes = name == FAILOVER;
            let actions = path.map(|p| {
                let found = first_hit(&replay_model, name, p.into_actions());
                canonical(&replay_model, name, found)
            });
            let length = actions.as_ref().map(Vec::len);
            let verdict = match (sometimes, actions.is_some()) {
                (false, true) => Verdict::Violated,
                (false, false) => Verdict::Holds,
                (true, true) => Verdict::Holds,
                (true, false) if complete => Verdict::Violated,
                (true, false) => Verdict::Unknown,
            };
            let counterexample = match (sometimes, &actions) {
                (false, Some(a)) => Some(replay(&replay_model, a)),
                _ => None,
            };
            PropertyResult {
                name: name.to_string(),
                kind: if sometimes { "sometimes" } else { "always" }.to_string(),
                verdict,
                length,
                counterexample,
            }
        })
        .collect();
    Outcome {
        config: replay_model.config().clone(),
        properties,
        states_generated: checker.state_count(),
        states_unique: checker.unique_state_count(),
        max_depth,
        bound: steps,
        depth_bounded,
    }
}

/// The canonical path for property `name`, given one the search found: the shortest, and
/// among the shortest the first in action order (see [`super::canonical`]), so the
/// answer does not depend on threads or timing.
fn canonical(model: &CheckModel, name: &str, found: Vec<Action>) -> Vec<Action> {
    let Some(hit) = discovery(model, name) else {
        return found;
    };
    super::canonical::shortest_path_to(model, found.len(), &hit).unwrap_or(found)
}

/// Whether a state is a discovery of property `name`: it violates a safety property, or
/// satisfies the `sometimes` one.
fn discovery<'a>(model: &'a CheckModel, name: &'a str) -> Option<impl Fn(&State) -> bool + 'a> {
    let property = model.properties().into_iter().find(|p| p.name == name)?;
    Some(move |s: &State| {
        let holds = (property.condition)(model, s);
        if name == FAILOVER { holds } else { !holds }
    })
}

/// The path cut at its first state where property `name` is violated (for a `sometimes`
/// property: satisfied).
///
/// stateright 0.31's BFS records a discovery for every violating state it visits, each
/// replacing the last, so the path it returns ends in the *last* such state within the
/// depth bound, not the first; the prefix up to the first hit on that path is a shorter
/// counterexample (not necessarily the shortest: `--max-depth` bounds that).
fn first_hit(model: &CheckModel, name: &str, actions: Vec<Action>) -> Vec<Action> {
    let Some(hit) = discovery(model, name) else {
        return actions;
    };
    let mut s = model.init().clone();
    for (k, a) in actions.iter().enumerate() {
        match model.next_state(&s, a.clone()) {
            Some(next) => s = next,
            None => return actions,
        }
        if hit(&s) {
            return actions[..=k].to_vec();
        }
    }
    actions
}

/// Serves stateright's Explorer for `model` on `127.0.0.1:port` (loopback only); blocks
/// while the server runs. The caller should check first that the port is free: the
/// Explorer panics if it cannot bind.
pub fn explore(model: CheckModel, threads: usize, port: u16) {
    let _checker = model
        .checker()
        .threads(threads.max(1))
        .serve(("127.0.0.1", port));
}
