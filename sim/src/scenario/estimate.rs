//! What a run will cost, estimated from the scenario alone (no per-peer state is built), and
//! whether it fits in this machine's memory.
//!
//! [CHOICE] A linear model calibrated on the PNRP reference scenarios (ed25519, default timers):
//! stable-1k (565 641 events, 1 000 peers, 15 min), stable-10k (5 332 772 events, 10 000 peers,
//! 20 min, 277 MB peak) and churn (4 160 075 events, 2 000 peers with Weibull churn, 1 h) fit
//! 0.4 timer events per peer per simulated second (at a 15 s maintenance period and leaf-set
//! liveness interval), 34 events per join, 30 per operation, within 5%. Memory is 40 KB per
//! peer (stable-10k: 28 KB; flash-crowd: 38 KB) plus 1 KB per extra name and a 32 MB base; wall
//! time 1.1 µs per event on an idle core (3 to 5 µs were measured on a busy shared machine) plus
//! key generation. It is an estimate, printed as one.

use super::schema::{Scenario, Session};
use peerlab_engine::crypto::Scheme;
use peerlab_engine::Duration;

/// Timer events per peer per simulated second at the default periods.
const TIMER_EVENTS_PER_PEER_S: f64 = 0.4;
/// The default maintenance period and leaf-set liveness interval the timer rate was measured at.
const DEFAULT_PERIOD_S: f64 = 15.0;
/// Events per join (bootstrap, cache synchronization, registration flood).
const EVENTS_PER_JOIN: f64 = 34.0;
/// Events per operation (a resolve's hops, each a request and an answer).
const EVENTS_PER_OP: f64 = 30.0;
/// Memory per peer, bytes.
const BYTES_PER_PEER: f64 = 40e3;
/// Memory per name a peer registers beyond its first, bytes.
const BYTES_PER_NAME: f64 = 1e3;
/// Memory of the process before any peer, bytes.
const BASE_BYTES: f64 = 32e6;
/// Wall time per event on an idle core, seconds.
const SECS_PER_EVENT: f64 = 1.1e-6;
/// Key generation per identity, seconds (RSA-1024 / Ed25519).
const KEYGEN_SECS_RSA: f64 = 10e-3;
const KEYGEN_SECS_ED25519: f64 = 30e-6;

/// A run's estimated size.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// Peers, honest and attackers (upper ends of ranges).
    pub peers: u64,
    /// Events the run will process.
    pub events: f64,
    /// Peak memory, bytes.
    pub memory_bytes: f64,
    /// Wall time, seconds.
    pub wall_s: f64,
}

/// This machine's memory, from /proc/meminfo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemInfo {
    /// `MemTotal`, bytes.
    pub total: u64,
    /// `MemAvailable`, bytes.
    pub available: u64,
}

/// Estimates above either figure are printed before the run.
const NOTE_WALL_S: f64 = 60.0;
const NOTE_BYTES: f64 = 1e9;

impl Estimate {
    /// The estimate of a PNRP scenario's run; `None` for a distribution scenario.
    pub fn of(s: &Scenario) -> Option<Estimate> {
        if s.distribution.is_some() {
            return None;
        }
        let run_s = s.duration.as_secs_f64();
        let honest: u64 = s.peers.iter().map(|g| g.count.hi()).fold(0, u64::saturating_add);
        let attackers: u64 = s
            .attackers
            .iter()
            .map(|a| match (&a.count, &a.fraction) {
                (Some(c), _) => c.hi(),
                (None, Some(f)) => f.hi().of(honest),
                (None, None) => 0,
            })
            .fold(0, u64::saturating_add);
        let peers = honest.saturating_add(attackers);
        let c = &s.pnrp.config;
        let period = |d: Duration| DEFAULT_PERIOD_S / d.as_secs_f64().max(1.0);
        let timer_rate = TIMER_EVENTS_PER_PEER_S
            * (period(c.maintenance_period) + period(c.leaf_set_liveness_interval))
            / 2.0;
        let mut joins = peers as f64;
        let mut names = 0.0;
        for g in &s.peers {
            let n = g.count.hi() as f64;
            names += n * (g.names.secured.hi() + g.names.unsecured.hi()).saturating_sub(1) as f64;
            // Each session and offline spell is one rejoin; a trace's lengths are not read here.
            let session = match &g.session {
                Some(Session::Exponential { mean })
                | Some(Session::Weibull { mean, .. })
                | Some(Session::Pareto { mean, .. }) => mean.lo(),
                Some(Session::Fixed { length }) => length.lo(),
                Some(Session::Trace { .. }) | None => continue,
            };
            if let Some(r) = &g.rejoin {
                let cycle = (session.as_secs_f64() + r.after.lo().as_secs_f64()).max(1.0);
                joins += n * run_s / cycle;
            }
        }
        let ops: f64 = s
            .workload
            .iter()
            .map(|w| {
                let stop = w.stop.as_ref().map_or(s.duration, |v| v.hi());
                let active = stop.as_secs_f64() - w.start.lo().as_secs_f64();
                w.rate.hi().per_sec_f64() * active.max(0.0)
            })
            .sum();
        let events = peers as f64 * run_s * timer_rate + joins * EVENTS_PER_JOIN + ops * EVENTS_PER_OP;
        let keygen = match s.pnrp.crypto {
            Scheme::Rsa1024Sha1 => KEYGEN_SECS_RSA,
            Scheme::Ed25519 => KEYGEN_SECS_ED25519,
        };
        Some(Estimate {
            peers,
            events,
            memory_bytes: BASE_BYTES + peers as f64 * BYTES_PER_PEER + names * BYTES_PER_NAME,
            wall_s: events * SECS_PER_EVENT + peers as f64 * keygen,
        })
    }

