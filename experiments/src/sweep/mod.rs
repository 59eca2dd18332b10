//! `dualha sweep` and `dualha merge`: the availability study over a grid of profile
//! values, whole or in deterministic shards that `merge` puts back together.
//!
//! A sweep's *definition* is the base profile, the parameters with their values, the
//! cells (architecture x platform), `--years`, `--runs` and `--seed`. Its points are the
//! cartesian product of the parameters' values, the first parameter varying slowest;
//! point `p` runs `--runs` runs per cell with seeds `seed + p * runs + r`, so a point's
//! results depend on its index only, never on the shard or the thread count. `--shard
//! K/N` runs the points with `p % N == K - 1` and writes their raw per-run results to
//! `shard-K-of-N.json`; `merge` checks that its shards share one definition and cover
//! every point once, then writes what the whole sweep writes: `sweep.csv`, `sweep.json`
//! and per cell three figures, availability, false failovers and acknowledged writes
//! lost against the first parameter (`availability-<architecture>-<platform>.png` and
//! `.svg`, `false-failovers-...`, `lost-writes-...`).

mod param;
mod plots;

pub use param::{Param, Value, parse_param, set_value};

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sim::availability::{RunResult, Summary, YEAR, analytic, summarise};
use sim::{Architecture, Cell, Platform, Profile, Service};

use crate::availability::{Job, check_limits, check_writes, run_jobs};

/// The most grid points of one sweep.
pub const MAX_POINTS: usize = 1000;
/// The most `--param`s.
pub const MAX_PARAMS: usize = 8;
/// `--shard K/N`: N at most this.
pub const MAX_SHARDS: u64 = 10_000;
/// The largest shard file `dualha merge` reads: 4 GiB (a run's raw results take about
/// 400 bytes of JSON; the largest sweep, 1000 points x 6 cells x 1000 runs, about 2.4 GB).
pub const MAX_SHARD_BYTES: usize = 4 << 30;
/// What a shard file says it is.
const SHARD_FORMAT: &str = "dualha-sweep-shard/1";

/// Arguments of `dualha sweep`.
#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// The base profile (the study's if absent).
    #[arg(long)]
    pub profile: Option<PathBuf>,
    /// `NAME=A..B:STEP` (A, A + STEP, ... up to B) or `NAME=V1,V2,...`; NAME is a dotted
    /// profile key (`heartbeat.deadtime`, `availability.host.failure.mean`). Repeat for
    /// a grid (the cartesian product, at most 1000 points).
    #[arg(long = "param", required = true)]
    pub params: Vec<String>,
    /// Years, runs, cells, seed and threads.
    #[command(flatten)]
    pub scope: crate::availability::RunScope,
    /// Output directory.
    #[arg(long, default_value = "out/sweep")]
    pub out: PathBuf,
    /// `K/N`: run only the points whose index modulo N is K - 1 and write
    /// `shard-K-of-N.json` for `dualha merge`.
    #[arg(long)]
    pub shard: Option<String>,
}

/// Arguments of `dualha merge`.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// The shard files (`shard-K-of-N.json`) of one sweep.
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    /// Output directory.
    #[arg(long, default_value = "out/sweep")]
    pub out: PathBuf,
    /// Shards of `dualha availability`: print JSON instead of the table (they print to
    /// standard output like the unsharded command, and `--out` is not used).
    #[arg(long)]
    pub json: bool,
}

/// Everything that decides a sweep's results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Definition {
    /// The base profile.
    pub profile: Profile,
    /// The parameters.
    pub params: Vec<Param>,
    /// The cells, in output order.
    pub cells: Vec<Cell>,
    /// Simulated years per run.
    pub years: f64,
    /// Runs per point and cell.
    pub runs: u64,
    /// The seed of point 0's first run.
    pub seed: u64,
}

impl Definition {
    /// The number of grid points.
    pub fn points(&self) -> usize {
        self.params.iter().map(|p| p.values.len()).product()
    }

    /// The parameters' values at point `index` (the first parameter varies slowest).
    pub fn values_at(&self, index: usize) -> Vec<Value> {
        let mut rest = index;
        let mut out = vec![Value::Number(0.0); self.params.len()];
        for (i, p) in self.params.iter().enumerate().rev() {
            out[i] = p.values[rest % p.values.len()].clone();
            rest /= p.values.len();
        }
        out
    }

