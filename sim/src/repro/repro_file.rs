//! Repro files: one failing run, self-contained.
//!
//! [CHOICE] A repro file is a scenario file: the scenario's TOML with the seed and every `--set`
//! override written into it, plus one `[repro]` table saying what failed, where and when:
//!
//! ```toml
//! name = "attack-forge-cpa"
//! seed = 7
//! # ... every scenario key, overrides applied ...
//! [repro]
//! invariant = "forged_resolution_accepted"
//! node = 17
//! event_index = 123456
//! t_us = 250000000
//! detail = "..."
//! source = "scenarios/pnrp/attack-forge-cpa.toml"
//! base_dir = "/abs/path/scenarios/pnrp"
//! sets = []
//! peerlab_version = "0.1.0"
//! ```
//!
//! People can read and edit it, `peerlab run` cannot take it directly (the scenario schema denies
//! `[repro]`), and `replay`/`shrink` strip `[repro]` and validate the rest exactly like a scenario
//! file. `sets` holds overrides only when writing them into the TOML did not give the same
//! scenario (then they are applied again on load). `base_dir` anchors relative files (latency
//! matrix, session traces) of the original scenario.

use super::Failure;
use crate::plan::Plan;
use crate::scenario::{self, Scenario};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The `[repro]` table: what failed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReproInfo {
    /// Invariant (or `check:<name>`) that failed.
    pub invariant: String,
    /// Peer concerned, if one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<u32>,
    /// 1-based index of the event that showed the failure.
    pub event_index: u64,
    /// Its simulated time in microseconds.
    pub t_us: u64,
    /// What was seen.
    #[serde(default)]
    pub detail: String,
    /// The scenario file the failure came from.
    #[serde(default)]
    pub source: String,
    /// Directory that relative file paths of the scenario resolve against.
    #[serde(default)]
    pub base_dir: String,
    /// Overrides that could not be written into the TOML (normally empty).
    #[serde(default)]
    pub sets: Vec<String>,
    /// peerlab version that wrote the file.
    #[serde(default)]
    pub peerlab_version: String,
}

impl ReproInfo {
    /// The failure this file describes.
    pub fn failure(&self) -> Failure {
        Failure {
            invariant: self.invariant.clone(),
            node: self.node,
            event_index: self.event_index,
            t_us: self.t_us,
            detail: self.detail.clone(),
        }
    }
}

/// Why a repro file cannot be used (exit 2). Every field quoting the file is escaped.
#[derive(Debug, thiserror::Error)]
pub enum ReproError {
    /// The file cannot be read (missing, too large, not UTF-8: then `at` is its first bad byte).
    #[error("{path}{at}: cannot read the repro file: {what}")]
    Read {
        /// The file.
        path: String,
        /// `:LINE:COL` when known.
        at: String,
        /// Why.
        what: String,
    },
    /// The file is not TOML.
    #[error("{path}{at}: not a repro file: TOML syntax: {what}")]
    Syntax {
        /// The file.
        path: String,
        /// `:LINE:COL` of the error.
        at: String,
        /// What the parser said.
        what: String,
    },
    /// `[repro]` is missing or malformed.
    #[error("{path}{at}: the [repro] table {what}; allowed: invariant, node, event_index, t_us, detail, source, base_dir, sets, peerlab_version (see `peerlab explore`)")]
    Table {
        /// The file.
        path: String,
        /// `:LINE:COL` of the error, when the file has one.
        at: String,
        /// What is wrong.
        what: String,
    },
    /// The scenario part does not match the current schema.
    #[error("{0}")]
    Scenario(String),
}

/// A repro file in memory.
#[derive(Clone, Debug)]
pub struct Repro {
    /// The scenario, as a TOML table (seed and overrides written in; no `[repro]`).
    pub table: toml::Table,
    /// What failed.
    pub info: ReproInfo,
    /// Where it was read from or will be written (names it in messages).
    pub path: PathBuf,
    /// Directories the user allowed files to come from (`--allow-files`): the scenario's
    /// `base_dir` is honoured only inside one of them; otherwise relative files resolve in the
    /// repro file's own directory.
    pub allow_files: Vec<PathBuf>,
}

