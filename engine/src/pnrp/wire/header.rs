//! The 12-byte PNRP header (MS-PNRP §2.2.1) and the FieldID registry (MS-PNRP §2.2).

use super::elements::Writer;
use super::error::{DecodeError, Reader};
use crate::pnrp::message::{MessageType, ReasonCode, ResolveCriteria};

/// PNRP_HEADER.
pub const FIELD_HEADER: u16 = 0x0010;
/// PNRP_HEADER_ACKED.
pub const FIELD_HEADER_ACKED: u16 = 0x0018;
/// PNRP_ID (entry type inside PNRP_ID_ARRAY).
pub const FIELD_PNRP_ID: u16 = 0x0030;
/// TARGET_PNRP_ID.
pub const FIELD_TARGET_PNRP_ID: u16 = 0x0038;
/// VALIDATE_PNRP_ID.
pub const FIELD_VALIDATE_PNRP_ID: u16 = 0x0039;
/// FLAGS_FIELD.
pub const FIELD_FLAGS: u16 = 0x0040;
/// FLOOD_CONTROLS.
pub const FIELD_FLOOD_CONTROLS: u16 = 0x0043;
/// SOLICIT_CONTROLS.
pub const FIELD_SOLICIT_CONTROLS: u16 = 0x0044;
/// LOOKUP_CONTROLS.
pub const FIELD_LOOKUP_CONTROLS: u16 = 0x0045;
/// EXTENDED_PAYLOAD.
pub const FIELD_EXTENDED_PAYLOAD: u16 = 0x005A;
/// PNRP_ID_ARRAY.
pub const FIELD_PNRP_ID_ARRAY: u16 = 0x0060;
/// CERT_CHAIN.
pub const FIELD_CERT_CHAIN: u16 = 0x0080;
/// WCHAR (entry type inside CLASSIFIER).
pub const FIELD_WCHAR: u16 = 0x0084;
/// CLASSIFIER.
pub const FIELD_CLASSIFIER: u16 = 0x0085;
/// HASHED_NONCE.
pub const FIELD_HASHED_NONCE: u16 = 0x0092;
/// NONCE.
pub const FIELD_NONCE: u16 = 0x0093;
/// SPLIT_CONTROLS.
pub const FIELD_SPLIT_CONTROLS: u16 = 0x0098;
/// ROUTING_ENTRY.
pub const FIELD_ROUTING_ENTRY: u16 = 0x009A;
/// VALIDATE_CPA.
pub const FIELD_VALIDATE_CPA: u16 = 0x009B;
/// REVOKE_CPA.
pub const FIELD_REVOKE_CPA: u16 = 0x009C;
/// IPV6_ENDPOINT (entry type inside IPV6_ENDPOINT_ARRAY).
pub const FIELD_IPV6_ENDPOINT: u16 = 0x009D;
/// IPV6_ENDPOINT_ARRAY.
pub const FIELD_IPV6_ENDPOINT_ARRAY: u16 = 0x009E;

/// Bytes of the PNRP header.
pub const HEADER_LEN: usize = 12;
/// Header Identifier byte.
const IDENTIFIER: u8 = 0x51;

impl MessageType {
    /// The type for a header MessageType code; 0x05, 0x06, 0x0A and unknown codes have none (MS-PNRP §2.2.1).
    pub const fn from_code(code: u8) -> Option<MessageType> {
        Some(match code {
            0x01 => MessageType::Solicit,
            0x02 => MessageType::Advertise,
            0x03 => MessageType::Request,
            0x04 => MessageType::Flood,
            0x07 => MessageType::Inquire,
            0x08 => MessageType::Authority,
            0x09 => MessageType::Ack,
            0x0B => MessageType::Lookup,
            _ => return None,
        })
    }
}

