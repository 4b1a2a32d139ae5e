//! Peer Distribution (BranchCache) as sans-IO engines: content information (MS-PCCRC), discovery
//! (MS-PCCRD), retrieval (MS-PCCRR) and the hosted cache (MS-PCHC). Sections cited are the Microsoft
//! specifications' (\[W\] Windows' behaviour, \[R\] as iPXE, which interoperates with Windows).
//!
//! Three nodes implement [`crate::Node`] over [`DistMessage`]:
//! - [`ContentServer`]: the origin. `Publish { spec }`; hashes on first request (or on publish)
//!   at `hash_rate_bytes_per_sec`, serving plain bodies until the hashes are ready (MS-PCCRTP §3.2); then
//!   content information and missing-data ranges.
//! - [`BranchPeer`]: client and serving peer. `Fetch { content, server }` ends in
//!   [`PeerEvent::Fetched`] (bytes from peers / server / cache, time to first byte, elapsed,
//!   corrupt blocks) or [`PeerEvent::FetchFailed`].
//! - [`HostedCache`]: takes offers, pulls from the offering client, serves everyone.
//!
//! Multicast probes are sent to [`pccrd::MULTICAST`]; the driver delivers them to every peer on
//! the sender's subnet. Every message knows its bytes on the wire ([`DistMessage::wire_len`], HTTP
//! headers included) and frames to bytes ([`DistMessage::encode`] / [`DistMessage::decode`]).
//!
//! Decisions (\[?\] sources disagree, \[SIM\] model shortcut, \[CHOICE\] ours), noted in place:
//! V1 hashes SHA-256 (default), SHA-384 or SHA-512 (`v1_hash`, MS-PCCRC §2.3) and truncated SHA-512 for V2,
//! digests of 32/48/64 bytes throughout; whole-segment block lists only
//! (MS-PCCRC §2.3 \[?\]); gear-hash content-defined chunking for V2, 32/64/128 KiB (MS-PCCRC §2.4 \[SIM\]); AES key =
//! first bytes of Kp, PKCS#7 (MS-PCCRR §2.2.5.3 \[?\]); server entries 60 s, Dmax 16 (MS-CCRSO §5.1 \[?\]); one probe
//! datagram per discovery, not repeated (MS-PCCRD §2.1 \[?\]: a lossy network model can still drop it, and
//! the session then falls back to the origin); a peer whose block fails the hash is excluded for
//! the rest of that fetch (\[SIM\], the specs are silent); the download timer is re-armed on progress and
//! sessions per fetch are bounded (MS-CCRSO §6.5 \[CHOICE\]); missing blocks go to the origin at once, as the
//! specification's client does, unless the peerlab extension `cold_start = "wait-for-peers"` is
//! named (`wait.rs`); upload slots are held for size / upload rate (MS-PCCRR §3.2.1 \[SIM\]); hosted mode
//! offers V1 content with INITIAL_OFFER/SEGMENT_INFO and V2 content with BATCHED_OFFER (MS-PCHC
//! §2.2.1.4, §2.2.1.5), the hosted cache answers a BATCHED_OFFER with OK and pulls the segments by
//! HoHoDk, unencrypted when it holds no Kp (MS-PCHC §3.1.5.3), and V2 clients of a hosted cache ask
//! with MSG_GETSEGLIST (MS-PCCRR §3.1.4.4);
//! HTTP is abstracted as 250 bytes of headers per leg, no TCP handshake (\[SIM\], peerlab's model).
#![warn(missing_docs)]

mod cache;
pub mod config;
pub mod content;
mod content_range;
pub mod crypt;
mod discovery;
mod envelope;
mod fetch;
#[cfg(test)]
mod harness;
pub mod hash;
mod hosted;
pub mod info_codec;
pub mod message;
mod negotiate;
mod node;
mod offer;
pub mod pccrd;
pub mod pccrd_xml;
pub mod pccrr;
mod pccrr_wire;
pub mod pchc;
mod peer;
mod peer_api;
mod serve;
mod server;
mod session;
#[cfg(test)]
mod tests;
mod wait;
mod wire;

pub use config::{ColdStart, DistConfig, Mode};
pub use content::{
    compute_info, compute_info_with, ContentInfo, ContentSpec, DataMode, InfoVersion, SegmentDesc, UnitData,
};
pub use hash::{Digest, HashAlgo, SegmentId, V1Hash};
pub use hosted::{HostedCache, HostedCommand, HostedEvent, HostedStats};
pub use message::{DistMessage, OriginMessage};
pub use node::{DistCommand, DistEvent, DistNode};
pub use peer::BranchPeer;
pub use peer_api::{FetchError, PeerCommand, PeerEvent, PeerStats};
pub use serve::ServeStats;
pub use server::{ContentServer, ServerCommand, ServerEvent, ServerStats};
pub use wire::DecodeError;
