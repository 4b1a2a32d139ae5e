//! Checks of a distribution scenario as a whole: names that exist and are unique, sizes and
//! speeds above zero, fetch patterns with the keys they need, times inside the run.

use super::distribution::{DistMode, Distribution, FetchPattern};
use super::names::Names;
use super::printable::excerpt;
use super::validate::{root, Validator};
use peerlab_engine::Duration;

/// Most machines (clients, attackers, hosted caches) a distribution scenario may have.
pub const DIST_NODES_MAX: u64 = 1_000_000;
/// Largest content: the network model carries a message's length as a `u32`.
pub const CONTENT_SIZE_MAX: u64 = u32::MAX as u64 - 65_536;

impl Validator<'_> {
    fn branch_names(d: &Distribution) -> Names<'_> {
        Names::new(
            d.branches.iter().map(|b| b.name.as_str()),
            "(no [[branch]] tables are defined)",
        )
    }

    fn content_names(d: &Distribution) -> Names<'_> {
        Names::new(
            d.content.iter().map(|c| c.name.as_str()),
            "(no [[distribution.content]] tables are defined)",
        )
    }

    /// Every issue of the distribution part of the scenario.
    pub(super) fn distribution(&mut self, d: &Distribution) {
        let dist = root().key("distribution");
        if d.content.is_empty() {
            self.push(
                dist.key("content"),
                "the origin publishes nothing",
                "at least one [[distribution.content]] table with a name and a size",
            );
        }
        let contents = Self::content_names(d);
        for (i, c) in d.content.iter().enumerate() {
            let key = dist.key("content").index(i);
            if contents.is_repeat(&c.name, i) || c.name.chars().any(char::is_control) {
                self.push(
                    key.key("name"),
                    format!("\"{}\" is named twice or unprintable", excerpt(&c.name)),
                    "unique content names without control characters",
                );
            }
            if c.size.bytes() == 0 || c.size.bytes() > CONTENT_SIZE_MAX {
                let what = format!("{} bytes cannot be published", c.size.bytes());
                self.push(
                    key.key("size"),
                    what,
                    format!("1 byte to {CONTENT_SIZE_MAX} bytes"),
                );
            }
        }
        if !d.content.is_empty() && d.content.iter().all(|c| c.weight == 0) {
            self.push(
                dist.key("content"),
                "every content has weight 0, so unnamed fetches have nothing to pick",
                "a weight of 1 or more on at least one content",
            );
        }
        for (key, bw) in [("up", d.server.up), ("down", d.server.down)] {
            if bw.bps() == 0 {
                self.push(
                    dist.key("server").key(key),
                    "a speed of zero carries nothing",
                    "a speed such as \"1Gbps\"",
                );
            }
        }
        self.branches(d);
        self.fetches(d);
        self.dist_attackers(d);
        if d.config.hash_rate_bytes_per_sec == 0 {
            self.push(
                dist.key("hash_rate_bytes_per_sec"),
                "the origin would never finish hashing",
                "a rate above zero such as 200000000",
            );
        }
    }

    fn branches(&mut self, d: &Distribution) {
        if d.branches.is_empty() {
            self.push(
                root().key("branch"),
                "there are no branch offices",
                "at least one [[branch]] table with a name, clients and a wan",
            );
        }
        let mut nodes = 0u64;
        let names = Self::branch_names(d);
        for (i, b) in d.branches.iter().enumerate() {
            let key = root().key("branch").index(i);
            if names.is_repeat(&b.name, i) || b.name == "all" || b.name.chars().any(char::is_control) {
                self.push(
                    key.key("name"),
                    format!("\"{}\" is taken or unprintable", excerpt(&b.name)),
                    "a unique name other than \"all\", without control characters",
                );
            }
            if b.clients == 0 {
                self.push(
                    key.key("clients"),
                    "a branch with no clients",
                    "a whole number of 1 or more",
                );
            }
            nodes = nodes.saturating_add(b.clients);
            for (k, bw) in [("up", b.wan.up), ("down", b.wan.down)] {
                if bw.bps() == 0 {
                    let what = "a WAN speed of zero carries nothing";
                    self.push(key.key("wan").key(k), what, "a speed such as \"10Mbps\"");
                }
            }
            if b.lan.bandwidth.bps() == 0 {
                let what = "a LAN speed of zero carries nothing";
                self.push(key.key("lan").key("bandwidth"), what, "a speed such as \"1Gbps\"");
            }
            if d.mode == DistMode::HostedCache && !b.hosted_cache {
                self.push(
                    key.key("hosted_cache"),
                    format!("mode is \"hosted-cache\" but branch \"{}\" has none", b.name),
                    "hosted_cache = true in every branch, or [distribution] mode = \"distributed\"",
                );
            }
            if let Some(session) = &b.session {
                self.session(key.key("session"), session);
            }
            if let Some(r) = &b.rejoin {
                if b.session.is_none() {
                    let what = "rejoin without a session: nobody ever leaves";
                    self.push(key.key("rejoin"), what, "add `session`, or remove `rejoin`");
                }
                self.positive_duration(key.key("rejoin").key("after"), &r.after);
            }
        }
        if nodes > DIST_NODES_MAX {
            let what = format!("{nodes} clients in all");
            self.push(root().key("branch"), what, format!("at most {DIST_NODES_MAX}"));
        }
    }

    fn branch_exists(&mut self, names: &Names<'_>, key: super::spans::KeyPath, name: &str, allow_all: bool) {
        if (allow_all && name == "all") || names.contains(name) {
            return;
        }
        let all = if allow_all { "\"all\", " } else { "" };
        let allowed = format!("{all}{}", names.shown());
        self.push(key, format!("there is no branch \"{}\"", excerpt(name)), allowed);
    }

    fn content_exists(&mut self, names: &Names<'_>, key: super::spans::KeyPath, name: &Option<String>) {
        if let Some(n) = name.as_deref().filter(|n| !names.contains(n)) {
            let what = format!("there is no content \"{}\"", excerpt(n));
            self.push(key, what, names.shown());
        }
    }

    fn fetches(&mut self, d: &Distribution) {
        let run = self.s.duration;
        let (branches, contents) = (Self::branch_names(d), Self::content_names(d));
        for (i, w) in d.fetches.iter().enumerate() {
            let key = root().key("workload").index(i);
            self.branch_exists(&branches, key.key("branch"), &w.branch, true);
            self.content_exists(&contents, key.key("content"), &w.content);
            if w.start >= run {
                let what = format!("`{}` is not before the end of the run ({run})", w.start);
                self.push(
                    key.key("start"),
                    what,
                    format!("a time from 0 to less than {run}"),
                );
            }
            match w.pattern {
                FetchPattern::FlashCrowd => {
                    if w.rate.is_some() || w.stop.is_some() {
                        let k = if w.rate.is_some() { "rate" } else { "stop" };
                        let what = format!("`{k}` belongs to the trickle pattern");
                        self.push(key.key(k), what, "`window` and `fraction` for a flash crowd");
                    }
                    match w.window {
                        None => self.push(
                            key.key("window"),
                            "a flash crowd needs the window its fetches fall in",
                            "a duration such as \"10m\"",
                        ),
                        Some(win) if win == Duration::ZERO => {
                            self.push(key.key("window"), "a window of zero", "a duration above zero")
                        }
                        _ => {}
                    }
                }
                FetchPattern::Trickle => {
                    if w.window.is_some() {
                        let what = "`window` belongs to the flash-crowd pattern";
                        self.push(key.key("window"), what, "`rate` (and `stop`) for a trickle");
                    }
                    match w.rate {
                        None => self.push(
                            key.key("rate"),
                            "a trickle needs a rate",
                            "a rate such as \"2/m\"",
                        ),
                        Some(r) if r.is_zero() => self.push(
                            key.key("rate"),
                            format!("`{r}` never fetches"),
                            "a rate above zero",
                        ),
                        _ => {}
                    }
                    if let Some(stop) = w.stop.filter(|s| *s <= w.start) {
                        let what = format!("`{stop}` is not after `start` (`{}`)", w.start);
                        self.push(key.key("stop"), what, format!("a time later than {}", w.start));
                    }
                }
            }
        }
    }

    fn dist_attackers(&mut self, d: &Distribution) {
        let (branches, contents) = (Self::branch_names(d), Self::content_names(d));
        for (i, a) in d.attackers.iter().enumerate() {
            let key = root().key("attackers").index(i);
            self.branch_exists(&branches, key.key("branch"), &a.branch, false);
            self.content_exists(&contents, key.key("content"), &a.content);
            if a.count == 0 || a.count > DIST_NODES_MAX {
                self.push(
                    key.key("count"),
                    format!("{} attackers", a.count),
                    format!("1 to {DIST_NODES_MAX}"),
                );
            }
            if a.start >= self.s.duration {
                let what = format!("`{}` is not before the end of the run", a.start);
                self.push(
                    key.key("start"),
                    what,
                    format!("a time less than {}", self.s.duration),
                );
            }
        }
    }
}
