//! Records in motion (MS-PPGRH §3.1.4.3-5, §3.1.5.2.10, §3.1.7.8-10, §3.1.7.28, §3.1.7.32-33):
//! publishing, updating and deleting; receiving a FLOOD, classifying it against the local copy,
//! flooding it on, answering an older copy with the newer one; ACKs and link utility.

use super::security::Validity;
use super::GraphNode;
use crate::graphing::rules::validate::{
    create_app_record, delete_app_record, update_app_record, validate_received, PublishContext,
    ReceiveContext, RecordContent,
};
use crate::graphing::{validate_attributes, AckEntry, Freshness, GraphError, GraphEvent, Guid, Message, PeerRecord};
use crate::{ConnId, Duration, Instant};

fn attributes_ok(text: &str) -> bool {
    validate_attributes(text).is_ok()
}

impl GraphNode {
    /// The publisher's context at `now`.
    fn publish_context(&self, now: Instant) -> PublishContext<'_> {
        PublishContext {
            peer_id: &self.cfg.peer_id,
            graph_id: &self.cfg.graph_id,
            max_record_size: self.internal.max_record_size,
            now: self.peer_time(now),
        }
    }

    /// A new application record (MS-PPGRH §3.1.4.3).
    pub(super) fn publish_app(
        &mut self,
        now: Instant,
        record_type: Guid,
        payload: Vec<u8>,
        attributes: String,
        lifetime: Duration,
    ) -> Result<Guid, GraphError> {
        let expires = self.peer_time(now).plus(lifetime);
        let content = RecordContent {
            payload,
            attributes,
            expires,
        };
        let ctx = PublishContext {
            peer_id: &self.cfg.peer_id,
            graph_id: &self.cfg.graph_id,
            max_record_size: self.internal.max_record_size,
            now: self.peer_time(now),
        };
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
        let expires = self.peer_time(now).plus(lifetime);
        let content = RecordContent {
            payload,
            attributes,
            expires,
        };
        let record = update_app_record(self.db.get(&id), content, &self.publish_context(now), attributes_ok)?;
        self.publish(now, record)
    }

    /// A delete: a versioned tombstone (MS-PPGRH §3.1.4.5, §3.1.7.9).
    pub(super) fn delete_app(&mut self, now: Instant, id: Guid) -> Result<Guid, GraphError> {
        let record = delete_app_record(self.db.get(&id), &self.publish_context(now))?;
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
    pub(super) fn on_flood(&mut self, now: Instant, conn: ConnId, record: PeerRecord) {
        self.stats.floods_received += 1;
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
        let Some(c) = self.conns.get_mut(&conn) else { return };
        c.touch_utility(useful);
        self.send(conn, Message::Ack(Box::new(vec![AckEntry { id, useful }])));
    }

    /// An ACK: each entry updates the link's utility (MS-PPGRH §3.1.5.2.13, §3.1.7.33).
    pub(super) fn on_ack(&mut self, conn: ConnId, entries: &[AckEntry]) {
        let Some(c) = self.conns.get_mut(&conn) else { return };
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
