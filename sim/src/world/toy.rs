//! A toy protocol on the generic world, for its tests: every peer pings the next peer each second
//! and answers pings with pongs. It proves the world runs any `engine::Node`, counts traffic by
//! the protocol's own message kinds and keeps incarnations and churn protocol-free. Peers of a
//! group named `mc` ping the all-nodes multicast group instead; peers of `quiet*` groups only answer.

use super::{CheckVerdict, Core, Ev, PeerSpec, Protocol, Setup, World};
use crate::addr::endpoint_of;
use crate::plan::Plan;
use peerlab_engine::{Duration, Endpoint, Instant, Node, RequestId, Transmit};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// The toy's datagrams.
#[derive(Debug, Clone)]
enum Msg {
    Ping,
    Pong,
}

/// The toy engine: a ping each second to the next peer; a pong for every ping.
struct Echo {
    next_peer: Endpoint,
    wake: Option<Instant>,
    out: VecDeque<Transmit<Msg>>,
    /// What arrived, for the plug-in to count.
    seen: VecDeque<Msg>,
}

impl Node for Echo {
    type Message = Msg;
    type Command = ();
    type Event = Msg;

    fn handle_message(&mut self, _now: Instant, from: Endpoint, msg: Msg) {
        if let Msg::Ping = msg {
            self.out.push_back(Transmit {
                to: from,
                msg: Msg::Pong,
            });
        }
        self.seen.push_back(msg);
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.out.push_back(Transmit {
            to: self.next_peer,
            msg: Msg::Ping,
        });
        self.wake = Some(now + Duration::from_secs(1));
    }
    fn handle_command(&mut self, _now: Instant, _cmd: ()) -> RequestId {
        RequestId(0)
    }
    fn poll_transmit(&mut self) -> Option<Transmit<Msg>> {
        self.out.pop_front()
    }
    fn poll_event(&mut self) -> Option<Msg> {
        self.seen.pop_front()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.wake
    }
}

/// The toy plug-in: counts pongs and sessions, and who was pinged.
#[derive(Default)]
struct Toy {
    pongs: u64,
    sessions_ended: u64,
    pinged: std::collections::BTreeSet<u32>,
}

impl Protocol for Toy {
    type Node = Echo;
    type Message = Msg;
    type PeerData = ();
    type Ext = ();

    fn new(plan: &Plan) -> Result<Setup<Self>, String> {
        let specs = plan
            .groups
            .iter()
            .enumerate()
            .flat_map(|(g, group)| {
                group.joins.iter().map(move |_| PeerSpec {
                    group: Some(g),
                    fixed: false,
                    data: (),
                })
            })
            .collect();
        Ok((Toy::default(), specs))
    }
    fn message_kinds() -> Vec<&'static str> {
        vec!["ping", "pong"]
    }
    fn message_kind(msg: &Msg) -> usize {
        match msg {
            Msg::Ping => 0,
            Msg::Pong => 1,
        }
    }
    fn encoded_len(_msg: &Msg) -> usize {
        40
    }
    fn fold_message(msg: &Msg) -> u64 {
        Self::message_kind(msg) as u64
    }
    fn fold_ext(_ext: &()) -> (u64, u64, u64) {
        (11, 0, 0)
    }
    fn wire_round_trip(msg: Msg, _buf: &mut Vec<u8>) -> Result<Msg, String> {
        Ok(msg)
    }
    fn schedule_initial(&mut self, _core: &mut Core<Self>) {}
    fn build_node(&mut self, core: &Core<Self>, peer: u32, _ep: Endpoint, _seed: [u8; 32]) -> Box<Echo> {
        let next = (peer + 1) % core.peers().len() as u32;
        let group = &core.plan.groups[core.peer(peer).group().expect("every toy peer has a group")].name;
        let next_peer = match group.as_str() {
            "mc" => Endpoint::new(std::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1), 3540),
            _ => endpoint_of(next, 1),
        };
        Box::new(Echo {
            next_peer,
            wake: (!group.starts_with("quiet")).then(|| core.now()),
            out: VecDeque::new(),
            seen: VecDeque::new(),
        })
    }
    fn joined(&mut self, _core: &mut Core<Self>, _peer: u32) {}
    fn going_offline(&mut self, _core: &mut Core<Self>, _peer: u32, _graceful: bool) {}
    fn gone_offline(&mut self, _core: &mut Core<Self>, _peer: u32, node: Option<Box<Echo>>) {
        self.sessions_ended += u64::from(node.is_some());
    }
    fn address_changed(&mut self, _core: &mut Core<Self>, _peer: u32, _ep: Endpoint) {}
    fn on_event(&mut self, _core: &mut Core<Self>, peer: u32, event: Msg) {
        match event {
            Msg::Ping => _ = self.pinged.insert(peer),
            Msg::Pong => self.pongs += 1,
        }
    }
    fn intercept(&mut self, _core: &mut Core<Self>, _to: u32, _from: Endpoint, _msg: &Msg) -> bool {
        false
    }
    fn check_peer(&mut self, _core: &mut Core<Self>, _peer: u32) {}
    fn workload(&mut self, _core: &mut Core<Self>, _index: u16) {}
    fn on_ext(&mut self, _core: &mut Core<Self>, _ext: ()) {}
    fn sample(&mut self, _core: &mut Core<Self>) {}
    fn finish(&mut self, core: &mut Core<Self>) -> (Vec<CheckVerdict>, BTreeMap<String, f64>) {
        let mut m = BTreeMap::new();
        m.insert("toy.pongs".into(), self.pongs as f64);
        m.insert("toy.sessions_ended".into(), self.sessions_ended as f64);
        (core.no_violations_verdict().into_iter().collect(), m)
    }
}

