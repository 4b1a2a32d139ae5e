//! One-way latency models and jitter (docs/architecture.md §4 "Network model").
//!
//! # The `internet` model (peerlab choice)
//! Each node gets a point drawn uniformly in the unit square and an access delay `a = 0.1 · e^(σZ)`
//! (lognormal, median 0.1, `Z` standard normal, `σ = tail`), both from the node's own ChaCha stream,
//! so adding nodes never moves the others. A pair's one-way latency is
//! `scale · (‖p_i − p_j‖ + a_i + a_j)`: stable per pair, and it obeys the triangle inequality
//! (a metric plus per-endpoint terms). `scale` is calibrated once, at construction, so that the
//! median over node pairs (all pairs up to ~200 nodes, else 20,000 sampled pairs; at least 64 nodes'
//! worth of points) equals the configured median. The lognormal access delay gives the long tail:
//! with the default `σ = 1`, p90 ≈ 1.6× and p99 ≈ 2.5× the median, p1 ≈ 0.27× (a slow last mile
//! on either end); raise `tail` for a heavier one. Per message, only IEEE-exact operations
//! (+ − × ÷ √) run; the per-node draws use `exp` (and rand_distr's normal sampler), whose last bit
//! comes from the platform's libm: bit-identical on one platform, possibly off by one ulp (then
//! rarely one microsecond) across platforms.

use super::NetConfigError;
use peerlab_engine::{Duration, NodeRng};
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

/// The default `tail` (lognormal σ of the access delay) of the internet model.
pub const DEFAULT_TAIL: f64 = 1.0;
/// Largest `tail` (σ) of the internet model: at σ = 5 the p99 access delay is already e^11.6 ≈
/// 10^5 times the median; beyond, delays overflow any useful range.
pub const TAIL_MAX: f64 = 5.0;
/// The access delay's median, in the model's unit square lengths.
const ACCESS_MEDIAN: f64 = 0.1;
/// Pairs sampled to calibrate the internet model's median when there are too many to enumerate.
const CALIBRATION_PAIRS: usize = 20_000;
/// Points used at least when calibrating, so a tiny network still gets a sensible scale.
const CALIBRATION_MIN_NODES: u32 = 64;
/// ChaCha stream ids (`set_stream`) reserved for per-node coordinates and for calibration.
pub(crate) const STREAM_COORDS: u64 = 1 << 32;
const STREAM_CALIBRATION: u64 = 2 << 32;

/// How one-way latency between two nodes is drawn.
#[derive(Clone, Debug, PartialEq)]
pub enum LatencyModel {
    /// The same latency for every message.
    Constant(Duration),
    /// Drawn uniformly in `[min, max]` for every message.
    Uniform {
        /// Lower bound.
        min: Duration,
        /// Upper bound (inclusive).
        max: Duration,
    },
    /// Synthetic coordinates with a pair median of `median` and a lognormal tail (module docs).
    Internet {
        /// The median one-way latency over node pairs.
        median: Duration,
        /// σ of the lognormal access delay ([`DEFAULT_TAIL`] when unsure); 0 = no tail.
        tail: f64,
    },
    /// A table of one-way latencies between groups, and each node's group.
    Matrix {
        /// `table[a][b]`: latency from a node of group `a` to a node of group `b` (square).
        table: Vec<Vec<Duration>>,
        /// Group of each node; must cover every node.
        node_group: Vec<u16>,
    },
}

/// Jitter added to each message's latency: uniform in `[-amplitude, +amplitude]`, never making
/// the latency negative (it saturates at zero). Jitter can reorder messages, as netem's does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Jitter {
    /// No jitter.
    #[default]
    None,
    /// An amplitude proportional to the message's base latency, in parts per million (`"10%"` =
    /// 100,000).
    FractionPpm(u32),
    /// A fixed amplitude.
    Absolute(Duration),
}

/// A latency model resolved for a network: flat per-node state.
pub(crate) enum Latency {
    Constant(u64),
    Uniform(u64, u64),
    /// Per node: x, y and access delay, already scaled to microseconds.
    Internet {
        seed: [u8; 32],
        scale: f64,
        tail: f64,
        points: Vec<[f64; 3]>,
    },
    /// Flat `groups × groups` table in microseconds.
    Matrix {
        groups: usize,
        table: Vec<u64>,
        node_group: Vec<u16>,
    },
}

