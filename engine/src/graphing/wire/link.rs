//! The connection messages: AUTH_INFO, CONNECT, WELCOME, REFUSE and DISCONNECT (MS-PPGRH
//! §2.2.2.1-5), with the receiver checks of MS-PPGRH §3.1.5.1.1 and §3.1.5.2.1-4.
//!
//! Each body writer gets the message's total size (offsets point into it); each reader gets the
//! whole message, its header and minimum size already checked. Offsets count from the message
//! start; strings are NUL-terminated UTF-8 reaching to the next offset.

use super::address::{get_in6_array, put_in6, IN6_ADDRESS_LEN};
use super::error::{Reader, WireError};
use super::header::{body, Put};
use super::text::{get_utf8z, put_utf8z, utf8z_len};
use crate::graphing::{
    AuthInfo, Connect, ConnectionType, Disconnect, DisconnectReason, PeerTime, Refuse, RefuseReason, Welcome,
};
use crate::Endpoint;

/// Fixed part of AUTH_INFO (MS-PPGRH §2.2.2.1).
pub const AUTH_INFO_FIXED: usize = 16;
/// Fixed part of CONNECT (MS-PPGRH §2.2.2.2).
pub const CONNECT_FIXED: usize = 24;
/// Fixed part of WELCOME (MS-PPGRH §2.2.2.3).
pub const WELCOME_FIXED: usize = 32;
/// Fixed part of REFUSE and DISCONNECT (MS-PPGRH §2.2.2.4-5).
pub const REFUSE_FIXED: usize = 12;
/// CONNECT's U (Update) bit: layout bit 68, the fifth bit from the top of the flag byte
/// (MS-PPGRH §2.2.2.2, bits numbered from the most significant as in every MS-PPGRH diagram).
pub const CONNECT_UPDATE: u8 = 0x08;
/// CONNECT's D (Direct) bit: layout bit 69 (MS-PPGRH §2.2.2.2).
pub const CONNECT_DIRECT: u8 = 0x04;
/// CONNECT's N (Neighbor List) bit: layout bit 71, the lowest (MS-PPGRH §2.2.2.2).
pub const CONNECT_NEIGHBORS: u8 = 0x01;
/// Most addresses one message carries: its Address Count is one byte (MS-PPGRH §2.2.2.2-5);
/// longer lists are cut to their first 255 entries.
pub const MAX_ADDRESSES: usize = u8::MAX as usize;

/// The addresses a message can carry.
fn capped(addresses: &[Endpoint]) -> &[Endpoint] {
    &addresses[..addresses.len().min(MAX_ADDRESSES)]
}

fn addresses_len(addresses: &[Endpoint]) -> usize {
    capped(addresses).len() * IN6_ADDRESS_LEN
}

fn put_addresses(out: &mut Vec<u8>, addresses: &[Endpoint]) {
    for e in capped(addresses) {
        put_in6(out, e);
    }
}

fn name_len(name: &Option<String>) -> usize {
    name.as_deref().map_or(0, utf8z_len)
}

/// The region `from..to` of the message, which the caller has bounds-checked.
fn region<'a>(bytes: &'a [u8], from: usize, to: usize, what: &'static str) -> Result<&'a [u8], WireError> {
    bytes.get(from..to).ok_or(WireError::BadOffset(what))
}

/// Reads `count` PEER_IN6_ADDRESS entries at `offset`.
fn addresses_at(bytes: &[u8], offset: usize, count: usize) -> Result<Vec<Endpoint>, WireError> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let mut r = Reader::new(region(bytes, offset, bytes.len(), "address offset")?);
    get_in6_array(&mut r, count)
}

/// Fails with `BadOffset(what)` unless `ok`.
pub(crate) fn check(ok: bool, what: &'static str) -> Result<(), WireError> {
    if ok {
        Ok(())
    } else {
        Err(WireError::BadOffset(what))
    }
}

