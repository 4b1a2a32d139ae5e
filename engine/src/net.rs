//! Network endpoints as the engine sees them: an IPv6 address and a UDP port.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::Ipv6Addr;

/// An (IPv6 address, UDP port) pair. IPv4 peers appear as IPv4-mapped addresses (`::ffff:a.b.c.d`)
/// because PNRP's route entries and endpoint arrays carry IPv6 only (MS-PNRP §1.3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Endpoint {
    /// The IPv6 address.
    pub addr: Ipv6Addr,
    /// The UDP port.
    pub port: u16,
}

impl Endpoint {
    /// An endpoint from its parts.
    pub const fn new(addr: Ipv6Addr, port: u16) -> Self {
        Endpoint { addr, port }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]:{}", self.addr, self.port)
    }
}
