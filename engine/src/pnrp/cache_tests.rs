//! Unit and property tests of the route cache (cache.rs).
use super::*;
use proptest::prelude::*;
use rand::SeedableRng;
use std::net::Ipv6Addr;

fn route(id: PnrpId) -> RouteEntry {
    RouteEntry::single(id, crate::Endpoint::new(Ipv6Addr::LOCALHOST, 3540))
}
fn rng() -> NodeRng {
    NodeRng::from_seed([7; 32])
}

#[test]
fn levels_shrink_tenfold() {
    let c = RouteCache::new(PnrpId::ZERO, 20, 24);
    assert_eq!(c.level_of(PnrpId::new(1 << 127, 0)), 0);
    // 2^256 / 10^1.5 ≈ d → level 1.
    let tenth = PnrpId::new(u128::MAX / 32, 0);
    assert_eq!(c.level_of(tenth), 1);
    assert_eq!(c.level_of(PnrpId::new(0, 1)), 23, "clamped to the last level");
    // Exactly at a threshold counts as the deeper level: d ≤ 2^256/10 ⇒ level ≥ 1.
    let t1 = thresholds(3)[0];
    assert_eq!(c.level_of(PnrpId::ZERO.wrapping_add(t1)), 1);
    assert_eq!(
        c.level_of(PnrpId::ZERO.wrapping_add(Distance {
            hi: t1.hi,
            lo: t1.lo + 1
        })),
        0
    );
}

#[test]
fn full_levels_evict_randomly_but_never_pinned() {
    let mut r = rng();
    let mut c = RouteCache::new(PnrpId::ZERO, 4, 8);
    let far = |k: u128| PnrpId::new((1 << 127) + k, 0);
    for k in 0..4 {
        c.insert(route(far(k)), None, Instant::ZERO, true, &mut r);
    }
    assert_eq!(
        c.insert(route(far(9)), None, Instant::ZERO, false, &mut r),
        Insert::Rejected
    );
    assert!(c.unpin(&far(0), &mut r).is_none());
    assert_eq!(
        c.insert(route(far(9)), None, Instant::ZERO, false, &mut r),
        Insert::Added {
            evicted: Some(far(0))
        }
    );
    assert_eq!(
        c.insert(route(far(9)), None, Instant::ZERO, false, &mut r),
        Insert::Replaced
    );
    c.check_invariants().unwrap();
}

#[test]
fn neighbours_wrap_round_the_ring() {
    let mut r = rng();
    let mut c = RouteCache::new(PnrpId::ZERO, 20, 8);
    for k in [10u128, 20, 30] {
        c.insert(route(PnrpId::new(0, k)), None, Instant::ZERO, false, &mut r);
    }
    assert_eq!(
        c.next_above(PnrpId::new(0, 30), 8, |_| true).unwrap().id,
        PnrpId::new(0, 10)
    );
    assert_eq!(
        c.next_below(PnrpId::new(0, 10), 8, |_| true).unwrap().id,
        PnrpId::new(0, 30)
    );
    assert_eq!(c.closest(PnrpId::new(0, 16)).unwrap().id, PnrpId::new(0, 20));
    assert_eq!(
        c.arc(PnrpId::new(0, 20), PnrpId::new(0, 10)),
        vec![PnrpId::new(0, 30), PnrpId::new(0, 10)]
    );
}

fn any_id() -> impl Strategy<Value = PnrpId> {
    // Cluster half of the IDs near the centre so that deep levels fill up too.
    prop_oneof![
        (any::<u128>(), any::<u128>()).prop_map(|(h, l)| PnrpId::new(h, l)),
        (any::<u64>(), any::<u128>()).prop_map(|(h, l)| PnrpId::new(h as u128, l)),
    ]
}

proptest! {
    #[test]
    fn invariants_and_closest_match_brute_force(
        ids in proptest::collection::vec(any_id(), 0..200),
        removals in proptest::collection::vec(any::<prop::sample::Index>(), 0..30),
        target in any_id(),
        centre in any_id(),
    ) {
        let mut r = rng();
        let own = centre;
        let mut c = RouteCache::new(own, 5, 12);
        for (i, id) in ids.iter().enumerate() {
            if *id != own {
                c.insert(route(*id), None, Instant::ZERO, i % 17 == 0, &mut r);
            }
        }
        let present: Vec<PnrpId> = c.ids().collect();
        for ix in &removals {
            if !present.is_empty() {
                c.remove(&present[ix.index(present.len())]);
            }
        }
        prop_assert!(c.check_invariants().is_ok(), "{:?}", c.check_invariants());
        prop_assert!(!c.contains(&own));
        let brute = c.ids().min_by_key(|x| (target.distance(*x), *x));
        prop_assert_eq!(c.closest(target).map(|r| r.id), brute);
        let walked: Vec<PnrpId> = c.walk_closest(target).map(|e| e.route.id).collect();
        let mut sorted: Vec<PnrpId> = c.ids().collect();
        sorted.sort_by_key(|x| (target.distance(*x), *x));
        prop_assert_eq!(walked, sorted);
        let moved = c.clone().recentre(target, &mut r);
        prop_assert!(moved.len() <= c.len());
    }
}

proptest! {
    /// Caches larger than `LINEAR_MAX` search by bisection; both searches must agree with a sort.
    #[test]
    fn large_caches_search_like_small_ones(
        ids in proptest::collection::vec(any_id(), 100..400),
        probes in proptest::collection::vec(any_id(), 1..20),
    ) {
        let mut r = rng();
        let mut c = RouteCache::new(PnrpId::ZERO, 1000, 4);
        for id in &ids {
            c.insert(route(*id), None, Instant::ZERO, false, &mut r);
        }
        prop_assert!(c.check_invariants().is_ok(), "{:?}", c.check_invariants());
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        prop_assert!(c.ids().eq(sorted.iter().copied()));
        for p in probes.iter().chain(ids.iter().take(20)) {
            prop_assert_eq!(c.get(p).map(|e| e.route.id), sorted.binary_search(p).ok().map(|_| *p));
            let above = sorted.iter().find(|i| *i > p).or(sorted.first()).copied();
            prop_assert_eq!(c.next_above(*p, usize::MAX, |_| true).map(|r| r.id), above.filter(|a| a != p));
            let brute = sorted.iter().copied().min_by_key(|x| (p.distance(*x), *x));
            prop_assert_eq!(c.closest(*p).map(|r| r.id), brute);
        }
        for id in ids.iter().take(50) {
            c.remove(id);
        }
        prop_assert!(c.check_invariants().is_ok(), "{:?}", c.check_invariants());
    }
}