/// `:LINE:COL` of byte `offset` of `text`.
fn at(text: &str, offset: usize) -> String {
    let (line, col) = scenario::line_col(text, offset);
    format!(":{line}:{col}")
}

/// The `[repro]` table read from the text itself, so that its errors have a position.
#[derive(Deserialize)]
struct ReproOnly {
    repro: ReproInfo,
}

impl Repro {
    /// The repro of `failure` in a run of scenario file `source` with overrides `sets` and `seed`.
    pub fn from_failure(
        source: &Path,
        sets: &[String],
        seed: u64,
        failure: &Failure,
        path: PathBuf,
    ) -> Result<Repro, String> {
        let text = scenario::read_text(source)
            .map_err(|e| format!("{}: {e}", scenario::escape(&source.display().to_string())))?;
        let (table, leftover) = bake(&text, &source.display().to_string(), sets, seed)?;
        let base_dir = source
            .parent()
            .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()))
            .unwrap_or_default();
        let info = ReproInfo {
            invariant: failure.invariant.clone(),
            node: failure.node,
            event_index: failure.event_index,
            t_us: failure.t_us,
            detail: failure.detail.clone(),
            source: source.display().to_string(),
            base_dir: base_dir.display().to_string(),
            sets: leftover,
            peerlab_version: env!("CARGO_PKG_VERSION").to_string(),
        };
        Ok(Repro {
            table,
            info,
            path,
            allow_files: Vec::new(),
        })
    }

    /// Reads and checks a repro file (the scenario part is validated by `scenario`); at most
    /// 8 MiB of UTF-8, like a scenario file.
    pub fn read(path: &Path) -> Result<Repro, ReproError> {
        let name = scenario::escape(&path.display().to_string());
        let text = scenario::read_text(path).map_err(|e| ReproError::Read {
            path: name.clone(),
            at: match e {
                scenario::TextError::NotUtf8 { line, col } => format!(":{line}:{col}"),
                _ => String::new(),
            },
            what: e.to_string(),
        })?;
        Self::parse(&text, path)
    }

    /// Parses repro-file `text`; `path` names it.
    pub fn parse(text: &str, path: &Path) -> Result<Repro, ReproError> {
        let name = scenario::escape(&path.display().to_string());
        let mut table: toml::Table = toml::from_str(text).map_err(|e| ReproError::Syntax {
            path: name.clone(),
            at: at(text, e.span().map_or(0, |s| s.start)),
            what: scenario::escape(&one_line(e.message())),
        })?;
        if table.remove("repro").is_none() {
            return Err(ReproError::Table {
                path: name,
                at: String::new(),
                what: "is missing".into(),
            });
        }
        // Decoded from the text, not the table, so that an error has a line and column.
        let info = toml::from_str::<ReproOnly>(text)
            .map_err(|e| ReproError::Table {
                path: name.clone(),
                at: at(text, e.span().map_or(0, |s| s.start)),
                what: format!("is malformed: {}", scenario::escape(&one_line(e.message()))),
            })?
            .repro;
        Ok(Repro {
            table,
            info,
            path: path.to_path_buf(),
            allow_files: Vec::new(),
        })
    }

    /// The scenario text (without `[repro]`).
    pub fn scenario_text(&self) -> String {
        toml::to_string(&self.table).unwrap_or_default()
    }

    /// Whether the file's `base_dir` may anchor relative files: only inside a directory the user
    /// allowed (`--allow-files`), since the file itself is untrusted input.
    pub fn base_dir_allowed(&self) -> bool {
        let dir = Path::new(&self.info.base_dir);
        !self.info.base_dir.is_empty() && dir.is_dir() && scenario::is_within(dir, &self.allow_files)
    }

    /// The validated scenario. Relative files resolve in the repro file's own directory, or in
    /// the original scenario's (`base_dir`) when the user allowed it; either way only inside
    /// that tree or an allowed directory.
    pub fn scenario(&self) -> Result<Scenario, ReproError> {
        let name = self.path.display().to_string();
        let options = scenario::LoadOptions {
            sets: self.info.sets.clone(),
            allow_files: self.allow_files.clone(),
        };
        let mut s = scenario::parse_with(&self.scenario_text(), &name, &options)
            .map_err(|e| ReproError::Scenario(e.to_string()))?
            .scenario;
        if self.base_dir_allowed() {
            s.base_dir = PathBuf::from(&self.info.base_dir);
        }
        Ok(s)
    }

    /// This repro, once its scenario is known to be valid.
    pub fn scenario_checked(self) -> Result<Repro, ReproError> {
        self.scenario().map(|_| self)
    }

    /// The expanded plan.
    pub fn plan(&self) -> Result<Arc<Plan>, ReproError> {
        let s = self.scenario()?;
        super::plan_of(&s, &self.path).map_err(|e| {
            let hint = if self.base_dir_allowed() || self.info.base_dir.is_empty() || !s.names_files() {
                String::new()
            } else {
                format!(
                    " (the repro file's base_dir \"{}\" is used only when allowed: add --allow-files with that directory)",
                    scenario::excerpt(&self.info.base_dir)
                )
            };
            ReproError::Scenario(format!(
                "{}: {}{hint}",
                scenario::escape(&self.path.display().to_string()),
                scenario::escape(&e)
            ))
        })
    }

    /// The run seed written in the file.
    pub fn seed(&self) -> Option<u64> {
        self.table
            .get("seed")
            .and_then(toml::Value::as_integer)
            .map(|s| s as u64)
    }

    /// The whole file's text: the scenario, then `[repro]`.
    pub fn to_text(&self) -> String {
        let mut t = self.table.clone();
        if let Ok(v) = toml::Value::try_from(&self.info) {
            t.insert("repro".into(), v);
        }
        let body = toml::to_string(&t).unwrap_or_default();
        format!(
            "# peerlab repro: {} at event {} — replay with `peerlab replay {}`\n{body}",
            self.info.invariant,
            self.info.event_index,
            self.path.display()
        )
    }

    /// Writes the file to `self.path`.
    pub fn write(&self) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        peerlab_reports::output::write_file(&self.path, self.to_text())
    }
}