/// Builds the world of protocol `P` for a scenario given as text.
pub(super) fn world_of<P: Protocol>(text: &str) -> World<P> {
    let scenario = crate::scenario::parse_with_overrides(text, "<memory>", &[]).expect("scenario");
    let plan = crate::expand::plan(&scenario, std::path::Path::new("<memory>")).expect("plan");
    let rec = super::Recorder::new(None).expect("recorder");
    World::new(Arc::new(plan), rec).expect("world")
}

const STABLE: &str = r#"
name = "toy"
seed = 3
duration = "60s"
[network]
latency = { model = "constant", value = "10ms" }
[[peers]]
name = "p"
count = 20
"#;

#[test]
fn a_protocol_other_than_pnrp_runs_on_the_world_with_its_own_message_kinds() {
    let (a, _) = world_of::<Toy>(STABLE).run(&mut |_, _, _| {});
    let (b, _) = world_of::<Toy>(STABLE).run(&mut |_, _, _| {});
    assert_eq!(a.fingerprint, b.fingerprint, "same plan, same run");
    let pings = a.metrics["net.messages.ping"];
    let pongs = a.metrics["net.messages.pong"];
    // 20 peers ping once a second for about a minute, and every ping is answered.
    assert!(pings >= 20.0 * 55.0, "{pings} pings");
    assert!(
        pongs >= pings - 20.0 && pongs <= pings,
        "{pongs} pongs for {pings} pings"
    );
    // Pongs still in flight when the run ends were counted as sent but never handled.
    let handled = a.metrics["toy.pongs"];
    assert!(
        handled <= pongs && handled >= pongs - 20.0,
        "{handled} of {pongs} pongs handled"
    );
    assert_eq!(a.metrics["net.bytes"], 40.0 * (pings + pongs));
    assert!(a.checks.iter().all(|c| c.passed), "{:?}", a.checks);
}

#[test]
fn churn_on_a_toy_protocol_ends_and_restarts_sessions_and_drops_what_meets_no_engine() {
    let churny = STABLE.to_string()
        + "session = { model = \"exponential\", mean = \"10s\" }\nleave = \"crash\"\nrejoin = { after = \"5s\" }\n";
    let (out, _) = world_of::<Toy>(&churny).run(&mut |_, _, _| {});
    // Sessions of 10 s on average, 5 s away: about 60 / 15 sessions per peer end in the minute.
    let ended = out.metrics["toy.sessions_ended"];
    assert!((30.0..=200.0).contains(&ended), "{ended} sessions ended");
    // Pings to a peer that crashed meet no engine: counted as dropped, never delivered.
    let dropped = out.metrics.get("net.dropped.host_down").copied().unwrap_or(0.0);
    assert!(dropped > 0.0, "{:?}", out.metrics);
    assert_eq!(out.peers_max, 20);
}

#[test]
fn a_multicast_reaches_the_live_members_of_the_senders_subnet_only() {
    let text = r#"
name = "toy-subnets"
seed = 9
duration = "20s"
[network]
latency = { model = "constant", value = "30ms" }
[[subnet]]
name = "east"
lan = { latency = "2ms" }
wan = { up = "10Mbps", down = "10Mbps", latency = "15ms" }
[[subnet]]
name = "west"
wan = { up = "10Mbps", down = "10Mbps" }
[[peers]]
name = "mc"
count = 1
subnet = "east"
[[peers]]
name = "quiet-east"
count = 3
subnet = "east"
[[peers]]
name = "quiet-west"
count = 3
subnet = "west"
[[peers]]
name = "quiet-open"
count = 2
[[fault]]
kind = "crash"
at = "10s"
count = 1
group = "quiet-east"
"#;
    let mut world = world_of::<Toy>(text);
    let out = world.run_in_place(&mut |_, _, _| {});
    let toy = &world.proto;
    assert_eq!(
        toy.pinged,
        [1, 2, 3].into(),
        "east's members only: not west, not the open Internet"
    );
    // One multicast a second for 20 s: three answers each until one member crashes at 10 s
    // (the last answers may still be in flight); it counts once as a sent datagram.
    assert_eq!(out.metrics["net.messages.ping"], 20.0);
    let pongs = out.metrics["net.messages.pong"];
    assert!((49.0..=51.0).contains(&pongs), "{pongs} pongs");
    // A LAN hop of 2 ms each way: every pong is back long before the next ping.
    assert!(toy.pongs as f64 >= pongs - 3.0, "{} of {pongs}", toy.pongs);
}

#[test]
fn events_stay_small_for_any_protocol_with_a_small_message() {
    assert!(std::mem::size_of::<super::EvOf<Toy>>() <= 32);
    let _ = Ev::<Msg, ()>::Stop;
}
