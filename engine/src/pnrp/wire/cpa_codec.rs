//! The Encoded CPA (MS-PNRP §2.2.3.1): little-endian integers, reversed ServiceLocation/BinaryAuthority.
//!
//! Key and signature fields keep MS-PNRP's fixed sizes for both schemes (MS-PNRP §2.2.3.1.4, §2.2.3.2; the
//! Ed25519 scheme is a peerlab choice):
//! * CPA Public Key (169 bytes): `u16 169 | u16 OID length 20 | u16 0 | u16 140 | u8 0 | OID[20] | key[140]`.
//!   RSA: OID `1.2.840.113549.1.1.1`, key = 140-byte DER RSAPublicKey. Ed25519: OID `1.3.101.112` (RFC 8410)
//!   followed by 9 NUL bytes to keep the OID length 20, key = 32-byte point then 108 zero bytes.
//! * SIGNATURE (136 bytes): `u16 136 | u16 128 | u32 ALG_ID 0x8004 (CALG_SHA1) | sig[128]`. Ed25519 puts its
//!   64-byte signature first and 64 zero bytes after; ALG_ID stays 0x8004 (the key OID tells the scheme).
//!
//! Decoding is canonical (peerlab choice): reserved bytes and paddings must be zero and every length/count
//! must be exact, so `encode_cpa(decode_cpa(b)) == b`. Validation re-encodes the typed CPA to check the
//! signature, and canonical decoding guarantees that re-encoding reproduces exactly the bytes that were
//! signed.
//! (the specification is ambiguous; our reading) IPV6_APP_ENDPOINT port byte order: little-endian, as
//! Wireshark reads it.

use super::error::{DecodeError, Reader};
use crate::crypto::{PublicKey, Scheme, ED25519_KEY_LEN, ED25519_SIGNATURE_LEN};
use crate::pnrp::cpa::{filetime_to_instant, instant_to_filetime, AppEndpoint, Cpa};
use crate::pnrp::cpa::{APP_ENDPOINTS_MAX, FRIENDLY_NAME_MAX, SERVICE_ADDRESSES_MAX};
use crate::pnrp::friendly::FriendlyName;
use crate::Endpoint;
use std::net::Ipv6Addr;
use std::sync::Arc;

/// Bytes of the CPA Public Key structure.
pub const CPA_PUBLIC_KEY_FIELD_LEN: usize = 169;
/// Bytes of the SIGNATURE structure.
pub const CPA_SIGNATURE_FIELD_LEN: usize = 136;
/// Bytes of the key inside the CPA Public Key structure.
const KEY_FIELD_LEN: usize = 140;
/// Bytes of the signature inside the SIGNATURE structure.
const SIG_FIELD_LEN: usize = 128;
/// ALG_ID CALG_SHA1.
const ALG_ID_SHA1: u32 = 0x0000_8004;
/// rsaEncryption OID as ASCII (exactly 20 bytes).
const OID_RSA: &[u8; 20] = b"1.2.840.113549.1.1.1";
/// id-Ed25519 OID as ASCII, NUL-padded to 20 bytes.
const OID_ED25519: &[u8; 20] = b"1.3.101.112\0\0\0\0\0\0\0\0\0";

const FLAG_X: u8 = 0x20;
const FLAG_F: u8 = 0x10;
const FLAG_C: u8 = 0x08;
const FLAG_A: u8 = 0x04;
const FLAG_U: u8 = 0x02;
const FLAG_R: u8 = 0x01;

/// Encoded length of `cpa`, computed arithmetically (no allocation).
pub fn cpa_encoded_len(cpa: &Cpa) -> usize {
    48 + cpa.authority.map_or(0, |_| 20)
        + cpa.classifier_hash.map_or(0, |_| 20)
        + cpa.friendly_name.as_ref().map_or(0, |n| 2 + n.as_bytes().len())
        + 4
        + 18 * cpa.service_addresses.len()
        + 4
        + if cpa.app_endpoints.is_empty() {
            0
        } else {
            6 + 20 * cpa.app_endpoints.len()
        }
        + CPA_PUBLIC_KEY_FIELD_LEN
        + CPA_SIGNATURE_FIELD_LEN
}

