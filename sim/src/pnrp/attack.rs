//! Attackers: nodes that run a real engine but tamper with what they answer. Faults live
//! in the harness (docs/architecture.md §7 habit 6), so the engine stays honest code; the defences under test
//! are the honest engines' validation rules (MS-PNRP §3.1.5.11, §3.1.5.7).

use super::{role, Behaviour, PCore, PnrpEv, PnrpProtocol, Role};
use crate::world::Ev;
use peerlab_engine::pnrp::{
    self, wire, Authority, AuthorityBuffer, AuthorityFlags, Cpa, Flood, Message, PeerName, PnrpId, RouteEntry,
};
use peerlab_engine::{Duration, Endpoint};
use rand::Rng;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Most CPAs a replaying attacker keeps.
const REPLAY_STORE_MAX: usize = 256;
/// Honest peers (besides the seeds) a forger announces each claim to.
const ANNOUNCE_TO: usize = 8;
/// Victim names a forging attacker claims.
const FORGED_NAMES_PER_ATTACKER: usize = 4;

/// What attackers have done and collected.
#[derive(Debug, Default)]
pub struct AttackState {
    /// Poisoned referrals sent (invented or self-pointing route entries).
    pub poisoned_referrals: u64,
    /// Forged or replayed CPAs handed out.
    pub bad_cpas_sent: u64,
    /// Datagrams swallowed by dropping attackers.
    pub swallowed: u64,
    /// Revoke FLOODs replayed.
    pub revokes_replayed: u64,
    /// Broken Certificate Chains handed out (`broken-chain`).
    pub bad_chains_sent: u64,
    /// IDs each attacker pretends to hold, with the CPA it answers for them.
    claimed: BTreeMap<(u32, PnrpId), Option<Arc<Cpa>>>,
    /// The broken chain and classifier a `broken-chain` attacker answers with for a claimed ID.
    chains: BTreeMap<(u32, PnrpId), (Vec<u8>, String)>,
    /// CPAs and revokes seen by replaying attackers.
    seen_cpas: BTreeMap<u32, Vec<Arc<Cpa>>>,
    seen_revokes: BTreeMap<u32, Vec<Arc<Cpa>>>,
    next_message_id: u32,
}

impl PnrpProtocol {
    /// An attacker came online: forgers claim victims' secured names with their own key.
    pub(super) fn attacker_joined(&mut self, core: &mut PCore, peer: u32) {
        // An attacker registers a name of its own, honestly signed, so that it enters caches and
        // leaf sets and gets asked: a node nobody knows cannot poison, drop or replay anything.
        if let Some(identity) = core.peer(peer).data.identity.clone() {
            if let Ok(name) = PeerName::secured(identity.authority(), &format!("attacker-{peer}")) {
                core.command(
                    self,
                    peer,
                    pnrp::Command::Register {
                        name,
                        identity,
                        app_endpoints: Vec::new(),
                        friendly_name: None,
                        service_location_prefix: None,
                        payload: None,
                    },
                );
            }
        }
        let start = attack_start_time(core, peer).max(core.now());
        core.schedule(start, Ev::Ext(PnrpEv::AttackStart { peer }));
    }

    /// An attacker starts misbehaving: forgers claim victims' secured names with their own key
    /// and announce the claims to a few honest peers.
    pub(super) fn attack_start(&mut self, core: &mut PCore, peer: u32) {
        let Role::Attacker(b) = role(core.peer(peer)) else {
            return;
        };
        if !core.peer(peer).online() {
            return;
        }
        if !matches!(b, Behaviour::ForgeCpa | Behaviour::BrokenChain) {
            return;
        }
        // Attackers are in cloud 0: their victims are that cloud's names.
        let n = self.oracle.name_count(0);
        for claim in 0..FORGED_NAMES_PER_ATTACKER.min(n) {
            let Some(victim) = self.oracle.nth_name(0, self.rng_attack.gen_range(0..n)) else {
                continue;
            };
            let name = self.oracle.name(victim).name.clone();
            if !name.is_secured() {
                continue;
            }
            let ep = core.peer(peer).endpoint(peer);
            let id = forged_id(&name, &ep, self.rng_attack.gen());
            let cpa = forge_cpa(core, peer, &name, id);
            self.attack.claimed.insert((peer, id), Some(cpa));
            if b == Behaviour::BrokenChain {
                let chain = self.broken_chain(core, peer, victim, claim);
                self.attack
                    .chains
                    .insert((peer, id), (chain, name.classifier.clone()));
            }
            // Announce the claim the way a registration does: LOOKUPs that carry our entry as best
            // match make every hop INQUIRE us and cache us (MS-PNRP §3.2.4.1).
            let entry = RouteEntry::single(id, ep);
            let mut targets: Vec<Endpoint> = self.seeds[0].clone();
            for _ in 0..ANNOUNCE_TO {
                let n = core.peers().len();
                let k = self.rng_attack.gen_range(0..n) as u32;
                let p = core.peer(k);
                if p.online() && p.data.attacker.is_none() {
                    targets.push(p.endpoint(k));
                }
            }
            for to in targets {
                let msg = Message::from(pnrp::Lookup {
                    message_id: self.attack_message_id(),
                    accept_any: true,
                    precision: 0,
                    criteria: pnrp::ResolveCriteria::Exact,
                    reason: pnrp::ReasonCode::Registration,
                    target: id.wrapping_add_u64(1),
                    validate_id: PnrpId::ZERO,
                    best_match: Some(entry.clone()),
                    flagged_path: vec![ep],
                });
                core.transmit(peer, to, msg);
            }
        }
    }

