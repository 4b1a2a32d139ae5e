//! Peer Graphing (MS-PPGRH): a replicated record store kept in sync by flooding over a
//! self-organising mesh of TCP connections. Sans-IO like every engine here: the node sees stream
//! connection ids and typed messages (`crate::stream`); `wire` holds the byte codec.

mod api;
pub mod attributes;
mod config;
mod guid;
mod layer;
mod message;
pub(crate) mod node;
pub mod payloads;
mod peer_time;
mod record;
pub mod rules;
pub mod wire;

pub use api::{Bootstrap, GraphCommand, GraphError, GraphEvent};
pub use attributes::{validate_attributes, AttributeError};
pub use config::{ContactFormula, GraphConfig};
pub use guid::{Guid, GuidError};
pub use layer::GraphingLayer;
pub use message::*;
pub use node::{AuthStep, GraphNode, GraphStats, NullProvider, SecurityProvider, Validity};
pub use payloads::{ContactPayload, GraphInfo, PresencePayload, Scope, SignaturePayload};
pub use peer_time::{LocalClock, PeerTime, DEFAULT_EPOCH};
pub use record::*;
