//! Scenario errors a user can act on: each names the file, the line and column, the key, what is
//! wrong and what is allowed (docs/architecture.md §5).

use super::printable::escape;
use super::spans::{KeyPath, LineCursor, SpanIndex};
use std::fmt;
use std::ops::Range;

/// Where a diagnostic points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A 1-based line and column in the scenario file.
    At {
        /// Line, from 1.
        line: usize,
        /// Column in characters, from 1.
        col: usize,
    },
    /// A `--set key=value` argument given on the command line.
    Set(String),
    /// The file as a whole (it could not be read).
    File,
}

/// One problem in a scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The scenario file's name as given.
    pub file: String,
    /// Where in it.
    pub location: Location,
    /// The key path, such as `network.loss` or `peers[0].count`, when one is concerned.
    pub key: Option<String>,
    /// What is wrong.
    pub what: String,
    /// What is allowed instead.
    pub allowed: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Every part may quote the file: escaped, so that nothing in it drives the terminal.
        let file = escape(&self.file);
        match &self.location {
            Location::At { line, col } => write!(f, "{file}:{line}:{col}: ")?,
            Location::Set(arg) => write!(f, "{file} (--set {}): ", escape(arg))?,
            Location::File => write!(f, "{file}: ")?,
        }
        if let Some(key) = &self.key {
            write!(f, "key `{}`: ", escape(key))?;
        }
        write!(f, "{}; allowed: {}", escape(&self.what), escape(&self.allowed))
    }
}

/// Everything wrong with a scenario (never empty); `Display` prints one diagnostic per line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    diagnostics: Vec<Diagnostic>,
}

impl ScenarioError {
    /// Wraps diagnostics, sorted by where they point; an empty list gets a generic entry so the
    /// error is never silent.
    pub fn new(mut diagnostics: Vec<Diagnostic>, file: &str) -> Self {
        if diagnostics.is_empty() {
            diagnostics.push(Diagnostic {
                file: file.to_owned(),
                location: Location::File,
                key: None,
                what: "the scenario is invalid".into(),
                allowed: "see scenarios/README.md".into(),
            });
        }
        let rank = |d: &Diagnostic| match &d.location {
            Location::File => (0, 0, 0),
            Location::At { line, col } => (1, *line, *col),
            Location::Set(_) => (2, 0, 0),
        };
        diagnostics.sort_by_key(rank);
        diagnostics.dedup();
        ScenarioError { diagnostics }
    }
    /// Each problem found.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

/// A problem found while decoding or validating, before it is given a line and column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Issue {
    /// The key the message is about.
    pub key: KeyPath,
    /// Where to point, when not at `key` itself (a missing key points at its table).
    pub at: Option<KeyPath>,
    /// An exact byte span (syntax errors).
    pub span: Option<Range<usize>>,
    /// What is wrong.
    pub what: String,
    /// What is allowed.
    pub allowed: String,
}

impl Issue {
    /// An issue about `key`.
    pub fn new(key: KeyPath, what: impl Into<String>, allowed: impl Into<String>) -> Self {
        Issue {
            key,
            at: None,
            span: None,
            what: what.into(),
            allowed: allowed.into(),
        }
    }
    /// The same issue, pointing at `at` instead of the key.
    pub fn at(mut self, at: KeyPath) -> Self {
        self.at = Some(at);
        self
    }
    /// An issue from a message shaped "WHAT; allowed: ALLOWED" (or a serde message).
    pub fn from_message(key: KeyPath, msg: &str) -> Self {
        let e = explain(msg);
        let mut issue = Issue::new(key.clone(), e.what, e.allowed);
        match e.field {
            Some((FieldKind::Missing, name)) => {
                issue = Issue {
                    key: key.key(&name),
                    at: Some(key),
                    ..issue
                }
            }
            Some((FieldKind::Unknown, name)) if key.last_key() != Some(name.as_str()) => {
                issue.key = key.key(&name)
            }
            _ => {}
        }
        issue
    }
}

/// Gives issues their file position (or `--set` argument).
pub(crate) struct Locator<'a> {
    /// The file name for messages.
    pub file: &'a str,
    /// The original text.
    pub text: &'a str,
    /// Key spans of the original text.
    pub index: &'a SpanIndex,
    /// Paths replaced by `--set`, with the argument that did it.
    pub overrides: &'a [(KeyPath, String)],
}

