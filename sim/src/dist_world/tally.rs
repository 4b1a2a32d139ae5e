//! What a distribution run measures: operation records, periodic samples (the completion curve
//! is the cumulative `ops_ok["fetch"]`), the `distribution.*` headline metrics and the checks.

use super::layout::Role;
use super::{DistWorld, Machine};
use crate::world::CheckVerdict;
use peerlab_engine::dist::{ColdStart, DistMessage};
use peerlab_engine::Instant;
use peerlab_reports::{OpRecord, Record, Sample};
use std::collections::BTreeMap;

/// Counters and figures gathered while the world runs.
#[derive(Default)]
pub(super) struct Tally {
    /// Bytes that crossed any WAN link (either direction), HTTP headers included.
    pub wan_bytes: u64,
    /// Per branch: WAN bytes (both directions) and content bytes delivered to its clients.
    pub per_branch: Vec<(u64, u64)>,
    /// Bytes that left the origin over its access link.
    pub server_wire_bytes: u64,
    /// Content bytes delivered to clients by completed fetches.
    pub delivered: u64,
    /// Of which from peers or hosted caches / from the origin / from the local cache.
    pub from_peers: u64,
    /// Content bytes the origin supplied to completed fetches.
    pub from_server: u64,
    /// Content bytes found in local caches.
    pub from_cache: u64,
    /// Blocks that failed verification.
    pub corrupt_blocks: u64,
    /// Time to first byte of each completed fetch (µs).
    pub ttfb_us: Vec<u64>,
    /// Completion time of each completed fetch (µs).
    pub completion_us: Vec<u64>,
    /// When the last fetch completed.
    pub last_done: Option<Instant>,
    /// Fetches by outcome (`ok`, `timeout`, `left`, ...).
    pub outcomes: BTreeMap<&'static str, u64>,
    /// Fetches that did not start because no client was online.
    pub fetches_offline: u64,
    /// Running fetches: (node, request id) → start.
    pub pending: BTreeMap<(u32, u64), Instant>,
    /// Messages dropped because the receiver left.
    pub lost_to_churn: u64,
    /// Transmits to an unknown endpoint.
    pub unroutable: u64,
    /// Online clients now / at most.
    pub live: usize,
    /// Most clients online at once.
    pub live_max: usize,
    /// Sessions that ended.
    pub leaves: u64,
    /// Upload counters of client stacks replaced on rejoin (bytes served, sessions, with peers).
    pub departed: (u64, u64, u64),
    /// Messages and bytes sent, by type (cumulative).
    pub messages: BTreeMap<String, u64>,
    /// Bytes sent, by type (cumulative).
    pub bytes: BTreeMap<String, u64>,
    /// Fetch outcomes since the previous sample.
    ok_since: u64,
    failed_since: u64,
}

fn kind(m: &DistMessage) -> &'static str {
    match m {
        DistMessage::Probe(_) => "probe",
        DistMessage::ProbeMatch(_) => "probe_match",
        DistMessage::Pccrr(_) => "pccrr",
        DistMessage::Pchc(_) => "pchc",
        DistMessage::Origin(_) => "origin",
    }
}

impl Tally {
    /// Counts one transmit (before multicast fan-out).
    pub fn count_message(&mut self, m: &DistMessage) {
        let k = kind(m);
        *self.messages.entry(k.to_owned()).or_default() += 1;
        *self.bytes.entry(k.to_owned()).or_default() += m.wire_len() as u64;
    }

    /// A client's fetch completed.
    pub fn fetched(&mut self, now: Instant, size: u64, peers: u64, server: u64, cache: u64) {
        self.delivered += size;
        self.from_peers += peers;
        self.from_server += server;
        self.from_cache += cache;
        self.last_done = Some(now);
    }
}

