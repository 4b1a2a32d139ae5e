//! Setting PNRP's peers up (identities, names, seed servers), and the prefetch hints for its
//! engines and datagrams.

use super::{PnrpPeer, PnrpProtocol};
use crate::addr::endpoint_of;
use crate::delegations::add_delegated_name;
use crate::hint::prefetch;
use crate::plan::Plan;
use crate::world::{total_peers, PeerSpec};
use peerlab_engine::crypto::Identity;
use peerlab_engine::pnrp::{Message, PeerName, PnrpNode};
use peerlab_engine::{derive_seed, Duration, Instant};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;

impl PnrpProtocol {
    /// Every peer's identity and names, honest groups first, then attackers.
    pub(super) fn populate(&mut self, plan: &Plan) -> Vec<PeerSpec<PnrpPeer>> {
        let total = total_peers(plan) as usize;
        // Key generation is the costly part of set-up (RSA-1024): generate in parallel; each key
        // comes from its own derived seed, so the result does not depend on the thread count.
        let identities: Vec<Arc<Identity>> = (0..total as u64)
            .into_par_iter()
            .map(|i| Identity::generate(plan.scheme, derive_seed(plan.seed, "identity", i)))
            .collect();
        // Each cloud bootstraps through its own seed servers (MS-PNRP §1.3.3).
        let seed_counts = plan.seed_counts();
        self.seeds = vec![Vec::new(); plan.clouds.len().max(1)];
        let mut specs = Vec::with_capacity(total);
        let mut index = 0u32;
        // MS-PNRP §1.3.2: a group with delegated names has one authority key that never joins; its
        // delegations stay valid a week past the end of the run.
        let until = Instant::ZERO + plan.duration + Duration::from_secs(7 * 86_400);
        for (gi, g) in plan.groups.iter().enumerate() {
            let authority = (g.delegated_ppm > 0)
                .then(|| Identity::generate(plan.scheme, derive_seed(plan.seed, "authority", gi as u64)));
            for member in 0..g.joins.len() {
                let identity = identities[index as usize].clone();
                let seed_server = (member as u32) < seed_counts[gi];
                let resolve_only = (member as u64 * 1_000_000 / g.joins.len().max(1) as u64)
                    < g.resolve_only_ppm as u64
                    && !seed_server;
                if seed_server {
                    self.seeds[g.cloud as usize].push(endpoint_of(index, 1));
                }
                let mut names = Vec::new();
                let delegated = crate::delegations::is_delegated(member, g.delegated_ppm);
                if !resolve_only {
                    for k in 0..g.secured_names {
                        let classifier = format!("{}-{member}-s{k}", g.name);
                        if let (true, Some(auth)) = (delegated, &authority) {
                            let at = (index, g.cloud);
                            let idx =
                                add_delegated_name(&mut self.oracle, auth, &classifier, &identity, at, until);
                            names.push(idx);
                            continue;
                        }
                        let name = PeerName::secured(identity.authority(), &classifier)
                            .expect("generated classifiers are short and NUL-free");
                        names.push(self.oracle.add_name(name, index, g.cloud));
                    }
                    for k in 0..g.unsecured_names {
                        let classifier = format!("{}-{member}-u{k}", g.name);
                        let name = PeerName::unsecured(&classifier).expect("generated classifiers are valid");
                        names.push(self.oracle.add_name(name, index, g.cloud));
                    }
                }
                for n in &names {
                    self.oracle.set_payload(*n, g.payload_bytes);
                }
                specs.push(PeerSpec {
                    group: Some(gi),
                    // Seed servers join first and stay up (MS-PNRP §3.1.4.2: bootstrap needs them).
                    fixed: seed_server,
                    data: PnrpPeer {
                        attacker: None,
                        identity: Some(identity),
                        names,
                        resolve_only,
                        ops: BTreeMap::new(),
                    },
                });
                index += 1;
            }
        }
        for a in &plan.attackers {
            for _ in 0..a.joins.len() {
                let identity = identities[index as usize].clone();
                specs.push(PeerSpec {
                    group: None,
                    fixed: false,
                    data: PnrpPeer {
                        attacker: Some(a.behaviour),
                        identity: Some(identity),
                        names: Vec::new(),
                        resolve_only: false,
                        ops: BTreeMap::new(),
                    },
                });
                index += 1;
            }
        }
        specs
    }
}

/// The address of `v`.
fn addr<T>(v: &T) -> *const u8 {
    (v as *const T).cast()
}

/// Warms the heap payload of a datagram (`Ack` is inline and has none).
#[inline]
pub(super) fn prefetch_payload(msg: &Message) {
    let p = match msg {
        Message::Solicit(m) => addr(&**m),
        Message::Advertise(m) => addr(&**m),
        Message::Request(m) => addr(&**m),
        Message::Flood(m) => addr(&**m),
        Message::Inquire(m) => addr(&**m),
        Message::Authority(m) => addr(&**m),
        Message::Lookup(m) => addr(&**m),
        Message::Ack(_) => return,
    };
    prefetch(p);
}

/// Warms the hot heap regions of an engine (route-cache ring, Pending List index, registration;
/// `PnrpNode::hot_regions`).
#[inline]
pub(super) fn prefetch_hot_regions(node: &PnrpNode) {
    for (start, len) in node.hot_regions() {
        let mut off = 0;
        while off < len {
            prefetch(start.wrapping_add(off));
            off += 64;
        }
        // The last line, when the region does not start on a line boundary.
        prefetch(start.wrapping_add(len - 1));
    }
}
