//! From a TOML table to a typed `Scenario`, one section at a time so that one bad section does not
//! hide the errors of the others.
//!
//! Each value is deserialized from TOML text (re-serialized after `--set` edits), so toml's error
//! spans lead back, through a `SpanIndex`, to the key path the error is about.

use super::distribution::{Distribution, DIST_SIM_KEYS};
use super::error::Issue;
use super::recover::de_value_all;
use super::schema::{Checks, Network, Output, Pnrp, Scenario};
use super::spans::{KeyPath, Seg, SpanIndex};
use super::units::Scalar;
use super::value::Value;
use peerlab_engine::dist::DistConfig;
use peerlab_engine::pnrp::PnrpConfig;
use peerlab_engine::Duration;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::path::PathBuf;

/// Top-level keys of a scenario file.
pub(crate) const TOP_KEYS: [&str; 16] = [
    "name",
    "description",
    "seed",
    "duration",
    "network",
    "pnrp",
    "peers",
    "workload",
    "fault",
    "attackers",
    "checks",
    "output",
    "distribution",
    "branch",
    "graphing",
    "subnet",
];

/// Top-level keys only a PNRP scenario may have (design note in `distribution.rs`).
pub(crate) const PNRP_ONLY_KEYS: [&str; 5] = ["pnrp", "peers", "fault", "network", "subnet"];

/// `[pnrp]` keys the simulator takes for itself; the rest go to `PnrpConfig`.
pub(crate) const PNRP_SIM_KEYS: [&str; 5] = [
    "seed_servers",
    "crypto",
    "wire_bytes",
    "resolve_only",
    "delegated",
];

fn list(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Deserialize)]
#[serde(bound = "T: DeserializeOwned")]
struct Wrap<T> {
    v: T,
}

/// The value at `path` below `value`.
pub(crate) fn lookup<'a>(value: &'a toml::Value, path: &KeyPath) -> Option<&'a toml::Value> {
    path.0.iter().try_fold(value, |v, seg| match (seg, v) {
        (Seg::Key(k), toml::Value::Table(t)) => t.get(k),
        (Seg::Index(i), toml::Value::Array(a)) => a.get(*i),
        _ => None,
    })
}

/// Deserializes `value`, which sits at `path`, into `T`; an error names the innermost key.
pub(crate) fn de_value<T: DeserializeOwned>(value: &toml::Value, path: &KeyPath) -> Result<T, Issue> {
    let mut table = toml::Table::new();
    table.insert("v".to_owned(), value.clone());
    let Ok(text) = toml::to_string(&table) else {
        return T::deserialize(value.clone()).map_err(|e| Issue::from_message(path.clone(), e.message()));
    };
    toml::from_str::<Wrap<T>>(&text).map(|w| w.v).map_err(|e| {
        let index = SpanIndex::build(&text);
        let rel = e.span().map(|s| index.path_at(s.start)).unwrap_or_default();
        let rel = KeyPath(rel.0.into_iter().skip(1).collect());
        let mut issue = Issue::from_message(path.join(&rel), e.message());
        if issue.at.is_none() && !issue.what.starts_with("unknown key") {
            if let Some(inner) = lookup(value, &rel).and_then(|v| quoted_leaf(v, e.message())) {
                issue.key = path.join(&rel).join(&inner);
            }
        }
        issue
    })
}

/// Errors inside a tagged table (`join = { model = "ramp", over = "2 parsecs" }`) come without a
/// span below the table; find the leaf whose text the message quotes.
fn quoted_leaf(value: &toml::Value, msg: &str) -> Option<KeyPath> {
    // Only the "what" half: the allowed half quotes examples, not the user's text.
    let what = msg.split("; allowed: ").next().unwrap_or(msg);
    let what = what.split(", expected ").next().unwrap_or(what);
    let quoted = |s: &str| what.contains(&format!("`{s}`")) || what.contains(&format!("\"{s}\""));
    let children: Vec<(Seg, &toml::Value)> = match value {
        toml::Value::Table(t) => t.iter().map(|(k, v)| (Seg::Key(k.clone()), v)).collect(),
        toml::Value::Array(a) => a.iter().enumerate().map(|(i, v)| (Seg::Index(i), v)).collect(),
        _ => return None,
    };
    for (seg, child) in children {
        let hit = match child {
            toml::Value::String(s) => quoted(s),
            toml::Value::Integer(_) | toml::Value::Float(_) => quoted(&child.to_string()),
            other => return quoted_leaf(other, msg).map(|rest| KeyPath(vec![seg.clone()]).join(&rest)),
        };
        if hit {
            return Some(KeyPath(vec![seg]));
        }
    }
    None
}

