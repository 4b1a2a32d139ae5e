//! Certified Peer Addresses (pnrp.md §1.4, §3.10.3, §6.3). OWNER: codec/crypto helper.

use super::id::PnrpId;
use crate::crypto::{Identity, PublicKey};
use crate::{Endpoint, Instant};
use serde::{Deserialize, Serialize};
use std::net::Ipv6Addr;

/// An application endpoint in the CPA payload (IPV6_APP_ENDPOINT, pnrp.md §3.10.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppEndpoint {
    /// Address.
    pub addr: Ipv6Addr,
    /// Port.
    pub port: u16,
    /// IANA protocol number (6 TCP, 17 UDP).
    pub protocol: u16,
}

/// A signed Certified Peer Address.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cpa {
    /// R flag: a revoke CPA (unregistration).
    pub revoke: bool,
    /// Not After, as simulated time (converted to FILETIME at the codec boundary).
    pub not_after: Instant,
    /// The service-location half of the PNRP ID.
    pub service_location: u128,
    /// The INQUIRE nonce copied in (zero for revokes).
    pub nonce: [u8; 16],
    /// BinaryAuthority (A flag); `None` for unsecured names.
    pub authority: Option<[u8; 20]>,
    /// SHA-1 of the classifier (C flag).
    pub classifier_hash: Option<[u8; 20]>,
    /// Friendly name bytes (F flag) and whether they are UTF-8 (U flag).
    pub friendly_name: Option<(Vec<u8>, bool)>,
    /// X flag: an extended payload exists.
    pub has_extended_payload: bool,
    /// The PNRP node's service endpoints (0..=4, ≥1 unless revoke).
    pub service_addresses: Vec<Endpoint>,
    /// Application endpoints from the payload (0..=10).
    pub app_endpoints: Vec<AppEndpoint>,
    /// The publisher's public key.
    pub public_key: PublicKey,
    /// The signature over the encoded bytes preceding the SIGNATURE structure.
    pub signature: Vec<u8>,
}

impl Cpa {
    /// The PNRP ID this CPA certifies, recomputed from authority, classifier hash and service location.
    pub fn pnrp_id(&self) -> PnrpId {
        todo!("codec helper")
    }
    /// Signs `self` (whose `signature` is ignored) with `identity`, filling in key and signature.
    pub fn sign(self, _identity: &Identity) -> Cpa {
        todo!("codec helper")
    }
}
