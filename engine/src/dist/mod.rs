//! Peer Distribution (BranchCache) as sans-IO engines: content information (MS-PCCRC), discovery
//! (MS-PCCRD), retrieval (MS-PCCRR) and the hosted cache (MS-PCHC). Section references (§n) point
//! into `shared/spec/distribution.md`.
#![warn(missing_docs)]

pub mod cache;
pub mod config;
pub mod content;
pub mod crypt;
mod discovery;
mod envelope;
#[cfg(test)]
mod harness;
pub mod hash;
mod hosted;
pub mod info_codec;
pub mod message;
mod offer;
pub mod pccrd;
pub mod pccrr;
mod pccrr_wire;
pub mod pchc;
mod peer;
mod peer_api;
pub mod serve;
mod server;
mod session;
#[cfg(test)]
mod tests;
pub mod wire;

pub use config::{DistConfig, Mode};
pub use content::{compute_info, ContentInfo, ContentSpec, DataMode, InfoVersion, SegmentDesc, UnitData};
pub use hash::{Hash32, HashAlgo, SegmentId};
pub use hosted::{HostedCache, HostedCommand, HostedEvent, HostedStats};
pub use message::{DistMessage, OriginMessage};
pub use peer::BranchPeer;
pub use peer_api::{FetchError, PeerCommand, PeerEvent, PeerStats};
pub use server::{ContentServer, ServerCommand, ServerEvent, ServerStats};
pub use wire::DecodeError;
