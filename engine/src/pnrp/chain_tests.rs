//! Certificate chains: issuing, DER round trips, and each MS-PNRP §3.1.5.10 failure by its reason.

use super::*;
use crate::pnrp::wire::chain::{decode_chain, ChainSyntaxError};
use crate::{Duration, Endpoint};
use proptest::prelude::*;
use std::net::Ipv6Addr;

fn at(secs: u64) -> Instant {
    Instant::ZERO + Duration::from_secs(secs)
}

fn id(scheme: Scheme, b: u8) -> Arc<Identity> {
    Identity::generate(scheme, [b; 32])
}

/// A CPA for `classifier` under `authority`'s name, signed by `signer`.
fn cpa(authority: &Identity, classifier: &str, signer: &Identity) -> Cpa {
    let name = PeerName::secured(authority.authority(), classifier).unwrap();
    let ep = Endpoint::new(Ipv6Addr::new(0x2001, 0xdb8, 0, 7, 0, 0, 0, 1), 3540);
    Cpa::unsigned(&name, signer, 5, vec![ep], at(86_400), [3; 16]).sign(signer)
}

fn day_chain(scheme: Scheme, grant: &Grant) -> (Arc<Identity>, Arc<Identity>, CertChain) {
    let (auth, delegate) = (id(scheme, 1), id(scheme, 2));
    let chain = CertChain::issue(&auth, delegate.public_key(), grant, at(0), at(86_400));
    (auth, delegate, chain)
}

fn check(chain: &CertChain, cpa: &Cpa, classifier: &str, now: u64) -> Result<(), &'static str> {
    validate_chain(chain.der(), cpa, Some(classifier), at(now)).map_err(|e| e.reason())
}

#[test]
fn an_issued_chain_round_trips_and_validates_for_both_schemes() {
    for scheme in Scheme::ALL {
        let (auth, delegate, chain) = day_chain(scheme, &Grant::unrestricted());
        let decoded = decode_chain(chain.der()).unwrap();
        assert_eq!(decoded.len(), 2);
        for d in &decoded {
            assert!(
                chain.certs().contains(&d.cert),
                "{scheme:?}: a certificate changed in transit"
            );
            assert_eq!(d.tbs, super::encode_tbs(&d.cert));
        }
        let root = &chain.certs()[0];
        assert!(root.root && root.issuer == root.subject && root.classifiers.is_none());
        assert_eq!(root.subject, identity_label(auth.public_key()));
        assert_eq!(chain.certs()[1].roles, vec![CertRole::Admin]);
        assert_eq!(chain.root_authority(), Some(auth.authority()));
        let c = cpa(&auth, "svc", &delegate);
        assert_eq!(check(&chain, &c, "svc", 60), Ok(()));
        // The validity window is inclusive at both ends (RFC 2459 §4.1.2.5).
        assert_eq!(check(&chain, &c, "svc", 0), Ok(()));
        assert_eq!(check(&chain, &c, "svc", 86_400), Ok(()));
    }
}

#[test]
fn the_der_is_a_pkcs7_signed_data_of_x509_v3_certificates() {
    let (_, _, chain) = day_chain(Scheme::Rsa1024Sha1, &Grant::unrestricted());
    let der = chain.der();
    // ContentInfo SEQUENCE, then contentType signedData (1.2.840.113549.1.7.2).
    assert_eq!(der[0], 0x30);
    let signed_data = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
    assert!(der.windows(signed_data.len()).any(|w| w == signed_data));
    // sha1WithRSAEncryption (1.2.840.113549.1.1.5) with NULL parameters.
    let sha1_rsa = [
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05, 0x05, 0x00,
    ];
    assert!(der.windows(sha1_rsa.len()).any(|w| w == sha1_rsa));
    // X.509 v3: [0] EXPLICIT INTEGER 2.
    assert!(der.windows(5).any(|w| w == [0xa0, 0x03, 0x02, 0x01, 0x02]));
    // Every certificate has a 16-byte serial and an RSA-1024 key.
    for c in chain.certs() {
        assert_eq!(c.key.bytes.len(), crate::crypto::RSA1024_KEY_LEN);
        assert_eq!(c.signature.len(), crate::crypto::RSA1024_SIGNATURE_LEN);
        assert!((1..0x80).contains(&c.serial[0]));
    }
}

