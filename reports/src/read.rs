//! Streaming reader of `records.jsonl`: one record per line, constant memory.

use crate::error::ReportError;
use crate::record::Record;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// Iterator over the records of a `records.jsonl` file, reading one line at a time.
///
/// A line that is not a valid record yields [`ReportError::BadRecord`] with its 1-based line
/// number; blank lines are skipped (a run killed mid-write may leave a trailing newline).
pub struct RecordReader<R> {
    input: R,
    path: PathBuf,
    line: u64,
    buf: String,
    failed: bool,
}

impl RecordReader<BufReader<File>> {
    /// Opens `path` for streaming.
    pub fn open(path: &Path) -> Result<Self, ReportError> {
        let file = File::open(path).map_err(|e| ReportError::io(path, e))?;
        Ok(Self::new(BufReader::with_capacity(1 << 16, file), path))
    }
}

impl<R: BufRead> RecordReader<R> {
    /// Reads records from any buffered input; `path` only names it in errors.
    pub fn new(input: R, path: &Path) -> Self {
        RecordReader {
            input,
            path: path.to_path_buf(),
            line: 0,
            buf: String::new(),
            failed: false,
        }
    }
}

impl<R: BufRead> Iterator for RecordReader<R> {
    type Item = Result<Record, ReportError>;

    fn next(&mut self) -> Option<Self::Item> {
        // After an error the stream position is unknown: stop rather than yield garbage.
        if self.failed {
            return None;
        }
        loop {
            self.buf.clear();
            self.line += 1;
            match self.input.read_line(&mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => {
                    self.failed = true;
                    return Some(Err(ReportError::io(&self.path, e)));
                }
            }
            let text = self.buf.trim();
            if text.is_empty() {
                continue;
            }
            let parsed = serde_json::from_str::<Record>(text).map_err(|source| {
                self.failed = true;
                ReportError::BadRecord {
                    path: self.path.clone(),
                    line: self.line,
                    source,
                }
            });
            return Some(parsed);
        }
    }
}

/// Reads every record of `path` into memory; prefer [`RecordReader`] for large runs.
pub fn read_records(path: &Path) -> Result<Vec<Record>, ReportError> {
    RecordReader::open(path)?.collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{End, Phase};

    #[test]
    fn reads_records_and_skips_blank_lines() {
        let end = Record::End(End {
            t_us: 5,
            events: 9,
            fingerprint: "ab".into(),
        });
        let phase = Record::Phase(Phase {
            kind: "fault".into(),
            label: "p".into(),
            start_us: 1,
            end_us: 2,
        });
        let text = format!(
            "{}\n\n{}\n",
            serde_json::to_string(&phase).unwrap(),
            serde_json::to_string(&end).unwrap()
        );
        let got: Vec<Record> = RecordReader::new(text.as_bytes(), Path::new("r.jsonl"))
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(got, vec![phase, end]);
    }

    #[test]
    fn bad_line_is_an_error_with_its_line_number() {
        let end = serde_json::to_string(&Record::End(End {
            t_us: 5,
            events: 9,
            fingerprint: "ab".into(),
        }))
        .unwrap();
        let text = format!("{end}\n{end}\n{{\"type\":\"op\",\"t_us\":\"x\"}}\n{end}\n");
        let mut reader = RecordReader::new(text.as_bytes(), Path::new("r.jsonl"));
        assert!(reader.next().unwrap().is_ok());
        assert!(reader.next().unwrap().is_ok());
        match reader.next() {
            Some(Err(ReportError::BadRecord { line, path, .. })) => {
                assert_eq!(line, 3);
                assert_eq!(path, Path::new("r.jsonl"));
            }
            other => panic!("expected a bad record error, got {other:?}"),
        }
        assert!(reader.next().is_none(), "the reader stops after an error");
    }

    #[test]
    fn missing_file_is_an_io_error() {
        let err = read_records(Path::new("/nonexistent/records.jsonl")).unwrap_err();
        assert!(matches!(err, ReportError::Io { .. }), "{err}");
        assert!(err.to_string().contains("/nonexistent/records.jsonl"));
    }
}
