//! Invariant `graph_converged`: once the graph has been quiet for `[graphing] settle` (no record
//! operation, fault or membership change), every live member holds the same records, at the same
//! versions, as every member it is connected to (MS-PPGRH §1.3.5: flooding plus synchronization
//! keep every replica of the database equal).
//!
//! Records compared: application records (the workload's) whose expiration lies beyond a common
//! horizon (the latest member peer time plus `settle`), so a record expiring while the check runs
//! is not a false difference; tombstones are records like any other. Each member's view is folded
//! into a digest; members of one component whose digest differs from the component's most common
//! digest diverge. The same digests give the sampled *database divergence* figure.

use crate::fingerprint::Fingerprint;
use peerlab_engine::graphing::{Guid, PeerRecord, PeerTime};
use std::collections::BTreeMap;

/// Whether `r` takes part in the comparison at horizon `horizon`.
pub fn compared(r: &PeerRecord, horizon: PeerTime) -> bool {
    !r.is_internal() && r.expires > horizon
}

/// The digest of one member's compared records, given in id order.
pub fn db_digest<'a>(records: impl Iterator<Item = &'a PeerRecord>, horizon: PeerTime) -> Fingerprint {
    let mut fp = Fingerprint::default();
    for r in records.filter(|r| compared(r, horizon)) {
        let id = r.id.as_u128();
        fp.mix_all(&[
            (id >> 64) as u64,
            id as u64,
            r.version as u64 | (r.deleted as u64) << 32,
        ]);
    }
    fp
}

/// The members (indices into `labels`/`digests`) whose digest is not their component's most
/// common one (ties: the digest of the lowest member wins), by component.
pub fn diverged(labels: &[u32], digests: &[Fingerprint]) -> BTreeMap<u32, Vec<usize>> {
    let mut by_component: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (m, &c) in labels.iter().enumerate() {
        by_component.entry(c).or_default().push(m);
    }
    let mut out = BTreeMap::new();
    for (c, members) in by_component {
        if members.len() < 2 {
            continue;
        }
        // Most common digest; the first member listing it breaks ties (members are in order).
        let mut best: Option<(&Fingerprint, usize)> = None;
        for &m in &members {
            let d = &digests[m];
            let n = members.iter().filter(|&&o| digests[o] == *d).count();
            if best.is_none_or(|(_, bn)| n > bn) {
                best = Some((d, n));
            }
        }
        let Some((majority, _)) = best else { continue };
        let off: Vec<usize> = members.into_iter().filter(|&m| digests[m] != *majority).collect();
        if !off.is_empty() {
            out.insert(c, off);
        }
    }
    out
}

/// The first compared record on which two members differ, described for a violation's detail:
/// `(id, what a has, what b has)`.
pub fn first_difference<'a>(
    a: impl Iterator<Item = &'a PeerRecord>,
    b: impl Iterator<Item = &'a PeerRecord>,
    horizon: PeerTime,
) -> Option<(Guid, String, String)> {
    let show = |r: Option<&PeerRecord>| match r {
        None => "nothing".to_owned(),
        Some(r) => format!(
            "version {}{}",
            r.version,
            if r.deleted { " (deleted)" } else { "" }
        ),
    };
    let mut a = a.filter(|r| compared(r, horizon)).peekable();
    let mut b = b.filter(|r| compared(r, horizon)).peekable();
    loop {
        let (ra, rb) = match (a.peek(), b.peek()) {
            (None, None) => return None,
            (Some(x), Some(y)) if x.id == y.id => (a.next(), b.next()),
            (Some(x), Some(y)) if x.id < y.id => (a.next(), None),
            (Some(_), None) => (a.next(), None),
            _ => (None, b.next()),
        };
        let same = matches!((ra, rb), (Some(x), Some(y)) if x.version == y.version && x.deleted == y.deleted);
        if !same {
            let id = ra.or(rb).map(|r| r.id).unwrap_or_default();
            return Some((id, show(ra), show(rb)));
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An application record for tests.
    pub(crate) fn rec(id: u8, version: u32, expires: u64) -> PeerRecord {
        PeerRecord {
            record_type: Guid([0xa0; 16]),
            id: Guid([id; 16]),
            version,
            deleted: false,
            creator: "alice".into(),
            modified_by: String::new(),
            security_data: Vec::new(),
            created: PeerTime(1),
            expires: PeerTime(expires),
            modified: PeerTime(1),
            graph_id: "g".into(),
            payload: Vec::new(),
            attributes: String::new(),
            autorefresh: false,
        }
    }

    #[test]
    fn digests_ignore_internal_and_expiring_records() {
        let h = PeerTime(100);
        let a = [rec(1, 1, 500), rec(2, 3, 500)];
        let mut internal = rec(3, 9, 500);
        internal.record_type = peerlab_engine::graphing::PRESENCE_TYPE;
        let b = [rec(1, 1, 500), rec(2, 3, 500), internal, rec(4, 1, 90)];
        assert_eq!(db_digest(a.iter(), h), db_digest(b.iter(), h));
        let mut c = a.clone();
        c[1].deleted = true;
        assert_ne!(db_digest(a.iter(), h), db_digest(c.iter(), h));
        assert_eq!(first_difference(a.iter(), b.iter(), h), None);
        let d = first_difference(a.iter(), c.iter(), h).unwrap();
        assert_eq!(
            (d.0, d.1.as_str(), d.2.as_str()),
            (Guid([2; 16]), "version 3", "version 3 (deleted)")
        );
        let e = first_difference(a[..1].iter(), a.iter(), h).unwrap();
        assert_eq!((e.1.as_str(), e.2.as_str()), ("nothing", "version 3"));
    }

    #[test]
    fn the_minority_of_each_component_diverges() {
        let x = db_digest([rec(1, 1, 500)].iter(), PeerTime(0));
        let y = db_digest([rec(1, 2, 500)].iter(), PeerTime(0));
        let labels = [0, 0, 0, 1, 1, 2];
        let digests = [x.clone(), y.clone(), x.clone(), y.clone(), x.clone(), y.clone()];
        let d = diverged(&labels, &digests);
        // Component 0: x twice, y once; component 1: a tie, the lowest member's digest wins;
        // component 2: alone, nothing to compare.
        assert_eq!(d.get(&0), Some(&vec![1]));
        assert_eq!(d.get(&1), Some(&vec![4]));
        assert_eq!(d.get(&2), None);
    }
}
