//! Signature schemes for CPAs (MS-PNRP §1.3.1.1, §1.3.1.3, §2.2.3.1.4, §2.2.3.2).
//!
//! Two schemes sit behind one API so the PNRP engine never cares which one a run uses:
//! * `rsa1024`: RSA-1024 (e = 65537), RSASSA-PKCS1-v1_5 over SHA-1, exactly as MS-PNRP specifies.
//! * `ed25519`: real Ed25519 signatures, a peerlab choice for large runs. On the wire it keeps
//!   the RSA sizes (140-byte key field, 128-byte signature field, zero-padded; see `pnrp::wire::cpa_codec`)
//!   so byte and latency metrics never depend on the scheme.
//!
//! Costs per operation on the 2-core AMD EPYC build box (criterion: `cargo bench -p peerlab-benches
//! --bench pnrp -- cpa/`; validation includes encoding the signed bytes):
//! * RSA-1024 key generation ≈ 20 ms on average (prime search varies, 5–100 ms), once per seed (cached);
//! * RSA sign ≈ 175 µs; validating a CPA with a fresh nonce ≈ 33 µs (key parse done once per key, cached);
//! * Ed25519 key generation ≈ 16 µs, sign ≈ 13 µs, validating a fresh-nonce CPA ≈ 26 µs (the key's
//!   decompression done once per key, cached);
//! * a reused zero-nonce CPA that passed before is a memo hit (`pnrp::cpa_memo`): ≈ 18 ns.
//!
//! The process-wide caches below only save time: every cached value is a pure function of its key, so
//! results never depend on what is cached (docs/architecture.md §7, habit 4).

use ed25519_dalek::{Signer, Verifier};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey, EncodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

/// Which signature scheme identities use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Scheme {
    /// RSA-1024, RSASSA-PKCS1-v1_5 with SHA-1, as MS-PNRP specifies.
    #[serde(rename = "rsa1024")]
    Rsa1024Sha1,
    /// Ed25519, for very large runs.
    #[serde(rename = "ed25519")]
    Ed25519,
}

/// Byte order of an RSA signature on the wire (MS-PNRP §2.2.3.2 SIGNATURE, §3.2.5.9).
///
/// RFC 8017 §8.2 (which MS-PNRP §3.2.5.9 names) outputs the signature as an octet string, most
/// significant byte first; CryptoAPI's `CryptSignHash` writes the same number least significant byte
/// first. `Identity::sign` and `PublicKey::verify` always work in the RFC 8017 order; this only maps
/// that order to and from the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignatureByteOrder {
    /// RFC 8017 §8.2 / I2OSP order, as MS-PNRP §3.2.5.9 specifies.
    #[default]
    #[serde(rename = "big-endian")]
    BigEndian,
    /// CryptoAPI `CryptSignHash` order: the RFC 8017 octets reversed.
    #[serde(rename = "little-endian")]
    LittleEndian,
}

impl SignatureByteOrder {
    /// The configuration name (`"big-endian"` / `"little-endian"`).
    pub const fn name(self) -> &'static str {
        match self {
            SignatureByteOrder::BigEndian => "big-endian",
            SignatureByteOrder::LittleEndian => "little-endian",
        }
    }

    /// True when a `scheme` signature changes on the way to the wire (only RSA, only little-endian).
    pub fn reverses(self, scheme: Scheme) -> bool {
        self == SignatureByteOrder::LittleEndian && scheme == Scheme::Rsa1024Sha1
    }

    /// Maps a `scheme` signature between the RFC 8017 order and the wire order (either way: reversing
    /// is its own inverse).
    pub fn convert(self, scheme: Scheme, sig: &mut [u8]) {
        if self.reverses(scheme) {
            sig.reverse();
        }
    }
}

/// Length of a DER RSAPublicKey of a 1024-bit modulus with e = 65537 (MS-PNRP §2.2.3.1).
pub const RSA1024_KEY_LEN: usize = 140;
/// Length of an RSA-1024 signature.
pub const RSA1024_SIGNATURE_LEN: usize = 128;
/// Length of an Ed25519 public key.
pub const ED25519_KEY_LEN: usize = 32;
/// Length of an Ed25519 signature.
pub const ED25519_SIGNATURE_LEN: usize = 64;

