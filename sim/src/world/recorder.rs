//! Writes run records to `records.jsonl` and feeds the live aggregator, so the summary never needs
//! the whole record stream in memory.

use peerlab_reports::{Aggregator, Record};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Sink for run records.
pub struct Recorder {
    out: Option<BufWriter<File>>,
    aggregator: Aggregator,
    line: Vec<u8>,
    /// Running hash of every serialized record (compared by the determinism checks).
    digest: crate::fingerprint::Fingerprint,
    write_error: Option<std::io::Error>,
    violations: u64,
}

impl Recorder {
    /// A recorder writing to `path` (created or truncated), or only aggregating when `None`.
    pub fn new(path: Option<&Path>) -> std::io::Result<Self> {
        let out = match path {
            Some(p) => Some(BufWriter::with_capacity(
                1 << 16,
                peerlab_reports::output::create_file(p)?,
            )),
            None => None,
        };
        Ok(Recorder {
            out,
            aggregator: Aggregator::new(),
            line: Vec::with_capacity(256),
            digest: Default::default(),
            write_error: None,
            violations: 0,
        })
    }

    /// Records one line.
    pub fn push(&mut self, record: Record) {
        self.aggregator.push(&record);
        if matches!(record, Record::Violation(_)) {
            self.violations += 1;
        }
        self.line.clear();
        // Serializing our own plain data types cannot fail.
        serde_json::to_writer(&mut self.line, &record).expect("records serialize");
        for chunk in self.line.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.digest.mix(u64::from_le_bytes(w));
        }
        self.line.push(b'\n');
        if let Some(out) = &mut self.out {
            if self.write_error.is_none() {
                if let Err(e) = out.write_all(&self.line) {
                    self.write_error = Some(e);
                }
            }
        }
    }

    /// The aggregator fed so far.
    pub fn aggregator(&self) -> &Aggregator {
        &self.aggregator
    }

    /// Violations recorded so far.
    pub fn violations(&self) -> u64 {
        self.violations
    }

    /// Hex digest of every record written, in order.
    pub fn digest(&self) -> String {
        self.digest.hex()
    }

    /// Flushes the file; reports the first write error, if any.
    pub fn finish(&mut self) -> std::io::Result<()> {
        if let Some(e) = self.write_error.take() {
            return Err(e);
        }
        if let Some(out) = &mut self.out {
            out.flush()?;
        }
        Ok(())
    }
}
