//! The end of a graphing run: open commands recorded, one `graph_delivery` record per tracked
//! record version, the headline figures and the check verdicts.

use super::delivery::delivery_metrics;
use super::{GCore, GraphingProtocol};
use crate::world::CheckVerdict;
use peerlab_reports::{GraphDelivery, Record};
use std::collections::BTreeMap;

impl GraphingProtocol {
    /// Records, figures and verdicts at the end of the run (after the last sample).
    pub(super) fn finish_metrics(&mut self, core: &mut GCore) -> (Vec<CheckVerdict>, BTreeMap<String, f64>) {
        self.record_open_ops(core);
        let outcomes = self.delivery.outcomes(|p| core.peer(p).online());
        for o in &outcomes {
            core.record(Record::GraphDelivery(GraphDelivery {
                published_us: o.published.as_micros(),
                targets: o.targets,
                delivered: o.delivered,
                reach_50_us: o.reach_us[0],
                reach_90_us: o.reach_us[1],
                reach_100_us: o.reach_us[2],
            }));
        }
        let mut m = BTreeMap::new();
        delivery_metrics(&outcomes, &mut m);
        self.sample_metrics(&mut m);
        let joins = core.peers().iter().map(|p| p.incarnation() as u64).sum();
        let run_s = core.now().since_epoch().as_secs_f64();
        self.total_tally(core).metrics(joins, run_s, &mut m);
        let mut checks = Vec::new();
        if let Some(v) = core.no_violations_verdict() {
            checks.push(v);
        }
        if let Some(&ratio) = m.get("graphing.delivery_ratio") {
            let floor = 1.0 - core.plan.checks.max_failed_ppm as f64 / 1e6;
            checks.push(CheckVerdict {
                name: "delivery_ratio".into(),
                passed: ratio >= floor,
                detail: format!(
                    "{:.4} of target deliveries made; at least {floor:.4} required",
                    ratio
                ),
            });
        }
        (checks, m)
    }
}