    /// True once attacker `peer`'s group has started misbehaving.
    pub(super) fn attacking(&self, core: &PCore, peer: u32) -> bool {
        core.now() >= attack_start_time(core, peer)
    }

    /// Lets attacker `peer` act on a datagram; true when it swallowed or answered it itself.
    pub(super) fn intercept_as(
        &mut self,
        core: &mut PCore,
        peer: u32,
        b: Behaviour,
        from: Endpoint,
        msg: &Message,
    ) -> bool {
        match (b, msg) {
            (
                Behaviour::Drop,
                Message::Lookup(_) | Message::Flood(_) | Message::Request(_) | Message::Solicit(_),
            ) => {
                self.attack.swallowed += 1;
                true
            }
            (Behaviour::Poison, Message::Lookup(l)) => {
                self.poison_lookup(core, peer, from, l);
                true
            }
            (_, Message::Inquire(q)) if self.attack.claimed.contains_key(&(peer, q.validate_id)) => {
                let cpa = if q.flags.cpa {
                    self.attack.claimed[&(peer, q.validate_id)].clone()
                } else {
                    None
                };
                if cpa.is_some() {
                    self.attack.bad_cpas_sent += 1;
                }
                let (cert_chain, classifier) = match self.attack.chains.get(&(peer, q.validate_id)) {
                    Some((chain, c)) if q.flags.cert_chain => {
                        self.attack.bad_chains_sent += 1;
                        (Some(chain.clone()), Some(c.clone()))
                    }
                    _ => (None, None),
                };
                let ep = core.peer(peer).endpoint(peer);
                let buf = AuthorityBuffer {
                    flags: AuthorityFlags::default(),
                    cert_chain,
                    classifier,
                    extended_payload: None,
                    route_entry: Some(RouteEntry::single(q.validate_id, ep)),
                    cpa,
                };
                self.send_authority(core, peer, from, q.message_id, &buf);
                true
            }
            (Behaviour::Replay, Message::Authority(a)) => {
                self.collect_for_replay(peer, a);
                false
            }
            (Behaviour::Replay, Message::Flood(f)) => {
                if let Some(revoke) = &f.revoke_cpa {
                    let store = self.attack.seen_revokes.entry(peer).or_default();
                    if store.len() < REPLAY_STORE_MAX {
                        store.push(revoke.clone());
                    }
                }
                false
            }
            (Behaviour::Replay, Message::Lookup(l)) => {
                self.replay_answer(core, peer, from, l);
                true
            }
            _ => false,
        }
    }