    /// The profile of point `index`.
    pub fn profile_at(&self, index: usize) -> Result<Profile> {
        let mut profile = self.profile.clone();
        for (p, v) in self.params.iter().zip(self.values_at(index)) {
            profile = set_value(&profile, &p.name, &v)?;
        }
        Ok(profile)
    }

    /// The seed of run `run` of point `index`.
    pub fn seed(&self, index: usize, run: u64) -> u64 {
        self.seed
            .wrapping_add((index as u64).wrapping_mul(self.runs))
            .wrapping_add(run)
    }
}

/// One point's raw results: per cell (definition order), its runs in seed order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointRuns {
    /// The point's index.
    pub index: usize,
    /// Per cell, the runs.
    pub cells: Vec<Vec<RunResult>>,
}

/// A shard file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ShardFile {
    /// [`SHARD_FORMAT`].
    pub format: String,
    /// The sweep.
    pub definition: Definition,
    /// K of `--shard K/N`.
    pub shard: u64,
    /// N of `--shard K/N`.
    pub shards: u64,
    /// The points of this shard, in index order.
    pub points: Vec<PointRuns>,
}

/// One row of the outputs: a point and a cell.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// The point's index.
    pub point: usize,
    /// The parameters' values, in `--param` order.
    pub values: Vec<Value>,
    /// Architecture.
    pub architecture: Architecture,
    /// Platform.
    pub platform: Platform,
    /// Service.
    pub service: Service,
    /// The analytic chain's availability.
    pub analytic_availability: f64,
    /// The simulation across runs.
    pub simulated: Summary,
}

#[derive(Serialize)]
struct Output<'a> {
    params: &'a [Param],
    profile: &'a str,
    cells: &'a [Cell],
    years: f64,
    runs: u64,
    seed: u64,
    rows: &'a [Row],
}

/// Runs `dualha sweep`.
pub fn run(args: &SweepArgs) -> ExitCode {
    crate::cli::exit_code("dualha sweep", sweep(args))
}

/// Runs `dualha merge`.
pub fn run_merge(args: &MergeArgs) -> ExitCode {
    crate::cli::exit_code("dualha merge", merge(args))
}

/// Parses `K/N`.
pub fn parse_shard(text: &str) -> Result<(u64, u64)> {
    let bad = || anyhow::anyhow!("--shard {text:?}: must be K/N with 1 <= K <= N <= {MAX_SHARDS}");
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let k: u64 = k.trim().parse().map_err(|_| bad())?;
    let n: u64 = n.trim().parse().map_err(|_| bad())?;
    if k < 1 || k > n || n > MAX_SHARDS {
        return Err(bad());
    }
    Ok((k, n))
}

fn definition(args: &SweepArgs) -> Result<Definition> {
    let profile = crate::reproduce::load_profile(args.profile.as_deref())?;
    check_limits(
        &profile,
        args.scope.years,
        args.scope.runs,
        args.scope.threads,
    )?;
    if args.params.len() > MAX_PARAMS {
        anyhow::bail!("at most {MAX_PARAMS} --param");
    }
    let params: Vec<Param> = args
        .params
        .iter()
        .map(|p| parse_param(p))
        .collect::<Result<_>>()?;
    for (i, p) in params.iter().enumerate() {
        if params[..i].iter().any(|q| q.name == p.name) {
            anyhow::bail!("--param {}: given twice", p.name);
        }
    }
    let points = params
        .iter()
        .try_fold(1usize, |n, p| n.checked_mul(p.values.len()))
        .filter(|&n| n <= MAX_POINTS);
    if points.is_none() {
        anyhow::bail!(
            "the --param values make {} points; at most {MAX_POINTS}",
            params
                .iter()
                .map(|p| p.values.len().to_string())
                .collect::<Vec<_>>()
                .join(" x ")
        );
    }
    Ok(Definition {
        profile,
        params,
        cells: crate::availability::cells_of(
            args.scope.architecture,
            args.scope.platform,
            args.scope.service,
        ),
        years: args.scope.years,
        runs: args.scope.runs,
        seed: args.scope.seed,
    })
}

/// Every point's profile, checked (ranges, write count, the analytic chain) before any
/// simulation starts.
fn profiles(def: &Definition) -> Result<Vec<Profile>> {
    (0..def.points())
        .map(|i| {
            let p = def.profile_at(i)?;
            check_writes(&p, def.years).with_context(|| point_name(def, i))?;
            Ok(p)
        })
        .collect()
}

