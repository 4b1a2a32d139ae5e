//! A compact mirror of the pinned (leaf-set) entries' last-heard times.
//!
//! The maintenance tick asks "when did we last hear from each leaf-set member?" on every node
//! every tick (MS-PNRP §3.1.6.2/§3.2.6.2 liveness probes). Answered from the cache, each question is a cold
//! walk of the ring index plus a miss on the entry; answered from this list of at most a few dozen
//! `(id, added)` pairs, held contiguously, it is a short linear scan of warm memory. The cache
//! keeps it exactly in step with its pinned entries' `added` (cache.rs), and `check_invariants`
//! compares the two.

use crate::pnrp::id::PnrpId;
use crate::Instant;

/// `(id, added)` of every pinned cache entry, in no particular order.
#[derive(Clone, Debug, Default)]
pub(super) struct PinnedHeard {
    items: Vec<(PnrpId, Instant)>,
}

impl PinnedHeard {
    /// Records `added` for pinned entry `id` (inserting it when new).
    pub(super) fn set(&mut self, id: PnrpId, added: Instant) {
        match self.items.iter_mut().find(|(x, _)| *x == id) {
            Some(item) => item.1 = added,
            None => self.items.push((id, added)),
        }
    }

    /// Forgets `id` (it was unpinned or removed).
    pub(super) fn remove(&mut self, id: &PnrpId) {
        if let Some(p) = self.items.iter().position(|(x, _)| x == id) {
            self.items.swap_remove(p);
        }
    }

    /// The recorded time of `id`, when it is pinned.
    pub(super) fn get(&self, id: &PnrpId) -> Option<Instant> {
        self.items.iter().find(|(x, _)| x == id).map(|&(_, t)| t)
    }

    /// Forgets everything.
    pub(super) fn clear(&mut self) {
        self.items.clear();
    }

    /// Number of pinned entries recorded.
    pub(super) fn len(&self) -> usize {
        self.items.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> PnrpId {
        PnrpId::new(n, n)
    }

    #[test]
    fn set_updates_in_place_and_remove_forgets() {
        let mut p = PinnedHeard::default();
        p.set(id(1), Instant::from_micros(5));
        p.set(id(2), Instant::from_micros(6));
        p.set(id(1), Instant::from_micros(9));
        assert_eq!(p.len(), 2);
        assert_eq!(p.get(&id(1)), Some(Instant::from_micros(9)));
        p.remove(&id(1));
        assert_eq!(p.get(&id(1)), None);
        assert_eq!(p.get(&id(2)), Some(Instant::from_micros(6)));
        p.remove(&id(7));
        assert_eq!(p.len(), 1);
        p.clear();
        assert_eq!(p.get(&id(2)), None);
    }
}