/// Appends the Encoded CPA of `cpa` to `out` (CPA Length filled in first; MS-PNRP §2.2.3.1).
///
/// Never fails: a CPA breaking the MS-PNRP §2.2.3.1 ranges is still written (truncating counts to 16 bits,
/// padding or cutting key/signature to their fields), and then fails decoding or validation at the receiver.
pub fn encode_cpa(cpa: &Cpa, out: &mut Vec<u8>) {
    let total = cpa_encoded_len(cpa);
    out.reserve(total);
    let start = out.len();
    out.extend_from_slice(&(total as u16).to_le_bytes());
    out.extend_from_slice(&[0, 2, 0, 4]); // CPA 2.0, PNRP 4.0 (minor first)
    let mut flags = 0u8;
    if cpa.has_extended_payload {
        flags |= FLAG_X;
    }
    if let Some(name) = &cpa.friendly_name {
        flags |= FLAG_F;
        if name.is_utf8() {
            flags |= FLAG_U;
        }
    }
    if cpa.classifier_hash.is_some() {
        flags |= FLAG_C;
    }
    if cpa.authority.is_some() {
        flags |= FLAG_A;
    }
    if cpa.revoke {
        flags |= FLAG_R;
    }
    out.extend_from_slice(&[flags, 0]);
    out.extend_from_slice(&instant_to_filetime(cpa.not_after).to_le_bytes());
    // MS-PNRP §2.2: ServiceLocation and BinaryAuthority are stored least-significant byte first.
    out.extend_from_slice(&cpa.service_location.to_le_bytes());
    out.extend_from_slice(&cpa.nonce);
    if let Some(a) = &cpa.authority {
        out.extend(a.iter().rev());
    }
    if let Some(c) = &cpa.classifier_hash {
        out.extend_from_slice(c);
    }
    if let Some(name) = &cpa.friendly_name {
        let name = name.as_bytes();
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(name);
    }
    out.extend_from_slice(&(cpa.service_addresses.len() as u16).to_le_bytes());
    out.extend_from_slice(&18u16.to_le_bytes());
    for ep in &cpa.service_addresses {
        // IPV6_ENDPOINT: port first, big-endian (MS-PNRP §2.2.3.6).
        out.extend_from_slice(&ep.port.to_be_bytes());
        out.extend_from_slice(&ep.addr.octets());
    }
    let p = cpa.app_endpoints.len();
    if p == 0 {
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&4u16.to_le_bytes());
    } else {
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&((10 + 20 * p) as u16).to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes()); // PAYLOAD Type 1: IPv6 endpoint array
        out.extend_from_slice(&((20 * p) as u16).to_le_bytes());
        for app in &cpa.app_endpoints {
            out.extend_from_slice(&app.addr.octets());
            out.extend_from_slice(&app.port.to_le_bytes());
            out.extend_from_slice(&app.protocol.to_le_bytes());
        }
    }
    out.extend_from_slice(&(CPA_PUBLIC_KEY_FIELD_LEN as u16).to_le_bytes());
    out.extend_from_slice(&20u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(KEY_FIELD_LEN as u16).to_le_bytes());
    out.push(0);
    out.extend_from_slice(match cpa.public_key.scheme {
        Scheme::Rsa1024Sha1 => OID_RSA,
        Scheme::Ed25519 => OID_ED25519,
    });
    put_padded(out, &cpa.public_key.bytes, KEY_FIELD_LEN);
    out.extend_from_slice(&(CPA_SIGNATURE_FIELD_LEN as u16).to_le_bytes());
    out.extend_from_slice(&(SIG_FIELD_LEN as u16).to_le_bytes());
    out.extend_from_slice(&ALG_ID_SHA1.to_le_bytes());
    put_padded(out, &cpa.signature, SIG_FIELD_LEN);
    debug_assert_eq!(out.len() - start, total);
}

/// Writes exactly `n` bytes: `b` cut or zero-padded.
fn put_padded(out: &mut Vec<u8>, b: &[u8], n: usize) {
    let k = b.len().min(n);
    out.extend_from_slice(&b[..k]);
    out.resize(out.len() + (n - k), 0);
}

fn cpa_err(what: &'static str) -> impl Fn(DecodeError) -> DecodeError {
    move |e| match e {
        DecodeError::Short => DecodeError::BadCpa(what),
        other => other,
    }
}

