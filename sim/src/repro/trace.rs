//! Message-level traces for `peerlab replay`: an `Observer` that keeps every
//! datagram sent or delivered that involves the traced peers or PNRP IDs, stops the run at the
//! chosen event or time, and the readable and JSON-lines renderings of what it kept; plus the
//! state dump of a peer at the stop.

use crate::pnrp::PnrpWorld as World;
use crate::world::Observer;
use peerlab_engine::pnrp::{wire, Message, PnrpId};
use peerlab_engine::{Endpoint, Instant};
use serde::Serialize;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::rc::Rc;

/// Trace lines kept at most (the run stops keeping, not running, past it).
pub const TRACE_LINES_MAX: usize = 2_000_000;

/// Where a replay stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Until {
    /// After this 1-based event index.
    Event(u64),
    /// After the first event at or past this time.
    Time(Instant),
    /// At the end of the run.
    End,
}

impl std::str::FromStr for Until {
    type Err = String;
    /// `12345` is an event index, `3m20s` (any duration) a simulated time.
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Ok(n) = s.parse::<u64>() {
            return Ok(Until::Event(n));
        }
        s.parse::<peerlab_engine::Duration>()
            .map(|d| Until::Time(Instant::ZERO + d))
            .map_err(|_| format!("`{s}` is neither an event index (e.g. 12345) nor a time (e.g. 3m20s)"))
    }
}

/// What to keep.
#[derive(Clone, Debug, Default)]
pub struct TraceFilter {
    /// Peers whose sends and deliveries are kept.
    pub nodes: BTreeSet<u32>,
    /// Lowercase hex prefixes of PNRP IDs; messages naming a matching ID are kept.
    pub id_prefixes: Vec<String>,
    /// A peer whose every message is kept apart for a message-sequence diagram.
    pub msc_peer: Option<u32>,
}

/// One traced datagram.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TraceLine {
    /// 1-based index of the event during which it happened.
    pub event: u64,
    /// Simulated time, microseconds.
    pub t_us: u64,
    /// `send` (left the sender) or `recv` (handed to the receiver's engine).
    pub dir: &'static str,
    /// Sender peer index, when the address is a simulated peer's.
    pub from: Option<u32>,
    /// Sender endpoint.
    pub from_ep: String,
    /// Receiver peer index, when the address is a simulated peer's.
    pub to: Option<u32>,
    /// Receiver endpoint.
    pub to_ep: String,
    /// Message type.
    pub msg: &'static str,
    /// Header message ID.
    pub message_id: u32,
    /// The message ID this one answers (AUTHORITY, ACK, ADVERTISE).
    pub acked_id: Option<u32>,
    /// PNRP IDs the message names (hex).
    pub ids: Vec<String>,
    /// Key fields, readable.
    pub fields: String,
}

/// What the trace observer collected.
#[derive(Debug, Default)]
pub struct TraceData {
    /// Lines matching the filter, in order.
    pub lines: Vec<TraceLine>,
    /// Every line involving the MSC peer.
    pub msc: Vec<TraceLine>,
    /// Lines not kept because of `TRACE_LINES_MAX`.
    pub dropped: u64,
    /// Where the run stopped (event, time).
    pub stopped_at: Option<(u64, Instant)>,
}

/// The observer; `data` stays readable by the caller through the shared handle.
pub struct TraceObserver {
    filter: TraceFilter,
    until: Until,
    data: Rc<RefCell<TraceData>>,
}

impl TraceObserver {
    /// A trace observer and the handle to what it collects.
    pub fn new(filter: TraceFilter, until: Until) -> (Self, Rc<RefCell<TraceData>>) {
        let data = Rc::new(RefCell::new(TraceData::default()));
        let obs = TraceObserver {
            filter,
            until,
            data: data.clone(),
        };
        (obs, data)
    }

