//! The publisher's rules for records (MS-PPGRH §3.1.4.3-5, §3.1.7.2-9): an application's add,
//! update and delete with their checks, and the publication of the node's own internal records
//! (Graph Info, Signature, Contact, Presence) over the database's copy.
//!
//! Attribute syntax (MS-PPGRH §2.2.3.5) is checked by the caller's `attributes_ok` predicate.

use super::record_id::new_record_id;
use super::validate::wire_chars;
use crate::graphing::{GraphError, Guid, PeerRecord, PeerTime, RESERVED_TYPES};
use crate::Duration;
use rand::Rng;

/// The publisher's side of the checks: who publishes, where, and the limits.
#[derive(Clone, Copy, Debug)]
pub struct PublishContext<'a> {
    /// The local peer id (creator of new records, modifier of updates).
    pub peer_id: &'a str,
    /// The graph id.
    pub graph_id: &'a str,
    /// Max Record Size in bytes.
    pub max_record_size: u32,
    /// The publisher's peer time.
    pub now: PeerTime,
}

/// What an application supplies for a new record or an update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordContent {
    /// Payload bytes.
    pub payload: Vec<u8>,
    /// Attributes XML (empty for none).
    pub attributes: String,
    /// Expiration time in peer time.
    pub expires: PeerTime,
}

fn check_content(
    content: &RecordContent,
    ctx: &PublishContext<'_>,
    attributes_ok: impl Fn(&str) -> bool,
) -> Result<(), GraphError> {
    let size = content.payload.len() as u64 + 2 * wire_chars(&content.attributes) as u64;
    // MS-PPGRH §3.1.4.3 and §3.1.4.4: "less than" Max Record Size.
    if size >= u64::from(ctx.max_record_size) {
        return Err(GraphError::TooLarge);
    }
    if !content.attributes.is_empty() && !attributes_ok(&content.attributes) {
        return Err(GraphError::BadAttributes);
    }
    Ok(())
}

/// A new application record (MS-PPGRH §3.1.4.3, §3.1.7.2): not a reserved type, small enough,
/// valid attributes, expiring after now; version 1, created = modified = now, creator = own peer
/// id, no modifier. (§3.1.4.3 defaults the modifier to the peer id, but §3.1.7.2 leaves it empty
/// and §3.1.7.27 makes receivers drop an unmodified record that names one: §3.1.7.2 is followed.)
pub fn create_app_record(
    record_type: Guid,
    content: RecordContent,
    ctx: &PublishContext<'_>,
    rng: &mut impl Rng,
    attributes_ok: impl Fn(&str) -> bool,
) -> Result<PeerRecord, GraphError> {
    if RESERVED_TYPES.contains(&record_type) {
        return Err(GraphError::ReservedType);
    }
    check_content(&content, ctx, attributes_ok)?;
    if content.expires <= ctx.now {
        return Err(GraphError::BadLifetime);
    }
    Ok(PeerRecord {
        record_type,
        id: new_record_id(ctx.peer_id, rng),
        version: 1,
        deleted: false,
        creator: ctx.peer_id.to_owned(),
        modified_by: String::new(),
        security_data: Vec::new(),
        created: ctx.now,
        expires: content.expires,
        modified: ctx.now,
        graph_id: ctx.graph_id.to_owned(),
        payload: content.payload,
        attributes: content.attributes,
        autorefresh: false,
    })
}

/// The modification time of an update of `old` at `now`. MS-PPGRH §3.1.7.8 requires it later
/// than the creation time; peerlab also keeps it later than the previous modification, so a
/// record created by a node whose clock runs ahead still updates into a valid record.
fn next_modified(old: &PeerRecord, now: PeerTime) -> PeerTime {
    now.max(PeerTime(old.modified.0.saturating_add(1)))
}

/// The update of `old` to `content` by `modifier` (MS-PPGRH §3.1.7.8): same id, type, creation
/// time and creator; version + 1; modified now; the expiration never shrinks and stays after the
/// modification. Fails on a tombstone or a bad expiration. No reserved-type check: internal
/// records are updated through here too.
pub fn update_record(
    old: &PeerRecord,
    content: RecordContent,
    modifier: &str,
    now: PeerTime,
) -> Result<PeerRecord, GraphError> {
    if old.deleted {
        return Err(GraphError::NoSuchRecord);
    }
    let modified = next_modified(old, now);
    if content.expires < old.expires || content.expires <= modified {
        return Err(GraphError::BadLifetime);
    }
    Ok(PeerRecord {
        version: old.version.wrapping_add(1),
        modified_by: modifier.to_owned(),
        security_data: Vec::new(),
        modified,
        expires: content.expires,
        payload: content.payload,
        attributes: content.attributes,
        ..old.clone()
    })
}

