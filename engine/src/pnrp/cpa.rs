//! Certified Peer Addresses (MS-PNRP §1.3.1.3, §2.2.3.1, §3.1.5.7): building, signing and validating.
//! The byte layout lives in `wire::cpa_codec`.

use super::cpa_memo;
use super::friendly::FriendlyName;
use super::id::PnrpId;
use super::message::RouteEntry;
use super::name::{classifier_hash, p2p_id, PeerName};
use super::wire::{cpa_encoded_len, encode_cpa, CPA_SIGNATURE_FIELD_LEN};
use crate::crypto::{Identity, PublicKey, SignatureByteOrder};
use crate::{Endpoint, Instant};
use serde::{Deserialize, Serialize};
use std::net::Ipv6Addr;

pub use super::friendly::FRIENDLY_NAME_MAX;
/// Most PNRP service addresses in a CPA.
pub const SERVICE_ADDRESSES_MAX: usize = 4;
/// Most application endpoints in a CPA payload.
pub const APP_ENDPOINTS_MAX: usize = 10;

/// FILETIME of simulated `Instant::ZERO`: 2026-01-01T00:00:00Z in 100-ns ticks since 1601-01-01 (peerlab
/// choice).
/// (134,774 days 1601→1970 plus 20,454 days 1970→2026 = 13,411,699,200 s.)
pub const FILETIME_EPOCH_TICKS: u64 = 134_116_992_000_000_000;

/// Simulated time as FILETIME: epoch + 10 ticks per microsecond, saturating at `u64::MAX`.
pub fn instant_to_filetime(t: Instant) -> u64 {
    FILETIME_EPOCH_TICKS.saturating_add(t.as_micros().saturating_mul(10))
}

/// The `Instant` a FILETIME denotes, if exactly representable: not before the epoch and a whole number of
/// microseconds. `u64::MAX` maps to `Instant::MAX` (the saturated "never").
pub fn filetime_to_instant(ft: u64) -> Option<Instant> {
    if ft == u64::MAX {
        return Some(Instant::MAX);
    }
    let ticks = ft.checked_sub(FILETIME_EPOCH_TICKS)?;
    ticks.is_multiple_of(10).then(|| Instant::from_micros(ticks / 10))
}

/// An application endpoint in the CPA payload (IPV6_APP_ENDPOINT, MS-PNRP §2.2.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppEndpoint {
    /// Address.
    pub addr: Ipv6Addr,
    /// Port.
    pub port: u16,
    /// IANA protocol number (6 TCP, 17 UDP).
    pub protocol: u16,
}

/// A signed Certified Peer Address.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cpa {
    /// R flag: a revoke CPA (unregistration).
    pub revoke: bool,
    /// Not After, as simulated time (converted to FILETIME at the codec boundary).
    pub not_after: Instant,
    /// The service-location half of the PNRP ID.
    pub service_location: u128,
    /// The INQUIRE nonce copied in (zero for revokes).
    pub nonce: [u8; 16],
    /// BinaryAuthority (A flag); `None` for unsecured names.
    pub authority: Option<[u8; 20]>,
    /// SHA-1 of the classifier (C flag).
    pub classifier_hash: Option<[u8; 20]>,
    /// Friendly name (F flag) in its encoding (U flag: UTF-8, else UTF-16LE).
    pub friendly_name: Option<FriendlyName>,
    /// X flag: an extended payload exists.
    pub has_extended_payload: bool,
    /// The PNRP node's service endpoints (0..=4, ≥1 unless revoke).
    pub service_addresses: Vec<Endpoint>,
    /// Application endpoints from the payload (0..=10).
    pub app_endpoints: Vec<AppEndpoint>,
    /// The publisher's public key.
    pub public_key: PublicKey,
    /// The signature over the encoded bytes preceding the SIGNATURE structure.
    pub signature: Vec<u8>,
}

/// Why a CPA failed validation (MS-PNRP §3.1.5.7).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpaError {
    /// Rule 1: syntax or ranges of MS-PNRP §2.2.3.1.
    #[error("CPA syntax: {0}")]
    BadSyntax(&'static str),
    /// Rule 2: a secured name's BinaryAuthority is not SHA-1 of the CPA's key.
    #[error("BinaryAuthority is not the hash of the CPA key")]
    AuthorityMismatch,
    /// Rule 4: now is after Not After.
    #[error("CPA expired")]
    Expired,
    /// Rule 5: the nonce is not the one the INQUIRE sent.
    #[error("CPA nonce differs from the INQUIRE nonce")]
    NonceMismatch,
    /// Rule 7: the signature does not verify under the CPA key.
    #[error("CPA signature does not verify")]
    BadSignature,
}