/// Collects issues while decoding.
#[derive(Default)]
struct Decoder {
    issues: Vec<Issue>,
    /// Some table could not be decoded even without its bad keys (a required key is bad), so the
    /// scenario cannot be validated as a whole.
    incomplete: bool,
}

impl Decoder {
    /// `table[key]` as `T`, or `default` when absent (`None` default: the key is required).
    fn field<T: DeserializeOwned>(
        &mut self,
        table: &toml::Table,
        base: &KeyPath,
        key: &str,
        default: Option<T>,
    ) -> Option<T> {
        let path = base.key(key);
        match table.get(key) {
            Some(v) => self.all(v, &path),
            None if default.is_none() => {
                let what = format!("required key `{key}` is missing");
                self.issues
                    .push(Issue::new(path, what, "add it (see scenarios/README.md)").at(base.clone()));
                None
            }
            None => default,
        }
    }

    /// `value` as `T` with every problem of its table recorded (see `recover.rs`).
    fn all<T: DeserializeOwned>(&mut self, value: &toml::Value, path: &KeyPath) -> Option<T> {
        let (t, issues) = de_value_all(value, path);
        self.issues.extend(issues);
        self.incomplete |= t.is_none();
        t
    }

    /// A single (non-range) scalar.
    fn fixed<T: Scalar + DeserializeOwned>(
        &mut self,
        table: &toml::Table,
        base: &KeyPath,
        key: &str,
        default: Option<T>,
    ) -> Option<T> {
        match self.field::<Value<T>>(table, base, key, default.map(Value::Fixed))? {
            Value::Fixed(v) => Some(v),
            range @ Value::Range(..) => {
                let what = format!("`{range}` is a range, which this key does not take");
                self.issues.push(Issue::new(base.key(key), what, T::ALLOWED));
                None
            }
        }
    }

    /// `[[key]]` as a list, decoding each entry on its own.
    fn list<T: DeserializeOwned>(&mut self, table: &toml::Table, key: &str) -> Vec<T> {
        let path = KeyPath::root().key(key);
        match table.get(key) {
            None => Vec::new(),
            Some(toml::Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| self.all(v, &path.index(i)))
                .collect(),
            Some(other) => {
                let what = format!("`{key}` is not an array of tables (found {})", other.type_str());
                self.issues
                    .push(Issue::new(path, what, format!("one `[[{key}]]` table per entry")));
                Vec::new()
            }
        }
    }

    fn pnrp(&mut self, value: Option<&toml::Value>) -> Pnrp {
        let mut pnrp = Pnrp::default();
        let path = KeyPath::root().key("pnrp");
        let table = match value {
            None => return pnrp,
            Some(toml::Value::Table(t)) => t,
            Some(other) => {
                let what = format!("wrong type: found {}", other.type_str());
                self.issues.push(Issue::new(path, what, "a table `[pnrp]`"));
                return pnrp;
            }
        };
        // docs/architecture.md §5, a peerlab choice: simulator-level keys are taken out, the remainder must be
        // exactly PnrpConfig (deny_unknown_fields) so an unknown key lists both sets.
        let mut rest = table.clone();
        for key in PNRP_SIM_KEYS {
            rest.remove(key);
        }
        if let Some(v) = self.field(table, &path, "seed_servers", Some(pnrp.seed_servers)) {
            pnrp.seed_servers = v;
        }
        if let Some(v) = self.field(table, &path, "crypto", Some(pnrp.crypto)) {
            pnrp.crypto = v;
        }
        if let Some(v) = self.field(table, &path, "wire_bytes", Some(pnrp.wire_bytes)) {
            pnrp.wire_bytes = v;
        }
        if let Some(v) = self.field(table, &path, "resolve_only", Some(pnrp.resolve_only)) {
            pnrp.resolve_only = v;
        }
        if let Some(v) = self.field(table, &path, "delegated", Some(pnrp.delegated)) {
            pnrp.delegated = v;
        }
        let (config, issues) = de_value_all::<PnrpConfig>(&toml::Value::Table(rest), &path);
        for mut issue in issues {
            if issue.what.starts_with("unknown key") {
                issue.allowed = format!("{}, {}", list(&PNRP_SIM_KEYS), issue.allowed);
            } else if let Some(allowed) = issue
                .key
                .field_below(&path)
                .and_then(|field| PnrpConfig::allowed_for(&field))
            {
                // The field's real bounds rather than its type's ("0 or more" for a u8
                // retry_count that must be 1 to 255).
                issue.allowed = allowed;
            }
            self.issues.push(issue);
        }
        // Every PnrpConfig field has a default, so the bad ones dropped it always decodes.
        pnrp.config = config.unwrap_or_default();
        pnrp
    }

