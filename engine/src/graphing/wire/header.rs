//! PEER_MESSAGE, the 8-byte header of every message (MS-PPGRH §2.2.1.2), each message type's
//! minimum size, and the big-endian writer the encoders share.

use super::error::{Reader, WireError};
use crate::graphing::{Guid, Message, MESSAGE_VERSION};

/// Bytes of the header: Message Size u32, Version, Message Type, Reserved u16.
pub const HEADER_LEN: usize = 8;

/// Big-endian writes onto a byte vector (MS-PPGRH §2.2: every field is big-endian).
pub(crate) trait Put {
    /// One byte.
    fn put_u8(&mut self, v: u8);
    /// A big-endian u16.
    fn put_u16(&mut self, v: u16);
    /// A big-endian u32.
    fn put_u32(&mut self, v: u32);
    /// A big-endian u64.
    fn put_u64(&mut self, v: u64);
    /// A GUID's 16 bytes in wire order.
    fn put_guid(&mut self, g: &Guid);
}

impl Put for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_guid(&mut self, g: &Guid) {
        self.extend_from_slice(&g.0);
    }
}

/// A reader over a message's bytes after its header (empty when there are none).
pub(crate) fn body(bytes: &[u8]) -> Reader<'_> {
    Reader::new(bytes.get(HEADER_LEN..).unwrap_or_default())
}

/// Reads a GUID's 16 bytes in wire order.
pub(crate) fn get_guid(r: &mut Reader<'_>, what: &'static str) -> Result<Guid, WireError> {
    Ok(Guid(r.array(what)?))
}

/// Writes the header of `msg` whose whole encoding is `size` bytes.
pub(crate) fn put_header(out: &mut Vec<u8>, msg: &Message, size: usize) {
    out.put_u32(size as u32);
    out.put_u8(MESSAGE_VERSION);
    out.put_u8(msg.type_code());
    out.put_u16(0);
}

/// Reads and checks the header of a whole message: Message Size at least 8 and equal to the
/// bytes given, Version 0x10, Message Type 0x01..=0x0E (MS-PPGRH §3.1.5.2). Returns the type
/// code; Reserved is ignored as MS-PPGRH §2.2.1.2 says.
pub(crate) fn get_header(bytes: &[u8]) -> Result<u8, WireError> {
    let mut r = Reader::new(bytes);
    let size = r.u32("message header")?;
    if size < HEADER_LEN as u32 {
        return Err(WireError::SizeBelowHeader(size));
    }
    if size as usize != bytes.len() {
        return Err(WireError::SizeMismatch {
            declared: size,
            actual: bytes.len(),
        });
    }
    let version = r.u8("message header")?;
    if version != MESSAGE_VERSION {
        return Err(WireError::BadVersion(version));
    }
    let code = r.u8("message header")?;
    if !(1..=Message::KINDS.len() as u8).contains(&code) {
        return Err(WireError::UnknownType(code));
    }
    Ok(code)
}

/// The smallest Message Size a receiver accepts for type `code` (the first check of each
/// receive rule, MS-PPGRH §3.1.5.1.1 and §3.1.5.2.1-13). Three printed minimums disagree with
/// their layouts; peerlab uses the layout's fixed part:
/// * REQUEST prints 0x14, but its fixed part is 16 bytes and an empty REQUEST (nothing wanted)
///   is exactly 16 bytes, so 16 is accepted (MS-PPGRH §2.2.2.10, §3.1.5.2.9);
/// * FLOOD prints 0x10; its record needs at least 90 bytes more, which the record decoder
///   checks, so 0x10 stays (MS-PPGRH §3.1.5.2.10, §3.1.7.27);
/// * PT2PT prints 0x10, but its Data Type alone ends at byte 28, so 28 is required (MS-PPGRH
///   §2.2.2.13, §3.1.5.2.13).
pub(crate) fn min_size(code: u8) -> u32 {
    match code {
        0x01 => 0x10,        // AUTH_INFO
        0x02 => 0x18,        // CONNECT
        0x03 => 0x20,        // WELCOME
        0x04..=0x06 => 0x0C, // REFUSE, DISCONNECT, SOLICIT_NEW
        0x07 | 0x08 => 0x14, // SOLICIT_TIME, SOLICIT_HASH
        0x09 => 0x18,        // ADVERTISE
        0x0A => 0x10,        // REQUEST
        0x0B => 0x10,        // FLOOD
        0x0C | 0x0E => 0x0C, // SYNC_END, ACK
        0x0D => 28,          // PT2PT
        _ => u32::MAX,
    }
}

/// Fails with [`WireError::BelowMinimum`] when a message of type `code` is too small.
pub(crate) fn check_min(code: u8, size: usize) -> Result<(), WireError> {
    let min = min_size(code);
    if (size as u64) < min as u64 {
        return Err(WireError::BelowMinimum {
            kind: Message::KINDS[(code - 1) as usize],
            size: size as u32,
            min,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_checks_size_version_and_type() {
        let ok = [0, 0, 0, 12, 0x10, 0x0C, 0, 0, 0x01, 0, 0, 0];
        assert_eq!(get_header(&ok), Ok(0x0C));
        let mut reserved = ok;
        reserved[6] = 0xFF;
        assert_eq!(get_header(&reserved), Ok(0x0C));
        assert_eq!(get_header(&ok[..3]), Err(WireError::Truncated("message header")));
        assert_eq!(
            get_header(&[0, 0, 0, 7, 0x10, 1, 0]),
            Err(WireError::SizeBelowHeader(7))
        );
        assert!(matches!(
            get_header(&ok[..11]),
            Err(WireError::SizeMismatch { .. })
        ));
        let mut version = ok;
        version[4] = 0x11;
        assert_eq!(get_header(&version), Err(WireError::BadVersion(0x11)));
        for code in [0x00, 0x0F, 0xFF] {
            let mut t = ok;
            t[5] = code;
            assert_eq!(get_header(&t), Err(WireError::UnknownType(code)));
        }
    }

    #[test]
    fn minimums_follow_the_receive_rules() {
        assert_eq!(check_min(0x0A, 16), Ok(()));
        assert!(check_min(0x0A, 15).is_err());
        assert!(check_min(0x0D, 27).is_err());
        assert!(check_min(0x02, 0x17).is_err());
        assert_eq!(check_min(0x02, 0x18), Ok(()));
    }
}
