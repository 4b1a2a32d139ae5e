//! Where every machine of a distribution scenario sits: node indices, addresses, the latency
//! matrix, link speeds and the route a message takes.
//!
//! Node 0 is the content server in the data centre. Each branch `b` adds, in order, its inbound
//! gateway (the WAN's data-centre → branch direction: its downlink is the WAN `down` speed), its
//! outbound gateway (branch → data centre: its uplink is the WAN `up` speed), its clients, its
//! attackers and its hosted cache. A message between the data centre and a branch is relayed by
//! the gateway, so every transfer over the WAN queues on the branch's one shared link, as
//! [`crate::net::NetModel`] queues on any node's access link (FIFO, exact to the nanosecond).
//!
//! \[CHOICE\] Addresses: branch `b` is the IPv4 subnet `10.(b+1).0.0/16` in IPv4-mapped form, and
//! the simulator sets `subnet_prefix_len = 112` to match, so a branch holds up to 65,000 machines.

use crate::net::{Bandwidth, LatencyModel, NetConfig};
use crate::scenario::Distribution;
use peerlab_engine::{Duration, Endpoint};
use std::net::Ipv4Addr;

/// Most branches (one /16 each under 10.0.0.0/8).
pub const BRANCHES_MAX: usize = 254;
/// Most machines per branch (one /16).
pub const BRANCH_MACHINES_MAX: u64 = 65_000;
/// The IPv6 prefix length of a branch subnet (a /16 in IPv4-mapped form).
pub const SUBNET_PREFIX_LEN: u8 = 112;
/// Port every machine listens on (PCCRR over HTTP, MS-PCCRR §2.1).
const PORT: u16 = 80;

/// What a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The origin.
    Server,
    /// A WAN gateway; `inbound` carries data-centre → branch traffic.
    Gateway {
        /// Direction.
        inbound: bool,
    },
    /// An honest client.
    Client,
    /// A corrupt-block attacker (attacker table index).
    Attacker(u32),
    /// The branch's hosted cache.
    Hosted,
}

/// One node: role, branch and address.
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    /// What it is.
    pub role: Role,
    /// Its branch (`None` for the server).
    pub branch: Option<u32>,
    /// Its address.
    pub endpoint: Endpoint,
}

/// A branch's node indices.
#[derive(Clone, Debug)]
pub struct BranchNodes {
    /// Inbound gateway (WAN down).
    pub gw_in: u32,
    /// Outbound gateway (WAN up).
    pub gw_out: u32,
    /// Clients, attackers and the hosted cache: everything on the subnet.
    pub members: Vec<u32>,
    /// The hosted cache, if any.
    pub hosted: Option<u32>,
}

/// The whole layout.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Every node, by index.
    pub slots: Vec<Slot>,
    /// Every branch, by index.
    pub branches: Vec<BranchNodes>,
}

fn address(branch: usize, host: u64) -> Endpoint {
    let host = host + 1;
    let ip = Ipv4Addr::new(10, branch as u8 + 1, (host >> 8) as u8, host as u8);
    Endpoint::new(ip.to_ipv6_mapped(), PORT)
}

impl Layout {
    /// Lays out `d`; `None` when a bound (branches, machines per branch) is exceeded.
    pub fn new(d: &Distribution) -> Result<Layout, String> {
        if d.branches.len() > BRANCHES_MAX {
            return Err(format!("{} branches; at most {BRANCHES_MAX}", d.branches.len()));
        }
        let server = Endpoint::new(Ipv4Addr::new(172, 16, 0, 1).to_ipv6_mapped(), PORT);
        let mut slots = vec![Slot {
            role: Role::Server,
            branch: None,
            endpoint: server,
        }];
        let mut branches = Vec::new();
        for (b, br) in d.branches.iter().enumerate() {
            let attackers: Vec<(u32, u64)> = d
                .attackers
                .iter()
                .enumerate()
                .filter(|(_, a)| a.branch == br.name)
                .map(|(i, a)| (i as u32, a.count))
                .collect();
            let machines =
                br.clients + attackers.iter().map(|a| a.1).sum::<u64>() + u64::from(br.hosted_cache);
            if machines > BRANCH_MACHINES_MAX {
                return Err(format!(
                    "branch \"{}\" has {machines} machines; at most {BRANCH_MACHINES_MAX}",
                    br.name
                ));
            }
            let gw_in = slots.len() as u32;
            let branch = Some(b as u32);
            for (inbound, host) in [(true, 65_100), (false, 65_101)] {
                let role = Role::Gateway { inbound };
                slots.push(Slot {
                    role,
                    branch,
                    endpoint: address(b, host),
                });
            }
            let mut members = Vec::new();
            let mut host = 0u64;
            let mut push = |slots: &mut Vec<Slot>, role: Role| {
                members.push(slots.len() as u32);
                slots.push(Slot {
                    role,
                    branch,
                    endpoint: address(b, host),
                });
                host += 1;
            };
            for _ in 0..br.clients {
                push(&mut slots, Role::Client);
            }
            for (a, count) in attackers {
                for _ in 0..count {
                    push(&mut slots, Role::Attacker(a));
                }
            }
            let hosted = br.hosted_cache.then(|| {
                push(&mut slots, Role::Hosted);
                slots.len() as u32 - 1
            });
            branches.push(BranchNodes {
                gw_in,
                gw_out: gw_in + 1,
                members,
                hosted,
            });
        }
        Ok(Layout { slots, branches })
    }