/// DigestInfo prefix for SHA-1 in PKCS#1 v1.5 signatures (RFC 8017 §9.2 note 1).
const SHA1_DIGEST_INFO: [u8; 15] = [
    0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
];
/// DER AlgorithmIdentifier for rsaEncryption (1.2.840.113549.1.1.1) with NULL parameters.
const RSA_ALG_ID: [u8; 15] = [
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];
/// DER AlgorithmIdentifier for Ed25519 (1.3.101.112, RFC 8410: parameters absent).
const ED25519_ALG_ID: [u8; 7] = [0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];

/// Verification-cache bound: cleared wholesale when it grows past this (≈ 40 MB at the bound).
const VERIFY_CACHE_MAX: usize = 1 << 20;
/// Parsed-RSA-key cache bound.
const RSA_KEY_CACHE_MAX: usize = 1 << 17;
/// Bound on the decompressed Ed25519 keys kept (about 250 bytes each).
const ED25519_KEY_CACHE_MAX: usize = 1 << 17;

impl Scheme {
    /// Both schemes.
    pub const ALL: [Scheme; 2] = [Scheme::Rsa1024Sha1, Scheme::Ed25519];

    /// The configuration name ("rsa1024" / "ed25519").
    pub const fn name(self) -> &'static str {
        match self {
            Scheme::Rsa1024Sha1 => "rsa1024",
            Scheme::Ed25519 => "ed25519",
        }
    }

    /// Length of this scheme's public-key bytes (`PublicKey::bytes`).
    pub const fn key_len(self) -> usize {
        match self {
            Scheme::Rsa1024Sha1 => RSA1024_KEY_LEN,
            Scheme::Ed25519 => ED25519_KEY_LEN,
        }
    }

    /// Length of this scheme's signatures.
    pub const fn signature_len(self) -> usize {
        match self {
            Scheme::Rsa1024Sha1 => RSA1024_SIGNATURE_LEN,
            Scheme::Ed25519 => ED25519_SIGNATURE_LEN,
        }
    }

    fn tag(self) -> u8 {
        match self {
            Scheme::Rsa1024Sha1 => 1,
            Scheme::Ed25519 => 2,
        }
    }
}

/// A public key.
///
/// `bytes` is the 140-byte DER RSAPublicKey (`SEQUENCE { n, e }`) for RSA, the 32-byte compressed point
/// for Ed25519.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PublicKey {
    /// The scheme.
    pub scheme: Scheme,
    /// Encoded key bytes.
    pub bytes: Arc<[u8]>,
}

impl PublicKey {
    /// The key's SubjectPublicKeyInfo DER (RFC 5280 §4.1.2.7), the input of the authority hash.
    pub fn spki_der(&self) -> Vec<u8> {
        let alg: &[u8] = match self.scheme {
            Scheme::Rsa1024Sha1 => &RSA_ALG_ID,
            Scheme::Ed25519 => &ED25519_ALG_ID,
        };
        // BIT STRING content: a zero "unused bits" byte, then the key.
        let mut bits = Vec::with_capacity(1 + self.bytes.len());
        bits.push(0);
        bits.extend_from_slice(&self.bytes);
        let mut inner = Vec::with_capacity(alg.len() + bits.len() + 4);
        inner.extend_from_slice(alg);
        der_tlv(0x03, &bits, &mut inner);
        let mut out = Vec::with_capacity(inner.len() + 4);
        der_tlv(0x30, &inner, &mut out);
        out
    }

    /// BinaryAuthority: SHA-1 of the SubjectPublicKeyInfo DER (MS-PNRP §1.3.1.1; §2.2.3.1 says
    /// "PublicKey Data" instead; peerlab choice: SPKI DER, the one function used both to name secured peers
    /// and to validate CPAs).
    pub fn authority(&self) -> [u8; 20] {
        Sha1::digest(self.spki_der()).into()
    }

