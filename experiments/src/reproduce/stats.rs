//! Sampling uncertainty of the facts: how sure a verdict on N trials is.
//!
//! A share (trials recovered, trials within a range) gets a Wilson score interval; a
//! difference of means a Welch interval; a difference of standard deviations a
//! percentile bootstrap from a seeded generator, so the report stays byte-identical
//! for one seed. All intervals are 95 %. A fact whose interval straddles its threshold
//! is one the trial count cannot decide: another seed or `--trials` may turn it.

/// The normal quantile of a two-sided 95 % interval.
const Z95: f64 = 1.959_963_984_540_054;

/// Bootstrap resamples for an interval on a difference of standard deviations.
const RESAMPLES: usize = 2000;

/// The Wilson score interval of `k` successes in `n` trials; `(0, 1)` for no trials.
pub fn wilson(k: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let n = n as f64;
    let p = k as f64 / n;
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Mean and sample variance.
fn mean_var(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = if xs.len() > 1 {
        xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (m, v)
}

/// The 97.5 % quantile of Student's t with `df` degrees of freedom (Abramowitz and
/// Stegun 26.7.5, from the normal quantile; within 0.01 of the table from 3 degrees of
/// freedom on, which is all a 95 % interval here needs).
pub fn t975(df: f64) -> f64 {
    let z = Z95;
    let df = df.max(1.0);
    let z3 = z.powi(3);
    let z5 = z.powi(5);
    let z7 = z.powi(7);
    z + (z3 + z) / (4.0 * df)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * df * df)
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * df.powi(3))
}

/// Welch's 95 % interval on `mean(a) - mean(b)`: `(difference, low, high)`; `None`
/// when either side has fewer than two values.
pub fn welch(a: &[f64], b: &[f64]) -> Option<(f64, f64, f64)> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let (ma, va) = mean_var(a);
    let (mb, vb) = mean_var(b);
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (sa, sb) = (va / na, vb / nb);
    let se = (sa + sb).sqrt();
    let d = ma - mb;
    if se == 0.0 {
        return Some((d, d, d));
    }
    let df = (sa + sb).powi(2) / (sa * sa / (na - 1.0) + sb * sb / (nb - 1.0));
    let h = t975(df) * se;
    Some((d, d - h, d + h))
}

/// SplitMix64: a small seeded generator for the bootstrap (no wall clock, no global
/// state).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn sd(xs: &[f64]) -> f64 {
    mean_var(xs).1.sqrt()
}

/// A percentile bootstrap 95 % interval on `sd(a) - sd(b)`, seeded with `seed`:
/// `(difference, low, high)`; `None` when either side has fewer than two values.
pub fn bootstrap_sd_diff(a: &[f64], b: &[f64], seed: u64) -> Option<(f64, f64, f64)> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let mut rng = SplitMix(seed ^ 0x5D_B007);
    let mut ra = vec![0.0; a.len()];
    let mut rb = vec![0.0; b.len()];
    let mut diffs: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            for x in ra.iter_mut() {
                *x = a[rng.below(a.len())];
            }
            for x in rb.iter_mut() {
                *x = b[rng.below(b.len())];
            }
            sd(&ra) - sd(&rb)
        })
        .collect();
    diffs.sort_by(f64::total_cmp);
    let lo = diffs[RESAMPLES * 25 / 1000];
    let hi = diffs[RESAMPLES * 975 / 1000 - 1];
    Some((sd(a) - sd(b), lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_match_textbook_values() {
        // 30 of 30: the Wilson interval reaches down to 0.886, below 90 %.
        let (lo, hi) = wilson(30, 30);
        assert!((lo - 0.886).abs() < 0.001 && hi > 0.999_999, "{lo} {hi}");
        let (lo, hi) = wilson(15, 30);
        assert!((lo - 0.332).abs() < 0.001 && (hi - 0.668).abs() < 0.001);
        // t(0.975): 2.228 at 10 df, 2.042 at 30, 1.96 in the limit.
        assert!((t975(10.0) - 2.228).abs() < 0.01);
        assert!((t975(30.0) - 2.042).abs() < 0.005);
        assert!((t975(1e9) - 1.96).abs() < 0.001);
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [11.0, 12.0, 13.0, 14.0, 15.0];
        let (d, lo, hi) = welch(&a, &b).expect("enough values");
        assert_eq!(d, -10.0);
        assert!(hi < 0.0 && lo > -13.0, "{lo} {hi}");
        let wide = [1.0, 30.0, 2.0, 40.0, 3.0];
        let (d, lo, hi) = bootstrap_sd_diff(&a, &wide, 1).expect("enough values");
        assert!(d < 0.0 && lo <= d && d <= hi);
        assert_eq!(
            bootstrap_sd_diff(&a, &wide, 1),
            bootstrap_sd_diff(&a, &wide, 1)
        );
    }
}
