//! The EXTENDED_PAYLOAD structure (MS-PNRP §2.2.3.3), little-endian integers:
//!
//! | off | size | field |
//! |---|---|---|
//! | 0 | 2 | Length of the whole structure |
//! | 2 | 1 | Minor Version 0 |
//! | 3 | 1 | Major Version 2 |
//! | 4 | 2 | Reserved 0 |
//! | 6 | 2 | Signature Offset (from the structure's start) |
//! | 8 | 8 | Not After, FILETIME |
//! | 16 | 32 | PNRP ID, least-significant byte first |
//! | 48 | 16 | Nonce of the INQUIRE |
//! | 64 | 2 | Number of Payloads = 1 |
//! | 66 | 2 | Total Payload Bytes = 10 + Payload Length |
//! | 68 | 4 | Payload Type: 0x80000002 string, 0x80000003 binary |
//! | 72 | 2 | Payload Length (string: String Type included) |
//! | 74 | 2 | String Type, strings only: 0 UTF-16, 1 UTF-8 |
//! | … | n | Payload |
//! | … | 136 | SIGNATURE: `u16 136 | u16 128 | u32 ALG_ID 0x8004 | sig[128]` (MS-PNRP §2.2.3.2) |
//!
//! Decoding is canonical, as for the Encoded CPA (peerlab choice): the reserved field must be zero and every
//! length exact, so re-encoding a decoded payload reproduces the signed bytes.

use super::error::{DecodeError, Reader};
use crate::pnrp::cpa::{filetime_to_instant, instant_to_filetime};
use crate::pnrp::id::PnrpId;
use crate::pnrp::payload::{ExtendedPayload, PayloadData};
use std::sync::Arc;

/// Bytes of the signature inside the SIGNATURE structure.
pub const PAYLOAD_SIGNATURE_FIELD_LEN: usize = 128;
/// Bytes before the Payload field of a binary payload.
const HEAD_LEN: usize = 74;
/// Bytes of the SIGNATURE structure.
const SIGNATURE_LEN: usize = 8 + PAYLOAD_SIGNATURE_FIELD_LEN;
/// ALG_ID CALG_SHA1.
const ALG_ID_SHA1: u32 = 0x0000_8004;
/// Payload Type of a NUL-terminated string.
const TYPE_STRING: u32 = 0x8000_0002;
/// Payload Type of binary data.
const TYPE_BINARY: u32 = 0x8000_0003;

/// Bytes of the encoded structure.
pub fn extended_payload_encoded_len(p: &ExtendedPayload) -> usize {
    HEAD_LEN + p.data.payload_length() + SIGNATURE_LEN
}

/// Appends the encoded structure to `out`. Never fails: out-of-range data is written as it is (lengths cut
/// to 16 bits) and then fails decoding at the receiver.
pub fn encode_extended_payload(p: &ExtendedPayload, out: &mut Vec<u8>) {
    let total = extended_payload_encoded_len(p);
    let payload_len = p.data.payload_length();
    out.reserve(total);
    out.extend_from_slice(&(total as u16).to_le_bytes());
    out.extend_from_slice(&[0, 2, 0, 0]); // minor 0, major 2, reserved
    out.extend_from_slice(&((HEAD_LEN + payload_len) as u16).to_le_bytes());
    out.extend_from_slice(&instant_to_filetime(p.not_after).to_le_bytes());
    out.extend(p.id.to_be_bytes().iter().rev());
    out.extend_from_slice(&p.nonce);
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&((10 + payload_len) as u16).to_le_bytes());
    match &*p.data {
        PayloadData::Binary(b) => {
            out.extend_from_slice(&TYPE_BINARY.to_le_bytes());
            out.extend_from_slice(&(payload_len as u16).to_le_bytes());
            out.extend_from_slice(b);
        }
        PayloadData::Text { utf8, text } => {
            out.extend_from_slice(&TYPE_STRING.to_le_bytes());
            out.extend_from_slice(&(payload_len as u16).to_le_bytes());
            out.extend_from_slice(&u16::from(*utf8).to_le_bytes());
            out.extend_from_slice(text);
        }
    }
    out.extend_from_slice(&(SIGNATURE_LEN as u16).to_le_bytes());
    out.extend_from_slice(&(PAYLOAD_SIGNATURE_FIELD_LEN as u16).to_le_bytes());
    out.extend_from_slice(&ALG_ID_SHA1.to_le_bytes());
    let k = p.signature.len().min(PAYLOAD_SIGNATURE_FIELD_LEN);
    out.extend_from_slice(&p.signature[..k]);
    out.resize(out.len() + (PAYLOAD_SIGNATURE_FIELD_LEN - k), 0);
}

