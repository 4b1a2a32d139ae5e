//! The MS-PNRP byte encoding (MS-PNRP §2.2): datagrams, AUTHORITY_BUFFERs and Encoded CPAs.
//!
//! * `encode`/`decode` and `Message::encoded_len` for the eight message types;
//! * `encode_authority_buffer`/`decode_authority_buffer`, `fragment_authority` and `Reassembly` (MS-PNRP
//!   §3.2.5.10, §3.1.5.6);
//! * `encode_cpa`/`decode_cpa` (MS-PNRP §2.2.3.1), used by `Cpa::sign`/`Cpa::validate`;
//! * `encode_extended_payload`/`decode_extended_payload` (MS-PNRP §2.2.3.3);
//! * `chain::encode_chain`/`chain::decode_chain`: Certificate Chains (MS-PNRP §2.2.3.5), PKCS #7 in DER.
//!
//! Decoders never panic: every read is bounds-checked and every rule of MS-PNRP §3.1.5.2 yields a
//! `DecodeError`.

mod authority;
pub mod chain;
mod cpa_codec;
mod elements;
mod error;
mod header;
mod messages;
mod payload;
#[cfg(test)]
pub(crate) mod testgen;

pub use authority::{
    authority_fragments, decode_authority_buffer, encode_authority_buffer, encode_authority_buffer_into,
    fragment_authority, Reassembly, AUTHORITY_PREFIX_LEN,
};
pub use cpa_codec::{
    cpa_encoded_len, decode_cpa, encode_cpa, CPA_PUBLIC_KEY_FIELD_LEN, CPA_SIGNATURE_FIELD_LEN,
};
pub use error::DecodeError;
pub use header::*;
pub use messages::{decode, encode};
pub use payload::{
    decode_extended_payload, encode_extended_payload, extended_payload_encoded_len,
    PAYLOAD_SIGNATURE_FIELD_LEN,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pnrp::id::PnrpId;
    use crate::pnrp::message::*;
    use crate::Endpoint;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .filter(|t| t.len() == 2) // drop the 4-digit offset column
            .map(|t| u8::from_str_radix(t, 16).unwrap())
            .collect()
    }

    #[test]
    fn golden_ack_with_n() {
        let bytes = hex("00 10 00 0c 51 04 00 09 00 00 00 2b 00 18 00 08 00 00 00 2a 00 40 00 06 00 01");
        let msg = Message::Ack(Ack {
            message_id: 0x2B,
            acked_id: 0x2A,
            not_registered: Some(true),
        });
        assert_eq!(msg.to_bytes(), bytes);
        assert_eq!(msg.encoded_len(), 26);
        assert_eq!(decode(&bytes), Ok(msg));
    }

    #[test]
    fn golden_lookup() {
        let bytes = hex("0000  00 10 00 0c 51 04 00 0b 00 00 00 2a 00 45 00 0c
             0010  00 00 00 00 00 00 00 00 00 38 00 24 11 11 11 11
             0020  11 11 11 11 11 11 11 11 11 11 11 11 11 11 11 11
             0030  11 11 11 11 11 11 11 11 11 11 11 11 00 39 00 24
             0040  22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22
             0050  22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22
             0060  00 9e 00 1e 00 01 00 1a 00 9d 00 12 0d d4 20 01
             0070  0d b8 00 00 00 00 00 00 00 00 00 00 00 01");
        assert_eq!(bytes.len(), 126);
        let msg = Message::Lookup(Box::new(Lookup {
            message_id: 0x2A,
            accept_any: false,
            precision: 0,
            criteria: ResolveCriteria::Exact,
            reason: ReasonCode::AppRequest,
            target: PnrpId::from_be_bytes([0x11; 32]),
            validate_id: PnrpId::from_be_bytes([0x22; 32]),
            best_match: None,
            flagged_path: vec![Endpoint::new("2001:db8::1".parse().unwrap(), 3540)],
        }));
        assert_eq!(msg.to_bytes(), bytes);
        assert_eq!(msg.encoded_len(), 126);
        assert_eq!(decode(&bytes), Ok(msg));
    }
}