fn point_name(def: &Definition, index: usize) -> String {
    let values: Vec<String> = def
        .params
        .iter()
        .zip(def.values_at(index))
        .map(|(p, v)| format!("{}={v}", p.name))
        .collect();
    format!("point {index} ({})", values.join(", "))
}

/// Simulates the points `indices`.
fn simulate(
    def: &Definition,
    profiles: &[Profile],
    indices: &[usize],
    threads: usize,
) -> Result<Vec<PointRuns>> {
    let mut jobs = Vec::new();
    for &i in indices {
        for &cell in &def.cells {
            for r in 0..def.runs {
                jobs.push(Job {
                    profile: &profiles[i],
                    cell,
                    seed: def.seed(i, r),
                });
            }
        }
    }
    crate::cli::note(format_args!(
        "dualha sweep: {} points x {} cells x {} runs of {} years",
        indices.len(),
        def.cells.len(),
        def.runs,
        def.years
    ));
    let results = run_jobs(&jobs, def.years * YEAR, threads)?;
    let per_point = def.cells.len() * def.runs as usize;
    Ok(indices
        .iter()
        .zip(results.chunks(per_point.max(1)))
        .map(|(&index, runs)| PointRuns {
            index,
            cells: runs.chunks(def.runs as usize).map(<[_]>::to_vec).collect(),
        })
        .collect())
}

fn sweep(args: &SweepArgs) -> Result<ExitCode> {
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    let def = definition(args)?;
    let profiles = profiles(&def)?;
    crate::cli::ensure_writable_dir("--out", &args.out)?;
    let started = std::time::Instant::now();
    match shard {
        None => {
            let indices: Vec<usize> = (0..def.points()).collect();
            let points = simulate(&def, &profiles, &indices, args.scope.threads)?;
            write_outputs(&def, &profiles, &points, &args.out)?;
        }
        Some((k, n)) => {
            let indices: Vec<usize> = (0..def.points())
                .filter(|&i| i as u64 % n == k - 1)
                .collect();
            let points = simulate(&def, &profiles, &indices, args.scope.threads)?;
            let file = ShardFile {
                format: SHARD_FORMAT.to_string(),
                definition: def,
                shard: k,
                shards: n,
                points,
            };
            let path = args.out.join(format!("shard-{k}-of-{n}.json"));
            let text = serde_json::to_string(&file).context("cannot encode the shard")?;
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            crate::cli::note(format_args!("dualha sweep: wrote {}", path.display()));
        }
    }
    crate::cli::note(format_args!(
        "dualha sweep: done in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(ExitCode::SUCCESS)
}

/// Just the format of a shard file.
#[derive(Deserialize)]
struct Format {
    format: String,
}

fn merge(args: &MergeArgs) -> Result<ExitCode> {
    let mut files = Vec::new();
    for path in &args.shards {
        let text = crate::cli::read_input_up_to(path, MAX_SHARD_BYTES)?;
        let format = serde_json::from_str::<Format>(&text)
            .map(|f| f.format)
            .with_context(|| format!("{}: not a shard file of dualha", path.display()))?;
        files.push((path.clone(), text, format));
    }
    if files
        .iter()
        .all(|(_, _, f)| f == crate::availability::SHARD_FORMAT)
    {
        let files: Vec<(PathBuf, String)> = files.into_iter().map(|(p, t, _)| (p, t)).collect();
        return crate::availability::merge_shards(&files, args.json);
    }
    let mut def: Option<(Definition, PathBuf)> = None;
    let mut points: Vec<(PointRuns, PathBuf)> = Vec::new();
    for (path, text, _) in &files {
        let shard: ShardFile = serde_json::from_str(text)
            .with_context(|| format!("{}: not a shard file of dualha sweep", path.display()))?;
        if shard.format != SHARD_FORMAT {
            anyhow::bail!(
                "{}: format {:?}, expected {SHARD_FORMAT:?}",
                path.display(),
                shard.format
            );
        }
        match &def {
            None => def = Some((shard.definition, path.clone())),
            Some((d, first)) if *d != shard.definition => anyhow::bail!(
                "{} and {} are shards of different sweeps (profile, parameters, cells, \
                 years, runs or seed differ)",
                first.display(),
                path.display()
            ),
            Some(_) => {}
        }
        points.extend(shard.points.into_iter().map(|p| (p, path.clone())));
    }
    let Some((def, _)) = def else {
        anyhow::bail!("no shard files");
    };
    let n = def.points();
    let mut slots: Vec<Option<(PointRuns, PathBuf)>> = vec![None; n];
    for (p, path) in points {
        let Some(slot) = slots.get_mut(p.index) else {
            anyhow::bail!(
                "{}: point {} but the sweep has {n} points",
                path.display(),
                p.index
            );
        };
        if p.cells.len() != def.cells.len() || p.cells.iter().any(|c| c.len() as u64 != def.runs) {
            anyhow::bail!(
                "{}: point {} does not have {} runs for each of {} cells",
                path.display(),
                p.index,
                def.runs,
                def.cells.len()
            );
        }
        if let Some((_, other)) = slot {
            anyhow::bail!(
                "point {} is in {} and in {}",
                p.index,
                other.display(),
                path.display()
            );
        }
        *slot = Some((p, path));
    }
    let missing: Vec<String> = slots
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_none())
        .map(|(i, _)| i.to_string())
        .collect();
    if !missing.is_empty() {
        let shown = missing
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        anyhow::bail!(
            "{} of {n} points are in no shard: {shown}{}",
            missing.len(),
            if missing.len() > 20 { ", ..." } else { "" }
        );
    }
    let points: Vec<PointRuns> = slots.into_iter().flatten().map(|(p, _)| p).collect();
    let profiles = profiles(&def)?;
    crate::cli::ensure_writable_dir("--out", &args.out)?;
    write_outputs(&def, &profiles, &points, &args.out)?;
    Ok(ExitCode::SUCCESS)
}

/// The rows of all `points` (in index order), cell by cell.
fn rows(def: &Definition, profiles: &[Profile], points: &[PointRuns]) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for p in points {
        for (&cell, runs) in def.cells.iter().zip(&p.cells) {
            let a = analytic(&profiles[p.index], cell).with_context(|| {
                format!(
                    "the analytic model of {} at {}",
                    cell.architecture.label(),
                    point_name(def, p.index)
                )
            })?;
            rows.push(Row {
                point: p.index,
                values: def.values_at(p.index),
                architecture: cell.architecture,
                platform: cell.platform,
                service: cell.service,
                analytic_availability: a.availability,
                simulated: summarise(runs),
            });
        }
    }
    Ok(rows)
}

