//! What a bound means and what the answer depends on: `max_depth: n` explores every path
//! of `n` steps (a violation that needs exactly `n` is found with `n` and reported as
//! "holds up to n-1 steps" with `n - 1`), and the counterexample is the same whatever
//! the thread count.

use model::check::matrix;
use model::check::model::NO_SPLIT_BRAIN;
use model::check::{CheckModel, Outcome, RunOptions, Verdict, check};

const ROW: &str = "heartbeat-no-fencing-partition";

fn run(threads: usize, steps: usize) -> Outcome {
    let r = matrix::row(ROW).expect("row");
    let model = CheckModel::new(r.config).expect("valid");
    check(
        model,
        RunOptions {
            threads,
            max_depth: steps,
        },
    )
}

fn split_brain(o: &Outcome) -> &model::check::run::PropertyResult {
    o.properties
        .iter()
        .find(|p| p.name == NO_SPLIT_BRAIN)
        .expect("reported")
}

#[test]
fn a_violation_of_n_steps_is_found_with_bound_n_and_not_with_n_minus_1() {
    let found = run(2, 10);
    let p = split_brain(&found);
    assert_eq!(p.verdict, Verdict::Violated);
    let n = p.length.expect("a length");
    assert!(n >= 2, "a partition alone is not a split brain");

    let exact = run(2, n);
    assert_eq!(split_brain(&exact).verdict, Verdict::Violated, "bound {n}");
    assert_eq!(split_brain(&exact).length, Some(n));

    let short = run(2, n - 1);
    let p = split_brain(&short);
    assert_eq!(p.verdict, Verdict::Holds, "bound {}", n - 1);
    assert!(short.depth_bounded, "the bound cut the search");
    assert_eq!(short.bound, n - 1);
    assert_eq!(short.max_depth, n - 1);
    assert_eq!(
        short.verdict_text(p),
        format!("holds up to {} steps", n - 1)
    );
}

#[test]
fn the_counterexample_does_not_depend_on_threads_or_runs() {
    let one = run(1, 10);
    let two = run(2, 10);
    let again = run(2, 10);
    let schedule = |o: &Outcome| {
        let c = split_brain(o)
            .counterexample
            .as_ref()
            .expect("counterexample");
        serde_json::to_string(&c.schedule).expect("serializes")
    };
    assert_eq!(schedule(&one), schedule(&two));
    assert_eq!(schedule(&two), schedule(&again));
    for (a, b) in one.properties.iter().zip(&two.properties) {
        assert_eq!((a.verdict, a.length), (b.verdict, b.length), "{}", a.name);
    }
}
