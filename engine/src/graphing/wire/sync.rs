//! The record messages: SOLICIT_NEW, SOLICIT_TIME, SOLICIT_HASH, ADVERTISE, REQUEST, FLOOD,
//! SYNC_END, PT2PT and ACK (MS-PPGRH §2.2.2.6-14), with the receiver checks of MS-PPGRH
//! §3.1.5.2.5-13. Offsets count from the message start; arrays are read where their offsets
//! point, after checking that they fit.

use super::error::{check_fits, Reader, WireError};
use super::header::{body, get_guid, Put};
use super::link::check;
use super::record::{decode_record, encode_record, record_encoded_len};
use crate::graphing::{
    AckEntry, Advertise, Guid, HashBoundary, HashInfo, PeerRecord, PeerTime, PointToPoint, RecordAbstract,
    Request, SolicitHash, SolicitNew, SolicitTime, TypeFilter,
};

/// Fixed part of SOLICIT_NEW (MS-PPGRH §2.2.2.6).
pub const SOLICIT_NEW_FIXED: usize = 12;
/// Fixed part of SOLICIT_TIME and SOLICIT_HASH (MS-PPGRH §2.2.2.7-8).
pub const SOLICIT_TIME_FIXED: usize = 20;
/// Fixed part of ADVERTISE (MS-PPGRH §2.2.2.9).
pub const ADVERTISE_FIXED: usize = 24;
/// Fixed part of REQUEST (MS-PPGRH §2.2.2.10).
pub const REQUEST_FIXED: usize = 16;
/// Fixed part of FLOOD, SYNC_END and ACK (MS-PPGRH §2.2.2.11, .12, .14).
pub const FLOOD_FIXED: usize = 12;
/// Fixed part of PT2PT (MS-PPGRH §2.2.2.13).
pub const PT2PT_FIXED: usize = 28;
/// A record type in a solicitation's array (MS-PPGRH §2.2.2.6).
pub const GUID_LEN: usize = 16;
/// HASH_INFO_ENTRY (MS-PPGRH §2.2.1.7).
pub const HASH_INFO_LEN: usize = 40;
/// HASH_ENTRY_BOUNDARY (MS-PPGRH §2.2.1.8).
pub const HASH_BOUNDARY_LEN: usize = 52;
/// RECORD_ABSTRACT (MS-PPGRH §2.2.1.6).
pub const ABSTRACT_LEN: usize = 20;
/// One Record ACK: record id and a u32 whose lowest bit is U (MS-PPGRH §2.2.2.14).
pub const ACK_ENTRY_LEN: usize = 20;
/// SYNC_END's F (Final) bit: layout bit 71, the lowest of the flag byte (MS-PPGRH §2.2.2.12).
pub const SYNC_END_FINAL: u8 = 0x01;
/// A Record ACK's U (Useful) bit: layout bit 127 of the entry, the lowest of its u32 (MS-PPGRH
/// §2.2.2.14).
pub const ACK_USEFUL: u32 = 0x0000_0001;
/// Most record types a solicitation carries: its counts are one byte each (MS-PPGRH §2.2.2.6).
pub const MAX_TYPES: usize = u8::MAX as usize;
/// Most entries an ACK carries: its count is a u16 (MS-PPGRH §2.2.2.14).
pub const MAX_ACKS: usize = u16::MAX as usize;

/// The type counts and list a solicitation carries (each count capped at one byte).
fn filter_parts(f: &TypeFilter) -> (&[Guid], &[Guid]) {
    (capped_types(&f.include), capped_types(&f.exclude))
}

fn capped_types(v: &[Guid]) -> &[Guid] {
    &v[..v.len().min(MAX_TYPES)]
}

fn filter_len(f: &TypeFilter) -> usize {
    let (inc, exc) = filter_parts(f);
    (inc.len() + exc.len()) * GUID_LEN
}

