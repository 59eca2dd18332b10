//! Ordered fault scripts as a prefix (`budget.script`): the steps happen first, in their
//! order, outside the fault budget, each at any point of the machines' run.

use model::check::model::NO_SPLIT_BRAIN;
use model::check::{CheckConfig, CheckModel, Outcome, RunOptions, Verdict, check};

fn config(text: &str) -> CheckConfig {
    let cfg: CheckConfig = toml::from_str(text).unwrap_or_else(|e| panic!("{e}"));
    cfg.validate().unwrap_or_else(|e| panic!("{e}"));
    cfg
}

fn run(text: &str) -> Outcome {
    let model = CheckModel::new(config(text)).expect("valid");
    check(
        model,
        RunOptions {
            threads: 2,
            max_depth: 12,
        },
    )
}

fn verdict(o: &Outcome, property: &str) -> Verdict {
    o.properties
        .iter()
        .find(|p| p.name == property)
        .map(|p| p.verdict)
        .expect("reported")
}

/// Heartbeat without fencing, no fault in the budget: only the script can break anything.
const BASE: &str = "name = \"script\"\nfencing = \"dont-care\"\nstonith = false\n\
                    [budget]\nfaults = 0\nwrites = 1\nkinds = [\"partition\"]\ncuts = [\"a-b\"]\n";

#[test]
fn without_a_script_and_without_faults_nothing_breaks() {
    let o = run(BASE);
    assert_eq!(verdict(&o, NO_SPLIT_BRAIN), Verdict::Holds);
}

#[test]
fn a_scripted_partition_happens_outside_the_budget() {
    let o = run(&format!("{BASE}script = [\"partition a-b\"]\n"));
    assert_eq!(verdict(&o, NO_SPLIT_BRAIN), Verdict::Violated);
    let p = o
        .properties
        .iter()
        .find(|p| p.name == NO_SPLIT_BRAIN)
        .expect("reported");
    let text = format!("{:?}", p.counterexample);
    assert!(
        text.contains("Partition"),
        "the script's fault is in the path: {text}"
    );
}

#[test]
fn the_script_keeps_its_order_and_a_step_waits_until_it_can_happen() {
    // A heal of a cut that is not there waits; the partition after it never comes.
    let o = run(&format!(
        "{BASE}script = [\"heal a-b\", \"partition a-b\"]\n"
    ));
    assert_eq!(verdict(&o, NO_SPLIT_BRAIN), Verdict::Holds);
    // Cut, then heal: the split brain happens in between.
    let o = run(&format!(
        "{BASE}script = [\"partition a-b\", \"heal a-b\"]\n"
    ));
    assert_eq!(verdict(&o, NO_SPLIT_BRAIN), Verdict::Violated);
}

#[test]
fn a_step_naming_an_absent_node_is_refused_with_its_position() {
    let cfg: CheckConfig = toml::from_str(&format!(
        "{BASE}script = [\"crash a\", \"partition a-witness\"]\n"
    ))
    .expect("parses");
    let e = cfg.validate().expect_err("no witness here").to_string();
    assert!(
        e.contains("budget.script[1]") && e.contains("a-witness"),
        "{e}"
    );
    let bad = toml::from_str::<CheckConfig>(&format!("{BASE}script = [\"explode a\"]\n"))
        .expect_err("not a step")
        .to_string();
    assert!(
        bad.contains("explode a") && bad.contains("power-off X"),
        "{bad}"
    );
}
