//! Byte-level helpers shared by the distribution codecs, and their typed error.
//!
//! Every read is bounds-checked; a short or malformed buffer yields a [`DecodeError`], never a
//! panic (hostile input is counted and dropped).

/// Why a buffer could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The buffer ended before `field`.
    #[error("truncated before {field}")]
    Truncated {
        /// The field being read.
        field: &'static str,
    },
    /// A field held a value the spec does not allow.
    #[error("invalid {field}: {value}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// The offending value.
        value: u64,
    },
    /// A V1 segment's block list (MS-PCCRC §2.3.1.2) is neither the whole segment nor exactly the
    /// blocks intersecting the content range.
    #[error("segment {segment}: cBlocks {listed}, expected {blocks} (whole segment or the blocks in the content range)")]
    BlockList {
        /// Index of the segment in the content information.
        segment: u32,
        /// `cBlocks` as sent.
        listed: u64,
        /// The count the segment allows: its block count when `listed` exceeds it, else the
        /// number of blocks intersecting the range.
        blocks: u64,
    },
    /// Bytes were left over after a complete message.
    #[error("{0} trailing bytes")]
    Trailing(usize),
    /// A text (XML) message lacked an element or attribute.
    #[error("missing {0}")]
    Missing(&'static str),
}

/// A cursor over a byte slice.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    pub(crate) fn bytes(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::Truncated { field });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }
    pub(crate) fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N, field)?);
        Ok(out)
    }
    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }
    pub(crate) fn u16_be(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }
    pub(crate) fn u32_be(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }
    pub(crate) fn u64_be(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }
    pub(crate) fn u16_le(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }
    pub(crate) fn u32_le(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }
    pub(crate) fn u64_le(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }
    /// Skips the zero padding that aligns the next field to 4 bytes from the message start (MS-PCCRR ZeroPad).
    pub(crate) fn align4(&mut self, field: &'static str) -> Result<(), DecodeError> {
        let pad = pad4(self.pos);
        self.bytes(pad, field).map(|_| ())
    }
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(DecodeError::Trailing(n)),
        }
    }
}

/// Padding that brings `len` to a multiple of 4: `(4 − len % 4) % 4` (MS-PCCRR ZeroPad, not the MS test suite's).
pub(crate) const fn pad4(len: usize) -> usize {
    (4 - len % 4) % 4
}

/// Appends zero bytes to align the buffer length to 4.
pub(crate) fn put_align4(out: &mut Vec<u8>) {
    out.resize(out.len() + pad4(out.len()), 0);
}

/// Checks a count read from the wire against a bound before anything is allocated for it.
pub(crate) fn bounded(field: &'static str, value: u64, max: u64) -> Result<usize, DecodeError> {
    if value > max {
        Err(DecodeError::Invalid { field, value })
    } else {
        Ok(value as usize)
    }
}

/// Standard base64 (RFC 4648, with padding), used by V2 probe scopes (MS-PCCRD §2.2.3.3).
pub(crate) fn base64_encode(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard base64; `None` when malformed.
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let t = text.trim().as_bytes();
    if !t.len().is_multiple_of(4) {
        return None;
    }
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(t.len() / 4 * 3);
    for (q, c) in t.chunks(4).enumerate() {
        let last = q + 1 == t.len() / 4;
        let pads = c.iter().rev().take_while(|&&b| b == b'=').count();
        if pads > 2 || (pads > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &b in &c[..4 - pads] {
            n = n << 6 | val(b)?;
        }
        n <<= 6 * pads as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pads]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_known_answers_and_round_trip() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_decode("Zm9vYg=="), Some(b"foob".to_vec()));
        // The SegmentAges blob of the MS-PCCRD §2.2.2.2 example.
        assert_eq!(
            base64_decode("AAEDAgBg6gACYOoA"),
            Some(vec![0, 1, 3, 2, 0, 0x60, 0xea, 0, 2, 0x60, 0xea, 0])
        );
        assert_eq!(base64_decode("Zm9=vYg="), None);
        assert_eq!(base64_decode("Zm*v"), None);
        for n in 0..40u8 {
            let v: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(base64_decode(&base64_encode(&v)), Some(v));
        }
    }

    #[test]
    fn padding_rule() {
        assert_eq!([pad4(0), pad4(1), pad4(2), pad4(3), pad4(4)], [0, 3, 2, 1, 0]);
        let mut r = Reader::new(&[1, 2, 3]);
        assert!(r.u32_be("x").is_err());
        assert_eq!(r.u16_le("y"), Ok(0x0201));
        assert_eq!(r.finish(), Err(DecodeError::Trailing(1)));
    }
}
