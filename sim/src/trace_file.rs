//! `[output] trace = true`: every datagram of a run, sent and delivered, as JSON lines in
//! `trace.jsonl` beside `records.jsonl` (one `TraceLine` of `peerlab replay`'s trace per line),
//! and every stream message queued (`stream-send`) and delivered (`stream-recv`) and every
//! connection event (`stream`: connected, accepted, closed, reset, connect_failed).
//! Large: a 1,000-peer, 10-minute run writes a few million lines.

use crate::repro::trace::{line_of, TraceLine};
use crate::world::{Observer, StreamInfo};
use peerlab_engine::pnrp::Message;
use peerlab_engine::{Endpoint, Instant, StreamEvent};
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

/// A message's trace line: (time, event, direction, from, to, message); PNRP's is `line_of`.
pub type Describe<M> = fn(Instant, u64, &'static str, Endpoint, Endpoint, &M) -> TraceLine;

/// An observer that writes every datagram and stream event to a file.
pub struct TraceFile<M = Message> {
    out: BufWriter<File>,
    line: Vec<u8>,
    status: Rc<RefCell<TraceStatus>>,
    describe: Describe<M>,
}

impl TraceFile<Message> {
    /// Creates (or truncates) `path` for a PNRP run; returns the observer and its status handle.
    pub fn create(path: &Path) -> std::io::Result<(Self, Rc<RefCell<TraceStatus>>)> {
        Self::with_lines(path, line_of)
    }
}

impl<M> TraceFile<M> {
    /// Creates (or truncates) `path` for a protocol whose messages `describe` writes.
    pub fn with_lines(
        path: &Path,
        describe: Describe<M>,
    ) -> std::io::Result<(Self, Rc<RefCell<TraceStatus>>)> {
        let status = Rc::new(RefCell::new(TraceStatus::default()));
        let obs = TraceFile {
            out: BufWriter::with_capacity(1 << 16, peerlab_reports::output::create_file(path)?),
            line: Vec::with_capacity(256),
            status: status.clone(),
            describe,
        };
        Ok((obs, status))
    }

    fn write(&mut self, line: &TraceLine) {
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

/// A connection event's name and details for a trace line.
fn stream_note<M>(info: &StreamInfo, ev: &StreamEvent<M>) -> (&'static str, String) {
    let conn = ev.conn();
    let flow = info.flow;
    match ev {
        StreamEvent::Connected { .. } => ("connected", format!("conn {conn} flow {flow}")),
        StreamEvent::Accepted { local_port, .. } => {
            ("accepted", format!("conn {conn} flow {flow} port {local_port}"))
        }
        StreamEvent::Received { .. } => ("received", format!("conn {conn} flow {flow}")),
        StreamEvent::Closed { .. } => ("closed", format!("conn {conn} flow {flow}")),
        StreamEvent::Reset { .. } => {
            let cause = info.cause.map_or(String::new(), |c| format!(" cause {c:?}"));
            ("reset", format!("conn {conn} flow {flow}{cause}"))
        }
        StreamEvent::ConnectFailed { reason, .. } => (
            "connect_failed",
            format!("conn {conn} flow {flow} reason {}", reason.as_str()),
        ),
    }
}

/// A trace line about a connection, without a message.
fn connection_line(
    now: Instant,
    event: u64,
    from: Endpoint,
    to: Endpoint,
    msg: &'static str,
    fields: String,
) -> TraceLine {
    let peer = |ep: &Endpoint| crate::addr::peer_of_addr(&ep.addr).map(|(i, _)| i);
    TraceLine {
        event,
        t_us: now.as_micros(),
        dir: "stream",
        from: peer(&from),
        from_ep: from.to_string(),
        to: peer(&to),
        to_ep: to.to_string(),
        msg,
        message_id: 0,
        acked_id: None,
        ids: Vec::new(),
        fields,
    }
}

/// The endpoints of end `info.end` (local) and of the far end.
fn local_and_far(info: &StreamInfo) -> (Endpoint, Endpoint) {
    let i = info.end as usize;
    (info.ends[i], info.ends[1 - i])
}

impl<M> Observer<M> for TraceFile<M> {
    fn on_transmit(&mut self, now: Instant, event: u64, from: u32, src: Endpoint, to: Endpoint, msg: &M) {
        let mut line = (self.describe)(now, event, "send", src, to, msg);
        line.from = Some(from);
        self.write(&line);
    }

    fn on_deliver(&mut self, now: Instant, event: u64, to: u32, from: Endpoint, msg: &M) {
        let mut line = (self.describe)(now, event, "recv", from, crate::addr::endpoint_of(to, 1), msg);
        line.to = Some(to);
        // The receiving endpoint's generation is not passed to observers; name the peer only.
        line.to_ep = format!("peer {to}");
        self.write(&line);
    }

    fn on_stream_send(&mut self, now: Instant, event: u64, from: u32, info: &StreamInfo, msg: &M) {
        let (local, far) = local_and_far(info);
        let mut line = (self.describe)(now, event, "stream-send", local, far, msg);
        line.from = Some(from);
        line.fields = format!("flow {} {}", info.flow, line.fields);
        self.write(&line);
    }

    fn on_stream_event(&mut self, now: Instant, event: u64, to: u32, info: &StreamInfo, ev: &StreamEvent<M>) {
        let (local, far) = local_and_far(info);
        let (name, fields) = stream_note(info, ev);
        let mut line = match ev {
            StreamEvent::Received { msg, .. } => {
                let mut line = (self.describe)(now, event, "stream-recv", far, local, msg);
                line.fields = format!("{fields} {}", line.fields);
                line
            }
            _ => connection_line(now, event, far, local, name, fields),
        };
        line.to = Some(to);
        self.write(&line);
    }
}

impl<M> Drop for TraceFile<M> {
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