/// An application's update of `old` (MS-PPGRH §3.1.4.4): [`update_record`] after refusing
/// missing records, reserved types, oversize content and bad attributes.
pub fn update_app_record(
    old: Option<&PeerRecord>,
    content: RecordContent,
    ctx: &PublishContext<'_>,
    attributes_ok: impl Fn(&str) -> bool,
) -> Result<PeerRecord, GraphError> {
    let old = old.filter(|r| !r.deleted).ok_or(GraphError::NoSuchRecord)?;
    if RESERVED_TYPES.contains(&old.record_type) {
        return Err(GraphError::ReservedType);
    }
    check_content(&content, ctx, attributes_ok)?;
    update_record(old, content, ctx.peer_id, ctx.now)
}

/// The tombstone of `old` (MS-PPGRH §3.1.7.9): an update with D set, no payload, no attributes,
/// the expiration kept (so the tombstone lives as long as the record would have).
pub fn tombstone(old: &PeerRecord, modifier: &str, now: PeerTime) -> Result<PeerRecord, GraphError> {
    let content = RecordContent {
        payload: Vec::new(),
        attributes: String::new(),
        expires: old.expires,
    };
    let mut dead = update_record(old, content, modifier, now)?;
    dead.deleted = true;
    dead.autorefresh = false;
    Ok(dead)
}

/// An application's delete (MS-PPGRH §3.1.4.5): the record exists, is live and not reserved.
pub fn delete_app_record(
    old: Option<&PeerRecord>,
    ctx: &PublishContext<'_>,
) -> Result<PeerRecord, GraphError> {
    let old = old.filter(|r| !r.deleted).ok_or(GraphError::NoSuchRecord)?;
    if RESERVED_TYPES.contains(&old.record_type) {
        return Err(GraphError::ReservedType);
    }
    tombstone(old, ctx.peer_id, ctx.now)
}

/// One of the node's own internal records to publish (Graph Info, Signature, Contact, Presence).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InternalRecord {
    /// Record type.
    pub record_type: Guid,
    /// The fixed id (Graph Info, Signature) or `None` to derive a fresh one.
    pub fixed_id: Option<Guid>,
    /// Encoded payload.
    pub payload: Vec<u8>,
    /// Attributes (presence records carry the application's string).
    pub attributes: String,
    /// Lifetime from now (300 s, 900 s or the presence lifetime).
    pub lifetime: Duration,
    /// Refreshed before it expires.
    pub autorefresh: bool,
}

