//! `[[peers]] cloud` (MS-PNRP §1.3.3): groups in different clouds form separate overlays, each with
//! its own seed servers; no datagram crosses clouds and resolves target the asker's own cloud.

use peerlab_engine::pnrp::Message;
use peerlab_engine::{Endpoint, Instant};
use peerlab_sim::addr::peer_of;
use peerlab_sim::expand;
use peerlab_sim::pnrp::PnrpWorld as World;
use peerlab_sim::scenario::parse_with_overrides;
use peerlab_sim::world::{Observer, Recorder};
use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

const TWO_CLOUDS: &str = r#"
name = "clouds"
duration = "3m"
[pnrp]
crypto = "ed25519"
seed_servers = 2
[[peers]]
name = "a"
count = 15
join = { model = "ramp", over = "20s" }
cloud = "Global_"
[[peers]]
name = "b"
count = 15
join = { model = "ramp", over = "20s" }
cloud = "LinkLocal_lab"
[[workload]]
kind = "resolve"
start = "1m"
rate = "5/s"
"#;

/// Counts datagrams within a cloud and across clouds (peers 0..15 are cloud 0, 15..30 cloud 1).
#[derive(Default)]
struct Crossings {
    within: u64,
    across: u64,
}

struct Watch(Rc<RefCell<Crossings>>);

impl Observer<Message> for Watch {
    fn on_transmit(&mut self, _: Instant, _: u64, from: u32, _: Endpoint, to: Endpoint, _: &Message) {
        let Some((dst, _)) = peer_of(&to) else { return };
        let mut c = self.0.borrow_mut();
        if (from < 15) == (dst < 15) {
            c.within += 1;
        } else {
            c.across += 1;
        }
    }
}

fn run(sets: &[&str]) -> (peerlab_sim::world::Outcome, Crossings) {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let s = parse_with_overrides(TWO_CLOUDS, "<memory>", &sets).expect("valid");
    let plan = expand::plan(&s, Path::new("<memory>")).expect("expands");
    let seen = Rc::new(RefCell::new(Crossings::default()));
    let mut world = World::new(Arc::new(plan), Recorder::new(None).expect("recorder")).expect("world");
    world.set_observer(Box::new(Watch(seen.clone())));
    let (outcome, _) = world.run(&mut |_, _, _| {});
    let c = seen.take();
    (outcome, c)
}

#[test]
fn groups_in_different_clouds_never_exchange_a_datagram() {
    let (o, c) = run(&[]);
    assert!(c.within > 1_000, "the clouds work: {} datagrams", c.within);
    assert_eq!(c.across, 0, "datagrams crossed clouds");
    // Each cloud has its own seeds, so both bootstrap; resolves target the asker's own cloud.
    assert!(o.checks.iter().all(|ch| ch.passed), "{:?}", o.checks);
    assert!(o.metrics["pnrp.engine.resolves_ok"] > 300.0);
    assert!(
        o.metrics["pnrp.leafset_correct"] >= 0.9,
        "{:?}",
        o.metrics["pnrp.leafset_correct"]
    );
}

#[test]
fn the_same_groups_in_one_cloud_talk_to_each_other() {
    let (one, c) = run(&["peers.1.cloud=Global_"]);
    assert!(
        c.across > 100,
        "one cloud: {} datagrams across the groups",
        c.across
    );
    let (two, _) = run(&[]);
    assert_ne!(one.fingerprint, two.fingerprint);
}

#[test]
fn every_cloud_needs_room_for_its_seed_servers() {
    // Cloud "LinkLocal_lab" has 15 peers: 20 seed servers fit the whole scenario but not that cloud.
    let err = parse_with_overrides(TWO_CLOUDS, "c.toml", &["pnrp.seed_servers=20".into()])
        .expect_err("too many seed servers for one cloud")
        .to_string();
    assert!(err.contains("key `pnrp.seed_servers`"), "{err}");
    assert!(
        err.contains("in cloud \"Global_\"") || err.contains("in cloud \"LinkLocal_lab\""),
        "{err}"
    );
    assert!(err.contains("allowed: 1 to 15 (per cloud)"), "{err}");
    assert!(parse_with_overrides(TWO_CLOUDS, "c.toml", &["pnrp.seed_servers=15".into()]).is_ok());
}
