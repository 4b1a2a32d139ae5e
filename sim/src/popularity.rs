//! Target popularity for workloads: which of `n` items an operation picks.
//!
//! `n` changes as peers come and go, so the Zipf sampler keeps rand_distr's rejection-inversion
//! `Zipf` (O(1) to build, O(1) expected per sample) for the last `n` and rebuilds it only when `n`
//! changes: no O(n) CDF table to recompute on every join or leave.

use peerlab_engine::NodeRng;
use rand::Rng;
use rand_distr::{Distribution, Zipf};

/// How targets are chosen among `n` items ranked `0..n` (rank 0 is the most popular under Zipf).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Popularity {
    /// Every item equally likely.
    Uniform,
    /// `P(rank r) ∝ 1 / (r + 1)^exponent`; `exponent` ≥ 0 (0 is uniform).
    Zipf {
        /// The Zipf exponent `s` (often 0.7–1.2 for real workloads).
        exponent: f64,
    },
}

/// Why a popularity setting was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PopularityError {
    /// The Zipf exponent was negative, NaN or infinite.
    #[error("zipf exponent must be a finite number >= 0, got {0}")]
    BadExponent(f64),
}

/// A sampler for one [`Popularity`], caching whatever depends on the current item count.
#[derive(Clone, Debug)]
pub struct PopularitySampler {
    kind: Popularity,
    /// The Zipf distribution built for `cached_n`.
    cached: Option<(usize, Zipf<f64>)>,
}

impl PopularitySampler {
    /// A sampler for `kind`; rejects a bad exponent.
    pub fn new(kind: Popularity) -> Result<Self, PopularityError> {
        if let Popularity::Zipf { exponent } = kind {
            if !(exponent.is_finite() && exponent >= 0.0) {
                return Err(PopularityError::BadExponent(exponent));
            }
        }
        Ok(PopularitySampler { kind, cached: None })
    }

    /// The popularity this sampler draws from.
    pub fn kind(&self) -> Popularity {
        self.kind
    }

    /// Draws an item index in `0..n`, or `None` when `n == 0` (nothing to target).
    pub fn sample(&mut self, rng: &mut NodeRng, n: usize) -> Option<usize> {
        if n == 0 {
            return None;
        }
        match self.kind {
            Popularity::Uniform => Some(rng.gen_range(0..n)),
            Popularity::Zipf { exponent } => {
                let zipf = match &self.cached {
                    Some((cn, z)) if *cn == n => z,
                    _ => {
                        // Both preconditions (n >= 1, exponent >= 0) are checked above and in new().
                        let z = Zipf::new(n as u64, exponent).ok()?;
                        &self.cached.insert((n, z)).1
                    }
                };
                // Zipf yields ranks 1..=n as floats; clamp guards the float edge.
                let rank = zipf.sample(rng) as usize;
                Some(rank.clamp(1, n) - 1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn counts(kind: Popularity, n: usize, draws: usize) -> Vec<usize> {
        let mut rng = NodeRng::seed_from_u64(11);
        let mut s = PopularitySampler::new(kind).unwrap();
        let mut c = vec![0; n];
        for _ in 0..draws {
            c[s.sample(&mut rng, n).unwrap()] += 1;
        }
        c
    }

    #[test]
    fn uniform_covers_all_items_evenly() {
        let c = counts(Popularity::Uniform, 10, 100_000);
        for &k in &c {
            assert!((9_000..11_000).contains(&k), "{c:?}");
        }
    }

    #[test]
    fn zipf_frequencies_follow_the_power_law() {
        let s = 0.9;
        let n = 100;
        let c = counts(Popularity::Zipf { exponent: s }, n, 200_000);
        // P(rank 1) / P(rank r) = r^s.
        for r in [2usize, 5, 10] {
            let ratio = c[0] as f64 / c[r - 1] as f64;
            let want = (r as f64).powf(s);
            assert!((ratio / want - 1.0).abs() < 0.08, "rank {r}: {ratio} vs {want}");
        }
        assert!(c[0] > c[n - 1] * 20);
    }

    #[test]
    fn changing_n_stays_in_range_and_n_zero_is_none() {
        let mut rng = NodeRng::seed_from_u64(3);
        let mut s = PopularitySampler::new(Popularity::Zipf { exponent: 1.0 }).unwrap();
        for n in [1usize, 7, 3, 1000, 2] {
            for _ in 0..200 {
                assert!(s.sample(&mut rng, n).unwrap() < n);
            }
        }
        assert_eq!(s.sample(&mut rng, 0), None);
        assert_eq!(
            PopularitySampler::new(Popularity::Uniform)
                .unwrap()
                .sample(&mut rng, 0),
            None
        );
    }

    #[test]
    fn bad_exponents_are_rejected() {
        for e in [-0.5, f64::NAN, f64::INFINITY] {
            assert!(PopularitySampler::new(Popularity::Zipf { exponent: e }).is_err());
        }
    }

    #[test]
    fn same_seed_same_draws() {
        let draw = || {
            let mut rng = NodeRng::seed_from_u64(99);
            let mut s = PopularitySampler::new(Popularity::Zipf { exponent: 1.1 }).unwrap();
            (0..50)
                .map(|_| s.sample(&mut rng, 500).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(), draw());
    }
}
