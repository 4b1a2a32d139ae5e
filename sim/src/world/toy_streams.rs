//! A second toy protocol, over stream connections, for the world's stream tests: servers listen
//! on a port and echo every message; each client connects to peer 0 a second after it joins,
//! sends a numbered message every half second (sizes from one to several segments) and closes
//! after the last echo. Peers in a group named `mute` listen on nothing.

use super::toy::world_of;
use super::{CheckVerdict, Core, PeerSpec, Protocol, Setup};
use crate::addr::endpoint_of;
use crate::plan::Plan;
use peerlab_engine::{
    ConnId, ConnectFailure, Duration, Endpoint, Instant, Node, RequestId, StreamCommand, StreamEvent,
    Transmit,
};
use std::collections::{BTreeMap, VecDeque};

/// The port servers listen on.
const PORT: u16 = 7_000;
/// Messages each client sends before it closes.
const MESSAGES: u32 = 30;

/// A framed message: its number and its length in bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Msg {
    Data { seq: u32, len: u32 },
    Echo { seq: u32, len: u32 },
}

/// What an engine saw, for the test to read.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Seen {
    Connected,
    Accepted,
    Echo(u32),
    Data(u32),
    Closed,
    Reset,
    Failed(ConnectFailure),
}

/// A peer of the toy: a server (listening or not) or a client of peer 0.
struct Talk {
    listening: bool,
    client: bool,
    wake: Option<Instant>,
    conn: Option<ConnId>,
    connected: bool,
    next_seq: u32,
    cmds: VecDeque<StreamCommand<Msg>>,
    seen: VecDeque<Seen>,
}

impl Node for Talk {
    type Message = Msg;
    type Command = ();
    type Event = Seen;

    fn handle_message(&mut self, _now: Instant, _from: Endpoint, _msg: Msg) {}
    fn handle_timeout(&mut self, now: Instant) {
        self.wake = None;
        let Some(conn) = self.conn else {
            let conn = ConnId(1);
            let mut to = endpoint_of(0, 1);
            to.port = PORT;
            self.cmds.push_back(StreamCommand::Connect { conn, to });
            self.conn = Some(conn);
            return;
        };
        if !self.connected {
            return;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let len = 200 + (seq % 7) * 1_000;
        self.cmds.push_back(StreamCommand::Send {
            conn,
            msg: Msg::Data { seq, len },
        });
        if self.next_seq < MESSAGES {
            self.wake = Some(now + Duration::from_millis(500));
        }
    }
    fn handle_command(&mut self, _now: Instant, _cmd: ()) -> RequestId {
        RequestId(0)
    }
    fn handle_stream(&mut self, now: Instant, event: StreamEvent<Msg>) {
        let seen = match event {
            StreamEvent::Connected { .. } => {
                self.connected = true;
                self.wake = Some(now);
                Seen::Connected
            }
            StreamEvent::Accepted { .. } => Seen::Accepted,
            StreamEvent::Received { conn, msg } => match msg {
                Msg::Data { seq, len } => {
                    let msg = Msg::Echo { seq, len };
                    self.cmds.push_back(StreamCommand::Send { conn, msg });
                    Seen::Data(seq)
                }
                Msg::Echo { seq, .. } => {
                    // Close after the last echo: data reaching a closed end draws an RST.
                    if seq + 1 == MESSAGES {
                        self.cmds.push_back(StreamCommand::Close { conn });
                        self.client = false;
                    }
                    Seen::Echo(seq)
                }
            },
            StreamEvent::Closed { .. } => Seen::Closed,
            StreamEvent::Reset { .. } => {
                self.wake = None;
                Seen::Reset
            }
            StreamEvent::ConnectFailed { reason, .. } => Seen::Failed(reason),
        };
        self.seen.push_back(seen);
    }
    fn poll_transmit(&mut self) -> Option<Transmit<Msg>> {
        None
    }
    fn poll_stream(&mut self) -> Option<StreamCommand<Msg>> {
        self.cmds.pop_front()
    }
    fn poll_event(&mut self) -> Option<Seen> {
        self.seen.pop_front()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.wake.filter(|_| self.client)
    }
    fn listens(&self, port: u16) -> bool {
        self.listening && port == PORT
    }
}

/// The plug-in: every engine's observations, in order, with their time.
#[derive(Default)]
struct Chat {
    log: Vec<(Instant, u32, Seen)>,
}

impl Chat {
    fn of(&self, peer: u32) -> Vec<Seen> {
        self.log.iter().filter(|e| e.1 == peer).map(|e| e.2).collect()
    }
}

impl Protocol for Chat {
    type Node = Talk;
    type Message = Msg;
    /// Whether the peer is a client (else a server), and whether it listens.
    type PeerData = (bool, bool);
    type Ext = ();