#[test]
fn a_tampered_member_signature_is_a_bad_signature() {
    let (auth, delegate, chain) = day_chain(Scheme::Ed25519, &Grant::unrestricted());
    let mut certs = chain.certs().to_vec();
    certs[1].signature[5] ^= 1;
    let broken = CertChain::from_certs(certs);
    assert_eq!(
        check(&broken, &cpa(&auth, "x", &delegate), "x", 60),
        Err("chain_bad_signature")
    );
    // A root copying the authority's key but signed by someone else fails the self-signature.
    let mallory = id(Scheme::Ed25519, 9);
    let mut certs = chain.certs().to_vec();
    certs[0] = certs[0].clone().sign(&mallory);
    certs[1] = certs[1].clone().sign(&mallory);
    let forged = CertChain::from_certs(certs);
    assert_eq!(
        check(&forged, &cpa(&auth, "x", &delegate), "x", 60),
        Err("chain_bad_signature")
    );
}

#[test]
fn expired_and_not_yet_valid_chains_are_expired() {
    let (auth, delegate, chain) = day_chain(Scheme::Ed25519, &Grant::unrestricted());
    let c = cpa(&auth, "x", &delegate);
    assert_eq!(check(&chain, &c, "x", 86_401), Err("chain_expired"));
    let later = CertChain::issue(
        &auth,
        delegate.public_key(),
        &Grant::unrestricted(),
        at(100),
        at(200),
    );
    assert_eq!(check(&later, &c, "x", 99), Err("chain_expired"));
    assert_eq!(check(&later, &c, "x", 150), Ok(()));
}

#[test]
fn a_chain_of_another_authority_is_foreign_and_another_signer_is_not_the_leaf() {
    let (auth, delegate, _) = day_chain(Scheme::Ed25519, &Grant::unrestricted());
    let other = id(Scheme::Ed25519, 5);
    let foreign = CertChain::issue(
        &other,
        delegate.public_key(),
        &Grant::unrestricted(),
        at(0),
        at(999),
    );
    assert_eq!(
        check(&foreign, &cpa(&auth, "x", &delegate), "x", 60),
        Err("chain_foreign_root")
    );
    let chain = CertChain::issue(
        &auth,
        delegate.public_key(),
        &Grant::unrestricted(),
        at(0),
        at(999),
    );
    assert_eq!(
        check(&chain, &cpa(&auth, "x", &other), "x", 60),
        Err("chain_leaf_key")
    );
}

#[test]
fn classifier_restrictions_bind_the_buffer_classifier_and_the_cpa_hash() {
    let grant = Grant {
        role: CertRole::Member,
        classifiers: vec!["fish".into()],
    };
    let (auth, delegate, chain) = day_chain(Scheme::Ed25519, &grant);
    assert_eq!(check(&chain, &cpa(&auth, "fish", &delegate), "fish", 60), Ok(()));
    assert_eq!(
        check(&chain, &cpa(&auth, "ham", &delegate), "ham", 60),
        Err("chain_classifier")
    );
    // The buffer names an allowed classifier but the CPA certifies another one.
    assert_eq!(
        check(&chain, &cpa(&auth, "ham", &delegate), "fish", 60),
        Err("chain_classifier")
    );
    let c = cpa(&auth, "fish", &delegate);
    assert_eq!(
        validate_chain(chain.der(), &c, None, at(60)).map_err(|e| e.reason()),
        Err("chain_classifier")
    );
    let name = PeerName::secured(auth.authority(), "fish").unwrap();
    assert!(chain.covers(&name, delegate.public_key()));
    assert!(!chain.covers(
        &PeerName::secured(auth.authority(), "fish food").unwrap(),
        delegate.public_key()
    ));
}