    /// True when the key bytes have this scheme's length and parse as a key.
    pub fn is_well_formed(&self) -> bool {
        match self.scheme {
            Scheme::Rsa1024Sha1 => self.bytes.len() == RSA1024_KEY_LEN && rsa_key(&self.bytes).is_some(),
            Scheme::Ed25519 => ed25519_key(&self.bytes).is_some(),
        }
    }

    /// Verifies `sig` over `msg`: RSASSA-PKCS1-v1_5 over SHA-1(`msg`) for RSA, plain Ed25519 over `msg`.
    ///
    /// Results are memoised process-wide by SHA-256(scheme ‖ key ‖ msg ‖ sig), so re-checking the same
    /// CPA bytes (10^4+ peers validating the same publisher) is a lookup.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let mut h = Sha256::new();
        h.update([self.scheme.tag()]);
        // Length prefixes keep (key, msg, sig) splits unambiguous.
        for part in [&self.bytes[..], msg, sig] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
        let cache_key: [u8; 32] = h.finalize().into();
        let cache = verify_cache();
        if let Some(&ok) = lock(cache).get(&cache_key) {
            return ok;
        }
        let ok = self.verify_uncached(msg, sig);
        let mut map = lock(cache);
        if map.len() >= VERIFY_CACHE_MAX {
            map.clear();
        }
        map.insert(cache_key, ok);
        ok
    }

    /// Like `verify`, without the process-wide memo: for messages checked once (a CPA carrying a
    /// fresh INQUIRE nonce), where hashing the input and storing the result would only cost.
    pub fn verify_uncached(&self, msg: &[u8], sig: &[u8]) -> bool {
        match self.scheme {
            Scheme::Rsa1024Sha1 => {
                if self.bytes.len() != RSA1024_KEY_LEN || sig.len() != RSA1024_SIGNATURE_LEN {
                    return false;
                }
                let Some(key) = rsa_key(&self.bytes) else {
                    return false;
                };
                let digest = Sha1::digest(msg);
                key.verify(sha1_padding(), &digest, sig).is_ok()
            }
            Scheme::Ed25519 => {
                let Some(key) = ed25519_key(&self.bytes) else {
                    return false;
                };
                let Ok(sig) = <[u8; ED25519_SIGNATURE_LEN]>::try_from(sig) else {
                    return false;
                };
                key.verify(msg, &ed25519_dalek::Signature::from_bytes(&sig))
                    .is_ok()
            }
        }
    }
}

/// The private half of an identity.
enum Secret {
    Rsa(Box<RsaPrivateKey>),
    Ed25519(Box<ed25519_dalek::SigningKey>),
}

/// A key pair, generated deterministically from a 32-byte seed.
pub struct Identity {
    public: PublicKey,
    authority: [u8; 20],
    secret: Secret,
}

type IdentityCache = Mutex<BTreeMap<(Scheme, [u8; 32]), Arc<Identity>>>;

/// The process-wide identity cache, by (scheme, seed).
fn identity_cache() -> &'static IdentityCache {
    static CACHE: OnceLock<IdentityCache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(BTreeMap::new()))
}

impl Identity {
    /// The identity for `seed` under `scheme`: keys come from a ChaCha20 stream seeded with `seed`, so the
    /// same seed always yields the same key. A process-wide cache makes each seed generate only once.
    pub fn generate(scheme: Scheme, seed: [u8; 32]) -> Arc<Identity> {
        let cache = identity_cache();
        if let Some(id) = lock(cache).get(&(scheme, seed)) {
            return Arc::clone(id);
        }
        // Generate outside the lock: RSA generation takes tens of ms and other threads may want other
        // seeds meanwhile. A racing duplicate generation produces the identical key; the first insert wins.
        let fresh = Arc::new(Identity::generate_uncached(scheme, seed));
        Arc::clone(lock(cache).entry((scheme, seed)).or_insert(fresh))
    }

    /// Whether the identity for (`scheme`, `seed`) is already in the process-wide cache.
    pub fn is_cached(scheme: Scheme, seed: [u8; 32]) -> bool {
        lock(identity_cache()).contains_key(&(scheme, seed))
    }