/// The `q`-quantile (nearest rank) of `v`, in seconds; 0 when empty.
fn quantile_s(v: &[u64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_unstable();
    let rank = ((q * s.len() as f64).ceil() as usize).clamp(1, s.len());
    s[rank - 1] as f64 / 1e6
}

impl DistWorld {
    /// Writes one fetch record and counts its outcome.
    pub(super) fn record_op(&mut self, now: Instant, node: u32, outcome: &'static str, latency_us: u64) {
        *self.tally.outcomes.entry(outcome).or_default() += 1;
        if outcome == "ok" {
            self.tally.ok_since += 1;
        } else {
            self.tally.failed_since += 1;
        }
        self.rec.push(Record::Op(OpRecord {
            target: None,
            t_us: now.as_micros(),
            kind: "fetch".into(),
            node,
            outcome: outcome.into(),
            target_online: true,
            latency_us,
            hops: None,
            messages: 0,
        }));
    }

    /// A periodic sample: live clients, cumulative traffic (`wan`, `server` included), fetches.
    pub(super) fn sample(&mut self, now: Instant) {
        let t = &mut self.tally;
        let mut bytes = t.bytes.clone();
        bytes.insert("wan".into(), t.wan_bytes);
        bytes.insert("server".into(), t.server_wire_bytes);
        let mut s = Sample {
            t_us: now.as_micros(),
            live_peers: t.live as u64,
            events: self.events,
            messages: t.messages.clone(),
            bytes,
            ..Sample::default()
        };
        s.ops_ok.insert("fetch".into(), std::mem::take(&mut t.ok_since));
        s.ops_failed
            .insert("fetch".into(), std::mem::take(&mut t.failed_since));
        self.rec.push(Record::Sample(s));
    }

    /// Upload and session counters over every client stack, past and present.
    fn peer_counters(&self) -> (u64, u64, u64, u64) {
        let (mut served, mut sessions, mut with_peers) = self.tally.departed;
        let mut hosted = 0;
        for (i, st) in self.nodes.iter().enumerate() {
            match (&st.machine, self.layout.slots[i].role) {
                (Machine::Peer(p), Role::Client) => {
                    served += p.serve_stats().bytes_served;
                    sessions += p.stats.sessions;
                    with_peers += p.stats.sessions_with_peers;
                }
                (Machine::Hosted(h), _) => hosted += h.serve_stats().bytes_served,
                _ => {}
            }
        }
        (served, sessions, with_peers, hosted)
    }

    /// Engine counters summed over the stacks alive at the end (discovery and failure handling).
    fn engine_counters(&self) -> Vec<(&'static str, u64)> {
        let mut c = [0u64; 10];
        for st in &self.nodes {
            if let Machine::Peer(p) = &st.machine {
                let (s, v) = (p.stats, p.serve_stats());
                for (slot, x) in c.iter_mut().zip([
                    s.probes_sent,
                    s.negative_hits,
                    s.request_timeouts,
                    s.peers_excluded,
                    s.origin_ranges,
                    s.rate_limited,
                    v.busy_replies,
                    v.missing_replies,
                    s.peer_rechecks,
                    s.peer_wait_give_ups,
                ]) {
                    *slot += x;
                }
            }
        }
        let names = [
            "probes_sent",
            "negative_discovery_hits",
            "request_timeouts",
            "peers_excluded",
            "origin_range_requests",
            "probes_rate_limited",
            "busy_replies",
            "missing_replies",
            "peer_rechecks",
            "peer_wait_give_ups",
        ];
        names.into_iter().zip(c).collect()
    }

    /// The `distribution.*` headline figures for `summary.json`.
    pub(super) fn metrics(&self) -> BTreeMap<String, f64> {
        let t = &self.tally;
        let (served, sessions, with_peers, hosted) = self.peer_counters();
        let clients = self
            .layout
            .slots
            .iter()
            .filter(|s| s.role == Role::Client)
            .count();
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let offload = if t.delivered == 0 {
            0.0
        } else {
            1.0 - t.wan_bytes as f64 / t.delivered as f64
        };
        let mut m = BTreeMap::new();
        let mut put = |k: &str, v: f64| {
            m.insert(format!("distribution.{k}"), v);
        };
        // Which behaviour ran: 1 when the peerlab extension replaced the specification's client.
        let waited = self.dist.config.cold_start == ColdStart::WaitForPeers;
        put("extension.cold_start_wait_for_peers", f64::from(u8::from(waited)));
        put("wan_offload_ratio", offload);
        put("wan_bytes", t.wan_bytes as f64);
        put("server_bytes", t.server_wire_bytes as f64);
        put("bytes_delivered", t.delivered as f64);
        put("peer_bytes", t.from_peers as f64);
        put("origin_content_bytes", t.from_server as f64);
        put("local_cache_bytes", t.from_cache as f64);
        put("hosted_cache_served_bytes", hosted as f64);
        put("peer_byte_share", ratio(t.from_peers, t.delivered));
        // The engine counts a session again when it finds a responder after dropping all earlier
        // ones (a corrupt peer excluded), so the share is capped at 1.
        put("peer_hit_ratio", ratio(with_peers, sessions).min(1.0));
        put("upload_per_peer_mean_bytes", ratio(served, clients as u64));
        put("corrupt_blocks_detected", t.corrupt_blocks as f64);
        put("ttfb_p50_s", quantile_s(&t.ttfb_us, 0.5));
        put("ttfb_p90_s", quantile_s(&t.ttfb_us, 0.9));
        put("completion_p50_s", quantile_s(&t.completion_us, 0.5));
        put("completion_p90_s", quantile_s(&t.completion_us, 0.9));
        put("completion_p99_s", quantile_s(&t.completion_us, 0.99));
        put("completion_max_s", quantile_s(&t.completion_us, 1.0));
        put(
            "last_completion_at_s",
            t.last_done.map_or(0.0, |i| i.as_micros() as f64 / 1e6),
        );
        put("fetches_ok", t.outcomes.get("ok").copied().unwrap_or(0) as f64);
        let failed: u64 = t
            .outcomes
            .iter()
            .filter(|(k, _)| **k != "ok")
            .map(|(_, v)| v)
            .sum();
        put("fetches_failed", failed as f64);
        put("fetches_offline", t.fetches_offline as f64);
        put("client_leaves", t.leaves as f64);
        for (k, v) in self.engine_counters() {
            put(k, v as f64);
        }
        put("messages_lost_to_churn", t.lost_to_churn as f64);
        if self.dist.branches.len() > 1 {
            for (b, (wan, delivered)) in t.per_branch.iter().enumerate() {
                let name = &self.dist.branches[b].name;
                let offload = if *delivered == 0 {
                    0.0
                } else {
                    1.0 - *wan as f64 / *delivered as f64
                };
                put(&format!("branch.{name}.wan_offload_ratio"), offload);
                put(&format!("branch.{name}.wan_bytes"), *wan as f64);
            }
        }
        m
    }

    /// `[checks]`: failed fetches (excluding ones cut short by churn) and the WAN offload floor.
    pub(super) fn verdicts(&self, metrics: &BTreeMap<String, f64>) -> Vec<CheckVerdict> {
        let t = &self.tally;
        let total: u64 = t.outcomes.values().sum();
        let failed: u64 = t
            .outcomes
            .iter()
            .filter(|(k, _)| !matches!(**k, "ok" | "left"))
            .map(|(_, v)| v)
            .sum();
        let max_ppm = self.checks.max_failed_ratio.ppm();
        let mut v = vec![CheckVerdict {
            name: "max_failed_ratio".into(),
            passed: failed as u128 * 1_000_000 <= max_ppm as u128 * total as u128,
            detail: format!(
                "{failed} of {total} fetches failed (churn departures excluded); allowed {:.2}%",
                max_ppm as f64 / 1e4
            ),
        }];
        if let Some(min) = self.checks.min_wan_offload {
            let got = metrics
                .get("distribution.wan_offload_ratio")
                .copied()
                .unwrap_or(0.0);
            v.push(CheckVerdict {
                name: "min_wan_offload".into(),
                passed: got * 1e6 >= min.ppm() as f64,
                detail: format!(
                    "WAN offload {:.2}%, required {:.2}%",
                    got * 100.0,
                    min.ppm() as f64 / 1e4
                ),
            });
        }
        v
    }
}
