//! The Peer Graphing byte encoding (MS-PPGRH §2.2): the fourteen messages, PEER_RECORD, the
//! strings and addresses they share, and TCP framing.
//!
//! * [`encode`] / [`decode`] and `Message::encoded_len` (exact, header included, framing
//!   excluded) for every message of MS-PPGRH §2.2.2, with the receiver checks of MS-PPGRH
//!   §3.1.5;
//! * [`encode_record`] / [`decode_record`] for PEER_RECORD (MS-PPGRH §2.2.1.9);
//! * [`frame`]: [`write_frames`], [`FrameReader`] and [`take_message`] (MS-PPGRH §2.2.1.1);
//! * [`text`]: the one place the UTF-16 byte order is chosen; [`address`]: PEER_IN6_ADDRESS
//!   and PEER_ADDRESS.
//!
//! Every integer is big-endian (MS-PPGRH §2.2). Decoders never panic: every read is
//! bounds-checked, every count is checked against the bytes left before anything is allocated,
//! and every failure is a [`WireError`] naming the field.

pub mod address;
mod error;
pub mod frame;
mod header;
mod link;
mod messages;
mod record;
mod sync;
pub mod text;

pub use error::{Reader, WireError};
pub use frame::{take_message, write_frames, FrameLimits, FrameReader};
pub use header::HEADER_LEN;
pub use link::{CONNECT_DIRECT, CONNECT_NEIGHBORS, CONNECT_UPDATE, MAX_ADDRESSES};
pub use messages::{decode, encode};
pub use record::{decode_record, encode_record, record_encoded_len, RECORD_FIXED_LEN};
pub use sync::{ACK_USEFUL, SYNC_END_FINAL};

#[cfg(test)]
mod check_tests;
#[cfg(test)]
mod golden_tests;
#[cfg(test)]
mod prop_tests;
