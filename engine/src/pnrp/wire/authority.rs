//! AUTHORITY_BUFFER encoding (MS-PNRP §2.2.2.6) and its fragmentation into AUTHORITY messages and
//! reassembly (MS-PNRP §3.2.5.10, §3.1.5.6).

use super::cpa_codec::{cpa_encoded_len, decode_cpa, encode_cpa};
use super::elements::*;
use super::error::{DecodeError, Reader};
use super::header::*;
use super::payload::{decode_extended_payload, encode_extended_payload, extended_payload_encoded_len};
use crate::pnrp::message::*;
use crate::pnrp::name::CLASSIFIER_MAX_CHARS;
use std::sync::Arc;

/// Bytes before the fragment in an AUTHORITY datagram: header 12 + HEADER_ACKED 8 + SPLIT_CONTROLS 8.
pub const AUTHORITY_PREFIX_LEN: usize = 28;

/// AUTHORITY_BUFFER FLAGS_FIELD bits L, B, N.
const FLAG_L: u16 = 0x0200;
const FLAG_B: u16 = 0x0008;
const FLAG_N: u16 = 0x0001;

/// Unpadded lengths of the optional elements, in wire order (None = absent).
fn optional_lens(b: &AuthorityBuffer) -> [Option<usize>; 5] {
    [
        b.cert_chain.as_ref().map(|c| 4 + c.len()),
        b.classifier
            .as_ref()
            .map(|c| array_elem_len(c.encode_utf16().count(), 2)),
        b.extended_payload
            .as_ref()
            .map(|p| 4 + extended_payload_encoded_len(p)),
        b.route_entry.as_ref().map(route_entry_elem_len),
        b.cpa.as_ref().map(|c| 4 + cpa_encoded_len(c)),
    ]
}

impl AuthorityBuffer {
    /// Bytes of the encoded buffer, computed arithmetically; equals `encode_authority_buffer(..).len()`.
    pub fn encoded_len(&self) -> usize {
        let lens = optional_lens(self);
        let last = lens.iter().rposition(Option::is_some);
        // FLAGS_FIELD with its mandatory 2 padding bytes (an N-only buffer is 8 bytes, MS-PNRP §2.2);
        // every element but the last is padded to 4. FLAGS keeps later elements aligned.
        8 + lens
            .iter()
            .enumerate()
            .filter_map(|(i, l)| l.map(|l| if Some(i) == last { l } else { l + pad4(l) }))
            .sum::<usize>()
    }
}

/// The encoded AUTHORITY_BUFFER (alignment counted from its first byte).
pub fn encode_authority_buffer(b: &AuthorityBuffer) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.encoded_len());
    encode_authority_buffer_into(b, &mut out);
    out
}

/// Appends the encoded AUTHORITY_BUFFER to `out` (alignment counted from `out`'s current end).
pub fn encode_authority_buffer_into(b: &AuthorityBuffer, out: &mut Vec<u8>) {
    let lens = optional_lens(b);
    let last = lens.iter().rposition(Option::is_some);
    let more = |i: usize| last.is_some_and(|l| l > i);
    let mut w = Writer::new(out);
    w.elem(FIELD_FLAGS, 6);
    let f = &b.flags;
    let mut flags = 0;
    for (on, mask) in [(f.leaf_set, FLAG_L), (f.busy, FLAG_B), (f.not_registered, FLAG_N)] {
        if on {
            flags |= mask;
        }
    }
    w.u16(flags);
    w.bytes(&[0, 0]); // mandatory padding
    if let Some(c) = &b.cert_chain {
        w.elem(FIELD_CERT_CHAIN, 4 + c.len());
        w.bytes(c);
        if more(0) {
            w.pad();
        }
    }
    if let Some(c) = &b.classifier {
        // MS-PNRP §2.2.2.6.1 leaves the byte order open; peerlab choice: UTF-16 code units, big-endian
        // on the wire, as Wireshark's PNRP dissector reads them.
        w.array_header(FIELD_CLASSIFIER, c.encode_utf16().count(), FIELD_WCHAR, 2);
        for unit in c.encode_utf16() {
            w.u16(unit);
        }
        if more(1) {
            w.pad();
        }
    }
    if let Some(p) = &b.extended_payload {
        w.elem(FIELD_EXTENDED_PAYLOAD, 4 + extended_payload_encoded_len(p));
        encode_extended_payload(p, w.vec());
        if more(2) {
            w.pad();
        }
    }
    if let Some(e) = &b.route_entry {
        w.route_entry(e, more(3));
    }
    if let Some(c) = &b.cpa {
        w.elem(FIELD_VALIDATE_CPA, 4 + cpa_encoded_len(c));
        encode_cpa(c, w.vec());
    }
}

