//! Discovery (MS-PNRP §3.1.4.2) and the synchronization conversation (MS-PNRP §3.1.4.3), both sides.
//!
//! Steps as this module numbers them. Joining side: 1 nonce and conversation entry, 2 SOLICIT,
//! 3 on ADVERTISE send REQUEST, 4 ACK and FLOODs. Existing side (MS-PNRP §3.2.5.3, §3.2.5.4):
//! 1 conversation entry (or an empty ADVERTISE when full), 2 pick 5 IDs, 3 ADVERTISE, 4 admit the
//! SOLICIT's route entry, 5 on REQUEST: ACK, then one FLOOD per requested ID.

use super::id::{Distance, PnrpId};
use super::message::{Ack, Advertise, Flood, Message, Request, Solicit};
use super::node::{Origin, PnrpNode};
use super::pending::Purpose;
use crate::{Endpoint, Instant};
use rand::Rng;
use sha1::{Digest, Sha1};

/// MS-PNRP §3.1.4.2 CloudDiscoveryMode. SSDP has no simulated counterpart (peerlab choice: disabled), so the
/// machine alternates LocalOOB and SeedServer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum DiscoveryMode {
    #[default]
    LocalOob,
    SeedServer,
}

/// MS-PNRP §3.1.1 CurrentSeedServerAddressIndex and CloudDiscoveryMode.
#[derive(Clone, Debug, Default)]
pub(super) struct Discovery {
    pub(super) mode: DiscoveryMode,
    pub(super) seed_index: usize,
    pub(super) split_seed_index: usize,
}

/// A publisher-side conversation (MS-PNRP §3.1.1): who solicited, and the ID it announced (if any).
#[derive(Clone, Debug)]
pub(super) struct Conversation {
    pub(super) deadline: Instant,
    pub(super) solicitor_id: Option<PnrpId>,
}

/// SHA-1 of a conversation nonce (MS-PNRP §2.2.2.1 HASHED_NONCE).
pub(super) fn hash_nonce(nonce: &[u8; 16]) -> [u8; 20] {
    Sha1::digest(nonce).into()
}

/// `⌊(2^256 − 1) / n⌋`: the spacing of `n` evenly spread ring points.
pub(super) fn ring_fraction(n: u64) -> Distance {
    let n = n.max(1) as u128;
    let (q_hi, r_hi) = (u128::MAX / n, u128::MAX % n);
    // Long division of the low half in two 64-bit steps keeps every intermediate below 2^128.
    let mid = (r_hi << 64) | (u128::MAX >> 64);
    let (q_mid, r_mid) = (mid / n, mid % n);
    let low = (r_mid << 64) | (u64::MAX as u128);
    let q_low = low / n;
    Distance {
        hi: q_hi,
        lo: (q_mid << 64) | q_low,
    }
}

impl PnrpNode {
    /// Seeds other than ourselves.
    pub(super) fn other_seeds(&self) -> Vec<Endpoint> {
        self.seeds.iter().copied().filter(|s| *s != self.local).collect()
    }

    /// MS-PNRP §3.1.4.2: run one discovery step (LocalOOB: sync with each bootstrap peer; SeedServer: the
    /// next seed).
    pub(super) fn discover(&mut self, now: Instant) {
        let seeds = self.other_seeds();
        self.stats.discoveries += 1;
        if self.discovery.mode == DiscoveryMode::LocalOob {
            // (peerlab choice) the LocalOOB list is the configured bootstrap peers (Windows: 10 MRU nodes).
            self.discovery.mode = DiscoveryMode::SeedServer;
            if !seeds.is_empty() {
                // (peerlab choice) start at a random seed (see `local_oob_max`) so joins spread over all
                // seeds; the SeedServer step then continues from the next one.
                let start = self.rng.gen_range(0..seeds.len());
                self.discovery.seed_index = start + 1;
                for k in 0..self.cfg.local_oob_max.min(seeds.len()) {
                    self.start_sync(now, seeds[(start + k) % seeds.len()]);
                }
                return;
            }
        }
        if seeds.is_empty() {
            self.discovery.mode = DiscoveryMode::LocalOob;
            return;
        }
        // (the specification is ambiguous; our reading) the spec's "greater than" is an off-by-one: wrap when
        // index ≥ length.
        if self.discovery.seed_index >= seeds.len() {
            self.discovery.seed_index = 0;
        }
        let s = seeds[self.discovery.seed_index];
        self.discovery.seed_index += 1;
        self.start_sync(now, s);
        self.discovery.mode = DiscoveryMode::LocalOob;
    }

    /// MS-PNRP §3.1.4.3 joining side steps 1–2.
    pub(super) fn start_sync(&mut self, now: Instant, to: Endpoint) {
        let nonce: [u8; 16] = self.rng.gen();
        let solicit = Solicit {
            message_id: self.msg_id(),
            solicit_type: None,
            route_entry: self.regs.values().next().map(|r| r.route.clone()),
            hashed_nonce: hash_nonce(&nonce),
        };
        if self
            .send_request(now, to, Message::from(solicit), Purpose::Solicit { nonce })
            .is_some()
        {
            self.stats.syncs_started += 1;
        }
    }

