//! Hash-based synchronization (MS-PPGRH §3.1.7.31, §3.1.5.2.7-9): the initiator cuts its database,
//! sorted by (last modification, record id), into ranges of 10 and sends each range's MD5 with its
//! upper bound; the responder advertises the ranges whose hash differs on its side with its
//! records in them; the initiator requests what it lacks and sends what the responder lacks.
//!
//! peerlab's readings of the open points:
//! - the hash input is each record's 16-byte id then its version as a big-endian u32, in sort
//!   order (MS-PPGRH §3.1.7.31 names the fields, not their encoding);
//! - range membership is a lexicographic comparison of (modification time, id) tuples: range i
//!   holds the keys in `(upper[i−1], upper[i]]` (the printed test compares the fields separately
//!   and reads `ModificationTime <= ModificationTimeMIN`, a typo);
//! - the last range is open upward, so records newer than the initiator's newest still fall in a
//!   range and get advertised;
//! - an empty database sends one sentinel range (the MD5 of nothing, upper bound (0, nil)), since
//!   the Hash Count must be nonzero; open upward, it covers the responder's whole database;
//! - an advertised range's lower bound is the successor of the previous upper bound (or the
//!   minimum key), so HASH_ENTRY_BOUNDARY bounds are inclusive on both ends.

use crate::graphing::{Advertise, Guid, HashBoundary, HashInfo, PeerRecord, PeerTime, RecordAbstract};
use md5::{Digest, Md5};
use std::collections::{BTreeMap, BTreeSet};

/// Records per range (MS-PPGRH §3.1.7.31).
pub const RANGE_SIZE: usize = 10;

/// A record's place in the sync order: last modification time, then record id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct SyncKey {
    /// Last modification time.
    pub modified: PeerTime,
    /// Record id.
    pub id: Guid,
}

impl SyncKey {
    /// The smallest key.
    pub const MIN: SyncKey = SyncKey {
        modified: PeerTime(0),
        id: Guid::NIL,
    };
    /// The largest key.
    pub const MAX: SyncKey = SyncKey {
        modified: PeerTime(u64::MAX),
        id: Guid([0xFF; 16]),
    };

    /// The next key in order (saturating at [`SyncKey::MAX`]).
    pub fn successor(self) -> SyncKey {
        match self.id.as_u128().checked_add(1) {
            Some(id) => SyncKey {
                modified: self.modified,
                id: Guid(id.to_be_bytes()),
            },
            None if self.modified.0 < u64::MAX => SyncKey {
                modified: PeerTime(self.modified.0 + 1),
                id: Guid::NIL,
            },
            None => self,
        }
    }
}

/// What hash sync needs of a record: its key and version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SyncEntry {
    /// Sort key.
    pub key: SyncKey,
    /// Record version.
    pub version: u32,
}

/// The database in sync order, tombstones included, records expired at `now` excluded
/// (MS-PPGRH §3.1.7.31: the database holds only unexpired records).
pub fn sync_entries<'a>(records: impl IntoIterator<Item = &'a PeerRecord>, now: PeerTime) -> Vec<SyncEntry> {
    let mut entries: Vec<SyncEntry> = records
        .into_iter()
        .filter(|r| r.expires > now)
        .map(|r| SyncEntry {
            key: SyncKey {
                modified: r.modified,
                id: r.id,
            },
            version: r.version,
        })
        .collect();
    entries.sort_unstable();
    entries
}

/// MD5 over the entries' ids and big-endian versions, in order (MS-PPGRH §3.1.7.31).
pub fn range_hash(entries: &[SyncEntry]) -> [u8; 16] {
    let mut md5 = Md5::new();
    for e in entries {
        md5.update(e.key.id.0);
        md5.update(e.version.to_be_bytes());
    }
    md5.finalize().into()
}

/// The initiator's SOLICIT_HASH ranges over `entries` (sorted): one HASH_INFO_ENTRY per 10
/// records with the range's hash and upper bound, or the sentinel for an empty database.
pub fn solicit_ranges(entries: &[SyncEntry]) -> Vec<HashInfo> {
    if entries.is_empty() {
        return vec![HashInfo {
            hash: range_hash(&[]),
            modified: PeerTime(0),
            id: Guid::NIL,
        }];
    }
    entries
        .chunks(RANGE_SIZE)
        .map(|chunk| {
            let upper = chunk[chunk.len() - 1].key;
            HashInfo {
                hash: range_hash(chunk),
                modified: upper.modified,
                id: upper.id,
            }
        })
        .collect()
}