/// Decodes a complete (reassembled) AUTHORITY_BUFFER, checking every element (MS-PNRP §2.2.2.6, §3.1.5.2).
pub fn decode_authority_buffer(bytes: &[u8]) -> Result<AuthorityBuffer, DecodeError> {
    if bytes.len() > AUTHORITY_BUFFER_MAX {
        return Err(DecodeError::BadValue("AUTHORITY_BUFFER above 37,348 bytes"));
    }
    let mut r = Reader::new(bytes);
    let f = elem_exact(&mut r, FIELD_FLAGS, 6)?.u16_be()?;
    let flags = AuthorityFlags {
        leaf_set: f & FLAG_L != 0,
        busy: f & FLAG_B != 0,
        not_registered: f & FLAG_N != 0,
    };
    let cert_chain = opaque(&mut r, FIELD_CERT_CHAIN)?;
    let classifier = if next_is(&r, FIELD_CLASSIFIER) {
        let (_, units) = array(&mut r, FIELD_CLASSIFIER, FIELD_WCHAR, 2)?;
        let text: String =
            char::decode_utf16(units.chunks_exact(2).map(|u| u16::from_be_bytes([u[0], u[1]])))
                .collect::<Result<_, _>>()
                .map_err(|_| DecodeError::BadValue("classifier is not valid UTF-16"))?;
        if text.chars().count() > CLASSIFIER_MAX_CHARS || text.contains('\0') {
            return Err(DecodeError::BadValue(
                "classifier longer than 149 characters or with NUL",
            ));
        }
        Some(text)
    } else {
        None
    };
    let extended_payload = structure(&mut r, FIELD_EXTENDED_PAYLOAD, decode_extended_payload)?;
    let route_entry = if next_is(&r, FIELD_ROUTING_ENTRY) {
        Some(route_entry(&mut r)?)
    } else {
        None
    };
    let cpa = structure(&mut r, FIELD_VALIDATE_CPA, decode_cpa)?;
    if !r.is_empty() {
        return Err(DecodeError::Trailing(r.remaining()));
    }
    Ok(AuthorityBuffer {
        flags,
        cert_chain,
        classifier,
        extended_payload,
        route_entry,
        cpa,
    })
}

/// An optional element holding one structure (EXTENDED_PAYLOAD, VALIDATE_CPA), decoded by `decode`, and
/// its padding.
fn structure<T>(
    r: &mut Reader<'_>,
    field: u16,
    decode: fn(&[u8]) -> Result<T, DecodeError>,
) -> Result<Option<Arc<T>>, DecodeError> {
    if !next_is(r, field) {
        return Ok(None);
    }
    let body = elem(r, field)?;
    skip_pad(r)?;
    Ok(Some(Arc::new(decode(body)?)))
}

/// An optional opaque element (CERT_CHAIN) and its padding.
fn opaque(r: &mut Reader<'_>, field: u16) -> Result<Option<Vec<u8>>, DecodeError> {
    if !next_is(r, field) {
        return Ok(None);
    }
    let body = elem(r, field)?;
    skip_pad(r)?;
    Ok(Some(body.to_vec()))
}

/// Checks SPLIT_CONTROLS against the fragment it carries (MS-PNRP §3.1.5.2): Size ≤ 0x91E4, Offset a multiple
/// of 1,188, 1..=1,188 bytes, inside Size, and only the last fragment shorter than 1,188.
pub(crate) fn check_fragment(size: u16, offset: u16, len: usize) -> Result<(), DecodeError> {
    let (size, offset) = (size as usize, offset as usize);
    let bad = |what| Err(DecodeError::BadSplit(what));
    if size == 0 || size > AUTHORITY_BUFFER_MAX {
        return bad("Size out of 1..=37,348");
    }
    if !offset.is_multiple_of(AUTHORITY_FRAGMENT_MAX) {
        return bad("Offset not a multiple of 1,188");
    }
    if len == 0 || len > AUTHORITY_FRAGMENT_MAX {
        return bad("fragment length out of 1..=1,188");
    }
    if offset + len > size {
        return bad("fragment ends past Size");
    }
    if offset + len < size && len != AUTHORITY_FRAGMENT_MAX {
        return bad("short fragment before the end");
    }
    Ok(())
}

