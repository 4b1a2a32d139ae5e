//! Limits on the size of a run, checked at each key with the allowed range (scenarios/README.md,
//! "Limits"), and warnings about values that are valid but probably not meant.
//!
//! Every count a scenario gives becomes a `u32` or a `usize` somewhere in the simulator; without
//! these limits `count = 4294967296` wrapped to zero attackers, and ten million peers or a
//! thousand days were accepted without a word.

use super::error::Issue;
use super::schema::{Fault, Latency, Scenario};
use super::spans::KeyPath;
use super::validate::{root, Validator};
use super::value::Value;
use peerlab_engine::Duration;

/// Most peers of one run: honest peers of every group plus attackers.
pub const PEERS_MAX: u64 = 10_000_000;
/// Most `[[peers]]` tables: a group's cloud, its node class (own latency or bandwidth) and its
/// latency-matrix row are 16-bit indices.
pub const GROUPS_MAX: usize = u16::MAX as usize;
/// Longest simulated duration: 30 days.
pub const DURATION_MAX: Duration = Duration::from_secs(30 * 24 * 3600);

impl Validator<'_> {
    /// A count whose every value lies in `1..=max`, else an issue at `key` with the range.
    pub(super) fn count_within(&mut self, key: KeyPath, v: &Value<u64>, max: u64) {
        if v.lo() == 0 {
            self.push(
                key,
                format!("`{v}` is zero"),
                format!("a whole number from 1 to {max}"),
            );
        } else if v.hi() > max {
            self.push(
                key,
                format!("`{v}` is too large"),
                format!("a whole number from 1 to {max}"),
            );
        }
    }

    /// The run's length and its number of peers.
    pub(super) fn limits(&mut self) {
        let s = self.s;
        if s.duration > DURATION_MAX {
            self.push(
                root().key("duration"),
                format!("`{}` is longer than a run may last", s.duration),
                format!("a duration above zero and at most {DURATION_MAX} (30 days)"),
            );
        }
        if s.distribution.is_some() {
            return;
        }
        if s.peers.len() > GROUPS_MAX {
            self.push(
                root().key("peers").index(GROUPS_MAX),
                format!("{} [[peers]] tables are too many", s.peers.len()),
                format!("at most {GROUPS_MAX} [[peers]] tables"),
            );
        }
        // Peers first, then attackers: the first count that takes the total past the limit is
        // where the run became too big.
        let mut total = 0u64;
        let mut honest = 0u64;
        let mut over: Option<KeyPath> = None;
        for (i, g) in s.peers.iter().enumerate() {
            let key = root().key("peers").index(i).key("count");
            if g.count.hi() > PEERS_MAX {
                self.count_within(key, &g.count, PEERS_MAX);
                continue;
            }
            honest = honest.saturating_add(g.count.hi());
            total = total.saturating_add(g.count.hi());
            if total > PEERS_MAX && over.is_none() {
                over = Some(key);
            }
        }
        for (i, a) in s.attackers.iter().enumerate() {
            let key = root().key("attackers").index(i);
            let n = match (&a.count, &a.fraction) {
                (Some(c), _) if c.hi() > PEERS_MAX => {
                    self.count_within(key.key("count"), c, PEERS_MAX);
                    continue;
                }
                (Some(c), _) => c.hi(),
                (None, Some(f)) => f.hi().of(honest),
                (None, None) => 0,
            };
            total = total.saturating_add(n);
            if total > PEERS_MAX && over.is_none() {
                let k = if a.count.is_some() { "count" } else { "fraction" };
                over = Some(key.key(k));
            }
        }
        if let Some(key) = over {
            self.push(
                key,
                format!("the run would have {total} peers (honest peers and attackers)"),
                format!("at most {PEERS_MAX} peers in all"),
            );
        }
        for (i, f) in s.fault.iter().enumerate() {
            if let Some(c) = fault_count(f) {
                if c.hi() > PEERS_MAX {
                    self.count_within(root().key("fault").index(i).key("count"), c, PEERS_MAX);
                }
            }
        }
        let seeds = &s.pnrp.seed_servers;
        if seeds.hi() > PEERS_MAX {
            self.count_within(root().key("pnrp").key("seed_servers"), seeds, PEERS_MAX);
        }
    }
}

/// The `count` of a fault that has one.
fn fault_count(f: &Fault) -> Option<&Value<u64>> {
    match f {
        Fault::Crash { count, .. } | Fault::AddressChange { count, .. } => count.as_ref(),
        _ => None,
    }
}

/// The key and value of a latency model's largest base latency (`None` for a matrix, whose
/// values are in its file).
fn latency_of(l: &Latency) -> Option<(&'static str, &Value<Duration>)> {
    match l {
        Latency::Constant { value } => Some(("value", value)),
        Latency::Uniform { max, .. } => Some(("max", max)),
        Latency::Internet { median, .. } => Some(("median", median)),
        Latency::Matrix { .. } => None,
    }
}

