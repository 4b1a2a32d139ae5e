//! The address list of a route entry (MS-PNRP §2.2.3.4: 1..=20 IPv6 addresses sharing one port).
//!
//! Nearly every node listens on one address, and route entries are copied into every message,
//! cache slot and leaf set that mentions them. A single address is therefore held inline (a copy
//! is a plain memcpy, with no allocation and no pointer to chase on a cold cache line); only
//! longer lists are shared behind an `Arc`.

use serde::{Deserialize, Serialize};
use std::net::Ipv6Addr;
use std::ops::Deref;
use std::sync::Arc;

/// A route entry's addresses, compared, hashed and serialized as the plain list.
#[derive(Clone, Serialize, Deserialize)]
#[serde(from = "Vec<Ipv6Addr>", into = "Vec<Ipv6Addr>")]
pub struct Addrs(Repr);

#[derive(Clone)]
enum Repr {
    // Exactly one address (never stored as `Many`, so the representation is canonical).
    One(Ipv6Addr),
    // Zero (only in malformed input, rejected by the syntax check) or two or more.
    Many(Arc<[Ipv6Addr]>),
}

impl Addrs {
    /// A single address.
    pub fn one(a: Ipv6Addr) -> Self {
        Addrs(Repr::One(a))
    }
}

impl Deref for Addrs {
    type Target = [Ipv6Addr];
    fn deref(&self) -> &[Ipv6Addr] {
        match &self.0 {
            Repr::One(a) => std::slice::from_ref(a),
            Repr::Many(v) => v,
        }
    }
}

impl From<Vec<Ipv6Addr>> for Addrs {
    fn from(v: Vec<Ipv6Addr>) -> Self {
        match v.as_slice() {
            [a] => Addrs::one(*a),
            _ => Addrs(Repr::Many(Arc::from(v))),
        }
    }
}

impl From<Addrs> for Vec<Ipv6Addr> {
    fn from(a: Addrs) -> Self {
        a.to_vec()
    }
}

impl PartialEq for Addrs {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Addrs {}

impl std::hash::Hash for Addrs {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}

impl std::fmt::Debug for Addrs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(n: u16) -> Ipv6Addr {
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, n)
    }

    #[test]
    fn lists_of_any_length_read_back_and_compare_as_slices() {
        for k in [0usize, 1, 2, 20] {
            let v: Vec<Ipv6Addr> = (0..k as u16).map(a).collect();
            let x = Addrs::from(v.clone());
            assert_eq!(&*x, v.as_slice());
            assert_eq!(x, Addrs::from(v.clone()));
            assert_eq!(Vec::from(x.clone()), v);
        }
        assert_eq!(Addrs::one(a(1)), Addrs::from(vec![a(1)]));
        assert_ne!(Addrs::one(a(1)), Addrs::from(vec![a(1), a(2)]));
        assert!(std::mem::size_of::<Addrs>() <= 24);
    }

    #[test]
    fn serializes_as_the_plain_list() {
        let x = Addrs::from(vec![a(1), a(2)]);
        let json = serde_json::to_string(&x).unwrap();
        assert_eq!(json, serde_json::to_string(&vec![a(1), a(2)]).unwrap());
        let back: Addrs = serde_json::from_str(&json).unwrap();
        assert_eq!(back, x);
    }
}
