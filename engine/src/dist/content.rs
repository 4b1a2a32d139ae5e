//! Content, its segment/block layout and its content information (MS-PCCRC §2).
//!
//! Content is described by a [`ContentSpec`] (an id and a size); its bytes are generated on demand
//! from a seeded ChaCha stream, 64 KiB at a time, so a 100 MB file never lives in memory. Content
//! information is computed streaming (block by block) in [`DataMode::Real`], or from per-unit tokens
//! in [`DataMode::Modeled`] (\[SIM\] "block tokens", docs/architecture.md §4), which costs one tiny hash per block.

use super::hash::{hod_of_blocks, segment_id, segment_secret, server_secret, Digest, HashAlgo, SegmentId};
use crate::derive_seed;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// V1 segment size: 32 MiB (MS-PCCRC §2.1).
pub const V1_SEGMENT_SIZE: u64 = 32 << 20;
/// V1 block size: 64 KiB, `cbBlockSize` MUST be 65,536 (MS-PCCRC §2.3.1.1).
pub const V1_BLOCK_SIZE: u32 = 64 << 10;
/// V2 segments are at most 128 KiB (MS-PCCRC §2.4.1.2).
pub const V2_SEGMENT_MAX: u32 = 128 << 10;
/// V2 content-defined chunking: smallest segment (\[SIM\]: min 32 KiB; MS-PCCRC §2.4 leaves it open).
pub const V2_SEGMENT_MIN: u32 = 32 << 10;
/// V2 chunker cut mask for a ~64 KiB average past the minimum (\[SIM\]: target 64 KiB).
const V2_CUT_MASK: u64 = (1 << 15) - 1;
/// Generation granularity of content bytes.
const GEN_CHUNK: u64 = 64 << 10;

/// A piece of content: its identifier and size; its bytes come from a seeded stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ContentSpec {
    /// Application content identifier (URL+ETag in real life); also seeds the byte stream.
    pub id: u64,
    /// Size in bytes.
    pub size: u64,
}

impl ContentSpec {
    /// Writes the content bytes at `offset..offset+buf.len()` (clipped to the content) into `buf`.
    pub fn fill(&self, offset: u64, buf: &mut [u8]) {
        let mut pos = offset;
        let end = (offset + buf.len() as u64).min(self.size);
        let mut chunk = vec![0u8; GEN_CHUNK as usize];
        while pos < end {
            let index = pos / GEN_CHUNK;
            let mut rng = rand_chacha::ChaCha8Rng::from_seed(derive_seed(self.id, "dist-content", index));
            rng.fill_bytes(&mut chunk);
            let from = (pos - index * GEN_CHUNK) as usize;
            let take = ((index + 1) * GEN_CHUNK).min(end) - pos;
            let at = (pos - offset) as usize;
            buf[at..at + take as usize].copy_from_slice(&chunk[from..from + take as usize]);
            pos += take;
        }
    }
    /// The content bytes of a range (clipped to the content).
    pub fn bytes(&self, offset: u64, len: u64) -> Vec<u8> {
        let len = len.min(self.size.saturating_sub(offset));
        let mut out = vec![0u8; len as usize];
        self.fill(offset, &mut out);
        out
    }
}

/// Whether blocks travel as real bytes or as hash tokens (\[SIM\], peerlab's model).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataMode {
    /// Real bytes, real hashes, real AES: for unit tests and small scenarios.
    #[default]
    Real,
    /// Each unit is its 32-byte expected hash plus a length; sizes are still accounted exactly.
    Modeled,
}

/// Content-information version (MS-PCCRC §2.3, §2.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum InfoVersion {
    /// 1.0: 32 MiB segments of 64 KiB blocks, SHA-256.
    #[default]
    V1,
    /// 2.0: content-defined segments ≤ 128 KiB, truncated SHA-512, one fetch unit per segment.
    V2,
}

