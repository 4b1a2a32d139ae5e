//! The unit of replication: PEER_RECORD (MS-PPGRH §2.2.1.9) as the engine holds it, the reserved
//! record types (§2.2.3), and the conflict rule every node applies identically (§3.1.7.32).

use super::{Guid, PeerTime};
use std::cmp::Ordering;

/// Graph Info record type (MS-PPGRH §2.2.3.1).
pub const GRAPH_INFO_TYPE: Guid = Guid::from_text("00000100-0000-0000-0000-000000000000");
/// Signature record type (MS-PPGRH §2.2.3.2).
pub const SIGNATURE_TYPE: Guid = Guid::from_text("00000200-0000-0000-0000-000000000000");
/// Contact record type (MS-PPGRH §2.2.3.3).
pub const CONTACT_TYPE: Guid = Guid::from_text("00000300-0000-0000-0000-000000000000");
/// Presence record type (MS-PPGRH §2.2.3.4).
pub const PRESENCE_TYPE: Guid = Guid::from_text("00000400-0000-0000-0000-000000000000");
/// Grouping's Membership record type (MS-PPSEC §2.2.4), reserved for applications.
pub const MEMBERSHIP_TYPE: Guid = Guid::from_text("01000000-0000-0000-0000-000000000000");
/// Grouping's Security Properties record type (MS-PPSEC §2.2.3), reserved for applications.
pub const SECURITY_PROPERTIES_TYPE: Guid = Guid::from_text("02000000-0000-0000-0000-000000000000");
/// The fixed record id of the Graph Info record (MS-PPGRH §3.1.7.7).
pub const GRAPH_INFO_ID: Guid = Guid::from_text("6c796768-7732-406b-bc6e-5e9c0d864580");
/// The fixed record id of the Signature record (MS-PPGRH §3.1.7.5).
pub const SIGNATURE_ID: Guid = Guid::from_text("4c515c94-4252-494f-8440-34cc79769c81");
/// Record types an application may not publish: MS-PPGRH names a reserved range without bounds,
/// so peerlab reserves exactly the six types Graphing and Grouping define.
pub const RESERVED_TYPES: [Guid; 6] = [
    GRAPH_INFO_TYPE,
    SIGNATURE_TYPE,
    CONTACT_TYPE,
    PRESENCE_TYPE,
    MEMBERSHIP_TYPE,
    SECURITY_PROPERTIES_TYPE,
];
/// The record protocol version every record carries (MS-PPGRH §2.2.1.9).
pub const RECORD_PROTOCOL_VERSION: u16 = 0x0100;
/// The D (deleted) bit of the record flags, read as a big-endian u32 (MS-PPGRH §2.2.1.9).
pub const FLAG_DELETED: u32 = 0x0000_0002;

/// One record of a graph's database (tombstones included).
///
/// Strings are held as Rust strings; on the wire they are UTF-16 counted in characters including
/// the NUL. `autorefresh` is the publisher's local metadata, never sent (the wire bit must be 0,
/// MS-PPGRH §2.2.1.9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerRecord {
    /// Record type.
    pub record_type: Guid,
    /// Record id (fixed for Graph Info and Signature, otherwise derived from the creator).
    pub id: Guid,
    /// 1 at creation, +1 on every update and on delete.
    pub version: u32,
    /// The record is a tombstone (D bit).
    pub deleted: bool,
    /// Peer id of the creator (2..256 UTF-16 characters with the NUL).
    pub creator: String,
    /// Peer id of the last modifier; empty while never modified.
    pub modified_by: String,
    /// The security provider's blob (empty with no provider).
    pub security_data: Vec<u8>,
    /// Creation time, in peer time.
    pub created: PeerTime,
    /// Expiration time, in peer time.
    pub expires: PeerTime,
    /// Last modification time, in peer time (equals `created` until modified).
    pub modified: PeerTime,
    /// The graph the record belongs to.
    pub graph_id: String,
    /// Application or internal payload bytes (empty when deleted).
    pub payload: Vec<u8>,
    /// Attributes XML; empty when absent.
    pub attributes: String,
    /// Publisher-local: refreshed before it expires (MS-PPGRH §3.1.7.22); not on the wire.
    pub autorefresh: bool,
}

