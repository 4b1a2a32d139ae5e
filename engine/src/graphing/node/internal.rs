//! The graph's own records (MS-PPGRH §2.2.3, §3.1.7.4-7): Graph Info, Signature, Contact and
//! Presence, published by this node with their lifetimes and autorefresh, and the lists the node
//! keeps from the copies it holds (contacts, presence, the graph's limits).

use super::flood::publish_context;
use super::GraphNode;
use crate::graphing::payloads::PRESENCE_ALL;
use crate::graphing::rules::contacts::contact_record;
use crate::graphing::rules::presence::presence_record;
use crate::graphing::rules::publish::{publish_internal, tombstone, InternalRecord};
use crate::graphing::rules::signature::{signature_record, SignatureView};
use crate::graphing::{
    ContactPayload, GraphConfig, GraphInfo, Guid, PeerRecord, PresencePayload, Scope, SignaturePayload,
    CONTACT_TYPE, GRAPH_INFO_ID, GRAPH_INFO_TYPE, PRESENCE_TYPE, SIGNATURE_ID, SIGNATURE_TYPE,
};
use crate::{Duration, Endpoint, Instant};
use std::collections::{BTreeMap, BTreeSet};

/// Graph Info lifetime (MS-PPGRH §3.1.7.7).
const GRAPH_INFO_LIFETIME: Duration = Duration::from_secs(300);

/// What the node derives from the internal records it holds.
#[derive(Debug)]
pub(super) struct Internal {
    /// Max record size, from Graph Info (MS-PPGRH §2.2.3.1).
    pub(super) max_record_size: u32,
    /// Presence lifetime, from Graph Info.
    pub(super) presence_lifetime: Duration,
    /// Max presence records, from Graph Info: `None` = everyone publishes.
    pub(super) max_presence: Option<u32>,
    /// Live contact records by record id (MS-PPGRH §3.1.1 contact list).
    pub(super) contacts: BTreeMap<Guid, ContactPayload>,
    /// Live presence records by record id (MS-PPGRH §3.1.1 presence list).
    pub(super) presence: BTreeMap<Guid, PresencePayload>,
    /// This node's own contact record.
    pub(super) own_contact: Option<Guid>,
    /// This node's own presence record.
    pub(super) own_presence: Option<Guid>,
    /// The application forced presence (no autorefresh, never withdrawn by maintenance).
    pub(super) presence_forced: bool,
    /// This node's records with autorefresh set (MS-PPGRH §3.1.7.22).
    pub(super) refreshing: BTreeSet<Guid>,
}

impl Internal {
    /// The limits from `config` until a Graph Info record says otherwise.
    pub(super) fn new(config: &GraphConfig) -> Internal {
        Internal {
            max_record_size: config.max_record_size,
            presence_lifetime: config.presence_lifetime,
            max_presence: config.max_presence_records,
            contacts: BTreeMap::new(),
            presence: BTreeMap::new(),
            own_contact: None,
            own_presence: None,
            presence_forced: false,
            refreshing: BTreeSet::new(),
        }
    }
}

impl GraphNode {
    /// The signature record as this node holds it (MS-PPGRH §3.1.7.11).
    pub(super) fn signature_view(&self) -> SignatureView {
        let decode = |p: &[u8]| SignaturePayload::decode(p).ok().map(|s| s.signature);
        SignatureView::of(self.db.get(&SIGNATURE_ID), decode)
    }

    /// Publishes (or updates over the copy `existing` names) one internal record of this node.
    fn publish_own(&mut self, now: Instant, existing: Option<Guid>, spec: InternalRecord) -> Option<Guid> {
        let ctx = publish_context(&self.cfg, self.internal.max_record_size, self.peer_time(now));
        let old = existing.and_then(|id| self.db.get(&id));
        let record = publish_internal(old, spec, &ctx, &mut self.rng);
        self.publish(now, record).ok()
    }

    /// The Graph Info record (MS-PPGRH §3.1.7.7). Autorefreshed while the creator is online:
    /// §3.1.7.7 sets no autorefresh, which would let it expire five minutes after creation
    /// (peerlab choice).
    pub(super) fn publish_graph_info(&mut self, now: Instant) {
        let info = GraphInfo {
            deferred_expiration: false,
            scope: Scope::Global,
            graph_id: self.cfg.graph_id.clone(),
            creator_id: self.cfg.peer_id.clone(),
            friendly_name: String::new(),
            comment: String::new(),
            presence_lifetime: self.cfg.presence_lifetime.as_micros().div_ceil(1_000_000) as u32,
            max_presence_records: self.cfg.max_presence_records.unwrap_or(PRESENCE_ALL),
            max_record_size: self.cfg.max_record_size,
        };
        let spec = InternalRecord {
            record_type: GRAPH_INFO_TYPE,
            fixed_id: Some(GRAPH_INFO_ID),
            payload: info.encode(),
            attributes: String::new(),
            lifetime: GRAPH_INFO_LIFETIME,
            autorefresh: true,
        };
        self.publish_own(now, Some(GRAPH_INFO_ID), spec);
    }

    /// Claims the signature: the signature record names this node (MS-PPGRH §3.1.7.5).
    pub(super) fn claim_signature(&mut self, now: Instant) {
        self.stats.signature_claims += 1;
        let payload = SignaturePayload {
            signature: self.node_id,
        };
        self.publish_own(now, Some(SIGNATURE_ID), signature_record(payload.encode()));
    }

