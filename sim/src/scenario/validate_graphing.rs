//! Checks of a graphing scenario as a whole: the `[graphing]` knobs within MS-PPGRH's bounds,
//! groups that exist, record workloads that fit the graph's record size, times inside the run.

use super::graphing::{GraphWorkload, Graphing, RecordOp};
use super::printable::excerpt;
use super::spans::KeyPath;
use super::validate::{root, Validator};
use peerlab_engine::Duration;

/// Longest graph id, in characters without the NUL (MS-PPGRH §1.1: 256 with the NUL).
pub const GRAPH_ID_CHARS_MAX: usize = 255;
/// Largest frame a node may accept (MS-PPGRH §2.2.1.1).
pub const FRAME_SIZE_MAX: u64 = 32_768;
/// Shortest presence lifetime (MS-PPGRH §2.2.3.1).
pub const PRESENCE_LIFETIME_MIN: Duration = Duration::from_secs(300);
/// Smallest and largest max record size (MS-PPGRH §2.2.3.1).
pub const RECORD_SIZE_RANGE: (u64, u64) = (1_024, 62_914_560);
/// REFUSE, WELCOME and DISCONNECT carry their address count in one byte (MS-PPGRH §2.2.2.3-5).
pub const REFERRALS_MAX: u64 = 255;

impl Validator<'_> {
    /// Every issue of the graphing part of the scenario.
    pub(super) fn graphing(&mut self, g: &Graphing) {
        let key = root().key("graphing");
        for (top, what) in [
            ("workload", "[[graphing.workload]]"),
            ("attackers", "[[graphing.attackers]]"),
        ] {
            let present = match top {
                "workload" => !self.s.workload.is_empty(),
                _ => !self.s.attackers.is_empty(),
            };
            if present {
                self.push(
                    root().key(top),
                    format!("top-level [[{top}]] tables take PNRP's shape, and this is a graphing scenario"),
                    format!("{what} tables inside [graphing] (see docs/graphing.md)"),
                );
            }
        }
        if self.s.output.trace {
            self.push(
                root().key("output").key("trace"),
                "the per-message trace records PNRP's datagrams; graphing runs over streams",
                "false (trace = true works in PNRP scenarios)",
            );
        }
        if self.s.pnrp.wire_bytes {
            self.push(
                root().key("pnrp").key("wire_bytes"),
                "graphing messages ride the stream transport typed",
                "false (wire_bytes = true works in PNRP scenarios)",
            );
        }
        if self.s.peers.is_empty() {
            self.push(
                root().key("peers"),
                "a graph needs members",
                "at least one [[peers]] group",
            );
        }
        let chars = g.graph_id.chars().count();
        if chars == 0 || chars > GRAPH_ID_CHARS_MAX || g.graph_id.contains('\0') {
            self.push(
                key.key("graph_id"),
                format!("\"{}\" is not a graph id", excerpt(&g.graph_id)),
                format!("1 to {GRAPH_ID_CHARS_MAX} characters without NUL (MS-PPGRH §1.1)"),
            );
        }
        if let Some(c) = &g.creator {
            self.group_exists(key.key("creator"), c, false);
        }
        self.neighbors(&key, g);
        self.graph_limits(&key, g);
        for (i, w) in g.workload.iter().enumerate() {
            self.graph_workload(key.key("workload").index(i), w, g);
        }
        for (i, a) in g.attackers.iter().enumerate() {
            let k = key.key("attackers").index(i);
            self.group_exists(k.key("group"), &a.group, false);
            self.positive_count(k.key("count"), &a.count);
            self.within_run(k.key("start"), &a.start);
            if let Some(members) = self
                .s
                .peers
                .iter()
                .find(|p| p.name == a.group)
                .map(|p| p.count.lo())
            {
                let creator = g.creator.as_deref().unwrap_or(self.s.peers[0].name.as_str()) == a.group;
                let room = members.saturating_sub(creator as u64);
                if a.count.hi() > room {
                    self.push(
                        k.key("count"),
                        format!(
                            "`{}` attackers but group \"{}\" has only {room} members that can be",
                            a.count,
                            excerpt(&a.group)
                        ),
                        format!("at most {room} (the graph's creator is never an attacker)"),
                    );
                }
            }
        }
    }

    fn neighbors(&mut self, key: &KeyPath, g: &Graphing) {
        if g.min_neighbors == 0 {
            self.push(
                key.key("min_neighbors"),
                "0 neighbors would never connect a joiner",
                "1 or more (MS-PPGRH §3.1.1 default 2)",
            );
        }
        if g.ideal_neighbors < g.min_neighbors {
            self.push(
                key.key("ideal_neighbors"),
                format!(
                    "{} is below min_neighbors ({})",
                    g.ideal_neighbors, g.min_neighbors
                ),
                "min_neighbors ≤ ideal_neighbors ≤ max_neighbors (MS-PPGRH §3.1.1 defaults 2, 3, 7)",
            );
        }
        if g.max_neighbors < g.ideal_neighbors || g.max_neighbors > REFERRALS_MAX {
            self.push(
                key.key("max_neighbors"),
                format!(
                    "{} is not between ideal_neighbors ({}) and {REFERRALS_MAX}",
                    g.max_neighbors, g.ideal_neighbors
                ),
                "ideal_neighbors ≤ max_neighbors ≤ 255 (MS-PPGRH §3.1.1 default 7)",
            );
        }
        if g.referrals_returned > REFERRALS_MAX {
            self.push(
                key.key("referrals_returned"),
                format!("{} does not fit the one-byte address count", g.referrals_returned),
                "0 to 255 (MS-PPGRH §3.1.5.2.1 default 10)",
            );
        }
        if g.referral_capacity == 0 {
            self.push(
                key.key("referral_capacity"),
                "a node with no referral list cannot follow a REFUSE",
                "1 or more (MS-PPGRH §3.1.1 default 100)",
            );
        }
    }

    fn graph_limits(&mut self, key: &KeyPath, g: &Graphing) {
        if g.max_frame_size == 0 || g.max_frame_size > FRAME_SIZE_MAX {
            self.push(
                key.key("max_frame_size"),
                format!("{} is not a frame size", g.max_frame_size),
                "1 to 32768 bytes (MS-PPGRH §2.2.1.1 default 16379)",
            );
        }
        if g.presence_lifetime < PRESENCE_LIFETIME_MIN {
            self.push(
                key.key("presence_lifetime"),
                format!("`{}` is shorter than 300s", g.presence_lifetime),
                "300s or more (MS-PPGRH §2.2.3.1 default 300s)",
            );
        }
        let (lo, hi) = RECORD_SIZE_RANGE;
        if !(lo..=hi).contains(&g.max_record_size.0) {
            self.push(
                key.key("max_record_size"),
                format!(
                    "`{}` is outside the range the Graph Info record allows",
                    g.max_record_size
                ),
                "1KB to 62914560 bytes (MS-PPGRH §2.2.3.1 default 60MB)",
            );
        }
        for (name, d) in [
            ("connect_timeout", g.connect_timeout),
            ("maintenance_connected", g.maintenance_connected),
            ("maintenance_alone", g.maintenance_alone),
            ("settle", g.settle),
        ] {
            if d == Duration::ZERO {
                self.push(
                    key.key(name),
                    "zero never fires",
                    "a duration above zero such as \"30s\"",
                );
            }
        }
    }

    fn graph_workload(&mut self, k: KeyPath, w: &GraphWorkload, g: &Graphing) {
        self.group_exists(k.key("from"), &w.from, true);
        self.within_run(k.key("start"), &w.start);
        if let Some(stop) = &w.stop {
            self.ordered(k.key("stop"), stop, &w.start, "start");
        }
        if w.rate.lo().per_sec_f64() <= 0.0 {
            self.push(
                k.key("rate"),
                format!("`{}` never acts", w.rate),
                "a rate above zero such as \"1/s\"",
            );
        }
        if w.kind != RecordOp::Delete && w.payload.hi().0 > g.max_record_size.0 {
            self.push(
                k.key("payload"),
                format!(
                    "`{}` is larger than max_record_size ({})",
                    w.payload, g.max_record_size
                ),
                format!("at most {} (MS-PPGRH §3.1.4.3)", g.max_record_size),
            );
        }
        self.positive_duration(k.key("lifetime"), &w.lifetime);
    }
}