fn ensure(cond: bool, what: &'static str) -> Result<(), DecodeError> {
    if cond {
        Ok(())
    } else {
        Err(DecodeError::BadCpa(what))
    }
}

/// Decodes exactly one Encoded CPA occupying all of `bytes` (MS-PNRP §2.2.3.1, §3.1.5.7 rule 1).
pub fn decode_cpa(bytes: &[u8]) -> Result<Cpa, DecodeError> {
    decode_inner(bytes).map_err(cpa_err("truncated"))
}

fn decode_inner(bytes: &[u8]) -> Result<Cpa, DecodeError> {
    let mut r = Reader::new(bytes);
    let len = r.u16_le()? as usize;
    ensure(len == bytes.len(), "CPA Length differs from the element")?;
    ensure(
        r.array::<4>()? == [0, 2, 0, 4],
        "versions are not CPA 2.0 / PNRP 4.0",
    )?;
    let flags = r.u8()?;
    ensure(flags & 0xC0 == 0, "reserved flag bits set")?;
    ensure(flags & (FLAG_A | FLAG_C) != 0, "neither A nor C set")?;
    ensure(flags & FLAG_U == 0 || flags & FLAG_F != 0, "U set without F")?;
    ensure(r.u8()? == 0, "reserved byte not zero")?;
    let not_after =
        filetime_to_instant(r.u64_le()?).ok_or(DecodeError::BadCpa("Not After outside simulated time"))?;
    let service_location = u128::from_le_bytes(r.array()?);
    let nonce: [u8; 16] = r.array()?;
    let revoke = flags & FLAG_R != 0;
    ensure(!revoke || nonce == [0; 16], "revoke CPA with a non-zero nonce")?;
    let authority = if flags & FLAG_A != 0 {
        let mut a: [u8; 20] = r.array()?;
        a.reverse();
        ensure(a != [0; 20], "zero BinaryAuthority present")?;
        Some(a)
    } else {
        None
    };
    let classifier_hash = if flags & FLAG_C != 0 {
        Some(r.array::<20>()?)
    } else {
        None
    };
    let friendly_name = if flags & FLAG_F != 0 {
        let n = r.u16_le()? as usize;
        ensure(
            (1..=FRIENDLY_NAME_MAX).contains(&n),
            "friendly name length out of 1..78",
        )?;
        let name = FriendlyName::from_wire(r.take(n)?, flags & FLAG_U != 0);
        Some(name.map_err(|e| DecodeError::BadCpa(e.reason()))?)
    } else {
        None
    };
    let m = r.u16_le()? as usize;
    ensure(m <= SERVICE_ADDRESSES_MAX, "more than 4 service addresses")?;
    ensure(m >= 1 || revoke, "no service address")?;
    ensure(r.u16_le()? == 18, "service address entry size is not 18")?;
    let mut service_addresses = Vec::with_capacity(m);
    for _ in 0..m {
        let port = r.u16_be()?;
        if port <= 1024 {
            return Err(DecodeError::BadPort(port));
        }
        service_addresses.push(Endpoint::new(Ipv6Addr::from(r.array::<16>()?), port));
    }
    let num_payloads = r.u16_le()?;
    let total_bytes = r.u16_le()? as usize;
    let app_endpoints = match num_payloads {
        0 => {
            ensure(total_bytes == 4, "TotalBytes is not 4 without payload")?;
            Vec::new()
        }
        1 => {
            ensure(r.u32_le()? == 1, "payload type is not 1")?;
            let data_len = r.u16_le()? as usize;
            ensure(data_len.is_multiple_of(20), "DataLength not a multiple of 20")?;
            let p = data_len / 20;
            ensure((1..=APP_ENDPOINTS_MAX).contains(&p), "DataLength out of 20..200")?;
            ensure(
                total_bytes == 10 + data_len,
                "TotalBytes inconsistent with DataLength",
            )?;
            let mut apps = Vec::with_capacity(p);
            for _ in 0..p {
                let addr = Ipv6Addr::from(r.array::<16>()?);
                let port = r.u16_le()?;
                let protocol = r.u16_le()?;
                apps.push(AppEndpoint { addr, port, protocol });
            }
            apps
        }
        _ => return Err(DecodeError::BadCpa("NumPayloads above 1")),
    };
    ensure(
        r.u16_le()? as usize == CPA_PUBLIC_KEY_FIELD_LEN,
        "public key FieldLength is not 169",
    )?;
    ensure(r.u16_le()? == 20, "OID length is not 20")?;
    ensure(r.u16_le()? == 0, "public key reserved not zero")?;
    ensure(r.u16_le()? as usize == KEY_FIELD_LEN, "key length is not 140")?;
    ensure(r.u8()? == 0, "public key unused byte not zero")?;
    let oid: [u8; 20] = r.array()?;
    let scheme = if &oid == OID_RSA {
        Scheme::Rsa1024Sha1
    } else if &oid == OID_ED25519 {
        Scheme::Ed25519
    } else {
        return Err(DecodeError::BadCpa("unknown key OID"));
    };
    let key_field = r.take(KEY_FIELD_LEN)?;
    let key = unpad(key_field, scheme, ED25519_KEY_LEN).ok_or(DecodeError::BadCpa("key padding not zero"))?;
    ensure(
        r.u16_le()? as usize == CPA_SIGNATURE_FIELD_LEN,
        "SIGNATURE FieldLength is not 136",
    )?;
    ensure(
        r.u16_le()? as usize == SIG_FIELD_LEN,
        "signature length is not 128",
    )?;
    ensure(r.u32_le()? == ALG_ID_SHA1, "ALG_ID is not CALG_SHA1")?;
    let sig_field = r.take(SIG_FIELD_LEN)?;
    let signature = unpad(sig_field, scheme, ED25519_SIGNATURE_LEN)
        .ok_or(DecodeError::BadCpa("signature padding not zero"))?;
    ensure(r.is_empty(), "bytes after the SIGNATURE")?;
    Ok(Cpa {
        revoke,
        not_after,
        service_location,
        nonce,
        authority,
        classifier_hash,
        friendly_name,
        has_extended_payload: flags & FLAG_X != 0,
        service_addresses,
        app_endpoints,
        public_key: PublicKey {
            scheme,
            bytes: Arc::from(key),
        },
        signature: signature.to_vec(),
    })
}