/// Most problems listed for one file; the rest are counted. A file of a million bad keys listed
/// them all, one line each, and placing each one scanned the text from its start.
pub const DIAGNOSTICS_MAX: usize = 1000;

/// Where an issue points before it has a line and column: a byte offset, or a `--set` argument.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Place {
    At(usize),
    Set(String),
}

impl Locator<'_> {
    /// The diagnostics of `issues` in file order: the first `DIAGNOSTICS_MAX`, then one saying
    /// how many more there are. Lines and columns come from one pass over the text.
    pub fn diagnose_all(&self, issues: &[Issue]) -> Vec<Diagnostic> {
        let mut placed: Vec<(Place, &Issue)> = issues.iter().map(|i| (self.place(i), i)).collect();
        placed.sort_by(|a, b| a.0.cmp(&b.0));
        let more = placed.len().saturating_sub(DIAGNOSTICS_MAX);
        placed.truncate(DIAGNOSTICS_MAX);
        let mut lines = LineCursor::new(self.text);
        let mut out: Vec<Diagnostic> = placed
            .into_iter()
            .map(|(place, issue)| {
                let location = match place {
                    Place::At(offset) => {
                        let (line, col) = lines.line_col(offset);
                        Location::At { line, col }
                    }
                    Place::Set(arg) => Location::Set(arg),
                };
                Diagnostic {
                    file: self.file.to_owned(),
                    location,
                    key: (!issue.key.is_root()).then(|| issue.key.to_string()),
                    what: one_line(&issue.what),
                    allowed: one_line(&issue.allowed),
                }
            })
            .collect();
        if more > 0 {
            out.push(Diagnostic {
                file: self.file.to_owned(),
                location: Location::File,
                key: None,
                what: format!(
                    "{} problems found; only the first {DIAGNOSTICS_MAX} in file order are listed",
                    more + DIAGNOSTICS_MAX
                ),
                allowed: "fix these and check again".into(),
            });
        }
        out
    }

    /// Where `issue` points.
    fn place(&self, issue: &Issue) -> Place {
        let at = issue.at.clone().unwrap_or_else(|| issue.key.clone());
        let from_set = self.overrides.iter().rev().find(|(ov, _)| {
            issue.key.starts_with(ov)
                || at.starts_with(ov)
                || (ov.starts_with(&issue.key) && !self.index.contains(&issue.key))
        });
        match (from_set, &issue.span) {
            (_, Some(span)) => Place::At(span.start),
            (Some((_, arg)), None) => Place::Set(arg.clone()),
            (None, None) => {
                // An unknown key is best shown at the key itself, anything else at its value.
                let span = if issue.what.starts_with("unknown key") {
                    self.index.key_span_of(&at)
                } else {
                    self.index.span_of(&at)
                };
                Place::At(span.map_or(0, |s| s.start))
            }
        }
    }
}

/// Collapses a multi-line message (toml's syntax errors) so each diagnostic is one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Which field a serde message names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FieldKind {
    Missing,
    Unknown,
}

/// A message split into what is wrong and what is allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Explained {
    pub what: String,
    pub allowed: String,
    pub field: Option<(FieldKind, String)>,
}

/// The name in the first backtick pair of `s`.
fn backticked(s: &str) -> Option<String> {
    let (_, rest) = s.split_once('`')?;
    Some(rest.split_once('`')?.0.to_owned())
}

/// Turns serde's "expected" phrases into words for people writing TOML.
fn humanize(expected: &str) -> String {
    let e = expected.trim().trim_end_matches('.');
    let words = match e {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number, 0 or more",
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number",
        "f32" | "f64" => "a number such as 0.5",
        "a boolean" => "true or false",
        "a string" => "a string in double quotes",
        "a sequence" => "an array such as [\"a\", \"b\"]",
        "a map" => "a table such as { key = \"value\" }",
        _ if e.starts_with("struct ") || e.starts_with("internally tagged enum") => {
            "a table such as { key = \"value\" }"
        }
        _ if e.starts_with("a sequence") || e.starts_with("a tuple") => "an array such as [\"a\", \"b\"]",
        _ => e,
    };
    words.to_owned()
}

/// Keys that work but are switches for peerlab's own tests, so no error lists them.
const TEST_ONLY_KEYS: [&str; 1] = ["`inject_bug`"];

