//! `encode`, `decode` and `Message::encoded_len`: one arm per message type, the bodies in
//! `link` and `sync`.

use super::error::WireError;
use super::header::{check_min, get_header, put_header};
use super::link::*;
use super::sync::*;
use crate::graphing::Message;

impl Message {
    /// Exact bytes of the message on the wire, header included, framing excluded.
    pub fn encoded_len(&self) -> usize {
        match self {
            Message::AuthInfo(m) => auth_info_len(m),
            Message::Connect(m) => connect_len(m),
            Message::Welcome(m) => welcome_len(m),
            Message::Refuse(m) => refuse_len(&m.addresses),
            Message::Disconnect(m) => refuse_len(&m.addresses),
            Message::SolicitNew(m) => solicit_new_len(m),
            Message::SolicitTime(m) => solicit_time_len(m),
            Message::SolicitHash(m) => solicit_hash_len(m),
            Message::Advertise(m) => advertise_len(m),
            Message::Request(m) => request_len(m),
            Message::Flood(rec) => flood_len(rec),
            Message::SyncEnd { .. } => FLOOD_FIXED,
            Message::PointToPoint(m) => pt2pt_len(m),
            Message::Ack(entries) => ack_len(entries),
        }
    }
}

/// Appends `msg` in the exact layout of MS-PPGRH §2.2.2: header, fixed part, then the variable
/// fields in layout order, with every offset pointing at its field.
///
/// Values beyond what a field can hold are the caller's to avoid: address lists are cut to 255
/// entries, type lists to 255, ACK entries to 65,535 (their counts' widths), and strings are
/// assumed within MS-PPGRH's limits (256 characters for ids) so that u16 offsets hold.
pub fn encode(msg: &Message, out: &mut Vec<u8>) {
    let size = msg.encoded_len();
    out.reserve(size);
    put_header(out, msg, size);
    match msg {
        Message::AuthInfo(m) => put_auth_info(out, m),
        Message::Connect(m) => put_connect(out, m),
        Message::Welcome(m) => put_welcome(out, m),
        Message::Refuse(m) => put_refuse(out, m),
        Message::Disconnect(m) => put_disconnect(out, m),
        Message::SolicitNew(m) => put_solicit_new(out, m),
        Message::SolicitTime(m) => put_solicit_time(out, m),
        Message::SolicitHash(m) => put_solicit_hash(out, m),
        Message::Advertise(m) => put_advertise(out, m),
        Message::Request(m) => put_request(out, m),
        Message::Flood(rec) => put_flood(out, rec),
        Message::SyncEnd { final_phase } => put_sync_end(out, *final_phase),
        Message::PointToPoint(m) => put_pt2pt(out, m),
        Message::Ack(entries) => put_ack(out, entries),
    }
}

/// Decodes one whole message (its Message Size must equal `bytes.len()`), applying the header
/// checks of MS-PPGRH §3.1.5.2 and the receive checks of the message's type. Never panics.
pub fn decode(bytes: &[u8]) -> Result<Message, WireError> {
    let code = get_header(bytes)?;
    check_min(code, bytes.len())?;
    Ok(match code {
        0x01 => Message::AuthInfo(Box::new(get_auth_info(bytes)?)),
        0x02 => Message::Connect(Box::new(get_connect(bytes)?)),
        0x03 => Message::Welcome(Box::new(get_welcome(bytes)?)),
        0x04 => Message::Refuse(Box::new(get_refuse(bytes)?)),
        0x05 => Message::Disconnect(Box::new(get_disconnect(bytes)?)),
        0x06 => Message::SolicitNew(Box::new(get_solicit_new(bytes)?)),
        0x07 => Message::SolicitTime(Box::new(get_solicit_time(bytes)?)),
        0x08 => Message::SolicitHash(Box::new(get_solicit_hash(bytes)?)),
        0x09 => Message::Advertise(Box::new(get_advertise(bytes)?)),
        0x0A => Message::Request(Box::new(get_request(bytes)?)),
        0x0B => Message::Flood(Box::new(get_flood(bytes)?)),
        0x0C => Message::SyncEnd {
            final_phase: get_sync_end(bytes)?,
        },
        0x0D => Message::PointToPoint(Box::new(get_pt2pt(bytes)?)),
        _ => Message::Ack(Box::new(get_ack(bytes)?)),
    })
}
