//! Delegated secured names (MS-PNRP §1.3.2): delegation certificates, Certificate Chains (§2.2.3.5) and
//! their validation (§3.1.5.10) with the classifier delegation rules (§2.2.3.5.1.5.1).
//!
//! A secured name's authority is the hash of a key (the root). The root's holder signs a certificate for
//! another key (a member), which may sign one for a third, and so on (at most 25 certificates). A node
//! holding the last key registers the root's names with CPAs signed by its own key and answers INQUIREs
//! with C set with the chain (MS-PNRP §3.2.5.6). The bytes live in `wire::chain`.
//!
//! Peerlab choices: every identity is named, in subject, issuer and alt names, by the 40 lowercase hex
//! digits of its own key's authority hash (MS-PNRP §2.2.3.5 leaves names to the application); every
//! certificate carries the PnrpPeerName `<root authority>.` (the root's name with an empty classifier).

use super::cpa::Cpa;
use super::message::AuthorityBuffer;
use super::name::{classifier_hash, PeerName};
pub use super::wire::chain::CHAIN_CERTS_MAX;
use super::wire::chain::{decode_chain, encode_chain, encode_tbs, DecodedCert};
use crate::crypto::{Identity, PublicKey, Scheme};
use crate::Instant;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Unix time of `Instant::ZERO`, 2026-01-01T00:00:00Z (the epoch `cpa::FILETIME_EPOCH_TICKS` names).
pub const UNIX_SECS_AT_EPOCH: u64 = 1_767_225_600;

/// Simulated time as whole Unix seconds, the resolution of X.509 validity times (RFC 2459 §4.1.2.5).
pub fn instant_to_unix_secs(t: Instant) -> u64 {
    UNIX_SECS_AT_EPOCH.saturating_add(t.as_micros() / 1_000_000)
}

/// A PnrpRole (MS-PNRP §2.2.3.5.1.4): what a member certificate may delegate onwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CertRole {
    /// roleAdmin: classifiers may extend the delegator's (prefix rule).
    Admin,
    /// roleMember: classifiers must equal the delegator's.
    Member,
    /// roleInvitingMember: as roleAdmin.
    InvitingMember,
}

impl CertRole {
    /// The three roles.
    pub const ALL: [CertRole; 3] = [CertRole::Admin, CertRole::Member, CertRole::InvitingMember];

    /// The role's UUID, bytes in the order MS-PNRP §2.2.3.5.1.4 writes them.
    pub fn uuid(self) -> [u8; 16] {
        let hex = match self {
            CertRole::Admin => "04387127aa56450a8ce54f565c6790f4",
            CertRole::Member => "f12dc4c708574ca093fcb1bb19a3d8c2",
            CertRole::InvitingMember => "dd15f41ffc4e4922b0354c06a754d01d",
        };
        let mut out = [0u8; 16];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("a fixed hex UUID");
        }
        out
    }

    /// True for the roles whose classifiers may begin with a delegator's (MS-PNRP §2.2.3.5.1.5.1).
    fn widens(self) -> bool {
        self != CertRole::Member
    }
}

/// One certificate of a chain, as its fields (MS-PNRP §2.2.3.5, §2.2.3.5.1).
#[derive(Clone, Debug, PartialEq)]
pub struct ChainCert {
    /// PnrpCertificateType: root (2) for the first certificate, member (1) otherwise.
    pub root: bool,
    /// The 16-byte serial number.
    pub serial: [u8; 16],
    /// The scheme the issuer signed with (the signatureAlgorithm).
    pub signature_scheme: Scheme,
    /// Issuer CN.
    pub issuer: String,
    /// Subject CN.
    pub subject: String,
    /// Start of validity, Unix seconds.
    pub not_before: u64,
    /// End of validity, Unix seconds (inclusive, RFC 2459 §4.1.2.5).
    pub not_after: u64,
    /// The subject's key.
    pub key: PublicKey,
    /// PnrpPeerName (required in the last certificate and equal to the first's).
    pub peer_name: Option<String>,
    /// PnrpRole (in every certificate but the first).
    pub roles: Vec<CertRole>,
    /// PnrpClassifiersList (in every certificate but the first); empty = every classifier.
    pub classifiers: Option<Vec<String>>,
    /// IssuerAltName.
    pub issuer_alt: Option<String>,
    /// SubjectAltName.
    pub subject_alt: Option<String>,
    /// The issuer's signature over the DER TBSCertificate.
    pub signature: Vec<u8>,
}

/// The name peerlab gives an identity in certificates: the hex of its key's authority hash.
pub fn identity_label(key: &PublicKey) -> String {
    key.authority().iter().map(|b| format!("{b:02x}")).collect()
}