    /// MS-PNRP §3.2.5.3: existing side steps 1–4.
    pub(super) fn on_solicit(&mut self, now: Instant, from: Endpoint, s: Solicit) {
        if !self.cfg.resolvers_answer && self.regs.is_empty() {
            self.stats.drop("not_publisher");
            return;
        }
        let key = (from, s.hashed_nonce);
        let deadline = now + self.cfg.conversation_timeout;
        let solicitor_id = s.route_entry.as_ref().map(|r| r.id);
        if let Some(c) = self.conversations.get_mut(&key) {
            // A repeated SOLICIT restarts the Conversation timer.
            self.conversation_timers.remove(&(c.deadline, key.0, key.1));
            c.deadline = deadline;
            self.conversation_timers.insert((deadline, key.0, key.1));
        } else if self.conversations.len() >= self.cfg.conversation_table_max {
            // MS-PNRP §3.1.5.2 flood protection: no state, an empty ADVERTISE.
            let adv = Advertise {
                message_id: self.msg_id(),
                acked_id: s.message_id,
                ids: Vec::new(),
                hashed_nonce: s.hashed_nonce,
            };
            return self.send(from, Message::from(adv));
        } else {
            self.conversations.insert(
                key,
                Conversation {
                    deadline,
                    solicitor_id,
                },
            );
            self.conversation_timers.insert((deadline, key.0, key.1));
        }
        let ids = if s.solicit_type == Some(super::message::SolicitType::Local) {
            self.regs.keys().take(self.cfg.advertise_ids).copied().collect()
        } else {
            self.spread_ids(self.cfg.advertise_ids)
        };
        let adv = Advertise {
            message_id: self.msg_id(),
            acked_id: s.message_id,
            ids,
            hashed_nonce: s.hashed_nonce,
        };
        self.send(from, Message::from(adv));
        if let Some(entry) = s.route_entry {
            self.submit_route_entry(
                now,
                entry,
                Origin {
                    already_flooded: Vec::new(),
                    knows_us: false,
                },
            );
        }
    }

    /// MS-PNRP §3.2.5.3: `n` IDs spread roughly evenly round the ring (the closest entry to each of `n`
    /// evenly spaced points with a random offset), plus our own IDs when the cache is small.
    fn spread_ids(&mut self, n: usize) -> Vec<PnrpId> {
        let step = ring_fraction(n as u64);
        let mut point = PnrpId::new(self.rng.gen(), self.rng.gen());
        let mut ids: Vec<PnrpId> = Vec::with_capacity(n);
        for _ in 0..n {
            if let Some(r) = self.cache.closest(point) {
                if !ids.contains(&r.id) {
                    ids.push(r.id);
                }
            }
            point = point.wrapping_add(step);
        }
        if self.cache.len() < n {
            ids.extend(self.regs.keys().copied().take(n - ids.len().min(n)));
        }
        ids
    }

    /// MS-PNRP §3.1.4.3 joining side step 3.
    pub(super) fn on_advertise(&mut self, now: Instant, from: Endpoint, a: Advertise) {
        let Some(e) = self.match_answer(a.acked_id, from, |p| matches!(p, Purpose::Solicit { .. })) else {
            return;
        };
        let Purpose::Solicit { nonce } = e.purpose else {
            return;
        };
        if hash_nonce(&nonce) != a.hashed_nonce {
            self.stats.drop("bad_hashed_nonce");
            return;
        }
        self.pending.remove(a.acked_id);
        if a.ids.is_empty() {
            self.stats.drop("advertise_busy");
            return;
        }
        let ids: Vec<PnrpId> = a
            .ids
            .iter()
            .copied()
            .filter(|id| *id != PnrpId::ZERO && !self.is_local_id(id) && !self.cache.contains(id))
            .take(self.cfg.request_ids_max)
            .collect();
        if ids.is_empty() {
            return;
        }
        let req = Request {
            message_id: self.msg_id(),
            nonce,
            ids,
        };
        self.send_request(now, from, Message::from(req), Purpose::Request);
    }

    /// MS-PNRP §3.2.5.4: existing side step 5: ACK, then one FLOOD (D set) per requested ID; the conversation
    /// ends.
    pub(super) fn on_request(&mut self, now: Instant, from: Endpoint, r: Request) {
        let hashed = hash_nonce(&r.nonce);
        let key = (from, hashed);
        let Some(conv) = self.conversations.remove(&key) else {
            self.stats.drop("no_conversation");
            return;
        };
        self.conversation_timers.remove(&(conv.deadline, from, hashed));
        let ack = Ack {
            message_id: self.msg_id(),
            acked_id: r.message_id,
            not_registered: None,
        };
        self.send(from, Message::Ack(ack));
        let dont_ack = self.cfg.sync_flood_dont_ack;
        for id in r.ids.iter().take(self.cfg.request_ids_max) {
            let route = match self.regs.get(id) {
                Some(reg) => Some(reg.route.clone()),
                None => self.cache.get(id).map(|e| e.route.clone()),
            };
            let Some(route) = route else { continue };
            let flood = Flood {
                message_id: self.msg_id(),
                dont_ack,
                validate_id: conv.solicitor_id.unwrap_or(PnrpId::ZERO),
                revoke_cpa: None,
                route_entry: Some(route),
                already_flooded: Vec::new(),
            };
            if dont_ack {
                self.send(from, Message::from(flood));
            } else {
                let validate = flood.validate_id;
                self.send_request(now, from, Message::from(flood), Purpose::Flood { validate });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_fraction_splits_the_ring_evenly() {
        let half = ring_fraction(2);
        assert_eq!(
            half,
            Distance {
                hi: u128::MAX >> 1,
                lo: u128::MAX
            }
        );
        let fifth = ring_fraction(5);
        // 5 steps of a fifth come back to just below the start.
        let mut p = PnrpId::ZERO;
        for _ in 0..5 {
            p = p.wrapping_add(fifth);
        }
        assert!(PnrpId::ZERO.distance(p).bits() <= 3);
        assert_eq!(
            ring_fraction(1),
            Distance {
                hi: u128::MAX,
                lo: u128::MAX
            }
        );
    }

    #[test]
    fn nonce_hash_is_sha1() {
        assert_eq!(hash_nonce(&[0; 16])[..4], [0xe1, 0x29, 0xf2, 0x7c]);
    }
}
