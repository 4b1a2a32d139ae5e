//! Checks that need the whole scenario: impossible values, times out of order or past the end of
//! the run, names that do not exist.
//!
//! [CHOICE] A range passes only when every value it can take passes: `heal = "9m..13m"` with
//! `at = "10m"` is rejected, since some seeds would heal before the fault.

use super::error::Issue;
use super::names::Names;
use super::printable::excerpt;
use super::schema::{Join, Latency, LinkBandwidth, PeerGroup, Scenario, Session, Target};
use super::spans::KeyPath;
use super::value::Value;
use peerlab_engine::pnrp::FriendlyName;
use peerlab_engine::Duration;
use std::collections::BTreeMap;

/// MTU bounds: IPv6's minimum MTU up to the largest UDP datagram.
pub const MTU_MIN: u64 = 1280;
/// Largest MTU.
pub const MTU_MAX: u64 = 65_535;

/// Every issue in `s`.
pub(crate) fn validate(s: &Scenario) -> Vec<Issue> {
    let mut v = Validator {
        s,
        issues: Vec::new(),
        groups: Names::new(
            s.peers.iter().map(|g| g.name.as_str()),
            "(no [[peers]] groups are defined)",
        ),
    };
    v.top();
    v.bounds();
    v.limits();
    if let Some(d) = &s.distribution {
        v.distribution(d);
        if s.output.trace {
            // The per-message trace watches the PNRP world's datagrams; the distribution world
            // has no observer seam.
            v.push(
                root().key("output").key("trace"),
                "distribution scenarios cannot write a per-message trace",
                "false (trace = true works in PNRP scenarios)",
            );
        }
        return v.issues;
    }
    if s.checks.min_wan_offload.is_some() {
        v.push(
            root().key("checks").key("min_wan_offload"),
            "only distribution scenarios measure WAN offload",
            "remove it, or add [distribution] and [[branch]] tables",
        );
    }
    if let Some(g) = &s.graphing {
        v.graphing(g);
    }
    v.network();
    v.peers();
    v.placement();
    v.workloads();
    v.payloads();
    v.faults();
    v.attackers();
    v.issues
}

/// Walks a scenario and collects issues; `validate_faults.rs` holds its fault and attacker checks.
pub(super) struct Validator<'a> {
    /// The scenario under check.
    pub(super) s: &'a Scenario,
    /// What is wrong so far.
    pub(super) issues: Vec<Issue>,
    /// The peer groups' names.
    pub(super) groups: Names<'a>,
}

/// The document root (shorthand).
pub(super) fn root() -> KeyPath {
    KeyPath::root()
}