/// A CSV field: quoted when it holds a comma, a quote or a line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// An architecture, platform or service as the command line writes it
/// (`drbd-heartbeat`).
fn kebab<T: Serialize>(x: &T) -> String {
    serde_json::to_value(x)
        .ok()
        .and_then(|v| v.as_str().map(|s| s.replace('_', "-")))
        .unwrap_or_default()
}

/// `sweep.csv`'s text.
pub fn csv(def: &Definition, rows: &[Row]) -> String {
    let mut out = String::from("point");
    for p in &def.params {
        out.push(',');
        out.push_str(&csv_field(&p.name));
    }
    out.push_str(
        ",architecture,platform,service,availability,availability_low,availability_high,\
         nines,analytic_availability,downtime_min_per_year,downtime_low,downtime_high,\
         outages_per_year,failovers_per_year,false_failovers,split_brains,writes,lost_writes\n",
    );
    for r in rows {
        let s = &r.simulated;
        out.push_str(&r.point.to_string());
        for v in &r.values {
            out.push(',');
            out.push_str(&csv_field(&v.to_string()));
        }
        out.push_str(&format!(
            ",{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            kebab(&r.architecture),
            kebab(&r.platform),
            kebab(&r.service),
            s.availability.mean,
            s.availability.low,
            s.availability.high,
            s.nines,
            r.analytic_availability,
            s.downtime_min_per_year.mean,
            s.downtime_min_per_year.low,
            s.downtime_min_per_year.high,
            s.outages_per_year,
            s.failovers_per_year,
            s.false_failovers,
            s.split_brains,
            s.writes,
            s.lost_writes
        ));
    }
    out
}