#[test]
fn subdelegation_narrows_classifiers_by_role() {
    // MS-PNRP §2.2.3.5.1.5: each certificate's own role says how its list relates to its issuer's.
    let (auth, a, b) = (
        id(Scheme::Ed25519, 1),
        id(Scheme::Ed25519, 2),
        id(Scheme::Ed25519, 3),
    );
    let grant = |role, list: &[&str]| Grant {
        role,
        classifiers: list.iter().map(|c| c.to_string()).collect(),
    };
    let to_a = CertChain::issue(
        &auth,
        a.public_key(),
        &grant(CertRole::Admin, &["fish"]),
        at(0),
        at(999),
    );
    // An admin may narrow "fish" to "fish food" and then use anything that begins with it.
    let to_b = to_a.extend(
        &a,
        b.public_key(),
        &grant(CertRole::Admin, &["fish food"]),
        at(0),
        at(999),
    );
    assert_eq!(to_b.certs().len(), 3);
    assert_eq!(
        check(&to_b, &cpa(&auth, "fish food", &b), "fish food", 60),
        Ok(())
    );
    assert_eq!(
        check(&to_b, &cpa(&auth, "fish foods", &b), "fish foods", 60),
        Ok(())
    );
    assert_eq!(
        check(&to_b, &cpa(&auth, "fish", &b), "fish", 60),
        Err("chain_classifier")
    );
    // A member gets exactly what its issuer lists.
    let member = to_a.extend(
        &a,
        b.public_key(),
        &grant(CertRole::Member, &["fish"]),
        at(0),
        at(999),
    );
    assert_eq!(check(&member, &cpa(&auth, "fish", &b), "fish", 60), Ok(()));
    assert_eq!(
        check(&member, &cpa(&auth, "fish food", &b), "fish food", 60),
        Err("chain_classifier")
    );
    let narrowed = to_a.extend(
        &a,
        b.public_key(),
        &grant(CertRole::Member, &["fish food"]),
        at(0),
        at(999),
    );
    assert_eq!(
        check(&narrowed, &cpa(&auth, "fish food", &b), "fish food", 60),
        Err("chain_classifier")
    );
    // Nobody widens what it was given: "cheese" is not under "fish".
    let wide = to_a.extend(
        &a,
        b.public_key(),
        &grant(CertRole::Admin, &["cheese"]),
        at(0),
        at(999),
    );
    assert_eq!(
        check(&wide, &cpa(&auth, "cheese", &b), "cheese", 60),
        Err("chain_classifier")
    );
}

#[test]
fn the_classifier_delegation_table_of_ms_pnrp_holds() {
    // MS-PNRP §2.2.3.5.1.5.1 (its table lists "cheese" as invalid for roleAdmin under "fish", "cheese";
    // the rule text makes it valid, and the rule text is what is implemented).
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let admin = [CertRole::Admin];
    let member = [CertRole::Member];
    assert!(legal(&[], &member, "anything"));
    assert!(legal(&s(&["", "fish"]), &admin, "ham"));
    assert!(legal(&s(&["", "fish"]), &member, ""));
    assert!(legal(&s(&["", "fish"]), &member, "fish"));
    assert!(!legal(&s(&["", "fish"]), &member, "fish food"));
    for ok in ["fish", "fish food", "cheese", "cheese-like"] {
        assert!(legal(&s(&["fish", "cheese"]), &admin, ok), "{ok}");
    }
    assert!(!legal(&s(&["fish", "cheese"]), &admin, "ham"));
    assert!(legal(
        &s(&["fish", "cheese"]),
        &[CertRole::InvitingMember],
        "fish food"
    ));
    assert!(!legal(&s(&["fish", "cheese"]), &member, "fish food"));
    // Empty lists: legal under an empty delegator list, or for a widening role under a list holding "".
    let cert = |roles: &[CertRole], list: &[&str]| ChainCert {
        roles: roles.to_vec(),
        classifiers: Some(s(list)),
        ..day_chain(Scheme::Ed25519, &Grant::unrestricted()).2.certs()[1].clone()
    };
    assert!(list_delegated(&[], &cert(&member, &[])));
    assert!(list_delegated(&s(&["", "fish"]), &cert(&admin, &[])));
    assert!(!list_delegated(&s(&["", "fish"]), &cert(&member, &[])));
    assert!(!list_delegated(&s(&["fish", "cheese"]), &cert(&admin, &[])));
}