/// Writes `seed` and `sets` into scenario `text`; returns the table and the overrides that had
/// to stay separate (when writing them in did not give the very same scenario).
pub fn bake(
    text: &str,
    file: &str,
    sets: &[String],
    seed: u64,
) -> Result<(toml::Table, Vec<String>), String> {
    let mut table: toml::Table = toml::from_str(text).map_err(|e| format!("{file}: {}", e.message()))?;
    let mut all = sets.to_vec();
    all.push(format!("seed={seed}"));
    let wanted = scenario::parse_with_overrides(text, file, &all).map_err(|e| e.to_string())?;
    let mut baked = table.clone();
    let written = all.iter().all(|a| set_key(&mut baked, a).is_some());
    if written {
        let text = toml::to_string(&baked).map_err(|e| e.to_string())?;
        if scenario::parse(&text, file).is_ok_and(|s| s == wanted) {
            return Ok((baked, Vec::new()));
        }
    }
    table.insert("seed".into(), toml::Value::Integer(seed as i64));
    Ok((table, sets.to_vec()))
}

/// A multi-line parser message on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Applies one `key.path=value` to `table` (paths as for `--set`: `peers.0.count`,
/// `peers[0].count`); `None` when the path does not exist.
pub fn set_key(table: &mut toml::Table, arg: &str) -> Option<()> {
    let (path, value) = arg.split_once('=')?;
    let segs: Vec<String> = path
        .trim()
        .replace('[', ".")
        .replace(']', "")
        .split('.')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let mut doc = toml::Value::Table(std::mem::take(table));
    let done = set_in(&mut doc, &segs, parse_value(value));
    if let toml::Value::Table(t) = doc {
        *table = t;
    }
    done
}

