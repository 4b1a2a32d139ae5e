//! The leaf set of one locally registered ID: the 5 closest IDs below and the 5 above (pnrp.md §2.3).

use super::id::PnrpId;
use super::message::RouteEntry;

/// The leaf-set IDs of a registered ID, nearest first (for invariant checks and reports).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeafSetView {
    /// Counter-clockwise neighbours, nearest first.
    pub below: Vec<PnrpId>,
    /// Clockwise neighbours, nearest first.
    pub above: Vec<PnrpId>,
}

/// The leaf set of `centre`: up to `side` route entries on each side, nearest first.
#[derive(Clone, Debug)]
pub struct LeafSet {
    centre: PnrpId,
    side: usize,
    below: Vec<RouteEntry>,
    above: Vec<RouteEntry>,
}

/// Which side of the centre an ID lies on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Counter-clockwise ("less than").
    Below,
    /// Clockwise ("greater than").
    Above,
}

impl LeafSet {
    /// An empty leaf set of `centre` with `side` members per side.
    pub fn new(centre: PnrpId, side: usize) -> Self {
        LeafSet {
            centre,
            side,
            below: Vec::new(),
            above: Vec::new(),
        }
    }

    /// The registered ID it belongs to.
    pub fn centre(&self) -> PnrpId {
        self.centre
    }

    /// The side `x` lies on (§1.3 [INFER]: clockwise offset in (0, 2^255) is "above").
    pub fn side_of(&self, x: PnrpId) -> Side {
        if self.centre.is_above(x) {
            Side::Above
        } else {
            Side::Below
        }
    }

    fn list(&self, s: Side) -> &Vec<RouteEntry> {
        match s {
            Side::Below => &self.below,
            Side::Above => &self.above,
        }
    }

    fn list_mut(&mut self, s: Side) -> &mut Vec<RouteEntry> {
        match s {
            Side::Below => &mut self.below,
            Side::Above => &mut self.above,
        }
    }

    /// Members on side `s`, nearest first.
    pub fn members(&self, s: Side) -> &[RouteEntry] {
        self.list(s)
    }

    /// True when `x` is a member.
    pub fn contains(&self, x: PnrpId) -> bool {
        self.list(self.side_of(x)).iter().any(|r| r.id == x)
    }

    /// §2.3: `x` falls within the leaf set when its side has room or it is closer than that side's
    /// farthest member. The centre itself never does.
    pub fn falls_within(&self, x: PnrpId) -> bool {
        if x == self.centre {
            return false;
        }
        let l = self.list(self.side_of(x));
        l.len() < self.side || l.last().is_some_and(|far| self.centre.closer(x, far.id))
    }

    /// Inserts (or refreshes) `r`; returns the member evicted from a full side (§2.3), if any.
    /// Does nothing (returns `None`) when `r` does not fall within.
    pub fn insert(&mut self, r: RouteEntry) -> Option<RouteEntry> {
        let s = self.side_of(r.id);
        let centre = self.centre;
        let side = self.side;
        let l = self.list_mut(s);
        if let Some(existing) = l.iter_mut().find(|m| m.id == r.id) {
            *existing = r;
            return None;
        }
        if r.id == centre || (l.len() >= side && !l.last().is_some_and(|far| centre.closer(r.id, far.id))) {
            return None;
        }
        let pos = l.partition_point(|m| centre.closer(m.id, r.id));
        l.insert(pos, r);
        if l.len() > side {
            l.pop()
        } else {
            None
        }
    }

    /// Removes `x`; returns whether it was a member.
    pub fn remove(&mut self, x: PnrpId) -> bool {
        let s = self.side_of(x);
        let l = self.list_mut(s);
        let before = l.len();
        l.retain(|m| m.id != x);
        before != l.len()
    }

    /// The member IDs, nearest first.
    pub fn view(&self) -> LeafSetView {
        LeafSetView {
            below: self.below.iter().map(|r| r.id).collect(),
            above: self.above.iter().map(|r| r.id).collect(),
        }
    }

    /// All members, below then above.
    pub fn all(&self) -> impl Iterator<Item = &RouteEntry> + '_ {
        self.below.iter().chain(self.above.iter())
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.below.len() + self.above.len()
    }

    /// True when there are no members.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// §4.7 step 6 [CHOICE]: `t` lies inside the span from the farthest lower to the farthest upper
    /// member; a side with fewer than `side` members is unbounded.
    pub fn spans(&self, t: PnrpId) -> bool {
        if t == self.centre {
            return true;
        }
        let l = self.list(self.side_of(t));
        l.len() < self.side
            || l.last()
                .is_some_and(|far| self.centre.distance(t) <= self.centre.distance(far.id))
    }

    /// The nearest member below and above, when both exist (for the size estimate, §4.12).
    pub fn nearest_pair(&self) -> Option<(PnrpId, PnrpId)> {
        Some((self.below.first()?.id, self.above.first()?.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Endpoint;
    use proptest::prelude::*;
    use std::net::Ipv6Addr;

    fn r(id: PnrpId) -> RouteEntry {
        RouteEntry::single(id, Endpoint::new(Ipv6Addr::LOCALHOST, 4000))
    }

    #[test]
    fn full_side_evicts_its_farthest() {
        let c = PnrpId::new(0, 1000);
        let mut l = LeafSet::new(c, 2);
        assert!(l.insert(r(PnrpId::new(0, 1010))).is_none());
        assert!(l.insert(r(PnrpId::new(0, 1020))).is_none());
        assert!(!l.falls_within(PnrpId::new(0, 1030)));
        assert!(l.insert(r(PnrpId::new(0, 1030))).is_none());
        let ev = l.insert(r(PnrpId::new(0, 1005))).unwrap();
        assert_eq!(ev.id, PnrpId::new(0, 1020));
        assert_eq!(l.view().above, vec![PnrpId::new(0, 1005), PnrpId::new(0, 1010)]);
        assert!(l.insert(r(PnrpId::new(0, 990))).is_none());
        assert_eq!(l.view().below, vec![PnrpId::new(0, 990)]);
        assert!(l.spans(PnrpId::new(0, 1))); // the lower side has room: unbounded
        assert!(!l.spans(PnrpId::new(0, 1011)));
        assert!(l.remove(PnrpId::new(0, 990)));
        assert!(!l.contains(PnrpId::new(0, 990)));
    }

    proptest! {
        #[test]
        fn leaf_set_is_the_true_nearest_five_and_five(
            ids in proptest::collection::vec((any::<u128>(), any::<u128>()), 0..60),
            centre in (any::<u128>(), any::<u128>()),
        ) {
            let c = PnrpId::new(centre.0, centre.1);
            let mut l = LeafSet::new(c, 5);
            let mut all: Vec<PnrpId> = Vec::new();
            for (h, lo) in ids {
                let id = PnrpId::new(h, lo);
                l.insert(r(id));
                if id != c && !all.contains(&id) {
                    all.push(id);
                }
            }
            let mut above: Vec<PnrpId> = all.iter().copied().filter(|x| c.is_above(*x)).collect();
            let mut below: Vec<PnrpId> = all.iter().copied().filter(|x| !c.is_above(*x)).collect();
            above.sort_by_key(|x| (c.distance(*x), *x));
            below.sort_by_key(|x| (c.distance(*x), *x));
            above.truncate(5);
            below.truncate(5);
            prop_assert_eq!(l.view(), LeafSetView { below, above });
        }
    }
}
