//! Wire-bytes mode and pcap export.
//!
//! With `[pnrp] wire_bytes = true` the world encodes and decodes every datagram with the MS-PNRP
//! codec before delivering it; a message that does not survive the round trip identically changes
//! what the receiver does, and so the fingerprint. These tests prove it does not, for both
//! signature schemes and for the messages churn produces (revokes, leave floods).
//! The pcap test runs the `peerlab` binary and parses its file back.

use peerlab_engine::pnrp::wire;
use peerlab_sim::pcap::{read_pcap, udp6_payload, LINKTYPE_RAW};
use peerlab_sim::run::simulate;
use std::process::Command;

const CHURNY: &str = r#"
name = "wire-churn"
seed = 11
duration = "4m"
[network]
latency = { model = "uniform", min = "10ms", max = "80ms" }
loss = "0.5%"
[pnrp]
seed_servers = 2
crypto = "ed25519"
[[peers]]
name = "stable"
count = 25
join = { model = "ramp", over = "30s" }
names = { secured = 1, unsecured = 1 }
[[peers]]
name = "churners"
count = 10
join = { model = "ramp", over = "40s" }
names = { secured = 1, unsecured = 0 }
session = { model = "exponential", mean = "90s" }
leave = "graceful"
rejoin = { after = "20s" }
[[workload]]
kind = "resolve"
from = "all"
start = "60s"
rate = "3/s"
target = { popularity = "uniform" }
"#;

const RSA: &str = r#"
name = "wire-rsa"
seed = 5
duration = "2m"
[network]
latency = { model = "constant", value = "30ms" }
[pnrp]
seed_servers = 1
crypto = "rsa1024"
[[peers]]
name = "p"
count = 12
join = { model = "ramp", over = "10s" }
names = { secured = 1, unsecured = 1 }
[[workload]]
kind = "resolve"
from = "p"
start = "40s"
rate = "2/s"
target = { popularity = "uniform" }
"#;

fn same_with_and_without_codec(text: &str) {
    let (plain, plain_digest) = simulate(text, &[]).expect("scenario runs");
    let (wired, wired_digest) = simulate(text, &["pnrp.wire_bytes=true".into()]).expect("scenario runs");
    assert!(
        plain.events > 1_000,
        "the scenario does something: {} events",
        plain.events
    );
    // A message that fails to decode is recorded as a `codec_round_trip` violation.
    assert_eq!(
        wired.violations, plain.violations,
        "a message failed the codec round trip (see codec_round_trip violations)"
    );
    assert_eq!(plain.fingerprint, wired.fingerprint, "the codec changed the run");
    assert_eq!(plain_digest, wired_digest, "the codec changed the records");
}

#[test]
fn codec_round_trip_leaves_an_ed25519_run_with_churn_unchanged() {
    same_with_and_without_codec(CHURNY);
}

