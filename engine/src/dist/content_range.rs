//! The content range a content information describes (MS-PCCRC §2.3, §2.3.1.1, §2.4).

use super::content::{ContentInfo, InfoVersion};

impl ContentInfo {
    /// Bytes of segment `k` the content range covers, as offsets inside it (MS-PCCRC §2.3 for V1:
    /// from `dwOffsetInFirstSegment` in the first segment, `dwReadBytesInLastSegment` bytes of the
    /// last, 0 meaning all of it; a single segment covers `dwReadBytesInLastSegment` bytes from the
    /// offset, MS-PCCRC §2.3.1.1). May overrun the segment: the decoder rejects such ranges.
    pub fn covered_in_segment(&self, k: usize) -> std::ops::Range<u64> {
        let Some(seg) = self.segments.get(k) else {
            return 0..0;
        };
        let len = seg.len as u64;
        let start = if k == 0 {
            self.offset_in_first_segment as u64
        } else {
            0
        };
        let last = k + 1 == self.segments.len();
        let end = match self.version {
            InfoVersion::V1 if last && self.range_tail != 0 => start + self.range_tail,
            InfoVersion::V2 if self.range_tail != 0 => {
                let range_start = self.segments[0].offset + self.offset_in_first_segment as u64;
                (range_start
                    .saturating_add(self.range_tail)
                    .saturating_sub(seg.offset))
                .min(len)
            }
            _ => len,
        };
        start..end
    }
    /// The content bytes this information describes, as absolute offsets (MS-PCCRC §2.3 content
    /// range for V1; `ullStartInContent + dwOffsetInFirstSegment`, `ullLengthOfRange` bytes or the
    /// whole listed span when 0 for V2, MS-PCCRC §2.4).
    pub fn byte_range(&self) -> std::ops::Range<u64> {
        let (Some(first), Some(last)) = (self.segments.first(), self.segments.last()) else {
            return 0..0;
        };
        let start = first.offset + self.offset_in_first_segment as u64;
        let end = match self.version {
            InfoVersion::V2 if self.range_tail != 0 => start.saturating_add(self.range_tail),
            _ => last.offset + self.covered_in_segment(self.segments.len() - 1).end,
        };
        start..end
    }
}
