//! Content information describing a range (MS-PCCRC §2.3, §2.3.1.2, §2.4): hand-built V1 and V2
//! structures decode, expose their range and listed blocks, re-encode byte-identical, and malformed
//! lists are rejected.

use crate::dist::cache::SegmentMeta;
use crate::dist::content::{InfoVersion, UnitData, V1_SEGMENT_SIZE};
use crate::dist::hash::{Digest, HashAlgo};
use crate::dist::info_codec::{decode, encode};
use crate::dist::wire::DecodeError;

/// A V1 segment as written by hand: offset, length, listed block count.
struct Seg(u64, u32, u32);

fn h(tag: u8) -> [u8; 32] {
    [tag; 32]
}

/// Builds V1 content information field by field (MS-PCCRC §2.3), SHA-256, block hash `j` of
/// segment `k` filled with `16·k + j + 1`.
fn v1_blob(offset_in_first: u32, read_in_last: u32, segs: &[Seg]) -> Vec<u8> {
    let mut b = vec![0x00, 0x01];
    b.extend_from_slice(&0x800Cu32.to_le_bytes());
    b.extend_from_slice(&offset_in_first.to_le_bytes());
    b.extend_from_slice(&read_in_last.to_le_bytes());
    b.extend_from_slice(&(segs.len() as u32).to_le_bytes());
    for (k, Seg(off, len, _)) in segs.iter().enumerate() {
        b.extend_from_slice(&off.to_le_bytes());
        b.extend_from_slice(&len.to_le_bytes());
        b.extend_from_slice(&65_536u32.to_le_bytes());
        b.extend_from_slice(&h(0xA0 + k as u8)); // HoD of the whole segment: not derivable here
        b.extend_from_slice(&h(0xB0 + k as u8));
    }
    for (k, Seg(_, _, blocks)) in segs.iter().enumerate() {
        b.extend_from_slice(&blocks.to_le_bytes());
        for j in 0..*blocks {
            b.extend_from_slice(&h(16 * k as u8 + j as u8 + 1));
        }
    }
    b
}

/// Range from 100,000 bytes before the end of the first (32 MiB) segment to 150,000 bytes into
/// the second (200,000 bytes): blocks 510–511 of the first, 0–2 of the second.
fn partial_v1() -> Vec<u8> {
    v1_blob(
        (V1_SEGMENT_SIZE - 100_000) as u32,
        150_000,
        &[
            Seg(0, V1_SEGMENT_SIZE as u32, 2),
            Seg(V1_SEGMENT_SIZE, 200_000, 3),
        ],
    )
}

#[test]
fn partial_v1_decodes_and_round_trips() {
    let bytes = partial_v1();
    let info = decode(&bytes).expect("partial range decodes");
    assert_eq!(info.offset_in_first_segment, (V1_SEGMENT_SIZE - 100_000) as u32);
    assert_eq!(info.range_tail, 150_000);
    let (a, b) = (&info.segments[0], &info.segments[1]);
    assert_eq!((a.first_block, a.unit_count(), a.block_count()), (510, 2, 512));
    assert_eq!((b.first_block, b.unit_count(), b.block_count()), (0, 3, 4));
    assert_eq!((a.listed_units(), b.listed_units()), (510..512, 0..3));
    assert!(a.is_partial() && b.is_partial());
    assert_eq!(a.unit_hash(510), Some(Digest::from32(h(1))));
    assert_eq!(a.unit_hash(511), Some(Digest::from32(h(2))));
    assert_eq!((a.unit_hash(0), a.unit_hash(512)), (None, None));
    assert_eq!(b.unit_hash(2), Some(Digest::from32(h(19))));
    assert_eq!(b.unit_hash(3), None);
    assert_eq!(
        info.byte_range(),
        V1_SEGMENT_SIZE - 100_000..V1_SEGMENT_SIZE + 150_000
    );
    // MS-PCCRC §2.3.1.1: HoD covers every block, so a partial list cannot be checked against it.
    assert!(a.hashes_consistent(HashAlgo::Sha256));
    assert_eq!(encode(&info), bytes);
}

/// Only listed blocks verify; a block outside the list has no hash and is refused.
#[test]
fn partial_v1_verifies_listed_blocks_only() {
    let info = decode(&partial_v1()).expect("decodes");
    let meta = SegmentMeta::new(HashAlgo::Sha256, info.segments[1].clone());
    let listed = UnitData::Token {
        len: 65_536,
        hash: Digest::from32(h(17)),
    };
    assert!(meta.verify(0, &listed));
    assert!(!meta.verify(1, &listed));
    let outside = UnitData::Token {
        len: 200_000 - 3 * 65_536,
        hash: Digest::from32(h(20)),
    };
    assert!(!meta.verify(3, &outside));
}