    /// The RSA private key as PKCS#1 DER, for a key store outside the engine; `None` for Ed25519
    /// (which derives in microseconds and is never stored).
    pub fn rsa_private_der(&self) -> Option<Vec<u8>> {
        match &self.secret {
            Secret::Rsa(key) => key.to_pkcs1_der().ok().map(|d| d.as_bytes().to_vec()),
            Secret::Ed25519(_) => None,
        }
    }

    /// Puts a stored RSA-1024 key (PKCS#1 DER from [`Identity::rsa_private_der`]) in the
    /// process-wide cache as the identity of `seed`, so [`Identity::generate`] returns it without
    /// generating. Refuses (returns `None`) DER that does not parse, is not a 1024-bit key whose
    /// public half encodes in 140 bytes, or fails a sign-and-verify round trip. The caller vouches
    /// that the DER was derived from `seed` (a key store names its files by it and checksums them).
    pub fn adopt_rsa_private_der(seed: [u8; 32], der: &[u8]) -> Option<Arc<Identity>> {
        let key = RsaPrivateKey::from_pkcs1_der(der).ok()?;
        key.validate().ok()?;
        let public_der = key.to_public_key().to_pkcs1_der().ok()?;
        if public_der.as_bytes().len() != RSA1024_KEY_LEN {
            return None;
        }
        let public = PublicKey {
            scheme: Scheme::Rsa1024Sha1,
            bytes: Arc::from(public_der.as_bytes().to_vec()),
        };
        let id = Identity {
            authority: public.authority(),
            public,
            secret: Secret::Rsa(Box::new(key)),
        };
        let probe = b"peerlab key store check";
        if !id.public.verify_uncached(probe, &id.sign(probe)) {
            return None;
        }
        let fresh = Arc::new(id);
        Some(Arc::clone(
            lock(identity_cache())
                .entry((Scheme::Rsa1024Sha1, seed))
                .or_insert(fresh),
        ))
    }

    fn generate_uncached(scheme: Scheme, seed: [u8; 32]) -> Identity {
        let mut rng = ChaCha20Rng::from_seed(seed);
        let (bytes, secret): (Vec<u8>, Secret) = match scheme {
            Scheme::Rsa1024Sha1 => {
                // rsa's generator guarantees a modulus of exactly 1024 bits with e = 65537, so the
                // RSAPublicKey DER is always 140 bytes; loop defensively on the same stream if not.
                loop {
                    let key = RsaPrivateKey::new(&mut rng, 1024).expect("1024-bit RSA generation succeeds");
                    let der = key
                        .to_public_key()
                        .to_pkcs1_der()
                        .expect("RSA public key encodes as DER");
                    if der.as_bytes().len() == RSA1024_KEY_LEN {
                        break (der.as_bytes().to_vec(), Secret::Rsa(Box::new(key)));
                    }
                }
            }
            Scheme::Ed25519 => {
                let mut sk = [0u8; 32];
                rng.fill_bytes(&mut sk);
                let key = ed25519_dalek::SigningKey::from_bytes(&sk);
                (
                    key.verifying_key().to_bytes().to_vec(),
                    Secret::Ed25519(Box::new(key)),
                )
            }
        };
        let public = PublicKey {
            scheme,
            bytes: Arc::from(bytes),
        };
        let authority = public.authority();
        Identity {
            public,
            authority,
            secret,
        }
    }