    fn new(plan: &Plan) -> Result<Setup<Self>, String> {
        let specs = plan
            .groups
            .iter()
            .enumerate()
            .flat_map(|(g, group)| {
                let client = group.name.starts_with("client");
                let listening = !client && group.name != "mute";
                group.joins.iter().map(move |_| PeerSpec {
                    group: Some(g),
                    fixed: false,
                    data: (client, listening),
                })
            })
            .collect();
        Ok((Chat::default(), specs))
    }
    fn message_kinds() -> Vec<&'static str> {
        vec!["data", "echo"]
    }
    fn message_kind(msg: &Msg) -> usize {
        matches!(msg, Msg::Echo { .. }) as usize
    }
    fn encoded_len(msg: &Msg) -> usize {
        let (Msg::Data { len, .. } | Msg::Echo { len, .. }) = msg;
        *len as usize
    }
    fn fold_message(msg: &Msg) -> u64 {
        let (Msg::Data { seq, .. } | Msg::Echo { seq, .. }) = msg;
        (u64::from(*seq) << 1) | Self::message_kind(msg) as u64
    }
    fn fold_ext(_ext: &()) -> (u64, u64, u64) {
        (11, 0, 0)
    }
    fn wire_round_trip(msg: Msg, _buf: &mut Vec<u8>) -> Result<Msg, String> {
        Ok(msg)
    }
    fn schedule_initial(&mut self, _core: &mut Core<Self>) {}
    fn build_node(&mut self, core: &Core<Self>, peer: u32, _ep: Endpoint, _seed: [u8; 32]) -> Box<Talk> {
        let (client, listening) = core.peer(peer).data;
        Box::new(Talk {
            listening,
            client,
            wake: client.then(|| core.now() + Duration::from_secs(1)),
            conn: None,
            connected: false,
            next_seq: 0,
            cmds: VecDeque::new(),
            seen: VecDeque::new(),
        })
    }
    fn joined(&mut self, _core: &mut Core<Self>, _peer: u32) {}
    fn going_offline(&mut self, _core: &mut Core<Self>, _peer: u32, _graceful: bool) {}
    fn gone_offline(&mut self, _core: &mut Core<Self>, _peer: u32, _node: Option<Box<Talk>>) {}
    fn address_changed(&mut self, _core: &mut Core<Self>, _peer: u32, _ep: Endpoint) {}
    fn on_event(&mut self, core: &mut Core<Self>, peer: u32, event: Seen) {
        self.log.push((core.now(), peer, event));
    }
    fn intercept(&mut self, _core: &mut Core<Self>, _to: u32, _from: Endpoint, _msg: &Msg) -> bool {
        false
    }
    fn check_peer(&mut self, _core: &mut Core<Self>, _peer: u32) {}
    fn workload(&mut self, _core: &mut Core<Self>, _index: u16) {}
    fn on_ext(&mut self, _core: &mut Core<Self>, _ext: ()) {}
    fn sample(&mut self, _core: &mut Core<Self>) {}
    fn finish(&mut self, core: &mut Core<Self>) -> (Vec<CheckVerdict>, BTreeMap<String, f64>) {
        (
            core.no_violations_verdict().into_iter().collect(),
            BTreeMap::new(),
        )
    }
}

/// One server (peer 0), then `clients` clients, over a lossy network; `extra` is appended.
fn scenario(server: &str, clients: u32, seed: u64, extra: &str) -> String {
    format!(
        r#"
name = "chat"
seed = {seed}
duration = "40s"
[network]
latency = {{ model = "uniform", min = "5ms", max = "40ms" }}
loss = "3%"
[[peers]]
name = "{server}"
count = 1
[[peers]]
name = "clients"
count = {clients}
{extra}"#
    )
}