/// Writes inclusion count, exclusion count and the types offset.
fn put_filter_head(out: &mut Vec<u8>, f: &TypeFilter, types_off: usize) {
    let (inc, exc) = filter_parts(f);
    out.put_u8(inc.len() as u8);
    out.put_u8(exc.len() as u8);
    out.put_u16(types_off as u16);
}

fn put_filter_types(out: &mut Vec<u8>, f: &TypeFilter) {
    let (inc, exc) = filter_parts(f);
    for g in inc.iter().chain(exc) {
        out.put_guid(g);
    }
}

/// Reads the counts and offset of a solicitation: at most one count nonzero; with `single_include`
/// (SOLICIT_NEW, SOLICIT_TIME) the inclusion count is 0 or 1 (MS-PPGRH §3.1.5.2.5-6).
fn get_filter_head(r: &mut Reader<'_>, single_include: bool) -> Result<(usize, usize, usize), WireError> {
    let inc = r.u8("Inclusion Count")? as usize;
    let exc = r.u8("Exclusion Count")? as usize;
    let off = r.u16("Record Types Offset")? as usize;
    if inc != 0 && exc != 0 {
        return Err(WireError::BadValue {
            field: "Inclusion and Exclusion Counts both nonzero",
            value: inc as u64,
        });
    }
    if single_include && inc > 1 {
        return Err(WireError::BadValue {
            field: "Inclusion Count",
            value: inc as u64,
        });
    }
    Ok((inc, exc, off))
}

/// Reads the type array at `off` and splits it into the filter; `limit` is where it must end by.
fn get_filter_types(
    bytes: &[u8],
    (inc, exc, off): (usize, usize, usize),
    limit: usize,
) -> Result<TypeFilter, WireError> {
    check(
        (inc + exc) * GUID_LEN + off <= limit,
        "record types beyond their bound",
    )?;
    let mut r = Reader::at(bytes, off, "Record Types")?;
    let mut types = (0..inc + exc)
        .map(|_| get_guid(&mut r, "Record Types"))
        .collect::<Result<Vec<_>, _>>()?;
    let exclude = types.split_off(inc);
    Ok(TypeFilter {
        include: types,
        exclude,
    })
}

pub(crate) fn solicit_new_len(m: &SolicitNew) -> usize {
    SOLICIT_NEW_FIXED + filter_len(&m.types)
}

pub(crate) fn put_solicit_new(out: &mut Vec<u8>, m: &SolicitNew) {
    put_filter_head(out, &m.types, SOLICIT_NEW_FIXED);
    put_filter_types(out, &m.types);
}

/// SOLICIT_NEW checks (MS-PPGRH §3.1.5.2.5): `(inc + exc)·16 + offset ≤ size`.
pub(crate) fn get_solicit_new(bytes: &[u8]) -> Result<SolicitNew, WireError> {
    let head = get_filter_head(&mut body(bytes), true)?;
    Ok(SolicitNew {
        types: get_filter_types(bytes, head, bytes.len())?,
    })
}

pub(crate) fn solicit_time_len(m: &SolicitTime) -> usize {
    SOLICIT_TIME_FIXED + filter_len(&m.types)
}

pub(crate) fn put_solicit_time(out: &mut Vec<u8>, m: &SolicitTime) {
    put_filter_head(out, &m.types, SOLICIT_TIME_FIXED);
    out.put_u64(m.since.0);
    put_filter_types(out, &m.types);
}

/// SOLICIT_TIME checks (MS-PPGRH §3.1.5.2.6), as SOLICIT_NEW's.
pub(crate) fn get_solicit_time(bytes: &[u8]) -> Result<SolicitTime, WireError> {
    let mut r = body(bytes);
    let head = get_filter_head(&mut r, true)?;
    let since = PeerTime(r.u64("Modification Time")?);
    Ok(SolicitTime {
        types: get_filter_types(bytes, head, bytes.len())?,
        since,
    })
}

