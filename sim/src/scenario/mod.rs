//! Scenario files: TOML → typed, validated `Scenario` (docs/architecture.md §5; keys in scenarios/README.md).
//!
//! The pipeline: parse the text (syntax errors carry toml's span) → index every key's span → apply
//! `--set` edits → decode section by section (`decode`) → validate the whole (`validate`) → give
//! every issue a `FILE:LINE:COL: key `...`: what; allowed: ...` diagnostic. Nothing here panics on
//! any input; every failure is a `ScenarioError` listing all problems found.

mod access;
mod activity;
mod decode;
mod distribution;
mod error;
mod estimate;
mod files;
mod graphing;
mod limits;
mod names;
mod overrides;
mod placement;
mod printable;
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
mod validate_graphing;
mod validate_payload;
mod value;

pub use access::{is_within, read_text, text_of, TextError, FILE_BYTES_MAX};
pub use distribution::{
    Branch, Content, DistAttackers, DistBehaviour, DistMode, Distribution, FetchKind, FetchPattern,
    FetchWorkload, Lan, ServerLink, Wan, WanSharing,
};
pub use error::{without_test_only_keys, Diagnostic, Location, ScenarioError};
pub use estimate::{parse_meminfo, Estimate, MemInfo};
pub use files::{parse_matrix, parse_trace, read_matrix, read_trace};
pub use graphing::{
    ContactFormulaKey, GraphAttackers, GraphBehaviour, GraphBootstrap, GraphChoice, GraphWorkload, Graphing,
    PresenceTarget, RecordOp, Skew,
};
pub use limits::{DURATION_MAX, GROUPS_MAX, PEERS_MAX};
pub use placement::{stack_of, SubnetTable, DEFAULT_STACK};
pub use printable::{escape, excerpt, EXCERPT_CHARS};
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
pub use spans::line_col;
use spans::{KeyPath, SpanIndex};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// How to load a scenario: `--set` edits, and the directories outside the scenario's own tree
/// that the files it names may come from (`--allow-files`; see `access.rs`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// `key.path=value` edits, applied in order (later ones win).
    pub sets: Vec<String>,
    /// Directories whose files the scenario may read besides its own directory tree.
    pub allow_files: Vec<PathBuf>,
}

impl LoadOptions {
    /// Options with these `--set` edits and no extra directories.
    pub fn with_sets(sets: &[String]) -> Self {
        LoadOptions {
            sets: sets.to_vec(),
            allow_files: Vec::new(),
        }
    }
}

/// A valid scenario and what in it is valid but probably not meant (to print as warnings).
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The scenario.
    pub scenario: Scenario,
    /// Warnings, in file order, each at its key.
    pub warnings: Vec<Diagnostic>,
}

/// Reads, parses and validates the scenario at `path`, and checks the files it names (latency
/// matrix, session traces) exist, parse and lie inside its directory tree.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    load_with(path, &LoadOptions::default()).map(|l| l.scenario)
}

/// As `load`, after applying `--set key.path=value` edits in order (later ones win).
pub fn load_with_overrides(path: &Path, sets: &[String]) -> Result<Scenario, ScenarioError> {
    load_with(path, &LoadOptions::with_sets(sets)).map(|l| l.scenario)
}

/// As `load`, with `--set` edits and `--allow-files` directories, keeping the warnings.
pub fn load_with(path: &Path, options: &LoadOptions) -> Result<Loaded, ScenarioError> {
    let file = escape(&path.display().to_string());
    let text = read_text(path).map_err(|e| {
        let location = match e {
            TextError::NotUtf8 { line, col } => Location::At { line, col },
            _ => Location::File,
        };
        let d = Diagnostic {
            file: file.clone(),
            location,
            key: None,
            what: format!("cannot read the scenario: {e}"),
            allowed: format!("a readable UTF-8 TOML file of at most {FILE_BYTES_MAX} bytes (8 MiB)"),
        };
        ScenarioError::new(vec![d], &file)
    })?;
    parse_checked(&text, &file, options, true)
}

/// Parses and validates scenario `text`; `file` names it in messages, and relative paths inside
/// resolve against its directory. No file is read.
pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
    parse_with(text, file, &LoadOptions::default()).map(|l| l.scenario)
}

