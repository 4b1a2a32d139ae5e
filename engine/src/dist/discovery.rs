//! Discovery of the branch peer: the PCCRD requester (probes, matches, request timer) and
//! responder (backoff, reply suppression) of MS-PCCRD §3.1–§3.2.

use super::config::Mode;
use super::content::InfoVersion;
use super::hash::SegmentId;
use super::message::DistMessage;
use super::pccrd::{age_on_wire, MatchEntry, Probe, ProbeMatch, ProbeVersion, MULTICAST};
use super::peer::{BranchPeer, Timer};
use super::session::SessKey;
use crate::{Duration, Endpoint, Instant};
use rand::Rng;
use std::net::Ipv6Addr;
use std::sync::Arc;

/// True when `a` and `b` share the first `bits` bits (the local-subnet check of MS-PCCRD §3.1.4.1).
fn same_subnet(a: &Ipv6Addr, b: &Ipv6Addr, bits: u8) -> bool {
    let (x, y) = (u128::from(*a), u128::from(*b));
    let bits = bits.min(128) as u32;
    bits == 0 || (x ^ y) >> (128 - bits) == 0
}

impl BranchPeer {
    /// Sends queued probes: one per segment for V1 (what Windows does), batched for V2 (MS-PCCRD §2.2.2.1).
    pub(crate) fn flush_probes(&mut self, now: Instant) {
        if self.probe_queue.is_empty() {
            return;
        }
        let queue = std::mem::take(&mut self.probe_queue);
        let batch = self.cfg.v2_probe_batch.clamp(1, super::pccrd::V2_PROBE_MAX);
        let v1: Vec<Vec<SegmentId>> = queue
            .iter()
            .filter(|q| q.1 == InfoVersion::V1)
            .map(|q| vec![q.0])
            .collect();
        let v2: Vec<SegmentId> = queue
            .iter()
            .filter(|q| q.1 == InfoVersion::V2)
            .map(|q| q.0)
            .collect();
        let groups = v1
            .into_iter()
            .map(|g| (ProbeVersion::V1, g))
            .chain(v2.chunks(batch).map(|c| (ProbeVersion::V2, c.to_vec())));
        let expiry = now + self.cfg.probe_wait();
        self.my_probes.retain(|_, (t, _)| *t > now);
        for (version, segments) in groups {
            let message_id: u128 = self.rng.gen();
            self.message_number += 1;
            self.my_probes.insert(message_id, (expiry, segments.clone()));
            self.stats.probes_sent += 1;
            self.send(
                MULTICAST,
                DistMessage::Probe(Arc::new(Probe {
                    message_id,
                    version,
                    segments,
                })),
            );
        }
    }

    /// Multicasts a probe for the session's segment (MS-CCRSO §6.5) unless the rate cap Fmax is
    /// reached (MS-CCRSO §5.1), which returns false; the session is discovering until the request timer.
    pub(crate) fn probe_segment(&mut self, now: Instant, key: SessKey) -> bool {
        let Some(s) = self.sessions.get(&key) else {
            return false;
        };
        let id = s.meta.id;
        let version = if s.meta.desc.block_hashes.is_empty() {
            InfoVersion::V2
        } else {
            InfoVersion::V1
        };
        while self
            .probe_times
            .front()
            .is_some_and(|t| now.saturating_since(*t) >= Duration::from_secs(1))
        {
            self.probe_times.pop_front();
        }
        if self.probe_times.len() >= self.cfg.probe_rate_max as usize {
            self.stats.rate_limited += 1;
            return false;
        }
        self.probe_times.push_back(now);
        let until = now + self.cfg.probe_wait();
        self.lists.start_probe(id, now, until);
        self.probe_queue.push((id, version));
        self.arm(until, Timer::ProbeEnd { segment: id });
        if let Some(s) = self.sessions.get_mut(&key) {
            s.discovering = true;
            s.last_probe = now;
        }
        true
    }

