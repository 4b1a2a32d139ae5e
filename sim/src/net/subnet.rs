//! Subnets: peers on a LAN behind a gateway with a WAN link, beside peers on the open Internet
//! (docs/architecture.md §4 "Subnets"); the generalisation of the Peer Distribution world's
//! branches (`dist_world/layout.rs`).
//!
//! A node is either on one subnet or on the open Internet. A path between two nodes is
//! - **loopback** (a node to itself);
//! - **LAN** (both on the same subnet): one-way latency = the subnet's `lan_latency`; no WAN link;
//! - **Internet** (otherwise): `lan_latency + wan.latency` of each end that is on a subnet, plus the
//!   core latency between the two nodes from the network's latency model; the sender's WAN uplink
//!   and the receiver's WAN downlink are on the path.
//!
//! The links a path crosses ([`PathLinks`]) are the sender's access uplink, its subnet's WAN up,
//! the receiver's subnet's WAN down and the receiver's access downlink; stream flows share each of
//! them max-min fairly (`stream/share.rs`), datagrams queue FIFO on them (`NetModel::send`).
//!
//! **Multicast** (peerlab choice, after RFC 4291 §2.7's scopes): a datagram to a multicast address
//! (`ff00::/8`) of scope link-local (`ff02::/16`) or wider reaches every other live member of the
//! sender's subnet, never beyond it: the gateways do not route multicast, and the open Internet
//! carries none, so a node on the open Internet reaches no one. Interface-local (`ff01::/16`) and
//! reserved-scope (`ff00::/16`) groups reach no other node. The sender never receives its own copy
//! (as with `IPV6_MULTICAST_LOOP` off; BranchCache and People Near Me ignore their own probes anyway).

use super::bandwidth::{Bandwidth, Links, QueueFull};
use peerlab_engine::Duration;
use std::net::Ipv6Addr;

/// Marks a node on the open Internet in the per-node subnet table.
const INTERNET: u32 = u32::MAX;
/// Scope nibble of interface-local multicast (RFC 4291 §2.7): never leaves the host.
const SCOPE_INTERFACE_LOCAL: u8 = 0x1;

/// A subnet's WAN link between its gateway and the Internet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Wan {
    /// One-way latency of the WAN link, added to every path leaving or entering the subnet.
    pub latency: Duration,
    /// Subnet → Internet rate in bits per second (0 = unlimited).
    pub up_bps: u64,
    /// Internet → subnet rate in bits per second (0 = unlimited).
    pub down_bps: u64,
    /// Bytes each WAN direction may hold before datagrams are dropped (0 = unlimited).
    pub queue_limit_bytes: u64,
}

/// One subnet: its LAN and its WAN link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Subnet {
    /// One-way latency between two members (also from a member to its gateway).
    pub lan_latency: Duration,
    /// The gateway's WAN link.
    pub wan: Wan,
}

/// A link a path crosses, for bandwidth sharing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LinkId {
    /// A node's access uplink.
    Up(u32),
    /// A node's access downlink.
    Down(u32),
    /// A subnet's WAN, subnet → Internet.
    WanUp(u32),
    /// A subnet's WAN, Internet → subnet.
    WanDown(u32),
}

/// The route between two nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// A node to itself.
    Loopback,
    /// Both on this subnet.
    Lan(u32),
    /// Over the Internet, leaving the sender's subnet and entering the receiver's (`None` = that
    /// end is on the open Internet).
    Internet {
        /// The sender's subnet.
        from: Option<u32>,
        /// The receiver's subnet.
        to: Option<u32>,
    },
}

/// The links a path crosses, in order (at most four).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathLinks {
    links: [LinkId; 4],
    len: u8,
}

impl PathLinks {
    /// The links, sender's side first.
    pub fn as_slice(&self) -> &[LinkId] {
        &self.links[..self.len as usize]
    }
}

/// Why a subnet layout was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SubnetError {
    /// A node was placed on a subnet that does not exist.
    #[error("node {node} is placed on subnet {subnet}, but there are {count} subnets")]
    NoSuchSubnet {
        /// The node.
        node: u32,
        /// The subnet index given.
        subnet: u32,
        /// How many subnets exist.
        count: usize,
    },
}

