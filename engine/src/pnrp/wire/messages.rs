//! Encoding, decoding and arithmetic sizes of the eight PNRP messages (MS-PNRP §2.2.2.1–§2.2.2.8).

use super::authority::{check_fragment, AUTHORITY_PREFIX_LEN};
use super::cpa_codec::{cpa_encoded_len, decode_cpa, encode_cpa};
use super::elements::*;
use super::error::{DecodeError, Reader};
use super::header::*;
use crate::pnrp::message::*;
use std::sync::Arc;

/// FLOOD_CONTROLS D bit.
const FLOOD_D: u16 = 0x0001;
/// INQUIRE FLAGS_FIELD bits A, X, C.
const INQUIRE_A: u16 = 0x0010;
const INQUIRE_X: u16 = 0x0008;
const INQUIRE_C: u16 = 0x0004;
/// ACK FLAGS_FIELD N bit.
const ACK_N: u16 = 0x0001;
/// LOOKUP_CONTROLS A bit.
const LOOKUP_A: u16 = 0x0002;

/// Bytes of a padded ROUTING_ENTRY followed by another element, or 0.
fn opt_route_entry_len(e: &Option<RouteEntry>) -> usize {
    e.as_ref().map_or(0, |e| e.element_len())
}

impl Message {
    /// Datagram bytes of this message, computed arithmetically (MS-PNRP §2.2.2); equals `encode(..).len()`.
    pub fn encoded_len(&self) -> usize {
        match self {
            Message::Solicit(m) => {
                36 + if m.solicit_type.is_some() { 8 } else { 0 } + opt_route_entry_len(&m.route_entry)
            }
            Message::Advertise(m) => 56 + 32 * m.ids.len(),
            Message::Request(m) => 44 + 32 * m.ids.len(),
            Message::Flood(m) => {
                let cpa = m.revoke_cpa.as_ref().map_or(0, |c| {
                    let l = 4 + cpa_encoded_len(c);
                    l + pad4(l)
                });
                56 + cpa
                    + opt_route_entry_len(&m.route_entry)
                    + array_elem_len(m.already_flooded.len(), ENDPOINT_LEN)
            }
            Message::Inquire(m) => 56 + if m.nonce.is_some() { 20 } else { 0 },
            Message::Authority(m) => AUTHORITY_PREFIX_LEN + m.fragment.len(),
            Message::Ack(m) => 20 + if m.not_registered.is_some() { 6 } else { 0 },
            Message::Lookup(m) => {
                96 + opt_route_entry_len(&m.best_match) + array_elem_len(m.flagged_path.len(), ENDPOINT_LEN)
            }
        }
    }

    /// The datagram bytes of this message.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        encode(self, &mut out);
        out
    }
}

