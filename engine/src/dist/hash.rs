//! Hashes, segment identifiers and keys of MS-PCCRC (distribution.md §2.1).
//!
//! Only the two algorithms Windows retrieval accepts are supported: SHA-256 for content
//! information V1 and SHA-512 truncated to 32 bytes for V2 (§2.1 \[SIM\]). Every derived value is
//! therefore 32 bytes long.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};
use std::fmt;

/// A 32-byte digest: block hash, HoD, Kp, HoHoDk or server secret (§2.1).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Hash32(pub [u8; 32]);

impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0[..6] {
            write!(f, "{b:02x}")?;
        }
        f.write_str("…")
    }
}

impl Hash32 {
    /// Upper-case hex of all 32 bytes, as V1 probes carry segment IDs (§4.2).
    pub fn to_hex_upper(&self) -> String {
        self.0.iter().map(|b| format!("{b:02X}")).collect()
    }
    /// Parses 64 hex digits (either case); `None` when malformed.
    pub fn from_hex(text: &str) -> Option<Hash32> {
        let t = text.as_bytes();
        if t.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in t.chunks_exact(2).enumerate() {
            out[i] = (hex_val(pair[0])? << 4) | hex_val(pair[1])?;
        }
        Some(Hash32(out))
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

/// A segment's public identifier HoHoDk, sent in probes and PCCRR requests (§2.1).
pub type SegmentId = Hash32;

/// The constant C mixed into HoHoDk: UTF-16LE "MS_P2P_CACHING" plus a UTF-16 NUL, 30 bytes (§2.1).
pub const HOHODK_CONSTANT: [u8; 30] = *b"M\0S\0_\0P\0\x32\0P\0_\0C\0A\0C\0H\0I\0N\0G\0\0\0";

/// The content-information hash algorithm (§2.1 table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum HashAlgo {
    /// V1, `dwHashAlgo` 0x800C: SHA-256.
    Sha256,
    /// V2, `bHashAlgo` 0x04: SHA-512 truncated to its first 32 bytes.
    Sha512Trunc,
}

impl HashAlgo {
    /// H(data) (§2.1).
    pub fn hash(self, data: &[u8]) -> Hash32 {
        self.hash_parts(&[data])
    }
    /// H(part₀ ‖ part₁ ‖ …) without concatenating.
    pub fn hash_parts(self, parts: &[&[u8]]) -> Hash32 {
        match self {
            HashAlgo::Sha256 => {
                let mut h = Sha256::new();
                parts.iter().for_each(|p| h.update(p));
                Hash32(h.finalize().into())
            }
            HashAlgo::Sha512Trunc => {
                let mut h = Sha512::new();
                parts.iter().for_each(|p| h.update(p));
                truncate(&h.finalize())
            }
        }
    }
    /// HMAC_H(key, msg): for V2 the full HMAC-SHA-512 output cut to 32 bytes (§2.1 pitfalls).
    pub fn hmac(self, key: &Hash32, msg: &[&[u8]]) -> Hash32 {
        match self {
            HashAlgo::Sha256 => {
                // `expect`: HMAC accepts keys of any length.
                let mut m = Hmac::<Sha256>::new_from_slice(&key.0).expect("HMAC takes any key length");
                msg.iter().for_each(|p| m.update(p));
                Hash32(m.finalize().into_bytes().into())
            }
            HashAlgo::Sha512Trunc => {
                let mut m = Hmac::<Sha512>::new_from_slice(&key.0).expect("HMAC takes any key length");
                msg.iter().for_each(|p| m.update(p));
                truncate(&m.finalize().into_bytes())
            }
        }
    }
    /// An incremental hasher for streaming hashes of large segments.
    pub fn hasher(self) -> StreamHasher {
        match self {
            HashAlgo::Sha256 => StreamHasher::Sha256(Sha256::new()),
            HashAlgo::Sha512Trunc => StreamHasher::Sha512(Sha512::new()),
        }
    }
}

/// Incremental H for one algorithm.
#[derive(Clone, Debug)]
pub enum StreamHasher {
    /// SHA-256 state.
    Sha256(Sha256),
    /// SHA-512 state (output truncated).
    Sha512(Sha512),
}

impl StreamHasher {
    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            StreamHasher::Sha256(h) => h.update(data),
            StreamHasher::Sha512(h) => h.update(data),
        }
    }
    /// The digest (truncated to 32 bytes for SHA-512).
    pub fn finish(self) -> Hash32 {
        match self {
            StreamHasher::Sha256(h) => Hash32(h.finalize().into()),
            StreamHasher::Sha512(h) => truncate(&h.finalize()),
        }
    }
}

fn truncate(full: &[u8]) -> Hash32 {
    let mut out = [0u8; 32];
    out.copy_from_slice(&full[..32]);
    Hash32(out)
}

/// The server secret Ks = H_s(passphrase): SHA-256 for V1, truncated SHA-512 for V2 (§2.1).
pub fn server_secret(algo: HashAlgo, passphrase: &[u8]) -> Hash32 {
    algo.hash(passphrase)
}

/// The segment secret Kp = HMAC_H(Ks, HoD); it is also the encryption key Ke (§2.1).
pub fn segment_secret(algo: HashAlgo, ks: &Hash32, hod: &Hash32) -> Hash32 {
    algo.hmac(ks, &[&hod.0])
}

/// The segment ID HoHoDk = HMAC_H(Kp, HoD ‖ C) (§2.1).
pub fn segment_id(algo: HashAlgo, kp: &Hash32, hod: &Hash32) -> SegmentId {
    algo.hmac(kp, &[&hod.0, &HOHODK_CONSTANT])
}

/// V1 HoD = H(BlockHash₁ ‖ … ‖ BlockHashₙ) over all blocks of the segment (§2.1).
pub fn hod_of_blocks(algo: HashAlgo, block_hashes: &[Hash32]) -> Hash32 {
    let parts: Vec<&[u8]> = block_hashes.iter().map(|h| &h.0[..]).collect();
    algo.hash_parts(&parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(text: &str) -> Hash32 {
        Hash32::from_hex(text).expect("test vector is 64 hex digits")
    }

    fn passphrase() -> Vec<u8> {
        h("2a3d73eb435e9f2b8a344267e7467a3c7385c6e055e2b4d30dfec7c38b0ed72c")
            .0
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

    /// §2.2 V1 known answers (iis-85.png, real IIS output).
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

    /// §2.2 V2 known answers, segment 0.
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

    #[test]
    fn streaming_equals_one_shot_and_hex_round_trips() {
        for algo in [HashAlgo::Sha256, HashAlgo::Sha512Trunc] {
            let data: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
            let mut s = algo.hasher();
            data.chunks(97).for_each(|c| s.update(c));
            assert_eq!(s.finish(), algo.hash(&data));
        }
        let x = h("491b217dbee2b5f12ca79b015e06f4bbe64f9745bad7867aef17de59927edce9");
        assert_eq!(Hash32::from_hex(&x.to_hex_upper()), Some(x));
        assert_eq!(Hash32::from_hex("zz"), None);
        assert_eq!(Hash32::from_hex(&"g".repeat(64)), None);
    }
}
