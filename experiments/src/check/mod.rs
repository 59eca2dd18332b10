//! `dualha check`: run the model checker on one configuration (`--config FILE.toml`) or
//! on the built-in matrix (`--matrix`), print verdicts, counterexamples, speed and
//! memory, and exit 0 (all as expected), 1 (a violation, or a matrix mismatch) or 2
//! (usage or configuration error).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use model::check::matrix::{self, Row};
use model::check::model::PROPERTIES;
use model::check::trace::render;
use model::check::{CheckConfig, CheckModel, Outcome, RunOptions, Verdict, check_with_progress};
use serde::Serialize;

use crate::cli::{ensure_writable_dir, note, read_input};
use crate::outln;
use crate::reproduce::threads_arg;

/// The deepest `--max-depth`: each level multiplies the states by about 3, so 64 is
/// already far beyond any machine; the bound only refuses nonsense.
pub const MAX_DEPTH: usize = 64;
/// Arguments of `dualha check`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["config", "matrix"])))]
pub struct CheckArgs {
    /// A configuration to check (TOML; see docs/verification.md for the keys).
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// Run the built-in matrix of configurations with their expected verdicts.
    #[arg(long)]
    pub matrix: bool,
    /// With --matrix: run only the rows whose name contains this text.
    #[arg(long, value_name = "TEXT", conflicts_with = "config")]
    pub only: Option<String>,
    /// Print one JSON object per configuration (JSON Lines) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Serve stateright's Explorer for --config on 127.0.0.1 at this port (1-65535).
    #[arg(long, value_name = "PORT", num_args = 0..=1, default_missing_value = "3000",
          value_parser = clap::value_parser!(u16).range(1..),
          conflicts_with_all = ["matrix", "json", "schedules", "max_depth"])]
    pub explore: Option<u16>,
    /// Checker threads, 1 to 256.
    #[arg(long, default_value_t = 2, value_parser = threads_arg)]
    pub threads: usize,
    /// Bound in steps: every path of up to this many actions from the start is explored
    /// (1 to 64); default 20, or each matrix row's own. A property that "holds up to N
    /// steps" may still fail in more.
    #[arg(long, value_parser = max_depth_arg)]
    pub max_depth: Option<usize>,
    /// Write each counterexample's replayable schedule (JSON) into this directory.
    #[arg(long, value_name = "DIR")]
    pub schedules: Option<PathBuf>,
}

/// Parses `--max-depth`: 1 to [`MAX_DEPTH`] (0 would explore nothing and report
/// "holds").
fn max_depth_arg(s: &str) -> Result<usize, String> {
    let n: usize = s.parse().map_err(|_| format!("{s:?} is not a depth"))?;
    if (1..=MAX_DEPTH).contains(&n) {
        Ok(n)
    } else {
        Err(format!("{n}: must be between 1 and {MAX_DEPTH}"))
    }
}

/// One configuration's result as `--json` prints it.
#[derive(Debug, Serialize)]
struct Report<'a> {
    name: &'a str,
    #[serde(flatten)]
    outcome: &'a Outcome,
    /// Expected verdicts (matrix rows only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    expected: Vec<Expected>,
    /// Whether every expected verdict was found (matrix rows only).
    #[serde(skip_serializing_if = "Option::is_none")]
    matches: Option<bool>,
    seconds: f64,
    generated_per_second: f64,
    unique_per_second: f64,
    peak_memory_kib: Option<u64>,
}

#[derive(Debug, Serialize)]
struct Expected {
    property: &'static str,
    verdict: Verdict,
}

/// The process' peak resident set size so far, from `/proc/self/status` (Linux).
fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Reads and validates a configuration file; the error names the bad key and the
/// allowed values.
pub fn load_config(path: &Path) -> Result<CheckConfig> {
    let text = read_input(path)?;
    parse_config(&text).with_context(|| format!("invalid configuration {}", path.display()))
}

/// Parses and validates a configuration's text: what [`load_config`] does once the file
/// is read (and what the `check_config` fuzz target runs).
pub fn parse_config(text: &str) -> Result<CheckConfig> {
    let cfg: CheckConfig = toml::from_str(text)?;
    cfg.validate()?;
    Ok(cfg)
}

struct Timed {
    outcome: Outcome,
    seconds: f64,
}