/// Appends the datagram bytes of `msg` to `out` (alignment counted from where it starts).
///
/// Never fails: values outside the MS-PNRP §2.2.2 ranges (e.g. 30 flagged endpoints, port 80) are still
/// written and rejected by the receiver's `decode`.
pub fn encode(msg: &Message, out: &mut Vec<u8>) {
    out.reserve(msg.encoded_len());
    let mut w = Writer::new(out);
    put_header(&mut w, msg.kind(), msg.message_id());
    match msg {
        Message::Solicit(m) => {
            if let Some(t) = m.solicit_type {
                w.elem(FIELD_SOLICIT_CONTROLS, 6);
                w.bytes(&[0, matches!(t, SolicitType::Local) as u8, 0, 0]); // + 2 mandatory padding bytes
            }
            if let Some(e) = &m.route_entry {
                w.route_entry(e, true);
            }
            w.elem(FIELD_HASHED_NONCE, 24);
            w.bytes(&m.hashed_nonce);
        }
        Message::Advertise(m) => {
            put_acked(&mut w, m.acked_id);
            w.id_array(&m.ids);
            w.elem(FIELD_HASHED_NONCE, 24);
            w.bytes(&m.hashed_nonce);
        }
        Message::Request(m) => {
            w.elem(FIELD_NONCE, 20);
            w.bytes(&m.nonce);
            w.id_array(&m.ids);
        }
        Message::Flood(m) => {
            w.elem(FIELD_FLOOD_CONTROLS, 7);
            w.u16(if m.dont_ack { FLOOD_D } else { 0 });
            w.bytes(&[0, 0]); // Reserved2, then the 1 mandatory padding byte
            w.id_elem(FIELD_VALIDATE_PNRP_ID, m.validate_id);
            if let Some(c) = &m.revoke_cpa {
                w.elem(FIELD_REVOKE_CPA, 4 + cpa_encoded_len(c));
                encode_cpa(c, w.vec());
                w.pad(); // the Already Flooded List always follows
            }
            if let Some(e) = &m.route_entry {
                w.route_entry(e, true);
            }
            w.endpoint_array(&m.already_flooded);
        }
        Message::Inquire(m) => {
            w.elem(FIELD_FLAGS, 6);
            let f = &m.flags;
            w.u16(bit(f.cpa, INQUIRE_A) | bit(f.extended_payload, INQUIRE_X) | bit(f.cert_chain, INQUIRE_C));
            w.bytes(&[0, 0]); // mandatory padding (MS-PNRP §2.2)
            w.id_elem(FIELD_VALIDATE_PNRP_ID, m.validate_id);
            if let Some(n) = &m.nonce {
                w.elem(FIELD_NONCE, 20);
                w.bytes(n);
            }
        }
        Message::Authority(m) => {
            put_acked(&mut w, m.acked_id);
            w.elem(FIELD_SPLIT_CONTROLS, 8);
            w.u16(m.size);
            w.u16(m.offset);
            w.bytes(&m.fragment);
        }
        Message::Ack(m) => {
            put_acked(&mut w, m.acked_id);
            if let Some(n) = m.not_registered {
                w.elem(FIELD_FLAGS, 6);
                w.u16(bit(n, ACK_N)); // last element: no padding (MS-PNRP §2.2.2.7)
            }
        }
        Message::Lookup(m) => {
            w.elem(FIELD_LOOKUP_CONTROLS, 12);
            w.u16(bit(m.accept_any, LOOKUP_A));
            w.u16(m.precision);
            w.bytes(&[m.criteria.code(), m.reason.code(), 0, 0]);
            w.id_elem(FIELD_TARGET_PNRP_ID, m.target);
            w.id_elem(FIELD_VALIDATE_PNRP_ID, m.validate_id);
            if let Some(e) = &m.best_match {
                w.route_entry(e, true);
            }
            w.endpoint_array(&m.flagged_path);
        }
    }
}

fn bit(on: bool, mask: u16) -> u16 {
    if on {
        mask
    } else {
        0
    }
}

fn put_acked(w: &mut Writer<'_>, acked: u32) {
    w.elem(FIELD_HEADER_ACKED, 8);
    w.u32(acked);
}

fn get_acked(r: &mut Reader<'_>) -> Result<u32, DecodeError> {
    elem_exact(r, FIELD_HEADER_ACKED, 8)?.u32_be()
}

fn opt_route_entry(r: &mut Reader<'_>) -> Result<Option<RouteEntry>, DecodeError> {
    if next_is(r, FIELD_ROUTING_ENTRY) {
        Ok(Some(route_entry(r)?))
    } else {
        Ok(None)
    }
}