/// What a delegation grants (MS-PNRP §2.2.3.5.1.4, §2.2.3.5.1.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The delegate's role.
    pub role: CertRole,
    /// The classifiers it may use; empty = unrestricted.
    pub classifiers: Vec<String>,
}

impl Grant {
    /// Every classifier, with the right to subdelegate (roleAdmin, empty list).
    pub fn unrestricted() -> Grant {
        Grant {
            role: CertRole::Admin,
            classifiers: Vec::new(),
        }
    }
}

impl ChainCert {
    /// A certificate from the holder of `issuer_key` for `key`, unsigned (`sign` fills the signature).
    fn unsigned(
        issuer_key: &PublicKey,
        key: &PublicKey,
        root_authority: [u8; 20],
        grant: Option<&Grant>,
        not_before: Instant,
        not_after: Instant,
    ) -> ChainCert {
        let (issuer, subject) = (identity_label(issuer_key), identity_label(key));
        let (nb, na) = (instant_to_unix_secs(not_before), instant_to_unix_secs(not_after));
        // Serial: a digest of what the certificate binds, first byte in 1..=0x7f so the DER INTEGER is
        // exactly 16 bytes (MS-PNRP §2.2.3.5).
        let mut h = Sha256::new();
        for part in [
            &issuer_key.bytes[..],
            &key.bytes[..],
            &nb.to_be_bytes(),
            &na.to_be_bytes(),
        ] {
            h.update(part);
        }
        if let Some(g) = grant {
            h.update(g.role.uuid());
            for c in &g.classifiers {
                h.update((c.len() as u64).to_be_bytes());
                h.update(c.as_bytes());
            }
        }
        let digest = h.finalize();
        let mut serial = [0u8; 16];
        serial.copy_from_slice(&digest[..16]);
        serial[0] = (serial[0] & 0x7f).max(1);
        let peer = PeerName {
            authority: root_authority,
            classifier: String::new(),
        };
        ChainCert {
            root: grant.is_none(),
            serial,
            signature_scheme: issuer_key.scheme,
            issuer_alt: Some(issuer.clone()),
            subject_alt: Some(subject.clone()),
            issuer,
            subject,
            not_before: nb,
            not_after: na,
            key: key.clone(),
            peer_name: Some(peer.to_string()),
            roles: grant.map(|g| vec![g.role]).unwrap_or_default(),
            classifiers: grant.map(|g| g.classifiers.clone()),
            signature: Vec::new(),
        }
    }

    /// Signs this certificate's TBSCertificate with `issuer` (setting the signature algorithm to its scheme).
    pub fn sign(mut self, issuer: &Identity) -> ChainCert {
        self.signature_scheme = issuer.scheme();
        self.signature = issuer.sign(&encode_tbs(&self));
        self
    }
}

/// A Certificate Chain: its certificates, root first, and their DER encoding (MS-PNRP §2.2.3.5).
#[derive(Clone, Debug, PartialEq)]
pub struct CertChain {
    certs: Vec<ChainCert>,
    der: Arc<[u8]>,
}

impl CertChain {
    /// A chain of the given certificates, root first. Receivers refuse more than `CHAIN_CERTS_MAX` (25).
    pub fn from_certs(certs: Vec<ChainCert>) -> CertChain {
        let der = Arc::from(encode_chain(&certs));
        CertChain { certs, der }
    }

    /// The holder of `authority` delegates its names to `delegate` under `grant`, valid over
    /// [`not_before`, `not_after`]: a self-signed root and one member certificate (MS-PNRP §1.3.2).
    pub fn issue(
        authority: &Identity,
        delegate: &PublicKey,
        grant: &Grant,
        not_before: Instant,
        not_after: Instant,
    ) -> CertChain {
        let root_key = authority.public_key();
        let a = authority.authority();
        let root = ChainCert::unsigned(root_key, root_key, a, None, not_before, not_after).sign(authority);
        let member =
            ChainCert::unsigned(root_key, delegate, a, Some(grant), not_before, not_after).sign(authority);
        CertChain::from_certs(vec![root, member])
    }

    /// Subdelegation: `holder` (this chain's last key) extends the chain to `delegate`.
    pub fn extend(
        &self,
        holder: &Identity,
        delegate: &PublicKey,
        grant: &Grant,
        not_before: Instant,
        not_after: Instant,
    ) -> CertChain {
        let root = self.certs.first().map(|c| c.key.authority()).unwrap_or_default();
        let cert = ChainCert::unsigned(
            holder.public_key(),
            delegate,
            root,
            Some(grant),
            not_before,
            not_after,
        )
        .sign(holder);
        let mut certs = self.certs.clone();
        certs.push(cert);
        CertChain::from_certs(certs)
    }

    /// The certificates, root first.
    pub fn certs(&self) -> &[ChainCert] {
        &self.certs
    }