/// Every subnet and which nodes are on each.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subnets {
    list: Vec<Subnet>,
    /// Subnet of each node ([`INTERNET`] for the open Internet); nodes past the end are on the
    /// open Internet.
    of_node: Vec<u32>,
    /// Members of each subnet, sorted.
    members: Vec<Vec<u32>>,
}

impl Subnets {
    /// These subnets, every node on the open Internet until placed.
    pub fn new(list: Vec<Subnet>) -> Self {
        Subnets {
            members: vec![Vec::new(); list.len()],
            list,
            of_node: Vec::new(),
        }
    }

    /// The subnets, by index.
    pub fn list(&self) -> &[Subnet] {
        &self.list
    }

    /// Puts `node` on `subnet` (`None` = the open Internet), moving it if it was elsewhere.
    pub fn place(&mut self, node: u32, subnet: Option<u32>) -> Result<(), SubnetError> {
        if let Some(s) = subnet.filter(|s| *s as usize >= self.list.len()) {
            return Err(SubnetError::NoSuchSubnet {
                node,
                subnet: s,
                count: self.list.len(),
            });
        }
        if let Some(old) = self.subnet_of(node) {
            let m = &mut self.members[old as usize];
            if let Ok(i) = m.binary_search(&node) {
                m.remove(i);
            }
        }
        if self.of_node.len() <= node as usize {
            self.of_node.resize(node as usize + 1, INTERNET);
        }
        self.of_node[node as usize] = subnet.unwrap_or(INTERNET);
        if let Some(s) = subnet {
            let m = &mut self.members[s as usize];
            if let Err(i) = m.binary_search(&node) {
                m.insert(i, node);
            }
        }
        Ok(())
    }

    /// The subnet `node` is on (`None` = the open Internet).
    #[inline]
    pub fn subnet_of(&self, node: u32) -> Option<u32> {
        self.of_node
            .get(node as usize)
            .copied()
            .filter(|s| *s != INTERNET)
    }

    /// The members of `subnet`, sorted (empty for an unknown subnet).
    pub fn members(&self, subnet: u32) -> &[u32] {
        self.members.get(subnet as usize).map_or(&[], Vec::as_slice)
    }

    /// The route from `from` to `to` (module docs).
    #[inline]
    pub fn path(&self, from: u32, to: u32) -> Path {
        if from == to {
            return Path::Loopback;
        }
        match (self.subnet_of(from), self.subnet_of(to)) {
            (Some(a), Some(b)) if a == b => Path::Lan(a),
            (from, to) => Path::Internet { from, to },
        }
    }

    /// One-way latency from `from` to `to` given the `core` latency the network's model gives
    /// the pair (used only for Internet paths).
    pub fn latency(&self, from: u32, to: u32, core: Duration) -> Duration {
        match self.path(from, to) {
            Path::Loopback => Duration::ZERO,
            Path::Lan(s) => self.list[s as usize].lan_latency,
            Path::Internet { from, to } => core + self.access(from) + self.access(to),
        }
    }

    /// LAN plus WAN latency between a node of `subnet` and the Internet (zero on the Internet).
    pub(crate) fn access(&self, subnet: Option<u32>) -> Duration {
        subnet.map_or(Duration::ZERO, |s| {
            let s = &self.list[s as usize];
            s.lan_latency + s.wan.latency
        })
    }

    /// The links a message from `from` to `to` crosses (module docs); none for loopback.
    pub fn links(&self, from: u32, to: u32) -> PathLinks {
        let mut p = PathLinks {
            links: [LinkId::Up(from); 4],
            len: 0,
        };
        let mut push = |l: LinkId| {
            p.links[p.len as usize] = l;
            p.len += 1;
        };
        match self.path(from, to) {
            Path::Loopback => {}
            Path::Lan(_) => {
                push(LinkId::Up(from));
                push(LinkId::Down(to));
            }
            Path::Internet { from: a, to: b } => {
                push(LinkId::Up(from));
                if let Some(a) = a {
                    push(LinkId::WanUp(a));
                }
                if let Some(b) = b {
                    push(LinkId::WanDown(b));
                }
                push(LinkId::Down(to));
            }
        }
        p
    }