fn timed(cfg: CheckConfig, opts: RunOptions) -> Result<Timed> {
    let start = Instant::now();
    let name = cfg.name.clone();
    let model = CheckModel::new(cfg).context("invalid configuration")?;
    let ticker = crate::progress::Ticker::new();
    let outcome = check_with_progress(model, opts, &|p| {
        let secs = start.elapsed().as_secs_f64();
        ticker.set(format!(
            "{}: {} states generated, {} unique, {}/{} steps deep, {:.0} generated/s",
            name,
            p.generated,
            p.unique,
            p.depth,
            opts.max_depth,
            per_second(p.generated, secs)
        ));
    });
    ticker.finish();
    Ok(Timed {
        outcome,
        seconds: start.elapsed().as_secs_f64(),
    })
}

fn per_second(n: usize, secs: f64) -> f64 {
    if secs > 0.0 { n as f64 / secs } else { 0.0 }
}

fn report<'a>(t: &'a Timed, row: Option<&Row>) -> Report<'a> {
    let expected: Vec<Expected> = row
        .map(|r| {
            r.expected
                .iter()
                .map(|&(property, verdict)| Expected { property, verdict })
                .collect()
        })
        .unwrap_or_default();
    let matches = row.map(|r| row_matches(r, &t.outcome));
    Report {
        name: &t.outcome.config.name,
        outcome: &t.outcome,
        expected,
        matches,
        seconds: t.seconds,
        generated_per_second: per_second(t.outcome.states_generated, t.seconds),
        unique_per_second: per_second(t.outcome.states_unique, t.seconds),
        peak_memory_kib: peak_memory_kib(),
    }
}

fn row_matches(row: &Row, o: &Outcome) -> bool {
    row.expected.iter().all(|&(p, v)| o.verdict(p) == Some(v))
}

/// Writes each counterexample's schedule into `dir` (checked writable before the run);
/// the configuration's name is validated to be a plain file-name part, so the files stay
/// in `dir`.
fn write_schedules(dir: &Path, o: &Outcome) -> Result<()> {
    for p in &o.properties {
        if let Some(c) = &p.counterexample {
            let file = dir.join(format!(
                "{}--{}.json",
                o.config.name,
                p.name.replace(' ', "-")
            ));
            let text = serde_json::to_string_pretty(&c.schedule)?;
            std::fs::write(&file, text)
                .with_context(|| format!("cannot write {}", file.display()))?;
        }
    }
    Ok(())
}

/// The width of the property column: the longest property name.
fn property_width() -> usize {
    model::check::model::PROPERTIES
        .iter()
        .map(|p| p.len())
        .max()
        .unwrap_or(28)
}

/// Runs `dualha check`; returns the process' exit code.
pub fn run(args: &CheckArgs) -> ExitCode {
    crate::cli::exit_code("dualha check", run_inner(args))
}

