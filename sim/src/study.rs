//! The whole study: every cell, many trials, in parallel, deterministically.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::profile::Profile;
use crate::scenario::Cell;
use crate::trial::{TrialResult, run_trial};

/// Runs `trials` trials of each of `cells` on `threads` threads. Each trial depends only
/// on `(seed, cell, trial number)`, so the results are the same whatever the thread
/// count; they are returned in cell order, then trial order. `progress` is called after
/// each trial with the number done so far.
pub fn run_study(
    profile: &Profile,
    cells: &[Cell],
    trials: u32,
    seed: u64,
    threads: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> Vec<TrialResult> {
    let jobs: Vec<(Cell, u32)> = cells
        .iter()
        .flat_map(|&c| (0..trials).map(move |t| (c, t)))
        .collect();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<TrialResult>>> = Mutex::new(vec![None; jobs.len()]);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(cell, trial)) = jobs.get(i) else {
                        break;
                    };
                    let r = run_trial(profile, cell, trial, seed);
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