/// What in a valid scenario is probably not meant: a link latency as long as the run (no message
/// sent would ever arrive).
pub(crate) fn warnings(s: &Scenario) -> Vec<Issue> {
    let mut out = Vec::new();
    let mut latency = |key: KeyPath, l: &Latency| {
        if let Some((name, v)) = latency_of(l).filter(|(_, v)| v.hi() >= s.duration) {
            out.push(Issue::new(
                key.key(name),
                format!(
                    "warning: a one-way latency of `{v}` is not shorter than the whole run ({}), so a message may never arrive",
                    s.duration
                ),
                format!("a latency well below {}", s.duration),
            ));
        }
    };
    latency(root().key("network").key("latency"), &s.network.latency);
    for (i, g) in s.peers.iter().enumerate() {
        if let Some(l) = &g.latency {
            latency(root().key("peers").index(i).key("latency"), l);
        }
    }
    for (i, b) in s.distribution.iter().flat_map(|d| d.branches.iter().enumerate()) {
        for (name, d) in [("lan", b.lan.latency), ("wan", b.wan.latency)] {
            if d >= s.duration {
                out.push(Issue::new(
                    root().key("branch").index(i).key(name).key("latency"),
                    format!(
                        "warning: a one-way latency of `{d}` is not shorter than the whole run ({}), so a message may never arrive",
                        s.duration
                    ),
                    format!("a latency well below {}", s.duration),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::scenario::{parse, parse_with, LoadOptions};

    const BASE: &str = "name = \"l\"\nduration = \"10m\"\n[[peers]]\nname = \"p\"\ncount = 5\n";

    fn error(text: &str) -> String {
        parse(text, "l.toml").expect_err(text).to_string()
    }

    #[test]
    fn counts_beyond_u32_are_refused_at_their_key_with_the_range() {
        for n in ["4294967296", "4294967297", "10000001"] {
            let e = error(&format!(
                "{BASE}[[attackers]]\ncount = {n}\nbehaviour = \"drop\"\n"
            ));
            assert!(e.starts_with("l.toml:7:9: key `attackers[0].count`"), "{e}");
            assert!(e.contains("allowed: a whole number from 1 to 10000000"), "{e}");
            let e = error(&BASE.replace("count = 5", &format!("count = {n}")));
            assert!(e.starts_with("l.toml:5:9: key `peers[0].count`"), "{e}");
        }
        let e = error(&BASE.replace("count = 5", "count = \"1..4294967296\""));
        assert!(e.contains("`1..4294967296` is too large"), "{e}");
        let e = error(&format!(
            "{BASE}[[fault]]\nkind = \"crash\"\nat = \"1m\"\ncount = 4294967296\n"
        ));
        assert!(
            e.contains("key `fault[0].count`") && e.contains("from 1 to 10000000"),
            "{e}"
        );
    }

    #[test]
    fn the_total_of_peers_and_the_duration_are_bounded() {
        let two = format!("{BASE}[[peers]]\nname = \"q\"\ncount = 9999999\n");
        let e = error(&two);
        assert!(e.starts_with("l.toml:8:9: key `peers[1].count`"), "{e}");
        assert!(
            e.contains("10000004 peers") && e.contains("at most 10000000 peers in all"),
            "{e}"
        );
        let hourly = "[output]\nsample_every = \"1h\"\n";
        let e = error(&format!("{}{hourly}", BASE.replace("\"10m\"", "\"1000d\"")));
        assert!(
            e.starts_with("l.toml:2:12: key `duration`") && e.contains("at most 720h (30 days)"),
            "{e}"
        );
        let month = format!("{}{hourly}", BASE.replace("\"10m\"", "\"30d\""));
        parse(&month, "l.toml").expect("30 days is allowed");
    }

    #[test]
    fn groups_beyond_16_bit_indices_are_refused() {
        let groups: String = (0..=65_535)
            .map(|i| format!("[[peers]]\nname = \"g{i}\"\ncount = 1\n"))
            .collect();
        let e = error(&format!("name = \"l\"\nduration = \"10m\"\n{groups}"));
        assert!(e.starts_with("l.toml:196608:1: key `peers[65535]`"), "{e}");
        assert!(e.contains("allowed: at most 65535 [[peers]] tables"), "{e}");
    }

    #[test]
    fn a_latency_as_long_as_the_run_is_a_warning_not_an_error() {
        let text = format!("{BASE}[network]\nlatency = {{ model = \"constant\", value = \"11m\" }}\n");
        let loaded = parse_with(&text, "l.toml", &LoadOptions::default()).expect("valid");
        let w: Vec<String> = loaded.warnings.iter().map(|d| d.to_string()).collect();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].starts_with("l.toml:7:41: key `network.latency.value`: warning:"),
            "{}",
            w[0]
        );
        let fine = parse_with(BASE, "l.toml", &LoadOptions::default()).unwrap();
        assert!(fine.warnings.is_empty());
    }
}
