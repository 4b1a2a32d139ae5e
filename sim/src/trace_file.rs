//! `[output] trace = true`: every datagram of a run, sent and delivered, as JSON lines in
//! `trace.jsonl` beside `records.jsonl` (one `TraceLine` of `peerlab replay`'s trace per line).
//! Large: a 1,000-peer, 10-minute run writes a few million lines.

use crate::repro::trace::line_of;
use crate::world::Observer;
use peerlab_engine::pnrp::Message;
use peerlab_engine::{Endpoint, Instant};
use std::cell::RefCell;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::rc::Rc;

/// What the trace writer did, readable after the run through the shared handle.
#[derive(Debug, Default)]
pub struct TraceStatus {
    /// Lines written.
    pub lines: u64,
    /// The first write error; writing stops there (the run goes on).
    pub error: Option<std::io::Error>,
}

/// An observer that writes every datagram to a file.
pub struct TraceFile {
    out: BufWriter<File>,
    line: Vec<u8>,
    status: Rc<RefCell<TraceStatus>>,
}

impl TraceFile {
    /// Creates (or truncates) `path`; returns the observer and the handle to its status.
    pub fn create(path: &Path) -> std::io::Result<(Self, Rc<RefCell<TraceStatus>>)> {
        let status = Rc::new(RefCell::new(TraceStatus::default()));
        let obs = TraceFile {
            out: BufWriter::with_capacity(1 << 16, peerlab_reports::output::create_file(path)?),
            line: Vec::with_capacity(256),
            status: status.clone(),
        };
        Ok((obs, status))
    }

    fn write(&mut self, line: &crate::repro::trace::TraceLine) {
        let mut status = self.status.borrow_mut();
        if status.error.is_some() {
            return;
        }
        self.line.clear();
        // Plain data of our own: serializing it cannot fail.
        serde_json::to_writer(&mut self.line, line).expect("trace lines serialize");
        self.line.push(b'\n');
        match self.out.write_all(&self.line) {
            Ok(()) => status.lines += 1,
            Err(e) => status.error = Some(e),
        }
    }
}

impl Observer<Message> for TraceFile {
    fn on_transmit(
        &mut self,
        now: Instant,
        event: u64,
        from: u32,
        src: Endpoint,
        to: Endpoint,
        msg: &Message,
    ) {
        let mut line = line_of(now, event, "send", src, to, msg);
        line.from = Some(from);
        self.write(&line);
    }

    fn on_deliver(&mut self, now: Instant, event: u64, to: u32, from: Endpoint, msg: &Message) {
        let mut line = line_of(now, event, "recv", from, crate::addr::endpoint_of(to, 1), msg);
        line.to = Some(to);
        // The receiving endpoint's generation is not passed to observers; name the peer only.
        line.to_ep = format!("peer {to}");
        self.write(&line);
    }
}

impl Drop for TraceFile {
    fn drop(&mut self) {
        // The world drops its observer when the run ends: flush then, and keep the error.
        if let Err(e) = self.out.flush() {
            let mut status = self.status.borrow_mut();
            if status.error.is_none() {
                status.error = Some(e);
            }
        }
    }
}