/// As `parse`, after applying `--set key.path=value` edits in order (later ones win).
pub fn parse_with_overrides(text: &str, file: &str, sets: &[String]) -> Result<Scenario, ScenarioError> {
    parse_with(text, file, &LoadOptions::with_sets(sets)).map(|l| l.scenario)
}

/// As `parse`, with `--set` edits and `--allow-files` directories, keeping the warnings.
pub fn parse_with(text: &str, file: &str, options: &LoadOptions) -> Result<Loaded, ScenarioError> {
    parse_checked(text, file, options, false)
}

fn parse_checked(
    text: &str,
    file: &str,
    options: &LoadOptions,
    check_files: bool,
) -> Result<Loaded, ScenarioError> {
    if text.len() as u64 > FILE_BYTES_MAX {
        let d = Diagnostic {
            file: file.to_owned(),
            location: Location::File,
            key: None,
            what: format!(
                "the scenario is {} bytes, more than the {FILE_BYTES_MAX} bytes (8 MiB) allowed",
                text.len()
            ),
            allowed: "a scenario file of at most 8 MiB (see scenarios/README.md)".into(),
        };
        return Err(ScenarioError::new(vec![d], file));
    }
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
        for arg in &options.sets {
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
            Ok(mut scenario) => {
                scenario.allowed_dirs = options.allow_files.clone();
                issues = validate::validate(&scenario);
                if check_files {
                    issues.extend(files::check_files(&scenario));
                }
                if issues.is_empty() {
                    let warnings = limits::warnings(&scenario);
                    let warnings = match warnings.is_empty() {
                        true => Vec::new(),
                        false => diagnose(&warnings, file, text, &overrides).diagnostics().to_vec(),
                    };
                    return Ok(Loaded { scenario, warnings });
                }
            }
            Err((partial, found)) => {
                // The bad keys dropped, the rest is still validated, so every problem shows at
                // once; a check on a key already reported (now at its default) is left out.
                if let Some(scenario) = partial {
                    let reported = Reported::new(&found);
                    let extra: Vec<Issue> = validate::validate(&scenario)
                        .into_iter()
                        .filter(|v| !reported.overlaps(&v.key))
                        .collect();
                    issues = found;
                    issues.extend(extra);
                } else {
                    issues = found;
                }
            }
        }
    }
    Err(diagnose(&issues, file, text, &overrides))
}

/// `issues` with their lines and columns in `text`, in file order.
fn diagnose(issues: &[Issue], file: &str, text: &str, overrides: &[(KeyPath, String)]) -> ScenarioError {
    // Spans are only needed to place problems: the text is indexed only when there are some.
    let index = SpanIndex::build(text);
    let locator = Locator {
        file,
        text,
        index: &index,
        overrides,
    };
    ScenarioError::new(locator.diagnose_all(issues), file)
}

/// The keys already reported, to leave out checks on the same keys (or on keys above or below
/// them) in logarithmic time per check.
struct Reported(BTreeSet<KeyPath>);

impl Reported {
    fn new(found: &[Issue]) -> Self {
        Reported(found.iter().map(|f| f.key.clone()).collect())
    }

    /// Whether `key`, one of its ancestors or one of its descendants was reported.
    fn overlaps(&self, key: &KeyPath) -> bool {
        let ancestor = (0..=key.0.len()).any(|n| self.0.contains(&KeyPath(key.0[..n].to_vec())));
        // Descendants of `key` sort right after it.
        let descendant = self
            .0
            .range(key.clone()..)
            .next()
            .is_some_and(|k| k.starts_with(key));
        ancestor || descendant
    }
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

    /// `path` (as written in the scenario) resolved against the scenario file's directory; an
    /// error when the real file (symlinks followed) lies outside that directory tree and every
    /// allowed directory (`LoadOptions::allow_files`).
    pub fn resolve_path(&self, path: &str) -> Result<PathBuf, String> {
        access::confine(&self.base_dir, &self.allowed_dirs, path)
    }

    /// Whether the scenario names files (a latency matrix, session traces) that a run reads.
    pub fn names_files(&self) -> bool {
        let trace = |s: &Option<Session>| matches!(s, Some(Session::Trace { .. }));
        matches!(self.network.latency, Latency::Matrix { .. })
            || self.peers.iter().any(|g| trace(&g.session))
            || self
                .distribution
                .iter()
                .flat_map(|d| &d.branches)
                .any(|b| trace(&b.session))
    }
}