    /// The scheme of this identity.
    pub fn scheme(&self) -> Scheme {
        self.public.scheme
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// BinaryAuthority of this identity's secured names: `self.public_key().authority()`, precomputed.
    pub fn authority(&self) -> [u8; 20] {
        self.authority
    }

    /// Signs `msg`: RSASSA-PKCS1-v1_5 over SHA-1(`msg`) (128 bytes) or Ed25519 over `msg` (64 bytes).
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        match &self.secret {
            Secret::Rsa(key) => {
                let digest = Sha1::digest(msg);
                key.sign(sha1_padding(), &digest)
                    .expect("a 1024-bit key signs a 20-byte digest")
            }
            Secret::Ed25519(key) => key.sign(msg).to_bytes().to_vec(),
        }
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the private key.
        write!(f, "Identity({}, authority ", self.public.scheme.name())?;
        for b in self.authority {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

fn sha1_padding() -> Pkcs1v15Sign {
    Pkcs1v15Sign {
        hash_len: Some(20),
        prefix: Box::new(SHA1_DIGEST_INFO),
    }
}

/// Locks a cache, recovering from poisoning (a panic elsewhere cannot corrupt a map of pure values).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn verify_cache() -> &'static Mutex<BTreeMap<[u8; 32], bool>> {
    static CACHE: OnceLock<Mutex<BTreeMap<[u8; 32], bool>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(BTreeMap::new()))
}

/// The parsed RSA key for `der`, cached per key bytes.
fn rsa_key(der: &[u8]) -> Option<Arc<RsaPublicKey>> {
    type KeyCache = Mutex<BTreeMap<Box<[u8]>, Option<Arc<RsaPublicKey>>>>;
    static CACHE: OnceLock<KeyCache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(BTreeMap::new()));
    if let Some(k) = lock(cache).get(der) {
        return k.clone();
    }
    let parsed = RsaPublicKey::from_pkcs1_der(der).ok().map(Arc::new);
    let mut map = lock(cache);
    if map.len() >= RSA_KEY_CACHE_MAX {
        map.clear();
    }
    map.insert(Box::from(der), parsed.clone());
    parsed
}

/// The decompressed Ed25519 key for `bytes`, cached per key: decompression (a field square root) is
/// about a seventh of a verification, and every publisher's key is checked by thousands of peers.
fn ed25519_key(bytes: &[u8]) -> Option<ed25519_dalek::VerifyingKey> {
    type KeyCache = Mutex<BTreeMap<[u8; ED25519_KEY_LEN], Option<ed25519_dalek::VerifyingKey>>>;
    static CACHE: OnceLock<KeyCache> = OnceLock::new();
    let b = <[u8; ED25519_KEY_LEN]>::try_from(bytes).ok()?;
    let cache = CACHE.get_or_init(|| Mutex::new(BTreeMap::new()));
    if let Some(k) = lock(cache).get(&b) {
        return *k;
    }
    let parsed = ed25519_dalek::VerifyingKey::from_bytes(&b).ok();
    let mut map = lock(cache);
    if map.len() >= ED25519_KEY_CACHE_MAX {
        map.clear();
    }
    map.insert(b, parsed);
    parsed
}

