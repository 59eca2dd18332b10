use sim::{Cell, Profile, run_study};

#[test]
#[ignore]
fn stats() {
    let p = Profile::thesis();
    let cells = Cell::all();
    let n: u32 = std::env::var("TRIALS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let t0 = std::time::Instant::now();
    let rs = run_study(&p, &cells, n, 1, 2, &|_| {});
    eprintln!("wall {:?}", t0.elapsed());
    for c in &cells {
        let v: Vec<_> = rs.iter().filter(|r| r.cell == *c).collect();
        let rec: Vec<f64> = v.iter().filter_map(|r| r.recovery_secs).collect();
        let mean = rec.iter().sum::<f64>() / rec.len().max(1) as f64;
        let min = rec.iter().cloned().fold(f64::INFINITY, f64::min);
        let max = rec.iter().cloned().fold(0.0, f64::max);
        let sb = v.iter().filter(|r| r.split_brain).count();
        let setup = v.iter().filter(|r| r.setup_failed).count();
        let lost: u64 = v.iter().map(|r| r.lost_acked_writes).sum();
        eprintln!("{c}: recovered {}/{} mean {mean:.1} [{min:.1}, {max:.1}] sb={sb} setup_failed={setup} lost={lost}", rec.len(), v.len());
    }
}