impl InfoVersion {
    /// The hash algorithm this version uses (MS-PCCRC §2.3, §2.4; \[SIM\] SHA-256 only for V1).
    pub fn algo(self) -> HashAlgo {
        match self {
            InfoVersion::V1 => HashAlgo::Sha256,
            InfoVersion::V2 => HashAlgo::Sha512Trunc,
        }
    }
}

/// The data of one fetch unit (a V1 block or a whole V2 segment).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum UnitData {
    /// Real plaintext bytes.
    Bytes(Arc<[u8]>),
    /// A modeled unit: the hash its bytes would have, and their length.
    Token {
        /// Plaintext length in bytes.
        len: u32,
        /// The unit's hash (a corrupt peer sends a wrong one).
        hash: Digest,
    },
}

impl UnitData {
    /// Plaintext length.
    pub fn len(&self) -> u32 {
        match self {
            UnitData::Bytes(b) => b.len() as u32,
            UnitData::Token { len, .. } => *len,
        }
    }
    /// True for an empty unit.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// MS-PCCRC §2.2: length and H(data) must equal what the content information lists.
    pub fn verify(&self, algo: HashAlgo, expected: &Digest, expected_len: u32) -> bool {
        self.len() == expected_len && self.digest(algo) == *expected
    }
    /// H(data): the hash a modeled unit carries, or the hash of the real bytes.
    pub fn digest(&self, algo: HashAlgo) -> Digest {
        match self {
            UnitData::Bytes(b) => algo.hash(b),
            UnitData::Token { hash, .. } => *hash,
        }
    }
    /// The same unit with its content damaged (what a corrupt peer serves).
    pub fn corrupted(&self) -> UnitData {
        match self {
            UnitData::Bytes(b) => {
                let mut v = b.to_vec();
                if let Some(x) = v.first_mut() {
                    *x ^= 0xFF;
                }
                UnitData::Bytes(v.into())
            }
            UnitData::Token { len, hash } => {
                let mut h = *hash;
                h.as_bytes_mut()[0] ^= 0xFF;
                UnitData::Token { len: *len, hash: h }
            }
        }
    }
}

/// One segment as content information lists it (MS-PCCRC §2.3.1.1 SegmentDescription, §2.4.1.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentDesc {
    /// Absolute offset of the segment in the content.
    pub offset: u64,
    /// Full segment length.
    pub len: u32,
    /// Block size: 65,536 for V1, the segment length for V2 (one unit).
    pub block_size: u32,
    /// HoD (MS-PCCRC §2.2).
    pub hod: Digest,
    /// Kp, the segment secret and encryption key (MS-PCCRC §2.2).
    pub kp: Digest,
    /// V1 block hashes in block order; empty for V2. Content information describing a range lists
    /// only the blocks intersecting it (MS-PCCRC §2.3.1.2), starting at block `first_block`.
    pub block_hashes: Arc<[Digest]>,
    /// Segment index of the first listed block (0 unless the list is partial, MS-PCCRC §2.3.1.2).
    #[serde(default)]
    pub first_block: u32,
}