#[test]
fn links_peer_names_and_counts_are_checked() {
    let (auth, delegate, chain) = day_chain(Scheme::Ed25519, &Grant::unrestricted());
    let c = cpa(&auth, "x", &delegate);
    // Two roots.
    let mut certs = chain.certs().to_vec();
    certs[1].root = true;
    certs[1] = certs[1].clone().sign(&auth);
    assert_eq!(
        check(&CertChain::from_certs(certs), &c, "x", 60),
        Err("chain_link")
    );
    // The member names an issuer that is not the root.
    let mut certs = chain.certs().to_vec();
    certs[1].issuer_alt = Some("someone else".into());
    certs[1] = certs[1].clone().sign(&auth);
    assert_eq!(
        check(&CertChain::from_certs(certs), &c, "x", 60),
        Err("chain_link")
    );
    // The last certificate's PnrpPeerName differs from the first's.
    let mut certs = chain.certs().to_vec();
    certs[1].peer_name = Some("0.other".into());
    certs[1] = certs[1].clone().sign(&auth);
    assert_eq!(
        check(&CertChain::from_certs(certs), &c, "x", 60),
        Err("chain_peer_name")
    );
    // A member without its PnrpRole.
    let mut certs = chain.certs().to_vec();
    certs[1].roles.clear();
    certs[1] = certs[1].clone().sign(&auth);
    assert_eq!(
        check(&CertChain::from_certs(certs), &c, "x", 60),
        Err("chain_syntax")
    );
    // More than 25 certificates, and bytes that are no chain at all.
    let mut long = chain.clone();
    for k in 0..25u8 {
        let next = id(Scheme::Ed25519, 100 + k);
        let holder = if k == 0 {
            delegate.clone()
        } else {
            id(Scheme::Ed25519, 99 + k)
        };
        long = long.extend(&holder, next.public_key(), &Grant::unrestricted(), at(0), at(999));
    }
    assert_eq!(long.certs().len(), 27);
    assert_eq!(
        decode_chain(long.der()),
        Err(ChainSyntaxError("more than 25 certificates"))
    );
    assert!(matches!(
        validate_chain(&[0x30, 0x00], &c, Some("x"), at(60)),
        Err(ChainError::Syntax(_))
    ));
}

#[test]
fn a_cpa_with_a_chain_validates_through_the_chain_and_not_without_it() {
    let (auth, delegate, chain) = day_chain(Scheme::Ed25519, &Grant::unrestricted());
    let c = cpa(&auth, "svc", &delegate);
    let mut buf = AuthorityBuffer {
        flags: Default::default(),
        cert_chain: Some(chain.der().to_vec()),
        classifier: Some("svc".into()),
        extended_payload: None,
        route_entry: None,
        cpa: None,
    };
    assert_eq!(
        validate_answer_cpa(
            &c,
            &buf,
            at(60),
            &[3; 16],
            crate::crypto::SignatureByteOrder::BigEndian
        ),
        Ok(())
    );
    assert_eq!(
        validate_answer_cpa(
            &c,
            &buf,
            at(60),
            &[4; 16],
            crate::crypto::SignatureByteOrder::BigEndian
        ),
        Err("nonce_mismatch")
    );
    buf.cert_chain = None;
    assert_eq!(
        validate_answer_cpa(
            &c,
            &buf,
            at(60),
            &[3; 16],
            crate::crypto::SignatureByteOrder::BigEndian
        ),
        Err("authority_mismatch")
    );
}

proptest! {
    #[test]
    fn decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..800)) {
        let _ = decode_chain(&bytes);
    }

    #[test]
    fn a_mutated_chain_that_still_validates_certifies_the_same_thing(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let (auth, delegate, chain) = day_chain(Scheme::Ed25519, &Grant::unrestricted());
        let c = cpa(&auth, "svc", &delegate);
        let mut bytes = chain.der().to_vec();
        for (i, v) in edits {
            let i = i.index(bytes.len());
            bytes[i] = v;
        }
        for input in [&bytes[..], &bytes[..cut.index(bytes.len() + 1)]] {
            if validate_chain(input, &c, Some("svc"), at(60)).is_ok() {
                let mut got: Vec<ChainCert> = decode_chain(input).unwrap().into_iter().map(|d| d.cert).collect();
                got.sort_by_key(|c| !c.root);
                prop_assert_eq!(&got[..], chain.certs());
            }
        }
    }
}

#[test]
fn a_repeated_certificate_is_encoded_once() {
    let (auth, delegate, chain) = day_chain(Scheme::Ed25519, &Grant::unrestricted());
    let mut certs = chain.certs().to_vec();
    certs.push(certs[1].clone());
    let twice = CertChain::from_certs(certs);
    assert_eq!(twice.der(), chain.der());
    assert_eq!(check(&twice, &cpa(&auth, "x", &delegate), "x", 60), Ok(()));
}
