//! A node's replica of the graph database (MS-PPGRH §3.1.1): every record that has not expired,
//! tombstones included, keyed by record id, with the orders the protocol walks it in.

use crate::graphing::{Guid, PeerRecord, PeerTime, TypeFilter};
use std::collections::{BTreeMap, BTreeSet};

/// The records of one graph and three ordered indexes over them.
#[derive(Debug, Default)]
pub(super) struct Db {
    records: BTreeMap<Guid, PeerRecord>,
    /// (type, last-modified, id): the order sync responders stream in (peerlab choice: a
    /// deterministic order where MS-PPGRH §3.1.5.2.11 leaves it free).
    by_type: BTreeSet<(Guid, PeerTime, Guid)>,
    /// (expiration, id): the expiration scan (MS-PPGRH §3.1.6.7).
    by_expiry: BTreeSet<(PeerTime, Guid)>,
}

impl Db {
    /// The record with id `id`, tombstone or not.
    pub(super) fn get(&self, id: &Guid) -> Option<&PeerRecord> {
        self.records.get(id)
    }

    /// Stores `record`, replacing any copy with the same id; returns the replaced copy.
    pub(super) fn insert(&mut self, record: PeerRecord) -> Option<PeerRecord> {
        let old = self.remove(&record.id);
        self.by_type
            .insert((record.record_type, record.modified, record.id));
        self.by_expiry.insert((record.expires, record.id));
        self.records.insert(record.id, record);
        old
    }

    /// Removes the record with id `id`.
    pub(super) fn remove(&mut self, id: &Guid) -> Option<PeerRecord> {
        let r = self.records.remove(id)?;
        self.by_type.remove(&(r.record_type, r.modified, r.id));
        self.by_expiry.remove(&(r.expires, r.id));
        Some(r)
    }

    /// Every record in id order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &PeerRecord> + '_ {
        self.records.values()
    }

    /// Records a solicitation asks for (MS-PPGRH §3.1.5.2.5-6): those `filter` admits, modified at
    /// or after `since`, not expired at `now`, in (type, last-modified, id) order.
    pub(super) fn solicited<'a>(
        &'a self,
        filter: &'a TypeFilter,
        since: PeerTime,
        now: PeerTime,
    ) -> impl Iterator<Item = &'a PeerRecord> + 'a {
        self.by_type
            .iter()
            .filter(move |(t, m, _)| {
                *m >= since
                    && (filter.include.is_empty() || filter.include.contains(t))
                    && !filter.exclude.contains(t)
            })
            .map(|(_, _, id)| &self.records[id])
            .filter(move |r| r.expires > now)
    }

    /// Ids of the records whose expiration is at or before `now`, earliest first.
    pub(super) fn expired(&self, now: PeerTime) -> Vec<Guid> {
        self.by_expiry
            .iter()
            .take_while(|(e, _)| *e <= now)
            .map(|(_, id)| *id)
            .collect()
    }

    /// The earliest expiration in the database.
    pub(super) fn next_expiry(&self) -> Option<PeerTime> {
        self.by_expiry.first().map(|(e, _)| *e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graphing::{GRAPH_INFO_TYPE, PRESENCE_TYPE};

    fn rec(t: Guid, id: u8, modified: u64, expires: u64) -> PeerRecord {
        let mut g = [0u8; 16];
        g[15] = id;
        PeerRecord {
            record_type: t,
            id: Guid(g),
            version: 1,
            deleted: false,
            creator: "alice".into(),
            modified_by: String::new(),
            security_data: vec![],
            created: PeerTime(modified),
            expires: PeerTime(expires),
            modified: PeerTime(modified),
            graph_id: "g".into(),
            payload: vec![],
            attributes: String::new(),
            autorefresh: false,
        }
    }

    #[test]
    fn indexes_follow_replacements_and_orders() {
        let mut db = Db::default();
        db.insert(rec(PRESENCE_TYPE, 1, 30, 100));
        db.insert(rec(GRAPH_INFO_TYPE, 2, 50, 200));
        db.insert(rec(PRESENCE_TYPE, 3, 10, 300));
        // Replacing moves the record in every index.
        let mut newer = rec(PRESENCE_TYPE, 1, 40, 400);
        newer.version = 2;
        assert_eq!(db.insert(newer).map(|r| r.version), Some(1));
        assert_eq!(db.iter().count(), 3);
        let ids = |v: Vec<&PeerRecord>| v.iter().map(|r| r.id.0[15]).collect::<Vec<_>>();
        let all = TypeFilter::default();
        assert_eq!(
            ids(db.solicited(&all, PeerTime(0), PeerTime(0)).collect()),
            [2, 3, 1]
        );
        let only_info = TypeFilter {
            include: vec![GRAPH_INFO_TYPE],
            exclude: vec![],
        };
        assert_eq!(
            ids(db.solicited(&only_info, PeerTime(0), PeerTime(0)).collect()),
            [2]
        );
        let not_info = TypeFilter {
            include: vec![],
            exclude: vec![GRAPH_INFO_TYPE],
        };
        assert_eq!(
            ids(db.solicited(&not_info, PeerTime(20), PeerTime(0)).collect()),
            [1]
        );
        assert_eq!(db.next_expiry(), Some(PeerTime(200)));
        assert_eq!(db.expired(PeerTime(300)).len(), 2);
        db.remove(&rec(GRAPH_INFO_TYPE, 2, 0, 0).id);
        assert_eq!(db.next_expiry(), Some(PeerTime(300)));
    }
}