    fn listen_addresses(&self) -> Vec<Endpoint> {
        if self.listening {
            vec![self.listen]
        } else {
            Vec::new()
        }
    }

    /// Publishes or updates this node's contact record with its current view of the signature
    /// (MS-PPGRH §3.1.7.6).
    pub(super) fn publish_contact(&mut self, now: Instant) {
        let payload = ContactPayload {
            signature: self.signature().unwrap_or(0),
            node_id: self.node_id,
            addresses: self.listen_addresses(),
        };
        let spec = contact_record(payload.encode());
        self.internal.own_contact = self.publish_own(now, self.internal.own_contact, spec);
    }

    /// Publishes this node's presence record (MS-PPGRH §3.1.7.4); autorefreshed unless the
    /// application forced it.
    pub(super) fn publish_presence(&mut self, now: Instant, autorefresh: bool) {
        let payload = PresencePayload {
            node_id: self.node_id,
            attributes: String::new(),
            addresses: self.listen_addresses(),
        };
        let spec = presence_record(payload.encode(), self.internal.presence_lifetime, autorefresh);
        self.internal.own_presence = self.publish_own(now, self.internal.own_presence, spec);
    }

    /// Deletes one of this node's records (a tombstone, MS-PPGRH §3.1.7.9).
    pub(super) fn delete_own(&mut self, now: Instant, id: Guid) {
        let pt = self.peer_time(now);
        let dead = self
            .db
            .get(&id)
            .and_then(|old| tombstone(old, &self.cfg.peer_id, pt).ok());
        if let Some(dead) = dead {
            // A tombstone of one's own record always signs under the null provider; a provider's
            // veto leaves the record to expire.
            let _ = self.publish(now, dead);
        }
    }

    /// Before leaving: delete this node's contact and presence records, and the signature record
    /// if it names this node (MS-PPGRH §3.1.4.6).
    pub(super) fn retire_internal(&mut self, now: Instant) {
        if let Some(id) = self.internal.own_contact.take() {
            self.delete_own(now, id);
        }
        if let Some(id) = self.internal.own_presence.take() {
            self.delete_own(now, id);
        }
        if self.signature() == Some(self.node_id) {
            self.delete_own(now, SIGNATURE_ID);
        }
        self.internal.refreshing.clear();
    }

    /// The type hooks after a record was stored (MS-PPGRH §3.1.7.10 step 4).
    pub(super) fn after_store(&mut self, now: Instant, r: &PeerRecord) {
        if r.autorefresh && !r.deleted {
            self.internal.refreshing.insert(r.id);
        } else {
            self.internal.refreshing.remove(&r.id);
        }
        match r.record_type {
            t if t == GRAPH_INFO_TYPE && !r.deleted => {
                if let Ok(info) = GraphInfo::decode(&r.payload) {
                    self.internal.max_record_size = info.max_record_size_bytes();
                    self.internal.presence_lifetime =
                        Duration::from_secs(info.presence_lifetime_secs().into());
                    self.internal.max_presence =
                        (info.max_presence_records != PRESENCE_ALL).then_some(info.max_presence_records);
                }
            }
            t if t == SIGNATURE_TYPE => self.signature_changed(now),
            t if t == CONTACT_TYPE => {
                match ContactPayload::decode(&r.payload).ok().filter(|_| !r.deleted) {
                    Some(p) => self.internal.contacts.insert(r.id, p),
                    None => self.internal.contacts.remove(&r.id),
                };
                self.contact_maintenance(now);
            }
            t if t == PRESENCE_TYPE => {
                match PresencePayload::decode(&r.payload).ok().filter(|_| !r.deleted) {
                    Some(p) => self.internal.presence.insert(r.id, p),
                    None => self.internal.presence.remove(&r.id),
                };
            }
            _ => {}
        }
    }

    /// The hooks after the expiration scan removed a record (MS-PPGRH §3.1.6.7).
    pub(super) fn after_expiry(&mut self, now: Instant, r: &PeerRecord) {
        self.internal.refreshing.remove(&r.id);
        if self.internal.own_contact == Some(r.id) {
            self.internal.own_contact = None;
        }
        if self.internal.own_presence == Some(r.id) {
            self.internal.own_presence = None;
        }
        match r.record_type {
            t if t == SIGNATURE_TYPE => self.signature_changed(now),
            t if t == CONTACT_TYPE => {
                self.internal.contacts.remove(&r.id);
                self.contact_maintenance(now);
            }
            t if t == PRESENCE_TYPE => {
                self.internal.presence.remove(&r.id);
            }
            _ => {}
        }
    }

    /// The signature record changed: run the signature calculation, and a contact re-publishes
    /// its record with the new signature (MS-PPGRH §3.1.7.6, §3.1.7.11).
    fn signature_changed(&mut self, now: Instant) {
        self.signature_calculation(now);
        let (Some(own), Some(current)) = (self.internal.own_contact, self.signature()) else {
            return;
        };
        if self
            .internal
            .contacts
            .get(&own)
            .is_some_and(|c| c.signature != current)
        {
            self.publish_contact(now);
        }
    }
}
