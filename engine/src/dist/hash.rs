//! Hashes, segment identifiers and keys of MS-PCCRC §2.2.
//!
//! Version 1.0 content information names SHA-256, SHA-384 or SHA-512 (MS-PCCRC §2.3, `dwHashAlgo`
//! 0x800C/0x800D/0x800E); version 2.0 names SHA-512 truncated to 32 bytes (MS-PCCRC §2.4). Every derived
//! value (block hash, HoD, Kp, HoHoDk) has the length of its algorithm's output (MS-PCCRC §2.2),
//! so a [`Digest`] is a 64-byte buffer with a length: `Copy`, no allocation.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Digest as _;
use sha2::{Sha256, Sha384, Sha512};
use std::fmt;

/// Longest digest: SHA-512's 64 bytes.
pub const DIGEST_MAX: usize = 64;

/// A 32-, 48- or 64-byte digest: block hash, HoD, Kp, HoHoDk or server secret (MS-PCCRC §2.2).
/// Bytes past `len` are always zero, so the derived comparisons compare exactly the digest.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest {
    len: u8,
    bytes: [u8; DIGEST_MAX],
}

impl Default for Digest {
    /// The all-zero 32-byte digest.
    fn default() -> Self {
        Digest {
            len: 32,
            bytes: [0; DIGEST_MAX],
        }
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.bytes[..6] {
            write!(f, "{b:02x}")?;
        }
        f.write_str("…")
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.as_bytes())
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v: Vec<u8> = Deserialize::deserialize(d)?;
        Digest::from_slice(&v).ok_or_else(|| serde::de::Error::custom("digest of 32, 48 or 64 bytes"))
    }
}

impl Digest {
    /// A 32-byte digest.
    pub const fn from32(b: [u8; 32]) -> Digest {
        let mut bytes = [0; DIGEST_MAX];
        let mut i = 0;
        while i < 32 {
            bytes[i] = b[i];
            i += 1;
        }
        Digest { len: 32, bytes }
    }
    /// A digest of 32, 48 or 64 bytes; `None` for any other length.
    pub fn from_slice(b: &[u8]) -> Option<Digest> {
        if !matches!(b.len(), 32 | 48 | 64) {
            return None;
        }
        let mut bytes = [0; DIGEST_MAX];
        bytes[..b.len()].copy_from_slice(b);
        Some(Digest {
            len: b.len() as u8,
            bytes,
        })
    }
    /// The digest bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
    /// Mutable digest bytes (for damaging a token in tests and corrupt peers).
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes[..self.len as usize]
    }
    /// Length in bytes: 32, 48 or 64.
    pub fn len(&self) -> usize {
        self.len as usize
    }
    /// Never true: a digest has at least 32 bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Upper-case hex of every byte, as V1 probes carry segment IDs (MS-PCCRD §2.2.2.1).
    pub fn to_hex_upper(&self) -> String {
        self.as_bytes().iter().map(|b| format!("{b:02X}")).collect()
    }
    /// Parses 64, 96 or 128 hex digits (either case); `None` when malformed.
    pub fn from_hex(text: &str) -> Option<Digest> {
        let t = text.as_bytes();
        if !matches!(t.len(), 64 | 96 | 128) {
            return None;
        }
        let mut out = [0u8; DIGEST_MAX];
        for (i, pair) in t.chunks_exact(2).enumerate() {
            out[i] = (hex_val(pair[0])? << 4) | hex_val(pair[1])?;
        }
        Digest::from_slice(&out[..t.len() / 2])
    }
}

/// The value of one hex digit.
pub(crate) fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// A segment's public identifier HoHoDk, sent in probes and PCCRR requests (MS-PCCRC §2.2).
pub type SegmentId = Digest;

/// The constant C mixed into HoHoDk: UTF-16LE "MS_P2P_CACHING" plus a UTF-16 NUL, 30 bytes (MS-PCCRC §2.2 \[R\]).
pub const HOHODK_CONSTANT: [u8; 30] = *b"M\0S\0_\0P\0\x32\0P\0_\0C\0A\0C\0H\0I\0N\0G\0\0\0";

