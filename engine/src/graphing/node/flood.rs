//! Records in motion (MS-PPGRH §3.1.4.3-5, §3.1.5.2.10, §3.1.7.8-10, §3.1.7.28, §3.1.7.32-33):
//! publishing, updating and deleting; receiving a FLOOD, classifying it against the local copy,
//! flooding it on, answering an older copy with the newer one; ACKs and link utility.

use super::security::Validity;
use super::GraphNode;
use crate::graphing::rules::publish::{
    create_app_record, delete_app_record, update_app_record, PublishContext, RecordContent,
};
use crate::graphing::rules::validate::{validate_received, ReceiveContext};
use crate::graphing::{
    validate_attributes, AckEntry, Freshness, GraphConfig, GraphError, GraphEvent, Guid, Message, PeerRecord,
    PeerTime,
};
use crate::{ConnId, Duration, Instant};

fn attributes_ok(text: &str) -> bool {
    validate_attributes(text).is_ok()
}

/// What the publishing rules need of the publisher (built from fields, so the node's rng can be
/// borrowed beside it).
pub(super) fn publish_context(cfg: &GraphConfig, max_record_size: u32, now: PeerTime) -> PublishContext<'_> {
    PublishContext {
        peer_id: &cfg.peer_id,
        graph_id: &cfg.graph_id,
        max_record_size,
        now,
    }
}

/// What an application gives for a record, its lifetime counted from peer time `now`.
fn content(payload: Vec<u8>, attributes: String, now: PeerTime, lifetime: Duration) -> RecordContent {
    RecordContent {
        payload,
        attributes,
        expires: now.plus(lifetime),
    }
}

impl GraphNode {
    /// A new application record (MS-PPGRH §3.1.4.3).
    pub(super) fn publish_app(
        &mut self,
        now: Instant,
        record_type: Guid,
        payload: Vec<u8>,
        attributes: String,
        lifetime: Duration,
    ) -> Result<Guid, GraphError> {
        let pt = self.peer_time(now);
        let ctx = publish_context(&self.cfg, self.internal.max_record_size, pt);
        let content = content(payload, attributes, pt, lifetime);
        let record = create_app_record(record_type, content, &ctx, &mut self.rng, attributes_ok)?;
        self.publish(now, record)
    }

    /// An update of an application record (MS-PPGRH §3.1.4.4).
    pub(super) fn update_app(
        &mut self,
        now: Instant,
        id: Guid,
        payload: Vec<u8>,
        attributes: String,
        lifetime: Duration,
    ) -> Result<Guid, GraphError> {
        let pt = self.peer_time(now);
        let ctx = publish_context(&self.cfg, self.internal.max_record_size, pt);
        let record = update_app_record(
            self.db.get(&id),
            content(payload, attributes, pt, lifetime),
            &ctx,
            attributes_ok,
        )?;
        self.publish(now, record)
    }

    /// A delete: a versioned tombstone (MS-PPGRH §3.1.4.5, §3.1.7.9).
    pub(super) fn delete_app(&mut self, now: Instant, id: Guid) -> Result<Guid, GraphError> {
        let ctx = publish_context(&self.cfg, self.internal.max_record_size, self.peer_time(now));
        let record = delete_app_record(self.db.get(&id), &ctx)?;
        self.publish(now, record)
    }

    /// Signs, stores and floods one of this node's records to every neighbor (MS-PPGRH §3.1.7.3).
    pub(super) fn publish(&mut self, now: Instant, mut record: PeerRecord) -> Result<Guid, GraphError> {
        if !self.security.sign(&mut record) {
            return Err(GraphError::SecurityRefused);
        }
        self.stats.publications += 1;
        let id = record.id;
        self.store(now, record, None);
        Ok(id)
    }

