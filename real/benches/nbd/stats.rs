//! Statistics, the node's metrics histogram, its log's timestamps and CPU time from /proc.

use super::*;

// ---------------------------------------------------------------------------------------
// Statistics.

pub(crate) fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        return f64::NAN;
    }
    s[s.len() / 2]
}

/// The `q` quantile of sorted samples (nearest rank).
pub(crate) fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

pub(crate) fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1e3)
}

// ---------------------------------------------------------------------------------------
// Metrics endpoint: the node's write-latency histogram.

/// `(upper bound, cumulative count)` of `dualha_nbd_write_seconds`.
pub(crate) fn scrape_histogram(at: SocketAddr) -> Option<Vec<(f64, u64)>> {
    let mut s = TcpStream::connect_timeout(&at, Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let mut buckets = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("dualha_nbd_write_seconds_bucket{le=\"") else {
            continue;
        };
        let (le, count) = rest.split_once("\"} ")?;
        let le = if le == "+Inf" {
            f64::INFINITY
        } else {
            le.parse().ok()?
        };
        buckets.push((le, count.trim().parse().ok()?));
    }
    (!buckets.is_empty()).then_some(buckets)
}

/// The bucket bound holding quantile `q` of the writes between two scrapes.
pub(crate) fn histogram_quantile(
    before: &[(f64, u64)],
    after: &[(f64, u64)],
    q: f64,
) -> Option<f64> {
    let delta: Vec<(f64, u64)> = after
        .iter()
        .zip(before)
        .map(|((le, a), (_, b))| (*le, a.saturating_sub(*b)))
        .collect();
    let total = delta.last()?.1;
    if total == 0 {
        return None;
    }
    let want = (q * total as f64).ceil() as u64;
    delta.iter().find(|(_, c)| *c >= want).map(|(le, _)| *le)
}

pub(crate) fn bound(b: Option<f64>) -> String {
    match b {
        Some(x) if x.is_finite() => format!("≤ {:.0} µs", x * 1e6),
        Some(_) => "> 1.6 s".into(),
        None => "-".into(),
    }
}

// ---------------------------------------------------------------------------------------
// RFC 3339 timestamps of the node's log (UTC, `2026-11-29T13:06:13.707303Z`).

pub(crate) fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|x| x.parse::<i64>());
    let (hh, mm, ss) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    let nanos: u64 = format!("{frac:0<9}").get(..9)?.parse().ok()?;
    // Days since 1970-01-01 (H. Hinnant's days_from_civil).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?) + Duration::from_nanos(nanos))
}

/// The first line at or after `since` containing `needle`: its time.
pub(crate) fn first_after(log: &str, since: SystemTime, needle: &str) -> Option<SystemTime> {
    log.lines().find_map(|l| {
        let t = parse_rfc3339(l.split_whitespace().next()?)?;
        (t >= since && l.contains(needle)).then_some(t)
    })
}

pub(crate) fn count_between(log: &str, from: SystemTime, to: SystemTime, needle: &str) -> usize {
    log.lines()
        .filter(|l| {
            l.split_whitespace()
                .next()
                .and_then(parse_rfc3339)
                .is_some_and(|t| t >= from && t <= to && l.contains(needle))
        })
        .count()
}

pub(crate) fn since(a: SystemTime, b: SystemTime) -> Duration {
    b.duration_since(a).unwrap_or_default()
}

pub(crate) fn today() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    // H. Hinnant's civil_from_days.
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

pub(crate) fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

// ---------------------------------------------------------------------------------------
// CPU time, from /proc (USER_HZ is 100 on Linux: one tick is 10 ms).

pub(crate) const TICK_US: f64 = 10_000.0;

/// Fields of `/proc/<pid>/stat` after the command name: index 0 is field 3 (state).
pub(crate) fn stat_fields(path: &str) -> Vec<u64> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let rest = text.rsplit_once(')').map_or("", |(_, r)| r);
    rest.split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect()
}

/// utime + stime of a whole process (its exited threads included), in ticks.
pub(crate) fn cpu_ticks(pid: u32) -> u64 {
    let f = stat_fields(&format!("/proc/{pid}/stat"));
    f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)
}

/// cutime + cstime of this process: the CPU of the children it has waited for.
pub(crate) fn children_ticks() -> u64 {
    let f = stat_fields("/proc/self/stat");
    f.get(13).copied().unwrap_or(0) + f.get(14).copied().unwrap_or(0)
}
