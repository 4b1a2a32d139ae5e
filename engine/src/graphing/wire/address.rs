//! The two address forms: PEER_IN6_ADDRESS in messages (MS-PPGRH §2.2.1.3) and PEER_ADDRESS in
//! records (MS-PPGRH §2.2.1.5), both carrying the engine's [`Endpoint`]. Every field is
//! big-endian (MS-PPGRH §2.2). IPv4 peers travel as IPv4-mapped IPv6 addresses.

use super::error::{check_fits, Reader, WireError};
use crate::Endpoint;
use std::net::Ipv6Addr;

/// Protocol Family of both address forms: AF_INET6 as Windows numbers it (MS-PPGRH §2.2.1.3).
pub const AF_INET6: u16 = 0x0017;
/// Bytes of a PEER_IN6_ADDRESS (MS-PPGRH §2.2.1.3).
pub const IN6_ADDRESS_LEN: usize = 20;
/// Bytes of a PEER_ADDRESS, also its Size field (MS-PPGRH §2.2.1.5).
pub const PEER_ADDRESS_LEN: usize = 32;

/// Writes a PEER_IN6_ADDRESS: family, port, address.
pub fn put_in6(out: &mut Vec<u8>, e: &Endpoint) {
    out.extend_from_slice(&AF_INET6.to_be_bytes());
    out.extend_from_slice(&e.port.to_be_bytes());
    out.extend_from_slice(&e.addr.octets());
}

/// Reads a PEER_IN6_ADDRESS; the family must be 0x0017.
pub fn get_in6(r: &mut Reader<'_>) -> Result<Endpoint, WireError> {
    if r.u16("PEER_IN6_ADDRESS family")? != AF_INET6 {
        return Err(WireError::BadAddress("PEER_IN6_ADDRESS family is not 0x0017"));
    }
    let port = r.u16("PEER_IN6_ADDRESS port")?;
    let addr = Ipv6Addr::from(r.array::<16>("PEER_IN6_ADDRESS address")?);
    Ok(Endpoint::new(addr, port))
}

/// Reads `count` PEER_IN6_ADDRESS entries, checking first that they fit.
pub fn get_in6_array(r: &mut Reader<'_>, count: usize) -> Result<Vec<Endpoint>, WireError> {
    check_fits(r, count as u64, IN6_ADDRESS_LEN as u64, "address array")?;
    (0..count).map(|_| get_in6(r)).collect()
}

/// Writes a PEER_ADDRESS: size 0x20, family, port, flow info 0, address, zero.
pub fn put_peer_address(out: &mut Vec<u8>, e: &Endpoint) {
    out.extend_from_slice(&(PEER_ADDRESS_LEN as u32).to_be_bytes());
    out.extend_from_slice(&AF_INET6.to_be_bytes());
    out.extend_from_slice(&e.port.to_be_bytes());
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(&e.addr.octets());
    out.extend_from_slice(&0u32.to_be_bytes());
}

/// Reads a PEER_ADDRESS. Size must be 0x20, the family 0x0017 and the last field zero (MS-PPGRH
/// §2.2.1.5 says "MUST be set to 0" without "ignored on receipt"); the flow info is legitimate
/// data the engine does not use, so it is accepted and dropped.
pub fn get_peer_address(r: &mut Reader<'_>) -> Result<Endpoint, WireError> {
    if r.u32("PEER_ADDRESS size")? != PEER_ADDRESS_LEN as u32 {
        return Err(WireError::BadAddress("PEER_ADDRESS size is not 0x20"));
    }
    if r.u16("PEER_ADDRESS family")? != AF_INET6 {
        return Err(WireError::BadAddress("PEER_ADDRESS family is not 0x0017"));
    }
    let port = r.u16("PEER_ADDRESS port")?;
    r.u32("PEER_ADDRESS flow info")?;
    let addr = Ipv6Addr::from(r.array::<16>("PEER_ADDRESS address")?);
    if r.u32("PEER_ADDRESS zero")? != 0 {
        return Err(WireError::BadAddress("PEER_ADDRESS zero field is not 0"));
    }
    Ok(Endpoint::new(addr, port))
}

/// Writes a u32 count and the PEER_ADDRESS entries (the record payloads' address arrays).
pub fn put_peer_address_array(out: &mut Vec<u8>, addresses: &[Endpoint]) {
    out.extend_from_slice(&(addresses.len() as u32).to_be_bytes());
    for e in addresses {
        put_peer_address(out, e);
    }
}

/// Reads a u32 count and that many PEER_ADDRESS entries, checking first that they fit.
pub fn get_peer_address_array(r: &mut Reader<'_>) -> Result<Vec<Endpoint>, WireError> {
    let count = r.u32("Number of Addresses")?;
    let count = check_fits(r, count.into(), PEER_ADDRESS_LEN as u64, "PEER_ADDRESS array")?;
    (0..count).map(|_| get_peer_address(r)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint() -> Endpoint {
        Endpoint::new("2001:db8::7".parse().unwrap(), 0x0E03)
    }

    #[test]
    fn in6_layout_is_family_port_address() {
        let mut out = Vec::new();
        put_in6(&mut out, &endpoint());
        let mut want = vec![0x00, 0x17, 0x0E, 0x03, 0x20, 0x01, 0x0D, 0xB8];
        want.extend_from_slice(&[0; 11]);
        want.push(7);
        assert_eq!(out, want);
        assert_eq!(get_in6(&mut Reader::new(&out)), Ok(endpoint()));
        out[1] = 0x02;
        assert!(matches!(
            get_in6(&mut Reader::new(&out)),
            Err(WireError::BadAddress(_))
        ));
    }

    #[test]
    fn peer_address_layout_and_checks() {
        let mut out = Vec::new();
        put_peer_address(&mut out, &endpoint());
        assert_eq!(out.len(), PEER_ADDRESS_LEN);
        assert_eq!(&out[..12], &[0, 0, 0, 0x20, 0, 0x17, 0x0E, 0x03, 0, 0, 0, 0]);
        assert_eq!(&out[28..], &[0, 0, 0, 0]);
        assert_eq!(get_peer_address(&mut Reader::new(&out)), Ok(endpoint()));
        let mut flow = out.clone();
        flow[11] = 9;
        assert_eq!(get_peer_address(&mut Reader::new(&flow)), Ok(endpoint()));
        for (at, what) in [(3, "size"), (5, "family"), (31, "zero")] {
            let mut bad = out.clone();
            bad[at] ^= 1;
            assert!(
                matches!(
                    get_peer_address(&mut Reader::new(&bad)),
                    Err(WireError::BadAddress(_))
                ),
                "{what}"
            );
        }
    }

    #[test]
    fn forged_counts_fail_before_allocating() {
        let forged = [0xFF, 0xFF, 0xFF, 0xFF, 0, 0];
        assert_eq!(
            get_peer_address_array(&mut Reader::new(&forged)),
            Err(WireError::Truncated("PEER_ADDRESS array"))
        );
        assert!(get_in6_array(&mut Reader::new(&[0; 39]), 2).is_err());
    }
}
