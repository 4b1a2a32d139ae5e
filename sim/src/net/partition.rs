//! Partitions (symmetric or one-way, until healed) and time-windowed faults that add loss or
//! latency (scenario fault kinds "partition", "loss", "latency").

use super::loss::chance;
use peerlab_engine::{Duration, Instant, NodeRng};

/// The current partition: a group per node, and optionally only one direction cut.
#[derive(Clone, Debug, Default)]
pub(crate) struct Partition {
    /// Group of each node; nodes past the end are in group 0 [CHOICE: late joiners land in the
    /// first group, so the caller should assign every node it knows of].
    assign: Vec<u16>,
    /// `Some((a, b))`: only messages from group `a` to group `b` are cut.
    one_way: Option<(u16, u16)>,
    active: bool,
}

impl Partition {
    /// Cuts the network into `assign`'s groups (all directions, or only `one_way`).
    pub(crate) fn set(&mut self, assign: Vec<u16>, one_way: Option<(u16, u16)>) {
        *self = Partition {
            assign,
            one_way,
            active: true,
        };
    }

    /// Removes the partition.
    pub(crate) fn heal(&mut self) {
        *self = Partition::default();
    }

    /// Whether a message from `from` to `to` is cut.
    #[inline]
    pub(crate) fn blocks(&self, from: u32, to: u32) -> bool {
        if !self.active {
            return false;
        }
        let group = |n: u32| self.assign.get(n as usize).copied().unwrap_or(0);
        let (g, h) = (group(from), group(to));
        match self.one_way {
            None => g != h,
            Some((a, b)) => g == a && h == b,
        }
    }
}

/// What a fault window does to the messages it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowEffect {
    /// An extra, independent loss ratio in ppm (on top of the base loss model).
    Loss {
        /// Extra loss ratio, parts per million.
        ppm: u32,
    },
    /// Extra one-way latency.
    Latency {
        /// Added to the base latency (before jitter).
        extra: Duration,
    },
}

/// A fault active for messages sent in `[at, until)`, for all nodes or for messages from or to
/// the listed nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// First instant the window is active.
    pub at: Instant,
    /// First instant it is no longer active.
    pub until: Instant,
    /// The effect.
    pub effect: WindowEffect,
    /// `None` = every message; `Some(nodes)` = messages from or to one of these nodes.
    pub nodes: Option<Vec<u32>>,
}

impl Window {
    fn covers(&self, now: Instant, from: u32, to: u32) -> bool {
        let in_scope = match &self.nodes {
            None => true,
            Some(n) => n.binary_search(&from).is_ok() || n.binary_search(&to).is_ok(),
        };
        self.at <= now && now < self.until && in_scope
    }
}

/// All fault windows of a network.
#[derive(Clone, Debug, Default)]
pub(crate) struct Windows {
    list: Vec<Window>,
}

impl Windows {
    /// Adds a window (its node list is sorted here for binary search).
    pub(crate) fn add(&mut self, mut w: Window) {
        if let Some(n) = w.nodes.as_mut() {
            n.sort_unstable();
            n.dedup();
        }
        self.list.push(w);
    }

    /// Drops windows that ended at or before `now` (sends come in non-decreasing time).
    pub(crate) fn prune(&mut self, now: Instant) {
        if self.list.iter().any(|w| w.until <= now) {
            self.list.retain(|w| w.until > now);
        }
    }

    /// Whether any window exists (the common case is none: skip all work).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Applies active windows: whether an extra loss hit the message, and the extra latency.
    pub(crate) fn apply(&self, now: Instant, from: u32, to: u32, rng: &mut NodeRng) -> (bool, u64) {
        let (mut lost, mut extra_us) = (false, 0u64);
        for w in self.list.iter().filter(|w| w.covers(now, from, to)) {
            match w.effect {
                // Every active loss window draws, so the rng stream does not depend on earlier ones.
                WindowEffect::Loss { ppm } => lost |= chance(ppm, rng),
                WindowEffect::Latency { extra } => extra_us = extra_us.saturating_add(extra.as_micros()),
            }
        }
        (lost, extra_us)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn symmetric_and_one_way_partitions() {
        let mut p = Partition::default();
        assert!(!p.blocks(0, 1));
        p.set(vec![0, 0, 1, 1], None);
        assert!(!p.blocks(0, 1) && !p.blocks(2, 3));
        assert!(p.blocks(0, 2) && p.blocks(3, 1));
        assert!(!p.blocks(9, 0), "unassigned nodes are in group 0");
        p.set(vec![0, 0, 1, 1], Some((0, 1)));
        assert!(p.blocks(0, 2) && !p.blocks(2, 0));
        p.heal();
        assert!(!p.blocks(0, 2));
    }

    #[test]
    fn windows_apply_only_in_their_span_and_scope() {
        let mut w = Windows::default();
        let t = Instant::from_micros;
        w.add(Window {
            at: t(100),
            until: t(200),
            effect: WindowEffect::Latency {
                extra: Duration::from_millis(5),
            },
            nodes: Some(vec![7, 3]),
        });
        w.add(Window {
            at: t(150),
            until: t(300),
            effect: WindowEffect::Loss { ppm: 1_000_000 },
            nodes: None,
        });
        let mut rng = NodeRng::seed_from_u64(0);
        assert_eq!(w.apply(t(99), 3, 1, &mut rng), (false, 0));
        assert_eq!(w.apply(t(100), 1, 3, &mut rng), (false, 5_000));
        assert_eq!(w.apply(t(120), 1, 2, &mut rng), (false, 0));
        assert_eq!(w.apply(t(160), 7, 2, &mut rng), (true, 5_000));
        assert_eq!(w.apply(t(250), 1, 2, &mut rng), (true, 0));
        w.prune(t(300));
        assert!(w.is_empty());
    }
}
