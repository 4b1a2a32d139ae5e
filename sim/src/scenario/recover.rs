//! Every problem of a table, not only the first: serde stops at the first bad field, so the table
//! is decoded again without each key found bad until it decodes or a required key is missing
//! (scenarios/README.md: "All problems found are listed at once").

use super::decode::de_value;
use super::error::Issue;
use super::printable::excerpt;
use super::spans::KeyPath;
use serde::de::DeserializeOwned;
use std::collections::BTreeSet;

/// The names in backticks of an "allowed" list such as "`latency`, `loss`".
fn backticked(list: &str) -> BTreeSet<&str> {
    list.split('`').skip(1).step_by(2).collect()
}

/// Decodes `value` (at `path`) into `T`, reporting every bad field of its table. `Some` when the
/// table decodes once its bad keys are dropped (they were optional and take their defaults), so
/// that the rest can still be validated; `None` when a required key is bad or the value is no table.
pub(crate) fn de_value_all<T: DeserializeOwned>(
    value: &toml::Value,
    path: &KeyPath,
) -> (Option<T>, Vec<Issue>) {
    let mut issues = Vec::new();
    let mut work = value.clone();
    let mut removed: BTreeSet<String> = BTreeSet::new();
    loop {
        let issue = match de_value::<T>(&work, path) {
            Ok(t) => return (Some(t), issues),
            Err(issue) => issue,
        };
        let field = issue.key.field_below(path);
        let toml::Value::Table(table) = &mut work else {
            issues.push(issue);
            return (None, issues);
        };
        match field {
            // A required key we dropped: everything else in the table has been read.
            Some(f) if removed.contains(&f) => return (None, issues),
            Some(f) if table.remove(&f).is_some() => {
                if issue.what.starts_with("unknown key") && issue.key.parent() == *path {
                    // The message lists the known keys: every other unknown key of the table
                    // goes now, since one decode per key made a table of many keys quadratic.
                    let known = backticked(&issue.allowed);
                    let unknown: Vec<String> = table
                        .keys()
                        .filter(|k| !known.is_empty() && !known.contains(k.as_str()))
                        .cloned()
                        .collect();
                    for k in unknown {
                        table.remove(&k);
                        issues.push(Issue {
                            key: path.key(&k),
                            what: format!("unknown key `{}`", excerpt(&k)),
                            ..issue.clone()
                        });
                        removed.insert(k);
                    }
                }
                removed.insert(f);
                issues.push(issue);
            }
            _ => {
                issues.push(issue);
                return (None, issues);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Network, PeerGroup};

    fn all<T: DeserializeOwned>(text: &str) -> (Option<T>, Vec<String>) {
        let value: toml::Value = toml::from_str(text).unwrap();
        let (t, issues) = de_value_all::<T>(&value, &KeyPath::root().key("x"));
        (t, issues.iter().map(|i| i.key.to_string()).collect())
    }

    #[test]
    fn every_bad_field_is_reported_and_optional_ones_fall_back_to_defaults() {
        let (net, keys) = all::<Network>("loss = \"150%\"\njitter = \"-5%\"\nmtu = 1400\n");
        assert_eq!(keys, ["x.jitter", "x.loss"]);
        assert_eq!(net.expect("the rest decodes").mtu.lo(), 1400);
    }

    #[test]
    fn many_unknown_keys_are_all_reported_in_one_pass() {
        let text: String = (0..20_000).map(|i| format!("k{i} = 1\n")).collect();
        let (net, keys) = all::<Network>(&format!("{text}mtu = 1400\n"));
        assert_eq!(keys.len(), 20_000);
        assert!(keys.contains(&"x.k19999".to_string()));
        assert_eq!(net.expect("the known key decodes").mtu.lo(), 1400);
    }

    #[test]
    fn a_bad_required_key_still_lets_the_others_be_checked() {
        let (g, keys) = all::<PeerGroup>("name = \"p\"\ncount = \"abc\"\nleave = \"nope\"\nspeed = 3\n");
        assert!(g.is_none());
        assert_eq!(keys, ["x.count", "x.leave", "x.speed"]);
    }
}
