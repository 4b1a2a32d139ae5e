//! The Peer Graphing byte encoding (MS-PPGRH §2.2): the strings and addresses shared by messages
//! and records, and the error every decoder returns.
//!
//! Decoders never panic: every read is bounds-checked, every count is checked against the bytes
//! left before anything is allocated, and every failure is a [`WireError`] naming the field.

pub mod address;
mod error;
pub mod text;

pub use error::{Reader, WireError};
