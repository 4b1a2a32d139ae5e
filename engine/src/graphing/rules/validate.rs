//! The receiver's structural checks of a record (MS-PPGRH §3.1.7.27).
//!
//! Checks the codec already enforces (FLOOD size, Protocol Version 0x0100) are not repeated here.
//! Attribute syntax (MS-PPGRH §2.2.3.5) is checked by the caller's `attributes_ok` predicate so
//! these rules stay independent of the XML parser.

use super::record_id::{check_binding, BindingError};
use crate::graphing::{PeerRecord, PeerTime};
/// Longest peer id or graph id, in UTF-16 characters including the NUL (MS-PPGRH §2.2.1.9).
pub const MAX_ID_CHARS: usize = 256;
/// Shortest peer id or graph id, in characters including the NUL (MS-PPGRH §2.2.1.9).
pub const MIN_ID_CHARS: usize = 2;

/// Why a received record was dropped (each has a stable counter name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rejection {
    /// Creator ID Length outside 2..256.
    CreatorLength,
    /// The id's high half is not MD5(creator) folded.
    Binding,
    /// A fixed id on the wrong type, or a Graph Info / Signature record without its fixed id.
    FixedId,
    /// Last Modified By ID Length neither 0 nor 2..256.
    ModifierLength,
    /// Expiration Time not greater than Last Modification Time.
    ExpiresNotAfterModified,
    /// Last Modification Time before Creation Time.
    ModifiedBeforeCreated,
    /// Graph ID Length outside 2..256.
    GraphIdLength,
    /// Graph ID is not the local graph's.
    WrongGraph,
    /// Deleted with a non-empty payload.
    DeletedWithPayload,
    /// Payload plus twice the attribute length exceeds Max Record Size.
    TooLarge,
    /// Creation time equals modification time yet a modifier is named.
    ModifierWithoutModification,
    /// Attributes that are not attribute XML.
    Attributes,
    /// Already expired on arrival (peerlab's option [`ExpiredOnArrival::Drop`]).
    Expired,
}

impl Rejection {
    /// Every reason, in counter order.
    pub const ALL: [Rejection; 13] = [
        Rejection::CreatorLength,
        Rejection::Binding,
        Rejection::FixedId,
        Rejection::ModifierLength,
        Rejection::ExpiresNotAfterModified,
        Rejection::ModifiedBeforeCreated,
        Rejection::GraphIdLength,
        Rejection::WrongGraph,
        Rejection::DeletedWithPayload,
        Rejection::TooLarge,
        Rejection::ModifierWithoutModification,
        Rejection::Attributes,
        Rejection::Expired,
    ];

    /// A stable snake_case name for counters and reports.
    pub fn name(self) -> &'static str {
        match self {
            Rejection::CreatorLength => "creator_length",
            Rejection::Binding => "id_binding",
            Rejection::FixedId => "fixed_id",
            Rejection::ModifierLength => "modifier_length",
            Rejection::ExpiresNotAfterModified => "expires_not_after_modified",
            Rejection::ModifiedBeforeCreated => "modified_before_created",
            Rejection::GraphIdLength => "graph_id_length",
            Rejection::WrongGraph => "wrong_graph",
            Rejection::DeletedWithPayload => "deleted_with_payload",
            Rejection::TooLarge => "too_large",
            Rejection::ModifierWithoutModification => "modifier_without_modification",
            Rejection::Attributes => "attributes",
            Rejection::Expired => "expired",
        }
    }
}

/// What a receiver does with a record whose expiration has already passed in its peer time.
/// MS-PPGRH §3.1.7.27 only requires expiration > last modification, so such a record would be
/// stored and flooded until the next expiry scan removes it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExpiredOnArrival {
    /// peerlab's default: drop it (it is no longer part of the database, MS-PPGRH §1.1 "database").
    #[default]
    Drop,
    /// As printed: accept it; the expiry scan removes it later.
    Accept,
}

/// The receiver's side of the checks: its graph, limits and clock.
#[derive(Clone, Copy, Debug)]
pub struct ReceiveContext<'a> {
    /// The local graph id.
    pub graph_id: &'a str,
    /// Max Record Size in bytes (payload plus attributes; MS-PPGRH §2.2.3.1).
    pub max_record_size: u32,
    /// The receiver's peer time.
    pub now: PeerTime,
    /// Whether records expired on arrival are dropped.
    pub expired_on_arrival: ExpiredOnArrival,
}

/// A string's wire length in UTF-16 characters including the NUL; 0 for an absent (empty) string.
pub fn wire_chars(s: &str) -> usize {
    if s.is_empty() {
        0
    } else {
        s.encode_utf16().count() + 1
    }
}

/// A record's size as the limit counts it: payload bytes plus twice the attribute length in
/// characters (MS-PPGRH §3.1.7.27).
pub fn record_size(record: &PeerRecord) -> u64 {
    record.payload.len() as u64 + 2 * wire_chars(&record.attributes) as u64
}

/// Whether `record` has expired at peer time `now`. MS-PPGRH §3.1.6.7 prints "expiration larger
/// than the current peer time", which is inverted; a record may be published only with an
/// expiration later than now (§3.1.4.3), so it counts as expired once `expires ≤ now`.
pub fn is_expired(record: &PeerRecord, now: PeerTime) -> bool {
    record.expires <= now
}

fn id_length_ok(s: &str) -> bool {
    (MIN_ID_CHARS..=MAX_ID_CHARS).contains(&wire_chars(s))
}

