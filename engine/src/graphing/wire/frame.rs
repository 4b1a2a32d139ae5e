//! Message framing over TCP (MS-PPGRH §2.2.1.1): each message is cut into frames of a u16
//! Frame Size (1..=Max Frame Size) and that many payload bytes; the receiver joins payloads
//! until it holds Message Size bytes (the first field of every message).
//!
//! MS-PPGRH §2.2 also says a message "larger than the frame size" must be dropped; records may
//! reach 60 MB, so that cannot be literal. peerlab reads it as "a **frame** larger than Max Frame
//! Size is an error" and bounds whole messages by a limit the reader is given.
//!
//! Because a message is cut into its own frames, a frame never carries bytes of two messages;
//! one that runs past its message's end is an error.

use super::error::WireError;
use super::header::HEADER_LEN;
use super::messages::{decode, encode};
use crate::graphing::payloads::MAX_RECORD_SIZE_LIMIT;
use crate::graphing::Message;

/// The frame size Windows uses by default (MS-PPGRH §2.2).
pub const DEFAULT_FRAME_SIZE: u16 = 16_379;
/// The largest Max Frame Size a node may configure (MS-PPGRH §3.1.1).
pub const MAX_FRAME_SIZE_LIMIT: u16 = 32_768;
/// Bytes of a frame's size field (MS-PPGRH §2.2.1.1).
pub const FRAME_HEADER_LEN: usize = 2;
/// Default bound on one message: the largest record MS-PPGRH §2.2.3.1 allows (60 MB of payload
/// and attributes) plus 64 KiB for the FLOOD header, the record's own fields and security data
/// (peerlab choice; the specification sets no bound on a message).
pub const DEFAULT_MAX_MESSAGE: u32 = MAX_RECORD_SIZE_LIMIT + 65_536;

/// What a reader accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameLimits {
    /// Largest Frame Size accepted (the node's Max Frame Size, at most 32,768).
    pub max_frame: u16,
    /// Largest Message Size accepted.
    pub max_message: u32,
}

impl Default for FrameLimits {
    fn default() -> Self {
        FrameLimits {
            max_frame: DEFAULT_FRAME_SIZE,
            max_message: DEFAULT_MAX_MESSAGE,
        }
    }
}

/// The frame size a writer uses for `max_frame`: within 1..=32,768.
fn frame_size(max_frame: u16) -> usize {
    max_frame.clamp(1, MAX_FRAME_SIZE_LIMIT) as usize
}

/// Bytes framing adds to a message of `len` bytes: one size field per frame.
pub fn framing_overhead(len: usize, max_frame: u16) -> usize {
    len.div_ceil(frame_size(max_frame)) * FRAME_HEADER_LEN
}

/// Appends `message` cut into frames of at most `max_frame` bytes (the last may be shorter).
pub fn write_frames(message: &[u8], max_frame: u16, out: &mut Vec<u8>) {
    out.reserve(message.len() + framing_overhead(message.len(), max_frame));
    for chunk in message.chunks(frame_size(max_frame)) {
        out.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
        out.extend_from_slice(chunk);
    }
}

/// Appends `msg` encoded and framed.
pub fn encode_framed(msg: &Message, max_frame: u16, out: &mut Vec<u8>) {
    let mut bytes = Vec::with_capacity(msg.encoded_len());
    encode(msg, &mut bytes);
    write_frames(&bytes, max_frame, out);
}

/// Progress through the frames of one message, measured from the message's first frame.
#[derive(Clone, Copy, Debug, Default)]
struct Scan {
    /// Offset of the next frame's size field.
    pos: usize,
    /// Payload bytes seen so far.
    got: usize,
    /// The first four payload bytes (Message Size) as they arrive.
    head: [u8; 4],
    /// Message Size, once known.
    expected: Option<usize>,
}

impl Scan {
    /// Reads complete frames from `buf` (starting at the message's first frame) until the
    /// message is whole: `Some(end)` is the offset just past its last frame. Each frame is
    /// looked at once however the bytes arrive.
    fn advance(&mut self, buf: &[u8], limits: FrameLimits) -> Result<Option<usize>, WireError> {
        loop {
            if self.expected == Some(self.got) {
                return Ok(Some(self.pos));
            }
            let Some(size_field) = buf.get(self.pos..self.pos + FRAME_HEADER_LEN) else {
                return Ok(None);
            };
            let size = u16::from_be_bytes([size_field[0], size_field[1]]);
            if size == 0 {
                return Err(WireError::EmptyFrame);
            }
            if size > limits.max_frame {
                return Err(WireError::FrameTooLarge {
                    size,
                    max: limits.max_frame,
                });
            }
            let start = self.pos + FRAME_HEADER_LEN;
            let Some(payload) = buf.get(start..start + size as usize) else {
                return Ok(None);
            };
            for (i, b) in payload.iter().take(4usize.saturating_sub(self.got)).enumerate() {
                self.head[self.got + i] = *b;
            }
            let got = self.got + payload.len();
            if self.expected.is_none() && got >= 4 {
                let declared = u32::from_be_bytes(self.head);
                if declared < HEADER_LEN as u32 {
                    return Err(WireError::SizeBelowHeader(declared));
                }
                if declared > limits.max_message {
                    return Err(WireError::MessageTooLarge {
                        size: declared,
                        limit: limits.max_message,
                    });
                }
                self.expected = Some(declared as usize);
            }
            if self.expected.is_some_and(|e| got > e) {
                return Err(WireError::FrameCrossesMessage);
            }
            self.got = got;
            self.pos = start + payload.len();
        }
    }
}