    /// The nodes a datagram from `from` to multicast address `group` reaches: the other members
    /// of its subnet for which `is_up` holds, in index order (module docs for the scope rules).
    /// A unicast `group` reaches no one.
    pub fn multicast_receivers(&self, from: u32, group: &Ipv6Addr, is_up: impl Fn(u32) -> bool) -> Vec<u32> {
        let o = group.octets();
        let scope = o[1] & 0x0f;
        if o[0] != 0xff || scope <= SCOPE_INTERFACE_LOCAL {
            return Vec::new();
        }
        let Some(s) = self.subnet_of(from) else {
            return Vec::new();
        };
        self.members(s)
            .iter()
            .copied()
            .filter(|&n| n != from && is_up(n))
            .collect()
    }

    /// Heap bytes of the per-node and per-subnet tables.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.list.capacity() * std::mem::size_of::<Subnet>()
            + self.of_node.capacity() * 4
            + self.members.iter().map(|m| m.capacity() * 4 + 24).sum::<usize>()
    }
}

/// Subnets attached to a network, with the FIFO queues datagrams take on each WAN direction.
pub(crate) struct SubnetNet {
    pub(crate) subnets: Subnets,
    /// Per subnet, WAN up (its downlink-style queue: reservations come in any arrival order).
    wan_up: Links,
    /// Per subnet, WAN down.
    wan_down: Links,
}

impl SubnetNet {
    /// Attaches `subnets`, one WAN queue pair per subnet.
    pub(crate) fn new(subnets: Subnets) -> Self {
        let n = subnets.list.len() as u32;
        let (mut wan_up, mut wan_down) = (
            Links::new(Bandwidth::default(), 0, n),
            Links::new(Bandwidth::default(), 0, n),
        );
        for (i, s) in subnets.list.iter().enumerate() {
            let rate = |bps| Bandwidth {
                up_bps: 0,
                down_bps: bps,
            };
            wan_up.set_rates(i as u32, rate(s.wan.up_bps));
            wan_down.set_rates(i as u32, rate(s.wan.down_bps));
            wan_up.set_queue_limit(i as u32, s.wan.queue_limit_bytes);
            wan_down.set_queue_limit(i as u32, s.wan.queue_limit_bytes);
        }
        SubnetNet {
            subnets,
            wan_up,
            wan_down,
        }
    }

    /// Base one-way latency in µs from `from` to `to`: the LAN's, or `core()` plus both ends'
    /// LAN and WAN latencies (`core` is only called for Internet paths, so a LAN path draws no
    /// randomness).
    #[inline]
    pub(crate) fn base_us(&self, from: u32, to: u32, core: impl FnOnce() -> u64) -> u64 {
        match self.subnets.path(from, to) {
            Path::Loopback => 0,
            Path::Lan(s) => self.subnets.list[s as usize].lan_latency.as_micros(),
            Path::Internet { from, to } => core()
                .saturating_add(self.subnets.access(from).as_micros())
                .saturating_add(self.subnets.access(to).as_micros()),
        }
    }

    /// When a datagram that left the sender's uplink at `sent_ns` and takes `lat_us` end to end
    /// reaches the receiver's downlink, after queueing on the WAN links of its path.
    pub(crate) fn reach_ns(
        &mut self,
        now_ns: u64,
        from: u32,
        to: u32,
        sent_ns: u64,
        lat_us: u64,
        wire: u64,
    ) -> Result<u64, QueueFull> {
        let Path::Internet { from: a, to: b } = self.subnets.path(from, to) else {
            return Ok(sent_ns.saturating_add(lat_us.saturating_mul(1_000)));
        };
        let lan = |s: Option<u32>| {
            s.map_or(0, |s| {
                self.subnets.list[s as usize].lan_latency.as_micros() * 1_000
            })
        };
        let (lan_a, lan_b) = (lan(a), lan(b));
        // Jitter and latency windows fall on the middle stretch, between the two gateways.
        let middle = (lat_us * 1_000).saturating_sub(lan_a + lan_b);
        let mut t = sent_ns + lan_a;
        if let Some(a) = a {
            t = self.wan_up.downlink(a, now_ns, t, wire)?;
        }
        t = t.saturating_add(middle);
        if let Some(b) = b {
            t = self.wan_down.downlink(b, now_ns, t, wire)?;
        }
        Ok(t.saturating_add(lan_b))
    }

