//! The reports: Markdown tables, pasted into docs/performance.md.

use super::*;

// ---------------------------------------------------------------------------------------
// Reports (Markdown tables, pasted into docs/performance.md).

pub(crate) fn report_throughput(out: &mut String, targets: &[Target<'_>], cells: &[Vec<Cell>]) {
    let _ = writeln!(
        out,
        "\n## 1. Throughput, MiB/s (median of {TP_ROUNDS} rounds; qemu-img bench -d {DEPTH}; in brackets: share of nbdkit on the same backing, ✗ below the floor)\n"
    );
    let _ = write!(out, "| backing | server |");
    for op in OPS {
        let _ = write!(out, " {} |", op.label);
    }
    let _ = writeln!(out, "\n| --- | --- |{}", " ---: |".repeat(OPS.len()));
    let reference = |b: Backing| {
        targets
            .iter()
            .position(|t| t.backing == b && t.lab.is_none())
            .map(|i| &cells[i])
    };
    let mut misses = Vec::new();
    let mut worst_spread = (0.0, String::new());
    for (t, row) in targets.iter().zip(cells) {
        let _ = write!(out, "| {} | {} |", t.backing.short(), t.label);
        for (oi, c) in row.iter().enumerate() {
            let v = c.median();
            if c.spread() > worst_spread.0 {
                worst_spread = (
                    c.spread(),
                    format!("{} {} {}", t.backing.short(), t.label, OPS[oi].label),
                );
            }
            match reference(t.backing).filter(|_| t.lab.is_some()) {
                Some(r) => {
                    let share = v / r[oi].median();
                    let floor = if t.label == "standalone" { 0.9 } else { 0.6 };
                    let miss = share < floor;
                    if miss {
                        misses.push(format!(
                            "{} on {}, {}: {:.0} % of nbdkit (floor {:.0} %: {:.0} points short)",
                            t.label,
                            t.backing.short(),
                            OPS[oi].label,
                            share * 100.0,
                            floor * 100.0,
                            (floor - share) * 100.0
                        ));
                    }
                    let mark = if miss { " ✗" } else { "" };
                    let _ = write!(out, " {v:.0} ({:.0} %{mark}) |", share * 100.0);
                }
                None => {
                    let _ = write!(out, " {v:.0} |");
                }
            }
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(
        out,
        "\nLargest round-to-round spread (max - min over median): {:.0} % ({}).",
        worst_spread.0 * 100.0,
        worst_spread.1
    );
    if reference(Backing::Shm).is_none() && reference(Backing::Tmp).is_none() {
        let _ = writeln!(
            out,
            "nbdkit missing: no ratios, floors not checked (apt-get install nbdkit)."
        );
    } else {
        let _ = writeln!(
            out,
            "Floors: standalone ≥ 90 % of nbdkit, pair ≥ 60 % of nbdkit: {} of {} cells missed.",
            misses.len(),
            targets.iter().filter(|t| t.lab.is_some()).count() * OPS.len()
        );
        for m in &misses {
            let _ = writeln!(out, "- {m}");
        }
    }

    let _ = writeln!(
        out,
        "\nCPU per request, µs: server (both nodes for a pair) / qemu-img, over all rounds\n"
    );
    let _ = write!(out, "| backing | server |");
    for op in OPS {
        let _ = write!(out, " {} |", op.label);
    }
    let _ = writeln!(out, "\n| --- | --- |{}", " ---: |".repeat(OPS.len()));
    for (t, row) in targets.iter().zip(cells) {
        let _ = write!(out, "| {} | {} |", t.backing.short(), t.label);
        for c in row {
            let _ = write!(out, " {:.1} / {:.1} |", c.server_us(), c.client_us());
        }
        let _ = writeln!(out);
    }
}

pub(crate) fn report_latency(out: &mut String, rows: &[LatencyRow]) {
    let _ = writeln!(
        out,
        "\n## 2. 4 KiB FUA write latency, one request at a time (median over {LAT_ROUNDS} rounds of each round's figure)\n"
    );
    let _ = writeln!(
        out,
        "| backing | server | p50 | p99 | mean | node's histogram p50 / p99 (bucket bound) |"
    );
    let _ = writeln!(out, "| --- | --- | ---: | ---: | ---: | --- |");
    let med = |v: &[Duration]| {
        Duration::from_secs_f64(median(
            &v.iter().map(Duration::as_secs_f64).collect::<Vec<_>>(),
        ))
    };
    for r in rows {
        let server = r.server.map_or("-".to_string(), |(a, b)| {
            format!("{} / {}", bound(a), bound(b))
        });
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {server} |",
            r.backing.short(),
            r.label,
            us(med(&r.p50)),
            us(med(&r.p99)),
            us(med(&r.mean))
        );
    }
}

pub(crate) fn report_failover(out: &mut String, title: &str, t: Timers, runs: &[FailoverRun]) {
    let _ = writeln!(
        out,
        "\n## 3. Failover, {title}: kill -9 of the Primary to the first NBD read on the survivor (/tmp; keepalive {} s, deadtime {} s, DRBD ping-int {} s, ping-timeout {} s)\n",
        t.keepalive, t.deadtime, t.ping_int, t.ping_timeout
    );
    let _ = writeln!(
        out,
        "| run | killed | total | detection (kill → is dead) | promotion (dead → role:Primary) | refused promotes | export + first read | total − detection | DRBD noticed (kill → replication:) |"
    );
    let _ = writeln!(
        out,
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    let opt = |d: Option<Duration>| d.map_or("?".to_string(), ms);
    let after = |r: &FailoverRun| r.detection.map(|d| r.total.saturating_sub(d));
    for (i, r) in runs.iter().enumerate() {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            i + 1,
            r.killed,
            ms(r.total),
            opt(r.detection),
            opt(r.promotion),
            r.refused,
            opt(r.export_read),
            opt(after(r)),
            opt(r.link_noticed)
        );
    }
    let med_of = |f: &dyn Fn(&FailoverRun) -> Option<Duration>| {
        let v: Vec<f64> = runs.iter().filter_map(f).map(|d| d.as_secs_f64()).collect();
        (!v.is_empty()).then(|| Duration::from_secs_f64(median(&v)))
    };
    let _ = writeln!(
        out,
        "| median | | {} | {} | {} | | {} | {} | {} |",
        opt(med_of(&|r| Some(r.total))),
        opt(med_of(&|r| r.detection)),
        opt(med_of(&|r| r.promotion)),
        opt(med_of(&|r| r.export_read)),
        opt(med_of(&after)),
        opt(med_of(&|r| r.link_noticed))
    );
    if let Some(why) = runs.iter().find_map(|r| r.refused_why.as_deref()) {
        let _ = writeln!(
            out,
            "\nPromotion refused with: \"{why}\"; retried 1 s later."
        );
    }
    let worst = runs.iter().map(|r| r.total).max().unwrap_or_default();
    let worst_after = runs.iter().filter_map(after).max().unwrap_or_default();
    let _ = writeln!(
        out,
        "\nFloor (under 2 s): {} (worst {}). Goal (detection + at most 100 ms): {} (worst total − detection {}).",
        if worst < Duration::from_secs(2) {
            "met"
        } else {
            "MISSED"
        },
        ms(worst),
        if worst_after <= Duration::from_millis(100) {
            "met"
        } else {
            "missed"
        },
        ms(worst_after)
    );
}