/// The content-information hash algorithm (MS-PCCRC §2.3 `dwHashAlgo`, §2.4 `bHashAlgo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum HashAlgo {
    /// V1, `dwHashAlgo` 0x800C: SHA-256, 32 bytes.
    Sha256,
    /// V1, `dwHashAlgo` 0x800D: SHA-384, 48 bytes.
    Sha384,
    /// V1, `dwHashAlgo` 0x800E: SHA-512, 64 bytes.
    Sha512,
    /// V2, `bHashAlgo` 0x04: SHA-512 truncated to its first 32 bytes.
    Sha512Trunc,
}

impl HashAlgo {
    /// Output length in bytes (MS-PCCRC §2.3.1.2: 32, 48 or 64).
    pub fn output_len(self) -> usize {
        match self {
            HashAlgo::Sha256 | HashAlgo::Sha512Trunc => 32,
            HashAlgo::Sha384 => 48,
            HashAlgo::Sha512 => 64,
        }
    }
    /// The V1 `dwHashAlgo` code, `None` for V2's algorithm (MS-PCCRC §2.3).
    pub fn v1_code(self) -> Option<u32> {
        match self {
            HashAlgo::Sha256 => Some(0x800C),
            HashAlgo::Sha384 => Some(0x800D),
            HashAlgo::Sha512 => Some(0x800E),
            HashAlgo::Sha512Trunc => None,
        }
    }
    /// The algorithm of a V1 `dwHashAlgo` code (MS-PCCRC §2.3).
    pub fn from_v1_code(code: u32) -> Option<HashAlgo> {
        [HashAlgo::Sha256, HashAlgo::Sha384, HashAlgo::Sha512]
            .into_iter()
            .find(|a| a.v1_code() == Some(code))
    }
    /// H(data) (MS-PCCRC §2.2).
    pub fn hash(self, data: &[u8]) -> Digest {
        self.hash_parts(&[data])
    }
    /// H(part₀ ‖ part₁ ‖ …) without concatenating.
    pub fn hash_parts(self, parts: &[&[u8]]) -> Digest {
        let mut h = self.hasher();
        parts.iter().for_each(|p| h.update(p));
        h.finish()
    }
    /// HMAC_H(key, msg) (MS-PCCRC §2.2); for V2 the HMAC-SHA-512 output cut to 32 bytes.
    pub fn hmac(self, key: &Digest, msg: &[&[u8]]) -> Digest {
        fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], msg: &[&[u8]], len: usize) -> Digest {
            // `expect`: HMAC accepts keys of any length.
            let mut m = <M as Mac>::new_from_slice(key).expect("HMAC takes any key length");
            msg.iter().for_each(|p| m.update(p));
            cut(&m.finalize().into_bytes(), len)
        }
        let k = key.as_bytes();
        match self {
            HashAlgo::Sha256 => run::<Hmac<Sha256>>(k, msg, 32),
            HashAlgo::Sha384 => run::<Hmac<Sha384>>(k, msg, 48),
            HashAlgo::Sha512 => run::<Hmac<Sha512>>(k, msg, 64),
            HashAlgo::Sha512Trunc => run::<Hmac<Sha512>>(k, msg, 32),
        }
    }
    /// An incremental hasher for streaming hashes of large segments.
    pub fn hasher(self) -> StreamHasher {
        match self {
            HashAlgo::Sha256 => StreamHasher::Sha256(Sha256::new()),
            HashAlgo::Sha384 => StreamHasher::Sha384(Sha384::new()),
            HashAlgo::Sha512 => StreamHasher::Sha512(Sha512::new(), 64),
            HashAlgo::Sha512Trunc => StreamHasher::Sha512(Sha512::new(), 32),
        }
    }
}

/// The hash a V1 origin uses (MS-PCCRC §2.3 `dwHashAlgo`); a config value, so no V2 algorithm.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum V1Hash {
    /// 0x800C, SHA-256 (what Windows produces).
    #[default]
    Sha256,
    /// 0x800D, SHA-384.
    Sha384,
    /// 0x800E, SHA-512.
    Sha512,
}

impl V1Hash {
    /// The algorithm.
    pub fn algo(self) -> HashAlgo {
        match self {
            V1Hash::Sha256 => HashAlgo::Sha256,
            V1Hash::Sha384 => HashAlgo::Sha384,
            V1Hash::Sha512 => HashAlgo::Sha512,
        }
    }
}