impl Latency {
    /// Resolves `model` for `n` nodes.
    pub(crate) fn new(model: &LatencyModel, n: u32, seed: [u8; 32]) -> Result<Self, NetConfigError> {
        Ok(match model {
            LatencyModel::Constant(d) => Latency::Constant(d.as_micros()),
            LatencyModel::Uniform { min, max } => {
                if min > max {
                    return Err(NetConfigError::Latency(format!(
                        "uniform min {min} exceeds max {max}"
                    )));
                }
                Latency::Uniform(min.as_micros(), max.as_micros())
            }
            LatencyModel::Internet { median, tail } => internet(*median, *tail, n, seed)?,
            LatencyModel::Matrix { table, node_group } => matrix(table, node_group, n)?,
        })
    }

    /// Makes room for nodes `0..n` (new internet points come from their own streams).
    pub(crate) fn ensure_nodes(&mut self, n: u32) -> Result<(), NetConfigError> {
        match self {
            Latency::Internet {
                seed,
                scale,
                tail,
                points,
            } => {
                for i in points.len() as u32..n {
                    let p = unit_point(*seed, *tail, i);
                    points.push([p[0] * *scale, p[1] * *scale, p[2] * *scale]);
                }
            }
            Latency::Matrix { node_group, .. } if node_group.len() < n as usize => {
                return Err(NetConfigError::Latency(format!(
                    "the latency matrix assigns groups to {} nodes, not {n}",
                    node_group.len()
                )));
            }
            _ => {}
        }
        Ok(())
    }

    /// Heap bytes of per-node state.
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            Latency::Internet { points, .. } => points.capacity() * std::mem::size_of::<[f64; 3]>(),
            Latency::Matrix {
                table, node_group, ..
            } => table.capacity() * 8 + node_group.capacity() * 2,
            _ => 0,
        }
    }

    /// Cache hint for node `i`'s entry (see `NetModel::prefetch_receiver`).
    #[inline]
    pub(crate) fn prefetch(&self, i: usize) {
        match self {
            Latency::Internet { points, .. } => {
                if let Some(p) = points.get(i) {
                    crate::hint::prefetch(p);
                }
            }
            Latency::Matrix { node_group, .. } => {
                if let Some(g) = node_group.get(i) {
                    crate::hint::prefetch(g);
                }
            }
            Latency::Constant(_) | Latency::Uniform(..) => {}
        }
    }

    /// The base one-way latency from `from` to `to`, in microseconds (both indices in range).
    #[inline]
    pub(crate) fn base_us(&self, from: u32, to: u32, rng: &mut NodeRng) -> u64 {
        match self {
            Latency::Constant(d) => *d,
            Latency::Uniform(lo, hi) => rng.gen_range(*lo..=*hi),
            Latency::Internet { points, .. } => {
                let (a, b) = (&points[from as usize], &points[to as usize]);
                let (dx, dy) = (a[0] - b[0], a[1] - b[1]);
                round_to_u64((dx * dx + dy * dy).sqrt() + a[2] + b[2])
            }
            Latency::Matrix {
                groups,
                table,
                node_group,
            } => {
                let (g, h) = (
                    node_group[from as usize] as usize,
                    node_group[to as usize] as usize,
                );
                table[g * groups + h]
            }
        }
    }
}

/// Exactly `x.round() as u64` (half away from zero, saturating, NaN to 0) without the out-of-line
/// `round` call: the truncation and the fraction `x - trunc(x)` are both exact in IEEE arithmetic.
#[inline]
fn round_to_u64(x: f64) -> u64 {
    let t = x as u64;
    if x - t as f64 >= 0.5 {
        t.saturating_add(1)
    } else {
        t
    }
}

/// Adds jitter to `base_us`; draws from `rng` only when the amplitude is non-zero.
#[inline]
pub(crate) fn jittered_us(j: Jitter, base_us: u64, rng: &mut NodeRng) -> u64 {
    let amp = match j {
        Jitter::None => 0,
        Jitter::FractionPpm(ppm) => (base_us as u128 * ppm as u128 / 1_000_000) as u64,
        Jitter::Absolute(d) => d.as_micros(),
    };
    if amp == 0 {
        return base_us;
    }
    let off = rng.gen_range(0..=amp.saturating_mul(2));
    (base_us + off).saturating_sub(amp)
}