/// The payloads of the frames in `frames` (complete frames, already checked), joined.
fn join_payloads(frames: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut pos = 0;
    while pos + FRAME_HEADER_LEN <= frames.len() {
        let size = u16::from_be_bytes([frames[pos], frames[pos + 1]]) as usize;
        let start = pos + FRAME_HEADER_LEN;
        out.extend_from_slice(&frames[start..start + size]);
        pos = start + size;
    }
    out
}

/// The first whole message framed at the start of `bytes`: `Ok(Some((message, used)))` with
/// the bytes its frames took, `Ok(None)` when more bytes are needed. Costs one look at each
/// frame header and copies nothing until the message is whole.
pub fn take_message(bytes: &[u8], limits: FrameLimits) -> Result<Option<(Vec<u8>, usize)>, WireError> {
    let mut scan = Scan::default();
    Ok(scan
        .advance(bytes, limits)?
        .map(|end| (join_payloads(&bytes[..end], scan.got), end)))
}

/// Reassembles a stream's bytes into messages in time linear in the bytes: each frame header is
/// read once, each payload byte copied once into its message.
#[derive(Debug, Default)]
pub struct FrameReader {
    limits: FrameLimits,
    buf: Vec<u8>,
    /// Where the current message's first frame starts in `buf`.
    start: usize,
    scan: Scan,
}

impl FrameReader {
    /// A reader applying `limits`.
    pub fn new(limits: FrameLimits) -> Self {
        FrameReader {
            limits,
            ..FrameReader::default()
        }
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        // Drop what earlier messages used once it is at least half the buffer: each byte moves
        // at most once on average.
        if self.start > 0 && self.start * 2 >= self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole message's bytes, `None` until one is complete; an error means the stream
    /// can never be read further (the connection is to be closed).
    pub fn next_bytes(&mut self) -> Result<Option<Vec<u8>>, WireError> {
        let Some(end) = self.scan.advance(&self.buf[self.start..], self.limits)? else {
            return Ok(None);
        };
        let msg = join_payloads(&self.buf[self.start..self.start + end], self.scan.got);
        self.start += end;
        self.scan = Scan::default();
        Ok(Some(msg))
    }

    /// The next whole message decoded.
    pub fn next_message(&mut self) -> Result<Option<Message>, WireError> {
        self.next_bytes()?.map(|b| decode(&b)).transpose()
    }

    /// Bytes held and not yet returned.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_frame: u16, max_message: u32) -> FrameLimits {
        FrameLimits {
            max_frame,
            max_message,
        }
    }

    fn sync_end() -> Vec<u8> {
        vec![0, 0, 0, 12, 0x10, 0x0C, 0, 0, 1, 0, 0, 0]
    }

    #[test]
    fn zero_and_oversized_frames_are_errors() {
        assert_eq!(
            take_message(&[0, 0, 1], limits(16, 100)),
            Err(WireError::EmptyFrame)
        );
        let mut at_max = vec![0, 12];
        at_max.extend(sync_end());
        assert!(matches!(
            take_message(&at_max, limits(12, 100)),
            Ok(Some((_, 14)))
        ));
        assert_eq!(
            take_message(&at_max, limits(11, 100)),
            Err(WireError::FrameTooLarge { size: 12, max: 11 })
        );
    }

    #[test]
    fn message_size_is_checked_as_soon_as_it_is_known() {
        // Only the first frame (the size field) has arrived.
        let big = [0, 4, 0, 1, 0, 0];
        assert_eq!(
            take_message(&big, limits(16, 0xFFFF)),
            Err(WireError::MessageTooLarge {
                size: 0x10000,
                limit: 0xFFFF
            })
        );
        assert_eq!(
            take_message(&[0, 4, 0, 0, 0, 7], limits(16, 100)),
            Err(WireError::SizeBelowHeader(7))
        );
        // The size split over two frames of one and three bytes.
        let mut reader = FrameReader::new(limits(16, 11));
        reader.push(&[0, 1, 0, 0, 3, 0, 0, 12]);
        assert_eq!(
            reader.next_bytes(),
            Err(WireError::MessageTooLarge { size: 12, limit: 11 })
        );
    }

    #[test]
    fn a_frame_may_not_run_past_its_message() {
        let mut stream = vec![0, 13];
        stream.extend(sync_end());
        stream.push(0);
        assert_eq!(
            take_message(&stream, limits(16, 100)),
            Err(WireError::FrameCrossesMessage)
        );
    }

    #[test]
    fn incomplete_input_waits_and_used_counts_frame_headers() {
        let mut framed = Vec::new();
        write_frames(&sync_end(), 5, &mut framed);
        for cut in 0..framed.len() {
            assert_eq!(
                take_message(&framed[..cut], limits(5, 100)),
                Ok(None),
                "cut {cut}"
            );
        }
        assert_eq!(take_message(&framed, limits(5, 100)), Ok(Some((sync_end(), 18))));
    }

    #[test]
    fn a_large_message_fed_byte_by_byte_costs_linear_time() {
        // 4 MB in frames of 16,379 bytes, pushed one byte at a time: a reader that rescanned
        // from the message start on every push would do about 10^13 steps here.
        let len = 4 << 20;
        let mut msg = vec![0u8; len];
        msg[..8].copy_from_slice(&[
            (len >> 24) as u8,
            (len >> 16) as u8,
            (len >> 8) as u8,
            len as u8,
            0x10,
            0x0D,
            0,
            0,
        ]);
        let mut framed = Vec::new();
        write_frames(&msg, DEFAULT_FRAME_SIZE, &mut framed);
        let mut reader = FrameReader::new(FrameLimits::default());
        let mut done = None;
        for b in &framed {
            reader.push(std::slice::from_ref(b));
            if let Some(m) = reader.next_bytes().unwrap() {
                done = Some(m);
            }
        }
        assert_eq!(done.as_deref(), Some(&msg[..]));
        assert_eq!(reader.buffered(), 0);
    }
}
