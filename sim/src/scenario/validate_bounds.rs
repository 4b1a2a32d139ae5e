//! Bounds that keep a run finite: values `peerlab check` accepted but that made the simulator
//! process so many events that a run never ended (a sample every microsecond, a billion resolves a
//! second, microsecond sessions or maintenance periods, 100 000 names per peer). Each bound is far
//! beyond any realistic scenario; scenarios/README.md lists them.

use super::schema::Session;
use super::validate::{root, Validator};
use super::value::Value;
use peerlab_engine::pnrp::{ConfigIssue, PnrpConfig};
use peerlab_engine::Duration;
use std::collections::BTreeMap;

/// Most samples one run takes (`duration / sample_every`).
pub const SAMPLES_MAX: u64 = 100_000;
/// Shortest `[output].sample_every`.
pub const SAMPLE_EVERY_MIN: Duration = Duration::from_millis(1);
/// Shortest session (fixed length, or the mean of a distribution). It alone caps churn at about
/// one leave and one rejoin per peer per second, so `rejoin.after` needs no floor (0 = at once).
pub const SESSION_MIN: Duration = Duration::from_secs(1);
/// Most operations a workload starts per second per peer of its source groups.
pub const RATE_PER_PEER_MAX: f64 = 100.0;
/// Most names (secured + unsecured) one peer registers.
pub const NAMES_PER_PEER_MAX: u64 = 1_000;
/// Shortest period of the engine's periodic timers (`[pnrp]` keys below).
pub const PERIOD_MIN: Duration = Duration::from_secs(1);

impl Validator<'_> {
    /// Every bound of this module.
    pub(super) fn bounds(&mut self) {
        self.sample_bound();
        if self.s.distribution.is_some() {
            return;
        }
        self.group_bounds();
        self.rate_bounds();
        self.period_bounds();
    }

    fn sample_bound(&mut self) {
        let (every, duration) = (self.s.output.sample_every, self.s.duration);
        if every == Duration::ZERO || every > duration {
            return; // validate.rs reports it
        }
        let samples = duration.as_micros() / every.as_micros();
        if every < SAMPLE_EVERY_MIN || samples > SAMPLES_MAX {
            let floor = Duration::from_micros(duration.as_micros().div_ceil(SAMPLES_MAX));
            let min = floor.max(SAMPLE_EVERY_MIN);
            self.push(
                root().key("output").key("sample_every"),
                format!("`{every}` takes {samples} samples over the run ({duration})"),
                format!(
                    "at least {min} (at least {SAMPLE_EVERY_MIN}, and at most {SAMPLES_MAX} samples per run)"
                ),
            );
        }
    }

    fn group_bounds(&mut self) {
        for (i, g) in self.s.peers.iter().enumerate() {
            let key = root().key("peers").index(i);
            let sk = key.key("session");
            let session: Option<(&str, &Value<Duration>)> = match &g.session {
                Some(Session::Exponential { mean })
                | Some(Session::Weibull { mean, .. })
                | Some(Session::Pareto { mean, .. }) => Some(("mean", mean)),
                Some(Session::Fixed { length }) => Some(("length", length)),
                Some(Session::Trace { .. }) | None => None,
            };
            // Zero is reported by validate.rs.
            if let Some((name, length)) =
                session.filter(|(_, l)| l.lo() > Duration::ZERO && l.lo() < SESSION_MIN)
            {
                self.push(
                    sk.key(name),
                    format!("`{length}` is too short a session (the peer could not even bootstrap)"),
                    format!("at least {SESSION_MIN}"),
                );
            }
            let names = g.names.secured.hi().saturating_add(g.names.unsecured.hi());
            if names > NAMES_PER_PEER_MAX {
                self.push(
                    key.key("names"),
                    format!("{names} names per peer is too many"),
                    format!("secured + unsecured at most {NAMES_PER_PEER_MAX}"),
                );
            }
        }
    }

    fn rate_bounds(&mut self) {
        // Peers per group name, and in all, computed once (not once per workload).
        let mut per_name: BTreeMap<&str, u64> = BTreeMap::new();
        for g in &self.s.peers {
            let n = per_name.entry(g.name.as_str()).or_default();
            *n = n.saturating_add(g.count.hi());
        }
        let all = per_name.values().fold(0, |a: u64, &b| a.saturating_add(b));
        for (i, w) in self.s.workload.iter().enumerate() {
            let peers = if w.from == "all" {
                all
            } else {
                per_name.get(w.from.as_str()).copied().unwrap_or(0)
            };
            if peers == 0 {
                continue; // no such group: validate.rs reports it
            }
            let rate = w.rate.hi().per_sec_f64();
            let max = RATE_PER_PEER_MAX * peers as f64;
            if rate > max {
                self.push(
                    root().key("workload").index(i).key("rate"),
                    format!(
                        "`{}` is more than {RATE_PER_PEER_MAX}/s for each of the {peers} source peers",
                        w.rate
                    ),
                    format!("at most {max}/s ({RATE_PER_PEER_MAX}/s per source peer)"),
                );
            }
        }
    }

    fn period_bounds(&mut self) {
        for issue in period_issues(&self.s.pnrp.config) {
            self.push(root().key("pnrp").key(issue.key), issue.what, issue.allowed);
        }
    }
}