    /// `[distribution]`, `[[branch]]` and the distribution forms of `[[workload]]`/`[[attackers]]`.
    fn distribution(&mut self, root: &toml::Table) -> Distribution {
        let path = KeyPath::root().key("distribution");
        let mut dist = Distribution {
            mode: Default::default(),
            content: Vec::new(),
            server: Default::default(),
            wan_sharing: Default::default(),
            config: Distribution::default_config(),
            branches: self.list(root, "branch"),
            fetches: self.list(root, "workload"),
            attackers: self.list(root, "attackers"),
        };
        for key in PNRP_ONLY_KEYS.iter().filter(|k| root.contains_key(**k)) {
            self.issues.push(Issue::new(
                KeyPath::root().key(key),
                format!("`{key}` belongs to PNRP scenarios, and this one has [distribution]/[[branch]]"),
                "remove it: a distribution scenario describes its network with [[branch]] (lan, wan) and [distribution.server]",
            ));
        }
        let table = match root.get("distribution") {
            None => return dist,
            Some(toml::Value::Table(t)) => t,
            Some(other) => {
                let what = format!("wrong type: found {}", other.type_str());
                self.issues
                    .push(Issue::new(path, what, "a table `[distribution]`"));
                return dist;
            }
        };
        // As for [pnrp]: simulator keys out, the remainder must be exactly DistConfig.
        let mut rest = table.clone();
        for key in DIST_SIM_KEYS {
            rest.remove(key);
        }
        if let Some(v) = self.field(table, &path, "mode", Some(dist.mode)) {
            dist.mode = v;
        }
        if let Some(v) = self.list_at(table, &path, "content") {
            dist.content = v;
        }
        if let Some(v) = self.field(table, &path, "server", Some(dist.server.clone())) {
            dist.server = v;
        }
        if let Some(v) = self.field(table, &path, "wan_sharing", Some(dist.wan_sharing)) {
            dist.wan_sharing = v;
        }
        let (modeled, timer) = (
            !rest.contains_key("data_mode"),
            !rest.contains_key("origin_timer"),
        );
        let (config, issues) = de_value_all::<DistConfig>(&toml::Value::Table(rest), &path);
        if let Some(mut config) = config {
            if modeled {
                config.data_mode = dist.config.data_mode;
            }
            if timer {
                config.origin_timer = dist.config.origin_timer;
            }
            dist.config = config
        }
        for mut issue in issues {
            if issue.what.starts_with("unknown key") {
                // The engine's own `mode` is set through the simulator's `mode`.
                let engine = issue.allowed.replace("`mode`, ", "");
                issue.allowed = format!("{}, {engine}", list(&DIST_SIM_KEYS));
            }
            self.issues.push(issue);
        }
        dist
    }

    /// `table[key]` as an array of tables below `base`, each entry decoded on its own.
    fn list_at<T: DeserializeOwned>(
        &mut self,
        table: &toml::Table,
        base: &KeyPath,
        key: &str,
    ) -> Option<Vec<T>> {
        let path = base.key(key);
        match table.get(key) {
            None => Some(Vec::new()),
            Some(toml::Value::Array(items)) => {
                let before = self.issues.len();
                let out: Vec<T> = items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| self.all(v, &path.index(i)))
                    .collect();
                (self.issues.len() == before).then_some(out)
            }
            Some(other) => {
                let what = format!("`{key}` is not an array of tables (found {})", other.type_str());
                self.issues.push(Issue::new(
                    path,
                    what,
                    format!("one `[[{base}.{key}]]` table per entry"),
                ));
                None
            }
        }
    }
}