/// Writes `sweep.csv`, `sweep.json` and the figures into `dir`.
fn write_outputs(
    def: &Definition,
    profiles: &[Profile],
    points: &[PointRuns],
    dir: &Path,
) -> Result<()> {
    let rows = rows(def, profiles, points)?;
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
    };
    write("sweep.csv", &csv(def, &rows))?;
    let output = Output {
        params: &def.params,
        profile: &def.profile.name,
        cells: &def.cells,
        years: def.years,
        runs: def.runs,
        seed: def.seed,
        rows: &rows,
    };
    let mut json = serde_json::to_string_pretty(&output).context("cannot encode the results")?;
    json.push('\n');
    write("sweep.json", &json)?;
    for &cell in &def.cells {
        for metric in plots::Metric::ALL {
            let stem = dir.join(format!(
                "{}-{}-{}",
                metric.stem(),
                kebab(&cell.architecture),
                kebab(&cell.platform)
            ));
            plots::figure(def, &rows, cell, metric, &stem)?;
        }
    }
    crate::cli::note(format_args!(
        "dualha sweep: wrote {} rows to {}",
        rows.len(),
        dir.join("sweep.csv").display()
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_and_bad_ones_name_the_text() {
        let p = parse_param("heartbeat.deadtime=10..30:10").expect("parses");
        assert_eq!(p.name, "heartbeat.deadtime");
        assert_eq!(
            p.values,
            vec![
                Value::Number(10.0),
                Value::Number(20.0),
                Value::Number(30.0)
            ]
        );
        let p = parse_param("x=0.1..0.3:0.1").expect("parses");
        assert_eq!(p.values.len(), 3);
        assert_eq!(p.values[2], Value::Number(0.3));
        let p = parse_param("drbd.protocol=A,B,C").expect("parses");
        assert_eq!(p.values[1], Value::Text("B".into()));
        for (bad, says) in [
            ("x=1..2:0", "STEP <= 0"),
            ("x=1..2:-1", "STEP <= 0"),
            ("x=3..2:1", "B < A"),
            ("x=1..2", "no :STEP"),
            ("x=a..2:1", "\"a\""),
            ("x=0..1e9:1", "more than 1000"),
            ("nothing", "NAME=A..B:STEP"),
            ("x..y=1", "not a dotted profile key"),
        ] {
            let e = format!("{:#}", parse_param(bad).expect_err(bad));
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn setting_a_value_by_path_is_checked() {
        let base = Profile::thesis();
        let p = set_value(&base, "heartbeat.deadtime", &Value::Number(12.0)).expect("sets");
        assert_eq!(p.heartbeat.deadtime, 12.0);
        let p = set_value(
            &base,
            "availability.host.failure.mean",
            &Value::Number(1.0e6),
        )
        .expect("sets");
        assert_eq!(
            p.availability.host.failure,
            sim::dist::Dist::Exponential { mean: 1.0e6 }
        );
        let p = set_value(&base, "drbd.protocol", &Value::Text("A".into())).expect("sets");
        assert_ne!(p.drbd.protocol, base.drbd.protocol);
        let p = set_value(&base, "drbd.resync_rate_mib", &Value::Number(10.0)).expect("sets");
        assert_eq!(p.drbd.resync_rate_mib, 10);
        let e = format!(
            "{:#}",
            set_value(&base, "heartbeat.deadtme", &Value::Number(1.0)).expect_err("unknown")
        );
        assert!(e.contains("deadtme") && e.contains("deadtime"), "{e}");
        let e = format!(
            "{:#}",
            set_value(&base, "heartbeat.deadtime", &Value::Number(-1.0)).expect_err("range")
        );
        assert!(e.contains("heartbeat.deadtime") && e.contains("-1"), "{e}");
        let e = format!(
            "{:#}",
            set_value(&base, "drbd.resync_rate_mib", &Value::Number(1.5)).expect_err("int")
        );
        assert!(e.contains("whole number"), "{e}");
    }

    #[test]
    fn points_go_first_parameter_slowest() {
        let def = Definition {
            profile: Profile::thesis(),
            params: vec![
                parse_param("heartbeat.deadtime=10..20:10").expect("parses"),
                parse_param("heartbeat.keepalive=1,2,3").expect("parses"),
            ],
            cells: Vec::new(),
            years: 0.001,
            runs: 2,
            seed: 5,
        };
        assert_eq!(def.points(), 6);
        assert_eq!(
            def.values_at(4),
            vec![Value::Number(20.0), Value::Number(2.0)]
        );
        assert_eq!(def.seed(4, 1), 5 + 8 + 1);
        let p = def.profile_at(5).expect("valid");
        assert_eq!((p.heartbeat.deadtime, p.heartbeat.keepalive), (20.0, 3.0));
    }

    #[test]
    fn shards_parse() {
        assert_eq!(parse_shard("1/1").expect("ok"), (1, 1));
        assert_eq!(parse_shard("3/10000").expect("ok"), (3, 10_000));
        for bad in ["0/3", "4/3", "1/10001", "1", "a/b", "1/0"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }
}
