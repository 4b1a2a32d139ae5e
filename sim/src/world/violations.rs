//! Invariant violations: recording them, once per (peer, invariant) for breaches that persist, the
//! bookkeeping that lets `explore`, `replay` and `--stop-on-violation` find the first failure, and
//! the one safety rule every protocol shares: nothing is sent to an address that never existed
//! (docs/architecture.md §4 "Oracle and invariants").

use super::{Core, Protocol, World};
use crate::fingerprint::Fingerprint;
use peerlab_engine::{Endpoint, Instant};
use peerlab_reports::{Record, Violation};
use std::collections::{BTreeMap, BTreeSet};

/// Violations kept in memory for `first_violations` (the records hold them all).
const KEPT_VIOLATIONS_MAX: usize = 256;

/// Node index used for violations that concern the whole world rather than one peer.
pub const WORLD_NODE: u32 = u32::MAX;

/// What the world remembers about violations during a run.
#[derive(Debug, Default)]
pub(crate) struct InvariantState {
    /// (node, invariant) pairs already reported by the per-event state checks.
    reported: BTreeSet<(u32, &'static str)>,
    /// The first violations of the run, in order (at most `KEPT_VIOLATIONS_MAX`).
    first: Vec<Violation>,
    /// Violations per invariant over the whole run.
    counts: BTreeMap<String, u64>,
    /// Stop the run after the event that recorded the first violation.
    stop_on_violation: bool,
    /// A violation was recorded during the current event.
    fresh: bool,
    /// Per-event fingerprints, when the determinism diagnosis asks for them.
    hash_log: Option<Vec<(Instant, Fingerprint)>>,
}

impl InvariantState {
    /// Notes one recorded violation.
    pub(crate) fn note(&mut self, v: &Violation) {
        *self.counts.entry(v.invariant.clone()).or_default() += 1;
        if self.first.len() < KEPT_VIOLATIONS_MAX {
            self.first.push(v.clone());
        }
        self.fresh = true;
    }
}

impl<P: Protocol> World<P> {
    /// Stops the run after the first event that records a violation (`--stop-on-violation`).
    pub fn set_stop_on_violation(&mut self, on: bool) {
        self.core.inv.stop_on_violation = on;
    }

    /// Keeps the fingerprint after every event, for naming the first diverging event.
    pub fn keep_hash_log(&mut self) {
        self.core.inv.hash_log = Some(Vec::new());
    }

    /// The per-event (time, fingerprint) log kept since `keep_hash_log`, index 0 = event 1.
    pub fn hash_log(&self) -> &[(Instant, Fingerprint)] {
        self.core.inv.hash_log.as_deref().unwrap_or(&[])
    }

    /// The first violations recorded (in order; at most 256 are kept in memory).
    pub fn first_violations(&self) -> &[Violation] {
        &self.core.inv.first
    }

    /// Violations per invariant over the whole run.
    pub fn violation_counts(&self) -> &BTreeMap<String, u64> {
        &self.core.inv.counts
    }
}

impl<P: Protocol> Core<P> {
    /// Records an invariant violation.
    pub fn violation(&mut self, node: u32, invariant: &str, detail: String) {
        let v = Violation {
            seed: self.plan.seed,
            t_us: self.now.as_micros(),
            event_index: self.events,
            node,
            invariant: invariant.to_string(),
            detail,
        };
        self.inv.note(&v);
        self.rec.push(Record::Violation(v));
    }

    /// Records `invariant` on `node` unless it was reported for that node already.
    pub fn violation_once(&mut self, node: u32, invariant: &'static str, detail: impl FnOnce() -> String) {
        if self.inv.reported.insert((node, invariant)) {
            let detail = detail();
            self.violation(node, invariant, detail);
        }
    }

    /// Called after every event: logs the fingerprint when asked; true when the run must stop
    /// because a violation was recorded and `--stop-on-violation` is on.
    pub(super) fn after_event_checks(&mut self) -> bool {
        if let Some(log) = self.inv.hash_log.as_mut() {
            log.push((self.now, self.fp.clone()));
        }
        let stop = self.inv.stop_on_violation && self.inv.fresh;
        self.inv.fresh = false;
        stop
    }

    /// "Nothing is sent to an address that never existed", for senders inside groups.
    ///
    /// (peerlab choice) An address inside the simulated plan whose peer never had that address generation
    /// is always a violation: no honest path can learn it. An address outside the plan is a
    /// violation only when the scenario has no attackers: poisoning attackers invent such
    /// addresses on purpose and honest peers legitimately try them before the check of the
    /// answer fails; those sends are counted as `net.dropped.no_such_address` instead.
    pub(super) fn check_destination(&mut self, from: u32, to: &Endpoint) {
        if self.peers[from as usize].group.is_none() {
            return;
        }
        match crate::addr::peer_of_addr(&to.addr) {
            Some((i, g)) if (i as usize) < self.peers.len() => {
                debug_assert_eq!(self.generations[i as usize], self.peers[i as usize].generation);
                let current = self.generations[i as usize].max(1);
                if g > current {
                    self.violation_once(from, "sent_to_unassigned_address", || {
                        format!("{to} is generation {g} of peer {i}, which is only at {current}")
                    });
                }
            }
            _ if self.plan.attackers.is_empty() => {
                self.violation_once(from, "sent_to_nonexistent_address", || {
                    format!("{to} belongs to no simulated peer")
                });
            }
            _ => {}
        }
    }

    /// True when one of `endpoints` is an address peer `owner` had in an earlier address
    /// generation (an answer overtaken by an address change is stale, not wrong).
    pub fn was_owners_address(&self, owner: u32, endpoints: &[Endpoint]) -> bool {
        endpoints.iter().any(|ep| {
            crate::addr::peer_of(ep)
                .is_some_and(|(i, g)| i == owner && g <= self.peers[owner as usize].generation.max(1))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(invariant: &str, event_index: u64) -> Violation {
        Violation {
            seed: 1,
            t_us: event_index * 10,
            event_index,
            node: 3,
            invariant: invariant.into(),
            detail: String::new(),
        }
    }

    #[test]
    fn notes_count_every_violation_but_keep_a_bounded_prefix() {
        let mut s = InvariantState::default();
        for i in 0..(KEPT_VIOLATIONS_MAX as u64 + 10) {
            s.note(&v(if i % 2 == 0 { "a" } else { "b" }, i));
        }
        assert_eq!(s.first.len(), KEPT_VIOLATIONS_MAX);
        assert_eq!(s.first[0].event_index, 0);
        assert_eq!(s.counts["a"] + s.counts["b"], KEPT_VIOLATIONS_MAX as u64 + 10);
        assert!(s.fresh);
    }
}