/// The responder's ADVERTISE (MS-PPGRH §3.1.5.2.7): for each received range whose hash differs
/// over `entries` (its own, sorted), the range's bounds and its record count, and an abstract of
/// each of its records in the range. Linear in the database plus the ranges (hostile bounds that
/// are not ascending give empty ranges, never extra work).
pub fn advertise(entries: &[SyncEntry], ranges: &[HashInfo]) -> Advertise {
    let mut out = Advertise {
        boundaries: Vec::new(),
        abstracts: Vec::new(),
    };
    let mut start = 0;
    let mut low = SyncKey::MIN;
    for (i, range) in ranges.iter().enumerate() {
        let upper = SyncKey {
            modified: range.modified,
            id: range.id,
        };
        let last = i + 1 == ranges.len();
        let high = if last { SyncKey::MAX } else { upper };
        let end = if last {
            entries.len()
        } else {
            start + entries[start..].partition_point(|e| e.key <= high)
        };
        let members = &entries[start..end];
        if range_hash(members) != range.hash {
            out.boundaries.push(HashBoundary {
                low_modified: low.modified,
                low_id: low.id,
                high_modified: high.modified,
                high_id: high.id,
                count: members.len() as u32,
            });
            out.abstracts.extend(members.iter().map(|e| RecordAbstract {
                id: e.key.id,
                version: e.version,
            }));
        }
        start = end;
        low = low.max(upper.successor());
    }
    out
}

/// The initiator's lists after an ADVERTISE (MS-PPGRH §3.1.5.2.8).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HashDiff {
    /// Records to request: advertised ids missing locally or newer there (the version wanted).
    pub request: Vec<RecordAbstract>,
    /// Records to send after the responder's SYNC_END: local records inside an advertised range
    /// that the advertisement lacks or holds at a lower version, in sync order.
    pub send: Vec<Guid>,
}

