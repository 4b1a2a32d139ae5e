//! Churn models: when a group's peers arrive, and how long each session lasts
//! (docs/architecture.md §4 "Churn"). Leaving (graceful or crash) and rejoining are the world's
//! concern; this module only draws numbers, always from a seeded generator passed in.
//!
//! Distributions are parameterised by their MEAN so scenario files compare like with like:
//! - exponential(mean): rate `1/mean`;
//! - Weibull(mean, k): scale `λ = mean / Γ(1 + 1/k)` (k < 1 is the heavy-tailed case measured in
//!   file-sharing networks, e.g. k ≈ 0.6);
//! - Pareto(mean, k): `x_m = mean · (k − 1) / k`, requires `k > 1` for a finite mean;
//! - fixed; trace (durations read from a file by the caller, drawn uniformly with replacement).

use peerlab_engine::{Duration, Instant, NodeRng};
use rand::Rng;
use rand_distr::{Distribution, Exp, Pareto, Weibull};

/// Smallest Weibull shape: below it the scale `mean / Γ(1 + 1/shape)` underflows Γ's useful range
/// (no measured network is that skewed; measured P2P sessions have 0.3 to 0.7).
pub const WEIBULL_SHAPE_MIN: f64 = 0.05;

/// Why a churn setting was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChurnError {
    /// A mean session length of zero.
    #[error("the mean session length must be greater than zero")]
    ZeroMean,
    /// A shape parameter out of range.
    #[error("shape {shape} is out of range for {model}: {allowed}")]
    BadShape {
        /// The distribution.
        model: &'static str,
        /// The rejected value.
        shape: f64,
        /// What is allowed.
        allowed: &'static str,
    },
    /// A trace with no durations.
    #[error("a session trace needs at least one duration")]
    EmptyTrace,
    /// An arrival rate that is zero, negative or not finite.
    #[error("the arrival rate must be a finite number of arrivals per second > 0, got {0}")]
    BadRate(f64),
}

/// A validated session-length distribution; build it with the constructors.
#[derive(Clone, Debug)]
pub struct SessionLength(Kind);

#[derive(Clone, Debug)]
enum Kind {
    Exponential(Exp<f64>),
    Weibull(Weibull<f64>),
    Pareto(Pareto<f64>),
    Fixed(Duration),
    Trace(Vec<Duration>),
}

impl SessionLength {
    /// Exponential sessions with the given mean (memoryless churn).
    pub fn exponential(mean: Duration) -> Result<Self, ChurnError> {
        let m = positive_secs(mean)?;
        let d = Exp::new(1.0 / m).map_err(|_| ChurnError::ZeroMean)?;
        Ok(SessionLength(Kind::Exponential(d)))
    }

    /// Weibull sessions with the given mean and shape `k > 0`; scale `mean / Γ(1 + 1/k)`.
    pub fn weibull(mean: Duration, shape: f64) -> Result<Self, ChurnError> {
        let m = positive_secs(mean)?;
        if !(shape.is_finite() && shape >= WEIBULL_SHAPE_MIN) {
            return Err(bad_shape("weibull", shape, "a number >= 0.05"));
        }
        let scale = m / gamma(1.0 + 1.0 / shape);
        let d = Weibull::new(scale, shape).map_err(|_| bad_shape("weibull", shape, "> 0"))?;
        Ok(SessionLength(Kind::Weibull(d)))
    }

    /// Pareto sessions with the given mean and shape `k > 1`; `x_m = mean (k − 1) / k`.
    pub fn pareto(mean: Duration, shape: f64) -> Result<Self, ChurnError> {
        let m = positive_secs(mean)?;
        if !(shape.is_finite() && shape > 1.0) {
            return Err(bad_shape("pareto", shape, "a number > 1 (finite mean)"));
        }
        let xm = m * (shape - 1.0) / shape;
        let d = Pareto::new(xm, shape).map_err(|_| bad_shape("pareto", shape, "> 1"))?;
        Ok(SessionLength(Kind::Pareto(d)))
    }

    /// Every session lasts exactly `d`.
    pub fn fixed(d: Duration) -> Self {
        SessionLength(Kind::Fixed(d))
    }

    /// Sessions drawn uniformly (with replacement) from measured durations.
    pub fn trace(durations: Vec<Duration>) -> Result<Self, ChurnError> {
        if durations.is_empty() {
            return Err(ChurnError::EmptyTrace);
        }
        Ok(SessionLength(Kind::Trace(durations)))
    }

