//! Element framing shared by all messages (MS-PNRP §2.2): `FieldID | Length | body`, 4-byte
//! alignment from the start of the datagram (or AUTHORITY_BUFFER), array elements, ROUTE_ENTRY and
//! IPV6_ENDPOINT (MS-PNRP §2.2.3.4, §2.2.3.6).

use super::error::{DecodeError, Reader};
use super::header::*;
use crate::pnrp::id::PnrpId;
use crate::pnrp::message::{RouteEntry, ROUTE_ENTRY_MAX_ADDRS};
use crate::Endpoint;
use std::net::Ipv6Addr;

/// Array header bytes inside an array element's body.
const ARRAY_HEADER_LEN: usize = 8;
/// Bytes of one IPV6_ENDPOINT.
pub(crate) const ENDPOINT_LEN: usize = 18;
/// Bytes of one PNRP ID.
pub(crate) const ID_LEN: usize = 32;
/// Largest NumEntries of any array (MS-PNRP §2.2.2.2, §2.2.2.6).
const ARRAY_MAX_ENTRIES: usize = 0x7FFF;

/// Padding that brings `len` to a multiple of 4.
pub(crate) const fn pad4(len: usize) -> usize {
    (4 - len % 4) % 4
}

/// Bytes of a ROUTING_ENTRY element without padding: 42 + 16k.
pub(crate) fn route_entry_elem_len(e: &RouteEntry) -> usize {
    42 + 16 * e.addrs.len()
}

/// Bytes of an array element of `n` entries of `entry_len` bytes: 12 + n·entry_len.
pub(crate) const fn array_elem_len(n: usize, entry_len: usize) -> usize {
    4 + ARRAY_HEADER_LEN + n * entry_len
}

/// Appends big-endian fields to a buffer, aligning relative to where the message started.
pub(crate) struct Writer<'a> {
    out: &'a mut Vec<u8>,
    base: usize,
}

impl<'a> Writer<'a> {
    /// A writer whose alignment origin is the current end of `out`.
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Self {
        let base = out.len();
        Writer { out, base }
    }
    /// Bytes written so far.
    pub(crate) fn len(&self) -> usize {
        self.out.len() - self.base
    }
    /// Raw bytes.
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.out.extend_from_slice(b);
    }
    /// One byte.
    pub(crate) fn u8(&mut self, v: u8) {
        self.out.push(v);
    }
    /// A big-endian u16.
    pub(crate) fn u16(&mut self, v: u16) {
        self.bytes(&v.to_be_bytes());
    }
    /// A big-endian u32.
    pub(crate) fn u32(&mut self, v: u32) {
        self.bytes(&v.to_be_bytes());
    }
    /// An element prefix; `len` counts the prefix and the body, never padding.
    pub(crate) fn elem(&mut self, field: u16, len: usize) {
        self.u16(field);
        self.u16(len as u16);
    }
    /// Zero padding to the next multiple of 4 from the message start.
    pub(crate) fn pad(&mut self) {
        let n = pad4(self.len());
        self.out.resize(self.out.len() + n, 0);
    }
    /// Direct access for nested encoders (the CPA codec).
    pub(crate) fn vec(&mut self) -> &mut Vec<u8> {
        self.out
    }
    /// A 32-byte PNRP ID, most-significant byte first (MS-PNRP §2.2 does not say; our reading).
    pub(crate) fn id(&mut self, id: PnrpId) {
        self.bytes(&id.to_be_bytes());
    }
    /// A TARGET/VALIDATE_PNRP_ID element (36 bytes).
    pub(crate) fn id_elem(&mut self, field: u16, id: PnrpId) {
        self.elem(field, 4 + ID_LEN);
        self.id(id);
    }
    /// An array element header.
    pub(crate) fn array_header(&mut self, field: u16, n: usize, entry_type: u16, entry_len: usize) {
        self.elem(field, array_elem_len(n, entry_len));
        self.u16(n as u16);
        self.u16((ARRAY_HEADER_LEN + n * entry_len) as u16);
        self.u16(entry_type);
        self.u16(entry_len as u16);
    }
    /// A PNRP_ID_ARRAY element.
    pub(crate) fn id_array(&mut self, ids: &[PnrpId]) {
        self.array_header(FIELD_PNRP_ID_ARRAY, ids.len(), FIELD_PNRP_ID, ID_LEN);
        for id in ids {
            self.id(*id);
        }
    }
    /// An IPV6_ENDPOINT_ARRAY element (port first, big-endian; MS-PNRP §2.2.3.6).
    pub(crate) fn endpoint_array(&mut self, eps: &[Endpoint]) {
        self.array_header(
            FIELD_IPV6_ENDPOINT_ARRAY,
            eps.len(),
            FIELD_IPV6_ENDPOINT,
            ENDPOINT_LEN,
        );
        for ep in eps {
            self.u16(ep.port);
            self.bytes(&ep.addr.octets());
        }
    }
    /// A ROUTING_ENTRY element, padded when `more` elements follow (MS-PNRP §2.2.3.4).
    pub(crate) fn route_entry(&mut self, e: &RouteEntry, more: bool) {
        self.elem(FIELD_ROUTING_ENTRY, route_entry_elem_len(e));
        self.id(e.id);
        self.bytes(&[4, 0]);
        self.u16(e.port);
        self.u8(0);
        self.u8(e.addrs.len() as u8);
        for a in e.addrs.iter() {
            self.bytes(&a.octets());
        }
        if more {
            self.pad();
        }
    }
}