pub(crate) fn solicit_hash_len(m: &SolicitHash) -> usize {
    SOLICIT_TIME_FIXED + filter_len(&m.types) + m.ranges.len() * HASH_INFO_LEN
}

pub(crate) fn put_solicit_hash(out: &mut Vec<u8>, m: &SolicitHash) {
    put_filter_head(out, &m.types, SOLICIT_TIME_FIXED);
    out.put_u32(m.ranges.len() as u32);
    out.put_u16((SOLICIT_TIME_FIXED + filter_len(&m.types)) as u16);
    out.put_u16(0);
    put_filter_types(out, &m.types);
    for h in &m.ranges {
        out.extend_from_slice(&h.hash);
        out.put_u64(h.modified.0);
        out.put_guid(&h.id);
    }
}

/// SOLICIT_HASH checks (MS-PPGRH §3.1.5.2.7): `(inc + exc)·16 + types offset ≤ hash offset`,
/// and `hash count·40 + hash offset ≤ size`: the printed "Hash Entry Offset·0x28 + Hash Entry
/// Offset" multiplies the offset by the entry size, which only makes sense as the count.
pub(crate) fn get_solicit_hash(bytes: &[u8]) -> Result<SolicitHash, WireError> {
    let mut r = body(bytes);
    let head = get_filter_head(&mut r, false)?;
    let count = r.u32("Hash Count")? as u64;
    let hash_off = r.u16("Hash Entry Offset")? as usize;
    check(
        count * HASH_INFO_LEN as u64 + hash_off as u64 <= bytes.len() as u64,
        "hash entries beyond Message Size",
    )?;
    let types = get_filter_types(bytes, head, hash_off)?;
    let mut r = Reader::at(bytes, hash_off, "Hash Entry Array")?;
    let n = check_fits(&r, count, HASH_INFO_LEN as u64, "Hash Entry Array")?;
    let ranges = (0..n)
        .map(|_| {
            Ok(HashInfo {
                hash: r.array("HASH_INFO_ENTRY")?,
                modified: PeerTime(r.u64("HASH_INFO_ENTRY")?),
                id: get_guid(&mut r, "HASH_INFO_ENTRY")?,
            })
        })
        .collect::<Result<_, WireError>>()?;
    Ok(SolicitHash { types, ranges })
}

pub(crate) fn advertise_len(m: &Advertise) -> usize {
    ADVERTISE_FIXED + m.boundaries.len() * HASH_BOUNDARY_LEN + m.abstracts.len() * ABSTRACT_LEN
}

fn put_abstracts(out: &mut Vec<u8>, abstracts: &[RecordAbstract]) {
    for a in abstracts {
        out.put_guid(&a.id);
        out.put_u32(a.version);
    }
}

/// Reads `count` RECORD_ABSTRACTs at `off`.
fn get_abstracts(bytes: &[u8], off: usize, count: u64) -> Result<Vec<RecordAbstract>, WireError> {
    let mut r = Reader::at(bytes, off, "Record Abstracts")?;
    let n = check_fits(&r, count, ABSTRACT_LEN as u64, "Record Abstracts")?;
    (0..n)
        .map(|_| {
            Ok(RecordAbstract {
                id: get_guid(&mut r, "RECORD_ABSTRACT")?,
                version: r.u32("RECORD_ABSTRACT")?,
            })
        })
        .collect()
}

pub(crate) fn put_advertise(out: &mut Vec<u8>, m: &Advertise) {
    out.put_u32(m.boundaries.len() as u32);
    out.put_u32(m.abstracts.len() as u32);
    // The boundary offset is a u16 but always the fixed part's end; the abstracts offset is a
    // u32 because any number of boundaries precede the abstracts.
    out.put_u16(ADVERTISE_FIXED as u16);
    out.put_u16(0);
    out.put_u32((ADVERTISE_FIXED + m.boundaries.len() * HASH_BOUNDARY_LEN) as u32);
    for b in &m.boundaries {
        out.put_u64(b.low_modified.0);
        out.put_guid(&b.low_id);
        out.put_u64(b.high_modified.0);
        out.put_guid(&b.high_id);
        out.put_u32(b.count);
    }
    put_abstracts(out, &m.abstracts);
}

