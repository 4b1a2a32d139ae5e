//! The two string forms of Peer Graphing, each written and read by exactly one pair of functions.
//!
//! * Inside PEER_RECORD and the internal record payloads (MS-PPGRH §2.2.1.9, §2.2.3), strings are
//!   "Unicode": UTF-16 code units, preceded by a u32 length counted in characters **including the
//!   terminating NUL** (0 means the string is absent). The record-size check multiplies the
//!   attribute length by two (MS-PPGRH §3.1.7.27), which confirms two bytes per character.
//! * In AUTH_INFO, CONNECT and WELCOME (MS-PPGRH §2.2.2.1-3), strings are NUL-terminated UTF-8
//!   located by offset fields.
//!
//! **Byte order of UTF-16 code units (peerlab choice).** MS-PPGRH §2.2 makes fields big-endian
//! "unless otherwise noted" but never says how a Unicode string's code units are laid out; the
//! glossary (MS-PPGRH §1.1, "Unicode") lists both UTF-16LE and UTF-16BE. Windows' WCHAR strings
//! are little-endian in memory and Windows copies them onto the wire as they are, so peerlab writes and reads **UTF-16LE**, the same order it feeds to MD5 when deriving
//! record ids (MS-PPGRH §3.1.7.2). [`put_utf16`] and [`get_utf16`] are the only places that order
//! appears.

use super::error::{Reader, WireError};

/// Bytes per UTF-16 character on the wire.
pub const UTF16_UNIT: usize = 2;

/// The length field for `s`: its UTF-16 code units plus the NUL, or 0 when `s` is empty (absent).
pub fn utf16_chars(s: &str) -> u32 {
    if s.is_empty() {
        0
    } else {
        s.encode_utf16().count() as u32 + 1
    }
}

/// Bytes of `s` as a counted UTF-16 string: the u32 length and the characters.
pub fn counted_utf16_len(s: &str) -> usize {
    4 + utf16_chars(s) as usize * UTF16_UNIT
}

/// Writes the code units of `s` and the NUL, little-endian (the one place the order is chosen).
pub fn put_utf16(out: &mut Vec<u8>, s: &str) {
    for unit in s.encode_utf16().chain(std::iter::once(0)) {
        out.extend_from_slice(&unit.to_le_bytes());
    }
}

/// Writes `s` as a counted string: u32 length in characters with the NUL, then the characters;
/// an empty `s` is written as length 0 with nothing after it.
pub fn put_counted_utf16(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&utf16_chars(s).to_be_bytes());
    if !s.is_empty() {
        put_utf16(out, s);
    }
}

/// Reads `chars` UTF-16LE characters whose last one is the NUL, and no other is.
pub fn get_utf16(r: &mut Reader<'_>, chars: u32, what: &'static str) -> Result<String, WireError> {
    let n = (chars as usize)
        .checked_mul(UTF16_UNIT)
        .ok_or(WireError::Truncated(what))?;
    let bytes = r.take(n, what)?;
    let units: Vec<u16> = bytes
        .chunks_exact(UTF16_UNIT)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    match units.split_last() {
        Some((0, body)) if !body.contains(&0) => {
            String::from_utf16(body).map_err(|_| WireError::BadString(what))
        }
        _ => Err(WireError::BadString(what)),
    }
}

/// Reads a counted UTF-16 string whose length must lie in `min..=max` characters (0 allowed
/// only when `min` is 0; then the string is absent and reads as empty).
pub fn get_counted_utf16(
    r: &mut Reader<'_>,
    min: u32,
    max: u32,
    what: &'static str,
) -> Result<String, WireError> {
    let chars = r.u32(what)?;
    if chars < min || chars > max {
        return Err(WireError::BadValue {
            field: what,
            value: chars.into(),
        });
    }
    if chars == 0 {
        return Ok(String::new());
    }
    get_utf16(r, chars, what)
}

/// Reads a counted UTF-16 string that is either absent (length 0, read as empty) or 2..=`max`
/// characters: a lone NUL (length 1) would read as empty too and is rejected, so what reads as
/// empty was absent on the wire.
pub fn get_optional_utf16(r: &mut Reader<'_>, max: u32, what: &'static str) -> Result<String, WireError> {
    let chars = r.u32(what)?;
    if chars == 0 {
        return Ok(String::new());
    }
    if chars < 2 || chars > max {
        return Err(WireError::BadValue {
            field: what,
            value: chars.into(),
        });
    }
    get_utf16(r, chars, what)
}

/// Bytes of `s` as NUL-terminated UTF-8.
pub fn utf8z_len(s: &str) -> usize {
    s.len() + 1
}

/// Writes `s` and a NUL.
pub fn put_utf8z(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
    out.push(0);
}

/// Reads NUL-terminated UTF-8 filling `field` exactly: the region between an offset and the next
/// one ends with the NUL and holds no other.
pub fn get_utf8z(field: &[u8], what: &'static str) -> Result<String, WireError> {
    match field.split_last() {
        Some((0, body)) if !body.contains(&0) => {
            String::from_utf8(body.to_vec()).map_err(|_| WireError::BadString(what))
        }
        _ => Err(WireError::BadString(what)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_is_little_endian_counted_with_the_nul() {
        let mut out = Vec::new();
        put_counted_utf16(&mut out, "aé");
        assert_eq!(out, [0, 0, 0, 3, b'a', 0, 0xE9, 0, 0, 0]);
        assert_eq!(counted_utf16_len("aé"), out.len());
        let mut r = Reader::new(&out);
        assert_eq!(get_counted_utf16(&mut r, 2, 256, "s"), Ok("aé".into()));
        // A character outside the BMP counts as two.
        assert_eq!(utf16_chars("𝄞"), 3);
        let mut empty = Vec::new();
        put_counted_utf16(&mut empty, "");
        assert_eq!(empty, [0, 0, 0, 0]);
        assert_eq!(
            get_counted_utf16(&mut Reader::new(&empty), 0, 9, "s"),
            Ok(String::new())
        );
    }

    #[test]
    fn utf16_rejects_missing_or_inner_nul_bad_surrogates_and_ranges() {
        let no_nul = [0, 0, 0, 1, b'a', 0];
        assert!(get_counted_utf16(&mut Reader::new(&no_nul), 0, 9, "s").is_err());
        let inner = [0, 0, 0, 3, 0, 0, b'a', 0, 0, 0];
        assert!(get_counted_utf16(&mut Reader::new(&inner), 0, 9, "s").is_err());
        let lone_surrogate = [0, 0, 0, 2, 0x00, 0xD8, 0, 0];
        assert!(get_counted_utf16(&mut Reader::new(&lone_surrogate), 0, 9, "s").is_err());
        let one = [0, 0, 0, 1, 0, 0];
        assert!(matches!(
            get_counted_utf16(&mut Reader::new(&one), 2, 9, "s"),
            Err(WireError::BadValue { .. })
        ));
        let huge = [0xFF, 0xFF, 0xFF, 0xFF];
        assert!(get_counted_utf16(&mut Reader::new(&huge), 0, u32::MAX, "s").is_err());
    }

    #[test]
    fn utf8z_fills_its_field_exactly() {
        let mut out = Vec::new();
        put_utf8z(&mut out, "g1");
        assert_eq!(out, b"g1\0");
        assert_eq!(get_utf8z(&out, "s"), Ok("g1".into()));
        assert!(get_utf8z(b"g1", "s").is_err());
        assert!(get_utf8z(b"g\x001\x00", "s").is_err());
        assert!(get_utf8z(b"", "s").is_err());
        assert!(get_utf8z(&[0xFF, 0], "s").is_err());
    }
}
