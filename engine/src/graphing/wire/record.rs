//! PEER_RECORD (MS-PPGRH §2.2.1.9): the record a FLOOD carries.
//!
//! The decoder checks the record's syntax: every length fits, strings are NUL-terminated
//! UTF-16 within the ranges §2.2.1.9 gives, the Protocol Version is 0x0100, nothing trails.
//! The semantic checks of MS-PPGRH §3.1.7.27 (the id/creator binding, times, graph id, record
//! size, attributes) are the receiving node's, on the typed record.

use super::error::{Reader, WireError};
use super::header::{get_guid, Put};
use super::text::{counted_utf16_len, get_counted_utf16, get_optional_utf16, put_counted_utf16, UTF16_UNIT};
use crate::graphing::{PeerRecord, PeerTime, FLAG_DELETED, RECORD_PROTOCOL_VERSION};

/// Bytes of a PEER_RECORD with every variable field empty (MS-PPGRH §3.1.7.27: a FLOOD's record
/// data is at least 90 bytes).
pub const RECORD_FIXED_LEN: usize = 90;
/// Longest Creator ID, Last Modified By ID and Graph ID, in characters with the NUL (MS-PPGRH
/// §2.2.1.9).
pub const RECORD_ID_MAX_CHARS: u32 = 256;
/// Shortest present Creator ID, Last Modified By ID and Graph ID, in characters with the NUL
/// (MS-PPGRH §2.2.1.9).
pub const RECORD_ID_MIN_CHARS: u32 = 2;

/// Exact bytes of `rec` on the wire.
pub fn record_encoded_len(rec: &PeerRecord) -> usize {
    // The 90 fixed bytes include the five u32 string lengths; add the characters.
    let chars = |s: &str| counted_utf16_len(s) - 4;
    RECORD_FIXED_LEN
        + chars(&rec.creator)
        + chars(&rec.modified_by)
        + rec.security_data.len()
        + chars(&rec.graph_id)
        + rec.payload.len()
        + chars(&rec.attributes)
}

/// Appends `rec` as a PEER_RECORD. Only the D flag is written; autorefresh is the publisher's
/// local metadata and its wire bit must be 0 (MS-PPGRH §2.2.1.9).
pub fn encode_record(rec: &PeerRecord, out: &mut Vec<u8>) {
    out.put_guid(&rec.record_type);
    out.put_guid(&rec.id);
    out.put_u32(rec.version);
    out.put_u32(if rec.deleted { FLAG_DELETED } else { 0 });
    put_counted_utf16(out, &rec.creator);
    put_counted_utf16(out, &rec.modified_by);
    out.put_u32(rec.security_data.len() as u32);
    out.extend_from_slice(&rec.security_data);
    out.put_u64(rec.created.0);
    out.put_u64(rec.expires.0);
    out.put_u64(rec.modified.0);
    put_counted_utf16(out, &rec.graph_id);
    out.put_u16(RECORD_PROTOCOL_VERSION);
    out.put_u32(rec.payload.len() as u32);
    out.extend_from_slice(&rec.payload);
    put_counted_utf16(out, &rec.attributes);
}

/// Parses a PEER_RECORD filling `bytes` exactly.
///
/// Flag bits other than D are ignored: the reserved bytes are "ignored on receipt", and a
/// Windows peer may set the API's autorefresh bit (PEER_RECORD_FLAG_AUTOREFRESH = 0x1), which
/// the record cannot carry (peerlab choice, MS-PPGRH §2.2.1.9). A Last Modified By ID or
/// Attributes length of 1 (a lone NUL) is rejected: §2.2.1.9 allows 0 or 2..256 for the
/// former, and an empty string is not attribute XML (§2.2.3.5).
pub fn decode_record(bytes: &[u8]) -> Result<PeerRecord, WireError> {
    if bytes.len() < RECORD_FIXED_LEN {
        return Err(WireError::BelowMinimum {
            kind: "PEER_RECORD",
            size: bytes.len() as u32,
            min: RECORD_FIXED_LEN as u32,
        });
    }
    let mut r = Reader::new(bytes);
    let record_type = get_guid(&mut r, "Record Type")?;
    let id = get_guid(&mut r, "Record ID")?;
    let version = r.u32("Record Version")?;
    let flags = r.u32("record flags")?;
    let creator = get_counted_utf16(&mut r, RECORD_ID_MIN_CHARS, RECORD_ID_MAX_CHARS, "Creator ID")?;
    let modified_by = get_optional_utf16(&mut r, RECORD_ID_MAX_CHARS, "Last Modified By ID")?;
    let security_len = r.u32("Security Data Size")?;
    let security_data = r.take(security_len as usize, "Security Data")?.to_vec();
    let created = PeerTime(r.u64("Creation Time")?);
    let expires = PeerTime(r.u64("Expiration Time")?);
    let modified = PeerTime(r.u64("Last Modification Time")?);
    let graph_id = get_counted_utf16(&mut r, RECORD_ID_MIN_CHARS, RECORD_ID_MAX_CHARS, "Graph ID")?;
    let protocol = r.u16("Protocol Version")?;
    if protocol != RECORD_PROTOCOL_VERSION {
        return Err(WireError::BadValue {
            field: "Protocol Version",
            value: protocol.into(),
        });
    }
    let payload_len = r.u32("Payload Data Size")?;
    let payload = r.take(payload_len as usize, "Payload Data")?.to_vec();
    let attributes = get_attributes(&mut r)?;
    r.finish()?;
    Ok(PeerRecord {
        record_type,
        id,
        version,
        deleted: flags & FLAG_DELETED != 0,
        creator,
        modified_by,
        security_data,
        created,
        expires,
        modified,
        graph_id,
        payload,
        attributes,
        autorefresh: false,
    })
}

/// Attributes: absent (length 0) or at least 2 characters, bounded by the bytes left.
fn get_attributes(r: &mut Reader<'_>) -> Result<String, WireError> {
    let max = (r.remaining() / UTF16_UNIT) as u32;
    get_optional_utf16(r, max, "Attributes")
}