    /// Latency group of a node: 0 the server, then three per branch (members, in, out).
    fn group(&self, node: u32) -> u16 {
        let s = &self.slots[node as usize];
        match (s.branch, s.role) {
            (None, _) => 0,
            (Some(b), Role::Gateway { inbound: true }) => 2 + 3 * b as u16,
            (Some(b), Role::Gateway { inbound: false }) => 3 + 3 * b as u16,
            (Some(b), _) => 1 + 3 * b as u16,
        }
    }

    /// The network configuration: latency matrix, no loss, no MTU (HTTP over TCP carries any
    /// length), unlimited queues (TCP does not drop), plus every node's link speeds.
    pub fn net_config(&self, d: &Distribution) -> (NetConfig, Vec<Bandwidth>) {
        let groups = 1 + 3 * d.branches.len();
        // Distance of each group from the data centre; a pair in different branches adds both.
        let mut to_dc = vec![Duration::ZERO; groups];
        for (b, br) in d.branches.iter().enumerate() {
            to_dc[1 + 3 * b] = br.wan.latency + br.lan.latency;
            to_dc[2 + 3 * b] = br.wan.latency;
            to_dc[3 + 3 * b] = br.wan.latency;
        }
        let branch_of = |g: usize| (g > 0).then(|| (g - 1) / 3);
        let mut table = vec![vec![Duration::ZERO; groups]; groups];
        for (a, row) in table.iter_mut().enumerate() {
            for (b, cell) in row.iter_mut().enumerate() {
                *cell = match (branch_of(a), branch_of(b)) {
                    (Some(x), Some(y)) if x == y => {
                        let members = |g: usize| (g - 1).is_multiple_of(3);
                        match (members(a), members(b)) {
                            (false, false) => Duration::ZERO,
                            _ => d.branches[x].lan.latency,
                        }
                    }
                    _ => to_dc[a] + to_dc[b],
                };
            }
        }
        let node_group = (0..self.slots.len() as u32).map(|n| self.group(n)).collect();
        let mut cfg = NetConfig::with_latency(LatencyModel::Matrix { table, node_group });
        cfg.mtu_bytes = None;
        cfg.queue_limit_bytes = 0;
        let rates = self
            .slots
            .iter()
            .map(|s| match (s.branch, s.role) {
                // The server's uplink and the WANs are shared links (`links.rs`); the LAN side
                // of a gateway is limited by the receiving machine's own link.
                (None, _) => Bandwidth {
                    up_bps: 0,
                    down_bps: d.server.down.bps(),
                },
                (Some(_), Role::Gateway { .. }) => Bandwidth::default(),
                (Some(b), _) => {
                    let lan = d.branches[b as usize].lan.bandwidth.bps();
                    Bandwidth {
                        up_bps: lan,
                        down_bps: lan,
                    }
                }
            })
            .collect();
        (cfg, rates)
    }

    /// The next node a message at `at` travels to on its way to `dest` (module docs).
    pub fn next_hop(&self, at: u32, dest: u32) -> u32 {
        let (a, d) = (&self.slots[at as usize], &self.slots[dest as usize]);
        if a.branch == d.branch {
            return dest;
        }
        match (a.branch, a.role) {
            // Leaving a branch: through its outbound gateway, unless already on it.
            (Some(b), r) if r != (Role::Gateway { inbound: false }) => self.branches[b as usize].gw_out,
            // On the data-centre side: into the destination branch through its inbound gateway.
            _ => match d.branch {
                Some(b) if at != self.branches[b as usize].gw_in => self.branches[b as usize].gw_in,
                _ => dest,
            },
        }
    }

    /// Whether a hop from `from` to `to` crosses a WAN link (for WAN byte accounting).
    pub fn crosses_wan(&self, from: u32, to: u32) -> bool {
        let is = |n: u32, inbound: bool| self.slots[n as usize].role == Role::Gateway { inbound };
        is(to, true) || is(from, false)
    }
}