/// How a received copy of a record compares with the local copy (MS-PPGRH §3.1.7.32).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// The received copy wins: store it and flood it on.
    New,
    /// Identical: already present.
    Present,
    /// The local copy wins: send it back to the sender.
    Old,
}

impl PeerRecord {
    /// Whether the record is one of the graph's internal types (Graph Info, Signature, Contact,
    /// Presence).
    pub fn is_internal(&self) -> bool {
        [GRAPH_INFO_TYPE, SIGNATURE_TYPE, CONTACT_TYPE, PRESENCE_TYPE].contains(&self.record_type)
    }

    /// Compares `self` (received) with `local` by the first rule that tells them apart
    /// (MS-PPGRH §3.1.7.32): higher version; modified beats unmodified; higher modifier id;
    /// later modification time; larger security data; higher security data bytes.
    pub fn freshness_against(&self, local: &PeerRecord) -> Freshness {
        match conflict_order(self, local) {
            Ordering::Greater => Freshness::New,
            Ordering::Equal => Freshness::Present,
            Ordering::Less => Freshness::Old,
        }
    }
}

/// The total order of MS-PPGRH §3.1.7.32 over two copies of one record: `Greater` when `a` wins.
/// Every node computes the same winner because nothing here depends on local state.
pub fn conflict_order(a: &PeerRecord, b: &PeerRecord) -> Ordering {
    a.version
        .cmp(&b.version)
        .then_with(|| (!a.modified_by.is_empty()).cmp(&!b.modified_by.is_empty()))
        // Peer ids compare as UTF-16 code-unit strings, as Windows compares wide strings.
        .then_with(|| a.modified_by.encode_utf16().cmp(b.modified_by.encode_utf16()))
        .then_with(|| a.modified.cmp(&b.modified))
        .then_with(|| a.security_data.len().cmp(&b.security_data.len()))
        .then_with(|| a.security_data.cmp(&b.security_data))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(version: u32, modified_by: &str, modified: u64) -> PeerRecord {
        PeerRecord {
            record_type: Guid::from_text("a0000000-0000-0000-0000-000000000001"),
            id: Guid::from_text("b0000000-0000-0000-0000-000000000001"),
            version,
            deleted: false,
            creator: "alice".into(),
            modified_by: modified_by.into(),
            security_data: Vec::new(),
            created: PeerTime(1),
            expires: PeerTime(1_000),
            modified: PeerTime(modified),
            graph_id: "g".into(),
            payload: Vec::new(),
            attributes: String::new(),
            autorefresh: false,
        }
    }

    #[test]
    fn conflict_rules_apply_in_order() {
        // Version first, whatever the rest says.
        assert_eq!(
            record(3, "", 1).freshness_against(&record(2, "zed", 99)),
            Freshness::New
        );
        // Modified beats unmodified at equal versions.
        assert_eq!(
            record(2, "", 50).freshness_against(&record(2, "bob", 1)),
            Freshness::Old
        );
        // Higher modifier id beats a later time.
        assert_eq!(
            record(2, "carol", 1).freshness_against(&record(2, "bob", 9)),
            Freshness::New
        );
        // Same modifier: later modification time.
        assert_eq!(
            record(2, "bob", 9).freshness_against(&record(2, "bob", 8)),
            Freshness::New
        );
        // Larger security data, then its bytes.
        let mut a = record(2, "bob", 9);
        let mut b = a.clone();
        a.security_data = vec![1, 2];
        b.security_data = vec![9];
        assert_eq!(a.freshness_against(&b), Freshness::New);
        b.security_data = vec![1, 3];
        assert_eq!(a.freshness_against(&b), Freshness::Old);
        assert_eq!(a.freshness_against(&a.clone()), Freshness::Present);
    }
}
