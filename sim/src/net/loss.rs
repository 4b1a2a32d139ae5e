//! Packet loss: independent, or bursty Gilbert-Elliott.
//!
//! Probabilities are exact ratios in parts per million, sampled through integers
//! (`rng.gen_range(0..1_000_000) < ppm`) so results reproduce bit for bit (docs/architecture.md §7 habit 5,
//! after TigerBeetle's packet simulator).
//!
//! Gilbert-Elliott (peerlab choice): a two-state Markov chain stepped once per message that reaches the
//! loss stage. The message is lost with the CURRENT state's loss ratio, then the state moves
//! (good→bad with `p_gb`, bad→good with `p_bg`), so the mean burst lasts `1/p_bg` messages. The state
//! belongs either to each directed link (`PerLink`: bursts hit one path; the few links in the bad
//! state are kept in a `BTreeSet`, all others are good) or to each sending node (`PerNode`: a sender's
//! flaky uplink hits all its messages; a `Vec<bool>`).

use peerlab_engine::NodeRng;
use rand::Rng;
use std::collections::BTreeSet;

/// One million: the denominator of every `_ppm` ratio.
pub const PPM: u32 = 1_000_000;

/// Who owns a Gilbert-Elliott state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GilbertScope {
    /// One chain per directed link (from, to).
    #[default]
    PerLink,
    /// One chain per sending node.
    PerNode,
}

/// How messages are lost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LossModel {
    /// No loss.
    #[default]
    None,
    /// Every message lost independently with this ratio.
    Independent {
        /// Loss ratio in parts per million (`"0.5%"` = 5,000).
        ppm: u32,
    },
    /// Bursty loss: a good and a bad state (module docs).
    GilbertElliott {
        /// Good→bad transition ratio per message, ppm.
        p_gb_ppm: u32,
        /// Bad→good transition ratio per message, ppm.
        p_bg_ppm: u32,
        /// Loss ratio in the good state, ppm.
        loss_good_ppm: u32,
        /// Loss ratio in the bad state, ppm.
        loss_bad_ppm: u32,
        /// Per link or per sending node.
        scope: GilbertScope,
    },
}

impl LossModel {
    /// The long-run loss ratio in ppm (stationary mix for Gilbert-Elliott), for reports and checks.
    pub fn mean_ppm(&self) -> u32 {
        match *self {
            LossModel::None => 0,
            LossModel::Independent { ppm } => ppm,
            LossModel::GilbertElliott {
                p_gb_ppm,
                p_bg_ppm,
                loss_good_ppm,
                loss_bad_ppm,
                ..
            } => {
                let (gb, bg) = (p_gb_ppm as u64, p_bg_ppm as u64);
                if gb + bg == 0 {
                    return loss_good_ppm;
                }
                // π_bad = p_gb / (p_gb + p_bg).
                ((loss_good_ppm as u64 * bg + loss_bad_ppm as u64 * gb) / (gb + bg)) as u32
            }
        }
    }

    /// Whether every ratio is at most one million.
    pub(crate) fn is_valid(&self) -> bool {
        match *self {
            LossModel::None => true,
            LossModel::Independent { ppm } => ppm <= PPM,
            LossModel::GilbertElliott {
                p_gb_ppm,
                p_bg_ppm,
                loss_good_ppm,
                loss_bad_ppm,
                ..
            } => [p_gb_ppm, p_bg_ppm, loss_good_ppm, loss_bad_ppm]
                .iter()
                .all(|p| *p <= PPM),
        }
    }
}

/// True with probability `ppm / 1e6`; draws nothing for 0 or 1e6, so those cost no randomness.
#[inline]
pub(crate) fn chance(ppm: u32, rng: &mut NodeRng) -> bool {
    match ppm {
        0 => false,
        p if p >= PPM => true,
        p => rng.gen_range(0..PPM) < p,
    }
}

/// Loss state for a network.
pub(crate) struct Loss {
    model: LossModel,
    /// Per-node chain state (`PerNode`), true = bad.
    node_bad: Vec<bool>,
    /// Directed links in the bad state (`PerLink`), keyed `from << 32 | to`.
    link_bad: BTreeSet<u64>,
}

impl Loss {
    /// Loss state for `n` nodes, all chains in the good state.
    pub(crate) fn new(model: LossModel, n: u32) -> Self {
        Loss {
            model,
            node_bad: vec![false; n as usize],
            link_bad: BTreeSet::new(),
        }
    }