/// Decodes a whole scenario table; `Err` holds every issue found, with the scenario decoded
/// without its bad keys when every table could be (so that it can still be validated).
pub(crate) fn decode(
    root: &toml::Table,
    base_dir: PathBuf,
) -> Result<Scenario, (Option<Box<Scenario>>, Vec<Issue>)> {
    let mut d = Decoder::default();
    let top = KeyPath::root();
    for key in root.keys().filter(|k| !TOP_KEYS.contains(&k.as_str())) {
        d.issues.push(Issue::new(
            top.key(key),
            format!("unknown key `{}`", super::printable::excerpt(key)),
            list(&TOP_KEYS),
        ));
    }
    let name = d.field::<String>(root, &top, "name", None);
    let description = d.field(root, &top, "description", Some(String::new()));
    let seed = d.field(root, &top, "seed", Some(1u64));
    let duration = d.fixed::<Duration>(root, &top, "duration", None);
    let network = d.field(root, &top, "network", Some(Network::default()));
    let is_dist = root.contains_key("distribution") || root.contains_key("branch");
    let distribution = is_dist.then(|| d.distribution(root));
    let pnrp = if is_dist {
        Pnrp::default()
    } else {
        d.pnrp(root.get("pnrp"))
    };
    let (peers, workload, fault, attackers, subnets) = if is_dist {
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new())
    } else {
        (
            d.list(root, "peers"),
            d.list(root, "workload"),
            d.list(root, "fault"),
            d.list(root, "attackers"),
            d.list(root, "subnet"),
        )
    };
    let graphing = match root.get("graphing") {
        Some(_) if is_dist => {
            d.issues.push(super::error::Issue::new(
                top.key("graphing"),
                "a scenario runs one protocol, and this one has [distribution]/[[branch]]",
                "either [graphing] (with [[peers]]) or [distribution] (with [[branch]])",
            ));
            None
        }
        Some(v) => d.all(v, &top.key("graphing")),
        None => None,
    };
    let checks = d.field(root, &top, "checks", Some(Checks::default()));
    let output = d.field(root, &top, "output", Some(Output::default()));
    match (name, description, seed, duration, network, checks, output) {
        (
            Some(name),
            Some(description),
            Some(seed),
            Some(duration),
            Some(network),
            Some(checks),
            Some(output),
        ) => {
            let scenario = Scenario {
                name,
                description,
                seed,
                duration,
                network,
                pnrp,
                peers,
                workload,
                fault,
                attackers,
                checks,
                output,
                distribution,
                graphing,
                subnets,
                base_dir,
                allowed_dirs: Vec::new(),
            };
            if d.issues.is_empty() {
                Ok(scenario)
            } else {
                Err(((!d.incomplete).then(|| Box::new(scenario)), d.issues))
            }
        }
        _ => Err((None, d.issues)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue<T: DeserializeOwned + std::fmt::Debug>(text: &str) -> Issue {
        let value: toml::Value = toml::from_str(text).unwrap();
        de_value::<T>(&value, &KeyPath::root().key("x")).unwrap_err()
    }

    #[test]
    fn errors_name_the_innermost_key() {
        let i = issue::<Network>("loss = \"150%\"\n");
        assert_eq!(i.key.to_string(), "x.loss");
        assert!(i.what.contains("more than 100%"), "{i:?}");
        let i = issue::<Network>("mtu = 1280\n[bandwidth]\nup = \"2 Mbit\"\n");
        assert_eq!(i.key.to_string(), "x.bandwidth.up");
        let i = issue::<Network>("lossy = 1\n");
        assert_eq!(
            (i.key.to_string().as_str(), i.what.as_str()),
            ("x.lossy", "unknown key `lossy`")
        );
        assert!(
            i.allowed.contains("`latency`") && i.allowed.contains("`mtu`"),
            "{}",
            i.allowed
        );
    }

    #[test]
    fn errors_inside_tagged_tables_find_the_quoted_leaf() {
        let i = issue::<super::super::schema::PeerGroup>(
            "name = \"a\"\ncount = 1\njoin = { model = \"ramp\", over = \"2 parsecs\" }\n",
        );
        assert_eq!(i.key.to_string(), "x.join.over", "{i:?}");
        let i = issue::<super::super::schema::PeerGroup>("name = \"a\"\n");
        assert_eq!(
            (i.key.to_string().as_str(), i.at.as_ref().map(|p| p.to_string())),
            ("x.count", Some("x".into()))
        );
    }

    #[test]
    fn unknown_pnrp_keys_list_both_sets() {
        let root: toml::Table =
            toml::from_str("name = \"n\"\nduration = \"1m\"\n[pnrp]\nmaintenance_perio = \"1s\"\n").unwrap();
        let issues = decode(&root, PathBuf::new()).unwrap_err().1;
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].key.to_string(), "pnrp.maintenance_perio");
        assert!(
            issues[0].allowed.contains("`seed_servers`")
                && issues[0].allowed.contains("`maintenance_period`")
        );
    }

    #[test]
    fn several_sections_report_together() {
        let root: toml::Table = toml::from_str(
            "duration = \"1 parsec\"\nbogus = 1\n[output]\nrecords = \"yes\"\n[[peers]]\ncount = 0\n",
        )
        .unwrap();
        let keys: Vec<String> = decode(&root, PathBuf::new())
            .unwrap_err()
            .1
            .iter()
            .map(|i| i.key.to_string())
            .collect();
        for k in ["bogus", "name", "duration", "output.records", "peers[0].name"] {
            assert!(keys.contains(&k.to_owned()), "{k} in {keys:?}");
        }
    }
}