impl CpaError {
    /// A short stable name for rejection counters.
    pub fn reason(&self) -> &'static str {
        match self {
            CpaError::BadSyntax(_) => "bad_syntax",
            CpaError::AuthorityMismatch => "authority_mismatch",
            CpaError::Expired => "expired",
            CpaError::NonceMismatch => "nonce_mismatch",
            CpaError::BadSignature => "bad_signature",
        }
    }
}

impl Cpa {
    /// An unsigned CPA for `name` (authority present only when secured, classifier hash always), carrying
    /// `identity`'s key; fill optional fields (friendly name, app endpoints, X) then call `sign`.
    pub fn unsigned(
        name: &PeerName,
        identity: &Identity,
        service_location: u128,
        service_addresses: Vec<Endpoint>,
        not_after: Instant,
        nonce: [u8; 16],
    ) -> Cpa {
        Cpa {
            revoke: false,
            not_after,
            service_location,
            nonce,
            // MS-PNRP §2.2.3.1: BinaryAuthority is never present for unsecured names.
            authority: name.is_secured().then_some(name.authority),
            classifier_hash: Some(name.classifier_hash()),
            friendly_name: None,
            has_extended_payload: false,
            service_addresses,
            app_endpoints: Vec::new(),
            public_key: identity.public_key().clone(),
            signature: Vec::new(),
        }
    }

    /// An unsigned revoke CPA (R set, zero nonce; MS-PNRP §3.2.4.2) for the registration
    /// `name`/`service_location`.
    pub fn unsigned_revoke(
        name: &PeerName,
        identity: &Identity,
        service_location: u128,
        service_addresses: Vec<Endpoint>,
        not_after: Instant,
    ) -> Cpa {
        Cpa {
            revoke: true,
            ..Cpa::unsigned(
                name,
                identity,
                service_location,
                service_addresses,
                not_after,
                [0; 16],
            )
        }
    }

    /// Signs `self` (whose `signature` is ignored) with `identity`, filling in key and signature: the signature
    /// covers every encoded byte before the SIGNATURE structure, CPA Length included (MS-PNRP §3.1.5.8).
    pub fn sign(self, identity: &Identity) -> Cpa {
        self.sign_with(identity, SignatureByteOrder::BigEndian)
    }

    /// `sign`, storing the signature in `order` (MS-PNRP §2.2.3.2, §3.2.5.9; see `SignatureByteOrder`).
    pub fn sign_with(mut self, identity: &Identity, order: SignatureByteOrder) -> Cpa {
        self.public_key = identity.public_key().clone();
        self.signature.clear();
        let mut bytes = Vec::with_capacity(self.encoded_len());
        encode_cpa(&self, &mut bytes);
        self.signature = identity.sign(&bytes[..bytes.len() - CPA_SIGNATURE_FIELD_LEN]);
        order.convert(identity.scheme(), &mut self.signature);
        self
    }

    /// Bytes of the Encoded CPA (MS-PNRP §2.2.3.1), computed without allocating.
    pub fn encoded_len(&self) -> usize {
        cpa_encoded_len(self)
    }

    /// The PNRP ID this CPA certifies, recomputed from BinaryAuthority (zeros if absent), ClassifierHash
    /// (SHA-1 of the empty classifier if absent, MS-PNRP §3.1.5.7 rule 6 (our reading)) and ServiceLocation.
    pub fn pnrp_id(&self) -> PnrpId {
        let authority = self.authority.unwrap_or([0; 20]);
        let ch = self.classifier_hash.unwrap_or_else(|| classifier_hash(""));
        PnrpId::new(p2p_id(&authority, &ch), self.service_location)
    }

    /// True when this CPA backs `entry`: same recomputed PNRP ID (MS-PNRP §3.1.5.7 rule 6), and the entry's
    /// addresses and port are exactly the CPA's service addresses (MS-PNRP §3.1.5.11 leaf-set admission).
    pub fn matches_route_entry(&self, entry: &RouteEntry) -> bool {
        self.pnrp_id() == entry.id && self.addresses_match(entry)
    }