/// ADVERTISE checks (MS-PPGRH §3.1.5.2.8): boundary offset ≤ abstracts offset ≤ size;
/// `boundaries·52 + boundary offset ≤ abstracts offset`; `abstracts·20 + abstracts offset ≤
/// size`.
pub(crate) fn get_advertise(bytes: &[u8]) -> Result<Advertise, WireError> {
    let mut r = body(bytes);
    let nb = r.u32("Hash Entry Boundary Count")? as u64;
    let na = r.u32("Record Abstract Count")? as u64;
    let b_off = r.u16("Hash Entry Boundary Offset")? as u64;
    r.u16("Reserved2")?;
    let a_off = r.u32("Record Abstracts Offset")? as u64;
    let size = bytes.len() as u64;
    check(
        b_off <= a_off,
        "Hash Entry Boundary Offset above Record Abstracts Offset",
    )?;
    check(a_off <= size, "Record Abstracts Offset beyond Message Size")?;
    check(
        nb * HASH_BOUNDARY_LEN as u64 + b_off <= a_off,
        "boundaries overlap the abstracts",
    )?;
    check(
        na * ABSTRACT_LEN as u64 + a_off <= size,
        "abstracts beyond Message Size",
    )?;
    let mut r = Reader::at(bytes, b_off as usize, "Hash Entry Boundary array")?;
    let boundaries = (0..nb)
        .map(|_| {
            Ok(HashBoundary {
                low_modified: PeerTime(r.u64("HASH_ENTRY_BOUNDARY")?),
                low_id: get_guid(&mut r, "HASH_ENTRY_BOUNDARY")?,
                high_modified: PeerTime(r.u64("HASH_ENTRY_BOUNDARY")?),
                high_id: get_guid(&mut r, "HASH_ENTRY_BOUNDARY")?,
                count: r.u32("HASH_ENTRY_BOUNDARY")?,
            })
        })
        .collect::<Result<_, WireError>>()?;
    Ok(Advertise {
        boundaries,
        abstracts: get_abstracts(bytes, a_off as usize, na)?,
    })
}

pub(crate) fn request_len(m: &Request) -> usize {
    REQUEST_FIXED + m.abstracts.len() * ABSTRACT_LEN
}

pub(crate) fn put_request(out: &mut Vec<u8>, m: &Request) {
    out.put_u32(m.abstracts.len() as u32);
    out.put_u32(REQUEST_FIXED as u32);
    put_abstracts(out, &m.abstracts);
}

/// REQUEST checks (MS-PPGRH §3.1.5.2.9): offset ≤ size; `count·20 + offset ≤ size`.
pub(crate) fn get_request(bytes: &[u8]) -> Result<Request, WireError> {
    let mut r = body(bytes);
    let count = r.u32("Record Abstract Count")? as u64;
    let off = r.u32("Record Abstracts Offset")? as u64;
    let size = bytes.len() as u64;
    check(off <= size, "Record Abstracts Offset beyond Message Size")?;
    check(
        count * ABSTRACT_LEN as u64 + off <= size,
        "abstracts beyond Message Size",
    )?;
    Ok(Request {
        abstracts: get_abstracts(bytes, off as usize, count)?,
    })
}

pub(crate) fn flood_len(rec: &PeerRecord) -> usize {
    FLOOD_FIXED + record_encoded_len(rec)
}

pub(crate) fn put_flood(out: &mut Vec<u8>, rec: &PeerRecord) {
    out.put_u16(FLOOD_FIXED as u16);
    out.put_u16(0);
    encode_record(rec, out);
}