impl SegmentDesc {
    /// Number of listed fetch units: the listed V1 blocks (all ⌈len / block_size⌉ unless the list is
    /// partial), 1 for V2.
    pub fn unit_count(&self) -> u32 {
        if self.block_hashes.is_empty() {
            1
        } else {
            self.block_hashes.len() as u32
        }
    }
    /// Length of unit `i` (the last V1 block is shorter).
    pub fn unit_len(&self, i: u32) -> u32 {
        let start = i.saturating_mul(self.block_size);
        self.len.saturating_sub(start).min(self.block_size)
    }
    /// Blocks of the whole segment: ⌈len / block_size⌉ (1 for V2).
    pub fn block_count(&self) -> u32 {
        self.len.div_ceil(self.block_size.max(1))
    }
    /// Segment indices of the listed units, the only ones a client fetches and can verify.
    pub fn listed_units(&self) -> std::ops::Range<u32> {
        self.first_block..self.first_block.saturating_add(self.unit_count())
    }
    /// True when the V1 block list covers only part of the segment (MS-PCCRC §2.3.1.2).
    pub fn is_partial(&self) -> bool {
        !self.block_hashes.is_empty() && self.unit_count() < self.block_count()
    }
    /// The hash unit `i` (a segment block index) must have: its block hash (V1) or HoD (V2);
    /// `None` for a block the list does not carry.
    pub fn unit_hash(&self, i: u32) -> Option<Digest> {
        if self.block_hashes.is_empty() {
            (i == 0).then_some(self.hod)
        } else {
            let listed = i.checked_sub(self.first_block)?;
            self.block_hashes.get(listed as usize).copied()
        }
    }
    /// The public segment ID HoHoDk (MS-PCCRC §2.2).
    pub fn id(&self, algo: HashAlgo) -> SegmentId {
        segment_id(algo, &self.kp, &self.hod)
    }
    /// V1 check that the block hashes are consistent with HoD (MS-PCCRC §2.2).
    ///
    /// A partial list passes: HoD is the hash of every block hash of the segment "regardless of
    /// how many of those blocks intersect the content range" (MS-PCCRC §2.3.1.1), so it cannot be
    /// recomputed from the listed ones; verification then rests on the listed block hashes alone.
    pub fn hashes_consistent(&self, algo: HashAlgo) -> bool {
        self.block_hashes.is_empty()
            || self.is_partial()
            || hod_of_blocks(algo, &self.block_hashes) == self.hod
    }
}

/// Decoded content information: the whole-content view every role works with (MS-PCCRC §2.3, §2.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentInfo {
    /// Format version.
    pub version: InfoVersion,
    /// Hash algorithm: V1 `dwHashAlgo` (SHA-256/384/512), V2 truncated SHA-512 (MS-PCCRC §2.3, §2.4).
    pub hash: HashAlgo,
    /// Index of the first listed segment in the whole content (V2 `ullIndexOfFirstSegment`).
    pub first_segment_index: u64,
    /// Where the described range starts inside the first listed segment.
    pub offset_in_first_segment: u32,
    /// V1 `dwReadBytesInLastSegment`, 0 = the whole last segment (MS-PCCRC §2.3); V2
    /// `ullLengthOfRange`, 0 = the entire resource (MS-PCCRC §2.4). See [`ContentInfo::byte_range`].
    pub range_tail: u64,
    /// The listed segments, in content order.
    pub segments: Vec<SegmentDesc>,
}

impl ContentInfo {
    /// The hash algorithm.
    pub fn algo(&self) -> HashAlgo {
        self.hash
    }
    /// Total bytes the listed segments span.
    pub fn span(&self) -> u64 {
        self.segments.iter().map(|s| s.len as u64).sum()
    }
    /// Total fetch units.
    pub fn unit_count(&self) -> u64 {
        self.segments.iter().map(|s| s.unit_count() as u64).sum()
    }
}

/// Per-unit data source used while computing content information.
fn unit_token(spec: &ContentSpec, algo: HashAlgo, offset: u64, len: u32) -> Digest {
    algo.hash_parts(&[
        &b"peerlab-dist-token"[..],
        &spec.id.to_be_bytes(),
        &offset.to_be_bytes(),
        &len.to_be_bytes(),
    ])
}

/// Computes whole-content information with the version's default hash (SHA-256 for V1).
pub fn compute_info(
    spec: &ContentSpec,
    version: InfoVersion,
    mode: DataMode,
    passphrase: &[u8],
) -> ContentInfo {
    compute_info_with(spec, version, version.algo(), mode, passphrase)
}