fn run_inner(args: &CheckArgs) -> Result<ExitCode> {
    if args.matrix {
        if args.explore.is_some() {
            anyhow::bail!("--explore serves one --config, not the matrix");
        }
        if let Some(dir) = &args.schedules {
            ensure_writable_dir("--schedules", dir)?;
        }
        return run_matrix(args);
    }
    let Some(path) = &args.config else {
        anyhow::bail!("give --config FILE.toml or --matrix");
    };
    if args.only.is_some() {
        anyhow::bail!("--only selects matrix rows; it needs --matrix");
    }
    let cfg = load_config(path)?;
    if let Some(dir) = &args.schedules {
        ensure_writable_dir("--schedules", dir)?;
    }
    if let Some(port) = args.explore {
        let model = CheckModel::new(cfg).context("invalid configuration")?;
        // The Explorer panics when it cannot bind: find out first, politely.
        drop(
            std::net::TcpListener::bind(("127.0.0.1", port))
                .with_context(|| format!("--explore: cannot listen on 127.0.0.1:{port}"))?,
        );
        note(format_args!(
            "Explorer on http://127.0.0.1:{port}/ (Ctrl-C to stop)"
        ));
        model::check::run::explore(model, args.threads, port);
        return Ok(ExitCode::SUCCESS);
    }
    let opts = RunOptions {
        threads: args.threads,
        max_depth: args.max_depth.unwrap_or(model::check::DEFAULT_STEPS),
    };
    let t = timed(cfg, opts)?;
    if let Some(dir) = &args.schedules {
        write_schedules(dir, &t.outcome)?;
    }
    if args.json {
        outln!("{}", serde_json::to_string(&report(&t, None))?)?;
    } else {
        print_one(&t)?;
    }
    Ok(if t.outcome.all_hold() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_one(t: &Timed) -> Result<()> {
    let o = &t.outcome;
    outln!("configuration {}", o.config.name)?;
    for p in &o.properties {
        let len = p.length.map_or(String::new(), |l| format!(" ({l} steps)"));
        outln!(
            "  {:<w$} {}{len}",
            p.name,
            o.verdict_text(p),
            w = property_width()
        )?;
    }
    outln!(
        "  states: {} generated, {} unique, {}; {:.2} s; {:.0} generated/s, {:.0} unique/s; peak memory {}",
        o.states_generated,
        o.states_unique,
        if o.depth_bounded {
            format!(
                "search cut by the bound of {} steps (more steps reach states not explored)",
                o.bound
            )
        } else {
            format!(
                "search complete: every reachable state within the fault and write budget ({} steps at most)",
                o.max_depth
            )
        },
        t.seconds,
        per_second(o.states_generated, t.seconds),
        per_second(o.states_unique, t.seconds),
        peak_memory_kib().map_or("?".to_string(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
    )?;
    for p in &o.properties {
        if let Some(c) = &p.counterexample {
            outln!(
                "\ncounterexample to \"{}\" ({} steps):",
                p.name,
                c.steps.len()
            )?;
            crate::cli::write_text(&render(c))?;
        }
    }
    Ok(())
}

fn short(v: Verdict) -> &'static str {
    match v {
        Verdict::Holds => "holds",
        Verdict::Violated => "VIOLATED",
        Verdict::Unknown => "unknown",
    }
}

/// A found verdict in the matrix: a safety verdict that holds only up to the bound is
/// marked with it ("holds≤10").
fn found(o: &Outcome, p: &model::check::run::PropertyResult) -> String {
    match p.verdict {
        Verdict::Holds if p.kind == "always" && o.depth_bounded => format!("holds≤{}", o.bound),
        v => short(v).to_string(),
    }
}

fn run_matrix(args: &CheckArgs) -> Result<ExitCode> {
    let rows: Vec<Row> = matrix::rows()
        .into_iter()
        .filter(|r| {
            args.only
                .as_ref()
                .is_none_or(|o| r.config.name.contains(o.as_str()))
        })
        .collect();
    if rows.is_empty() {
        anyhow::bail!("--only: no matrix row matches");
    }
    let mut all = true;
    let total = Instant::now();
    let pw = property_width();
    if !args.json {
        outln!(
            "{:<44} {:<pw$} {:<9} {:<9} {:>4} {:>10} {:>9} {:>5} {:>7} {:>9} {:>9} {:>8}",
            "configuration",
            "property",
            "expected",
            "found",
            "len",
            "generated",
            "unique",
            "steps",
            "secs",
            "gen/s",
            "uniq/s",
            "peak MiB"
        )?;
    }
    for row in &rows {
        let opts = RunOptions {
            threads: args.threads,
            max_depth: args.max_depth.unwrap_or(row.max_depth),
        };
        let t = timed(row.config.clone(), opts)?;
        let ok = row_matches(row, &t.outcome);
        all &= ok;
        if let Some(dir) = &args.schedules {
            write_schedules(dir, &t.outcome)?;
        }
        if args.json {
            outln!("{}", serde_json::to_string(&report(&t, Some(row)))?)?;
            continue;
        }
        let o = &t.outcome;
        for (k, name) in PROPERTIES.iter().enumerate() {
            let Some(p) = o.properties.iter().find(|p| p.name == *name) else {
                continue;
            };
            let expected = row
                .expected
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| *v);
            let mark = match expected {
                Some(e) if e == p.verdict => "",
                Some(_) => "  <-- MISMATCH",
                None => "",
            };
            let stats = if k == 0 {
                format!(
                    "{:>10} {:>9} {:>5} {:>7.2} {:>9.0} {:>9.0} {:>8.1}",
                    o.states_generated,
                    o.states_unique,
                    o.max_depth,
                    t.seconds,
                    per_second(o.states_generated, t.seconds),
                    per_second(o.states_unique, t.seconds),
                    peak_memory_kib().map_or(0.0, |k| k as f64 / 1024.0),
                )
            } else {
                String::new()
            };
            outln!(
                "{:<44} {:<pw$} {:<9} {:<9} {:>4} {stats}{mark}",
                if k == 0 { o.config.name.as_str() } else { "" },
                name,
                expected.map_or("-", short),
                found(o, p),
                p.length.map_or("-".to_string(), |l| l.to_string()),
            )?;
        }
    }
    if !args.json {
        outln!(
            "\nholds≤N: no violation in any schedule of up to N steps (the bound cut the search);\nholds: none in any schedule at all within the row's fault and write budget.\n{} rows in {:.1} s: {}",
            rows.len(),
            total.elapsed().as_secs_f64(),
            if all {
                "every expected verdict found"
            } else {
                "MISMATCHES (see above)"
            }
        )?;
    }
    Ok(if all {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