    /// Stores a record that won (or was published here), runs its type's hooks, re-arms the
    /// timers and floods it to every neighbor but `from` (MS-PPGRH §3.1.7.10).
    pub(super) fn store(&mut self, now: Instant, record: PeerRecord, from: Option<ConnId>) {
        if !record.is_internal() {
            self.emit(GraphEvent::RecordChanged {
                record_type: record.record_type,
                id: record.id,
                version: record.version,
                deleted: record.deleted,
            });
        }
        for conn in self.neighbor_conns() {
            if Some(conn) != from {
                self.send(conn, Message::Flood(Box::new(record.clone())));
            }
        }
        self.schedule_expiry(now, record.expires);
        if record.autorefresh {
            self.schedule_autorefresh(now, record.expires);
        }
        let stored = record.clone();
        self.db.insert(record);
        self.after_store(now, &stored);
    }

    /// A FLOOD on a CONNECTED neighbor link (MS-PPGRH §3.1.5.2.10, §3.1.7.27).
    pub(super) fn on_flood(&mut self, now: Instant, conn: ConnId, mut record: PeerRecord) {
        self.stats.floods_received += 1;
        // Autorefresh is the publisher's local flag, never on the wire (MS-PPGRH §2.2.1.9): a
        // typed copy must not make this node refresh someone else's record.
        record.autorefresh = false;
        let ctx = ReceiveContext {
            graph_id: &self.cfg.graph_id,
            max_record_size: self.internal.max_record_size,
            now: self.peer_time(now),
            expired_on_arrival: self.cfg.expired_on_arrival,
        };
        // A record that fails the structural checks is dropped silently; the link stays up.
        if validate_received(&record, &ctx, attributes_ok).is_err() {
            self.stats.floods_invalid += 1;
            return;
        }
        match self.security.validate(&record) {
            Validity::Valid => self.accept(now, conn, record),
            Validity::Invalid => self.stats.floods_rejected += 1,
            Validity::Defer => {
                self.stats.floods_deferred += 1;
                self.deferred.push((conn, record));
            }
        }
    }

    /// Runs the records the security provider deferred through it again (MS-PPGRH §3.1.7.2):
    /// Grouping calls this once the record they depended on has arrived.
    pub fn retry_deferred(&mut self, now: Instant) {
        for (conn, record) in std::mem::take(&mut self.deferred) {
            match self.security.validate(&record) {
                Validity::Valid => self.accept(now, conn, record),
                Validity::Invalid => self.stats.floods_rejected += 1,
                Validity::Defer => self.deferred.push((conn, record)),
            }
        }
    }

    /// Classifies a valid record against the local copy (MS-PPGRH §3.1.7.32), acts on the class
    /// and ACKs it, updating the link's utility (MS-PPGRH §3.1.7.33).
    fn accept(&mut self, now: Instant, conn: ConnId, record: PeerRecord) {
        let id = record.id;
        let class = match self.db.get(&id) {
            None => Freshness::New,
            Some(local) => record.freshness_against(local),
        };
        let useful = class == Freshness::New;
        match class {
            Freshness::New => {
                self.stats.floods_new += 1;
                self.store(now, record, Some(conn));
            }
            Freshness::Present => self.stats.duplicates += 1,
            Freshness::Old => {
                // The sender holds an older copy: send it the winner (a built-in repair).
                self.stats.floods_old += 1;
                if let Some(local) = self.db.get(&id).cloned() {
                    self.send(conn, Message::Flood(Box::new(local)));
                }
            }
        }
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.touch_utility(useful);
        self.send(conn, Message::Ack(Box::new(vec![AckEntry { id, useful }])));
    }

    /// An ACK: each entry updates the link's utility (MS-PPGRH §3.1.5.2.13, §3.1.7.33).
    pub(super) fn on_ack(&mut self, conn: ConnId, entries: &[AckEntry]) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        for e in entries {
            c.touch_utility(e.useful);
            if e.useful {
                self.stats.acks_useful += 1;
            } else {
                self.stats.acks_useless += 1;
            }
        }
    }
}