    /// The address half of `matches_route_entry`, for callers that compared `pnrp_id()` already
    /// (it costs two SHA-1s).
    pub fn addresses_match(&self, entry: &RouteEntry) -> bool {
        self.service_addresses.len() == entry.addrs.len()
            && self
                .service_addresses
                .iter()
                .all(|ep| ep.port == entry.port && entry.addrs.contains(&ep.addr))
            && entry
                .addrs
                .iter()
                .all(|a| self.service_addresses.iter().any(|ep| ep.addr == *a))
    }

    /// Rule 1 of MS-PNRP §3.1.5.7 on the typed fields: the MS-PNRP §2.2.3.1 flag rules, counts and lengths.
    pub fn check_syntax(&self) -> Result<(), CpaError> {
        let bad = |what| Err(CpaError::BadSyntax(what));
        if self.authority.is_none() && self.classifier_hash.is_none() {
            return bad("neither A nor C set");
        }
        if self.authority == Some([0; 20]) {
            return bad("zero BinaryAuthority present");
        }
        if let Some(n) = &self.friendly_name {
            // Built names are valid; this catches one that came in some other way (deserialized).
            if let Err(e) = FriendlyName::from_wire(n.as_bytes(), n.is_utf8()) {
                return bad(e.reason());
            }
        }
        if self.service_addresses.len() > SERVICE_ADDRESSES_MAX {
            return bad("more than 4 service addresses");
        }
        if self.service_addresses.is_empty() && !self.revoke {
            return bad("no service address");
        }
        if self.service_addresses.iter().any(|ep| ep.port <= 1024) {
            return bad("service port not above 1024");
        }
        if self.app_endpoints.len() > APP_ENDPOINTS_MAX {
            return bad("more than 10 application endpoints");
        }
        if self.revoke && self.nonce != [0; 16] {
            return bad("revoke CPA with a non-zero nonce");
        }
        if self.public_key.bytes.len() != self.public_key.scheme.key_len() {
            return bad("public key length");
        }
        if self.signature.len() != self.public_key.scheme.signature_len() {
            return bad("signature length");
        }
        if filetime_to_instant(instant_to_filetime(self.not_after)) != Some(self.not_after) {
            return bad("Not After not representable as FILETIME");
        }
        Ok(())
    }

    /// Validates rules 1, 2, 4, 5 and 7 of MS-PNRP §3.1.5.7 (syntax, authority = SHA-1 of the key for secured
    /// names, not expired, nonce, signature). Rule 6 and the address comparison are the caller's, through
    /// `matches_route_entry`. Rule 3 (extended payload) and delegation chains (MS-PNRP §3.1.5.10) are not
    /// supported:
    /// a secured CPA must be signed by the key its authority hashes.
    pub fn validate(&self, now: Instant, expected_nonce: &[u8; 16]) -> Result<(), CpaError> {
        self.validate_with(now, expected_nonce, SignatureByteOrder::BigEndian)
    }

    /// `validate`, reading the signature in `order` (MS-PNRP §2.2.3.2, §3.1.5.9; see
    /// `SignatureByteOrder`).
    pub fn validate_with(
        &self,
        now: Instant,
        expected_nonce: &[u8; 16],
        order: SignatureByteOrder,
    ) -> Result<(), CpaError> {
        if order.reverses(self.public_key.scheme) {
            // The memo holds CPAs checked in the RFC 8017 order; a reversed one is checked in full,
            // so runs of either order in one process never see each other's verdicts.
            let mut canonical = self.clone();
            order.convert(self.public_key.scheme, &mut canonical.signature);
            return canonical.check(now, expected_nonce, false);
        }
        self.check(now, expected_nonce, true)
    }