/// The engine's periodic timers that are set so short that a run would do little but them.
fn period_issues(c: &PnrpConfig) -> Vec<ConfigIssue> {
    let periods = [
        ("maintenance_period", Some(c.maintenance_period)),
        (
            "maintenance_period_small_cache",
            Some(c.maintenance_period_small_cache),
        ),
        ("balancing_interval", Some(c.balancing_interval)),
        ("leaf_set_liveness_interval", Some(c.leaf_set_liveness_interval)),
        ("reannounce_period", c.reannounce_period),
    ];
    periods
        .into_iter()
        // Zero is refused by the engine's own validation, with its own message.
        .filter_map(|(key, d)| Some((key, d.filter(|d| *d > Duration::ZERO && *d < PERIOD_MIN)?)))
        .map(|(key, d)| ConfigIssue {
            key,
            what: format!("`{d}` is too short a period: the run would do little but this"),
            allowed: format!("at least {PERIOD_MIN}"),
        })
        .collect()
}

/// Every problem of a `[pnrp]` configuration, as scenario files report them: the engine's own
/// bounds and the periods that would keep a node busy with nothing else. `peerlab node
/// --set-pnrp` applies exactly these.
pub fn pnrp_config_issues(c: &PnrpConfig) -> Vec<ConfigIssue> {
    let mut out = c.issues();
    out.extend(period_issues(c));
    out
}

#[cfg(test)]
mod tests {
    use crate::scenario::parse;

    const BASE: &str = r#"name = "b"
duration = "2m"
[pnrp]
crypto = "ed25519"
maintenance_period = "15s"
[[peers]]
name = "p"
count = 50
session = { model = "fixed", length = "90s" }
rejoin = { after = "0s" }
names = { secured = 2, unsecured = 1 }
[[workload]]
kind = "resolve"
rate = "5/s"
[output]
sample_every = "10s"
"#;

    /// The one error of BASE with `from` replaced by `to`, which must name `key` on `line`.
    fn refused(from: &str, to: &str, line: usize, key: &str, allowed: &str) {
        assert!(BASE.contains(from), "{from}");
        let text = BASE.replacen(from, to, 1);
        let err = parse(&text, "b.toml").expect_err(&text).to_string();
        let want = format!("b.toml:{line}:");
        assert!(err.starts_with(&want), "{err}");
        assert!(err.contains(&format!("key `{key}`")), "{err}");
        assert!(err.contains(&format!("allowed: {allowed}")), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }

    #[test]
    fn realistic_values_pass_and_rejoin_may_be_immediate() {
        parse(BASE, "b.toml").expect("valid");
        parse(&BASE.replace("\"10s\"", "\"1.2ms\""), "b.toml").expect("100 000 samples");
        parse(&BASE.replace("\"5/s\"", "\"5000/s\""), "b.toml").expect("100/s per peer");
        parse(&BASE.replace("secured = 2", "secured = 999"), "b.toml").expect("1 000 names");
    }

    #[test]
    fn values_that_would_never_end_are_refused_with_their_bound() {
        refused("\"10s\"", "\"1us\"", 16, "output.sample_every", "at least 1200us");
        refused("\"10s\"", "\"1ms\"", 16, "output.sample_every", "at least 1200us");
        refused("\"90s\"", "\"1us\"", 9, "peers[0].session.length", "at least 1s");
        refused(
            "model = \"fixed\", length = \"90s\"",
            "model = \"exponential\", mean = \"500ms\"",
            9,
            "peers[0].session.mean",
            "at least 1s",
        );
        refused(
            "\"5/s\"",
            "\"1000000000/s\"",
            14,
            "workload[0].rate",
            "at most 5000/s",
        );
        refused(
            "secured = 2",
            "secured = 100000",
            11,
            "peers[0].names",
            "secured + unsecured at most 1000",
        );
        refused("\"15s\"", "\"1us\"", 5, "pnrp.maintenance_period", "at least 1s");
    }
}