/// Computes whole-content information for `spec` with hash `algo` and the origin's `passphrase`
/// (MS-PCCRC §2.2–§2.4).
///
/// Real mode hashes the generated bytes block by block (V1) or chunks them with a gear-hash
/// content-defined chunker (V2, MS-PCCRC §2.4 \[SIM\]); modeled mode uses per-unit tokens and, for V2,
/// fixed 64 KiB segments.
pub fn compute_info_with(
    spec: &ContentSpec,
    version: InfoVersion,
    algo: HashAlgo,
    mode: DataMode,
    passphrase: &[u8],
) -> ContentInfo {
    let ks = server_secret(algo, passphrase);
    let segments = match (version, mode) {
        (InfoVersion::V1, _) => v1_segments(spec, mode, algo, &ks),
        (InfoVersion::V2, DataMode::Real) => v2_real_segments(spec, algo, &ks),
        (InfoVersion::V2, DataMode::Modeled) => {
            let mut out = Vec::new();
            let mut off = 0;
            while off < spec.size {
                let len = (spec.size - off).min(GEN_CHUNK) as u32;
                out.push(v2_segment(algo, &ks, off, len, unit_token(spec, algo, off, len)));
                off += len as u64;
            }
            out
        }
    };
    ContentInfo {
        version,
        hash: algo,
        first_segment_index: 0,
        offset_in_first_segment: 0,
        range_tail: 0,
        segments,
    }
}

fn v1_segments(spec: &ContentSpec, mode: DataMode, algo: HashAlgo, ks: &Digest) -> Vec<SegmentDesc> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; V1_BLOCK_SIZE as usize];
    let mut seg_off = 0;
    while seg_off < spec.size {
        let seg_len = (spec.size - seg_off).min(V1_SEGMENT_SIZE);
        let mut hashes = Vec::new();
        let mut b_off = seg_off;
        while b_off < seg_off + seg_len {
            let len = (seg_off + seg_len - b_off).min(V1_BLOCK_SIZE as u64) as u32;
            hashes.push(match mode {
                DataMode::Real => {
                    spec.fill(b_off, &mut buf[..len as usize]);
                    algo.hash(&buf[..len as usize])
                }
                DataMode::Modeled => unit_token(spec, algo, b_off, len),
            });
            b_off += len as u64;
        }
        let hod = hod_of_blocks(algo, &hashes);
        let kp = segment_secret(algo, ks, &hod);
        out.push(SegmentDesc {
            offset: seg_off,
            len: seg_len as u32,
            block_size: V1_BLOCK_SIZE,
            hod,
            kp,
            block_hashes: hashes.into(),
            first_block: 0,
        });
        seg_off += seg_len;
    }
    out
}

fn v2_segment(algo: HashAlgo, ks: &Digest, offset: u64, len: u32, hod: Digest) -> SegmentDesc {
    let kp = segment_secret(algo, ks, &hod);
    SegmentDesc {
        offset,
        len,
        block_size: len,
        hod,
        kp,
        block_hashes: Arc::from(Vec::new()),
        first_block: 0,
    }
}

/// The gear table of the V2 chunker: fixed, so every run chunks identical bytes identically.
fn gear_table() -> [u64; 256] {
    let mut rng = rand_chacha::ChaCha8Rng::from_seed(derive_seed(0, "dist-gear", 0));
    let mut t = [0u64; 256];
    t.iter_mut().for_each(|x| *x = rng.next_u64());
    t
}

fn v2_real_segments(spec: &ContentSpec, algo: HashAlgo, ks: &Digest) -> Vec<SegmentDesc> {
    let gear = gear_table();
    let mut out = Vec::new();
    let mut chunk = vec![0u8; GEN_CHUNK as usize];
    let mut seg = Vec::with_capacity(V2_SEGMENT_MAX as usize);
    let mut seg_start = 0u64;
    let mut fp = 0u64;
    let mut pos = 0u64;
    while pos < spec.size {
        let take = (spec.size - pos).min(GEN_CHUNK) as usize;
        spec.fill(pos, &mut chunk[..take]);
        for &byte in &chunk[..take] {
            seg.push(byte);
            fp = (fp << 1).wrapping_add(gear[byte as usize]);
            let len = seg.len() as u32;
            if (len >= V2_SEGMENT_MIN && fp & V2_CUT_MASK == 0) || len == V2_SEGMENT_MAX {
                out.push(v2_segment(algo, ks, seg_start, len, algo.hash(&seg)));
                seg_start += len as u64;
                seg.clear();
                fp = 0;
            }
        }
        pos += take as u64;
    }
    if !seg.is_empty() {
        out.push(v2_segment(algo, ks, seg_start, seg.len() as u32, algo.hash(&seg)));
    }
    out
}

