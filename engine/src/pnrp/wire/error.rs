//! Decode errors and the bounds-checked byte reader every decode path uses (MS-PNRP §3.1.5.2).

/// Why a datagram, AUTHORITY_BUFFER or encoded CPA was rejected. Every variant is a silent drop for the
/// protocol (MS-PNRP §3.1.5.2); `reason()` names it for counters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input ends before a field it must contain.
    #[error("input ends early")]
    Short,
    /// The 12-byte PNRP header is not `0010 000C 51 04 00 ..`.
    #[error("malformed PNRP header")]
    BadHeader,
    /// MessageType 0x05, 0x06, 0x0A or any other unknown code.
    #[error("unknown message type {0:#04x}")]
    UnknownType(u8),
    /// An element other than the one the layout requires at this position.
    #[error("expected field {expected:#06x}, found {found:#06x}")]
    BadField {
        /// FieldID the layout requires.
        expected: u16,
        /// FieldID found.
        found: u16,
    },
    /// An element whose Length is wrong for its FieldID or overruns the input.
    #[error("field {field:#06x} has bad length {length}")]
    BadLength {
        /// FieldID of the element.
        field: u16,
        /// Length found.
        length: u16,
    },
    /// An array element whose header (NumEntries, ArrayLength, ElementFieldType, EntryLength) is inconsistent.
    #[error("malformed array in field {field:#06x}")]
    BadArray {
        /// FieldID of the array element.
        field: u16,
    },
    /// A port in a route entry or endpoint that is not above 1024.
    #[error("port {0} is not above 1024")]
    BadPort(u16),
    /// A value out of its range (counts, versions, enums, classifier text).
    #[error("bad value: {0}")]
    BadValue(&'static str),
    /// An encoded CPA that breaks MS-PNRP §2.2.3.1.
    #[error("bad encoded CPA: {0}")]
    BadCpa(&'static str),
    /// An EXTENDED_PAYLOAD that breaks MS-PNRP §2.2.3.3.
    #[error("bad extended payload: {0}")]
    BadPayload(&'static str),
    /// SPLIT_CONTROLS or a fragment inconsistent with MS-PNRP §2.2.2.6 / §3.1.5.2.
    #[error("bad AUTHORITY fragment: {0}")]
    BadSplit(&'static str),
    /// Bytes left over after the last element.
    #[error("{0} trailing bytes")]
    Trailing(usize),
}

impl DecodeError {
    /// A short stable name for drop counters.
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::Short => "short",
            DecodeError::BadHeader => "bad_header",
            DecodeError::UnknownType(_) => "unknown_type",
            DecodeError::BadField { .. } => "bad_field",
            DecodeError::BadLength { .. } => "bad_length",
            DecodeError::BadArray { .. } => "bad_array",
            DecodeError::BadPort(_) => "bad_port",
            DecodeError::BadValue(_) => "bad_value",
            DecodeError::BadCpa(_) => "bad_cpa",
            DecodeError::BadPayload(_) => "bad_payload",
            DecodeError::BadSplit(_) => "bad_split",
            DecodeError::Trailing(_) => "trailing",
        }
    }
}

/// A cursor over input bytes; every read is bounds-checked and fails with `DecodeError::Short`.
#[derive(Clone, Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at offset 0 of `buf`.
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    /// Offset from the start of the input (alignment is measured from here).
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }
    /// Bytes not yet read.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    /// True when everything has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }
    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::Short)?;
        let s = self.buf.get(self.pos..end).ok_or(DecodeError::Short)?;
        self.pos = end;
        Ok(s)
    }
    /// The next `N` bytes as an array.
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    /// Skips `n` bytes.
    pub(crate) fn skip(&mut self, n: usize) -> Result<(), DecodeError> {
        self.take(n).map(|_| ())
    }
    /// One byte.
    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }
    /// A big-endian u16.
    pub(crate) fn u16_be(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }
    /// A little-endian u16.
    pub(crate) fn u16_le(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    /// A big-endian u32.
    pub(crate) fn u32_be(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    /// A little-endian u32.
    pub(crate) fn u32_le(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    /// A little-endian u64.
    pub(crate) fn u64_le(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    /// The next big-endian u16 without consuming it (`None` at the end).
    pub(crate) fn peek_u16_be(&self) -> Option<u16> {
        let b = self.buf.get(self.pos..self.pos.checked_add(2)?)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_bounds_checked() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16_be(), Ok(0x0102));
        assert_eq!(r.peek_u16_be(), None);
        assert_eq!(r.u16_le(), Err(DecodeError::Short));
        assert_eq!(r.u8(), Ok(3));
        assert!(r.is_empty());
        assert_eq!(r.take(usize::MAX), Err(DecodeError::Short));
        assert_eq!(DecodeError::Trailing(1).reason(), "trailing");
    }
}
