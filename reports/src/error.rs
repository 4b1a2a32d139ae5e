//! Errors of reading run files and rendering reports.

use std::path::PathBuf;

/// Everything that can go wrong while reading a run directory or writing a report.
///
/// Input files never make the crate panic: a bad line is an error naming the file and line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A line of `records.jsonl` is not a valid record.
    #[error("{path}:{line}: bad record: {source}")]
    BadRecord {
        /// The records file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What serde saw.
        #[source]
        source: serde_json::Error,
    },
    /// A JSON file (`config.json`, `summary.json`) is not what we expect.
    #[error("{path}: bad JSON: {source}")]
    BadJson {
        /// The file.
        path: PathBuf,
        /// What serde saw.
        #[source]
        source: serde_json::Error,
    },
    /// Nothing to render (for example `compare` with no run directories).
    #[error("nothing to render: {0}")]
    Empty(String),
    /// plotters failed to draw a chart.
    #[error("plot `{plot}`: {detail}")]
    Plot {
        /// The plot's title.
        plot: String,
        /// plotters' message.
        detail: String,
    },
}

impl ReportError {
    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ReportError::Io {
            path: path.into(),
            source,
        }
    }
}
