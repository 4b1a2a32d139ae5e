//! Per-node PNRP counters: messages and bytes per type, retransmissions, drops by reason,
//! CPA rejections, cache evictions by cause, resolves and split tests.

use super::message::MessageType;
use std::collections::BTreeMap;

/// Datagrams and bytes of one message type. The two counters share a cache line: every datagram
/// sent or received bumps both, on a node whose state is usually cold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Datagrams.
    pub msgs: u64,
    /// Encoded bytes.
    pub bytes: u64,
}

/// Counters of one PNRP node. Reasons are short static strings such as `"unmatched_answer"`.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct PnrpStats {
    /// Datagrams and encoded bytes sent, indexed by `MessageType::index()` (AUTHORITY counts
    /// fragments).
    pub sent: [Traffic; 8],
    /// Datagrams and encoded bytes received, indexed by `MessageType::index()`.
    pub received: [Traffic; 8],
    /// Retransmissions from the Pending List (MS-PNRP §3.1.6.3), indexed by `MessageType::index()`.
    pub retransmissions: [u64; 8],
    /// Pending List failures (retries exhausted), indexed by `MessageType::index()`.
    pub timeouts: [u64; 8],
    /// Received datagrams dropped, by reason.
    pub drops: BTreeMap<&'static str, u64>,
    /// CPAs rejected by validation (MS-PNRP §3.1.5.7), by reason.
    pub cpa_rejected: BTreeMap<&'static str, u64>,
    /// Cache evictions, by cause (`"n_flag"`, `"timeout"`, `"revoke"`, `"displaced"`, `"age"`, ...).
    pub evictions: BTreeMap<&'static str, u64>,
    /// Route entries admitted into the cache (MS-PNRP §3.1.5.11).
    pub cache_admissions: u64,
    /// Times the Cloud Cleanup Timer deleted the cloud's state (MS-PNRP §3.1.6.1).
    pub cloud_closes: u64,
    /// Times a use opened a deleted cloud again (MS-PNRP §3.1.4.1).
    pub cloud_reopens: u64,
    /// Route entries admitted into a leaf set (MS-PNRP §3.2.5.11).
    pub leaf_set_admissions: u64,
    /// Return-routability INQUIREs started (MS-PNRP §3.1.5.11).
    pub admission_inquires: u64,
    /// Route entries stored without an INQUIRE because a LOOKUP answer proved them (MS-PNRP §3.1.4.4.2,
    /// `lookup_answer_proves_reachability`).
    pub admissions_by_lookup_answer: u64,
    /// Candidates for a full cache level not INQUIREd (MS-PNRP §3.2.1.1, peerlab choice
    /// `full_level_admission`).
    pub admissions_skipped_full_level: u64,
    /// Sync conversations started as the joining side (MS-PNRP §3.1.4.3).
    pub syncs_started: u64,
    /// Discovery rounds run (MS-PNRP §3.1.4.2).
    pub discoveries: u64,
    /// Resolves started, of any reason.
    pub resolves_started: u64,
    /// Resolves that ended with a validated CPA.
    pub resolves_ok: u64,
    /// Resolves that ended without a result (not found, CPA invalid, timeout, empty cache).
    pub resolves_failed: u64,
    /// Registration walks that ended (MS-PNRP §3.2.4.1).
    pub registrations_done: u64,
    /// Cache-maintenance (balancing) resolves started (MS-PNRP §3.1.6.2/§3.2.6.2).
    pub maintenance_resolves: u64,
    /// Leaf-set liveness INQUIREs sent (MS-PNRP §3.2.1.1, peerlab choice `leaf_set_liveness_probes`).
    pub liveness_probes: u64,
    /// Split tests run (MS-PNRP §3.2.6.2.1).
    pub split_tests_run: u64,
    /// Split tests that found a split (MS-PNRP §3.2.6.2.1).
    pub splits_detected: u64,
    /// Revoke CPAs accepted (MS-PNRP §3.1.5.5).
    pub revokes_accepted: u64,
    /// AUTHORITY_BUFFERs reassembled from more than one fragment (MS-PNRP §3.1.5.6).
    pub reassembled_buffers: u64,
}

impl PnrpStats {
    /// Counts one dropped datagram under `reason`.
    pub fn drop(&mut self, reason: &'static str) {
        *self.drops.entry(reason).or_default() += 1;
    }
    /// Counts one rejected CPA under `reason`.
    pub fn cpa_reject(&mut self, reason: &'static str) {
        *self.cpa_rejected.entry(reason).or_default() += 1;
    }
    /// Counts one cache eviction under `cause`.
    pub fn evict(&mut self, cause: &'static str) {
        *self.evictions.entry(cause).or_default() += 1;
    }
    /// Counts one sent datagram of `kind` and `bytes` bytes.
    pub fn sent(&mut self, kind: MessageType, bytes: usize) {
        let t = &mut self.sent[kind.index()];
        t.msgs += 1;
        t.bytes += bytes as u64;
    }
    /// Counts one received datagram of `kind` and `bytes` bytes.
    pub fn received(&mut self, kind: MessageType, bytes: usize) {
        let t = &mut self.received[kind.index()];
        t.msgs += 1;
        t.bytes += bytes as u64;
    }
    /// Total datagrams sent.
    pub fn total_sent(&self) -> u64 {
        self.sent.iter().map(|t| t.msgs).sum()
    }
    /// Total drops of any reason.
    pub fn total_drops(&self) -> u64 {
        self.drops.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_up_by_type_and_reason() {
        let mut s = PnrpStats::default();
        s.sent(MessageType::Lookup, 126);
        s.sent(MessageType::Lookup, 130);
        s.drop("bad");
        s.drop("bad");
        s.evict("n_flag");
        assert_eq!(s.sent[MessageType::Lookup.index()].msgs, 2);
        assert_eq!(s.sent[MessageType::Lookup.index()].bytes, 256);
        assert_eq!(s.total_sent(), 2);
        assert_eq!(s.drops["bad"], 2);
        assert_eq!(s.total_drops(), 2);
        assert_eq!(s.evictions["n_flag"], 1);
    }
}
