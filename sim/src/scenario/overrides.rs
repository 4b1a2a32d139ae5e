//! `--set key.path=value`: edits the parsed TOML before it is decoded, so an overridden value is
//! checked exactly like one written in the file (docs/architecture.md §5).
//!
//! Paths use dots, with array entries as a number or in brackets: `peers.0.count`,
//! `peers[0].count`, `pnrp.maintenance_period`. The value is read as TOML when it parses as TOML
//! (`500`, `true`, `{ model = "constant", value = "5ms" }`) and as a string otherwise (`1%`, `10s`).

use super::error::Issue;
use super::spans::{KeyPath, Seg};

const SET_ALLOWED: &str = "`key.path=value`, such as `network.loss=1%`, `peers.0.count=500` or `seed=9`";

/// Parses `peers[0].count` or `peers.0.count` into a key path.
fn parse_path(text: &str) -> Option<KeyPath> {
    let mut segs = Vec::new();
    for part in text.split('.') {
        let (name, mut rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
        if name.is_empty() && rest.is_empty() {
            return None;
        }
        if !name.is_empty() {
            match name.parse::<usize>() {
                Ok(i) if segs.last().is_some() => segs.push(Seg::Index(i)),
                _ => segs.push(Seg::Key(name.to_owned())),
            }
        }
        // Each "[n]" suffix.
        while !rest.is_empty() {
            let (num, after) = rest.split_once(']')?;
            segs.push(Seg::Index(num.trim().parse().ok()?));
            rest = after.strip_prefix('[').unwrap_or(after);
            if !after.is_empty() && !after.starts_with('[') {
                return None;
            }
        }
    }
    (!segs.is_empty()).then_some(KeyPath(segs))
}

/// The value text as TOML, or as a string when it is not TOML.
fn parse_value(text: &str) -> toml::Value {
    let text = text.trim();
    toml::from_str::<toml::Table>(&format!("v = {text}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(text.to_owned()))
}

fn describe(v: &toml::Value) -> String {
    match v {
        toml::Value::Table(t) => {
            let keys: Vec<String> = t.keys().map(|k| format!("`{k}`")).collect();
            format!(
                "a key of this table: {}",
                if keys.is_empty() {
                    "(none yet)".into()
                } else {
                    keys.join(", ")
                }
            )
        }
        toml::Value::Array(a) if a.is_empty() => "nothing: the array is empty".into(),
        toml::Value::Array(a) => format!("an index from 0 to {}", a.len() - 1),
        other => format!("nothing below a {}", other.type_str()),
    }
}

/// Applies one `--set` argument to `root`; returns the path it replaced.
pub(crate) fn apply(root: &mut toml::Table, arg: &str) -> Result<KeyPath, Issue> {
    let bad = |what: String| Issue::new(KeyPath::root(), what, SET_ALLOWED);
    let (path_text, value_text) = arg
        .split_once('=')
        .ok_or_else(|| bad(format!("`{arg}` has no `=`")))?;
    let path = parse_path(path_text.trim()).ok_or_else(|| bad(format!("`{path_text}` is not a key path")))?;
    let Some(Seg::Key(_)) = path.0.first() else {
        return Err(bad(format!("`{path_text}` must start with a key")));
    };
    let mut doc = toml::Value::Table(std::mem::take(root));
    let result = set(&mut doc, &path, parse_value(value_text));
    if let toml::Value::Table(t) = doc {
        *root = t;
    }
    result.map(|()| path)
}

fn set(doc: &mut toml::Value, path: &KeyPath, value: toml::Value) -> Result<(), Issue> {
    let mut cur = doc;
    for (depth, seg) in path.0.iter().enumerate() {
        let here = KeyPath(path.0[..depth].to_vec());
        let last = depth + 1 == path.0.len();
        let next_is_key = matches!(path.0.get(depth + 1), Some(Seg::Key(_)));
        let allowed = describe(cur);
        cur = match (seg, cur) {
            (Seg::Key(k), toml::Value::Table(t)) => {
                if last {
                    t.insert(k.clone(), value);
                    return Ok(());
                }
                if !t.contains_key(k) && !next_is_key {
                    let what = format!("there is no array `{}` to index", here.key(k));
                    return Err(Issue::new(here.key(k), what, "add the entry to the file first"));
                }
                // Missing intermediate tables are created; decoding rejects unknown ones.
                t.entry(k.clone())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            }
            (Seg::Index(i), toml::Value::Array(a)) if *i < a.len() => {
                if last {
                    a[*i] = value;
                    return Ok(());
                }
                &mut a[*i]
            }
            (seg, _) => {
                let key = match seg {
                    Seg::Key(k) => here.key(k),
                    Seg::Index(i) => here.index(*i),
                };
                return Err(Issue::new(
                    key.clone(),
                    format!("`{key}` does not exist"),
                    allowed,
                ));
            }
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn paths_accept_dots_and_brackets() {
        assert_eq!(parse_path("peers.0.count").unwrap().to_string(), "peers[0].count");
        assert_eq!(
            parse_path("peers[0].count").unwrap().to_string(),
            "peers[0].count"
        );
        assert_eq!(parse_path("a[1][2]").unwrap().to_string(), "a[1][2]");
        for bad in ["", "a..b", "a[x]", "a[1", "a[1]b"] {
            assert!(parse_path(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn values_are_toml_or_strings() {
        assert_eq!(parse_value("500"), toml::Value::Integer(500));
        assert_eq!(parse_value("true"), toml::Value::Boolean(true));
        assert_eq!(parse_value("1%"), toml::Value::String("1%".into()));
        assert_eq!(parse_value("\"rsa1024\""), toml::Value::String("rsa1024".into()));
        assert!(parse_value("{ model = \"constant\", value = \"5ms\" }").is_table());
    }

    #[test]
    fn apply_replaces_inserts_and_indexes() {
        let mut t = table("seed = 1\n[[peers]]\nname = \"a\"\ncount = 3\n");
        assert_eq!(apply(&mut t, "seed=9").unwrap().to_string(), "seed");
        apply(&mut t, "peers.0.count=500").unwrap();
        apply(&mut t, "network.loss=1%").unwrap();
        assert_eq!(t["seed"].as_integer(), Some(9));
        assert_eq!(t["peers"][0]["count"].as_integer(), Some(500));
        assert_eq!(t["network"]["loss"].as_str(), Some("1%"));
    }

    #[test]
    fn bad_paths_say_what_exists() {
        let mut t = table("[[peers]]\nname = \"a\"\n");
        let e = apply(&mut t, "peers.3.count=1").unwrap_err();
        assert_eq!(
            (e.key.to_string().as_str(), e.allowed.as_str()),
            ("peers[3]", "an index from 0 to 0")
        );
        let e = apply(&mut t, "peers.name=x").unwrap_err();
        assert!(e.allowed.contains("index"), "{e:?}");
        assert!(apply(&mut t, "novalue")
            .unwrap_err()
            .allowed
            .contains("key.path=value"));
        assert!(apply(&mut t, "workload.0.rate=1/s").is_err());
        // The table survives a failed edit.
        assert!(t.contains_key("peers"));
    }
}