    /// The DER Certificate Chain, as the CERT_CHAIN element carries it.
    pub fn der(&self) -> &Arc<[u8]> {
        &self.der
    }

    /// The authority of the names this chain delegates (the root key's hash).
    pub fn root_authority(&self) -> Option<[u8; 20]> {
        self.certs.first().map(|c| c.key.authority())
    }

    /// True when `key` may publish `name` through this chain: the name's authority is the root's, the last
    /// certificate is `key`'s and the classifier is legally delegated (no signature or time checks).
    pub fn covers(&self, name: &PeerName, key: &PublicKey) -> bool {
        let Some(last) = self.certs.last() else {
            return false;
        };
        self.root_authority() == Some(name.authority)
            && last.key == *key
            && classifier_delegated(last, &name.classifier)
    }
}

/// A delegate's registration material: its key pair and the chain that vouches for it.
#[derive(Clone, Debug)]
pub struct Delegation {
    /// The delegate's key pair (signs the CPAs).
    pub identity: Arc<Identity>,
    /// The chain from the authority's root to `identity`'s key.
    pub chain: CertChain,
}

/// Why a Certificate Chain failed validation (MS-PNRP §3.1.5.10).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// The bytes break MS-PNRP §2.2.3.5.
    #[error("certificate chain syntax: {0}")]
    Syntax(&'static str),
    /// The certificates do not form one chain from a single root (types, alt names).
    #[error("certificates do not link from one root")]
    Link,
    /// A certificate's signature does not verify under its issuer's key (the root's under its own).
    #[error("a certificate signature does not verify")]
    BadSignature,
    /// Now is outside some certificate's validity.
    #[error("a certificate is outside its validity")]
    Expired,
    /// The root key does not hash to the CPA's BinaryAuthority.
    #[error("the chain is rooted in another authority")]
    ForeignRoot,
    /// The last certificate's key is not the key that signed the CPA.
    #[error("the last certificate is not the CPA key's")]
    LeafKey,
    /// PnrpPeerName missing from the last certificate or differing from the first's.
    #[error("PnrpPeerName differs")]
    PeerName,
    /// A classifier list, or the buffer's classifier, is not legally delegated.
    #[error("classifier not delegated")]
    Classifier,
}

impl ChainError {
    /// A short stable name for rejection counters.
    pub fn reason(&self) -> &'static str {
        match self {
            ChainError::Syntax(_) => "chain_syntax",
            ChainError::Link => "chain_link",
            ChainError::BadSignature => "chain_bad_signature",
            ChainError::Expired => "chain_expired",
            ChainError::ForeignRoot => "chain_foreign_root",
            ChainError::LeafKey => "chain_leaf_key",
            ChainError::PeerName => "chain_peer_name",
            ChainError::Classifier => "chain_classifier",
        }
    }
}

/// Every chain rejection reason, for reports that list them.
pub const CHAIN_REJECT_REASONS: [&str; 8] = [
    "chain_syntax",
    "chain_link",
    "chain_bad_signature",
    "chain_expired",
    "chain_foreign_root",
    "chain_leaf_key",
    "chain_peer_name",
    "chain_classifier",
];

/// MS-PNRP §2.2.3.5.1.5.1: is `classifier` legal for a certificate with `roles` under `delegator`'s list?
fn legal(delegator: &[String], roles: &[CertRole], classifier: &str) -> bool {
    if delegator.is_empty() {
        return true;
    }
    if roles.iter().any(|r| r.widens()) {
        delegator.iter().any(|d| classifier.starts_with(d.as_str()))
    } else {
        delegator.iter().any(|d| d == classifier)
    }
}

/// MS-PNRP §2.2.3.5.1.5: is `cert`'s classifier list delegated from `delegator`'s? An empty list (every
/// classifier) needs an empty delegator list, or a widening role and a delegator list holding "".
fn list_delegated(delegator: &[String], cert: &ChainCert) -> bool {
    let list = cert.classifiers.as_deref().unwrap_or_default();
    if list.is_empty() {
        return delegator.is_empty()
            || (cert.roles.iter().any(|r| r.widens()) && delegator.iter().any(String::is_empty));
    }
    list.iter().all(|c| legal(delegator, &cert.roles, c))
}

/// Is `classifier` delegated by the last certificate `last` (MS-PNRP §3.1.5.10, last rule)?
fn classifier_delegated(last: &ChainCert, classifier: &str) -> bool {
    legal(
        last.classifiers.as_deref().unwrap_or_default(),
        &last.roles,
        classifier,
    )
}