/// Appends a DER tag-length-value.
fn der_tlv(tag: u8, content: &[u8], out: &mut Vec<u8>) {
    out.push(tag);
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else if n <= 0xff {
        out.extend_from_slice(&[0x81, n as u8]);
    } else {
        out.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
    }
    out.extend_from_slice(content);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed(b: u8) -> [u8; 32] {
        [b; 32]
    }

    #[test]
    fn generation_is_deterministic_and_cached() {
        for scheme in Scheme::ALL {
            let a = Identity::generate(scheme, seed(1));
            let b = Identity::generate(scheme, seed(1));
            assert!(Arc::ptr_eq(&a, &b));
            // The uncached path yields the same key: results cannot depend on the cache.
            let fresh = Identity::generate_uncached(scheme, seed(1));
            assert_eq!(fresh.public_key(), a.public_key());
            assert_ne!(Identity::generate(scheme, seed(2)).public_key(), a.public_key());
            assert_eq!(a.public_key().bytes.len(), scheme.key_len());
            assert!(a.public_key().is_well_formed());
        }
    }

    #[test]
    fn a_stored_rsa_key_is_bit_identical_to_a_fresh_one() {
        let fresh = Identity::generate_uncached(Scheme::Rsa1024Sha1, seed(91));
        let der = fresh.rsa_private_der().unwrap();
        let adopted = Identity::adopt_rsa_private_der(seed(91), &der).unwrap();
        assert_eq!(adopted.public_key().bytes, fresh.public_key().bytes);
        assert_eq!(adopted.rsa_private_der().unwrap(), der);
        assert_eq!(
            adopted.sign(b"msg"),
            fresh.sign(b"msg"),
            "PKCS#1 v1.5 signs deterministically"
        );
        // generate() now returns the adopted identity.
        assert!(Arc::ptr_eq(
            &Identity::generate(Scheme::Rsa1024Sha1, seed(91)),
            &adopted
        ));
        // Damaged DER is refused.
        let mut bad = der.clone();
        bad[40] ^= 0xff;
        assert!(Identity::adopt_rsa_private_der(seed(92), &bad).is_none());
        assert!(Identity::adopt_rsa_private_der(seed(92), &der[..100]).is_none());
        assert!(!Identity::is_cached(Scheme::Rsa1024Sha1, seed(92)));
    }

    #[test]
    fn rsa_key_is_1024_bit_e65537_and_spki_is_standard() {
        let id = Identity::generate(Scheme::Rsa1024Sha1, seed(3));
        let pk = id.public_key();
        // SEQUENCE(137) { INTEGER(129) 00 n..., INTEGER(3) 01 00 01 }
        assert_eq!(&pk.bytes[..4], &[0x30, 0x81, 0x89, 0x02]);
        assert_eq!(&pk.bytes[135..], &[0x02, 0x03, 0x01, 0x00, 0x01]);
        let spki = pk.spki_der();
        assert_eq!(spki.len(), 162);
        assert_eq!(&spki[..3], &[0x30, 0x81, 0x9f]);
        // Cross-check against the rsa crate's own SPKI encoder.
        use rsa::pkcs8::EncodePublicKey;
        let key = RsaPublicKey::from_pkcs1_der(&pk.bytes).unwrap();
        assert_eq!(key.to_public_key_der().unwrap().as_bytes(), &spki[..]);
        assert_eq!(id.authority(), <[u8; 20]>::from(Sha1::digest(&spki)));
    }

    #[test]
    fn ed25519_spki_matches_rfc8410() {
        let id = Identity::generate(Scheme::Ed25519, seed(4));
        let spki = id.public_key().spki_der();
        assert_eq!(
            &spki[..12],
            &[0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]
        );
        assert_eq!(&spki[12..], &id.public_key().bytes[..]);
    }

    #[test]
    fn signatures_verify_and_reject_tampering() {
        for scheme in Scheme::ALL {
            let id = Identity::generate(scheme, seed(5));
            let other = Identity::generate(scheme, seed(6));
            let msg = b"certified peer address";
            let sig = id.sign(msg);
            assert_eq!(sig.len(), scheme.signature_len());
            assert!(id.public_key().verify(msg, &sig));
            assert!(id.public_key().verify(msg, &sig), "cached answer is the same");
            assert!(!id.public_key().verify(b"certified peer addresS", &sig));
            assert!(!other.public_key().verify(msg, &sig));
            let mut bad = sig.clone();
            bad[7] ^= 1;
            assert!(!id.public_key().verify(msg, &bad));
            assert!(!id.public_key().verify(msg, &sig[..sig.len() - 1]));
            let garbage = PublicKey {
                scheme,
                bytes: Arc::from(vec![0xAB; scheme.key_len()]),
            };
            assert!(!garbage.verify(msg, &sig));
        }
    }

    #[test]
    fn rsa_signature_is_pkcs1_v15_sha1() {
        // Recover the encoded message with the public exponent and check the EMSA-PKCS1-v1_5 layout.
        let id = Identity::generate(Scheme::Rsa1024Sha1, seed(7));
        let key = RsaPublicKey::from_pkcs1_der(&id.public_key().bytes).unwrap();
        let sig = id.sign(b"abc");
        use rsa::traits::PublicKeyParts;
        let m = rsa::BigUint::from_bytes_be(&sig).modpow(key.e(), key.n());
        let em = m.to_bytes_be(); // leading 0x00 dropped
        assert_eq!(em.len(), 127);
        assert_eq!(em[0], 0x01);
        assert!(em[1..(127 - 36)].iter().all(|&b| b == 0xff));
        assert_eq!(&em[127 - 35..127 - 20], &SHA1_DIGEST_INFO);
        assert_eq!(&em[127 - 20..], &Sha1::digest(b"abc")[..]);
    }
}