    /// Rules 1, 2, 4, 5 and 7 on a CPA whose signature is in the RFC 8017 order; `memo` lets reused
    /// zero-nonce CPAs use the process-wide memo and verify cache.
    fn check(&self, now: Instant, expected_nonce: &[u8; 16], memo: bool) -> Result<(), CpaError> {
        self.check_syntax()?;
        // Zero-nonce CPAs are the reused ones (MS-PNRP §3.2.1, revokes): many peers validate the same value.
        // A memo hit means this exact CPA passed rules 2 and 7 before (see `cpa_memo`); the checks
        // that depend on `now` and the nonce still run, in the same order as below.
        let reused = memo && self.nonce == [0; 16];
        let known = reused && cpa_memo::known_good(self);
        if !known {
            if let Some(a) = self.authority {
                if a != self.public_key.authority() {
                    return Err(CpaError::AuthorityMismatch);
                }
            }
        }
        if now > self.not_after {
            return Err(CpaError::Expired);
        }
        if &self.nonce != expected_nonce {
            return Err(CpaError::NonceMismatch);
        }
        if known {
            return Ok(());
        }
        let mut bytes = Vec::with_capacity(self.encoded_len());
        encode_cpa(self, &mut bytes);
        let signed = &bytes[..bytes.len() - CPA_SIGNATURE_FIELD_LEN];
        // A CPA with a fresh nonce is checked once: the process-wide verify cache would only cost.
        let ok = if reused {
            self.public_key.verify(signed, &self.signature)
        } else {
            self.public_key.verify_uncached(signed, &self.signature)
        };
        if !ok {
            return Err(CpaError::BadSignature);
        }
        if reused {
            cpa_memo::remember(self);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Scheme;
    use crate::pnrp::wire::decode_cpa;
    use crate::Duration;
    use std::sync::Arc;

    fn ep(last: u16, port: u16) -> Endpoint {
        Endpoint::new(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last), port)
    }

    fn signed(scheme: Scheme, secured: bool) -> (Cpa, Arc<Identity>) {
        let id = Identity::generate(scheme, [42; 32]);
        let name = if secured {
            PeerName::secured(id.authority(), "alice").unwrap()
        } else {
            PeerName::unsecured("printer").unwrap()
        };
        let not_after = Instant::ZERO + Duration::from_mins(12 * 60);
        let mut cpa = Cpa::unsigned(
            &name,
            &id,
            0xfeed_0000_0000_0001,
            vec![ep(1, 3540), ep(2, 3540)],
            not_after,
            [9; 16],
        );
        cpa.friendly_name = Some(FriendlyName::utf8("Alice's box").unwrap());
        cpa.app_endpoints = vec![AppEndpoint {
            addr: ep(3, 80).addr,
            port: 80,
            protocol: 6,
        }];
        (cpa.sign(&id), id)
    }

    fn now() -> Instant {
        Instant::ZERO + Duration::from_secs(60)
    }

    #[test]
    fn filetime_mapping_is_exact() {
        assert_eq!(instant_to_filetime(Instant::ZERO), FILETIME_EPOCH_TICKS);
        let t = Instant::from_micros(123_456_789);
        assert_eq!(instant_to_filetime(t), FILETIME_EPOCH_TICKS + 1_234_567_890);
        assert_eq!(filetime_to_instant(instant_to_filetime(t)), Some(t));
        assert_eq!(filetime_to_instant(FILETIME_EPOCH_TICKS - 10), None);
        assert_eq!(filetime_to_instant(FILETIME_EPOCH_TICKS + 3), None);
        assert_eq!(
            filetime_to_instant(instant_to_filetime(Instant::MAX)),
            Some(Instant::MAX)
        );
    }

    #[test]
    fn sign_encode_decode_validate_for_both_schemes() {
        for scheme in Scheme::ALL {
            for secured in [false, true] {
                let (cpa, id) = signed(scheme, secured);
                assert_eq!(cpa.public_key, *id.public_key());
                cpa.validate(now(), &[9; 16]).unwrap();
                let mut bytes = Vec::new();
                encode_cpa(&cpa, &mut bytes);
                assert_eq!(bytes.len(), cpa.encoded_len());
                let back = decode_cpa(&bytes).unwrap();
                assert_eq!(back, cpa);
                back.validate(now(), &[9; 16]).unwrap();
                let name = if secured { "alice" } else { "printer" };
                assert_eq!(
                    back.pnrp_id().p2p_id(),
                    PeerName {
                        authority: cpa.authority.unwrap_or([0; 20]),
                        classifier: name.into()
                    }
                    .p2p_id()
                );
                assert_eq!(back.pnrp_id().service_location(), 0xfeed_0000_0000_0001);
            }
        }
    }

    #[test]
    fn tampering_any_signed_byte_fails() {
        for scheme in Scheme::ALL {
            let (cpa, _) = signed(scheme, true);
            let mut bytes = Vec::new();
            encode_cpa(&cpa, &mut bytes);
            for i in 0..bytes.len() {
                for flip in [0x01u8, 0x80] {
                    let mut t = bytes.clone();
                    t[i] ^= flip;
                    let ok = decode_cpa(&t).is_ok_and(|c| c.validate(now(), &[9; 16]).is_ok());
                    assert!(
                        !ok,
                        "{scheme:?}: flipping bit {flip:#x} of byte {i} went unnoticed"
                    );
                }
            }
        }
    }

    #[test]
    fn secured_cpa_with_foreign_key_fails() {
        let (cpa, _) = signed(Scheme::Ed25519, true);
        let mallory = Identity::generate(Scheme::Ed25519, [7; 32]);
        // Mallory re-signs Alice's secured CPA with her own key: signature fine, authority is not hers.
        let forged = cpa.clone().sign(&mallory);
        assert_eq!(forged.validate(now(), &[9; 16]), Err(CpaError::AuthorityMismatch));
        assert_eq!(CpaError::AuthorityMismatch.reason(), "authority_mismatch");
        // Unsecured names prove nothing: the same forgery validates.
        let (open, _) = signed(Scheme::Ed25519, false);
        assert_eq!(open.sign(&mallory).validate(now(), &[9; 16]), Ok(()));
    }

    #[test]
    fn wrong_nonce_expiry_and_bad_signature_fail() {
        let (cpa, _) = signed(Scheme::Rsa1024Sha1, false);
        assert_eq!(cpa.validate(now(), &[8; 16]), Err(CpaError::NonceMismatch));
        assert_eq!(cpa.validate(cpa.not_after, &[9; 16]), Ok(()));
        let late = cpa.not_after + Duration::from_micros(1);
        assert_eq!(
            cpa.validate(late, &[9; 16]).map_err(|e| e.reason()),
            Err("expired")
        );
        let mut moved = cpa.clone();
        moved.service_addresses[0].port = 4000;
        assert_eq!(moved.validate(now(), &[9; 16]), Err(CpaError::BadSignature));
        let mut short = cpa;
        short.signature.pop();
        assert!(matches!(
            short.validate(now(), &[9; 16]),
            Err(CpaError::BadSyntax(_))
        ));
    }

    #[test]
    fn revoke_cpas_carry_a_zero_nonce() {
        let id = Identity::generate(Scheme::Ed25519, [42; 32]);
        let name = PeerName::unsecured("x").unwrap();
        let r =
            Cpa::unsigned_revoke(&name, &id, 5, vec![], Instant::ZERO + Duration::from_secs(100)).sign(&id);
        assert!(r.revoke);
        r.validate(now(), &[0; 16]).unwrap();
        let mut bad = r.clone();
        bad.nonce = [1; 16];
        assert!(matches!(
            bad.sign(&id).validate(now(), &[1; 16]),
            Err(CpaError::BadSyntax(_))
        ));
    }

    #[test]
    fn route_entry_matching_needs_id_addresses_and_port() {
        let (cpa, _) = signed(Scheme::Ed25519, true);
        let entry = RouteEntry {
            id: cpa.pnrp_id(),
            port: 3540,
            addrs: vec![ep(2, 0).addr, ep(1, 0).addr].into(),
        };
        assert!(cpa.matches_route_entry(&entry));
        assert!(!cpa.matches_route_entry(&RouteEntry {
            port: 3541,
            ..entry.clone()
        }));
        assert!(!cpa.matches_route_entry(&RouteEntry {
            id: entry.id.wrapping_add_u64(1),
            ..entry.clone()
        }));
        assert!(!cpa.matches_route_entry(&RouteEntry {
            addrs: vec![ep(1, 0).addr].into(),
            ..entry.clone()
        }));
        let mut no_c = cpa.clone();
        no_c.classifier_hash = None;
        assert_eq!(
            no_c.pnrp_id().p2p_id(),
            p2p_id(&cpa.authority.unwrap(), &classifier_hash(""))
        );
    }
}
