//! The leaf set of one locally registered ID: the 5 closest IDs below and the 5 above (MS-PNRP §3.2.1).

use super::id::{Distance, PnrpId};
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
    // Per side (`Side::index`), the `(distance, id)` key an ID must be strictly below to fall
    // within: the farthest member's when the side is full, `OPEN` while it has room, `SHUT` when
    // `side` is 0. Kept in step by `insert`/`remove` so that `falls_within` (asked for every route
    // entry a node hears of) is one comparison and never touches the member lists.
    limit: [(Distance, PnrpId); 2],
}

/// Above every `(distance, id)` key: distances are at most 2^255.
const OPEN: (Distance, PnrpId) = (
    Distance {
        hi: u128::MAX,
        lo: u128::MAX,
    },
    PnrpId::new(u128::MAX, u128::MAX),
);
/// Not above any `(distance, id)` key.
const SHUT: (Distance, PnrpId) = (Distance::ZERO, PnrpId::ZERO);

/// What decides `falls_within` for one leaf set (its centre and per-side limits), as a copy a node
/// can keep beside its other hot state: most route entries a node hears of fall within none of its
/// leaf sets, and this answers that without loading the registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeafWindow {
    centre: PnrpId,
    limit: [(Distance, PnrpId); 2],
}

impl LeafWindow {
    /// Same as [`LeafSet::reaches`] of the leaf set it was taken from, while that is unchanged.
    pub fn reaches(&self, x: PnrpId) -> bool {
        let side = if self.centre.is_above(x) {
            Side::Above
        } else {
            Side::Below
        };
        x != self.centre && (self.centre.distance(x), x) <= self.limit[side.index()]
    }
}

/// Which side of the centre an ID lies on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Counter-clockwise ("less than").
    Below,
    /// Clockwise ("greater than").
    Above,
}

impl Side {
    fn index(self) -> usize {
        match self {
            Side::Below => 0,
            Side::Above => 1,
        }
    }
}

impl LeafSet {
    /// An empty leaf set of `centre` with `side` members per side.
    pub fn new(centre: PnrpId, side: usize) -> Self {
        let limit = if side == 0 { SHUT } else { OPEN };
        LeafSet {
            centre,
            side,
            below: Vec::new(),
            above: Vec::new(),
            limit: [limit; 2],
        }
    }

    /// The registered ID it belongs to.
    pub fn centre(&self) -> PnrpId {
        self.centre
    }

    /// The side `x` lies on (MS-PNRP §1.3.1.2, our reading: clockwise offset in (0, 2^255) is "above").
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

    /// Recomputes side `s`'s limit after its list changed.
    fn update_limit(&mut self, s: Side) {
        let centre = self.centre;
        let l = self.list(s);
        self.limit[s.index()] = match l.last() {
            Some(far) if l.len() >= self.side => (centre.distance(far.id), far.id),
            _ if self.side == 0 => SHUT,
            _ => OPEN,
        };
    }

    /// Members on side `s`, nearest first.
    pub fn members(&self, s: Side) -> &[RouteEntry] {
        self.list(s)
    }

    /// True when `x` is a member.
    pub fn contains(&self, x: PnrpId) -> bool {
        self.list(self.side_of(x)).iter().any(|r| r.id == x)
    }

    /// MS-PNRP §3.2.1: `x` falls within the leaf set when its side has room or it is closer than that side's
    /// farthest member. The centre itself never does.
    pub fn falls_within(&self, x: PnrpId) -> bool {
        // Same as "the side has room, or `centre.closer(x, farthest)`", through the cached limit.
        x != self.centre && (self.centre.distance(x), x) < self.limit[self.side_of(x).index()]
    }

    /// True when `x` falls within or is a member: every member's key is at most its side's limit
    /// (the farthest member's own key is the limit of a full side, so it does not fall within).
    pub fn reaches(&self, x: PnrpId) -> bool {
        x != self.centre && (self.centre.distance(x), x) <= self.limit[self.side_of(x).index()]
    }

    /// A copy of what decides `falls_within` and `reaches`.
    pub fn window(&self) -> LeafWindow {
        LeafWindow {
            centre: self.centre,
            limit: self.limit,
        }
    }

    /// True when `entry` would enter the leaf set: it falls within and is new, or it is a member
    /// announced from other endpoints (a member that moved; the farthest member included, which
    /// does not fall within: with one member per side every member is the farthest).
    pub fn would_change(&self, entry: &RouteEntry) -> bool {
        if !self.reaches(entry.id) {
            return false;
        }
        match self
            .list(self.side_of(entry.id))
            .iter()
            .find(|m| m.id == entry.id)
        {
            Some(member) => member != entry,
            None => self.falls_within(entry.id),
        }
    }

