//! Per-peer load: the messages and bytes each peer sent and received over the run, as a
//! distribution across peers (`load.*` in `summary.json`, the load CDFs of the report,
//! `peer_load.csv`).

use crate::error::ReportError;
use crate::figures::{line_figure, name, Figure, RunView};
use crate::plot::{Line, LineChart};
use crate::record::PeerLoad;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Reads one figure off a peer's record.
type Getter = fn(&PeerLoad) -> u64;
/// The four per-peer figures: `summary.json` name stem and how to read it off a record.
const FIGURES: [(&str, Getter); 4] = [
    ("messages_sent", |l| l.messages_sent),
    ("messages_received", |l| l.messages_received),
    ("bytes_sent", |l| l.bytes_sent),
    ("bytes_received", |l| l.bytes_received),
];
/// Quantile steps of a drawn load CDF.
const CDF_STEPS: usize = 400;

/// Every peer's load record of one run, in record order.
#[derive(Clone, Debug, Default)]
pub struct PeerLoads {
    peers: Vec<PeerLoad>,
}

/// The `q` quantile of ascending `sorted` by nearest rank (the smallest value with at least a
/// fraction `q` of the values at or below it); `sorted` must not be empty.
fn nearest_rank(sorted: &[u64], q: f64) -> u64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

impl PeerLoads {
    /// Adds one peer's record.
    pub fn push(&mut self, load: &PeerLoad) {
        self.peers.push(*load);
    }

    /// The records, in record order.
    pub fn peers(&self) -> &[PeerLoad] {
        &self.peers
    }

    /// One figure (`get`) over every peer, ascending.
    fn sorted(&self, get: Getter) -> Vec<u64> {
        let mut v: Vec<u64> = self.peers.iter().map(get).collect();
        v.sort_unstable();
        v
    }

    /// `load.<figure>_per_peer.<p50|p90|p99|max|mean>` for `summary.json`, exact (nearest rank);
    /// nothing when no peer reported its load.
    pub fn metrics(&self) -> BTreeMap<String, f64> {
        let mut m = BTreeMap::new();
        if self.peers.is_empty() {
            return m;
        }
        for (stem, get) in FIGURES {
            let v = self.sorted(get);
            let mean = v.iter().map(|x| *x as f64).sum::<f64>() / v.len() as f64;
            let stats = [
                ("p50", nearest_rank(&v, 0.5) as f64),
                ("p90", nearest_rank(&v, 0.9) as f64),
                ("p99", nearest_rank(&v, 0.99) as f64),
                ("max", *v.last().expect("not empty") as f64),
                ("mean", mean),
            ];
            for (stat, x) in stats {
                m.insert(format!("load.{stem}_per_peer.{stat}"), x);
            }
        }
        m
    }

    /// CDF points `(value / per_unit, fraction of peers)` of one figure, at most
    /// [`CDF_STEPS`] + 1 of them, one per distinct value.
    fn cdf(&self, get: Getter, per_unit: f64) -> Vec<(f64, f64)> {
        let v = self.sorted(get);
        let mut out: Vec<(f64, f64)> = Vec::new();
        if v.is_empty() {
            return out;
        }
        let steps = CDF_STEPS.min(v.len());
        for i in 0..=steps {
            let q = i as f64 / steps as f64;
            let x = nearest_rank(&v, q) as f64 / per_unit;
            match out.last_mut() {
                Some(last) if last.0 == x => last.1 = q,
                _ => out.push((x, q)),
            }
        }
        out
    }

    /// `peer_load.csv`: one row per peer.
    pub fn csv(&self) -> String {
        let mut out =
            String::from("node,sessions,messages_sent,bytes_sent,messages_received,bytes_received\n");
        for l in &self.peers {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{}",
                l.node, l.sessions, l.messages_sent, l.bytes_sent, l.messages_received, l.bytes_received
            );
        }
        out
    }
}