    fn keep(&mut self, line: TraceLine) {
        let f = &self.filter;
        let involves = |p: Option<u32>| p.is_some_and(|p| f.nodes.contains(&p));
        let by_id = !f.id_prefixes.is_empty()
            && line
                .ids
                .iter()
                .any(|id| f.id_prefixes.iter().any(|p| id.starts_with(p.as_str())));
        let for_msc = f.msc_peer.is_some() && (line.from == f.msc_peer || line.to == f.msc_peer);
        let mut data = self.data.borrow_mut();
        if for_msc && data.msc.len() < TRACE_LINES_MAX {
            data.msc.push(line.clone());
        }
        if involves(line.from) || involves(line.to) || by_id {
            if data.lines.len() < TRACE_LINES_MAX {
                data.lines.push(line);
            } else {
                data.dropped += 1;
            }
        }
    }
}

impl Observer<Message> for TraceObserver {
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
        self.keep(line);
    }

    fn on_deliver(&mut self, now: Instant, event: u64, to: u32, from: Endpoint, msg: &Message) {
        let mut line = line_of(now, event, "recv", from, crate::addr::endpoint_of(to, 1), msg);
        line.to = Some(to);
        // The receiving endpoint's generation is not passed; name the peer only.
        line.to_ep = format!("peer {to}");
        self.keep(line);
    }

    fn after_event(&mut self, now: Instant, event: u64) -> bool {
        let go_on = match self.until {
            Until::Event(n) => event < n,
            Until::Time(t) => now < t,
            Until::End => true,
        };
        if !go_on {
            self.data.borrow_mut().stopped_at = Some((event, now));
        }
        go_on
    }
}

pub(crate) fn line_of(
    now: Instant,
    event: u64,
    dir: &'static str,
    from: Endpoint,
    to: Endpoint,
    msg: &Message,
) -> TraceLine {
    let d = describe(msg);
    TraceLine {
        event,
        t_us: now.as_micros(),
        dir,
        from: crate::addr::peer_of(&from).map(|(i, _)| i),
        from_ep: from.to_string(),
        to: crate::addr::peer_of(&to).map(|(i, _)| i),
        to_ep: to.to_string(),
        msg: msg.kind().name(),
        message_id: msg.message_id(),
        acked_id: d.acked,
        ids: d.ids.iter().map(|i| i.to_string()).collect(),
        fields: d.fields,
    }
}

/// A message's key fields.
pub struct Described {
    /// The message ID it answers.
    pub acked: Option<u32>,
    /// PNRP IDs it names.
    pub ids: Vec<PnrpId>,
    /// Readable key fields.
    pub fields: String,
}

/// An ID shortened to the start of its P2P ID and of its service location (IDs of one name share
/// the first half, so both halves are needed to tell them apart): `ac1e2549ce51…0000001250872e`.
pub fn short(id: &PnrpId) -> String {
    let s = id.to_string();
    // The service location's first 8 digits are the simulated /32 (2001:db8) for most IDs.
    match (s.get(..12), s.get(40..54)) {
        (Some(a), Some(b)) => format!("{a}…{b}"),
        _ => s,
    }
}

