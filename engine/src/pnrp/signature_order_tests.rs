//! The byte order of RSA signatures in the SIGNATURE structure (MS-PNRP §2.2.3.2, §3.2.5.9), checked
//! against the RFC 8017 §8.2 / §9.2 layout by hand: `s^e mod n` of the Signature Data, read in the
//! configured order, must be `00 01 FF..FF 00 || DigestInfo(SHA-1) || SHA-1(signed bytes)`.

use super::cpa::Cpa;
use super::name::PeerName;
use super::testnet::TestNet;
use super::wire::{decode_cpa, encode_cpa, CPA_SIGNATURE_FIELD_LEN};
use super::{CpaError, PnrpConfig};
use crate::crypto::{Identity, Scheme, SignatureByteOrder};
use crate::{Duration, Endpoint, Instant};
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::traits::PublicKeyParts;
use sha1::{Digest, Sha1};
use std::net::Ipv6Addr;

/// The SHA-1 DigestInfo prefix of EMSA-PKCS1-v1_5 (RFC 8017 §9.2 note 1).
const SHA1_DIGEST_INFO: [u8; 15] = [
    0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
];

fn rsa_cpa(order: SignatureByteOrder) -> (Vec<u8>, std::sync::Arc<Identity>) {
    let id = Identity::generate(Scheme::Rsa1024Sha1, [77; 32]);
    let name = PeerName::secured(id.authority(), "order").unwrap();
    let eps = vec![Endpoint::new(Ipv6Addr::LOCALHOST, 3540)];
    let cpa = Cpa::unsigned(&name, &id, 1, eps, Instant::from_micros(10), [5; 16]).sign_with(&id, order);
    let mut b = Vec::new();
    encode_cpa(&cpa, &mut b);
    (b, id)
}

/// True when the 128 Signature Data bytes, read most-significant-first after `reverse`, open to the
/// EMSA-PKCS1-v1_5 encoding of the bytes before the SIGNATURE structure.
fn opens_to_pkcs1(encoded: &[u8], id: &Identity, reverse: bool) -> bool {
    let key = rsa::RsaPublicKey::from_pkcs1_der(&id.public_key().bytes).unwrap();
    let mut sig = encoded[encoded.len() - 128..].to_vec();
    if reverse {
        sig.reverse();
    }
    let s = rsa::BigUint::from_bytes_be(&sig);
    if &s >= key.n() {
        return false;
    }
    let em = s.modpow(key.e(), key.n()).to_bytes_be(); // the leading 00 is dropped
    let signed = &encoded[..encoded.len() - CPA_SIGNATURE_FIELD_LEN];
    let mut want = vec![0x01];
    want.resize(127 - 36, 0xff);
    want.push(0x00);
    want.extend_from_slice(&SHA1_DIGEST_INFO);
    want.extend_from_slice(&Sha1::digest(signed));
    em == want
}

#[test]
fn big_endian_puts_the_rfc_8017_octet_string_on_the_wire() {
    let (b, id) = rsa_cpa(SignatureByteOrder::BigEndian);
    assert!(opens_to_pkcs1(&b, &id, false));
    assert!(
        !opens_to_pkcs1(&b, &id, true),
        "read little-endian it is no signature"
    );
}

#[test]
fn little_endian_puts_the_cryptoapi_order_on_the_wire() {
    let (b, id) = rsa_cpa(SignatureByteOrder::LittleEndian);
    assert!(opens_to_pkcs1(&b, &id, true));
    assert!(!opens_to_pkcs1(&b, &id, false));
    let (be, _) = rsa_cpa(SignatureByteOrder::BigEndian);
    let n = b.len();
    assert_eq!(b[..n - 128], be[..n - 128], "only the Signature Data differs");
    let mut rev = be[n - 128..].to_vec();
    rev.reverse();
    assert_eq!(b[n - 128..], rev[..]);
}

#[test]
fn each_order_validates_only_its_own_signatures() {
    use SignatureByteOrder::{BigEndian, LittleEndian};
    for (signed, other) in [(BigEndian, LittleEndian), (LittleEndian, BigEndian)] {
        let (b, _) = rsa_cpa(signed);
        let cpa = decode_cpa(&b).unwrap();
        assert_eq!(cpa.validate_with(Instant::ZERO, &[5; 16], signed), Ok(()));
        assert_eq!(
            cpa.validate_with(Instant::ZERO, &[5; 16], other),
            Err(CpaError::BadSignature)
        );
    }
    // Ed25519 (a peerlab scheme) is never reversed.
    let id = Identity::generate(Scheme::Ed25519, [78; 32]);
    let name = PeerName::unsecured("e").unwrap();
    let eps = vec![Endpoint::new(Ipv6Addr::LOCALHOST, 3540)];
    let base = Cpa::unsigned(&name, &id, 1, eps, Instant::from_micros(10), [0; 16]);
    let cpa = base.clone().sign_with(&id, LittleEndian);
    assert_eq!(cpa, base.sign(&id));
    assert_eq!(cpa.validate_with(Instant::ZERO, &[0; 16], LittleEndian), Ok(()));
}

#[test]
fn a_little_endian_rsa_cloud_resolves() {
    let cfg = PnrpConfig {
        rsa_signature_byte_order: SignatureByteOrder::LittleEndian,
        ..PnrpConfig::default()
    };
    let mut net = TestNet::new(4, cfg, Scheme::Rsa1024Sha1, 12);
    net.register_all(Duration::from_secs(20));
    let name = net.names[3].clone();
    let got = net.resolve_any(0, name);
    assert_eq!(got.id, net.id_of(3));
    let mut b = Vec::new();
    encode_cpa(&got.cpa, &mut b);
    assert!(opens_to_pkcs1(&b, &net.identities[3], true));
}
