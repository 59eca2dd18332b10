//! Known answers: check configurations whose verdicts the DRBD, Heartbeat and Pacemaker
//! documentation decides, one file per case in `tests/known/` (`docs/verification.md`,
//! "Known answers"). Each file is a check configuration followed by an `[expect]` table:
//!
//! ```toml
//! [expect]
//! max_depth = 8                 # the bound the case is checked to
//! split_brain = "violated"      # per property: "holds", "violated" or "unknown"
//! disagreement = "why"          # optional: the checker is known to answer otherwise
//! ```
//!
//! Property keys: `split_brain`, `lost_everywhere`, `missing_write`, `stale_primary`,
//! `failover`. Each file says in a comment WHY the verdict is what it is and cites the
//! documentation (a URL). A case marked `disagreement` is reported, not failed, while
//! the checker still disagrees; once it agrees the mark must go (the test fails).
//!
//! `KNOWN=substring cargo test -p model --features check --test known_answers -- --nocapture`
//! runs the cases whose file name contains the substring.

use std::time::Instant;

use model::check::model::{
    FAILOVER, NO_LOST_EVERYWHERE, NO_MISSING_WRITE, NO_SPLIT_BRAIN, NO_STALE_PRIMARY,
};
use model::check::{CheckConfig, CheckModel, RunOptions, Verdict, check};

/// The property an `[expect]` key names.
fn property(key: &str) -> Option<&'static str> {
    Some(match key {
        "split_brain" => NO_SPLIT_BRAIN,
        "lost_everywhere" => NO_LOST_EVERYWHERE,
        "missing_write" => NO_MISSING_WRITE,
        "stale_primary" => NO_STALE_PRIMARY,
        "failover" => FAILOVER,
        _ => return None,
    })
}

fn verdict(text: &str) -> Option<Verdict> {
    Some(match text {
        "holds" => Verdict::Holds,
        "violated" => Verdict::Violated,
        "unknown" => Verdict::Unknown,
        _ => return None,
    })
}

fn text(v: Verdict) -> &'static str {
    match v {
        Verdict::Holds => "holds",
        Verdict::Violated => "violated",
        Verdict::Unknown => "unknown",
    }
}

/// One case: its configuration, bound, expected verdicts and disagreement note.
struct Case {
    file: String,
    config: CheckConfig,
    max_depth: usize,
    expected: Vec<(String, Verdict)>,
    disagreement: Option<String>,
}

fn read(path: &std::path::Path) -> Case {
    let file = path
        .file_name()
        .expect("a file name")
        .to_string_lossy()
        .to_string();
    let source = std::fs::read_to_string(path).expect("readable");
    assert!(source.contains("# WHY"), "{file}: no `# WHY` comment");
    assert!(
        source.contains("https://"),
        "{file}: cites no documentation URL"
    );
    let mut table: toml::Table = toml::from_str(&source).unwrap_or_else(|e| panic!("{file}: {e}"));
    let expect = table
        .remove("expect")
        .and_then(|v| v.as_table().cloned())
        .unwrap_or_else(|| panic!("{file}: no [expect] table"));
    let config: CheckConfig = toml::Value::Table(table)
        .try_into()
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    config.validate().unwrap_or_else(|e| panic!("{file}: {e}"));
    assert_eq!(
        format!("{}.toml", config.name),
        file,
        "{file}: the name is the file's"
    );
    let mut max_depth = None;
    let mut expected = Vec::new();
    let mut disagreement = None;
    for (k, v) in expect {
        match k.as_str() {
            "max_depth" => max_depth = v.as_integer().map(|n| n as usize),
            "disagreement" => disagreement = v.as_str().map(str::to_string),
            key => {
                let p = property(key).unwrap_or_else(|| panic!("{file}: unknown key {key}"));
                let w = v
                    .as_str()
                    .and_then(verdict)
                    .unwrap_or_else(|| panic!("{file}: {key} = {v}"));
                expected.push((p.to_string(), w));
            }
        }
    }
    assert!(!expected.is_empty(), "{file}: expects nothing");
    let max_depth = max_depth.unwrap_or_else(|| panic!("{file}: no max_depth"));
    Case {
        file,
        config,
        max_depth,
        expected,
        disagreement,
    }
}

fn cases() -> Vec<Case> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/known");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("tests/known")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    paths.iter().map(|p| read(p)).collect()
}

#[test]
fn every_known_answer_is_what_the_documentation_says() {
    let all = cases();
    let filter = std::env::var("KNOWN").ok();
    if filter.is_none() {
        assert!(all.len() >= 30, "{} cases", all.len());
    }
    let started = Instant::now();
    let mut failures = Vec::new();
    let mut disagreements = Vec::new();
    for case in all {
        if filter
            .as_ref()
            .is_some_and(|f| !case.file.contains(f.as_str()))
        {
            continue;
        }
        let t = Instant::now();
        let model = CheckModel::new(case.config.clone()).expect("valid");
        let o = check(
            model,
            RunOptions {
                threads: 2,
                max_depth: case.max_depth,
            },
        );
        let mut wrong = Vec::new();
        let mut line = Vec::new();
        for (p, want) in &case.expected {
            let got = o.verdict(p).expect("reported");
            let len = o
                .properties
                .iter()
                .find(|r| &r.name == p)
                .and_then(|r| r.length)
                .map_or(String::new(), |n| format!(" ({n} steps)"));
            line.push(format!("{p}: {}{len}", text(got)));
            if got != *want {
                wrong.push(format!(
                    "{p}: expected {}, checker says {}",
                    text(*want),
                    text(got)
                ));
            }
        }
        println!(
            "{:<48} depth {:>2} {:>6.2}s  {}",
            case.config.name,
            case.max_depth,
            t.elapsed().as_secs_f64(),
            line.join("; ")
        );
        match (&case.disagreement, wrong.is_empty()) {
            (None, true) => {}
            (None, false) => failures.push(format!("{}: {}", case.file, wrong.join("; "))),
            (Some(why), false) => {
                disagreements.push(format!("{}: {} -- {why}", case.file, wrong.join("; ")));
            }
            (Some(_), true) => failures.push(format!(
                "{}: marked as a disagreement but the checker now agrees; remove the mark",
                case.file
            )),
        }
    }
    println!("known answers: {:.1}s", started.elapsed().as_secs_f64());
    for d in &disagreements {
        println!("KNOWN DISAGREEMENT {d}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
