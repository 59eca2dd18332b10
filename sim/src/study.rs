//! The whole study: every cell, many trials, in parallel, deterministically.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::limits::MAX_THREADS;
use crate::profile::Profile;
use crate::scenario::Cell;
use crate::trial::{TrialError, TrialResult, run_checked_trial};

/// Runs `trials` trials of each of `cells` on `threads` threads (at least 1, at most
/// [`MAX_THREADS`]). Each trial depends only on `(seed, cell, trial number)`, so the
/// results are the same whatever the thread count; they are returned in cell order,
/// then trial order. `progress` is called after each trial with the number done so far.
///
/// The profile is checked first. A trial that reaches `max_events` harness events stops
/// the study (the other threads finish their trial and take no more) with
/// [`TrialError::EventLimit`] of the first such trial in result order among those run.
pub fn run_study(
    profile: &Profile,
    cells: &[Cell],
    trials: u32,
    seed: u64,
    threads: usize,
    max_events: u64,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<TrialResult>, TrialError> {
    profile.validate()?;
    let jobs: Vec<(Cell, u32)> = cells
        .iter()
        .flat_map(|&c| (0..trials).map(move |t| (c, t)))
        .collect();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let results: Mutex<Vec<Option<Result<TrialResult, TrialError>>>> =
        Mutex::new((0..jobs.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, MAX_THREADS) {
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(cell, trial)) = jobs.get(i) else {
                        break;
                    };
                    let r = run_checked_trial(profile, cell, trial, seed, max_events);
                    stop.fetch_or(r.is_err(), Ordering::Relaxed);
                    if let Ok(mut all) = results.lock() {
                        all[i] = Some(r);
                    }
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}