/// Skips the padding after an element: to the next multiple of 4 unless the input ends here
/// (MS-PNRP §2.2 decoder rule; mandatory pads of fixed elements are tolerated missing at the very end).
pub(crate) fn skip_pad(r: &mut Reader<'_>) -> Result<(), DecodeError> {
    if r.is_empty() {
        return Ok(());
    }
    let n = pad4(r.pos());
    if r.remaining() < n {
        return Err(DecodeError::Trailing(r.remaining()));
    }
    r.skip(n)
}

/// True when the next element is `field`.
pub(crate) fn next_is(r: &Reader<'_>, field: u16) -> bool {
    r.peek_u16_be() == Some(field)
}

/// Reads an element that must be `field`, returning its body (Length − 4 bytes); padding is not consumed.
pub(crate) fn elem<'a>(r: &mut Reader<'a>, field: u16) -> Result<&'a [u8], DecodeError> {
    let found = r.u16_be()?;
    if found != field {
        return Err(DecodeError::BadField {
            expected: field,
            found,
        });
    }
    let length = r.u16_be()?;
    let body_len = (length as usize)
        .checked_sub(4)
        .ok_or(DecodeError::BadLength { field, length })?;
    r.take(body_len)
        .map_err(|_| DecodeError::BadLength { field, length })
}

/// Reads an element that must be `field` with exactly `length` (prefix included), then its padding.
pub(crate) fn elem_exact<'a>(
    r: &mut Reader<'a>,
    field: u16,
    length: usize,
) -> Result<Reader<'a>, DecodeError> {
    let body = elem(r, field)?;
    if body.len() + 4 != length {
        return Err(DecodeError::BadLength {
            field,
            length: (body.len() + 4) as u16,
        });
    }
    skip_pad(r)?;
    Ok(Reader::new(body))
}

/// Reads a 36-byte TARGET/VALIDATE_PNRP_ID element.
pub(crate) fn id_elem(r: &mut Reader<'_>, field: u16) -> Result<PnrpId, DecodeError> {
    let mut body = elem_exact(r, field, 4 + ID_LEN)?;
    Ok(PnrpId::from_be_bytes(body.array()?))
}

/// Reads an array element, checking every header field (MS-PNRP §3.1.5.2); returns the entries' bytes and
/// count.
pub(crate) fn array<'a>(
    r: &mut Reader<'a>,
    field: u16,
    entry_type: u16,
    entry_len: usize,
) -> Result<(usize, &'a [u8]), DecodeError> {
    let body = elem(r, field)?;
    skip_pad(r)?;
    let bad = DecodeError::BadArray { field };
    let mut b = Reader::new(body);
    let h: [u8; ARRAY_HEADER_LEN] = b.array().map_err(|_| bad.clone())?;
    let [n, array_len, t, e] = [0, 2, 4, 6].map(|i| u16::from_be_bytes([h[i], h[i + 1]]));
    let n = n as usize;
    if t != entry_type
        || e as usize != entry_len
        || n > ARRAY_MAX_ENTRIES
        || array_len as usize != ARRAY_HEADER_LEN + n * entry_len
        || b.remaining() != n * entry_len
    {
        return Err(bad);
    }
    Ok((n, b.take(n * entry_len)?))
}

/// Reads a PNRP_ID_ARRAY.
pub(crate) fn id_array(r: &mut Reader<'_>) -> Result<Vec<PnrpId>, DecodeError> {
    let (n, bytes) = array(r, FIELD_PNRP_ID_ARRAY, FIELD_PNRP_ID, ID_LEN)?;
    let mut ids = Vec::with_capacity(n);
    let mut b = Reader::new(bytes);
    for _ in 0..n {
        ids.push(PnrpId::from_be_bytes(b.array()?));
    }
    Ok(ids)
}

/// Reads an IPV6_ENDPOINT_ARRAY of `min..=max` endpoints; every port must be above 1024.
pub(crate) fn endpoint_array(
    r: &mut Reader<'_>,
    min: usize,
    max: usize,
) -> Result<Vec<Endpoint>, DecodeError> {
    let (n, bytes) = array(r, FIELD_IPV6_ENDPOINT_ARRAY, FIELD_IPV6_ENDPOINT, ENDPOINT_LEN)?;
    if n < min || n > max {
        return Err(DecodeError::BadValue("endpoint list length out of range"));
    }
    let mut eps = Vec::with_capacity(n);
    let mut b = Reader::new(bytes);
    for _ in 0..n {
        let port = port(&mut b)?;
        eps.push(Endpoint::new(Ipv6Addr::from(b.array::<16>()?), port));
    }
    Ok(eps)
}

