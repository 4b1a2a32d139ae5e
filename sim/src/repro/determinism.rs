//! Naming the first diverging event of two runs that should be identical: both
//! runs keep the world's fingerprint after every event (`World::keep_hash_log`), and the first
//! index where the logs differ is the first event processed differently.

use super::{fmt_time, run_plan};
use crate::plan::Plan;
use peerlab_engine::Instant;
use std::sync::Arc;

/// Where two runs part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// 1-based index of the first event whose fingerprint differs.
    pub event_index: u64,
    /// That event's time in the first run (`None`: the first run had ended).
    pub t_a: Option<Instant>,
    /// That event's time in the second run (`None`: the second run had ended).
    pub t_b: Option<Instant>,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = |t: Option<Instant>| t.map_or("(run ended)".to_string(), |t| fmt_time(t.as_micros()));
        write!(
            f,
            "first diverging event: #{} (run 1 at {}, run 2 at {})",
            self.event_index,
            t(self.t_a),
            t(self.t_b)
        )
    }
}

/// The first index where two per-event logs differ, or `None` when they are equal.
pub fn first_divergence<T: PartialEq>(a: &[(Instant, T)], b: &[(Instant, T)]) -> Option<Divergence> {
    let common = a.len().min(b.len());
    let i = (0..common)
        .find(|&i| a[i] != b[i])
        .or((a.len() != b.len()).then_some(common))?;
    Some(Divergence {
        event_index: i as u64 + 1,
        t_a: a.get(i).map(|e| e.0),
        t_b: b.get(i).map(|e| e.0),
    })
}

/// Runs `a` and `b` in memory with per-event fingerprints and names where they part.
pub fn diverge(a: Arc<Plan>, b: Arc<Plan>) -> Result<Option<Divergence>, String> {
    let log = |plan: Arc<Plan>| match plan.graphing {
        Some(_) => hash_log::<crate::graphing::GraphingProtocol>(plan),
        None => hash_log::<crate::pnrp::PnrpProtocol>(plan),
    };
    Ok(first_divergence(&log(a)?, &log(b)?))
}

/// The fingerprint after every event of `plan` run in memory by protocol `P`.
fn hash_log<P: crate::world::Protocol>(
    plan: Arc<Plan>,
) -> Result<Vec<(Instant, crate::fingerprint::Fingerprint)>, String> {
    let rec = crate::world::Recorder::new(None).map_err(|e| e.to_string())?;
    let mut w = crate::world::World::<P>::new(plan, rec)?;
    w.keep_hash_log();
    w.run_in_place(&mut |_, _, _| {});
    Ok(w.hash_log().to_vec())
}

/// For `peerlab run --check-determinism` after a mismatch: re-runs `plan` twice and names the
/// first diverging event; `None` when these two runs agreed.
pub fn explain(plan: Arc<Plan>) -> Result<Option<Divergence>, String> {
    diverge(plan.clone(), plan)
}

/// True when `plan` gives the same failures and fingerprint twice (used by tests).
pub fn repeats(plan: Arc<Plan>) -> Result<bool, String> {
    let a = run_plan(plan.clone(), false, None)?;
    let b = run_plan(plan, false, None)?;
    Ok(a.outcome.fingerprint == b.outcome.fingerprint && a.failures == b.failures)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> Instant {
        Instant::ZERO + peerlab_engine::Duration::from_secs(s)
    }

    #[test]
    fn the_first_differing_entry_is_named() {
        let a = vec![(at(1), 1u8), (at(2), 2), (at(3), 3)];
        let mut b = a.clone();
        assert_eq!(first_divergence(&a, &b), None);
        b[1].1 = 9;
        b[2].1 = 9;
        let d = first_divergence(&a, &b).unwrap();
        assert_eq!(d.event_index, 2);
        assert_eq!(d.t_a, Some(at(2)));
        assert!(d.to_string().contains("#2"));
        // One run longer than the other: it parts where the shorter ends.
        let d = first_divergence(&a, &a[..2]).unwrap();
        assert_eq!((d.event_index, d.t_b), (3, None));
    }
}
