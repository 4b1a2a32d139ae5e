//! 95% confidence intervals that respect a figure's range: Student's t for signed figures, a
//! seeded percentile bootstrap for non-negative ones (the interval cannot leave `[min, max]` of the
//! data, so a time or a count never gets a negative bound), and Wilson's score interval for
//! success ratios pooled over runs.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// Bootstrap resamples; enough for stable 2.5% and 97.5% percentiles of the mean.
const RESAMPLES: usize = 4_000;
/// Two-sided 95% normal quantile.
const Z975: f64 = 1.959_964;

/// Two-sided 97.5% quantiles of Student's t for 1..=30 degrees of freedom.
const T975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
    2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/// Student's t quantile for a two-sided 95% interval with `df` degrees of freedom.
pub fn t975(df: usize) -> f64 {
    match df {
        0 => f64::INFINITY,
        1..=30 => T975[df - 1],
        // Beyond the table, t approaches the normal quantile; this series is within 1e-3 of it.
        _ => Z975 + 2.372 / df as f64 + 2.8 / (df * df) as f64,
    }
}

/// Sample mean and unbiased variance of `v` (at least two values).
pub(crate) fn mean_var(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var)
}

/// Student's t interval of the mean of `v` (at least two values).
pub(crate) fn student(v: &[f64]) -> (f64, f64) {
    let (mean, var) = mean_var(v);
    let half = t975(v.len() - 1) * (var / v.len() as f64).sqrt();
    (mean - half, mean + half)
}

/// A ChaCha8 stream fixed by `label`, so the same figures always give the same interval.
pub(crate) fn seeded_rng(label: &str) -> ChaCha8Rng {
    // FNV-1a: a stable hash (std's hasher may change between Rust releases).
    let seed = label.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    ChaCha8Rng::seed_from_u64(seed)
}

/// A uniform index below `n` from `rng` (Lemire's multiply-shift; bias below 2^-50 for small n).
pub(crate) fn index(rng: &mut ChaCha8Rng, n: usize) -> usize {
    ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize
}

/// Percentile-bootstrap 95% interval of the mean of `v` (at least two values), resampled from a
/// stream seeded by `label`.
pub(crate) fn bootstrap(v: &[f64], label: &str) -> (f64, f64) {
    let mut rng = seeded_rng(label);
    let n = v.len();
    let mut means: Vec<f64> = (0..RESAMPLES)
        .map(|_| (0..n).map(|_| v[index(&mut rng, n)]).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    let at = |q: f64| means[((q * (RESAMPLES - 1) as f64).round() as usize).min(RESAMPLES - 1)];
    (at(0.025), at(0.975))
}

/// Wilson score 95% interval of a proportion with `successes` out of `trials` (`trials > 0`).
pub(crate) fn wilson(successes: u64, trials: u64) -> (f64, f64) {
    let n = trials as f64;
    let p = successes as f64 / n;
    let z2 = Z975 * Z975;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z975 / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    // At 0 or all successes the bound is exactly 0 or 1; rounding would leave 1e-17 off it.
    let lo = if successes == 0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let hi = if successes == trials {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    (lo, hi)
}

/// Natural log of the gamma function for x > 0: Stirling's series after shifting x to 7 or more
/// (Γ(x) = Γ(x + 1) / x), absolute error below 1e-11.
fn ln_gamma(mut x: f64) -> f64 {
    let mut shift = 0.0;
    while x < 7.0 {
        shift -= x.ln();
        x += 1.0;
    }
    let z = 1.0 / (x * x);
    let series = (1.0 / 12.0 - z * (1.0 / 360.0 - z * (1.0 / 1260.0 - z / 1680.0))) / x;
    shift + (x - 0.5) * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI).ln() + series
}

/// Continued fraction of the regularized incomplete beta function (modified Lentz).
fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    d = 1.0 / if d.abs() < TINY { TINY } else { d };
    let mut h = d;
    for m in 1..300 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        for aa in [
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ] {
            d = 1.0 + aa * d;
            d = 1.0 / if d.abs() < TINY { TINY } else { d };
            c = 1.0 + aa / c;
            c = if c.abs() < TINY { TINY } else { c };
            h *= d * c;
        }
        if (d * c - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// Regularized incomplete beta function I_x(a, b).
fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front = (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_fraction(b, a, 1.0 - x) / b
    }
}

/// Two-sided p-value of Student's t statistic `t` with `df` (real) degrees of freedom.
pub(crate) fn t_two_sided_p(t: f64, df: f64) -> f64 {
    if !t.is_finite() {
        return 0.0;
    }
    incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
}

/// Holm's step-down adjustment of `p` (family-wise error over all of them); same order.
pub(crate) fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|a, b| p[*a].total_cmp(&p[*b]));
    let mut adjusted = vec![1.0; m];
    let mut running = 0.0f64;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_published_values_and_stays_in_range() {
        // 81 of 263 (Wilson 1927 style example): 0.2553 .. 0.3662.
        let (lo, hi) = wilson(81, 263);
        assert!(
            (lo - 0.2553).abs() < 5e-4 && (hi - 0.3662).abs() < 5e-4,
            "{lo} {hi}"
        );
        let (lo, hi) = wilson(10, 10);
        assert!(hi == 1.0 && lo > 0.72 && lo < 0.73, "{lo} {hi}");
        assert_eq!(wilson(0, 5).0, 0.0);
    }

    #[test]
    fn bootstrap_is_deterministic_and_inside_the_data() {
        let v = [0.0, 0.0, 0.0, 12.0, 1.0, 0.5, 0.0, 0.0];
        let a = bootstrap(&v, "x");
        assert_eq!(a, bootstrap(&v, "x"));
        assert!(a.0 >= 0.0 && a.0 < a.1 && a.1 <= 12.0, "{a:?}");
        let mean = v.iter().sum::<f64>() / 8.0;
        assert!(a.0 < mean && mean < a.1);
        // Student's t would go below zero for the same data.
        assert!(student(&v).0 < 0.0);
    }

    #[test]
    fn t_p_values_match_tables_and_holm_steps_down() {
        // t = 2.262 with 9 df is the two-sided 5% point; t = 12.706 with 1 df likewise.
        assert!((t_two_sided_p(2.262, 9.0) - 0.05).abs() < 1e-3);
        assert!((t_two_sided_p(12.706, 1.0) - 0.05).abs() < 1e-3);
        assert!((t_two_sided_p(0.0, 5.0) - 1.0).abs() < 1e-12);
        assert!(t_two_sided_p(40.0, 8.0) < 1e-9);
        assert_eq!(holm(&[0.01, 0.04, 0.03]), vec![0.03, 0.06, 0.06]);
        // ln Γ(0.5) = ln √π, ln Γ(10) = ln 362880.
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-10);
        assert!((ln_gamma(10.0) - 362_880f64.ln()).abs() < 1e-10);
    }

    #[test]
    fn t_table_joins_the_series() {
        assert!((t975(31) - 2.040).abs() < 2e-3);
        assert!((t975(1000) - 1.962).abs() < 1e-3);
        assert!(t975(0).is_infinite());
    }
}