    /// Whether the run is big enough to say what it will cost before starting it.
    pub fn is_large(&self) -> bool {
        self.wall_s >= NOTE_WALL_S || self.memory_bytes >= NOTE_BYTES
    }

    /// One line for people: peers, events, memory and wall time, said to be an estimate.
    pub fn line(&self) -> String {
        format!(
            "estimate (from the scenario, roughly): {} peers · {:.1e} events · {} of memory · {} wall time at {:.1} µs per event",
            self.peers,
            self.events,
            bytes(self.memory_bytes),
            wall(self.wall_s),
            SECS_PER_EVENT * 1e6
        )
    }

    /// `Err` with the reason when the estimated memory exceeds what this machine has available.
    pub fn fits(&self, mem: Option<MemInfo>) -> Result<(), String> {
        let Some(mem) = mem else { return Ok(()) };
        if self.memory_bytes <= mem.available as f64 {
            return Ok(());
        }
        Err(format!(
            "the run needs about {} of memory, and this machine has {} available ({} in all); make it smaller, or pass --force to run it anyway",
            bytes(self.memory_bytes),
            bytes(mem.available as f64),
            bytes(mem.total as f64)
        ))
    }
}

/// `MemTotal` and `MemAvailable` of a /proc/meminfo text (values in kB).
pub fn parse_meminfo(text: &str) -> Option<MemInfo> {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb.saturating_mul(1024))
    };
    Some(MemInfo {
        total: field("MemTotal")?,
        available: field("MemAvailable")?,
    })
}

fn bytes(b: f64) -> String {
    if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else {
        format!("{:.0} MB", b / 1e6)
    }
}

fn wall(s: f64) -> String {
    match s {
        s if s >= 86_400.0 => format!("{:.1} days", s / 86_400.0),
        s if s >= 3_600.0 => format!("{:.1} h", s / 3_600.0),
        s if s >= 60.0 => format!("{:.0} min", s / 60.0),
        s => format!("{s:.0} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse;

    fn estimate(path: &str) -> Estimate {
        let file = format!("{}/../scenarios/pnrp/{path}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&file).unwrap();
        Estimate::of(&parse(&text, &file).unwrap()).unwrap()
    }

    #[test]
    fn the_reference_runs_are_estimated_within_their_calibration() {
        // Measured: events of a real run of each scenario (see the module's note).
        for (file, events) in [
            ("stable-1k.toml", 565_641.0),
            ("stable-10k.toml", 5_332_772.0),
            ("churn.toml", 4_160_075.0),
        ] {
            let e = estimate(file);
            let err = (e.events - events).abs() / events;
            assert!(
                err < 0.15,
                "{file}: {} events estimated, {events} measured",
                e.events
            );
        }
        let e = estimate("stable-10k.toml");
        assert!((2.5e8..5e8).contains(&e.memory_bytes), "{e:?}");
        assert!(!e.is_large());
    }

    #[test]
    fn ten_million_peers_for_a_month_is_large_and_does_not_fit_a_small_machine() {
        let s = parse(
            "name = \"x\"\nduration = \"30d\"\n[output]\nsample_every = \"1h\"\n[[peers]]\nname = \"p\"\ncount = 10000000\n",
            "x.toml",
        )
        .unwrap();
        let e = Estimate::of(&s).unwrap();
        assert!(
            e.is_large() && e.memory_bytes > 4e11 && e.wall_s > 86_400.0,
            "{e:?}"
        );
        assert!(e.line().contains("10000000 peers") && e.line().contains("days"));
        let small = MemInfo {
            total: 16 << 30,
            available: 8 << 30,
        };
        let why = e.fits(Some(small)).unwrap_err();
        assert!(why.contains("--force"), "{why}");
        assert!(e.fits(None).is_ok());
    }

    #[test]
    fn meminfo_is_read_in_bytes() {
        let m = parse_meminfo("MemTotal:       24000000 kB\nMemFree: 1 kB\nMemAvailable:   20000000 kB\n");
        assert_eq!(
            m,
            Some(MemInfo {
                total: 24_000_000 * 1024,
                available: 20_000_000 * 1024
            })
        );
        assert_eq!(parse_meminfo("MemTotal: 5 kB\n"), None);
    }
}