/// Publishes an internal record over `existing`, the database's copy with the same id if any
/// (MS-PPGRH §3.1.7.4-7): a live copy is updated (its creator and creation time kept, the node
/// named as modifier); otherwise a new record is created. Over a tombstone (only possible for the
/// fixed ids) the new record takes the tombstone's version + 1: §3.1.7.2 does not set a version,
/// and version 1 would lose to the tombstone on every node (MS-PPGRH §3.1.7.32).
pub fn publish_internal(
    existing: Option<&PeerRecord>,
    spec: InternalRecord,
    ctx: &PublishContext<'_>,
    rng: &mut impl Rng,
) -> PeerRecord {
    let expires = ctx.now.plus(spec.lifetime);
    if let Some(old) = existing.filter(|r| !r.deleted) {
        // The update of MS-PPGRH §3.1.7.8 with an expiration that satisfies its conditions.
        let modified = next_modified(old, ctx.now);
        return PeerRecord {
            version: old.version.wrapping_add(1),
            modified_by: ctx.peer_id.to_owned(),
            security_data: Vec::new(),
            modified,
            expires: expires
                .max(old.expires)
                .max(PeerTime(modified.0.saturating_add(1))),
            payload: spec.payload,
            attributes: spec.attributes,
            autorefresh: spec.autorefresh,
            ..old.clone()
        };
    }
    let id = spec.fixed_id.unwrap_or_else(|| new_record_id(ctx.peer_id, rng));
    let version = existing
        .filter(|r| r.id == id)
        .map_or(1, |r| r.version.wrapping_add(1));
    PeerRecord {
        record_type: spec.record_type,
        id,
        version,
        deleted: false,
        creator: ctx.peer_id.to_owned(),
        modified_by: String::new(),
        security_data: Vec::new(),
        created: ctx.now,
        expires,
        modified: ctx.now,
        graph_id: ctx.graph_id.to_owned(),
        payload: spec.payload,
        attributes: spec.attributes,
        autorefresh: spec.autorefresh,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graphing::rules::record_id::id_binds_creator;
    use crate::graphing::rules::validate::tests::rx;
    use crate::graphing::rules::validate::{validate_received, ReceiveContext};
    use crate::graphing::{SIGNATURE_ID, SIGNATURE_TYPE};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn pctx(now: u64) -> PublishContext<'static> {
        PublishContext {
            peer_id: "alice",
            graph_id: "graph",
            max_record_size: 100,
            now: PeerTime(now),
        }
    }

    fn content(expires: u64) -> RecordContent {
        RecordContent {
            payload: vec![7; 10],
            attributes: String::new(),
            expires: PeerTime(expires),
        }
    }

    #[test]
    fn app_add_update_delete_follow_the_publishing_rules() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let app_type = Guid::from_text("a0000000-0000-0000-0000-000000000001");
        let ok = |_: &str| true;
        assert_eq!(
            create_app_record(SIGNATURE_TYPE, content(500), &pctx(100), &mut rng, ok),
            Err(GraphError::ReservedType)
        );
        assert_eq!(
            create_app_record(app_type, content(100), &pctx(100), &mut rng, ok),
            Err(GraphError::BadLifetime)
        );
        let big = RecordContent {
            payload: vec![0; 100],
            ..content(500)
        };
        assert_eq!(
            create_app_record(app_type, big, &pctx(100), &mut rng, ok),
            Err(GraphError::TooLarge)
        );
        let attrs = RecordContent {
            attributes: "x".into(),
            ..content(500)
        };
        assert_eq!(
            create_app_record(app_type, attrs, &pctx(100), &mut rng, |_| false),
            Err(GraphError::BadAttributes)
        );

        let rec = create_app_record(app_type, content(500), &pctx(100), &mut rng, ok).unwrap();
        assert_eq!(
            (rec.version, rec.created, rec.modified),
            (1, PeerTime(100), PeerTime(100))
        );
        assert!(rec.modified_by.is_empty() && id_binds_creator(&rec.id, "alice"));
        let rxc = ReceiveContext {
            graph_id: "graph",
            max_record_size: 100,
            ..rx(100)
        };
        assert_eq!(validate_received(&rec, &rxc, ok), Ok(()));

        let bob = PublishContext {
            peer_id: "bob",
            ..pctx(200)
        };
        assert_eq!(
            update_app_record(Some(&rec), content(499), &bob, ok),
            Err(GraphError::BadLifetime)
        );
        assert_eq!(
            update_app_record(None, content(600), &bob, ok),
            Err(GraphError::NoSuchRecord)
        );
        let up = update_app_record(Some(&rec), content(600), &bob, ok).unwrap();
        assert_eq!(
            (up.id, up.record_type, up.created, up.creator.as_str()),
            (rec.id, rec.record_type, rec.created, "alice")
        );
        assert_eq!(
            (up.version, up.modified, up.modified_by.as_str(), up.expires),
            (2, PeerTime(200), "bob", PeerTime(600))
        );
        assert_eq!(
            validate_received(
                &up,
                &ReceiveContext {
                    now: PeerTime(200),
                    ..rxc
                },
                ok
            ),
            Ok(())
        );

        let dead = delete_app_record(Some(&up), &pctx(300)).unwrap();
        assert!(dead.deleted && dead.payload.is_empty() && dead.attributes.is_empty());
        assert_eq!(
            (dead.version, dead.expires, dead.modified),
            (3, PeerTime(600), PeerTime(300))
        );
        assert_eq!(
            delete_app_record(Some(&dead), &pctx(310)),
            Err(GraphError::NoSuchRecord)
        );
        assert_eq!(
            update_app_record(Some(&dead), content(700), &bob, ok),
            Err(GraphError::NoSuchRecord)
        );
        // A clock behind the record's modification still yields a later modification time.
        let behind = update_record(&up, content(600), "carol", PeerTime(50)).unwrap();
        assert_eq!(behind.modified, PeerTime(201));
    }

    #[test]
    fn internal_records_update_live_copies_and_outrank_tombstones() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let sig = |payload: u8| InternalRecord {
            record_type: SIGNATURE_TYPE,
            fixed_id: Some(SIGNATURE_ID),
            payload: vec![payload; 8],
            attributes: String::new(),
            lifetime: Duration::from_secs(300),
            autorefresh: true,
        };
        let first = publish_internal(None, sig(1), &pctx(10_000_000), &mut rng);
        assert_eq!(
            (first.version, first.id, first.creator.as_str()),
            (1, SIGNATURE_ID, "alice")
        );
        assert_eq!(first.expires, PeerTime(10_000_000 + 3_000_000_000));
        let bob = PublishContext {
            peer_id: "bob",
            ..pctx(20_000_000)
        };
        let second = publish_internal(Some(&first), sig(2), &bob, &mut rng);
        assert_eq!(
            (
                second.version,
                second.creator.as_str(),
                second.modified_by.as_str()
            ),
            (2, "alice", "bob")
        );
        assert_eq!(second.created, first.created);
        let dead = tombstone(&second, "alice", PeerTime(30_000_000)).unwrap();
        let third = publish_internal(Some(&dead), sig(3), &bob, &mut rng);
        assert_eq!(
            (third.version, third.creator.as_str(), third.modified_by.as_str()),
            (4, "bob", "")
        );
        assert_eq!(third.freshness_against(&dead), crate::graphing::Freshness::New);
        let rxc = ReceiveContext {
            max_record_size: 1_000,
            ..rx(20_000_000)
        };
        for r in [&first, &second, &third] {
            assert_eq!(validate_received(r, &rxc, |_| true), Ok(()));
        }
    }
}
