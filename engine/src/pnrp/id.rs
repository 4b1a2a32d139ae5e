//! 256-bit PNRP IDs on a ring, and the P2P ID / service-location halves (MS-PNRP §1.3.1.2).

use serde::{Deserialize, Serialize};
use std::fmt;

/// A 256-bit PNRP ID: the P2P ID in the high 128 bits, the service location in the low 128.
///
/// IDs live on a ring (2^256 − 1 is adjacent to 0); ordering is numeric. On the wire an ID is
/// most-significant byte first (MS-PNRP §2.2 does not say; our reading).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct PnrpId {
    /// High 128 bits: the P2P ID.
    pub hi: u128,
    /// Low 128 bits: the service location (64-bit prefix, then 64-bit suffix).
    pub lo: u128,
}

/// A circular distance between two IDs: at most 2^255, ordered numerically.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct Distance {
    /// High 128 bits of the distance.
    pub hi: u128,
    /// Low 128 bits of the distance.
    pub lo: u128,
}

impl PnrpId {
    /// The all-zero ID (used as "no ID" in FLOOD's Validate field).
    pub const ZERO: PnrpId = PnrpId { hi: 0, lo: 0 };

    /// An ID from its two 128-bit halves.
    pub const fn new(p2p: u128, service_location: u128) -> Self {
        PnrpId {
            hi: p2p,
            lo: service_location,
        }
    }

    /// The ID from 32 big-endian bytes.
    pub fn from_be_bytes(b: [u8; 32]) -> Self {
        let mut hi = [0u8; 16];
        let mut lo = [0u8; 16];
        hi.copy_from_slice(&b[..16]);
        lo.copy_from_slice(&b[16..]);
        PnrpId {
            hi: u128::from_be_bytes(hi),
            lo: u128::from_be_bytes(lo),
        }
    }

    /// The ID as 32 big-endian bytes.
    pub fn to_be_bytes(self) -> [u8; 32] {
        let mut b = [0u8; 32];
        b[..16].copy_from_slice(&self.hi.to_be_bytes());
        b[16..].copy_from_slice(&self.lo.to_be_bytes());
        b
    }

    /// The high 128 bits (the P2P ID).
    pub const fn p2p_id(self) -> u128 {
        self.hi
    }

    /// The low 128 bits (the service location).
    pub const fn service_location(self) -> u128 {
        self.lo
    }

    /// `self + k` modulo 2^256.
    pub fn wrapping_add_u64(self, k: u64) -> Self {
        let (lo, carry) = self.lo.overflowing_add(k as u128);
        PnrpId {
            hi: self.hi.wrapping_add(carry as u128),
            lo,
        }
    }

    /// `self − other` modulo 2^256: the clockwise offset from `other` to `self`.
    pub fn wrapping_sub(self, other: PnrpId) -> Distance {
        let (lo, borrow) = self.lo.overflowing_sub(other.lo);
        let hi = self.hi.wrapping_sub(other.hi).wrapping_sub(borrow as u128);
        Distance { hi, lo }
    }

    /// `self + d` modulo 2^256.
    pub fn wrapping_add(self, d: Distance) -> Self {
        let (lo, carry) = self.lo.overflowing_add(d.lo);
        PnrpId {
            hi: self.hi.wrapping_add(d.hi).wrapping_add(carry as u128),
            lo,
        }
    }

    /// The circular distance `min((a−b), (b−a)) mod 2^256` (MS-PNRP §1.3.1.2).
    pub fn distance(self, other: PnrpId) -> Distance {
        let cw = other.wrapping_sub(self);
        let ccw = self.wrapping_sub(other);
        cw.min(ccw)
    }

    /// True when `other` lies clockwise ("above") within half the ring: its offset
    /// `(other − self) mod 2^256` is in (0, 2^255) (MS-PNRP §1.3.1.2, our reading).
    pub fn is_above(self, other: PnrpId) -> bool {
        let off = other.wrapping_sub(self);
        off != Distance::ZERO && off.hi >> 127 == 0
    }

    /// True when `a` is strictly closer to `self` than `b`, ties broken by the lower numeric ID
    /// (MS-PNRP §1.3.1.2, peerlab choice).
    pub fn closer(self, a: PnrpId, b: PnrpId) -> bool {
        (self.distance(a), a) < (self.distance(b), b)
    }
}

impl Distance {
    /// Zero distance.
    pub const ZERO: Distance = Distance { hi: 0, lo: 0 };

    /// Number of significant bits (0 for zero, 256 for 2^255..).
    pub fn bits(self) -> u32 {
        if self.hi != 0 {
            256 - self.hi.leading_zeros()
        } else {
            128 - self.lo.leading_zeros()
        }
    }

    /// An approximation as f64, for statistics and level arithmetic.
    pub fn to_f64(self) -> f64 {
        self.hi as f64 * 2f64.powi(128) + self.lo as f64
    }

    /// `self` shifted right by `k` bits.
    pub fn shifted_right(self, k: u32) -> Distance {
        match k {
            0 => self,
            1..=127 => Distance {
                hi: self.hi >> k,
                lo: (self.lo >> k) | (self.hi << (128 - k)),
            },
            128..=255 => Distance {
                hi: 0,
                lo: self.hi >> (k - 128),
            },
            _ => Distance::ZERO,
        }
    }
}

impl fmt::Debug for PnrpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PnrpId({:032x}.{:032x})", self.hi, self.lo)
    }
}

impl fmt::Display for PnrpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}{:032x}", self.hi, self.lo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(hi: u128, lo: u128) -> PnrpId {
        PnrpId::new(hi, lo)
    }

    #[test]
    fn the_ring_wraps_at_two_to_the_256() {
        let max = id(u128::MAX, u128::MAX);
        assert_eq!(max.wrapping_add_u64(1), PnrpId::ZERO);
        assert_eq!(max.distance(PnrpId::ZERO), Distance { hi: 0, lo: 1 });
        assert!(max.is_above(PnrpId::ZERO));
        assert!(!PnrpId::ZERO.is_above(max));
    }

    #[test]
    fn byte_order_is_most_significant_first() {
        let a = id(1, 2);
        let b = a.to_be_bytes();
        assert_eq!(b[15], 1);
        assert_eq!(b[31], 2);
        assert_eq!(PnrpId::from_be_bytes(b), a);
    }

    #[test]
    fn ties_go_to_the_lower_id() {
        let centre = id(0, 10);
        assert!(centre.closer(id(0, 8), id(0, 12)));
        assert!(!centre.closer(id(0, 12), id(0, 8)));
    }

    fn any_id() -> impl Strategy<Value = PnrpId> {
        (any::<u128>(), any::<u128>()).prop_map(|(h, l)| id(h, l))
    }

    proptest! {
        #[test]
        fn distance_is_symmetric_and_at_most_half_the_ring(a in any_id(), b in any_id()) {
            let d = a.distance(b);
            prop_assert_eq!(d, b.distance(a));
            prop_assert!(d.hi <= 1u128 << 127);
            prop_assert_eq!(a.wrapping_add(a.wrapping_sub(a)), a);
            prop_assert_eq!(b.wrapping_add(a.wrapping_sub(b)), a);
        }

        #[test]
        fn exactly_one_side_unless_equal_or_opposite(a in any_id(), b in any_id()) {
            let off = b.wrapping_sub(a);
            let opposite = off == Distance { hi: 1 << 127, lo: 0 };
            if a != b && !opposite {
                prop_assert!(a.is_above(b) != b.is_above(a));
            }
        }
    }
}