/// MS-PCCRC §2.3: `dwReadBytesInLastSegment` 0 means the whole last segment (Microsoft's §3.2
/// example carries 0 for the whole 125 KB content); §3.3 lists both blocks of a range starting
/// at 100 KB, and the list of just the intersecting block is accepted too.
#[test]
fn read_bytes_zero_is_the_whole_last_segment() {
    let whole = v1_blob(0, 0, &[Seg(0, 128_000, 2)]);
    let info = decode(&whole).expect("decodes");
    assert_eq!(info.byte_range(), 0..128_000);
    assert!(!info.segments[0].is_partial());
    assert_eq!(encode(&info), whole);

    let full_list = v1_blob(102_400, 0, &[Seg(0, 128_000, 2)]);
    let info = decode(&full_list).expect("decodes");
    assert_eq!(info.byte_range(), 102_400..128_000);
    assert_eq!(info.segments[0].listed_units(), 0..2);
    assert_eq!(encode(&info), full_list);

    let only_intersecting = v1_blob(102_400, 0, &[Seg(0, 128_000, 1)]);
    let info = decode(&only_intersecting).expect("decodes");
    assert_eq!(info.segments[0].listed_units(), 1..2);
    assert_eq!(encode(&info), only_intersecting);

    // A single segment reads `dwReadBytesInLastSegment` bytes from the offset (MS-PCCRC §2.3.1.1).
    let single = v1_blob(70_000, 10_000, &[Seg(0, 128_000, 1)]);
    let info = decode(&single).expect("decodes");
    assert_eq!(info.byte_range(), 70_000..80_000);
    assert_eq!(info.segments[0].listed_units(), 1..2);
}

#[test]
fn malformed_partial_lists_are_rejected() {
    let seg0 = Seg(0, V1_SEGMENT_SIZE as u32, 2);
    let off = (V1_SEGMENT_SIZE - 100_000) as u32;
    // More blocks than the 200,000-byte segment has.
    let too_many = v1_blob(
        off,
        150_000,
        &[
            Seg(0, V1_SEGMENT_SIZE as u32, 2),
            Seg(V1_SEGMENT_SIZE, 200_000, 5),
        ],
    );
    assert_eq!(
        decode(&too_many),
        Err(DecodeError::BlockList {
            segment: 1,
            listed: 5,
            blocks: 4
        })
    );
    // Neither the whole segment nor the three blocks in the range.
    let wrong = v1_blob(off, 150_000, &[seg0, Seg(V1_SEGMENT_SIZE, 200_000, 2)]);
    assert_eq!(
        decode(&wrong),
        Err(DecodeError::BlockList {
            segment: 1,
            listed: 2,
            blocks: 3
        })
    );
    // First block index out of range: the offset lies past the first segment.
    let past = v1_blob(128_000, 0, &[Seg(0, 128_000, 1)]);
    assert_eq!(
        decode(&past),
        Err(DecodeError::Invalid {
            field: "dwOffsetInFirstSegment",
            value: 128_000
        })
    );
    // The range ends past the last segment.
    let long = v1_blob(0, 128_001, &[Seg(0, 128_000, 2)]);
    assert_eq!(
        decode(&long),
        Err(DecodeError::Invalid {
            field: "dwReadBytesInLastSegment",
            value: 128_001
        })
    );
}

/// Builds V2 content information field by field (MS-PCCRC §2.4), one chunk.
fn v2_blob(start: u64, index: u64, offset: u32, length: u64, lens: &[u32]) -> Vec<u8> {
    let mut b = vec![0x00, 0x02, 0x04];
    b.extend_from_slice(&start.to_be_bytes());
    b.extend_from_slice(&index.to_be_bytes());
    b.extend_from_slice(&offset.to_be_bytes());
    b.extend_from_slice(&length.to_be_bytes());
    b.push(0x00);
    b.extend_from_slice(&(68 * lens.len() as u32).to_be_bytes());
    for (k, len) in lens.iter().enumerate() {
        b.extend_from_slice(&len.to_be_bytes());
        b.extend_from_slice(&h(0xC0 + k as u8));
        b.extend_from_slice(&h(0xD0 + k as u8));
    }
    b
}

#[test]
fn partial_v2_decodes_and_round_trips() {
    let bytes = v2_blob(1_000_000, 7, 5_000, 150_000, &[60_000, 70_000, 80_000]);
    let info = decode(&bytes).expect("decodes");
    assert_eq!(info.version, InfoVersion::V2);
    assert_eq!(
        (
            info.first_segment_index,
            info.offset_in_first_segment,
            info.range_tail
        ),
        (7, 5_000, 150_000)
    );
    let offsets: Vec<u64> = info.segments.iter().map(|s| s.offset).collect();
    assert_eq!(offsets, [1_000_000, 1_060_000, 1_130_000]);
    assert_eq!(info.byte_range(), 1_005_000..1_155_000);
    assert_eq!(info.covered_in_segment(2), 0..25_000);
    assert_eq!(encode(&info), bytes);

    assert_eq!(
        decode(&v2_blob(1_000_000, 7, 60_000, 0, &[60_000])),
        Err(DecodeError::Invalid {
            field: "dwOffsetInFirstSegment",
            value: 60_000
        })
    );
    assert_eq!(
        decode(&v2_blob(1_000_000, 7, 5_000, 300_000, &[60_000, 70_000, 80_000])),
        Err(DecodeError::Invalid {
            field: "ullLengthOfRange",
            value: 300_000
        })
    );
}