/// Runs a scenario and returns the plug-in's log and the outcome.
fn run(text: &str) -> (Chat, super::Outcome) {
    let mut world = world_of::<Chat>(text);
    let out = world.run_in_place(&mut |_, _, _| {});
    (std::mem::take(&mut world.proto), out)
}

#[test]
fn connections_carry_framed_messages_whole_and_in_order_both_ways_over_a_lossy_network() {
    let (chat, out) = run(&scenario("servers", 4, 1, ""));
    let all: Vec<u32> = (0..MESSAGES).collect();
    for client in 1..=4 {
        let seen = chat.of(client);
        assert_eq!(seen.first(), Some(&Seen::Connected), "{seen:?}");
        let echoes: Vec<u32> = seen
            .iter()
            .filter_map(|s| if let Seen::Echo(n) = s { Some(*n) } else { None })
            .collect();
        assert_eq!(echoes, all, "client {client}: every echo, in order");
    }
    let server = chat.of(0);
    let count = |want: Seen| server.iter().filter(|s| **s == want).count();
    assert_eq!((count(Seen::Accepted), count(Seen::Closed)), (4, 4), "{server:?}");
    assert_eq!(count(Seen::Reset), 0);
    let m = &out.metrics;
    assert_eq!(m["net.messages.data"], f64::from(4 * MESSAGES));
    assert_eq!(m["net.messages.echo"], f64::from(4 * MESSAGES));
    // 3% of segments are lost and come again; nothing is lost for the application.
    assert!(m["net.stream.retransmissions"] > 0.0, "{m:?}");
    assert_eq!(m["net.stream.delivered"], f64::from(8 * MESSAGES));
    assert_eq!(m["net.stream.connected"], 4.0);
}

#[test]
fn a_crashed_far_peer_is_noticed_as_a_reset_once_it_is_back() {
    let crash = "[[fault]]\nkind = \"crash\"\nat = \"5s\"\nfraction = \"100%\"\ngroup = \"servers\"\nrestart_after = \"3s\"\n";
    let (chat, _) = run(&scenario("servers", 1, 2, crash));
    let resets: Vec<Instant> = chat
        .log
        .iter()
        .filter(|e| e.1 == 1 && e.2 == Seen::Reset)
        .map(|e| e.0)
        .collect();
    assert_eq!(resets.len(), 1, "{:?}", chat.of(1));
    // Segments sent while the server is down are lost; the first retransmission after it is
    // back (at 8 s) draws its RST.
    let at = resets[0].since_epoch();
    assert!(
        at > Duration::from_secs(8) && at < Duration::from_secs(20),
        "{at:?}"
    );
}

#[test]
fn a_connect_to_a_port_nobody_listens_on_is_refused_within_a_round_trip() {
    let (chat, out) = run(&scenario("mute", 2, 3, ""));
    for client in [1, 2] {
        let at: Vec<(Instant, u32, Seen)> = chat.log.iter().filter(|e| e.1 == client).copied().collect();
        assert_eq!(at.len(), 1, "{at:?}");
        assert_eq!(at[0].2, Seen::Failed(ConnectFailure::Refused));
        // A second after joining at 0, plus one round trip (a lost SYN or RST adds 3 s).
        let t = at[0].0.since_epoch();
        assert!(
            t >= Duration::from_millis(1_010) && t <= Duration::from_millis(4_100),
            "{t:?}"
        );
    }
    assert!(chat.of(0).is_empty(), "the mute server hears of nothing");
    assert_eq!(out.metrics["net.stream.connect_failed.refused"], 2.0);
}

#[test]
fn a_connect_to_an_address_that_is_gone_times_out_after_the_syn_retries() {
    let change =
        "[[fault]]\nkind = \"address-change\"\nat = \"500ms\"\nfraction = \"100%\"\ngroup = \"servers\"\n";
    let (chat, _) = run(&scenario("servers", 1, 4, change));
    let at: Vec<(Instant, u32, Seen)> = chat.log.iter().filter(|e| e.1 == 1).copied().collect();
    assert_eq!(at.len(), 1, "{at:?}");
    assert_eq!(at[0].2, Seen::Failed(ConnectFailure::TimedOut));
    // 3 + 6 + 12 s of SYN retries from the connect at 1 s.
    assert_eq!(at[0].0.since_epoch(), Duration::from_secs(22));
}