#[test]
fn codec_round_trip_leaves_an_rsa_run_unchanged() {
    same_with_and_without_codec(RSA);
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("peerlab-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Checks every record of a pcap: IPv6/UDP on port 3540, right lengths and checksum, a payload
/// that starts with the PNRP header Wireshark looks for (0x0010, length 12, identifier
/// 0x51: MS-PNRP §2.2.1) and decodes.
fn check_records(path: &std::path::Path) -> Vec<([u8; 16], [u8; 16])> {
    let bytes = std::fs::read(path).unwrap();
    let (linktype, records) = read_pcap(&bytes).expect("pcap parses");
    assert_eq!(linktype, LINKTYPE_RAW);
    let mut pairs = Vec::new();
    let mut last_t = 0;
    for (i, r) in records.iter().enumerate() {
        assert!(r.t_us >= last_t, "record {i}: timestamps go back");
        last_t = r.t_us;
        let payload = udp6_payload(&r.data).unwrap_or_else(|| panic!("record {i}: bad IPv6/UDP or checksum"));
        let udp = &r.data[40..48];
        assert_eq!(u16::from_be_bytes([udp[0], udp[1]]), 3540);
        assert_eq!(u16::from_be_bytes([udp[2], udp[3]]), 3540);
        assert!(
            payload.len() >= 20,
            "record {i}: PNRP datagrams are at least 20 bytes"
        );
        assert_eq!(&payload[..2], &[0x00, 0x10], "record {i}: PNRP header field id");
        assert_eq!(&payload[2..4], &[0x00, 0x0c], "record {i}: PNRP header length");
        assert_eq!(payload[4], 0x51, "record {i}: PNRP identifier");
        wire::decode(payload).unwrap_or_else(|e| panic!("record {i}: payload does not decode: {e}"));
        let mut src = [0u8; 16];
        let mut dst = [0u8; 16];
        src.copy_from_slice(&r.data[8..24]);
        dst.copy_from_slice(&r.data[24..40]);
        pairs.push((src, dst));
    }
    pairs
}

#[test]
fn pcap_export_writes_every_datagram_with_valid_headers_and_filters_by_node() {
    let dir = temp_dir("pcap");
    let scenario = dir.join("s.toml");
    std::fs::write(&scenario, RSA.replace("duration = \"2m\"", "duration = \"50s\"")).unwrap();
    let run = |out: &str, extra: &[&str]| {
        let status = Command::new(env!("CARGO_BIN_EXE_peerlab"))
            .arg("run")
            .arg(&scenario)
            .arg("--quiet")
            .arg("--out")
            .arg(dir.join(out))
            .arg("--pcap")
            .arg(dir.join(format!("{out}.pcap")))
            .args(extra)
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(0), "peerlab run {extra:?}");
        dir.join(format!("{out}.pcap"))
    };
    let all = check_records(&run("all", &[]));
    assert!(all.len() > 100, "{} records", all.len());
    // Peer index i lives in 2001:db8:(i>>16):(i&0xffff)::/64 (sim/src/addr.rs).
    let peer_of = |a: &[u8; 16]| u16::from_be_bytes([a[6], a[7]]) as u32;
    let some = check_records(&run("some", &["--pcap-nodes", "1,2"]));
    assert!(
        !some.is_empty() && some.len() < all.len(),
        "{} of {}",
        some.len(),
        all.len()
    );
    for (s, d) in &some {
        assert!(
            [1, 2].contains(&peer_of(s)) || [1, 2].contains(&peer_of(d)),
            "a datagram between {} and {} is not filtered out",
            peer_of(s),
            peer_of(d)
        );
    }
    let involving = all
        .iter()
        .filter(|(s, d)| [1, 2].contains(&peer_of(s)) || [1, 2].contains(&peer_of(d)))
        .count();
    assert_eq!(
        some.len(),
        involving,
        "the filter keeps exactly the datagrams of nodes 1 and 2"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Observes every transmitted message and checks that `decode(encode(m)) == m` field for field.
struct RoundTrip {
    checked: std::rc::Rc<std::cell::RefCell<(u64, Vec<String>)>>,
    buf: Vec<u8>,
}

impl peerlab_sim::world::Observer<peerlab_engine::pnrp::Message> for RoundTrip {
    fn on_transmit(
        &mut self,
        _now: peerlab_engine::Instant,
        _event: u64,
        _from: u32,
        _src: peerlab_engine::Endpoint,
        _to: peerlab_engine::Endpoint,
        msg: &peerlab_engine::pnrp::Message,
    ) {
        self.buf.clear();
        wire::encode(msg, &mut self.buf);
        let mut c = self.checked.borrow_mut();
        c.0 += 1;
        assert_eq!(
            self.buf.len(),
            msg.encoded_len(),
            "encoded_len of {:?}",
            msg.kind()
        );
        match wire::decode(&self.buf) {
            Ok(back) if back == *msg => {}
            Ok(back) if c.1.len() < 5 => c.1.push(format!("{:?}\n  became {:?}", msg, back)),
            Err(e) if c.1.len() < 5 => c.1.push(format!("{:?}: {e}", msg.kind())),
            _ => {}
        }
    }
}

#[test]
fn every_message_of_both_runs_survives_encode_then_decode_identically() {
    for text in [CHURNY, RSA] {
        check_round_trips(text);
    }
}

fn check_round_trips(text: &str) {
    use std::sync::Arc;
    let sc = peerlab_sim::scenario::parse_with_overrides(text, "<t>", &[]).unwrap();
    let plan = peerlab_sim::expand::plan(&sc, std::path::Path::new("<t>")).unwrap();
    let rec = peerlab_sim::world::Recorder::new(None).unwrap();
    let mut world = peerlab_sim::pnrp::PnrpWorld::new(Arc::new(plan), rec).unwrap();
    let checked = std::rc::Rc::new(std::cell::RefCell::new((0u64, Vec::new())));
    world.set_observer(Box::new(RoundTrip {
        checked: checked.clone(),
        buf: Vec::new(),
    }));
    world.run_in_place(&mut |_, _, _| {});
    let c = checked.borrow();
    assert!(c.0 > 1_000, "{} messages checked", c.0);
    assert!(
        c.1.is_empty(),
        "messages that changed in the codec:\n{}",
        c.1.join("\n")
    );
}