    fn poison_lookup(&mut self, core: &mut PCore, peer: u32, from: Endpoint, l: &pnrp::Lookup) {
        let ep = core.peer(peer).endpoint(peer);
        // Half the time an entry right next to the target pointing at ourselves (so we can answer
        // its INQUIRE), half the time one pointing at an address where nobody lives.
        let near = l.target.wrapping_add_u64(self.rng_attack.gen_range(1..1_000));
        let entry = if self.rng_attack.gen_bool(0.5) {
            let name = PeerName {
                authority: [0x66; 20],
                classifier: format!("poison-{peer}"),
            };
            let cpa = forge_cpa(core, peer, &name, near);
            self.attack.claimed.insert((peer, near), Some(cpa));
            RouteEntry::single(near, ep)
        } else {
            let nowhere = Endpoint::new(
                std::net::Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0xffff, 0, 0, 0, 1),
                ep.port,
            );
            RouteEntry::single(near, nowhere)
        };
        self.attack.poisoned_referrals += 1;
        let buf = AuthorityBuffer {
            flags: AuthorityFlags::default(),
            cert_chain: None,
            classifier: None,
            extended_payload: None,
            route_entry: Some(entry),
            cpa: None,
        };
        self.send_authority(core, peer, from, l.message_id, &buf);
    }

    fn collect_for_replay(&mut self, peer: u32, a: &Authority) {
        if a.offset != 0 || a.size as usize != a.fragment.len() {
            return;
        }
        let Ok(buf) = wire::decode_authority_buffer(&a.fragment) else {
            return;
        };
        if let Some(cpa) = buf.cpa {
            let store = self.attack.seen_cpas.entry(peer).or_default();
            if store.len() < REPLAY_STORE_MAX {
                store.push(cpa);
            }
        }
    }

    /// Answers a LOOKUP by pointing at ourselves for an ID whose (stale) CPA we hold, and now and
    /// then replays a revoke FLOOD at the asker.
    fn replay_answer(&mut self, core: &mut PCore, peer: u32, from: Endpoint, l: &pnrp::Lookup) {
        let ep = core.peer(peer).endpoint(peer);
        let stored = self.attack.seen_cpas.get(&peer).cloned().unwrap_or_default();
        let best = stored
            .iter()
            .min_by_key(|c| (l.target.distance(c.pnrp_id()), c.pnrp_id()))
            .cloned();
        let entry = best.map(|cpa| {
            let id = cpa.pnrp_id();
            self.attack.claimed.insert((peer, id), Some(cpa));
            self.attack.bad_cpas_sent += 1;
            RouteEntry::single(id, ep)
        });
        let buf = AuthorityBuffer {
            flags: AuthorityFlags::default(),
            cert_chain: None,
            classifier: None,
            extended_payload: None,
            route_entry: entry,
            cpa: None,
        };
        self.send_authority(core, peer, from, l.message_id, &buf);
        let revokes = self.attack.seen_revokes.get(&peer).cloned().unwrap_or_default();
        if !revokes.is_empty() && self.rng_attack.gen_ratio(1, 4) {
            let revoke = revokes[self.rng_attack.gen_range(0..revokes.len())].clone();
            self.attack.revokes_replayed += 1;
            let msg = Message::from(Flood {
                message_id: self.attack_message_id(),
                dont_ack: true,
                validate_id: PnrpId::ZERO,
                revoke_cpa: Some(revoke),
                route_entry: None,
                already_flooded: Vec::new(),
            });
            core.transmit(peer, from, msg);
        }
    }

    fn send_authority(
        &mut self,
        core: &mut PCore,
        peer: u32,
        to: Endpoint,
        acked_id: u32,
        buf: &AuthorityBuffer,
    ) {
        let bytes = wire::encode_authority_buffer(buf);
        let message_id = self.attack_message_id();
        for frag in wire::fragment_authority(message_id, acked_id, &bytes) {
            core.transmit(peer, to, Message::from(frag));
        }
    }

    fn attack_message_id(&mut self) -> u32 {
        self.attack.next_message_id = self.attack.next_message_id.wrapping_add(1);
        self.attack.next_message_id ^ 0xa77a_c000
    }

    /// Attack figures for `summary.json`.
    pub(super) fn attack_metrics(&self, core: &PCore, m: &mut std::collections::BTreeMap<String, f64>) {
        if !core.peers().iter().any(|p| p.data.attacker.is_some()) {
            return;
        }
        m.insert(
            "attack.poisoned_referrals".into(),
            self.attack.poisoned_referrals as f64,
        );
        m.insert("attack.bad_cpas_sent".into(), self.attack.bad_cpas_sent as f64);
        m.insert("attack.swallowed".into(), self.attack.swallowed as f64);
        m.insert(
            "attack.revokes_replayed".into(),
            self.attack.revokes_replayed as f64,
        );
        m.insert(
            "attack.bad_chains_sent".into(),
            self.attack.bad_chains_sent as f64,
        );
        m.insert(
            "attack.forged_accepted".into(),
            self.metrics.forged_accepted as f64,
        );
    }
}

/// An ID with the victim's P2P ID and the attacker's own service location.
fn forged_id(name: &PeerName, ep: &Endpoint, suffix: u64) -> PnrpId {
    let prefix = u64::from_be_bytes(ep.addr.octets()[..8].try_into().expect("8 bytes"));
    PnrpId::new(name.p2p_id(), ((prefix as u128) << 64) | suffix as u128)
}

/// A CPA claiming `name` at `id`, signed with the attacker's own key (so it cannot verify for a
/// secured name that is not the attacker's).
fn forge_cpa(core: &PCore, peer: u32, name: &PeerName, id: PnrpId) -> Arc<Cpa> {
    let identity = core
        .peer(peer)
        .data
        .identity
        .clone()
        .expect("attackers have identities");
    let ep = core.peer(peer).endpoint(peer);
    let unsigned = Cpa {
        revoke: false,
        not_after: core.now() + Duration::from_secs(12 * 3600),
        service_location: id.service_location(),
        nonce: [0; 16],
        authority: name.is_secured().then_some(name.authority),
        classifier_hash: Some(name.classifier_hash()),
        friendly_name: None,
        has_extended_payload: false,
        service_addresses: vec![ep],
        app_endpoints: Vec::new(),
        public_key: identity.public_key().clone(),
        signature: Vec::new(),
    };
    Arc::new(unsigned.sign(&identity))
}

/// When attacker `peer`'s group starts misbehaving.
fn attack_start_time(core: &PCore, peer: u32) -> peerlab_engine::Instant {
    let plan = &core.plan;
    let mut first = core.peers().len() - plan.attackers.iter().map(|a| a.joins.len()).sum::<usize>();
    for a in &plan.attackers {
        let end = first + a.joins.len();
        if (peer as usize) < end {
            return a.start;
        }
        first = end;
    }
    peerlab_engine::Instant::MAX
}