/// Exact bytes of AUTH_INFO.
pub(crate) fn auth_info_len(m: &AuthInfo) -> usize {
    AUTH_INFO_FIXED + utf8z_len(&m.graph_id) + utf8z_len(&m.source_peer_id) + name_len(&m.destination_peer_id)
}

pub(crate) fn put_auth_info(out: &mut Vec<u8>, m: &AuthInfo) {
    let graph_off = AUTH_INFO_FIXED;
    let source_off = graph_off + utf8z_len(&m.graph_id);
    let dest_off = source_off + utf8z_len(&m.source_peer_id);
    out.put_u8(m.connection_type as u8);
    out.put_u8(0);
    out.put_u16(graph_off as u16);
    out.put_u16(source_off as u16);
    // Absent destination: its offset equals the Message Size, which is where it would start.
    out.put_u16(dest_off as u16);
    put_utf8z(out, &m.graph_id);
    put_utf8z(out, &m.source_peer_id);
    if let Some(d) = &m.destination_peer_id {
        put_utf8z(out, d);
    }
}

/// AUTH_INFO checks (MS-PPGRH §3.1.5.1.1): type 1 or 2; graph id offset < source offset <
/// destination offset ≤ size; graph id and source not empty; a present destination not empty.
pub(crate) fn get_auth_info(bytes: &[u8]) -> Result<AuthInfo, WireError> {
    let mut r = body(bytes);
    let kind = r.u8("Connection Type")?;
    let connection_type = match kind {
        1 => ConnectionType::Neighbor,
        2 => ConnectionType::Direct,
        _ => {
            return Err(WireError::BadValue {
                field: "Connection Type",
                value: kind.into(),
            })
        }
    };
    r.u8("Reserved2")?;
    let graph_off = r.u16("Graph ID Offset")? as usize;
    let source_off = r.u16("Source Peer ID Offset")? as usize;
    let dest_off = r.u16("Destination Peer ID Offset")? as usize;
    let size = bytes.len();
    check(
        graph_off < source_off,
        "Graph ID Offset must be below Source Peer ID Offset",
    )?;
    check(
        source_off < dest_off,
        "Source Peer ID Offset must be below Destination Peer ID Offset",
    )?;
    check(dest_off <= size, "Destination Peer ID Offset beyond Message Size")?;
    let nonempty = |s: String, what| {
        if s.is_empty() {
            Err(WireError::BadString(what))
        } else {
            Ok(s)
        }
    };
    let graph_id = get_utf8z(region(bytes, graph_off, source_off, "Graph ID")?, "Graph ID")?;
    let source = get_utf8z(
        region(bytes, source_off, dest_off, "Source Peer ID")?,
        "Source Peer ID",
    )?;
    let destination = if dest_off == size {
        None
    } else {
        let d = get_utf8z(
            region(bytes, dest_off, size, "Destination Peer ID")?,
            "Destination Peer ID",
        )?;
        Some(nonempty(d, "Destination Peer ID")?)
    };
    Ok(AuthInfo {
        connection_type,
        graph_id: nonempty(graph_id, "Graph ID")?,
        source_peer_id: nonempty(source, "Source Peer ID")?,
        destination_peer_id: destination,
    })
}

/// Exact bytes of CONNECT.
pub(crate) fn connect_len(m: &Connect) -> usize {
    CONNECT_FIXED + addresses_len(&m.addresses) + name_len(&m.friendly_name)
}

pub(crate) fn put_connect(out: &mut Vec<u8>, m: &Connect) {
    let flags = (if m.update { CONNECT_UPDATE } else { 0 })
        | (if m.direct { CONNECT_DIRECT } else { 0 })
        | (if m.want_neighbors { CONNECT_NEIGHBORS } else { 0 });
    out.put_u8(flags);
    out.put_u8(capped(&m.addresses).len() as u8);
    out.put_u16(CONNECT_FIXED as u16);
    out.put_u16((CONNECT_FIXED + addresses_len(&m.addresses)) as u16);
    out.put_u16(0);
    out.put_u64(m.node_id);
    put_addresses(out, &m.addresses);
    if let Some(name) = &m.friendly_name {
        put_utf8z(out, name);
    }
}

