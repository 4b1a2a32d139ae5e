//! Scenario files: TOML → typed, validated `Scenario` (design.md §5; keys in scenarios/README.md).
//!
//! The pipeline: parse the text (syntax errors carry toml's span) → index every key's span → apply
//! `--set` edits → decode section by section (`decode`) → validate the whole (`validate`) → give
//! every issue a `FILE:LINE:COL: key `...`: what; allowed: ...` diagnostic. Nothing here panics on
//! any input; every failure is a `ScenarioError` listing all problems found.

mod activity;
mod decode;
mod distribution;
mod error;
mod files;
mod overrides;
mod rate;
mod ratio;
mod recover;
mod schema;
mod spans;
mod units;
mod validate;
mod validate_bounds;
mod validate_dist;
mod validate_faults;
mod value;

pub use distribution::{
    Branch, Content, DistAttackers, DistBehaviour, DistMode, Distribution, FetchKind, FetchPattern,
    FetchWorkload, Lan, ServerLink, Wan, WanSharing,
};
pub use error::{Diagnostic, Location, ScenarioError};
pub use files::{parse_matrix, parse_trace, read_matrix, read_trace};
pub use rate::Rate;
pub use schema::{
    Attackers, Behaviour, Checks, Fault, Jitter, Join, Latency, Leave, LinkBandwidth, Loss, Names, Network,
    OpKind, Output, PartitionGroups, PeerGroup, Pnrp, Rejoin, Scenario, Session, Target, Workload,
    INTERNET_TAIL_DEFAULT,
};
pub use units::{Bandwidth, ByteSize, Ratio, Scalar, UnitError};
pub use validate::{MTU_MAX, MTU_MIN};
pub use validate_bounds::pnrp_config_issues;
pub use value::Value;

use error::{Issue, Locator};
use spans::{KeyPath, SpanIndex};
use std::path::{Path, PathBuf};

/// Reads, parses and validates the scenario at `path`, and checks the files it names (latency
/// matrix, session traces) exist and parse.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    load_with_overrides(path, &[])
}

/// As `load`, after applying `--set key.path=value` edits in order (later ones win).
pub fn load_with_overrides(path: &Path, sets: &[String]) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        let d = Diagnostic {
            file: file.clone(),
            location: Location::File,
            key: None,
            what: format!("cannot read the scenario: {e}"),
            allowed: "a readable UTF-8 TOML file".into(),
        };
        ScenarioError::new(vec![d], &file)
    })?;
    parse_checked(&text, &file, sets, true)
}

/// Parses and validates scenario `text`; `file` names it in messages, and relative paths inside
/// resolve against its directory. No file is read.
pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
    parse_checked(text, file, &[], false)
}

/// As `parse`, after applying `--set key.path=value` edits in order (later ones win).
pub fn parse_with_overrides(text: &str, file: &str, sets: &[String]) -> Result<Scenario, ScenarioError> {
    parse_checked(text, file, sets, false)
}

fn parse_checked(
    text: &str,
    file: &str,
    sets: &[String],
    check_files: bool,
) -> Result<Scenario, ScenarioError> {
    let index = SpanIndex::build(text);
    let mut overrides: Vec<(KeyPath, String)> = Vec::new();
    let mut issues = Vec::new();
    let mut root = match toml::from_str::<toml::Table>(text) {
        Ok(root) => root,
        Err(e) => {
            let mut issue = Issue::new(
                KeyPath::root(),
                format!("TOML syntax: {}", e.message().trim()),
                "valid TOML (https://toml.io)",
            );
            issue.span = Some(e.span().unwrap_or(0..0));
            issues.push(issue);
            toml::Table::new()
        }
    };
    if issues.is_empty() {
        for arg in sets {
            match overrides::apply(&mut root, arg) {
                Ok(path) => overrides.push((path, arg.clone())),
                // A bad argument is located at itself, not in the file.
                Err(issue) => {
                    overrides.push((issue.key.clone(), arg.clone()));
                    issues.push(Issue {
                        at: Some(issue.key.clone()),
                        ..issue
                    });
                }
            }
        }
    }
    let base_dir = Path::new(file)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    if issues.is_empty() {
        match decode::decode(&root, base_dir) {
            Ok(scenario) => {
                issues = validate::validate(&scenario);
                if check_files {
                    issues.extend(files::check_files(&scenario));
                }
                if issues.is_empty() {
                    return Ok(scenario);
                }
            }
            Err((partial, found)) => {
                // The bad keys dropped, the rest is still validated, so every problem shows at
                // once; a check on a key already reported (now at its default) is left out.
                if let Some(scenario) = partial {
                    let extra: Vec<Issue> = validate::validate(&scenario)
                        .into_iter()
                        .filter(|v| {
                            !found
                                .iter()
                                .any(|f| v.key.starts_with(&f.key) || f.key.starts_with(&v.key))
                        })
                        .collect();
                    issues = found;
                    issues.extend(extra);
                } else {
                    issues = found;
                }
            }
        }
    }
    let locator = Locator {
        file,
        text,
        index: &index,
        overrides: &overrides,
    };
    Err(ScenarioError::new(
        issues.iter().map(|i| locator.diagnose(i)).collect(),
        file,
    ))
}

impl Scenario {
    /// The expanded configuration as pretty JSON (what a run writes to config.json).
    pub fn to_json(&self) -> String {
        // Serializing plain data to JSON cannot fail (no maps with non-string keys).
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// Honest peers across all groups; a count written as a range counts its upper bound.
    pub fn total_peers(&self) -> u64 {
        self.peers
            .iter()
            .map(|g| g.count.hi())
            .fold(0, u64::saturating_add)
    }

    /// Honest peers across all groups, counting the lower bound of ranges.
    pub fn total_peers_min(&self) -> u64 {
        self.peers
            .iter()
            .map(|g| g.count.lo())
            .fold(0, u64::saturating_add)
    }

    /// The peer group called `name`.
    pub fn group(&self, name: &str) -> Option<&PeerGroup> {
        self.peers.iter().find(|g| g.name == name)
    }

    /// `path` (as written in the scenario) resolved against the scenario file's directory.
    pub fn resolve_path(&self, path: &str) -> PathBuf {
        self.base_dir.join(path)
    }
}
