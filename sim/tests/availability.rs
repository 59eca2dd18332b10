//! Long runs with failure and repair processes (`sim::availability`): deterministic per
//! seed, and with exponential distributions the simulated availability agrees with the
//! analytic chain built from the same profile.

use sim::availability::{ComponentKind, HOUR, RunResult, analytic, run_availability, summarise};
use sim::dist::Dist;
use sim::{Architecture, Cell, FailureClass, Platform, Profile, Service};

fn cell(architecture: Architecture) -> Cell {
    Cell {
        failure: FailureClass::Software,
        architecture,
        platform: Platform::Vmware,
        service: Service::Apache,
    }
}

/// The study's profile with only `kinds` failing, exponential, scaled down so that a
/// few simulated weeks see dozens of failures and some double failures.
fn fast(kinds: &[(ComponentKind, f64, f64)]) -> Profile {
    let mut p = Profile::thesis();
    for k in ComponentKind::ALL {
        p.availability.component_mut(k).enabled = false;
    }
    for &(k, mttf_h, mttr_h) in kinds {
        let c = p.availability.component_mut(k);
        c.enabled = true;
        c.failure = Dist::Exponential {
            mean: mttf_h * HOUR,
        };
        c.repair = Dist::Exponential {
            mean: mttr_h * HOUR,
        };
    }
    p.validate().expect("valid");
    p
}

/// Runs `n` runs of `days` each on two threads, seeds `first..first + n` (the results in
/// seed order).
fn runs_parallel(p: &Profile, c: Cell, days: f64, first: u64, n: u64) -> Vec<RunResult> {
    let half = n / 2;
    let run = |i: u64| run_availability(p, c, days * 24.0 * HOUR, first + i, &mut |_| {});
    std::thread::scope(|s| {
        let first = s.spawn(|| (0..half).map(run).collect::<Vec<_>>());
        let second: Vec<RunResult> = (half..n).map(run).collect();
        let mut all = first.join().expect("runs");
        all.extend(second);
        all
    })
}

/// With exponential failures and repairs that are not too rare (a guest OS fails every
/// 90 minutes and is back after 15 on average, so both guests are down about 2 % of
/// the time and each run of the pair sees about 80 guest failures and a dozen double failures), the
/// chain's availability lies inside the simulator's 95 % interval over 16 independent
/// 3-day runs of the DRBD + Heartbeat pair, and so does the single node's.
///
/// The seeds are fixed (the test is deterministic), and were fixed before the test was
/// run: a 95 % interval misses the true value for one seed block in twenty, and choosing
/// seeds until it passes would prove nothing. A chain with its repair rate doubled lies
/// far outside (docs/availability.md, "The analytic-vs-simulated test").
#[test]
fn analytic_availability_lies_inside_the_simulated_interval() {
    let p = fast(&[(ComponentKind::GuestOs, 1.5, 0.25)]);
    for (architecture, days, n) in [
        (Architecture::DrbdHeartbeat, 3.0, 16),
        (Architecture::SingleNode, 3.0, 16),
    ] {
        let c = cell(architecture);
        let chain = analytic(&p, c).expect("the chain solves");
        assert!(chain.exact_rates);
        let s = summarise(&runs_parallel(&p, c, days, 1, n));
        let guest_failures: u64 = s.failures.iter().map(|(_, k)| k).sum();
        assert!(
            guest_failures > 30 * n,
            "{architecture:?}: too few failures to judge"
        );
        println!(
            "{architecture:?}: analytic {:.5}, simulated {:.5} [{:.5}, {:.5}] over {n} runs of {days} days",
            chain.availability, s.availability.mean, s.availability.low, s.availability.high
        );
        assert!(
            s.availability.contains(chain.availability),
            "{architecture:?}: analytic {} outside the simulated 95 % interval [{}, {}]",
            chain.availability,
            s.availability.low,
            s.availability.high
        );
        // The interval is narrow enough to judge: much narrower than the pair's gain over
        // the single node (0.971 against 0.857 here).
        assert!(s.availability.high - s.availability.low < 0.03, "{s:?}");
    }
}

/// The same seed gives the same run, to the event.
#[test]
fn runs_repeat_with_their_seed() {
    let p = fast(&[
        (ComponentKind::GuestOs, 10.0, 1.0),
        (ComponentKind::Host, 30.0, 2.0),
        (ComponentKind::Service, 10.0, 0.5),
        (ComponentKind::Link, 20.0, 0.5),
    ]);
    let c = cell(Architecture::DrbdHeartbeat);
    let a = run_availability(&p, c, 2.0 * 24.0 * HOUR, 7, &mut |_| {});
    let b = run_availability(&p, c, 2.0 * 24.0 * HOUR, 7, &mut |_| {});
    assert_eq!(a, b);
    assert!(a.failures.iter().map(|(_, n)| n).sum::<u64>() > 3, "{a:?}");
    let other = run_availability(&p, c, 2.0 * 24.0 * HOUR, 8, &mut |_| {});
    assert_ne!(a, other);
}

/// The test's procedure on other seed blocks, printed (`--ignored --nocapture`): how
/// often the chain lies inside a block's interval (about 19 in 20 if the chain and the
/// simulation agree).
#[test]
#[ignore]
fn other_seed_blocks_of_the_pair() {
    let p = fast(&[(ComponentKind::GuestOs, 1.5, 0.25)]);
    let c = cell(Architecture::DrbdHeartbeat);
    let chain = analytic(&p, c).expect("the chain solves");
    for block in 0..6 {
        let s = summarise(&runs_parallel(&p, c, 3.0, 1000 + 16 * block, 16));
        println!(
            "seeds {}..: analytic {:.5}, simulated {:.5} [{:.5}, {:.5}], inside: {}",
            1000 + 16 * block,
            chain.availability,
            s.availability.mean,
            s.availability.low,
            s.availability.high,
            s.availability.contains(chain.availability)
        );
    }
}