impl ResolveCriteria {
    /// The wire code (MS-PNRP §2.2.2.8; an enum, not bit flags).
    pub const fn code(self) -> u8 {
        match self {
            ResolveCriteria::Exact => 0x00,
            ResolveCriteria::AnyPeerName => 0x01,
            ResolveCriteria::NearestPeerName => 0x02,
            ResolveCriteria::Nearest64PeerName => 0x04,
            ResolveCriteria::UpperBits => 0x08,
        }
    }
    /// The criteria for a wire code.
    pub const fn from_code(c: u8) -> Option<Self> {
        Some(match c {
            0x00 => ResolveCriteria::Exact,
            0x01 => ResolveCriteria::AnyPeerName,
            0x02 => ResolveCriteria::NearestPeerName,
            0x04 => ResolveCriteria::Nearest64PeerName,
            0x08 => ResolveCriteria::UpperBits,
            _ => return None,
        })
    }
}

impl ReasonCode {
    /// The wire code (MS-PNRP §2.2.2.8).
    pub const fn code(self) -> u8 {
        match self {
            ReasonCode::AppRequest => 0x00,
            ReasonCode::Registration => 0x01,
            ReasonCode::CacheMaintenance => 0x02,
            ReasonCode::SplitDetection => 0x03,
        }
    }
    /// The reason for a wire code; receivers must ignore the reason (MS-PNRP §2.2.2.8), so an unknown code
    /// reads as `AppRequest` instead of dropping the LOOKUP (peerlab choice).
    pub const fn from_code(c: u8) -> Self {
        match c {
            0x01 => ReasonCode::Registration,
            0x02 => ReasonCode::CacheMaintenance,
            0x03 => ReasonCode::SplitDetection,
            _ => ReasonCode::AppRequest,
        }
    }
}

/// Writes the header: `0010 000C 51 04 00 type | Message ID` (big-endian).
pub(crate) fn put_header(w: &mut Writer<'_>, kind: MessageType, message_id: u32) {
    w.u16(FIELD_HEADER);
    w.u16(HEADER_LEN as u16);
    w.bytes(&[IDENTIFIER, 4, 0, kind.code()]);
    w.u32(message_id);
}

/// Reads and checks the header (MS-PNRP §3.1.5.2: it must be exact), returning type and Message ID.
pub(crate) fn get_header(r: &mut Reader<'_>) -> Result<(MessageType, u32), DecodeError> {
    let h: [u8; HEADER_LEN] = r.array()?;
    if h[..7] != [0x00, 0x10, 0x00, 0x0C, IDENTIFIER, 4, 0] {
        return Err(DecodeError::BadHeader);
    }
    let kind = MessageType::from_code(h[7]).ok_or(DecodeError::UnknownType(h[7]))?;
    Ok((kind, u32::from_be_bytes([h[8], h[9], h[10], h[11]])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unused_codes_are_unknown() {
        for t in MessageType::ALL {
            assert_eq!(MessageType::from_code(t.code()), Some(t));
        }
        for c in [0x00, 0x05, 0x06, 0x0A, 0x0C, 0xFF] {
            assert_eq!(MessageType::from_code(c), None);
        }
    }

    #[test]
    fn header_is_exact() {
        let mut out = Vec::new();
        put_header(&mut Writer::new(&mut out), MessageType::Lookup, 0x2A);
        assert_eq!(
            out,
            [0x00, 0x10, 0x00, 0x0C, 0x51, 0x04, 0x00, 0x0B, 0, 0, 0, 0x2A]
        );
        assert_eq!(
            get_header(&mut Reader::new(&out)),
            Ok((MessageType::Lookup, 0x2A))
        );
        let mut v5 = out.clone();
        v5[5] = 5;
        assert_eq!(get_header(&mut Reader::new(&v5)), Err(DecodeError::BadHeader));
        let mut t6 = out.clone();
        t6[7] = 6;
        assert_eq!(
            get_header(&mut Reader::new(&t6)),
            Err(DecodeError::UnknownType(6))
        );
        assert_eq!(get_header(&mut Reader::new(&out[..11])), Err(DecodeError::Short));
    }
}