/// A big-endian port that must be above 1024 (MS-PNRP §3.1.5.2).
fn port(r: &mut Reader<'_>) -> Result<u16, DecodeError> {
    let p = r.u16_be()?;
    if p <= 1024 {
        return Err(DecodeError::BadPort(p));
    }
    Ok(p)
}

/// Reads a ROUTING_ENTRY element and its padding (MS-PNRP §2.2.3.4).
pub(crate) fn route_entry(r: &mut Reader<'_>) -> Result<RouteEntry, DecodeError> {
    let body = elem(r, FIELD_ROUTING_ENTRY)?;
    skip_pad(r)?;
    let bad_len = DecodeError::BadLength {
        field: FIELD_ROUTING_ENTRY,
        length: (body.len() + 4) as u16,
    };
    let mut b = Reader::new(body);
    let id = PnrpId::from_be_bytes(b.array().map_err(|_| bad_len.clone())?);
    if b.array::<2>().map_err(|_| bad_len.clone())? != [4, 0] {
        return Err(DecodeError::BadValue("route entry version is not 4.0"));
    }
    let port = port(&mut b).map_err(|e| {
        if e == DecodeError::Short {
            bad_len.clone()
        } else {
            e
        }
    })?;
    let _flags = b.u8().map_err(|_| bad_len.clone())?; // reserved, ignored on receipt (MS-PNRP §3.1.5.2)
    let k = b.u8().map_err(|_| bad_len.clone())? as usize;
    if k == 0 || k > ROUTE_ENTRY_MAX_ADDRS {
        return Err(DecodeError::BadValue("route entry address count out of 1..20"));
    }
    if b.remaining() != 16 * k {
        return Err(bad_len);
    }
    let mut addrs = Vec::with_capacity(k);
    for _ in 0..k {
        addrs.push(Ipv6Addr::from(b.array::<16>()?));
    }
    Ok(RouteEntry {
        id,
        port,
        addrs: addrs.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(k: usize) -> RouteEntry {
        let addrs: Vec<Ipv6Addr> = (0..k)
            .map(|i| Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, i as u16))
            .collect();
        RouteEntry {
            id: PnrpId::new(7, 9),
            port: 3540,
            addrs: addrs.into(),
        }
    }

    #[test]
    fn route_entry_element_layout() {
        let mut out = Vec::new();
        let mut w = Writer::new(&mut out);
        w.route_entry(&entry(2), true);
        assert_eq!(out.len(), entry(2).element_len());
        assert_eq!(&out[..4], &[0x00, 0x9A, 0x00, 42 + 32]);
        assert_eq!(&out[36..42], &[4, 0, 0x0D, 0xD4, 0, 2]);
        assert_eq!(route_entry(&mut Reader::new(&out)), Ok(entry(2)));
    }

    #[test]
    fn route_entry_ranges_are_checked() {
        let mut out = Vec::new();
        Writer::new(&mut out).route_entry(&entry(1), false);
        let mut zero = out.clone();
        zero[41] = 0;
        assert!(matches!(
            route_entry(&mut Reader::new(&zero)),
            Err(DecodeError::BadValue(_))
        ));
        let mut low_port = out.clone();
        low_port[38..40].copy_from_slice(&1024u16.to_be_bytes());
        assert_eq!(
            route_entry(&mut Reader::new(&low_port)),
            Err(DecodeError::BadPort(1024))
        );
        let mut two = out.clone();
        two[41] = 2; // claims 2 addresses but carries 1
        assert!(matches!(
            route_entry(&mut Reader::new(&two)),
            Err(DecodeError::BadLength { .. })
        ));
        assert!(matches!(
            route_entry(&mut Reader::new(&out[..50])),
            Err(DecodeError::BadLength { .. })
        ));
    }

    #[test]
    fn array_headers_must_be_consistent() {
        let mut out = Vec::new();
        Writer::new(&mut out).id_array(&[PnrpId::new(1, 2), PnrpId::new(3, 4)]);
        assert_eq!(out.len(), array_elem_len(2, 32));
        assert_eq!(id_array(&mut Reader::new(&out)).unwrap().len(), 2);
        for (i, v) in [(4, 3u8), (7, 0x49), (9, 0x31), (11, 0x21)] {
            let mut bad = out.clone();
            bad[i] = v; // NumEntries, ArrayLength, ElementFieldType, EntryLength
            assert_eq!(
                id_array(&mut Reader::new(&bad)),
                Err(DecodeError::BadArray {
                    field: FIELD_PNRP_ID_ARRAY
                })
            );
        }
    }
}