/// A node's point in unit-square lengths: x, y, access delay.
fn unit_point(seed: [u8; 32], tail: f64, node: u32) -> [f64; 3] {
    let mut rng = NodeRng::from_seed(seed);
    rng.set_stream(STREAM_COORDS | node as u64);
    let x: f64 = rng.gen();
    let y: f64 = rng.gen();
    let z: f64 = StandardNormal.sample(&mut rng);
    [x, y, ACCESS_MEDIAN * (tail * z).exp()]
}

fn unit_latency(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    let (dx, dy) = (a[0] - b[0], a[1] - b[1]);
    (dx * dx + dy * dy).sqrt() + a[2] + b[2]
}

fn internet(median: Duration, tail: f64, n: u32, seed: [u8; 32]) -> Result<Latency, NetConfigError> {
    if !(tail.is_finite() && (0.0..=TAIL_MAX).contains(&tail)) {
        return Err(NetConfigError::Latency(format!(
            "internet tail must be within 0..={TAIL_MAX}, got {tail}"
        )));
    }
    let m = n.max(CALIBRATION_MIN_NODES);
    let unit: Vec<[f64; 3]> = (0..m).map(|i| unit_point(seed, tail, i)).collect();
    let mut samples: Vec<f64> = Vec::new();
    let total_pairs = m as usize * (m as usize - 1) / 2;
    if total_pairs <= CALIBRATION_PAIRS {
        for i in 0..unit.len() {
            for j in i + 1..unit.len() {
                samples.push(unit_latency(&unit[i], &unit[j]));
            }
        }
    } else {
        let mut rng = NodeRng::from_seed(seed);
        rng.set_stream(STREAM_CALIBRATION);
        while samples.len() < CALIBRATION_PAIRS {
            let (i, j) = (rng.gen_range(0..m as usize), rng.gen_range(0..m as usize));
            if i != j {
                samples.push(unit_latency(&unit[i], &unit[j]));
            }
        }
    }
    let mid = samples.len() / 2;
    let (_, unit_median, _) = samples.select_nth_unstable_by(mid, f64::total_cmp);
    let scale = median.as_micros() as f64 / *unit_median;
    let points = unit[..n as usize]
        .iter()
        .map(|p| [p[0] * scale, p[1] * scale, p[2] * scale])
        .collect();
    Ok(Latency::Internet {
        seed,
        scale,
        tail,
        points,
    })
}