/// Computes [`HashDiff`] from the initiator's `entries` (sorted) and the ADVERTISE. Abstracts are
/// matched by id across the whole advertisement, since a record's two copies may sit in
/// different ranges when their modification times differ.
pub fn diff(entries: &[SyncEntry], advertised: &Advertise) -> HashDiff {
    let local: BTreeMap<Guid, u32> = entries.iter().map(|e| (e.key.id, e.version)).collect();
    let mut remote: BTreeMap<Guid, u32> = BTreeMap::new();
    for a in &advertised.abstracts {
        let v = remote.entry(a.id).or_insert(a.version);
        *v = (*v).max(a.version);
    }
    let request = remote
        .iter()
        .filter(|&(id, &v)| local.get(id).is_none_or(|&mine| mine < v))
        .map(|(&id, &version)| RecordAbstract { id, version })
        .collect();
    // Index intervals of the advertised ranges, merged so overlapping bounds cost nothing extra.
    let mut spans: Vec<(usize, usize)> = advertised
        .boundaries
        .iter()
        .map(|b| {
            let low = SyncKey {
                modified: b.low_modified,
                id: b.low_id,
            };
            let high = SyncKey {
                modified: b.high_modified,
                id: b.high_id,
            };
            (
                entries.partition_point(|e| e.key < low),
                entries.partition_point(|e| e.key <= high),
            )
        })
        .filter(|(s, e)| s < e)
        .collect();
    spans.sort_unstable();
    let mut send = Vec::new();
    let mut seen = BTreeSet::new();
    let mut done = 0;
    for (s, e) in spans {
        for entry in &entries[s.max(done)..e.max(done)] {
            let id = entry.key.id;
            if remote.get(&id).is_none_or(|&theirs| entry.version > theirs) && seen.insert(id) {
                send.push(id);
            }
        }
        done = done.max(e);
    }
    HashDiff { request, send }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(n: u8) -> Guid {
        let mut g = [0u8; 16];
        g[15] = n;
        g[0] = n % 3; // ids that do not sort like their numbers
        Guid(g)
    }

    /// A database: id number → version; the modification time follows from (id, version).
    type Db = BTreeMap<u8, u32>;

    fn entries(db: &Db) -> Vec<SyncEntry> {
        let mut v: Vec<SyncEntry> = db
            .iter()
            .map(|(&n, &version)| SyncEntry {
                key: SyncKey {
                    modified: PeerTime(u64::from(version) * 1_000 + u64::from(n % 7)),
                    id: id(n),
                },
                version,
            })
            .collect();
        v.sort_unstable();
        v
    }

    fn number(g: Guid) -> u8 {
        g.0[15]
    }

    /// Runs one hash sync between initiator `a` and responder `b`; returns the diff.
    fn sync(a: &mut Db, b: &mut Db) -> HashDiff {
        let (ea, eb) = (entries(a), entries(b));
        let adv = advertise(&eb, &solicit_ranges(&ea));
        let d = diff(&ea, &adv);
        // The responder floods what was requested (at the version it holds) ...
        for want in &d.request {
            let n = number(want.id);
            let have = b[&n];
            assert_eq!(have, want.version, "requests name the advertised version");
            let mine = a.entry(n).or_insert(0);
            *mine = (*mine).max(have);
        }
        // ... then the initiator floods its records to send.
        for g in &d.send {
            let n = number(*g);
            let v = a[&n];
            let theirs = b.entry(n).or_insert(0);
            *theirs = (*theirs).max(v);
        }
        d
    }

    #[test]
    fn identical_databases_advertise_nothing() {
        let db: Db = (0..35).map(|n| (n, 1 + u32::from(n % 4))).collect();
        let e = entries(&db);
        let ranges = solicit_ranges(&e);
        assert_eq!(ranges.len(), 4);
        assert_eq!(
            (ranges[0].modified, ranges[0].id),
            (e[9].key.modified, e[9].key.id)
        );
        let adv = advertise(&e, &ranges);
        assert!(adv.boundaries.is_empty() && adv.abstracts.is_empty());
        assert_eq!(diff(&e, &adv), HashDiff::default());
    }

    #[test]
    fn an_empty_initiator_gets_everything_through_the_sentinel() {
        let ranges = solicit_ranges(&[]);
        assert_eq!(ranges.len(), 1);
        let b: Db = (0..25).map(|n| (n, 1)).collect();
        let adv = advertise(&entries(&b), &ranges);
        assert_eq!(adv.boundaries.len(), 1);
        assert_eq!(adv.boundaries[0].count, 25);
        assert_eq!(adv.abstracts.len(), 25);
        let mut a = Db::new();
        let mut b2 = b.clone();
        let d = sync(&mut a, &mut b2);
        assert_eq!((d.request.len(), d.send.len()), (25, 0));
        assert_eq!(a, b);
    }

    #[test]
    fn one_changed_record_costs_one_or_two_ranges() {
        let base: Db = (0..50).map(|n| (n, 1)).collect();
        let mut a = base.clone();
        let mut b = base;
        b.insert(17, 2); // newer on the responder: moves to the top of the order (open range)
        a.insert(60, 1); // only on the initiator
        let adv = advertise(&entries(&b), &solicit_ranges(&entries(&a)));
        assert!(adv.boundaries.len() <= 3, "{:?}", adv.boundaries);
        let d = sync(&mut a, &mut b);
        assert_eq!(
            d.request,
            vec![RecordAbstract {
                id: id(17),
                version: 2
            }]
        );
        assert_eq!(d.send, vec![id(60)]);
        assert_eq!(a, b);
    }

    #[test]
    fn successor_carries_into_the_time() {
        let k = SyncKey {
            modified: PeerTime(5),
            id: Guid([0xFF; 16]),
        };
        assert_eq!(
            k.successor(),
            SyncKey {
                modified: PeerTime(6),
                id: Guid::NIL
            }
        );
        assert_eq!(SyncKey::MAX.successor(), SyncKey::MAX);
        let k = SyncKey {
            modified: PeerTime(5),
            id: Guid::NIL,
        };
        assert_eq!(k.successor().id.as_u128(), 1);
    }

    #[test]
    fn hostile_bounds_cost_no_extra_work() {
        let db: Db = (0..30).map(|n| (n, 1)).collect();
        let e = entries(&db);
        let mut ranges = solicit_ranges(&e);
        ranges.reverse();
        let adv = advertise(&e, &ranges);
        // Descending bounds leave the early ranges empty; each record is advertised at most once.
        assert!(adv.abstracts.len() <= e.len());
        let mut everything = adv.clone();
        everything.boundaries.extend(adv.boundaries.iter().copied());
        let d = diff(&e, &everything);
        let unique: BTreeSet<_> = d.send.iter().collect();
        assert_eq!(unique.len(), d.send.len());
    }

    fn db_pair() -> impl Strategy<Value = (Db, Db)> {
        prop::collection::btree_map(
            0u8..120,
            (prop::option::of(1u32..4), prop::option::of(1u32..4)),
            0..90,
        )
        .prop_map(|m| {
            let mut a = Db::new();
            let mut b = Db::new();
            for (n, (va, vb)) in m {
                if let Some(v) = va {
                    a.insert(n, v);
                }
                if let Some(v) = vb {
                    b.insert(n, v);
                }
            }
            (a, b)
        })
    }

    proptest! {
        #[test]
        fn one_exchange_leaves_both_with_the_union_winners((mut a, mut b) in db_pair()) {
            let mut winners = a.clone();
            for (&n, &v) in &b {
                let w = winners.entry(n).or_insert(v);
                *w = (*w).max(v);
            }
            let differing = winners.iter().filter(|&(n, v)| a.get(n) != Some(v) || b.get(n) != Some(v)).count();
            let d = sync(&mut a, &mut b);
            prop_assert_eq!(&a, &winners);
            prop_assert_eq!(&b, &winners);
            // Exactly the differing records move, each once.
            prop_assert_eq!(d.request.len() + d.send.len(), differing);
        }
    }
}