/// `text` with every test-only key left out of its comma-separated lists (a serde "expected one
/// of `a`, `b`" message or an allowed list).
pub fn without_test_only_keys(text: &str) -> String {
    text.split(", ")
        .filter(|item| !TEST_ONLY_KEYS.contains(&item.trim_end()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Splits a serde or unit message into what is wrong and what is allowed.
pub(crate) fn explain(msg: &str) -> Explained {
    let msg = msg.trim();
    let plain = |what: &str, allowed: &str| Explained {
        what: what.to_owned(),
        allowed: allowed.to_owned(),
        field: None,
    };
    if let Some((what, allowed)) = msg.split_once("; allowed: ") {
        return plain(what, allowed);
    }
    if let Some(rest) = msg.strip_prefix("unknown field ") {
        let name = backticked(rest).unwrap_or_default();
        let allowed = match rest.split_once(", expected ") {
            Some((_, list)) => without_test_only_keys(list.trim_start_matches("one of ")),
            None => "no keys here".to_owned(),
        };
        let what = format!("unknown key `{name}`");
        return Explained {
            what,
            allowed,
            field: Some((FieldKind::Unknown, name)),
        };
    }
    if let Some(rest) = msg.strip_prefix("missing field ") {
        let name = backticked(rest).unwrap_or_default();
        let what = format!("required key `{name}` is missing");
        let allowed = format!("add `{name} = ...` here (see scenarios/README.md)");
        return Explained {
            what,
            allowed,
            field: Some((FieldKind::Missing, name)),
        };
    }
    if let Some(rest) = msg.strip_prefix("unknown variant ") {
        let (value, list) = rest
            .split_once(", expected ")
            .unwrap_or((rest, "see scenarios/README.md"));
        return plain(
            &format!("unknown value {value}"),
            list.trim_start_matches("one of "),
        );
    }
    for prefix in ["invalid type: ", "invalid value: ", "invalid length "] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            if let Some((found, expected)) = rest.rsplit_once(", expected ") {
                let what = if prefix.starts_with("invalid type") {
                    "wrong type: found"
                } else {
                    "invalid value:"
                };
                return plain(&format!("{what} {found}"), &humanize(expected));
            }
        }
    }
    plain(msg, "see scenarios/README.md")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_split_into_what_and_allowed() {
        let e = explain("unknown field `los`, expected one of `latency`, `loss`");
        assert_eq!(e.what, "unknown key `los`");
        assert_eq!(e.allowed, "`latency`, `loss`");
        assert_eq!(e.field, Some((FieldKind::Unknown, "los".into())));
        let e = explain("missing field `count`");
        assert_eq!(e.field, Some((FieldKind::Missing, "count".into())));
        let e = explain("invalid type: string \"many\", expected u64");
        assert_eq!(
            (e.what.as_str(), e.allowed.as_str()),
            ("wrong type: found string \"many\"", "a whole number, 0 or more")
        );
        let e = explain("unknown variant `weibul`, expected one of `weibull`, `pareto`");
        assert_eq!(
            (e.what.as_str(), e.allowed.as_str()),
            ("unknown value `weibul`", "`weibull`, `pareto`")
        );
        let e = explain("`x` is not a rate; allowed: \"50/s\"");
        assert_eq!(
            (e.what.as_str(), e.allowed.as_str()),
            ("`x` is not a rate", "\"50/s\"")
        );
    }
    #[test]
    fn test_only_keys_are_not_offered() {
        let e = explain("unknown field `bogus`, expected one of `retry_count`, `inject_bug`, `split_k`");
        assert_eq!(e.allowed, "`retry_count`, `split_k`");
        assert_eq!(without_test_only_keys("`a`, `inject_bug`"), "`a`");
    }

    #[test]
    fn diagnostics_display_file_line_col_key_and_allowed() {
        let d = Diagnostic {
            file: "a.toml".into(),
            location: Location::At { line: 3, col: 8 },
            key: Some("network.loss".into()),
            what: "`150%` is more than 100%".into(),
            allowed: "0%..100%".into(),
        };
        assert_eq!(
            d.to_string(),
            "a.toml:3:8: key `network.loss`: `150%` is more than 100%; allowed: 0%..100%"
        );
        let set = Diagnostic {
            location: Location::Set("network.loss=150%".into()),
            ..d.clone()
        };
        let all = ScenarioError::new(vec![set, d], "a.toml").to_string();
        assert!(
            all.starts_with("a.toml:3:8:") && all.contains("\na.toml (--set network.loss=150%): key"),
            "{all}"
        );
        assert_eq!(ScenarioError::new(vec![], "a.toml").diagnostics().len(), 1);
    }
}
