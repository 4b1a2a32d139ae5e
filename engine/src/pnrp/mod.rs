//! The Peer Name Resolution Protocol, wire version 4.0 ("PNRP 2.0"), as a sans-IO engine.
//! Section references (§n) point into `shared/spec/pnrp.md`.

pub mod config;
pub mod cpa;
pub mod id;
pub mod message;
pub mod name;

pub use config::PnrpConfig;
pub use cpa::{AppEndpoint, Cpa};
pub use id::{Distance, PnrpId};
pub use message::*;
pub use name::{NameError, PeerName};