/// The plaintext of unit `unit` of segment `seg` as the origin serves it (MS-PCCRTP §3.2).
pub fn unit_data(
    spec: &ContentSpec,
    info: &ContentInfo,
    mode: DataMode,
    seg: usize,
    unit: u32,
) -> Option<UnitData> {
    let s = info.segments.get(seg)?;
    let len = s.unit_len(unit);
    let hash = s.unit_hash(unit)?;
    let offset = s.offset + unit as u64 * s.block_size as u64;
    Some(match mode {
        DataMode::Real => UnitData::Bytes(spec.bytes(offset, len as u64).into()),
        DataMode::Modeled => UnitData::Token { len, hash },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_is_deterministic_and_positional() {
        let spec = ContentSpec { id: 9, size: 200_000 };
        let all = spec.bytes(0, spec.size);
        assert_eq!(all.len(), 200_000);
        assert_eq!(spec.bytes(70_000, 100_000), all[70_000..170_000].to_vec());
        assert_eq!(spec.bytes(199_990, 100).len(), 10);
        assert_ne!(
            ContentSpec {
                id: 10,
                size: 200_000
            }
            .bytes(0, 64),
            all[..64].to_vec()
        );
    }

    #[test]
    fn v1_layout_and_hashes() {
        let spec = ContentSpec {
            id: 1,
            size: V1_SEGMENT_SIZE + 100_000,
        };
        let info = compute_info(&spec, InfoVersion::V1, DataMode::Real, b"secret");
        assert_eq!(info.segments.len(), 2);
        assert_eq!(info.segments[0].unit_count(), 512);
        assert_eq!(info.segments[1].unit_count(), 2);
        assert_eq!(info.segments[1].unit_len(1), 100_000 - 65_536);
        assert_eq!(info.segments[1].offset, V1_SEGMENT_SIZE);
        let s = &info.segments[1];
        assert!(s.hashes_consistent(HashAlgo::Sha256));
        let d = unit_data(&spec, &info, DataMode::Real, 1, 1).expect("unit exists");
        assert!(d.verify(HashAlgo::Sha256, &s.block_hashes[1], s.unit_len(1)));
        assert!(!d
            .corrupted()
            .verify(HashAlgo::Sha256, &s.block_hashes[1], s.unit_len(1)));
        // Modeled mode has the same layout, other hashes.
        let m = compute_info(&spec, InfoVersion::V1, DataMode::Modeled, b"secret");
        assert_eq!(m.unit_count(), info.unit_count());
        let t = unit_data(&spec, &m, DataMode::Modeled, 0, 3).expect("unit exists");
        assert!(t.verify(HashAlgo::Sha256, &m.segments[0].block_hashes[3], V1_BLOCK_SIZE));
    }

    #[test]
    fn v2_chunks_are_content_defined_and_bounded() {
        let spec = ContentSpec {
            id: 2,
            size: 1_000_000,
        };
        let info = compute_info(&spec, InfoVersion::V2, DataMode::Real, b"secret");
        assert_eq!(info.span(), spec.size);
        let n = info.segments.len();
        assert!((8..=31).contains(&n), "{n} segments");
        for (i, s) in info.segments.iter().enumerate() {
            assert!(s.len <= V2_SEGMENT_MAX);
            assert!(s.len >= V2_SEGMENT_MIN || i + 1 == n);
            let d = unit_data(&spec, &info, DataMode::Real, i, 0).expect("unit exists");
            assert!(d.verify(HashAlgo::Sha512Trunc, &s.hod, s.len));
        }
        // Same bytes, same cut points and segment IDs.
        let again = compute_info(&spec, InfoVersion::V2, DataMode::Real, b"secret");
        assert_eq!(again, info);
    }
}