#[test]
fn stream_runs_are_deterministic_and_the_seed_matters() {
    let (_, a) = run(&scenario("servers", 3, 5, ""));
    let (_, b) = run(&scenario("servers", 3, 5, ""));
    let (_, c) = run(&scenario("servers", 3, 6, ""));
    assert_eq!(a.fingerprint, b.fingerprint, "same seed, same run");
    assert_ne!(
        a.fingerprint, c.fingerprint,
        "another seed draws other latencies and losses"
    );
    assert_eq!(a.metrics, b.metrics);
}

/// The toy's framing, appended to `buf`: length and number (4 bytes each, big-endian), then
/// filler up to `len` bytes.
fn frame(msg: &Msg, buf: &mut Vec<u8>) {
    let (Msg::Data { seq, len } | Msg::Echo { seq, len }) = msg;
    let end = buf.len() + *len as usize;
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(&seq.to_be_bytes());
    buf.resize(end, b'a' + (seq % 26) as u8);
}

/// The framed bytes of messages `0..MESSAGES` of one kind, back to back.
fn framed(echo: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for seq in 0..MESSAGES {
        let len = 200 + (seq % 7) * 1_000;
        frame(
            &if echo {
                Msg::Echo { seq, len }
            } else {
                Msg::Data { seq, len }
            },
            &mut out,
        );
    }
    out
}

/// Runs two clients of one server with a pcap observer writing to a fresh file; its path.
fn captured(name: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("peerlab-{name}-{}.pcap", std::process::id()));
    let mut world = world_of::<Chat>(&scenario("servers", 2, 7, ""));
    let codec = crate::pcap::Codec {
        datagram: frame,
        frame,
    };
    let (obs, status) = crate::pcap::PcapObserver::with_codec(&path, None, codec).unwrap();
    world.set_observer(Box::new(obs));
    world.run_in_place(&mut |_, _, _| {});
    drop(world.take_observer());
    assert_eq!(status.lock().unwrap().error, None);
    path
}

#[test]
fn a_pcap_holds_each_connection_as_tcp_segments_that_reassemble_to_the_framed_messages() {
    use crate::pcap::tcp::{tcp6_segment, FIN, RST, SYN};
    let path = captured("streams");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let (_, records) = crate::pcap::read_pcap(&bytes).unwrap();
    let segs: Vec<_> = records
        .iter()
        .map(|r| tcp6_segment(&r.data).expect("valid TCP"))
        .collect();
    let count = |flag: u8| segs.iter().filter(|s| s.flags & flag != 0).count();
    // Two connections: a SYN and a SYN-ACK each, both sides' FINs, no RST.
    assert_eq!((count(SYN), count(FIN), count(RST)), (4, 4, 0));
    for client in [1u32, 2] {
        let ep = endpoint_of(client, 1);
        // Each direction, in capture order, must continue exactly where the last segment ended.
        let direction = |from_client: bool| -> Vec<u8> {
            let mut out = Vec::new();
            let mut next: Option<u32> = None;
            for s in segs.iter().filter(|s| (s.src.addr == ep.addr) == from_client) {
                if s.src.addr != ep.addr && s.dst.addr != ep.addr {
                    continue;
                }
                if let Some(n) = next.filter(|_| !s.payload.is_empty()) {
                    assert_eq!(s.seq, n, "contiguous");
                }
                next = Some(
                    s.seq
                        .wrapping_add(s.payload.len() as u32 + u32::from(s.flags & (SYN | FIN) != 0)),
                );
                out.extend_from_slice(&s.payload);
            }
            out
        };
        // `assert!`, not `assert_eq!`: a diff of 100 kB helps no one.
        assert!(direction(true) == framed(false), "client {client}'s data");
        assert!(
            direction(false) == framed(true),
            "the server's echoes to {client}"
        );
    }
}

/// Run with `cargo test --release -p peerlab-sim -- --ignored tshark` where tshark is installed.
#[test]
#[ignore = "needs tshark on PATH"]
fn tshark_follows_a_simulated_stream_connection() {
    let path = captured("tshark");
    let (client, server) = crate::pcap::tcp::tshark_follow(&path, 0);
    std::fs::remove_file(&path).unwrap();
    assert!(client == framed(false), "{} bytes from the client", client.len());
    assert!(server == framed(true), "{} bytes from the server", server.len());
}