    /// Draws one session length, rounded to the microsecond (saturating at `Duration::MAX`).
    pub fn sample(&self, rng: &mut NodeRng) -> Duration {
        let secs = match &self.0 {
            Kind::Exponential(d) => d.sample(rng),
            Kind::Weibull(d) => d.sample(rng),
            Kind::Pareto(d) => d.sample(rng),
            Kind::Fixed(d) => return *d,
            Kind::Trace(v) => return v[rng.gen_range(0..v.len())],
        };
        secs_to_duration(secs)
    }
}

/// When a group's peers join.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Arrivals {
    /// Everyone at once.
    At(Instant),
    /// Evenly spaced over `over` from `start`: peer `i` of `n` joins at `start + over · i / n`.
    Ramp {
        /// The first join.
        start: Instant,
        /// The span the joins are spread over.
        over: Duration,
    },
    /// A Poisson process from `start`: exponential gaps with mean `1 / rate_per_sec`.
    Poisson {
        /// When the process starts (the first join is one gap later).
        start: Instant,
        /// Mean arrivals per second.
        rate_per_sec: f64,
    },
}

impl Arrivals {
    /// Checks the parameters (a Poisson rate must be finite and positive).
    pub fn validate(&self) -> Result<(), ChurnError> {
        match *self {
            Arrivals::Poisson { rate_per_sec, .. } if !(rate_per_sec.is_finite() && rate_per_sec > 0.0) => {
                Err(ChurnError::BadRate(rate_per_sec))
            }
            _ => Ok(()),
        }
    }

    /// The `count` join times of a group, non-decreasing, deterministic from `rng` (which only the
    /// Poisson process consumes).
    pub fn join_times(&self, count: usize, rng: &mut NodeRng) -> Result<Vec<Instant>, ChurnError> {
        self.validate()?;
        let times = match *self {
            Arrivals::At(t) => vec![t; count],
            Arrivals::Ramp { start, over } => (0..count as u64)
                .map(|i| {
                    // u128 so that `over · i` cannot overflow for long ramps of many peers.
                    let off = over.as_micros() as u128 * i as u128 / count as u128;
                    start + Duration::from_micros(off as u64)
                })
                .collect(),
            Arrivals::Poisson { start, rate_per_sec } => {
                let gap = Exp::new(rate_per_sec).map_err(|_| ChurnError::BadRate(rate_per_sec))?;
                // Accumulate in integer microseconds so rounding never drifts between machines.
                let mut t = start;
                (0..count)
                    .map(|_| {
                        t += secs_to_duration(gap.sample(rng));
                        t
                    })
                    .collect()
            }
        };
        Ok(times)
    }
}

fn positive_secs(d: Duration) -> Result<f64, ChurnError> {
    if d == Duration::ZERO {
        return Err(ChurnError::ZeroMean);
    }
    Ok(d.as_secs_f64())
}

fn bad_shape(model: &'static str, shape: f64, allowed: &'static str) -> ChurnError {
    ChurnError::BadShape {
        model,
        shape,
        allowed,
    }
}

/// Seconds to whole microseconds, rounding to nearest; NaN and negatives become zero and huge
/// values saturate (Rust's float-to-int casts do both).
fn secs_to_duration(secs: f64) -> Duration {
    Duration::from_micros((secs * 1e6).round() as u64)
}

