//! GUIDs as Peer Graphing carries them: 16 bytes, kept in wire order.
//!
//! MS-PPGRH §2.2 does not say whether a GUID on the wire uses the mixed-endian layout of
//! MS-DTYP §2.3.4.2 or plain bytes. peerlab keeps the 16 bytes exactly as they appear on the wire
//! and orders GUIDs as big-endian 128-bit integers (byte-wise), the order hash-based
//! synchronization sorts by (MS-PPGRH §3.1.7.31). Text form is the canonical
//! `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` of those bytes in order.

use std::fmt;

/// A 16-byte GUID in wire order (record types, record ids, PT2PT data types).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Guid(pub [u8; 16]);

/// Why a GUID text was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a GUID: write 32 hex digits as 8-4-4-4-12, e.g. 00000100-0000-0000-0000-000000000000")]
pub struct GuidError(pub String);

impl Guid {
    /// The all-zero GUID.
    pub const NIL: Guid = Guid([0; 16]);

    /// A GUID from its text form, usable in constants (panics at compile time on a bad literal).
    pub const fn from_text(text: &str) -> Guid {
        let b = text.as_bytes();
        assert!(b.len() == 36, "GUID text must be 36 characters");
        let mut out = [0u8; 16];
        let (mut i, mut o) = (0, 0);
        while i < 36 {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                assert!(b[i] == b'-', "GUID text must have hyphens at 8, 13, 18 and 23");
                i += 1;
                continue;
            }
            out[o] = (hex(b[i]) << 4) | hex(b[i + 1]);
            o += 1;
            i += 2;
        }
        Guid(out)
    }

    /// The GUID as a big-endian integer (its sort key).
    pub const fn as_u128(self) -> u128 {
        u128::from_be_bytes(self.0)
    }
}

const fn hex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => panic!("GUID text must be hexadecimal"),
    }
}

impl std::str::FromStr for Guid {
    type Err = GuidError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let t = text.trim().trim_start_matches('{').trim_end_matches('}');
        let ok = t.len() == 36
            && t.char_indices().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == '-',
                _ => c.is_ascii_hexdigit(),
            });
        if !ok {
            return Err(GuidError(text.to_owned()));
        }
        Ok(Guid::from_text(t))
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_and_orders_big_endian() {
        let g: Guid = "6c796768-7732-406b-bc6e-5e9c0d864580".parse().unwrap();
        assert_eq!(g.to_string(), "6c796768-7732-406b-bc6e-5e9c0d864580");
        assert_eq!(g.0[0], 0x6c);
        let low = Guid::from_text("00000100-0000-0000-0000-000000000000");
        let high = Guid::from_text("00000200-0000-0000-0000-000000000000");
        assert!(low < high);
        assert!(low.as_u128() < high.as_u128());
        assert!("6c796768-7732-406b-bc6e-5e9c0d86458".parse::<Guid>().is_err());
        assert!("6c796768x7732-406b-bc6e-5e9c0d864580".parse::<Guid>().is_err());
    }
}