fn ensure(cond: bool, what: &'static str) -> Result<(), DecodeError> {
    if cond {
        Ok(())
    } else {
        Err(DecodeError::BadPayload(what))
    }
}

/// Decodes exactly one EXTENDED_PAYLOAD occupying all of `bytes` (MS-PNRP §2.2.3.3, §3.1.5.8 syntax).
pub fn decode_extended_payload(bytes: &[u8]) -> Result<ExtendedPayload, DecodeError> {
    decode_inner(bytes).map_err(|e| match e {
        DecodeError::Short => DecodeError::BadPayload("truncated"),
        other => other,
    })
}

fn decode_inner(bytes: &[u8]) -> Result<ExtendedPayload, DecodeError> {
    let mut r = Reader::new(bytes);
    ensure(
        r.u16_le()? as usize == bytes.len(),
        "Length differs from the element",
    )?;
    ensure(r.array::<2>()? == [0, 2], "version is not 2.0")?;
    ensure(r.u16_le()? == 0, "reserved not zero")?;
    let sig_offset = r.u16_le()? as usize;
    let not_after = filetime_to_instant(r.u64_le()?)
        .ok_or(DecodeError::BadPayload("Not After outside simulated time"))?;
    let mut id: [u8; 32] = r.array()?;
    id.reverse();
    let nonce: [u8; 16] = r.array()?;
    ensure(r.u16_le()? == 1, "Number of Payloads is not 1")?;
    let total = r.u16_le()? as usize;
    let kind = r.u32_le()?;
    let payload_len = r.u16_le()? as usize;
    ensure(
        total == 10 + payload_len,
        "Total Payload Bytes is not 10 + Payload Length",
    )?;
    ensure(
        sig_offset == HEAD_LEN + payload_len,
        "Signature Offset is not the end of the payload",
    )?;
    let data = match kind {
        TYPE_BINARY => PayloadData::Binary(r.take(payload_len)?.to_vec()),
        TYPE_STRING => {
            ensure(payload_len >= 2, "string payload without String Type")?;
            let utf8 = match r.u16_le()? {
                0 => false,
                1 => true,
                _ => return Err(DecodeError::BadPayload("String Type is neither 0 nor 1")),
            };
            let text = r.take(payload_len - 2)?.to_vec();
            PayloadData::Text { utf8, text }
        }
        _ => return Err(DecodeError::BadPayload("unknown Payload Type")),
    };
    data.check().map_err(DecodeError::BadPayload)?;
    ensure(
        r.u16_le()? as usize == SIGNATURE_LEN,
        "SIGNATURE FieldLength is not 136",
    )?;
    ensure(
        r.u16_le()? as usize == PAYLOAD_SIGNATURE_FIELD_LEN,
        "signature length is not 128",
    )?;
    ensure(r.u32_le()? == ALG_ID_SHA1, "ALG_ID is not CALG_SHA1")?;
    let signature = r.take(PAYLOAD_SIGNATURE_FIELD_LEN)?.to_vec();
    ensure(r.is_empty(), "bytes after the SIGNATURE")?;
    Ok(ExtendedPayload {
        not_after,
        id: PnrpId::from_be_bytes(id),
        nonce,
        data: Arc::new(data),
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pnrp::wire::testgen::any_extended_payload;
    use crate::{Duration, Instant};
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .filter(|t| t.len() == 2)
            .map(|t| u8::from_str_radix(t, 16).unwrap())
            .collect()
    }

    /// Written by hand from the MS-PNRP §2.2.3.3 table: a 3-byte binary payload, Not After one second
    /// after the simulated epoch, ID 00 01 .. 1f (sent reversed), nonce 11.., signature field 55...
    #[test]
    fn golden_binary_payload() {
        let mut expected = hex("d5 00  00 02  00 00  4d 00
             80 96 19 93 b1 7a dc 01
             1f 1e 1d 1c 1b 1a 19 18 17 16 15 14 13 12 11 10
             0f 0e 0d 0c 0b 0a 09 08 07 06 05 04 03 02 01 00
             11 11 11 11 11 11 11 11 11 11 11 11 11 11 11 11
             01 00  0d 00  03 00 00 80  03 00  aa bb cc
             88 00  80 00  04 80 00 00");
        expected.extend([0x55; 128]);
        let p = ExtendedPayload {
            not_after: Instant::ZERO + Duration::from_secs(1),
            id: PnrpId::from_be_bytes(std::array::from_fn(|i| i as u8)),
            nonce: [0x11; 16],
            data: Arc::new(PayloadData::Binary(vec![0xaa, 0xbb, 0xcc])),
            signature: vec![0x55; 128],
        };
        let mut bytes = Vec::new();
        encode_extended_payload(&p, &mut bytes);
        assert_eq!(bytes.len(), 213);
        assert_eq!(bytes, expected);
        assert_eq!(p.encoded_len(), 213);
        assert_eq!(decode_extended_payload(&bytes), Ok(p));
    }

    /// A UTF-8 string "hi" + NUL: Payload Length 5 = String Type (01 00) and 3 text bytes.
    #[test]
    fn golden_string_payload_fields() {
        let p = ExtendedPayload {
            not_after: Instant::ZERO,
            id: PnrpId::ZERO,
            nonce: [0; 16],
            data: Arc::new(PayloadData::Text {
                utf8: true,
                text: b"hi!\0".to_vec(),
            }),
            signature: vec![0; 128],
        };
        let mut bytes = Vec::new();
        encode_extended_payload(&p, &mut bytes);
        assert_eq!(&bytes[0..8], &hex("d8 00 00 02 00 00 50 00")[..]);
        assert_eq!(
            &bytes[64..80],
            &hex("01 00 10 00 02 00 00 80 06 00 01 00 68 69 21 00")[..]
        );
        assert_eq!(decode_extended_payload(&bytes), Ok(p));
    }

    #[test]
    fn inconsistent_fields_are_refused() {
        let p = ExtendedPayload {
            not_after: Instant::ZERO,
            id: PnrpId::ZERO,
            nonce: [0; 16],
            data: Arc::new(PayloadData::Binary(vec![1; 40])),
            signature: vec![0; 128],
        };
        let mut good = Vec::new();
        encode_extended_payload(&p, &mut good);
        for (at, v, why) in [
            (3, 3, "version is not 2.0"),
            (4, 1, "reserved not zero"),
            (6, 0, "Signature Offset is not the end of the payload"),
            (64, 2, "Number of Payloads is not 1"),
            (66, 9, "Total Payload Bytes is not 10 + Payload Length"),
            (71, 0x70, "unknown Payload Type"),
        ] {
            let mut bad = good.clone();
            bad[at] = v;
            assert_eq!(decode_extended_payload(&bad), Err(DecodeError::BadPayload(why)));
        }
        assert_eq!(
            decode_extended_payload(&good[..good.len() - 1]),
            Err(DecodeError::BadPayload("Length differs from the element"))
        );
        let mut empty = p.clone();
        empty.data = Arc::new(PayloadData::Binary(Vec::new()));
        let mut bytes = Vec::new();
        encode_extended_payload(&empty, &mut bytes);
        assert!(decode_extended_payload(&bytes).is_err());
    }

    proptest! {
        #[test]
        fn payloads_round_trip_and_len_is_exact(p in any_extended_payload()) {
            let mut bytes = Vec::new();
            encode_extended_payload(&p, &mut bytes);
            prop_assert_eq!(bytes.len(), p.encoded_len());
            prop_assert_eq!(decode_extended_payload(&bytes), Ok(p));
        }

        #[test]
        fn payload_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode_extended_payload(&bytes);
        }

        #[test]
        fn mutated_payloads_never_panic(
            p in any_extended_payload(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        ) {
            let mut bytes = Vec::new();
            encode_extended_payload(&p, &mut bytes);
            for (i, v) in edits {
                let i = i.index(bytes.len());
                bytes[i] = v;
            }
            if let Ok(d) = decode_extended_payload(&bytes) {
                let mut again = Vec::new();
                encode_extended_payload(&d, &mut again);
                prop_assert_eq!(again, bytes);
            }
        }
    }
}