impl Validator<'_> {
    pub(super) fn push(&mut self, key: KeyPath, what: impl Into<String>, allowed: impl Into<String>) {
        self.issues.push(Issue::new(key, what, allowed));
    }

    pub(super) fn group_names(&self) -> String {
        self.groups.shown().to_owned()
    }

    /// A group name must exist (`all` too when `allow_all`).
    pub(super) fn group_exists(&mut self, key: KeyPath, name: &str, allow_all: bool) {
        if (allow_all && name == "all") || self.groups.contains(name) {
            return;
        }
        let all = if allow_all { "\"all\", " } else { "" };
        let allowed = format!("{all}{}", self.group_names());
        self.push(
            key,
            format!("there is no peer group \"{}\"", excerpt(name)),
            allowed,
        );
    }

    pub(super) fn positive_duration(&mut self, key: KeyPath, v: &Value<Duration>) {
        if v.lo() == Duration::ZERO {
            self.push(
                key,
                format!("`{v}` must be longer than zero"),
                "a duration above zero such as \"1s\"",
            );
        }
    }

    pub(super) fn positive_number(&mut self, key: KeyPath, v: &Value<f64>, min_exclusive: f64) {
        if v.lo() <= min_exclusive {
            self.push(
                key,
                format!("`{v}` is too small"),
                format!("a number above {min_exclusive}"),
            );
        }
    }

    /// Every value `v` can take lies in `min..=max` (`max` infinite: no upper bound).
    pub(super) fn number_within(&mut self, key: KeyPath, v: &Value<f64>, min: f64, max: f64) {
        let allowed = if max.is_infinite() {
            format!("a number of {min} or more")
        } else {
            format!("a number from {min} to {max}")
        };
        if v.lo() < min {
            self.push(key, format!("`{v}` is too small"), allowed);
        } else if v.hi() > max {
            self.push(key, format!("`{v}` is too large"), allowed);
        }
    }

    pub(super) fn positive_count(&mut self, key: KeyPath, v: &Value<u64>) {
        if v.lo() == 0 {
            self.push(key, format!("`{v}` is zero"), "a whole number of 1 or more");
        }
    }

    /// A time at which something starts must fall inside the run.
    pub(super) fn within_run(&mut self, key: KeyPath, at: &Value<Duration>) {
        if at.hi() >= self.s.duration {
            let what = format!(
                "`{at}` is not before the end of the run ({}), so it never happens",
                self.s.duration
            );
            self.push(
                key,
                what,
                format!("a time from 0 to less than {}", self.s.duration),
            );
        }
    }

    /// `later` must come after `earlier` for every value both can take.
    pub(super) fn ordered(
        &mut self,
        key: KeyPath,
        later: &Value<Duration>,
        earlier: &Value<Duration>,
        earlier_key: &str,
    ) {
        if later.lo() <= earlier.hi() {
            let what = format!("`{later}` is not after `{earlier_key}` (`{earlier}`)");
            self.push(key, what, format!("a time later than {}", earlier.hi()));
        }
    }

    fn top(&mut self) {
        let s = self.s;
        if s.duration == Duration::ZERO {
            self.push(
                root().key("duration"),
                "the run lasts zero time",
                "a duration above zero such as \"20m\"",
            );
        }
        if s.name.trim().is_empty() || s.name.contains(['/', '\\']) || s.name.chars().any(char::is_control) {
            self.push(
                root().key("name"),
                format!("\"{}\" cannot name a run directory", excerpt(&s.name)),
                "a non-empty name without slashes or control characters",
            );
        }
        if s.output.sample_every == Duration::ZERO || s.output.sample_every > s.duration {
            let what = format!(
                "`{}` does not fit the run ({})",
                s.output.sample_every, s.duration
            );
            self.push(
                root().key("output").key("sample_every"),
                what,
                "a duration above zero and at most the run's duration",
            );
        }
        if s.output.warmup >= s.duration {
            self.push(
                root().key("output").key("warmup"),
                format!(
                    "`{}` leaves nothing of the run ({}) to report",
                    s.output.warmup, s.duration
                ),
                "a duration shorter than the run, such as \"2m\" (default 0)",
            );
        }
        if s.checks.liveness_within == Duration::ZERO {
            self.push(
                root().key("checks").key("liveness_within"),
                "zero leaves no time to recover",
                "a duration above zero such as \"2m\"",
            );
        }
        if s.distribution.is_some() {
            return;
        }
        // The protocol's own bounds (engine/src/pnrp/config_check.rs), each at its key.
        for issue in s.pnrp.config.issues() {
            self.push(root().key("pnrp").key(issue.key), issue.what, issue.allowed);
        }
        let seeds = root().key("pnrp").key("seed_servers");
        self.positive_count(seeds.clone(), &s.pnrp.seed_servers);
        // Each cloud has its own seed servers (MS-PNRP §1.3.3), picked among its own members:
        // (peers of groups with seed_server = true, all peers) per cloud, in one pass.
        // Clouds in file order, so that of equal limits the first cloud is named.
        let mut index: BTreeMap<&str, usize> = BTreeMap::new();
        let mut clouds: Vec<(&str, u64, u64)> = Vec::new();
        for g in &s.peers {
            let i = *index.entry(g.cloud.as_str()).or_insert_with(|| {
                clouds.push((g.cloud.as_str(), 0, 0));
                clouds.len() - 1
            });
            let c = &mut clouds[i];
            if g.seed_server {
                c.1 = c.1.saturating_add(g.count.lo());
            }
            c.2 = c.2.saturating_add(g.count.lo());
        }
        let mut worst: Option<(u64, String)> = None;
        for &(cloud, hosts, all) in &clouds {
            let (limit, of) = if hosts > 0 {
                (hosts, "peers in groups with seed_server = true")
            } else {
                (all, "peers")
            };
            let of = if clouds.len() > 1 {
                format!("{of} in cloud \"{}\"", excerpt(cloud))
            } else {
                of.to_string()
            };
            if worst.as_ref().is_none_or(|(l, _)| limit < *l) {
                worst = Some((limit, of));
            }
        }
        // A cloud of zero peers is already reported at its groups' `count`.
        if let Some((limit, of)) = worst.filter(|(limit, _)| *limit > 0) {
            if s.pnrp.seed_servers.hi() > limit {
                let what = format!("{} seed servers but only {limit} {of}", s.pnrp.seed_servers);
                let per = if clouds.len() > 1 { " (per cloud)" } else { "" };
                self.push(seeds, what, format!("1 to {limit}{per}"));
            }
        }
    }

    fn latency(&mut self, key: KeyPath, l: &Latency, in_group: bool) {
        match l {
            Latency::Constant { .. } => {}
            Latency::Uniform { min, max } => {
                if max.lo() < min.hi() {
                    self.push(
                        key.key("max"),
                        format!("`{max}` is less than min (`{min}`)"),
                        "max >= min",
                    );
                }
            }
            Latency::Internet { median, tail } => {
                self.positive_duration(key.key("median"), median);
                self.positive_number(key.key("tail"), tail, 0.0);
                // The upper bound of the network model (net/latency.rs): beyond it the lognormal
                // access delays overflow the calibration.
                let max = crate::net::TAIL_MAX;
                if tail.hi() > max {
                    self.push(
                        key.key("tail"),
                        format!("`{tail}` is too large"),
                        format!("a number above 0 and at most {max}"),
                    );
                }
            }
            Latency::Matrix { file, groups } => {
                if in_group {
                    self.push(
                        key.key("model"),
                        "a group cannot have its own matrix",
                        "\"constant\", \"uniform\", \"internet\"",
                    );
                }
                if file.trim().is_empty() {
                    self.push(
                        key.key("file"),
                        "the file name is empty",
                        "a CSV path relative to the scenario file",
                    );
                }
                if let Some(groups) = groups {
                    self.matrix_groups(key.key("groups"), groups);
                }
            }
        }
    }

    /// Each `[[peers]]` group must have exactly one row of the latency matrix.
    fn matrix_groups(&mut self, key: KeyPath, groups: &[String]) {
        let rows = Names::new(groups.iter().map(String::as_str), "");
        for (i, g) in groups.iter().enumerate() {
            self.group_exists(key.index(i), g, false);
            if rows.is_repeat(g, i) {
                self.push(
                    key.index(i),
                    format!("\"{}\" has two rows", excerpt(g)),
                    "each group once",
                );
            }
        }
        for g in self.s.peers.iter().filter(|p| !rows.contains(&p.name)) {
            let what = format!("group \"{}\" has no row in the matrix", excerpt(&g.name));
            self.push(
                key.clone(),
                what,
                format!("every group once: {}", self.group_names()),
            );
        }
    }

    fn bandwidth(&mut self, key: KeyPath, b: &LinkBandwidth) {
        for (name, v) in [("up", &b.up), ("down", &b.down)] {
            if v.is_some_and(|v| v.lo().bps() == 0) {
                self.push(
                    key.key(name),
                    "zero bandwidth sends nothing",
                    "a bandwidth above zero such as \"2Mbps\" (or leave it out: unlimited)",
                );
            }
        }
        let mtu = self.s.network.mtu.hi();
        if b.queue.lo().bytes() < mtu {
            let what = format!("a queue of `{}` cannot hold one {mtu}-byte datagram", b.queue);
            self.push(key.key("queue"), what, format!("at least the MTU, {mtu}B"));
        }
    }

    fn network(&mut self) {
        let n = &self.s.network;
        let key = root().key("network");
        self.latency(key.key("latency"), &n.latency, false);
        if n.mtu.lo() < MTU_MIN || n.mtu.hi() > MTU_MAX {
            self.push(
                key.key("mtu"),
                format!("`{}` is out of range", n.mtu),
                format!("{MTU_MIN} to {MTU_MAX}"),
            );
        }
        if let Some(b) = &n.bandwidth {
            self.bandwidth(key.key("bandwidth"), b);
        }
    }

    pub(super) fn join(&mut self, key: KeyPath, j: &Join) {
        match j {
            Join::AtStart => {}
            Join::At { at } => self.within_run(key.key("at"), at),
            Join::Ramp { over, start } => {
                self.positive_duration(key.key("over"), over);
                self.within_run(key.key("start"), start);
            }
            Join::Poisson { rate, start } => {
                if rate.lo().is_zero() {
                    self.push(
                        key.key("rate"),
                        format!("`{rate}` never brings anyone"),
                        "a rate above zero such as \"5/s\"",
                    );
                }
                self.within_run(key.key("start"), start);
            }
        }
    }

    fn peers(&mut self) {
        if self.s.peers.is_empty() {
            self.push(
                root().key("peers"),
                "there are no peers",
                "at least one [[peers]] table with a name and a count",
            );
        }
        for (i, g) in self.s.peers.iter().enumerate() {
            self.group(root().key("peers").index(i), i, g);
        }
    }

    fn group(&mut self, key: KeyPath, i: usize, g: &PeerGroup) {
        if g.name.trim().is_empty() || g.name == "all" || g.name.chars().any(char::is_control) {
            self.push(
                key.key("name"),
                format!("\"{}\" cannot name a group", excerpt(&g.name)),
                "a non-empty name other than \"all\", without control characters",
            );
        } else if self.groups.is_repeat(&g.name, i) {
            self.push(
                key.key("name"),
                format!("\"{}\" names two groups", excerpt(&g.name)),
                "a name no other group has",
            );
        }
        self.positive_count(key.key("count"), &g.count);
        self.join(key.key("join"), &g.join);
        if let Some(session) = &g.session {
            self.session(key.key("session"), session);
        }
        if g.cloud.trim().is_empty() {
            self.push(
                key.key("cloud"),
                "the cloud name is empty",
                "a cloud name such as \"Global_\"",
            );
        } else if g.cloud.chars().any(char::is_control) {
            self.push(
                key.key("cloud"),
                format!("\"{}\" has control characters", excerpt(&g.cloud)),
                "a cloud name without control characters, such as \"Global_\"",
            );
        }
        if let Some(b) = &g.bandwidth {
            self.bandwidth(key.key("bandwidth"), b);
        }
        if let Some(l) = &g.latency {
            self.latency(key.key("latency"), l, true);
        }
        if let Some(Err(e)) = g.friendly_name.as_deref().map(FriendlyName::utf16) {
            let allowed = "1 to 39 characters (at most 78 bytes as UTF-16), without NUL";
            self.push(key.key("friendly_name"), e.to_string(), allowed);
        }
        if let Some(a) = g.service_location_prefix.filter(|a| u128::from(*a) as u64 != 0) {
            let what = format!("{a} has bits set in its low 64 bits");
            let allowed = "a /64 prefix written as an IPv6 address, such as \"2001:db8:0:1::\"";
            self.push(key.key("service_location_prefix"), what, allowed);
        }
    }

    /// A session model's parameters, with the bounds `churn.rs` enforces.
    pub(super) fn session(&mut self, sk: KeyPath, session: &Session) {
        match session {
            Session::Exponential { mean } => self.positive_duration(sk.key("mean"), mean),
            Session::Weibull { mean, shape } => {
                self.positive_duration(sk.key("mean"), mean);
                let min = crate::churn::WEIBULL_SHAPE_MIN;
                self.number_within(sk.key("shape"), shape, min, f64::INFINITY);
            }
            Session::Pareto { mean, shape } => {
                self.positive_duration(sk.key("mean"), mean);
                // A Pareto mean exists only for shape > 1.
                self.positive_number(sk.key("shape"), shape, 1.0);
            }
            Session::Fixed { length } => self.positive_duration(sk.key("length"), length),
            Session::Trace { file } if file.trim().is_empty() => {
                self.push(
                    sk.key("file"),
                    "the file name is empty",
                    "a path relative to the scenario file",
                );
            }
            Session::Trace { .. } => {}
        }
    }

    fn workloads(&mut self) {
        for (i, w) in self.s.workload.iter().enumerate() {
            let key = root().key("workload").index(i);
            self.group_exists(key.key("from"), &w.from, true);
            self.within_run(key.key("start"), &w.start);
            if let Some(stop) = &w.stop {
                self.ordered(key.key("stop"), stop, &w.start, "start");
            }
            if w.rate.lo().is_zero() {
                self.push(
                    key.key("rate"),
                    format!("`{}` starts no operation", w.rate),
                    "a rate above zero such as \"50/s\"",
                );
            }
            if let Target::Zipf { exponent } = &w.target {
                self.positive_number(key.key("target").key("exponent"), exponent, 0.0);
            }
            self.positive_duration(key.key("timeout"), &w.timeout);
        }
    }
}
