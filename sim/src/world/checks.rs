//! End-of-run verdicts every protocol shares (`no_violations`) and the world's traffic figures
//! that go into `summary.json`'s `metrics` (`net.*`).

use super::{Core, Protocol};
use peerlab_reports::group_digits;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One check and how it came out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckVerdict {
    /// Check name, e.g. `max_failed_ratio`.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// What was measured against what was required.
    pub detail: String,
}

impl<P: Protocol> Core<P> {
    /// The `no_violations` verdict, when the scenario's checks ask for it.
    pub fn no_violations_verdict(&self) -> Option<CheckVerdict> {
        let violations = self.rec.violations();
        self.plan.checks.fail_on_violation.then(|| CheckVerdict {
            name: "no_violations".into(),
            passed: violations == 0,
            detail: format!("{} invariant violations", group_digits(violations)),
        })
    }

    /// Messages and bytes sent in total and by kind, and datagrams dropped by reason.
    pub(super) fn traffic_metrics(&self, m: &mut BTreeMap<String, f64>) {
        let t = &self.traffic;
        m.insert("net.messages".into(), t.messages.iter().sum::<u64>() as f64);
        m.insert("net.bytes".into(), t.bytes.iter().sum::<u64>() as f64);
        for (name, n) in self.kind_names.iter().zip(&t.messages) {
            m.insert(format!("net.messages.{name}"), *n as f64);
        }
        for (reason, n) in &t.dropped {
            m.insert(format!("net.dropped.{reason}"), *n as f64);
        }
        if let Some(s) = self.stream_stats() {
            let mut put = |k: &str, v: u64| {
                m.insert(format!("net.stream.{k}"), v as f64);
            };
            put("connects", s.connects);
            put("connected", s.connected);
            for (r, n) in crate::net::stream::ConnectFailure::ALL
                .iter()
                .zip(s.connect_failed)
            {
                put(
                    &format!("connect_failed.{}", super::streams::failure(*r).as_str()),
                    n,
                );
            }
            put("resets", s.resets);
            put("segments", s.segments);
            put("wire_bytes", s.bytes);
            put("retransmissions", s.retransmissions);
            put("delivered", s.delivered);
            put("delivered_bytes", s.delivered_bytes);
        }
    }
}