/// Key fields of a message (MS-PNRP §2.2.2 names).
pub fn describe(msg: &Message) -> Described {
    let mut ids = Vec::new();
    let mut acked = None;
    let mut f = String::new();
    match msg {
        Message::Solicit(m) => {
            if let Some(e) = &m.route_entry {
                ids.push(e.id);
                let _ = write!(f, "entry={}", short(&e.id));
            }
        }
        Message::Advertise(m) => {
            acked = Some(m.acked_id);
            ids.extend(m.ids.iter().copied());
            let _ = write!(f, "ids={}", m.ids.len());
        }
        Message::Request(m) => {
            ids.extend(m.ids.iter().copied());
            let _ = write!(f, "ids={}", m.ids.len());
        }
        Message::Flood(m) => {
            ids.push(m.validate_id);
            let _ = write!(f, "validate={}", short(&m.validate_id));
            if let Some(e) = &m.route_entry {
                ids.push(e.id);
                let _ = write!(f, " entry={}", short(&e.id));
            }
            if let Some(r) = &m.revoke_cpa {
                ids.push(r.pnrp_id());
                let _ = write!(f, " revoke={}", short(&r.pnrp_id()));
            }
            let _ = write!(f, " flooded={} D={}", m.already_flooded.len(), m.dont_ack as u8);
        }
        Message::Inquire(m) => {
            ids.push(m.validate_id);
            let _ = write!(
                f,
                "validate={} C={} nonce={}",
                short(&m.validate_id),
                m.flags.cpa as u8,
                m.nonce.is_some() as u8
            );
        }
        Message::Authority(m) => {
            acked = Some(m.acked_id);
            let _ = write!(f, "frag={}+{}/{}", m.offset, m.fragment.len(), m.size);
            if m.offset == 0 && m.size as usize == m.fragment.len() {
                if let Ok(buf) = wire::decode_authority_buffer(&m.fragment) {
                    if let Some(e) = &buf.route_entry {
                        ids.push(e.id);
                        let _ = write!(f, " entry={}", short(&e.id));
                    }
                    if let Some(c) = &buf.cpa {
                        let _ = write!(f, " cpa={}", short(&c.pnrp_id()));
                    }
                    let fl = buf.flags;
                    let _ = write!(
                        f,
                        " L={} B={} N={}",
                        fl.leaf_set as u8, fl.busy as u8, fl.not_registered as u8
                    );
                }
            }
        }
        Message::Ack(m) => {
            acked = Some(m.acked_id);
            if let Some(n) = m.not_registered {
                let _ = write!(f, "N={}", n as u8);
            }
        }
        Message::Lookup(m) => {
            ids.push(m.target);
            let _ = write!(
                f,
                "target={} reason={} A={} path={}",
                short(&m.target),
                reason_name(m.reason),
                m.accept_any as u8,
                m.flagged_path.len()
            );
            if let Some(b) = &m.best_match {
                ids.push(b.id);
                let _ = write!(f, " best={}", short(&b.id));
            }
        }
    }
    Described {
        acked,
        ids,
        fields: f,
    }
}

/// One trace line, readable: `3m12.000100s #1234 send 17 → 42 LOOKUP #99 target=…`.
pub fn render_line(l: &TraceLine) -> String {
    let who = |p: Option<u32>, ep: &str| p.map_or_else(|| ep.to_string(), |p| p.to_string());
    let acked = l.acked_id.map(|a| format!(" re #{a}")).unwrap_or_default();
    format!(
        "{:>18} #{:<8} {} {:>6} → {:<6} {:<9} #{}{acked}  {}",
        super::fmt_time(l.t_us),
        l.event,
        l.dir,
        who(l.from, &l.from_ep),
        who(l.to, &l.to_ep),
        l.msg,
        l.message_id,
        l.fields
    )
}