    /// Responder rules with backoff and reply suppression (MS-PCCRD §3.2.2, §3.2.4.1).
    pub(crate) fn on_probe(&mut self, now: Instant, from: Endpoint, probe: &Probe) {
        if from == self.me || self.cfg.mode != Mode::Distributed || probe.segments.is_empty() {
            return;
        }
        if self.wait_for_peers() && same_subnet(&from.addr, &self.me.addr, self.cfg.subnet_prefix_len) {
            self.on_concurrent_probe(now, from, &probe.segments);
        }
        let mut entries = Vec::new();
        let mut answer = false;
        let mut offered = false;
        let announce_fetching = self.wait_for_peers();
        for seg in &probe.segments {
            let held = self.cache.held(seg, now);
            if announce_fetching && self.first_in_line(seg) {
                // [CHOICE] (peerlab's `cold_start` extension): "fetching from the origin", so that the crowd
                // waits for this copy instead of pulling its own. V1 says BlockCount 0 whatever
                // is held (Windows and iPXE ignore such entries; ours list the blocks next), V2
                // "some" without "all" (MS-PCCRD §2.2.3.3; a V2 segment is one unit, so never partly held).
                answer = true;
                offered = true;
                entries.push(MatchEntry {
                    segment: *seg,
                    block_count: (probe.version == ProbeVersion::V2) as u32,
                    complete: false,
                    age: None,
                });
            } else if let Some((count, complete)) = held {
                offered = true;
                let n = self.cfg.suppression_replies;
                let (seen, full) = self.cache.peek_stats(seg);
                answer |= if seen < n {
                    true
                } else if full >= n {
                    false
                } else {
                    let (num, den) = self.cfg.suppression_ratio;
                    self.rng.gen_range(0..den.max(1)) < num
                };
                // V1 matches carry only block counts (MS-PCCRD §2.2.3.9); "complete" is a V2 bit.
                let complete = complete && probe.version == ProbeVersion::V2;
                // V2 SegmentAges: how long the segment has been in this cache (MS-PCCRD §2.2.3.9).
                let age = (probe.version == ProbeVersion::V2)
                    .then(|| {
                        self.cache
                            .peek(seg, now)
                            .map(|c| age_on_wire(now.saturating_since(c.inserted)))
                    })
                    .flatten();
                entries.push(MatchEntry {
                    segment: *seg,
                    block_count: count,
                    complete,
                    age,
                });
            } else if probe.version == ProbeVersion::V2 {
                entries.push(MatchEntry {
                    segment: *seg,
                    block_count: 0,
                    complete: false,
                    age: None,
                });
            }
        }
        if !offered {
            return;
        }
        if !answer {
            self.stats.replies_suppressed += 1;
            return;
        }
        self.message_number += 1;
        let m = ProbeMatch {
            message_id: self.rng.gen(),
            relates_to: probe.message_id,
            instance_id: self.instance_id,
            message_number: self.message_number,
            endpoint_uuid: self.endpoint_uuid,
            version: probe.version,
            xaddr: self.me,
            entries,
        };
        let lo = self.cfg.backoff_min.as_micros();
        let hi = self.cfg.app_max_delay.as_micros().max(lo);
        let delay = Duration::from_micros(self.rng.gen_range(lo..=hi));
        self.arm(
            now + delay,
            Timer::ProbeReply {
                to: from,
                msg: Arc::new(m),
            },
        );
    }

    /// Requester validation (MS-PCCRD §3.1.4.1): our probe, local subnet, a probed segment with blocks.
    pub(crate) fn on_probe_match(&mut self, now: Instant, m: &ProbeMatch) {
        let Some((_, probed)) = self.my_probes.get(&m.relates_to) else {
            return self.stats.dropped += 1;
        };
        if m.xaddr == self.me || !same_subnet(&m.xaddr.addr, &self.me.addr, self.cfg.subnet_prefix_len) {
            return self.stats.dropped += 1;
        }
        let probed = probed.clone();
        self.stats.matches_received += 1;
        let v2 = m.version == ProbeVersion::V2;
        for e in m.entries.iter().filter(|e| probed.contains(&e.segment)) {
            // [CHOICE] (`cold_start`): a peer still fetching the segment from the origin (see `on_probe`).
            let fetching = self.wait_for_peers()
                && if v2 {
                    e.block_count > 0 && !e.complete
                } else {
                    e.block_count == 0
                };
            if e.block_count == 0 && !fetching {
                continue;
            }
            self.lists.add(&e.segment, m.xaddr, now);
            let keys: Vec<SessKey> = self
                .sessions
                .iter()
                .filter(|(_, s)| s.meta.id == e.segment)
                .map(|(k, _)| *k)
                .collect();
            for key in keys {
                if let Some(s) = self.sessions.get_mut(&key) {
                    // A fetcher is no reply for reply suppression (MS-PCCRD [W]): it holds nothing yet.
                    s.replies += !fetching as u32;
                    s.full += (!fetching && (e.complete || e.block_count >= s.meta.desc.unit_count())) as u32;
                }
                self.add_server(now, key, m.xaddr);
                if fetching {
                    self.on_fetcher_seen(now, key);
                } else {
                    self.saw_holder(key);
                }
            }
        }
    }

    /// The probe request timer fired: sessions that found nobody go to the origin (MS-CCRSO §6.5).
    pub(crate) fn on_probe_end(&mut self, now: Instant, segment: SegmentId) {
        self.lists.end_probe(&segment, now);
        let keys: Vec<SessKey> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.meta.id == segment && s.discovering)
            .map(|(k, _)| *k)
            .collect();
        for key in keys {
            let Some(s) = self.sessions.get_mut(&key) else {
                continue;
            };
            s.discovering = false;
            if s.last_chance {
                self.give_up(now, key);
            } else if s.has_no_servers() {
                self.abort_session(now, key);
            } else if self.wait_for_peers() {
                // A re-probe of a waiting session: back to the schedule pass, which re-arms the
                // re-ask if the holders still have nothing new ([CHOICE], `cold_start`).
                self.schedule(now, key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnet_check() {
        let a = std::net::Ipv4Addr::new(10, 1, 2, 3).to_ipv6_mapped();
        let b = std::net::Ipv4Addr::new(10, 1, 2, 200).to_ipv6_mapped();
        let c = std::net::Ipv4Addr::new(10, 1, 3, 3).to_ipv6_mapped();
        assert!(same_subnet(&a, &b, 120));
        assert!(!same_subnet(&a, &c, 120));
        assert!(same_subnet(&a, &c, 0));
        assert!(same_subnet(&a, &a, 128));
    }
}