/// Incremental H for one algorithm.
#[derive(Clone, Debug)]
pub enum StreamHasher {
    /// SHA-256 state.
    Sha256(Sha256),
    /// SHA-384 state.
    Sha384(Sha384),
    /// SHA-512 state and the output length kept (64, or 32 when truncated).
    Sha512(Sha512, usize),
}

impl StreamHasher {
    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            StreamHasher::Sha256(h) => h.update(data),
            StreamHasher::Sha384(h) => h.update(data),
            StreamHasher::Sha512(h, _) => h.update(data),
        }
    }
    /// The digest.
    pub fn finish(self) -> Digest {
        match self {
            StreamHasher::Sha256(h) => cut(&h.finalize(), 32),
            StreamHasher::Sha384(h) => cut(&h.finalize(), 48),
            StreamHasher::Sha512(h, len) => cut(&h.finalize(), len),
        }
    }
}

fn cut(full: &[u8], len: usize) -> Digest {
    // `expect`: every caller passes 32, 48 or 64 bytes of a longer-or-equal output.
    Digest::from_slice(&full[..len]).expect("digest lengths are 32, 48 or 64")
}

/// The server secret Ks = H_s(passphrase): SHA-256 for V1, truncated SHA-512 for V2 (MS-PCCRC §2.2).
pub fn server_secret(algo: HashAlgo, passphrase: &[u8]) -> Digest {
    algo.hash(passphrase)
}

/// The segment secret Kp = HMAC_H(Ks, HoD); it is also the encryption key Ke (MS-PCCRC §2.2).
pub fn segment_secret(algo: HashAlgo, ks: &Digest, hod: &Digest) -> Digest {
    algo.hmac(ks, &[hod.as_bytes()])
}

/// The segment ID HoHoDk = HMAC_H(Kp, HoD ‖ C) (MS-PCCRC §2.2).
pub fn segment_id(algo: HashAlgo, kp: &Digest, hod: &Digest) -> SegmentId {
    algo.hmac(kp, &[hod.as_bytes(), &HOHODK_CONSTANT])
}