/// The trace as JSON lines.
pub fn to_jsonl(lines: &[TraceLine]) -> String {
    let mut out = String::new();
    for l in lines {
        // Plain data: serializing cannot fail.
        out.push_str(&serde_json::to_string(l).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// The LOOKUP reason code as MS-PNRP §2.2.2.8 describes it, in the trace's words.
fn reason_name(reason: peerlab_engine::pnrp::message::ReasonCode) -> &'static str {
    use peerlab_engine::pnrp::message::ReasonCode;
    match reason {
        ReasonCode::AppRequest => "app-request",
        ReasonCode::Registration => "registration",
        ReasonCode::CacheMaintenance => "cache-maintenance",
        ReasonCode::SplitDetection => "split-detection",
    }
}

/// Peer `i`'s state: role, endpoint, registrations with leaf sets (against the oracle's truth),
/// cache by level, outstanding tables.
pub fn dump_node(world: &World, i: u32) -> String {
    let mut s = String::new();
    let role = world
        .role(i)
        .map_or("no such peer".to_string(), |r| r.to_string());
    let ep = world.endpoint(i).map(|e| e.to_string()).unwrap_or_default();
    let _ = writeln!(s, "peer {i} · {role} · {ep}");
    let Some(node) = world.node(i) else {
        let _ = writeln!(s, "  offline");
        return s;
    };
    for id in node.registered_ids() {
        let _ = writeln!(s, "  registered {id}");
        if let Some(view) = node.leaf_set(id) {
            let (below, above) = world.true_leaf_set(id);
            let list = |v: &[PnrpId]| v.iter().map(short).collect::<Vec<_>>().join(" ");
            let mark = |ok: bool| if ok { "= oracle" } else { "≠ oracle" };
            let _ = writeln!(
                s,
                "    leaf below [{}] {}",
                list(&view.below),
                mark(view.below == below)
            );
            let _ = writeln!(
                s,
                "    leaf above [{}] {}",
                list(&view.above),
                mark(view.above == above)
            );
            if view.below != below || view.above != above {
                let _ = writeln!(s, "    oracle below [{}] above [{}]", list(&below), list(&above));
            }
        }
    }
    let sizes = node.cache_level_sizes();
    let levels: Vec<String> = sizes.iter().map(|n| n.to_string()).collect();
    let _ = writeln!(
        s,
        "  cache {} entries, by level (0 first): {}",
        node.cache_len(),
        levels.join(", ")
    );
    for id in node.cache_ids().take(12) {
        let route = node
            .cached_route(id)
            .map(|r| {
                // Bracketed, as endpoints are written everywhere else: a bare IPv6 address
                // followed by `:port` cannot be told apart from the address.
                format!(
                    "[{}]:{}",
                    r.addrs.first().map(|a| a.to_string()).unwrap_or_default(),
                    r.port
                )
            })
            .unwrap_or_default();
        let _ = writeln!(s, "    {} → {route}", short(&id));
    }
    if node.cache_len() > 12 {
        let _ = writeln!(s, "    … {} more", node.cache_len() - 12);
    }
    let (ort, pending, adds) = node.table_sizes();
    let _ = writeln!(
        s,
        "  outstanding: {ort} resolves, {pending} pending requests, {adds} cache adds"
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use peerlab_engine::pnrp::{Inquire, InquireFlags};

    #[test]
    fn until_reads_event_indices_and_times() {
        assert_eq!("123".parse::<Until>(), Ok(Until::Event(123)));
        assert_eq!(
            "2m".parse::<Until>(),
            Ok(Until::Time(
                Instant::ZERO + peerlab_engine::Duration::from_secs(120)
            ))
        );
        assert!("soon".parse::<Until>().is_err());
    }

    #[test]
    fn the_observer_keeps_traced_peers_and_ids_and_stops_at_the_event() {
        let id = PnrpId::new(0xabcd << 112, 7);
        let msg = Message::Inquire(Box::new(Inquire {
            message_id: 5,
            flags: InquireFlags::default(),
            validate_id: id,
            nonce: None,
        }));
        let mut filter = TraceFilter::default();
        filter.nodes.insert(3);
        let (mut obs, data) = TraceObserver::new(filter, Until::Event(2));
        let ep = |i| crate::addr::endpoint_of(i, 1);
        obs.on_transmit(Instant::ZERO, 1, 3, ep(3), ep(4), &msg);
        obs.on_transmit(Instant::ZERO, 1, 5, ep(5), ep(6), &msg);
        assert!(obs.after_event(Instant::ZERO, 1));
        assert!(!obs.after_event(Instant::ZERO, 2));
        let d = data.borrow();
        assert_eq!(d.lines.len(), 1);
        assert_eq!(d.lines[0].from, Some(3));
        assert_eq!(d.lines[0].to, Some(4));
        assert_eq!(d.stopped_at.map(|s| s.0), Some(2));
        assert!(render_line(&d.lines[0]).contains("INQUIRE"));
        drop(d);

        let filter = TraceFilter {
            id_prefixes: vec!["abcd".into()],
            ..TraceFilter::default()
        };
        let (mut obs, data) = TraceObserver::new(filter, Until::End);
        obs.on_transmit(Instant::ZERO, 1, 5, ep(5), ep(6), &msg);
        assert_eq!(data.borrow().lines.len(), 1);
        let json = to_jsonl(&data.borrow().lines);
        assert!(json.contains("\"msg\":\"INQUIRE\""), "{json}");
    }
}