/// Cuts an encoded AUTHORITY_BUFFER into AUTHORITY messages of ≤ 1,188 bytes with identical headers
/// (MS-PNRP §3.2.5.10). An empty buffer yields no message. Buffers above 0x91E4 bytes are an encoder bug
/// (`debug_assert`); their Size saturates and receivers drop them.
pub fn fragment_authority(message_id: u32, acked_id: u32, buffer: &[u8]) -> Vec<Authority> {
    authority_fragments(message_id, acked_id, buffer).collect()
}

/// The AUTHORITY messages of [`fragment_authority`], one at a time (no list is built).
pub fn authority_fragments(
    message_id: u32,
    acked_id: u32,
    buffer: &[u8],
) -> impl Iterator<Item = Authority> + '_ {
    debug_assert!(
        buffer.len() <= AUTHORITY_BUFFER_MAX,
        "AUTHORITY_BUFFER of {} bytes",
        buffer.len()
    );
    let size = u16::try_from(buffer.len()).unwrap_or(u16::MAX);
    buffer
        .chunks(AUTHORITY_FRAGMENT_MAX)
        .enumerate()
        .map(move |(i, piece)| Authority {
            message_id,
            acked_id,
            size,
            offset: u16::try_from(i * AUTHORITY_FRAGMENT_MAX).unwrap_or(u16::MAX),
            fragment: Arc::from(piece),
        })
}

/// One reassembly context (MS-PNRP §3.1.5.6): collects the fragments of one AUTHORITY_BUFFER.
#[derive(Clone, Debug)]
pub struct Reassembly {
    bytes: Vec<u8>,
    /// Bit i set = fragment i received (at most 32 fragments of 1,188 bytes).
    received: u32,
    expected: u32,
}

impl Reassembly {
    /// A context for a buffer of `size` bytes (as announced in SPLIT_CONTROLS).
    pub fn new(size: u16) -> Result<Self, DecodeError> {
        check_fragment(size, 0, (size as usize).min(AUTHORITY_FRAGMENT_MAX))?;
        let n = (size as usize).div_ceil(AUTHORITY_FRAGMENT_MAX) as u32;
        let expected = if n >= 32 { u32::MAX } else { (1u32 << n) - 1 };
        Ok(Reassembly {
            bytes: vec![0; size as usize],
            received: 0,
            expected,
        })
    }

    /// Adds a fragment; `Ok(true)` once every byte has arrived. A fragment whose Size differs from the
    /// context's, or that is inconsistent, is an error (the caller drops the whole context). Duplicates
    /// are harmless.
    pub fn add(&mut self, frag: &Authority) -> Result<bool, DecodeError> {
        if frag.size as usize != self.bytes.len() {
            return Err(DecodeError::BadSplit("Size differs between fragments"));
        }
        check_fragment(frag.size, frag.offset, frag.fragment.len())?;
        let at = frag.offset as usize;
        let dst = self
            .bytes
            .get_mut(at..at + frag.fragment.len())
            .ok_or(DecodeError::BadSplit("out of range"))?;
        dst.copy_from_slice(&frag.fragment);
        self.received |= 1 << (at / AUTHORITY_FRAGMENT_MAX);
        Ok(self.is_complete())
    }

    /// True when every fragment has arrived.
    pub fn is_complete(&self) -> bool {
        self.received == self.expected
    }