/// FLOOD checks (MS-PPGRH §3.1.5.2.10): record offset ≤ size; Reserved2 zero; then the record,
/// which fills the rest of the message.
pub(crate) fn get_flood(bytes: &[u8]) -> Result<PeerRecord, WireError> {
    let mut r = body(bytes);
    let off = r.u16("Record Offset")? as usize;
    let reserved = r.u16("FLOOD Reserved2")?;
    check(off <= bytes.len(), "Record Offset beyond Message Size")?;
    if reserved != 0 {
        return Err(WireError::BadValue {
            field: "FLOOD Reserved2",
            value: reserved.into(),
        });
    }
    decode_record(&bytes[off..])
}

pub(crate) fn put_sync_end(out: &mut Vec<u8>, final_phase: bool) {
    out.put_u8(if final_phase { SYNC_END_FINAL } else { 0 });
    out.put_u8(0);
    out.put_u16(0);
}

/// SYNC_END (MS-PPGRH §3.1.5.2.11): only F counts; the Z bits and reserved bytes are ignored.
pub(crate) fn get_sync_end(bytes: &[u8]) -> Result<bool, WireError> {
    Ok(body(bytes).u8("SYNC_END flags")? & SYNC_END_FINAL != 0)
}

pub(crate) fn pt2pt_len(m: &PointToPoint) -> usize {
    PT2PT_FIXED + m.data.len()
}

pub(crate) fn put_pt2pt(out: &mut Vec<u8>, m: &PointToPoint) {
    out.put_u16(PT2PT_FIXED as u16);
    out.put_u16(0);
    out.put_guid(&m.data_type);
    out.extend_from_slice(&m.data);
}

/// PT2PT checks (MS-PPGRH §3.1.5.2.13): data offset ≤ size; the data runs to the end.
pub(crate) fn get_pt2pt(bytes: &[u8]) -> Result<PointToPoint, WireError> {
    let mut r = body(bytes);
    let off = r.u16("Data Offset")? as usize;
    r.u16("Reserved2")?;
    let data_type = get_guid(&mut r, "Data Type")?;
    check(off <= bytes.len(), "Data Offset beyond Message Size")?;
    Ok(PointToPoint {
        data_type,
        data: bytes[off..].to_vec(),
    })
}

pub(crate) fn ack_len(entries: &[AckEntry]) -> usize {
    FLOOD_FIXED + entries.len().min(MAX_ACKS) * ACK_ENTRY_LEN
}

pub(crate) fn put_ack(out: &mut Vec<u8>, entries: &[AckEntry]) {
    let entries = &entries[..entries.len().min(MAX_ACKS)];
    out.put_u16(entries.len() as u16);
    out.put_u16(FLOOD_FIXED as u16);
    for e in entries {
        out.put_guid(&e.id);
        out.put_u32(if e.useful { ACK_USEFUL } else { 0 });
    }
}

/// ACK checks (MS-PPGRH §3.1.5.2.12): offset ≤ size; `count·20 + offset ≤ size`. Reserved
/// bits of each entry are ignored.
pub(crate) fn get_ack(bytes: &[u8]) -> Result<Vec<AckEntry>, WireError> {
    let mut r = body(bytes);
    let count = r.u16("ACKs Count")? as usize;
    let off = r.u16("ACKs Offset")? as usize;
    check(off <= bytes.len(), "ACKs Offset beyond Message Size")?;
    check(
        count * ACK_ENTRY_LEN + off <= bytes.len(),
        "ACKs beyond Message Size",
    )?;
    let mut r = Reader::at(bytes, off, "Record ACK")?;
    (0..count)
        .map(|_| {
            Ok(AckEntry {
                id: get_guid(&mut r, "Record ACK")?,
                useful: r.u32("Record ACK")? & ACK_USEFUL != 0,
            })
        })
        .collect()
}