/// The scheme's bytes of a fixed field: all of it for RSA, the first `ed_len` for Ed25519 if the rest is zero.
fn unpad(field: &[u8], scheme: Scheme, ed_len: usize) -> Option<&[u8]> {
    match scheme {
        Scheme::Rsa1024Sha1 => Some(field),
        Scheme::Ed25519 => {
            let (head, pad) = field.split_at_checked(ed_len)?;
            pad.iter().all(|&b| b == 0).then_some(head)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Identity;
    use crate::pnrp::name::PeerName;
    use crate::pnrp::wire::testgen::any_cpa;
    use crate::Instant;
    use proptest::prelude::*;

    fn minimal(scheme: Scheme) -> Cpa {
        let id = Identity::generate(scheme, [11; 32]);
        let name = PeerName::unsecured("p").unwrap();
        let eps = vec![Endpoint::new(Ipv6Addr::LOCALHOST, 3540)];
        Cpa::unsigned(
            &name,
            &id,
            0x0102_0304_0506_0708_090A_0B0C_0D0E_0F10,
            eps,
            Instant::from_micros(1),
            [0; 16],
        )
        .sign(&id)
    }

    #[test]
    fn layout_matches_section_3_10_3() {
        for scheme in Scheme::ALL {
            let cpa = minimal(scheme);
            let mut b = Vec::new();
            encode_cpa(&cpa, &mut b);
            // Smallest CPA: unsecured, one address, no name or payload.
            assert_eq!(b.len(), 399);
            assert_eq!(&b[..8], &[0x8F, 0x01, 0, 2, 0, 4, FLAG_C, 0]);
            assert_eq!(
                u64::from_le_bytes(b[8..16].try_into().unwrap()),
                crate::pnrp::cpa::FILETIME_EPOCH_TICKS + 10
            );
            assert_eq!(b[16], 0x10, "ServiceLocation least-significant byte first");
            assert_eq!(b[31], 0x01);
            let key_at = 399 - 136 - 169;
            assert_eq!(&b[key_at..key_at + 9], &[169, 0, 20, 0, 0, 0, 140, 0, 0]);
            let oid = &b[key_at + 9..key_at + 29];
            assert_eq!(
                oid,
                if scheme == Scheme::Rsa1024Sha1 {
                    OID_RSA
                } else {
                    OID_ED25519
                }
            );
            assert_eq!(&b[399 - 136..399 - 128], &[136, 0, 128, 0, 0x04, 0x80, 0, 0]);
            if scheme == Scheme::Ed25519 {
                assert!(b[key_at + 29 + 32..key_at + 169].iter().all(|&x| x == 0));
                assert!(b[399 - 64..].iter().all(|&x| x == 0));
            }
        }
    }

    #[test]
    fn binary_authority_is_reversed_and_the_largest_cpa_is_759_bytes() {
        let id = Identity::generate(Scheme::Rsa1024Sha1, [12; 32]);
        let name = PeerName::secured(id.authority(), "big").unwrap();
        let eps = (0..4)
            .map(|i| Endpoint::new(Ipv6Addr::LOCALHOST, 4000 + i))
            .collect();
        let mut cpa = Cpa::unsigned(&name, &id, 1, eps, Instant::from_micros(5), [1; 16]);
        cpa.friendly_name = Some(FriendlyName::utf8(&"x".repeat(78)).unwrap());
        cpa.app_endpoints = vec![
            AppEndpoint {
                addr: Ipv6Addr::LOCALHOST,
                port: 0x1234,
                protocol: 6
            };
            10
        ];
        cpa.has_extended_payload = true;
        let cpa = cpa.sign(&id);
        let mut b = Vec::new();
        encode_cpa(&cpa, &mut b);
        assert_eq!(b.len(), 759);
        assert_eq!(b[6], FLAG_X | FLAG_F | FLAG_C | FLAG_A | FLAG_U);
        let mut rev = id.authority();
        rev.reverse();
        assert_eq!(&b[48..68], &rev);
        assert_eq!(decode_cpa(&b), Ok(cpa));
    }

    #[test]
    fn malformed_cpas_are_rejected() {
        let cpa = minimal(Scheme::Ed25519);
        let mut b = Vec::new();
        encode_cpa(&cpa, &mut b);
        assert_eq!(
            decode_cpa(&b[..398]),
            Err(DecodeError::BadCpa("CPA Length differs from the element"))
        );
        let mut no_ac = b.clone();
        no_ac[6] = 0;
        assert_eq!(
            decode_cpa(&no_ac),
            Err(DecodeError::BadCpa("neither A nor C set"))
        );
        let mut pad = b.clone();
        let last = pad.len() - 1;
        pad[last] = 1; // Ed25519 signature padding must stay zero
        assert_eq!(
            decode_cpa(&pad),
            Err(DecodeError::BadCpa("signature padding not zero"))
        );
        let mut ft = b.clone();
        ft[8] = ft[8].wrapping_add(1); // not a whole microsecond
        assert!(matches!(decode_cpa(&ft), Err(DecodeError::BadCpa(_))));
        let mut port = b.clone();
        port[72..74].copy_from_slice(&80u16.to_be_bytes());
        assert_eq!(decode_cpa(&port), Err(DecodeError::BadPort(80)));
    }

    proptest! {
        #[test]
        fn cpas_round_trip_and_validate(cpa in any_cpa(None)) {
            let mut b = Vec::new();
            encode_cpa(&cpa, &mut b);
            prop_assert_eq!(b.len(), cpa.encoded_len());
            let back = decode_cpa(&b).unwrap();
            prop_assert_eq!(back.validate(Instant::ZERO, &cpa.nonce), Ok(()));
            prop_assert_eq!(back, cpa);
        }

        /// Canonical decoding: whatever decodes re-encodes to the very same bytes, so validation by
        /// re-encoding checks exactly the bytes that were signed.
        #[test]
        fn decoding_is_canonical(
            cpa in any_cpa(None),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..3),
        ) {
            let mut b = Vec::new();
            encode_cpa(&cpa, &mut b);
            for (i, v) in edits {
                let i = i.index(b.len());
                b[i] = v;
            }
            if let Ok(d) = decode_cpa(&b) {
                let mut again = Vec::new();
                encode_cpa(&d, &mut again);
                prop_assert_eq!(again, b);
            }
        }
    }
}