/// Sets `segs` below `v` to `value`, creating missing tables on the way (not array entries).
fn set_in(v: &mut toml::Value, segs: &[String], value: toml::Value) -> Option<()> {
    let (first, rest) = segs.split_first()?;
    let slot = match v {
        toml::Value::Table(t) if rest.is_empty() => {
            t.insert(first.clone(), value);
            return Some(());
        }
        toml::Value::Table(t) => {
            if !t.contains_key(first.as_str()) && rest[0].parse::<usize>().is_err() {
                t.insert(first.clone(), toml::Value::Table(toml::Table::new()));
            }
            t.get_mut(first.as_str())?
        }
        toml::Value::Array(a) => a.get_mut(first.parse::<usize>().ok()?)?,
        _ => return None,
    };
    if rest.is_empty() {
        *slot = value;
        return Some(());
    }
    set_in(slot, rest, value)
}

/// A `--set` value: TOML when it parses as TOML, else a string (`1%`, `10s`).
fn parse_value(text: &str) -> toml::Value {
    let text = text.trim();
    toml::from_str::<toml::Table>(&format!("v = {text}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCENARIO: &str = r#"
name = "tiny"
seed = 1
duration = "2m"

[pnrp]
crypto = "ed25519"

[[peers]]
name = "p"
count = 10
"#;

    fn failure() -> Failure {
        Failure {
            invariant: "cache_holds_self".into(),
            node: Some(3),
            event_index: 42,
            t_us: 1_000,
            detail: "x".into(),
        }
    }

    #[test]
    fn overrides_and_seed_are_written_into_the_scenario() {
        let sets = vec!["peers.0.count=7".to_string(), "network.loss=1%".to_string()];
        let (table, leftover) = bake(SCENARIO, "tiny.toml", &sets, 9).unwrap();
        assert!(leftover.is_empty(), "{leftover:?}");
        let text = toml::to_string(&table).unwrap();
        let s = scenario::parse(&text, "tiny.toml").unwrap();
        assert_eq!(s.seed, 9);
        assert_eq!(s.total_peers(), 7);
    }

    #[test]
    fn a_repro_round_trips_through_its_text() {
        let (table, _) = bake(SCENARIO, "tiny.toml", &[], 5).unwrap();
        let f = failure();
        let r = Repro {
            table,
            info: ReproInfo {
                invariant: f.invariant.clone(),
                node: f.node,
                event_index: f.event_index,
                t_us: f.t_us,
                detail: f.detail.clone(),
                source: "tiny.toml".into(),
                base_dir: String::new(),
                sets: vec![],
                peerlab_version: "0".into(),
            },
            path: PathBuf::from("r.toml"),
            allow_files: Vec::new(),
        };
        let back = Repro::parse(&r.to_text(), Path::new("r.toml")).unwrap();
        assert_eq!(back.info, r.info);
        assert_eq!(back.info.failure(), f);
        assert_eq!(back.seed(), Some(5));
        assert_eq!(back.scenario().unwrap().seed, 5);
    }

    #[test]
    fn bad_repro_files_are_typed_errors() {
        let p = Path::new("bad.toml");
        assert!(matches!(Repro::parse("x = [", p), Err(ReproError::Syntax { .. })));
        assert!(matches!(Repro::parse(SCENARIO, p), Err(ReproError::Table { .. })));
        let no_index = format!("{SCENARIO}\n[repro]\ninvariant = \"a\"\n");
        assert!(matches!(
            Repro::parse(&no_index, p),
            Err(ReproError::Table { .. })
        ));
        let bad_schema = format!(
            "{}\n[repro]\ninvariant = \"a\"\nevent_index = 1\nt_us = 1\n",
            SCENARIO.replace("count = 10", "count = 10\nbogus = 1")
        );
        let r = Repro::parse(&bad_schema, p).unwrap();
        let e = r.scenario().unwrap_err().to_string();
        assert!(e.contains("bogus"), "{e}");
    }

    #[test]
    fn set_key_follows_paths_and_refuses_missing_ones() {
        let mut t: toml::Table = toml::from_str(SCENARIO).unwrap();
        assert!(set_key(&mut t, "peers[0].count=3").is_some());
        assert_eq!(t["peers"][0]["count"].as_integer(), Some(3));
        assert!(set_key(&mut t, "peers.5.count=3").is_none());
        assert!(set_key(&mut t, "duration=30s").is_some());
        assert_eq!(t["duration"].as_str(), Some("30s"));
    }
}