    /// Makes room for nodes `0..n`.
    pub(crate) fn ensure_nodes(&mut self, n: u32) {
        if self.node_bad.len() < n as usize {
            self.node_bad.resize(n as usize, false);
        }
    }

    /// Heap bytes (the bad-link set estimated at 16 bytes per entry with B-tree overhead).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.node_bad.capacity() + self.link_bad.len() * 16
    }

    /// Decides whether a message from `from` to `to` is lost, stepping any Gilbert-Elliott chain.
    #[inline]
    pub(crate) fn lost(&mut self, from: u32, to: u32, rng: &mut NodeRng) -> bool {
        match self.model {
            LossModel::None => false,
            LossModel::Independent { ppm } => chance(ppm, rng),
            LossModel::GilbertElliott {
                p_gb_ppm,
                p_bg_ppm,
                loss_good_ppm,
                loss_bad_ppm,
                scope,
            } => {
                let bad = match scope {
                    GilbertScope::PerNode => self.node_bad[from as usize],
                    GilbertScope::PerLink => self.link_bad.contains(&link_key(from, to)),
                };
                let lost = chance(if bad { loss_bad_ppm } else { loss_good_ppm }, rng);
                let flip = chance(if bad { p_bg_ppm } else { p_gb_ppm }, rng);
                if flip {
                    match scope {
                        GilbertScope::PerNode => self.node_bad[from as usize] = !bad,
                        GilbertScope::PerLink if bad => {
                            self.link_bad.remove(&link_key(from, to));
                        }
                        GilbertScope::PerLink => {
                            self.link_bad.insert(link_key(from, to));
                        }
                    }
                }
                lost
            }
        }
    }
}

fn link_key(from: u32, to: u32) -> u64 {
    (from as u64) << 32 | to as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn loss_ratio_and_bursts(model: LossModel, n: usize) -> (f64, f64) {
        let mut l = Loss::new(model, 4);
        let mut rng = NodeRng::seed_from_u64(8);
        let (mut lost, mut runs, mut prev) = (0usize, 0usize, false);
        for _ in 0..n {
            let x = l.lost(1, 2, &mut rng);
            lost += x as usize;
            runs += (x && !prev) as usize;
            prev = x;
        }
        (lost as f64 / n as f64, lost as f64 / runs.max(1) as f64)
    }

    #[test]
    fn independent_loss_hits_the_exact_ratio() {
        let (ratio, burst) = loss_ratio_and_bursts(LossModel::Independent { ppm: 50_000 }, 400_000);
        assert!((ratio - 0.05).abs() < 0.002, "{ratio}");
        assert!(burst < 1.2, "independent losses come alone: {burst}");
        assert_eq!(
            loss_ratio_and_bursts(LossModel::Independent { ppm: PPM }, 100).0,
            1.0
        );
        assert_eq!(loss_ratio_and_bursts(LossModel::None, 100).0, 0.0);
    }

    #[test]
    fn gilbert_elliott_is_bursty_with_the_stationary_mean() {
        for scope in [GilbertScope::PerLink, GilbertScope::PerNode] {
            let model = LossModel::GilbertElliott {
                p_gb_ppm: 10_000,
                p_bg_ppm: 200_000,
                loss_good_ppm: 0,
                loss_bad_ppm: PPM,
                scope,
            };
            let want = model.mean_ppm() as f64 / 1e6;
            let (ratio, burst) = loss_ratio_and_bursts(model, 400_000);
            assert!((ratio / want - 1.0).abs() < 0.08, "{ratio} vs {want}");
            // Mean burst = 1 / p_bg = 5 messages.
            assert!((4.0..6.0).contains(&burst), "{burst}");
        }
    }

    #[test]
    fn per_link_chains_are_independent_of_other_links() {
        let model = LossModel::GilbertElliott {
            p_gb_ppm: PPM,
            p_bg_ppm: 0,
            loss_good_ppm: 0,
            loss_bad_ppm: PPM,
            scope: GilbertScope::PerLink,
        };
        let mut l = Loss::new(model, 3);
        let mut rng = NodeRng::seed_from_u64(1);
        assert!(
            !l.lost(0, 1, &mut rng),
            "first message sees the good state, then the link turns bad"
        );
        assert!(l.lost(0, 1, &mut rng));
        assert!(!l.lost(1, 0, &mut rng), "the reverse link has its own chain");
        assert!(!l.lost(0, 2, &mut rng));
    }

    #[test]
    fn validity_rejects_ratios_above_one() {
        assert!(!LossModel::Independent { ppm: PPM + 1 }.is_valid());
        assert!(LossModel::Independent { ppm: PPM }.is_valid());
    }
}