/// CONNECT checks (MS-PPGRH §3.1.5.2.1): `count·20 + address offset ≤ size`; the friendly-name
/// offset at least `count·20 + address offset` and at most size; U requires a nonzero count
/// (MS-PPGRH §2.2.2.2). Z bits are ignored.
pub(crate) fn get_connect(bytes: &[u8]) -> Result<Connect, WireError> {
    let mut r = body(bytes);
    let flags = r.u8("CONNECT flags")?;
    let count = r.u8("Address Count")? as usize;
    let addr_off = r.u16("Address Offset")? as usize;
    let name_off = r.u16("Friendly Name Offset")? as usize;
    r.u16("Reserved2")?;
    let node_id = r.u64("Source Node ID")?;
    let size = bytes.len();
    let addr_end = count * IN6_ADDRESS_LEN + addr_off;
    check(addr_end <= size, "CONNECT addresses beyond Message Size")?;
    check(
        name_off >= addr_end,
        "CONNECT Friendly Name Offset inside the addresses",
    )?;
    check(
        name_off <= size,
        "CONNECT Friendly Name Offset beyond Message Size",
    )?;
    let update = flags & CONNECT_UPDATE != 0;
    if update && count == 0 {
        return Err(WireError::BadValue {
            field: "CONNECT Address Count with U set",
            value: 0,
        });
    }
    Ok(Connect {
        update,
        direct: flags & CONNECT_DIRECT != 0,
        want_neighbors: flags & CONNECT_NEIGHBORS != 0,
        node_id,
        addresses: addresses_at(bytes, addr_off, count)?,
        friendly_name: optional_name(bytes, name_off)?,
    })
}

/// The friendly name at `offset`, absent when the offset equals the Message Size.
fn optional_name(bytes: &[u8], offset: usize) -> Result<Option<String>, WireError> {
    if offset == bytes.len() {
        return Ok(None);
    }
    let field = region(bytes, offset, bytes.len(), "Friendly Name")?;
    get_utf8z(field, "Friendly Name").map(Some)
}

/// Exact bytes of WELCOME.
pub(crate) fn welcome_len(m: &Welcome) -> usize {
    WELCOME_FIXED + addresses_len(&m.addresses) + utf8z_len(&m.peer_id) + name_len(&m.friendly_name)
}

pub(crate) fn put_welcome(out: &mut Vec<u8>, m: &Welcome) {
    let count = capped(&m.addresses).len();
    // MS-PPGRH §3.1.5.2.1: with no referrals the Address Offset is 0.
    let addr_off = if count == 0 { 0 } else { WELCOME_FIXED };
    let peer_off = WELCOME_FIXED + addresses_len(&m.addresses);
    out.put_u64(m.node_id);
    out.put_u64(m.peer_time.0);
    out.put_u8(count as u8);
    out.put_u8(0);
    out.put_u16(addr_off as u16);
    out.put_u16(peer_off as u16);
    out.put_u16((peer_off + utf8z_len(&m.peer_id)) as u16);
    put_addresses(out, &m.addresses);
    put_utf8z(out, &m.peer_id);
    if let Some(name) = &m.friendly_name {
        put_utf8z(out, name);
    }
}

/// WELCOME checks (MS-PPGRH §3.1.5.2.2): `count·20 + address offset < size`; peer-id offset at
/// least that; friendly-name offset above the peer-id offset and at most size.
pub(crate) fn get_welcome(bytes: &[u8]) -> Result<Welcome, WireError> {
    let mut r = body(bytes);
    let node_id = r.u64("Node ID")?;
    let peer_time = PeerTime(r.u64("Peer Time")?);
    let count = r.u8("Address Count")? as usize;
    r.u8("Reserved2")?;
    let addr_off = r.u16("Address Offset")? as usize;
    let peer_off = r.u16("Peer ID Offset")? as usize;
    let name_off = r.u16("Friendly Name Offset")? as usize;
    let size = bytes.len();
    let addr_end = count * IN6_ADDRESS_LEN + addr_off;
    check(addr_end < size, "WELCOME addresses reach Message Size")?;
    check(
        peer_off >= addr_end,
        "WELCOME Peer ID Offset inside the addresses",
    )?;
    check(
        name_off > peer_off,
        "WELCOME Friendly Name Offset not above Peer ID Offset",
    )?;
    check(
        name_off <= size,
        "WELCOME Friendly Name Offset beyond Message Size",
    )?;
    Ok(Welcome {
        node_id,
        peer_time,
        addresses: addresses_at(bytes, addr_off, count)?,
        peer_id: get_utf8z(region(bytes, peer_off, name_off, "Peer ID")?, "Peer ID")?,
        friendly_name: optional_name(bytes, name_off)?,
    })
}