/// Puts decoded certificates in chain order: the single root first, then each certificate whose
/// IssuerAltName is the previous one's SubjectAltName (MS-PNRP §3.1.5.10; DER sorts the SET they travel in).
fn order(mut certs: Vec<DecodedCert>) -> Result<Vec<DecodedCert>, ChainError> {
    let roots = certs.iter().filter(|c| c.cert.root).count();
    let at = certs.iter().position(|c| c.cert.root).ok_or(ChainError::Link)?;
    if roots != 1 {
        return Err(ChainError::Link);
    }
    let mut chain = vec![certs.swap_remove(at)];
    while !certs.is_empty() {
        let prev = chain
            .last()
            .and_then(|c| c.cert.subject_alt.clone())
            .ok_or(ChainError::Link)?;
        let next = certs
            .iter()
            .position(|c| c.cert.issuer_alt.as_ref() == Some(&prev))
            .ok_or(ChainError::Link)?;
        chain.push(certs.swap_remove(next));
    }
    Ok(chain)
}

/// MS-PNRP §3.1.5.10: validates the Certificate Chain `der` for `cpa` (whose BinaryAuthority it must be
/// rooted in and whose key it must end in), the AUTHORITY_BUFFER's `classifier` and time `now`. Every
/// certificate's signature is checked under its issuer's key, the root's under its own (RFC 2459 §6.1).
pub fn validate_chain(
    der: &[u8],
    cpa: &Cpa,
    classifier: Option<&str>,
    now: Instant,
) -> Result<(), ChainError> {
    let certs = order(decode_chain(der).map_err(|e| ChainError::Syntax(e.0))?)?;
    let root = &certs[0].cert;
    if root.issuer_alt != root.subject_alt || root.issuer != root.subject {
        return Err(ChainError::Link);
    }
    let mut issuer = &root.key;
    for c in &certs {
        if c.cert.signature_scheme != issuer.scheme || !issuer.verify(&c.tbs, &c.cert.signature) {
            return Err(ChainError::BadSignature);
        }
        issuer = &c.cert.key;
    }
    if Some(root.key.authority()) != cpa.authority {
        return Err(ChainError::ForeignRoot);
    }
    let last = &certs[certs.len() - 1].cert;
    if last.key.authority() != cpa.public_key.authority() {
        return Err(ChainError::LeafKey);
    }
    let t = instant_to_unix_secs(now);
    if certs
        .iter()
        .any(|c| t < c.cert.not_before || t > c.cert.not_after)
    {
        return Err(ChainError::Expired);
    }
    let syntax_ok = |c: &DecodedCert| {
        c.cert
            .classifiers
            .iter()
            .flatten()
            .all(|s| PeerName::unsecured(s).is_ok())
    };
    if !certs.iter().all(syntax_ok)
        || certs[1..]
            .iter()
            .any(|c| c.cert.classifiers.is_none() || c.cert.roles.is_empty())
    {
        return Err(ChainError::Syntax(
            "a member certificate without roles or classifiers",
        ));
    }
    for pair in certs.windows(2) {
        let delegator = pair[0].cert.classifiers.as_deref().unwrap_or_default();
        // There is no restriction on the first certificate's own list.
        if !list_delegated(delegator, &pair[1].cert) {
            return Err(ChainError::Classifier);
        }
    }
    if last.peer_name.is_none() || last.peer_name != root.peer_name {
        return Err(ChainError::PeerName);
    }
    // The buffer's classifier must be delegated and (peerlab's reading: otherwise the restriction binds
    // nothing) must be the one the CPA's ClassifierHash certifies.
    let classifier = classifier.ok_or(ChainError::Classifier)?;
    if !classifier_delegated(last, classifier) || cpa.classifier_hash != Some(classifier_hash(classifier)) {
        return Err(ChainError::Classifier);
    }
    Ok(())
}

/// MS-PNRP §3.1.5.7 for a CPA carried in an AUTHORITY_BUFFER: a secured CPA with a CERT_CHAIN is vouched for
/// by the chain (MS-PNRP §3.1.5.10) instead of by its BinaryAuthority hashing its key. The reason names the
/// failed rule (`CpaError::reason`, `ChainError::reason`).
pub fn validate_answer_cpa(
    cpa: &Cpa,
    buf: &AuthorityBuffer,
    now: Instant,
    nonce: &[u8; 16],
    order: crate::crypto::SignatureByteOrder,
) -> Result<(), &'static str> {
    match (&buf.cert_chain, cpa.authority) {
        (Some(der), Some(_)) => {
            cpa.check_syntax().map_err(|e| e.reason())?;
            validate_chain(der, cpa, buf.classifier.as_deref(), now).map_err(|e| e.reason())?;
            cpa.validate_delegated(now, nonce, order).map_err(|e| e.reason())
        }
        _ => cpa.validate_with(now, nonce, order).map_err(|e| e.reason()),
    }
}

#[cfg(test)]
#[path = "chain_tests.rs"]
mod tests;