fn matrix(table: &[Vec<Duration>], node_group: &[u16], n: u32) -> Result<Latency, NetConfigError> {
    let groups = table.len();
    if groups == 0 || table.iter().any(|row| row.len() != groups) {
        return Err(NetConfigError::Latency(format!(
            "the latency matrix must be square and non-empty ({groups} rows)"
        )));
    }
    if let Some((node, g)) = node_group
        .iter()
        .enumerate()
        .find(|(_, g)| **g as usize >= groups)
    {
        return Err(NetConfigError::Latency(format!(
            "node {node} is in group {g}, but the matrix has {groups} groups"
        )));
    }
    let mut lat = Latency::Matrix {
        groups,
        table: table.iter().flatten().map(|d| d.as_micros()).collect(),
        node_group: node_group.to_vec(),
    };
    lat.ensure_nodes(n)?;
    Ok(lat)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_to_u64_is_round_as_u64() {
        let edge = [
            0.0,
            -0.0,
            0.49999999999999994,
            0.5,
            1.5,
            2.5,
            -0.5,
            -0.7,
            -3.2,
            4503599627370495.5,
            4503599627370497.0,
            9007199254740993.0,
            1.8446744073709552e19,
            3e19,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::MIN_POSITIVE,
        ];
        for x in edge {
            assert_eq!(round_to_u64(x), x.round() as u64, "{x}");
        }
        let mut r = rng();
        for _ in 0..100_000 {
            let x: f64 = r.gen_range(0.0..1e7);
            assert_eq!(round_to_u64(x), x.round() as u64, "{x}");
            let half = (r.gen_range(0..1_000_000u64) as f64) + 0.5;
            assert_eq!(round_to_u64(half), half.round() as u64, "{half}");
        }
    }

    fn rng() -> NodeRng {
        NodeRng::seed_from_u64(1)
    }

    fn internet_lat(n: u32, tail: f64) -> Latency {
        let model = LatencyModel::Internet {
            median: Duration::from_millis(70),
            tail,
        };
        Latency::new(&model, n, [7; 32]).unwrap()
    }

    fn pair_latencies(l: &Latency, n: u32) -> Vec<u64> {
        let mut r = rng();
        let mut v: Vec<u64> = (0..n)
            .flat_map(|i| (0..n).filter(move |j| *j != i).map(move |j| (i, j)))
            .map(|(i, j)| l.base_us(i, j, &mut r))
            .collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn internet_median_is_calibrated_and_tail_is_long() {
        let n = 400;
        let v = pair_latencies(&internet_lat(n, DEFAULT_TAIL), n);
        let median = v[v.len() / 2] as f64;
        let p99 = v[v.len() * 99 / 100] as f64;
        assert!((median / 70_000.0 - 1.0).abs() < 0.05, "median {median}");
        assert!(p99 > 2.0 * median, "p99 {p99} vs median {median}");
    }

    #[test]
    fn internet_is_symmetric_stable_and_triangle_respecting() {
        let l = internet_lat(50, DEFAULT_TAIL);
        let mut r = rng();
        for (a, b, c) in [(0, 1, 2), (3, 17, 40), (49, 8, 21)] {
            let ab = l.base_us(a, b, &mut r);
            assert_eq!(ab, l.base_us(b, a, &mut r));
            assert_eq!(ab, l.base_us(a, b, &mut r));
            // +2 allows for rounding each leg to the microsecond.
            assert!(ab <= l.base_us(a, c, &mut r) + l.base_us(c, b, &mut r) + 2);
        }
    }

    #[test]
    fn growing_the_network_keeps_existing_points() {
        let mut small = internet_lat(100, 1.0);
        small.ensure_nodes(120).unwrap();
        let big = internet_lat(120, 1.0);
        let mut r = rng();
        // The scales differ (each calibrates on its own nodes) but the points are the same, so
        // ratios between pair latencies agree.
        let ratio_small = small.base_us(110, 3, &mut r) as f64 / small.base_us(5, 3, &mut r) as f64;
        let ratio_big = big.base_us(110, 3, &mut r) as f64 / big.base_us(5, 3, &mut r) as f64;
        assert!((ratio_small / ratio_big - 1.0).abs() < 1e-3);
    }

    #[test]
    fn matrix_and_uniform_and_validation() {
        let ms = Duration::from_millis;
        let table = vec![vec![ms(5), ms(80)], vec![ms(90), ms(7)]];
        let l = Latency::new(
            &LatencyModel::Matrix {
                table: table.clone(),
                node_group: vec![0, 1, 1],
            },
            3,
            [0; 32],
        )
        .unwrap();
        let mut r = rng();
        assert_eq!(l.base_us(0, 1, &mut r), 80_000);
        assert_eq!(l.base_us(2, 0, &mut r), 90_000);
        assert_eq!(l.base_us(1, 2, &mut r), 7_000);
        let short = LatencyModel::Matrix {
            table: table.clone(),
            node_group: vec![0],
        };
        assert!(Latency::new(&short, 3, [0; 32]).is_err());
        let bad_group = LatencyModel::Matrix {
            table,
            node_group: vec![0, 2, 1],
        };
        assert!(Latency::new(&bad_group, 3, [0; 32]).is_err());
        let u = Latency::new(
            &LatencyModel::Uniform {
                min: ms(5),
                max: ms(9),
            },
            2,
            [0; 32],
        )
        .unwrap();
        assert!((0..1000).all(|_| (5_000..=9_000).contains(&u.base_us(0, 1, &mut r))));
        assert!(Latency::new(
            &LatencyModel::Uniform {
                min: ms(9),
                max: ms(5)
            },
            2,
            [0; 32]
        )
        .is_err());
    }

    #[test]
    fn jitter_stays_within_amplitude_and_never_below_zero() {
        let mut r = rng();
        let v: Vec<u64> = (0..2000)
            .map(|_| jittered_us(Jitter::FractionPpm(100_000), 50_000, &mut r))
            .collect();
        assert!(v.iter().all(|x| (45_000..=55_000).contains(x)));
        assert!(v.iter().any(|x| *x < 47_000) && v.iter().any(|x| *x > 53_000));
        let abs = Jitter::Absolute(Duration::from_millis(10));
        assert!((0..2000).all(|_| jittered_us(abs, 3_000, &mut r) <= 13_000));
        assert!(jittered_us(abs, 0, &mut NodeRng::seed_from_u64(4)) <= 10_000);
        assert_eq!(jittered_us(Jitter::None, 777, &mut r), 777);
    }
}
