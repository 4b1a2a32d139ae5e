//! Friendly names (MS-PNRP §2.2.3.1 FriendlyName with the F and U flags, §3.2.4.1 "optionally, a
//! FriendlyName string"): a short text a registration carries in its CPA, returned to resolvers.
//!
//! MS-PNRP §2.2.3.1 stores it as `FriendlyName Len` (u16, little-endian, 1..78 bytes) then the text,
//! not NUL-terminated; U set means UTF-8, clear means UTF-16. (the specification is ambiguous; our
//! reading) the UTF-16 byte order is not stated: little-endian, as every other multi-byte integer of the
//! Encoded CPA (MS-PNRP §2.2) and as Windows' WCHAR. A NUL character is refused: the API hands names
//! over as NUL-terminated strings, so none can contain one.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Most bytes of an encoded friendly name (MS-PNRP §2.2.3.1).
pub const FRIENDLY_NAME_MAX: usize = 78;

/// A friendly name in its wire encoding: 1..=78 bytes of valid UTF-8 or UTF-16LE, no NUL.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FriendlyName {
    bytes: Vec<u8>,
    utf8: bool,
}

/// Why a friendly name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FriendlyNameError {
    /// No characters (MS-PNRP §2.2.3.1: at least 1 byte).
    #[error("friendly name is empty")]
    Empty,
    /// The encoding takes more than 78 bytes (MS-PNRP §2.2.3.1).
    #[error("friendly name takes {bytes} bytes encoded; at most {FRIENDLY_NAME_MAX} allowed")]
    TooLong {
        /// Bytes the encoding takes.
        bytes: usize,
    },
    /// A NUL character.
    #[error("friendly name contains a NUL character")]
    Nul,
    /// U set but the bytes are not UTF-8.
    #[error("friendly name flagged UTF-8 is not valid UTF-8")]
    BadUtf8,
    /// U clear but the bytes are an odd count or hold an unpaired surrogate.
    #[error("friendly name flagged UTF-16 is not valid UTF-16LE")]
    BadUtf16,
}

impl FriendlyNameError {
    /// A short stable name, for decode errors and rejection counters.
    pub fn reason(&self) -> &'static str {
        match self {
            FriendlyNameError::Empty => "friendly name empty",
            FriendlyNameError::TooLong { .. } => "friendly name length out of 1..78",
            FriendlyNameError::Nul => "friendly name contains NUL",
            FriendlyNameError::BadUtf8 => "friendly name is not UTF-8",
            FriendlyNameError::BadUtf16 => "friendly name is not UTF-16LE",
        }
    }
}

impl FriendlyName {
    /// `text` encoded as UTF-16LE (U flag clear, what MS-PNRP's Unicode API passes).
    pub fn utf16(text: &str) -> Result<Self, FriendlyNameError> {
        let bytes = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        Self::checked(text, bytes, false)
    }

    /// `text` encoded as UTF-8 (U flag set).
    pub fn utf8(text: &str) -> Result<Self, FriendlyNameError> {
        Self::checked(text, text.as_bytes().to_vec(), true)
    }

    /// The name as an Encoded CPA carries it: `bytes` with the U flag `utf8` (MS-PNRP §2.2.3.1).
    pub fn from_wire(bytes: &[u8], utf8: bool) -> Result<Self, FriendlyNameError> {
        let text = decode(bytes, utf8)?;
        Self::checked(&text, bytes.to_vec(), utf8)
    }

    fn checked(text: &str, bytes: Vec<u8>, utf8: bool) -> Result<Self, FriendlyNameError> {
        if bytes.is_empty() {
            return Err(FriendlyNameError::Empty);
        }
        if bytes.len() > FRIENDLY_NAME_MAX {
            return Err(FriendlyNameError::TooLong { bytes: bytes.len() });
        }
        if text.contains('\0') {
            return Err(FriendlyNameError::Nul);
        }
        Ok(FriendlyName { bytes, utf8 })
    }

    /// The encoded bytes (what follows FriendlyName Len).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The U flag: UTF-8 (else UTF-16LE).
    pub fn is_utf8(&self) -> bool {
        self.utf8
    }