    /// Heap bytes of the subnets and their WAN queues.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.subnets.heap_bytes() + self.wan_up.heap_bytes() + self.wan_down.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_branches() -> Subnets {
        let wan = |ms| Wan {
            latency: Duration::from_millis(ms),
            up_bps: 2_000_000,
            down_bps: 10_000_000,
            queue_limit_bytes: 0,
        };
        let mut s = Subnets::new(vec![
            Subnet {
                lan_latency: Duration::from_millis(1),
                wan: wan(20),
            },
            Subnet {
                lan_latency: Duration::from_millis(2),
                wan: wan(40),
            },
        ]);
        // Node 0 on the Internet; 1, 2, 3 on subnet 0; 4, 5 on subnet 1.
        for (n, sub) in [(1, 0), (2, 0), (3, 0), (4, 1), (5, 1)] {
            s.place(n, Some(sub)).unwrap();
        }
        s
    }

    #[test]
    fn paths_latencies_and_links() {
        let s = two_branches();
        let ms = Duration::from_millis;
        assert_eq!(s.path(1, 2), Path::Lan(0));
        assert_eq!(s.path(2, 2), Path::Loopback);
        assert_eq!(
            s.path(1, 4),
            Path::Internet {
                from: Some(0),
                to: Some(1)
            }
        );
        assert_eq!(s.latency(1, 3, ms(99)), ms(1), "LAN ignores the core latency");
        assert_eq!(s.latency(0, 1, ms(10)), ms(10 + 1 + 20));
        assert_eq!(s.latency(1, 4, ms(10)), ms(1 + 20 + 10 + 40 + 2));
        assert_eq!(s.links(1, 2).as_slice(), [LinkId::Up(1), LinkId::Down(2)]);
        assert_eq!(
            s.links(1, 4).as_slice(),
            [
                LinkId::Up(1),
                LinkId::WanUp(0),
                LinkId::WanDown(1),
                LinkId::Down(4)
            ]
        );
        assert_eq!(
            s.links(0, 5).as_slice(),
            [LinkId::Up(0), LinkId::WanDown(1), LinkId::Down(5)]
        );
        assert!(s.links(3, 3).as_slice().is_empty());
        assert_eq!(s.subnet_of(77), None, "unplaced nodes are on the Internet");
    }

    #[test]
    fn multicast_reaches_exactly_the_other_live_members_of_the_subnet() {
        let mut s = two_branches();
        let group: Ipv6Addr = "ff02::c".parse().unwrap();
        let all_up = |_| true;
        assert_eq!(s.multicast_receivers(1, &group, all_up), vec![2, 3]);
        assert_eq!(s.multicast_receivers(4, &group, all_up), vec![5]);
        assert_eq!(
            s.multicast_receivers(2, &group, |n| n != 3),
            vec![1],
            "down members miss it"
        );
        assert!(
            s.multicast_receivers(0, &group, all_up).is_empty(),
            "the Internet has no multicast"
        );
        let site: Ipv6Addr = "ff05::c".parse().unwrap();
        assert_eq!(
            s.multicast_receivers(1, &site, all_up),
            vec![2, 3],
            "gateways stop wider scopes"
        );
        for g in ["ff01::c", "2001:db8::1"] {
            assert!(
                s.multicast_receivers(1, &g.parse().unwrap(), all_up).is_empty(),
                "{g}"
            );
        }
        // Moving a node moves its membership.
        s.place(3, Some(1)).unwrap();
        assert_eq!(s.multicast_receivers(1, &group, all_up), vec![2]);
        assert_eq!(s.multicast_receivers(5, &group, all_up), vec![3, 4]);
        s.place(2, None).unwrap();
        assert!(s.multicast_receivers(1, &group, all_up).is_empty());
        assert_eq!(
            s.place(9, Some(2)),
            Err(SubnetError::NoSuchSubnet {
                node: 9,
                subnet: 2,
                count: 2
            })
        );
    }
}
