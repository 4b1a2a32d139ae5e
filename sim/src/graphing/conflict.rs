//! Invariant `conflict_winner`: every member settles on the copy MS-PPGRH §3.1.7.32's order
//! picks. The oracle keeps the last copy each member published of each record; once the graph has
//! settled, a member holding a copy that loses (`conflict_order` Less) to a copy published by a live
//! member of its own component has kept a loser, whatever its neighbors agree on.

use super::convergence::compared;
use peerlab_engine::graphing::{conflict_order, Guid, PeerRecord, PeerTime};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// The copies members published, latest per (record, publisher).
#[derive(Debug, Default)]
pub struct PublishedCopies {
    by_id: BTreeMap<Guid, Vec<(u32, PeerRecord)>>,
}

impl PublishedCopies {
    /// Member `publisher` published (added, updated or deleted) `copy`.
    pub fn note(&mut self, publisher: u32, copy: PeerRecord) {
        let copies = self.by_id.entry(copy.id).or_default();
        match copies.iter_mut().find(|(p, _)| *p == publisher) {
            Some(slot) => slot.1 = copy,
            None => copies.push((publisher, copy)),
        }
    }

    /// Records with a published copy, in id order.
    pub fn ids(&self) -> impl Iterator<Item = &Guid> {
        self.by_id.keys()
    }

    /// Records published.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when nothing was published.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// A copy of `held.id` published by a member `live_peer` accepts that beats `held`, if any
    /// (copies expiring before `horizon` are not judged).
    pub fn beating(
        &self,
        held: &PeerRecord,
        horizon: PeerTime,
        live_peer: impl Fn(u32) -> bool,
    ) -> Option<(u32, &PeerRecord)> {
        self.by_id.get(&held.id)?.iter().find_map(|(p, c)| {
            (conflict_order(held, c) == Ordering::Less && compared(c, horizon) && live_peer(*p))
                .then_some((*p, c))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graphing::convergence::tests::rec;

    #[test]
    fn a_loser_is_found_among_live_publishers_only() {
        let mut p = PublishedCopies::default();
        let v1 = rec(1, 1, 500);
        let mut bob = rec(1, 2, 500);
        bob.modified_by = "bob".into();
        let mut carol = bob.clone();
        carol.modified_by = "carol".into();
        p.note(0, v1.clone());
        p.note(1, bob.clone());
        p.note(2, carol.clone());
        let h = PeerTime(100);
        // Bob's version 2 loses to Carol's (higher modifier id, MS-PPGRH §3.1.7.32).
        assert_eq!(p.beating(&bob, h, |_| true).map(|(m, _)| m), Some(2));
        assert_eq!(p.beating(&carol, h, |_| true), None);
        // Carol offline: Bob's copy beats every live publisher's.
        assert_eq!(p.beating(&bob, h, |m| m != 2), None);
        assert_eq!(p.beating(&v1, h, |m| m == 0), None);
        // A copy past the horizon is not judged.
        assert_eq!(p.beating(&bob, PeerTime(600), |_| true), None);
        // The latest copy per publisher replaces the earlier one.
        let mut carol3 = carol.clone();
        carol3.version = 3;
        p.note(2, carol3);
        assert_eq!(p.len(), 1);
        assert_eq!(p.beating(&carol, h, |_| true).map(|(_, c)| c.version), Some(3));
    }
}
