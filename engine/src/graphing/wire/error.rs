//! Why Peer Graphing bytes were rejected, and the bounds-checked reader every decode path uses.
//!
//! A malformed message terminates its connection (MS-PPGRH §3.1.5.2); a malformed record inside a
//! FLOOD is dropped with the link kept (MS-PPGRH §3.1.7.27). Either way the caller learns what
//! failed from the variant and counts it by [`WireError::reason`].

/// What failed while decoding a frame, a message, a record or a record payload.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The input ends before a field the layout requires.
    #[error("input ends inside {0}")]
    Truncated(&'static str),
    /// Message Size below the 8-byte header (MS-PPGRH §3.1.5.2).
    #[error("message size {0} is below the 8-byte header")]
    SizeBelowHeader(u32),
    /// Message Size differs from the bytes given.
    #[error("message size field says {declared} bytes, {actual} given")]
    SizeMismatch {
        /// Message Size field.
        declared: u32,
        /// Bytes handed to the decoder.
        actual: usize,
    },
    /// Version other than 0x10 (MS-PPGRH §2.2.1.2).
    #[error("message version {0:#04x} is not 0x10")]
    BadVersion(u8),
    /// Message Type outside 0x01..=0x0E (MS-PPGRH §2.2.1.2).
    #[error("unknown message type {0:#04x}")]
    UnknownType(u8),
    /// The message is smaller than its type's fixed part (the receiver's minimum-size check).
    #[error("{kind} of {size} bytes is below its minimum of {min}")]
    BelowMinimum {
        /// Message kind.
        kind: &'static str,
        /// Message Size.
        size: u32,
        /// Minimum accepted.
        min: u32,
    },
    /// An offset or count that puts a field outside the message or out of order (the receiver's
    /// size checks of MS-PPGRH §3.1.5).
    #[error("bad offset or count: {0}")]
    BadOffset(&'static str),
    /// An enumerated or range-limited value outside its range.
    #[error("{field} has invalid value {value}")]
    BadValue {
        /// The field.
        field: &'static str,
        /// The value found.
        value: u64,
    },
    /// A string that is not NUL-terminated, holds an inner NUL, is not valid UTF-8/UTF-16, or
    /// whose length is out of range.
    #[error("bad string in {0}")]
    BadString(&'static str),
    /// A PEER_IN6_ADDRESS or PEER_ADDRESS whose fixed fields are wrong (MS-PPGRH §2.2.1.3,
    /// §2.2.1.5).
    #[error("bad address: {0}")]
    BadAddress(&'static str),
    /// Bytes left over after the last field.
    #[error("{0} trailing bytes")]
    Trailing(usize),
    /// A frame of zero bytes (MS-PPGRH §2.2.1.1: at least 1).
    #[error("zero-sized frame")]
    EmptyFrame,
    /// A frame above the Max Frame Size (MS-PPGRH §2.2.1.1).
    #[error("frame of {size} bytes exceeds the maximum of {max}")]
    FrameTooLarge {
        /// Frame Size field.
        size: u16,
        /// The configured maximum.
        max: u16,
    },
    /// A frame running past the end of the message it belongs to (MS-PPGRH §2.2.1.1: each
    /// message is cut into its own frames).
    #[error("frame runs past the end of its message")]
    FrameCrossesMessage,
    /// A message whose Message Size exceeds the reader's limit.
    #[error("message of {size} bytes exceeds the limit of {limit}")]
    MessageTooLarge {
        /// Message Size field.
        size: u32,
        /// The reader's limit.
        limit: u32,
    },
}

impl WireError {
    /// A short stable name for drop counters.
    pub fn reason(&self) -> &'static str {
        match self {
            WireError::Truncated(_) => "truncated",
            WireError::SizeBelowHeader(_) => "size_below_header",
            WireError::SizeMismatch { .. } => "size_mismatch",
            WireError::BadVersion(_) => "bad_version",
            WireError::UnknownType(_) => "unknown_type",
            WireError::BelowMinimum { .. } => "below_minimum",
            WireError::BadOffset(_) => "bad_offset",
            WireError::BadValue { .. } => "bad_value",
            WireError::BadString(_) => "bad_string",
            WireError::BadAddress(_) => "bad_address",
            WireError::Trailing(_) => "trailing",
            WireError::EmptyFrame => "empty_frame",
            WireError::FrameTooLarge { .. } => "frame_too_large",
            WireError::FrameCrossesMessage => "frame_crosses_message",
            WireError::MessageTooLarge { .. } => "message_too_large",
        }
    }
}

/// A cursor over input bytes; every read is bounds-checked and names the field it was reading.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at offset 0 of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    /// A reader at `offset` of `buf` (offset fields count from the message start).
    pub fn at(buf: &'a [u8], offset: usize, what: &'static str) -> Result<Self, WireError> {
        if offset > buf.len() {
            return Err(WireError::Truncated(what));
        }
        Ok(Reader { buf, pos: offset })
    }
    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    /// The next `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], WireError> {
        let end = self.pos.checked_add(n).ok_or(WireError::Truncated(what))?;
        let s = self.buf.get(self.pos..end).ok_or(WireError::Truncated(what))?;
        self.pos = end;
        Ok(s)
    }
    /// The next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], WireError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, what)?);
        Ok(a)
    }
    /// One byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, WireError> {
        Ok(self.array::<1>(what)?[0])
    }
    /// A big-endian u16.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, WireError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }
    /// A big-endian u32.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }
    /// A big-endian u64.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, WireError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }
    /// Fails with [`WireError::Trailing`] unless everything was read.
    pub fn finish(&self) -> Result<(), WireError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(WireError::Trailing(n)),
        }
    }
}

/// Checks that `count` entries of `entry` bytes fit in what `r` has left, before anything is
/// allocated for them (so a forged count costs nothing).
pub(crate) fn check_fits(
    r: &Reader<'_>,
    count: u64,
    entry: u64,
    what: &'static str,
) -> Result<usize, WireError> {
    match count.checked_mul(entry) {
        Some(n) if n <= r.remaining() as u64 => Ok(count as usize),
        _ => Err(WireError::Truncated(what)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_bounds_checked_and_named() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16("a"), Ok(0x0102));
        assert_eq!(r.u16("b"), Err(WireError::Truncated("b")));
        assert_eq!(r.u8("c"), Ok(3));
        assert_eq!(r.finish(), Ok(()));
        assert_eq!(r.take(usize::MAX, "d"), Err(WireError::Truncated("d")));
        assert!(Reader::at(&[0; 3], 4, "e").is_err());
        assert_eq!(Reader::at(&[0; 3], 3, "e").map(|r| r.remaining()), Ok(0));
        let r = Reader::new(&[0; 64]);
        assert_eq!(check_fits(&r, 2, 32, "f"), Ok(2));
        assert!(check_fits(&r, 3, 32, "f").is_err());
        assert!(check_fits(&r, u64::MAX, 32, "f").is_err());
        assert_eq!(WireError::Trailing(1).reason(), "trailing");
    }
}