/// Exact bytes of REFUSE or DISCONNECT.
pub(crate) fn refuse_len(addresses: &[Endpoint]) -> usize {
    REFUSE_FIXED + addresses_len(addresses)
}

/// Writes the body shared by REFUSE and DISCONNECT: code, count, offset, addresses. With no
/// addresses the offset is `empty_offset`: 0 for REFUSE (MS-PPGRH §3.1.5.2.1), the Message
/// Size for DISCONNECT (MS-PPGRH §3.1.7.25).
fn put_code_and_addresses(out: &mut Vec<u8>, code: u8, addresses: &[Endpoint], empty_offset: usize) {
    let count = capped(addresses).len();
    out.put_u8(code);
    out.put_u8(count as u8);
    out.put_u16(if count == 0 { empty_offset } else { REFUSE_FIXED } as u16);
    put_addresses(out, addresses);
}

pub(crate) fn put_refuse(out: &mut Vec<u8>, m: &Refuse) {
    put_code_and_addresses(out, m.reason as u8, &m.addresses, 0);
}

pub(crate) fn put_disconnect(out: &mut Vec<u8>, m: &Disconnect) {
    put_code_and_addresses(out, m.reason as u8, &m.addresses, refuse_len(&m.addresses));
}

/// Reads code, count and addresses, checking `count·20 + offset ≤ size` (MS-PPGRH
/// §3.1.5.2.3-4).
fn get_code_and_addresses(bytes: &[u8], what: &'static str) -> Result<(u8, Vec<Endpoint>), WireError> {
    let mut r = body(bytes);
    let code = r.u8(what)?;
    let count = r.u8("Address Count")? as usize;
    let offset = r.u16("Address Offset")? as usize;
    check(
        count * IN6_ADDRESS_LEN + offset <= bytes.len(),
        "addresses beyond Message Size",
    )?;
    Ok((code, addresses_at(bytes, offset, count)?))
}

/// REFUSE: the error code must be 1..=4 (MS-PPGRH §3.1.5.2.3).
pub(crate) fn get_refuse(bytes: &[u8]) -> Result<Refuse, WireError> {
    let (code, addresses) = get_code_and_addresses(bytes, "REFUSE Error Code")?;
    let reason = match code {
        1 => RefuseReason::Busy,
        2 => RefuseReason::AlreadyConnected,
        3 => RefuseReason::DuplicateConnection,
        4 => RefuseReason::DirectConnectionDisallowed,
        _ => {
            return Err(WireError::BadValue {
                field: "REFUSE Error Code",
                value: code.into(),
            })
        }
    };
    Ok(Refuse { reason, addresses })
}

/// DISCONNECT: the reason must be 1..=3 (MS-PPGRH §3.1.5.2.4).
pub(crate) fn get_disconnect(bytes: &[u8]) -> Result<Disconnect, WireError> {
    let (code, addresses) = get_code_and_addresses(bytes, "DISCONNECT Reason")?;
    let reason = match code {
        1 => DisconnectReason::Leaving,
        2 => DisconnectReason::LeastUseful,
        3 => DisconnectReason::AppDisconnect,
        _ => {
            return Err(WireError::BadValue {
                field: "DISCONNECT Reason",
                value: code.into(),
            })
        }
    };
    Ok(Disconnect { reason, addresses })
}