    /// Inserts (or refreshes) `r`; returns the member evicted from a full side (MS-PNRP §3.2.1), if any.
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
        let out = if l.len() > side { l.pop() } else { None };
        self.update_limit(s);
        out
    }

    /// Removes `x`; returns whether it was a member.
    pub fn remove(&mut self, x: PnrpId) -> bool {
        let s = self.side_of(x);
        let l = self.list_mut(s);
        let before = l.len();
        l.retain(|m| m.id != x);
        let removed = before != l.len();
        if removed {
            self.update_limit(s);
        }
        removed
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

    /// MS-PNRP §3.2.5.2, peerlab choice: `t` lies inside the span from the farthest lower to the farthest
    /// upper member; a side with fewer than `side` members is unbounded.
    pub fn spans(&self, t: PnrpId) -> bool {
        if t == self.centre {
            return true;
        }
        // The limit's distance is the farthest member's when full; OPEN/SHUT give "room"/"never".
        self.centre.distance(t) <= self.limit[self.side_of(t).index()].0
    }

    /// The nearest member below and above, when both exist (for the size estimate, MS-PNRP §3.2.6.2.1).
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

    /// The definitions the cached limits stand for, straight from the member lists.
    fn naive_falls_within(l: &LeafSet, x: PnrpId) -> bool {
        let m = l.members(l.side_of(x));
        x != l.centre() && (m.len() < l.side || m.last().is_some_and(|far| l.centre().closer(x, far.id)))
    }

    fn naive_spans(l: &LeafSet, t: PnrpId) -> bool {
        let m = l.members(l.side_of(t));
        t == l.centre()
            || m.len() < l.side
            || m.last()
                .is_some_and(|far| l.centre().distance(t) <= l.centre().distance(far.id))
    }

    #[test]
    fn zero_sized_sides_admit_nothing() {
        let c = PnrpId::new(0, 1000);
        let mut l = LeafSet::new(c, 0);
        assert!(!l.falls_within(PnrpId::new(0, 1001)));
        assert!(!l.spans(PnrpId::new(0, 1001)));
        assert!(l.spans(c));
        assert!(l.insert(r(PnrpId::new(0, 1001))).is_none());
        assert!(l.is_empty());
    }

    #[test]
    fn would_change_sees_new_and_moved_members() {
        let c = PnrpId::new(0, 1000);
        let mut l = LeafSet::new(c, 2);
        let a = r(PnrpId::new(0, 1010));
        assert!(l.would_change(&a));
        l.insert(a.clone());
        assert!(!l.would_change(&a));
        let moved = RouteEntry::single(a.id, Endpoint::new(Ipv6Addr::LOCALHOST, 4001));
        assert!(l.would_change(&moved));
        assert!(!l.would_change(&r(c)));
    }

    #[test]
    fn the_farthest_member_moving_is_a_change_too() {
        // With one member per side every member is the farthest, which does not fall within its
        // own full side: a re-announcement from a new address must still need its CPA (the sweep
        // found cache copies re-pointed by plain admissions at leaf_set_side = 1).
        let c = PnrpId::new(0, 1000);
        let mut l = LeafSet::new(c, 1);
        let a = r(PnrpId::new(0, 1010));
        l.insert(a.clone());
        assert!(!l.falls_within(a.id));
        assert!(l.reaches(a.id) && l.window().reaches(a.id));
        assert!(!l.would_change(&a));
        let moved = RouteEntry::single(a.id, Endpoint::new(Ipv6Addr::LOCALHOST, 4001));
        assert!(l.would_change(&moved));
        // Farther than the member: neither within nor a member.
        assert!(!l.reaches(PnrpId::new(0, 1011)));
        assert!(!l.would_change(&r(PnrpId::new(0, 1011))));
        assert!(l.insert(moved.clone()).is_none());
        assert_eq!(l.members(Side::Above), [moved]);
    }

    proptest! {
        #[test]
        fn cached_limits_agree_with_the_member_lists(
            ops in proptest::collection::vec((any::<bool>(), 0u128..64, any::<bool>()), 0..120),
            side in 0usize..4,
        ) {
            // Small IDs around a centre near 0 exercise both sides, the wrap and the far half.
            let c = PnrpId::new(0, 32);
            let mut l = LeafSet::new(c, side);
            let id = |v: u128, wrap: bool| if wrap { PnrpId::new(u128::MAX, u128::MAX - v) } else { PnrpId::new(0, v) };
            for (insert, v, wrap) in ops {
                let x = id(v, wrap);
                if insert {
                    l.insert(r(x));
                } else {
                    l.remove(x);
                }
                for probe in 0..64 {
                    for w in [false, true] {
                        let p = id(probe, w);
                        prop_assert_eq!(l.falls_within(p), naive_falls_within(&l, p));
                        prop_assert_eq!(l.reaches(p), naive_falls_within(&l, p) || l.contains(p));
                        prop_assert_eq!(l.window().reaches(p), l.reaches(p));
                        prop_assert_eq!(l.spans(p), naive_spans(&l, p));
                    }
                }
                prop_assert_eq!(l.falls_within(PnrpId::new(1 << 127, 32)), naive_falls_within(&l, PnrpId::new(1 << 127, 32)));
            }
        }

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