/// The unit to show a per-peer byte count of at most `max` in: (name, bytes per unit).
fn bytes_unit(max: f64) -> (&'static str, f64) {
    if max >= 10.0 * 1024.0 * 1024.0 {
        ("MiB", 1024.0 * 1024.0)
    } else if max >= 10.0 * 1024.0 {
        ("KiB", 1024.0)
    } else {
        ("bytes", 1.0)
    }
}

/// The CDF across peers of the messages (or bytes) each sent and received over the run: one line
/// per direction (one run) or per run and direction (compare).
pub fn load_cdf(runs: &[RunView], bytes: bool) -> Result<Figure, ReportError> {
    let figures = if bytes { &FIGURES[2..] } else { &FIGURES[..2] };
    let max = runs
        .iter()
        .flat_map(|r| r.data.agg.load.peers())
        .flat_map(|l| figures.iter().map(move |(_, get)| get(l)))
        .max()
        .unwrap_or(0) as f64;
    let (unit, per_unit) = if bytes { bytes_unit(max) } else { ("messages", 1.0) };
    let mut lines = Vec::new();
    for r in runs {
        for (stem, get) in figures {
            let direction = if stem.ends_with("sent") {
                "sent"
            } else {
                "received"
            };
            lines.push(Line {
                name: name(runs, r, direction),
                points: r.data.agg.load.cdf(*get, per_unit),
            });
        }
    }
    let what = if bytes { "Bytes" } else { "Messages" };
    let chart = LineChart {
        title: format!("{what} per peer over the run (CDF across peers)"),
        x_desc: format!("{} per peer ({unit})", what.to_lowercase()),
        y_desc: "fraction of peers".into(),
        lines,
        y_range: Some((0.0, 1.02)),
        ..LineChart::default()
    };
    line_figure(
        chart,
        "Each honest peer's datagrams over the whole run, all its sessions summed (encoded bytes); \
         received counts every datagram delivered to it.",
        "No peer load recorded (a Peer Distribution run, or records from before peerlab wrote it).",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(node: u32, sent: u64) -> PeerLoad {
        PeerLoad {
            node,
            sessions: 1,
            messages_sent: sent,
            bytes_sent: sent * 100,
            messages_received: 2 * sent,
            bytes_received: 0,
        }
    }

    #[test]
    fn percentiles_are_exact_nearest_ranks_across_peers() {
        let mut l = PeerLoads::default();
        // 1..=200 in a scrambled order.
        for i in 0..200u32 {
            l.push(&peer(i, u64::from((i * 73) % 200 + 1)));
        }
        let m = l.metrics();
        assert_eq!(m["load.messages_sent_per_peer.p50"], 100.0);
        assert_eq!(m["load.messages_sent_per_peer.p90"], 180.0);
        assert_eq!(m["load.messages_sent_per_peer.p99"], 198.0);
        assert_eq!(m["load.messages_sent_per_peer.max"], 200.0);
        assert_eq!(m["load.messages_sent_per_peer.mean"], 100.5);
        assert_eq!(m["load.bytes_sent_per_peer.max"], 20_000.0);
        assert_eq!(m["load.messages_received_per_peer.p50"], 200.0);
        // A figure that is zero for every peer is reported as zero, not left out.
        assert_eq!(m["load.bytes_received_per_peer.max"], 0.0);
        assert_eq!(m.len(), 20);
        assert!(PeerLoads::default().metrics().is_empty());
    }

    #[test]
    fn the_cdf_reaches_one_at_the_largest_load() {
        let mut l = PeerLoads::default();
        for (i, sent) in [5u64, 1, 1, 9].into_iter().enumerate() {
            l.push(&peer(i as u32, sent));
        }
        let cdf = l.cdf(|p| p.messages_sent, 1.0);
        assert_eq!(cdf, vec![(1.0, 0.5), (5.0, 0.75), (9.0, 1.0)]);
        assert!(l.csv().starts_with("node,sessions,"));
        assert_eq!(l.csv().lines().count(), 5);
    }
}