    /// The whole buffer once complete.
    pub fn into_bytes(self) -> Option<Vec<u8>> {
        self.is_complete().then_some(self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pnrp::wire::testgen::{any_authority_buffer, route_entry_k, signed_cpa};
    use crate::pnrp::wire::{decode, encode};
    use proptest::prelude::*;

    #[test]
    fn n_only_buffer_is_8_bytes() {
        let b = AuthorityBuffer {
            flags: AuthorityFlags {
                not_registered: true,
                ..Default::default()
            },
            cert_chain: None,
            classifier: None,
            extended_payload: None,
            route_entry: None,
            cpa: None,
        };
        let bytes = encode_authority_buffer(&b);
        assert_eq!(bytes, [0x00, 0x40, 0x00, 0x06, 0x00, 0x01, 0x00, 0x00]);
        assert_eq!(decode_authority_buffer(&bytes), Ok(b));
    }

    #[test]
    fn classifier_is_utf16_big_endian_and_padded_only_before_more() {
        let mut b = AuthorityBuffer {
            flags: AuthorityFlags {
                leaf_set: true,
                busy: true,
                not_registered: false,
            },
            cert_chain: None,
            classifier: Some("ab€".into()),
            extended_payload: None,
            route_entry: None,
            cpa: None,
        };
        let bytes = encode_authority_buffer(&b);
        assert_eq!(&bytes[4..6], &[0x02, 0x08]);
        assert_eq!(
            &bytes[8..20],
            &[0x00, 0x85, 0x00, 18, 0, 3, 0, 14, 0x00, 0x84, 0, 2]
        );
        assert_eq!(&bytes[20..], &[0, b'a', 0, b'b', 0x20, 0xAC]);
        b.route_entry = Some(route_entry_k(1));
        let with_entry = encode_authority_buffer(&b);
        assert_eq!(with_entry.len(), 8 + 20 + 58);
        assert_eq!(&with_entry[26..28], &[0, 0]);
        assert_eq!(decode_authority_buffer(&with_entry), Ok(b));
    }

    #[test]
    fn large_buffer_fragments_and_reassembles() {
        let b = AuthorityBuffer {
            flags: AuthorityFlags::default(),
            cert_chain: Some((0..3000u32).map(|i| i as u8).collect()),
            classifier: Some("x".repeat(149)),
            extended_payload: None,
            route_entry: Some(route_entry_k(20)),
            cpa: Some(Arc::new(signed_cpa(1, false))),
        };
        let bytes = encode_authority_buffer(&b);
        assert!(bytes.len() > 2 * AUTHORITY_FRAGMENT_MAX);
        let frags = fragment_authority(7, 3, &bytes);
        assert_eq!(frags.len(), bytes.len().div_ceil(AUTHORITY_FRAGMENT_MAX));
        let mut ctx = Reassembly::new(frags[0].size).unwrap();
        // Out of order, with a duplicate, through the datagram codec.
        for f in frags.iter().rev().chain(frags.first()) {
            let msg = Message::Authority(Box::new(f.clone()));
            let mut dgram = Vec::new();
            encode(&msg, &mut dgram);
            assert!(dgram.len() <= 1216);
            assert_eq!(decode(&dgram), Ok(msg));
            assert!(!ctx.is_complete() || f.offset == 0);
            ctx.add(f).unwrap();
        }
        let whole = ctx.into_bytes().unwrap();
        assert_eq!(whole, bytes);
        assert_eq!(decode_authority_buffer(&whole), Ok(b));
        let mut other = Reassembly::new(frags[0].size - 1).unwrap();
        assert!(matches!(other.add(&frags[0]), Err(DecodeError::BadSplit(_))));
    }

    #[test]
    fn split_controls_are_checked() {
        assert!(check_fragment(8, 0, 8).is_ok());
        assert!(check_fragment(0x91E5, 0, 1188).is_err());
        assert!(check_fragment(2000, 1, 1188).is_err());
        assert!(check_fragment(2000, 0, 1000).is_err());
        assert!(check_fragment(2000, 1188, 813).is_err());
        assert!(check_fragment(2000, 1188, 812).is_ok());
        assert!(check_fragment(2000, 0, 0).is_err());
    }

    proptest! {
        #[test]
        fn buffer_round_trips_and_len_is_exact(b in any_authority_buffer()) {
            let bytes = encode_authority_buffer(&b);
            prop_assert_eq!(bytes.len(), b.encoded_len());
            prop_assert_eq!(decode_authority_buffer(&bytes), Ok(b));
        }

        #[test]
        fn buffer_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = decode_authority_buffer(&bytes);
        }

        #[test]
        fn mutated_buffers_never_panic_and_reencode(
            b in any_authority_buffer(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut bytes = encode_authority_buffer(&b);
            for (i, v) in edits {
                let i = i.index(bytes.len());
                bytes[i] = v;
            }
            for input in [&bytes[..], &bytes[..cut.index(bytes.len() + 1)]] {
                if let Ok(d) = decode_authority_buffer(input) {
                    // Whatever decodes re-encodes to something that decodes to the same value.
                    prop_assert_eq!(decode_authority_buffer(&encode_authority_buffer(&d)), Ok(d));
                }
            }
        }
    }
}