/// Decodes one datagram, checking every FieldID, Length, array header, count and range (MS-PNRP §3.1.5.2).
pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
    let mut r = Reader::new(bytes);
    let (kind, message_id) = get_header(&mut r)?;
    let msg = match kind {
        MessageType::Solicit => {
            let solicit_type = if next_is(&r, FIELD_SOLICIT_CONTROLS) {
                let mut b = elem_exact(&mut r, FIELD_SOLICIT_CONTROLS, 6)?;
                let _reserved = b.u8()?;
                Some(match b.u8()? {
                    0 => SolicitType::Any,
                    1 => SolicitType::Local,
                    _ => return Err(DecodeError::BadValue("unknown SolicitType")),
                })
            } else {
                None
            };
            let route_entry = opt_route_entry(&mut r)?;
            let hashed_nonce = elem_exact(&mut r, FIELD_HASHED_NONCE, 24)?.array()?;
            Message::Solicit(Box::new(Solicit {
                message_id,
                solicit_type,
                route_entry,
                hashed_nonce,
            }))
        }
        MessageType::Advertise => {
            let acked_id = get_acked(&mut r)?;
            let ids = id_array(&mut r)?;
            let hashed_nonce = elem_exact(&mut r, FIELD_HASHED_NONCE, 24)?.array()?;
            Message::Advertise(Box::new(Advertise {
                message_id,
                acked_id,
                ids,
                hashed_nonce,
            }))
        }
        MessageType::Request => {
            let nonce = elem_exact(&mut r, FIELD_NONCE, 20)?.array()?;
            let ids = id_array(&mut r)?;
            Message::Request(Box::new(Request {
                message_id,
                nonce,
                ids,
            }))
        }
        MessageType::Flood => {
            // Reserved bits and Reserved2 may hold anything (MS-PNRP §3.1.5.2).
            let dont_ack = elem_exact(&mut r, FIELD_FLOOD_CONTROLS, 7)?.u16_be()? & FLOOD_D != 0;
            let validate_id = id_elem(&mut r, FIELD_VALIDATE_PNRP_ID)?;
            let revoke_cpa = if next_is(&r, FIELD_REVOKE_CPA) {
                let body = elem(&mut r, FIELD_REVOKE_CPA)?;
                skip_pad(&mut r)?;
                let cpa = decode_cpa(body)?;
                if !cpa.revoke {
                    return Err(DecodeError::BadCpa("REVOKE_CPA without the R flag"));
                }
                Some(Arc::new(cpa))
            } else {
                None
            };
            let route_entry = opt_route_entry(&mut r)?;
            let already_flooded = endpoint_array(&mut r, 0, ENDPOINT_LIST_MAX)?;
            Message::Flood(Box::new(Flood {
                message_id,
                dont_ack,
                validate_id,
                revoke_cpa,
                route_entry,
                already_flooded,
            }))
        }
        MessageType::Inquire => {
            let f = elem_exact(&mut r, FIELD_FLAGS, 6)?.u16_be()?;
            let flags = InquireFlags {
                cpa: f & INQUIRE_A != 0,
                extended_payload: f & INQUIRE_X != 0,
                cert_chain: f & INQUIRE_C != 0,
            };
            let validate_id = id_elem(&mut r, FIELD_VALIDATE_PNRP_ID)?;
            let nonce = if next_is(&r, FIELD_NONCE) {
                Some(elem_exact(&mut r, FIELD_NONCE, 20)?.array()?)
            } else {
                None
            };
            Message::Inquire(Box::new(Inquire {
                message_id,
                flags,
                validate_id,
                nonce,
            }))
        }
        MessageType::Authority => {
            let acked_id = get_acked(&mut r)?;
            let mut split = elem_exact(&mut r, FIELD_SPLIT_CONTROLS, 8)?;
            let (size, offset) = (split.u16_be()?, split.u16_be()?);
            let fragment = r.take(r.remaining())?;
            check_fragment(size, offset, fragment.len())?;
            Message::Authority(Box::new(Authority {
                message_id,
                acked_id,
                size,
                offset,
                fragment: Arc::from(fragment),
            }))
        }
        MessageType::Ack => {
            let acked_id = get_acked(&mut r)?;
            let not_registered = if next_is(&r, FIELD_FLAGS) {
                Some(elem_exact(&mut r, FIELD_FLAGS, 6)?.u16_be()? & ACK_N != 0)
            } else {
                None
            };
            Message::Ack(Ack {
                message_id,
                acked_id,
                not_registered,
            })
        }
        MessageType::Lookup => {
            let mut c = elem_exact(&mut r, FIELD_LOOKUP_CONTROLS, 12)?;
            let accept_any = c.u16_be()? & LOOKUP_A != 0;
            let precision = c.u16_be()?;
            if precision > 256 {
                return Err(DecodeError::BadValue("precision above 256 bits"));
            }
            let criteria = ResolveCriteria::from_code(c.u8()?)
                .ok_or(DecodeError::BadValue("unknown ResolveCriteria"))?;
            let reason = ReasonCode::from_code(c.u8()?);
            let target = id_elem(&mut r, FIELD_TARGET_PNRP_ID)?;
            let validate_id = id_elem(&mut r, FIELD_VALIDATE_PNRP_ID)?;
            let best_match = opt_route_entry(&mut r)?;
            let flagged_path = endpoint_array(&mut r, 1, ENDPOINT_LIST_MAX)?;
            Message::Lookup(Box::new(Lookup {
                message_id,
                accept_any,
                precision,
                criteria,
                reason,
                target,
                validate_id,
                best_match,
                flagged_path,
            }))
        }
    };
    if !r.is_empty() {
        return Err(DecodeError::Trailing(r.remaining()));
    }
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pnrp::id::PnrpId;
    use crate::pnrp::wire::testgen::{any_message, route_entry_k, signed_cpa};
    use crate::Endpoint;
    use proptest::prelude::*;
    use std::net::Ipv6Addr;

    fn eps(n: usize) -> Vec<Endpoint> {
        (0..n)
            .map(|i| Endpoint::new(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 1, i as u16), 3540))
            .collect()
    }

    fn check(msg: Message, expected: usize) {
        let bytes = msg.to_bytes();
        assert_eq!(bytes.len(), expected, "{:?}", msg.kind());
        assert_eq!(msg.encoded_len(), expected);
        assert_eq!(decode(&bytes), Ok(msg));
    }

    #[test]
    fn sizes_follow_section_7_3() {
        let id = PnrpId::new(1, 2);
        for k in [1, 3, 20] {
            let e = Some(route_entry_k(k));
            for (ctl, extra) in [(None, 0), (Some(SolicitType::Local), 8)] {
                let s = |route_entry| Solicit {
                    message_id: 1,
                    solicit_type: ctl,
                    route_entry,
                    hashed_nonce: [3; 20],
                };
                check(Message::Solicit(Box::new(s(None))), 36 + extra);
                check(Message::Solicit(Box::new(s(e.clone()))), 36 + extra + 44 + 16 * k);
            }
        }
        for n in [0, 1, 5] {
            let ids = vec![id; n];
            check(
                Message::Advertise(Box::new(Advertise {
                    message_id: 1,
                    acked_id: 2,
                    ids: ids.clone(),
                    hashed_nonce: [1; 20],
                })),
                56 + 32 * n,
            );
            check(
                Message::Request(Box::new(Request {
                    message_id: 1,
                    nonce: [1; 16],
                    ids,
                })),
                44 + 32 * n,
            );
        }
        let cpa = Arc::new(signed_cpa(3, true));
        let cpa_len = cpa.encoded_len();
        for (n, k, with_cpa) in [(0, 0, false), (22, 2, false), (3, 0, true), (1, 4, true)] {
            let f = Flood {
                message_id: 1,
                dont_ack: n % 2 == 0,
                validate_id: id,
                revoke_cpa: with_cpa.then(|| cpa.clone()),
                route_entry: (k > 0).then(|| route_entry_k(k)),
                already_flooded: eps(n),
            };
            let c = if with_cpa {
                4 + cpa_len + pad4(4 + cpa_len)
            } else {
                0
            };
            let r = if k > 0 { 44 + 16 * k } else { 0 };
            check(Message::Flood(Box::new(f)), 56 + c + r + 12 + 18 * n);
        }
        for (nonce, size) in [(None, 56), (Some([7; 16]), 76)] {
            let flags = InquireFlags {
                cpa: true,
                extended_payload: false,
                cert_chain: true,
            };
            check(
                Message::Inquire(Box::new(Inquire {
                    message_id: 1,
                    flags,
                    validate_id: id,
                    nonce,
                })),
                size,
            );
        }
        let frag: Arc<[u8]> = Arc::from(vec![9u8; 1188]);
        check(
            Message::Authority(Box::new(Authority {
                message_id: 1,
                acked_id: 2,
                size: 1188,
                offset: 0,
                fragment: frag,
            })),
            1216,
        );
        check(
            Message::Ack(Ack {
                message_id: 1,
                acked_id: 2,
                not_registered: None,
            }),
            20,
        );
        check(
            Message::Ack(Ack {
                message_id: 1,
                acked_id: 2,
                not_registered: Some(false),
            }),
            26,
        );
        let lookup = |best_match, n| Lookup {
            message_id: 1,
            accept_any: true,
            precision: 200,
            criteria: ResolveCriteria::UpperBits,
            reason: ReasonCode::SplitDetection,
            target: id,
            validate_id: PnrpId::ZERO,
            best_match,
            flagged_path: eps(n),
        };
        check(Message::Lookup(Box::new(lookup(None, 1))), 126);
        check(
            Message::Lookup(Box::new(lookup(Some(route_entry_k(20)), 22))),
            868,
        );
    }

    #[test]
    fn malformed_datagrams_are_typed_errors() {
        let ack = Message::Ack(Ack {
            message_id: 1,
            acked_id: 2,
            not_registered: Some(true),
        })
        .to_bytes();
        let mut t5 = ack.clone();
        t5[7] = 0x05;
        assert_eq!(decode(&t5), Err(DecodeError::UnknownType(5)));
        let mut long = ack.clone();
        long.extend_from_slice(&[0, 0]); // zero padding after the last element is tolerated ...
        assert!(decode(&long).is_ok());
        long.extend_from_slice(&[0, 0]); // ... anything beyond it is not
        assert_eq!(decode(&long).map_err(|e| e.reason()), Err("trailing"));
        assert_eq!(decode(&ack[..22]).map_err(|e| e.reason()), Err("short"));
        assert_eq!(decode(&ack[..25]).map_err(|e| e.reason()), Err("bad_length"));
        let mut field = ack.clone();
        field[13] = 0x19;
        assert_eq!(
            decode(&field),
            Err(DecodeError::BadField {
                expected: 0x18,
                found: 0x19
            })
        );

        let lookup = |path: Vec<Endpoint>| {
            Message::Lookup(Box::new(Lookup {
                message_id: 1,
                accept_any: false,
                precision: 0,
                criteria: ResolveCriteria::Exact,
                reason: ReasonCode::AppRequest,
                target: PnrpId::ZERO,
                validate_id: PnrpId::ZERO,
                best_match: None,
                flagged_path: path,
            }))
            .to_bytes()
        };
        assert!(matches!(decode(&lookup(vec![])), Err(DecodeError::BadValue(_))));
        assert!(matches!(decode(&lookup(eps(23))), Err(DecodeError::BadValue(_))));
        assert_eq!(
            decode(&lookup(vec![Endpoint::new(Ipv6Addr::LOCALHOST, 1024)])),
            Err(DecodeError::BadPort(1024))
        );
        let mut criteria = lookup(eps(1));
        criteria[20] = 0x03;
        assert!(matches!(decode(&criteria), Err(DecodeError::BadValue(_))));

        // FLOOD: a REVOKE_CPA must carry R; Reserved2 may hold anything.
        let mut f = Flood {
            message_id: 1,
            dont_ack: true,
            validate_id: PnrpId::ZERO,
            revoke_cpa: Some(Arc::new(signed_cpa(1, false))),
            route_entry: None,
            already_flooded: vec![],
        };
        assert!(matches!(
            decode(&Message::Flood(Box::new(f.clone())).to_bytes()),
            Err(DecodeError::BadCpa(_))
        ));
        f.revoke_cpa = None;
        let mut ok = Message::Flood(Box::new(f.clone())).to_bytes();
        ok[18] = 0x7F;
        assert_eq!(decode(&ok), Ok(Message::Flood(Box::new(f))));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn round_trip_and_exact_len(msg in any_message()) {
            let mut out = vec![0xAA; 3]; // encode appends; alignment counts from the message start
            encode(&msg, &mut out);
            prop_assert_eq!(out.len() - 3, msg.encoded_len());
            prop_assert_eq!(decode(&out[3..]), Ok(msg));
        }

        #[test]
        fn decode_never_panics_on_noise(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn decode_never_panics_on_noise_after_a_valid_header(t in any::<u8>(), tail in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut bytes = vec![0x00, 0x10, 0x00, 0x0C, 0x51, 0x04, 0x00, t, 0, 0, 0, 1];
            bytes.extend_from_slice(&tail);
            let _ = decode(&bytes);
        }

        #[test]
        fn mutated_encodings_never_panic(
            msg in any_message(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut bytes = msg.to_bytes();
            for (i, v) in edits {
                let i = i.index(bytes.len());
                bytes[i] = v;
            }
            for input in [&bytes[..], &bytes[..cut.index(bytes.len() + 1)]] {
                if let Ok(m) = decode(input) {
                    let again = m.to_bytes();
                    prop_assert_eq!(again.len(), m.encoded_len());
                    prop_assert_eq!(decode(&again), Ok(m));
                }
            }
        }
    }
}