#[cfg(test)]
mod tests {
    fn errors(text: &str) -> String {
        match crate::scenario::parse(text, "g.toml") {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    const BASE: &str = "name = \"g\"\nduration = \"10m\"\n[[peers]]\nname = \"m\"\ncount = 5\n";

    #[test]
    fn knobs_out_of_bounds_are_named_at_their_line_and_column() {
        let e = errors(&format!(
            "{BASE}[graphing]\nmax_neighbors = 2\nmax_frame_size = 40000\nsettle = \"0s\"\n"
        ));
        assert!(e.contains("g.toml:7:17: key `graphing.max_neighbors`"), "{e}");
        assert!(e.contains("g.toml:8:18: key `graphing.max_frame_size`"), "{e}");
        assert!(e.contains("key `graphing.settle`: zero never fires"), "{e}");
        assert_eq!(errors(&format!("{BASE}[graphing]\n")), "");
    }

    #[test]
    fn workloads_attackers_and_pnrp_tables_are_checked_against_the_graph() {
        let e = errors(&format!(
            "{BASE}[graphing]\nmax_record_size = \"2KB\"\n[[graphing.workload]]\nkind = \"publish\"\nfrom = \"x\"\nrate = \"1/s\"\npayload = \"4KB\"\n[[graphing.attackers]]\ngroup = \"m\"\ncount = 5\nbehaviour = \"swallow-floods\"\n[output]\ntrace = true\n"
        ));
        for key in [
            "graphing.workload[0].from",
            "graphing.workload[0].payload",
            "graphing.attackers[0].count",
            "output.trace",
        ] {
            assert!(e.contains(&format!("key `{key}`")), "{key}: {e}");
        }
        let e = errors(&format!(
            "{BASE}[graphing]\n[[workload]]\nkind = \"resolve\"\nfrom = \"m\"\nrate = \"1/s\"\n"
        ));
        assert!(e.contains("[[graphing.workload]]"), "{e}");
    }
}
