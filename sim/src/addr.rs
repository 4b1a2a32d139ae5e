//! The simulated address plan: every peer owns the /64 `2001:db8:IIII:IIII::/64` where `IIII:IIII`
//! is its index, and its current address inside it is `::G` for address generation `G`.
//!
//! Mapping an address back to a peer is then O(1) with no table, and an address change (new `G`)
//! makes the old address point nowhere, as a renumbered host's old address does.

use peerlab_engine::Endpoint;
use std::net::Ipv6Addr;

/// The UDP port every simulated peer listens on (MS-PNRP §1.9, §2.1: 3540).
pub const PNRP_PORT: u16 = 3540;

/// The endpoint of peer `index` in address generation `generation` (≥ 1).
pub fn endpoint_of(index: u32, generation: u16) -> Endpoint {
    let hi = (index >> 16) as u16;
    let lo = index as u16;
    Endpoint::new(
        Ipv6Addr::new(0x2001, 0x0db8, hi, lo, 0, 0, 0, generation.max(1)),
        PNRP_PORT,
    )
}

/// The peer index and address generation an endpoint names, if it is in the simulated plan.
pub fn peer_of(ep: &Endpoint) -> Option<(u32, u16)> {
    if ep.port != PNRP_PORT {
        return None;
    }
    peer_of_addr(&ep.addr)
}

/// The peer index and address generation an address names, whatever the port (a stream
/// connection goes to the port a protocol listens on).
pub fn peer_of_addr(addr: &Ipv6Addr) -> Option<(u32, u16)> {
    let s = addr.segments();
    if s[0] != 0x2001 || s[1] != 0x0db8 || s[4] != 0 || s[5] != 0 || s[6] != 0 || s[7] == 0 {
        return None;
    }
    Some((((s[2] as u32) << 16) | s[3] as u32, s[7]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_map_back_to_their_peer() {
        for (i, g) in [(0u32, 1u16), (70_000, 3), (u32::MAX, 9)] {
            assert_eq!(peer_of(&endpoint_of(i, g)), Some((i, g)));
        }
        let foreign = Endpoint::new("2001:db9::1".parse().unwrap(), PNRP_PORT);
        assert_eq!(peer_of(&foreign), None);
        let wrong_port = Endpoint::new(endpoint_of(5, 1).addr, 3541);
        assert_eq!(peer_of(&wrong_port), None);
    }
}