/// Γ(x) for x > 0 by the Lanczos approximation (g = 7, 9 terms; relative error ~1e-15).
fn gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection formula.
        return std::f64::consts::PI / ((std::f64::consts::PI * x).sin() * gamma(1.0 - x));
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    (2.0 * std::f64::consts::PI).sqrt() * t.powf(x + 0.5) * (-t).exp() * a
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn mean_secs(s: &SessionLength, n: usize) -> f64 {
        let mut rng = NodeRng::seed_from_u64(2026);
        (0..n).map(|_| s.sample(&mut rng).as_secs_f64()).sum::<f64>() / n as f64
    }

    fn close(got: f64, want: f64, tol: f64) {
        assert!((got / want - 1.0).abs() < tol, "got {got}, want {want} ±{tol}");
    }

    #[test]
    fn gamma_matches_known_values() {
        close(gamma(1.0), 1.0, 1e-12);
        close(gamma(5.0), 24.0, 1e-12);
        close(gamma(0.5), std::f64::consts::PI.sqrt(), 1e-12);
        close(gamma(1.0 + 1.0 / 0.6), 1.504_575_488_251_556_7, 1e-9);
    }

    #[test]
    fn sample_means_match_the_configured_mean() {
        let mean = Duration::from_mins(30);
        let want = mean.as_secs_f64();
        close(
            mean_secs(&SessionLength::exponential(mean).unwrap(), 200_000),
            want,
            0.01,
        );
        close(
            mean_secs(&SessionLength::weibull(mean, 0.6).unwrap(), 200_000),
            want,
            0.03,
        );
        close(
            mean_secs(&SessionLength::weibull(mean, 2.0).unwrap(), 200_000),
            want,
            0.01,
        );
        // Shape 3: finite variance, so the sample mean converges quickly enough to test.
        close(
            mean_secs(&SessionLength::pareto(mean, 3.0).unwrap(), 200_000),
            want,
            0.02,
        );
        assert_eq!(
            SessionLength::fixed(mean).sample(&mut NodeRng::seed_from_u64(1)),
            mean
        );
    }

    #[test]
    fn pareto_never_goes_below_its_minimum() {
        let s = SessionLength::pareto(Duration::from_secs(100), 2.0).unwrap();
        let mut rng = NodeRng::seed_from_u64(5);
        assert!((0..10_000).all(|_| s.sample(&mut rng) >= Duration::from_secs(50)));
    }

    #[test]
    fn trace_draws_only_listed_durations_and_all_of_them() {
        let list = vec![
            Duration::from_secs(1),
            Duration::from_secs(7),
            Duration::from_mins(2),
        ];
        let s = SessionLength::trace(list.clone()).unwrap();
        let mut rng = NodeRng::seed_from_u64(9);
        let mut seen = [false; 3];
        for _ in 0..300 {
            let d = s.sample(&mut rng);
            let i = list.iter().position(|x| *x == d).expect("a listed duration");
            seen[i] = true;
        }
        assert_eq!(seen, [true; 3]);
    }

    #[test]
    fn bad_parameters_are_typed_errors() {
        let m = Duration::from_secs(60);
        assert_eq!(
            SessionLength::exponential(Duration::ZERO).unwrap_err(),
            ChurnError::ZeroMean
        );
        assert!(SessionLength::weibull(m, 0.0).is_err());
        assert!(SessionLength::weibull(m, f64::NAN).is_err());
        assert!(SessionLength::pareto(m, 1.0).is_err());
        assert_eq!(SessionLength::trace(vec![]).unwrap_err(), ChurnError::EmptyTrace);
        let bad = Arrivals::Poisson {
            start: Instant::ZERO,
            rate_per_sec: 0.0,
        };
        assert!(bad.join_times(3, &mut NodeRng::seed_from_u64(1)).is_err());
    }

    #[test]
    fn ramp_is_evenly_spaced_and_at_is_simultaneous() {
        let mut rng = NodeRng::seed_from_u64(1);
        let start = Instant::from_micros(1_000);
        let ramp = Arrivals::Ramp {
            start,
            over: Duration::from_mins(2),
        };
        let t = ramp.join_times(4, &mut rng).unwrap();
        let want: Vec<_> = [0u64, 30, 60, 90]
            .iter()
            .map(|s| start + Duration::from_secs(*s))
            .collect();
        assert_eq!(t, want);
        assert_eq!(
            Arrivals::At(start).join_times(3, &mut rng).unwrap(),
            vec![start; 3]
        );
        assert!(ramp.join_times(0, &mut rng).unwrap().is_empty());
    }

    #[test]
    fn poisson_has_the_configured_rate_and_is_deterministic() {
        let p = Arrivals::Poisson {
            start: Instant::from_micros(5),
            rate_per_sec: 50.0,
        };
        let a = p.join_times(50_000, &mut NodeRng::seed_from_u64(4)).unwrap();
        assert_eq!(a, p.join_times(50_000, &mut NodeRng::seed_from_u64(4)).unwrap());
        assert!(a.windows(2).all(|w| w[0] <= w[1]) && a[0] > Instant::from_micros(5));
        // 50,000 arrivals at 50/s take about 1,000 s.
        close((a[a.len() - 1] - Instant::ZERO).as_secs_f64(), 1_000.0, 0.02);
    }
}