/// V1 HoD = H(BlockHash₁ ‖ … ‖ BlockHashₙ) over all blocks of the segment (MS-PCCRC §2.2).
pub fn hod_of_blocks(algo: HashAlgo, block_hashes: &[Digest]) -> Digest {
    let parts: Vec<&[u8]> = block_hashes.iter().map(|h| h.as_bytes()).collect();
    algo.hash_parts(&parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(text: &str) -> Digest {
        Digest::from_hex(text).expect("test vector is 64 hex digits")
    }

    fn passphrase() -> Vec<u8> {
        h("2a3d73eb435e9f2b8a344267e7467a3c7385c6e055e2b4d30dfec7c38b0ed72c")
            .as_bytes()
            .to_vec()
    }

    #[test]
    fn constant_c_is_utf16le_with_nul() {
        let want: Vec<u8> = "MS_P2P_CACHING\0"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        assert_eq!(&HOHODK_CONSTANT[..], &want[..]);
    }

    /// V1 known answers (iis-85.png, real IIS output, from iPXE's `src/tests/pccrc_test.c`).
    #[test]
    fn v1_known_answers() {
        let algo = HashAlgo::Sha256;
        let blocks = [
            h("73c18ab8549110f8e90e71bbc3ab2aa8c44d13f4929499255b660f24ec77800b"),
            h("974bdd65567fdeeccdafe457a9503b4548f66ed3b188dcfda0ac382b09711acc"),
        ];
        let hod = hod_of_blocks(algo, &blocks);
        assert_eq!(
            hod,
            h("d8d976354a4872e925761803f458d9daaa67f8e31c630fb74e6a312ef8a25aba")
        );
        let ks = server_secret(algo, &passphrase());
        let kp = segment_secret(algo, &ks, &hod);
        assert_eq!(
            kp,
            h("11afc0d7949243f94f9c1fab35d9fd1e331fcf7811a2e01d3587b38d770a29e2")
        );
        let id = segment_id(algo, &kp, &hod);
        assert_eq!(
            id,
            h("491b217dbee2b5f12ca79b015e06f4bbe64f9745bad7867aef17de59927edce9")
        );
    }

    /// V2 known answers (same source), segment 0.
    #[test]
    fn v2_known_answers() {
        let algo = HashAlgo::Sha512Trunc;
        let hod = h("e0d0c358e2684b62330d32b5f1978724a0d0a52bdc5e781fae71ff57a8be3dd4");
        let ks = server_secret(algo, &passphrase());
        let kp = segment_secret(algo, &ks, &hod);
        assert_eq!(
            kp,
            h("58037ed404116bb616d9b14116088520c47cdc50abcea3fae188a98ea22df3c0")
        );
        let id = segment_id(algo, &kp, &hod);
        assert_eq!(
            id,
            h("3371bbeaddb62353adcef970a06fdf65001e0421f4c7108276b0c37a9f9ec10f")
        );
    }

    type OneShot = fn(&[u8]) -> Vec<u8>;
    type Keyed = fn(&[u8], &[u8]) -> Vec<u8>;

    /// MS-PCCRC §2.2 with SHA-384 and SHA-512: Kp = HMAC(Ks, HoD) and HoHoDk = HMAC(Kp, HoD ‖ C)
    /// checked against HMAC computed independently (RFC 2104 by hand over the sha2 hashes).
    #[test]
    fn sha384_and_sha512_derivations_match_an_independent_hmac() {
        fn rfc2104<D: sha2::Digest + Clone>(block: usize, key: &[u8], msg: &[u8]) -> Vec<u8> {
            let mut k = if key.len() > block {
                D::digest(key).to_vec()
            } else {
                key.to_vec()
            };
            k.resize(block, 0);
            let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
            let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
            let inner = D::new().chain_update(&ipad).chain_update(msg).finalize();
            D::new()
                .chain_update(&opad)
                .chain_update(inner)
                .finalize()
                .to_vec()
        }
        let blocks: Vec<Vec<u8>> = (0..3u8).map(|i| vec![i; 65_536]).collect();
        for algo in [HashAlgo::Sha384, HashAlgo::Sha512] {
            let (one, hmac): (OneShot, Keyed) = match algo {
                HashAlgo::Sha384 => (
                    |d| Sha384::digest(d).to_vec(),
                    |k, m| rfc2104::<Sha384>(128, k, m),
                ),
                _ => (
                    |d| Sha512::digest(d).to_vec(),
                    |k, m| rfc2104::<Sha512>(128, k, m),
                ),
            };
            let hashes: Vec<Digest> = blocks.iter().map(|b| algo.hash(b)).collect();
            let concat: Vec<u8> = blocks.iter().flat_map(|b| one(b)).collect();
            let hod = hod_of_blocks(algo, &hashes);
            assert_eq!(hod.as_bytes(), &one(&concat)[..]);
            let ks = server_secret(algo, &passphrase());
            assert_eq!(ks.as_bytes(), &one(&passphrase())[..]);
            let kp = segment_secret(algo, &ks, &hod);
            assert_eq!(kp.as_bytes(), &hmac(ks.as_bytes(), hod.as_bytes())[..]);
            let mut m = hod.as_bytes().to_vec();
            m.extend_from_slice(&HOHODK_CONSTANT);
            let id = segment_id(algo, &kp, &hod);
            assert_eq!(id.as_bytes(), &hmac(kp.as_bytes(), &m)[..]);
            assert_eq!(id.len(), algo.output_len());
            assert_eq!(Digest::from_hex(&id.to_hex_upper()), Some(id));
        }
    }

    #[test]
    fn streaming_equals_one_shot_and_hex_round_trips() {
        for algo in [HashAlgo::Sha256, HashAlgo::Sha512Trunc] {
            let data: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
            let mut s = algo.hasher();
            data.chunks(97).for_each(|c| s.update(c));
            assert_eq!(s.finish(), algo.hash(&data));
        }
        let x = h("491b217dbee2b5f12ca79b015e06f4bbe64f9745bad7867aef17de59927edce9");
        assert_eq!(Digest::from_hex(&x.to_hex_upper()), Some(x));
        assert_eq!(Digest::from_hex("zz"), None);
        assert_eq!(Digest::from_hex(&"g".repeat(64)), None);
    }
}