/// The structural checks of a received record (MS-PPGRH §3.1.7.27), in the order printed; the
/// first failure is returned. `attributes_ok` checks attribute syntax (MS-PPGRH §2.2.3.5).
pub fn validate_received(
    record: &PeerRecord,
    ctx: &ReceiveContext<'_>,
    attributes_ok: impl Fn(&str) -> bool,
) -> Result<(), Rejection> {
    if !id_length_ok(&record.creator) {
        return Err(Rejection::CreatorLength);
    }
    check_binding(record).map_err(|e| match e {
        BindingError::FixedId => Rejection::FixedId,
        BindingError::Creator => Rejection::Binding,
    })?;
    if !record.modified_by.is_empty() && !id_length_ok(&record.modified_by) {
        return Err(Rejection::ModifierLength);
    }
    if record.expires <= record.modified {
        return Err(Rejection::ExpiresNotAfterModified);
    }
    if record.modified < record.created {
        return Err(Rejection::ModifiedBeforeCreated);
    }
    if !id_length_ok(&record.graph_id) {
        return Err(Rejection::GraphIdLength);
    }
    if record.graph_id != ctx.graph_id {
        return Err(Rejection::WrongGraph);
    }
    if record.deleted && !record.payload.is_empty() {
        return Err(Rejection::DeletedWithPayload);
    }
    if record_size(record) > u64::from(ctx.max_record_size) {
        return Err(Rejection::TooLarge);
    }
    if record.created == record.modified && !record.modified_by.is_empty() {
        return Err(Rejection::ModifierWithoutModification);
    }
    if !record.attributes.is_empty() && !attributes_ok(&record.attributes) {
        return Err(Rejection::Attributes);
    }
    if ctx.expired_on_arrival == ExpiredOnArrival::Drop && is_expired(record, ctx.now) {
        return Err(Rejection::Expired);
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::graphing::rules::record_id::record_id_from;
    use crate::graphing::rules::record_id::tests::app_record;
    use crate::graphing::SIGNATURE_TYPE;

    type Mutation = Box<dyn Fn(&mut PeerRecord)>;

    pub(crate) fn rx(now: u64) -> ReceiveContext<'static> {
        ReceiveContext {
            graph_id: "graph",
            max_record_size: 1_024,
            now: PeerTime(now),
            expired_on_arrival: ExpiredOnArrival::Drop,
        }
    }

    fn check(r: &PeerRecord) -> Result<(), Rejection> {
        validate_received(r, &rx(5_000), |a| a.starts_with("<attributes>"))
    }

    #[test]
    fn a_valid_record_passes_and_each_rule_rejects() {
        let good = app_record("alice", 3);
        assert_eq!(check(&good), Ok(()));
        let cases: Vec<(Rejection, Mutation)> = vec![
            (
                Rejection::CreatorLength,
                Box::new(|r| r.creator = "x".repeat(256)),
            ),
            (
                Rejection::Binding,
                Box::new(|r| r.id = record_id_from("bob", [3; 16])),
            ),
            (Rejection::FixedId, Box::new(|r| r.record_type = SIGNATURE_TYPE)),
            (
                Rejection::ModifierLength,
                Box::new(|r| r.modified_by = "m".repeat(300)),
            ),
            (
                Rejection::ExpiresNotAfterModified,
                Box::new(|r| r.expires = r.modified),
            ),
            (
                Rejection::ModifiedBeforeCreated,
                Box::new(|r| r.modified = PeerTime(999)),
            ),
            (Rejection::GraphIdLength, Box::new(|r| r.graph_id = String::new())),
            (Rejection::WrongGraph, Box::new(|r| r.graph_id = "other".into())),
            (Rejection::DeletedWithPayload, Box::new(|r| r.deleted = true)),
            (Rejection::TooLarge, Box::new(|r| r.payload = vec![0; 1_025])),
            (
                Rejection::ModifierWithoutModification,
                Box::new(|r| r.modified_by = "bob".into()),
            ),
            (
                Rejection::Attributes,
                Box::new(|r| r.attributes = "<bad/>".into()),
            ),
            (Rejection::Expired, Box::new(|r| r.expires = PeerTime(5_000))),
        ];
        for (want, mutate) in cases {
            let mut r = good.clone();
            mutate(&mut r);
            assert_eq!(check(&r), Err(want), "{}", want.name());
        }
        // Creator lengths count UTF-16 units plus the NUL: 255 units is the longest.
        let mut r = good.clone();
        r.creator = "y".repeat(255);
        r.id = record_id_from(&r.creator, [3; 16]);
        assert_eq!(check(&r), Ok(()));
        // Attribute length counts twice, with its NUL: 1_024 − 2·(12+1) payload bytes fit exactly.
        let mut r = good.clone();
        r.attributes = "<attributes>".into();
        r.payload = vec![0; 1_024 - 26];
        assert_eq!(check(&r), Ok(()));
        r.payload.push(0);
        assert_eq!(check(&r), Err(Rejection::TooLarge));
        // Accepting expired records is the printed behaviour.
        let mut r = good.clone();
        r.expires = PeerTime(4_000);
        let ctx = ReceiveContext {
            expired_on_arrival: ExpiredOnArrival::Accept,
            ..rx(5_000)
        };
        assert_eq!(validate_received(&r, &ctx, |_| true), Ok(()));
        let names: std::collections::BTreeSet<_> = Rejection::ALL.iter().map(|r| r.name()).collect();
        assert_eq!(names.len(), Rejection::ALL.len());
    }
}
