//! The Peer Name Resolution Protocol, wire version 4.0 ("PNRP 2.0"), as a sans-IO engine.
//! Section references (MS-PNRP §n) point into Microsoft's specification [MS-PNRP] "Peer Name
//! Resolution Protocol (PNRP) Version 4.0"; "peerlab choice" marks a point the specification leaves open.

pub mod addrs;
pub mod chain;
pub mod choices;
pub mod config;
mod config_check;
pub mod cpa;
mod cpa_memo;
pub mod friendly;
pub mod hostname;
pub mod id;
pub mod message;
pub mod name;
pub mod payload;
pub mod wire;

// The node state machine (PNRP node helper).
mod admit;
mod answer;
mod api;
pub mod cache;
mod flood;
mod hot;
pub mod inquire_limit;
pub mod leafset;
mod lifecycle;
mod maintenance;
mod node;
mod pending;
mod reassembly;
mod receive;
mod register;
#[cfg(test)]
mod registration_options_tests;
mod resolve;
#[cfg(test)]
mod signature_order_tests;
mod small_map;
pub mod stats;
mod sync;
#[cfg(test)]
mod testnet;
mod ticks;
mod walk;

pub use chain::{CertChain, CertRole, ChainCert, ChainError, Delegation, Grant};
pub use choices::Choice;
pub use config::PnrpConfig;
pub use config_check::ConfigIssue;
pub use cpa::{AppEndpoint, Cpa, CpaError};
pub use friendly::{FriendlyName, FriendlyNameError};
pub use id::{Distance, PnrpId};
pub use message::*;
pub use name::{NameError, PeerName};
pub use payload::{ExtendedPayload, PayloadData, PayloadError};

pub use api::{Command, Event, ResolveError, ResolveStats, Resolved};
pub use leafset::LeafSetView;
pub use node::PnrpNode;
pub use stats::PnrpStats;