    /// The text.
    pub fn text(&self) -> String {
        // Checked at construction: decoding cannot fail.
        decode(&self.bytes, self.utf8).unwrap_or_default()
    }
}

/// The text of `bytes` in the encoding the U flag names.
fn decode(bytes: &[u8], utf8: bool) -> Result<String, FriendlyNameError> {
    if utf8 {
        return String::from_utf8(bytes.to_vec()).map_err(|_| FriendlyNameError::BadUtf8);
    }
    if !bytes.len().is_multiple_of(2) {
        return Err(FriendlyNameError::BadUtf16);
    }
    let units = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map_err(|_| FriendlyNameError::BadUtf16)
}

impl fmt::Debug for FriendlyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let enc = if self.utf8 { "utf-8" } else { "utf-16le" };
        write!(f, "FriendlyName({:?}, {enc})", self.text())
    }
}

impl fmt::Display for FriendlyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn utf16_is_little_endian_code_units_without_nul() {
        let n = FriendlyName::utf16("Hé😀").unwrap();
        assert!(!n.is_utf8());
        // H, é, then the surrogate pair D83D DE00, each unit least significant byte first.
        assert_eq!(n.as_bytes(), &[0x48, 0, 0xE9, 0, 0x3D, 0xD8, 0x00, 0xDE]);
        assert_eq!(n.text(), "Hé😀");
        assert_eq!(FriendlyName::from_wire(n.as_bytes(), false), Ok(n));
    }

    #[test]
    fn utf8_keeps_the_bytes() {
        let n = FriendlyName::utf8("Hé").unwrap();
        assert!(n.is_utf8());
        assert_eq!(n.as_bytes(), &[0x48, 0xC3, 0xA9]);
        assert_eq!(n.to_string(), "Hé");
    }

    #[test]
    fn length_limits_count_encoded_bytes() {
        assert_eq!(FriendlyName::utf8(""), Err(FriendlyNameError::Empty));
        assert!(FriendlyName::utf8(&"x".repeat(78)).is_ok());
        assert_eq!(
            FriendlyName::utf8(&"x".repeat(79)),
            Err(FriendlyNameError::TooLong { bytes: 79 })
        );
        // 39 characters fit in UTF-16 (78 bytes), 40 do not: the overview's "40-character comment".
        assert!(FriendlyName::utf16(&"x".repeat(39)).is_ok());
        assert_eq!(
            FriendlyName::utf16(&"x".repeat(40)),
            Err(FriendlyNameError::TooLong { bytes: 80 })
        );
        // A 2-byte UTF-8 character counts twice.
        assert_eq!(
            FriendlyName::utf8(&"é".repeat(40)),
            Err(FriendlyNameError::TooLong { bytes: 80 })
        );
    }

    #[test]
    fn bad_wire_names_get_typed_errors() {
        assert_eq!(FriendlyName::utf16("a\0b"), Err(FriendlyNameError::Nul));
        assert_eq!(
            FriendlyName::from_wire(&[0xff, 0xfe], true),
            Err(FriendlyNameError::BadUtf8)
        );
        assert_eq!(
            FriendlyName::from_wire(&[0x41, 0, 0x42], false),
            Err(FriendlyNameError::BadUtf16)
        );
        // A lone high surrogate.
        assert_eq!(
            FriendlyName::from_wire(&[0x3D, 0xD8], false),
            Err(FriendlyNameError::BadUtf16)
        );
        assert_eq!(
            FriendlyName::from_wire(&[0, 0], false),
            Err(FriendlyNameError::Nul)
        );
        assert_eq!(FriendlyName::from_wire(&[], true), Err(FriendlyNameError::Empty));
    }

    proptest! {
        #[test]
        fn from_wire_never_panics_and_accepts_what_it_builds(
            bytes in proptest::collection::vec(any::<u8>(), 0..100),
            utf8 in any::<bool>(),
        ) {
            if let Ok(n) = FriendlyName::from_wire(&bytes, utf8) {
                prop_assert_eq!(n.as_bytes(), &bytes[..]);
                let again = if utf8 { FriendlyName::utf8(&n.text()) } else { FriendlyName::utf16(&n.text()) };
                prop_assert_eq!(again, Ok(n));
            }
        }
    }
}
