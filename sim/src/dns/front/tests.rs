use super::*;
use hickory_server::net::xfer::Protocol;
use hickory_server::proto::op::{Message, Query};
use std::str::FromStr;

/// A front whose node cannot be reached (a port just closed).
fn front() -> Front {
    let via = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    Front::new(FrontConfig {
        via,
        max_ttl_s: 60,
        resolve_timeout_ms: 500,
    })
}

fn request(message: &Message) -> Request {
    let src = "127.0.0.1:40000".parse().unwrap();
    Request::from_bytes(message.to_vec().unwrap(), src, Protocol::Udp).unwrap()
}

fn query(name: &str, qtype: RecordType) -> Message {
    let mut m = Message::query();
    m.add_query(Query::query(Name::from_str(name).unwrap(), qtype));
    m
}

async fn code_of(message: &Message) -> (ResponseCode, bool) {
    let a = front().answer(&request(message)).await;
    assert!(a.records.is_empty(), "{a:?}");
    (a.code, a.authoritative)
}

#[tokio::test(flavor = "current_thread")]
async fn each_kind_of_query_gets_its_response_code() {
    use ResponseCode::*;
    let secured = "printer.ab62b4628ac54782dda52789038476237e7c7263.pnrp.net.";
    let zero_authority = "x.p0000000000000000000000000000000000000000.pnrp.net.";
    let cases = [
        ("www.example.com.", RecordType::A, Refused, false),
        ("pnrpxnet.", RecordType::A, Refused, false),
        ("pnrp.net.", RecordType::SOA, NoError, true),
        ("a_b.pnrp.net.", RecordType::A, NXDomain, true),
        ("xn--abc-.pnrp.net.", RecordType::AAAA, NXDomain, true),
        (zero_authority, RecordType::A, NXDomain, true),
        (secured, RecordType::MX, NoError, true),
        // The node is unreachable: the resolve fails.
        (secured, RecordType::AAAA, ServFail, false),
    ];
    for (name, qtype, code, authoritative) in cases {
        let got = code_of(&query(name, qtype)).await;
        assert_eq!(got, (code, authoritative), "{name} {qtype}");
    }

    let mut chaos = query(secured, RecordType::A);
    let q = Query::query(Name::from_str(secured).unwrap(), RecordType::A)
        .set_query_class(DNSClass::CH)
        .clone();
    chaos.queries = vec![q];
    assert_eq!(code_of(&chaos).await, (Refused, false));

    let mut two = query(secured, RecordType::A);
    two.add_query(Query::query(
        Name::from_str("johndoe.pnrp.net.").unwrap(),
        RecordType::A,
    ));
    assert_eq!(code_of(&two).await, (FormErr, false));

    let mut update = query(secured, RecordType::A);
    update.metadata.op_code = OpCode::Update;
    assert_eq!(code_of(&update).await, (NotImp, false));
}

fn ep(addr: &str) -> FoundEndpoint {
    FoundEndpoint {
        addr: addr.into(),
        port: 3540,
    }
}

#[test]
fn records_follow_the_family_asked_one_per_address() {
    let name = Name::from_str("Printer.pnrp.net.").unwrap();
    let eps = [
        ep("127.0.0.2"),
        ep("::1"),
        ep("127.0.0.2"),
        ep("::ffff:10.0.0.1"),
        ep("bogus"),
    ];
    let data = |t| {
        address_records(&name, t, &eps, 30)
            .into_iter()
            .map(|r| {
                assert_eq!((r.ttl, &r.name), (30, &name));
                r.data.to_string()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(data(RecordType::A), ["10.0.0.1", "127.0.0.2"]);
    assert_eq!(data(RecordType::AAAA), ["::1"]);
    assert_eq!(data(RecordType::ANY), ["10.0.0.1", "127.0.0.2", "::1"]);
    assert!(address_records(&name, RecordType::AAAA, &[ep("10.0.0.1")], 30).is_empty());
}

#[test]
fn ttl_is_the_cpas_remaining_validity_capped() {
    assert_eq!(ttl_s(Some(86_400_000), 60), 60);
    assert_eq!(ttl_s(Some(12_999), 60), 12);
    assert_eq!(ttl_s(Some(999), 60), 0);
    assert_eq!(ttl_s(Some(u64::MAX), 60), 60);
    assert_eq!(ttl_s(None, 60), 60);
}

#[tokio::test(flavor = "current_thread")]
async fn resolves_beyond_the_limit_fail_at_once() {
    // A control port that accepts connections (the kernel's backlog) but never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let front = Arc::new(Front::new(FrontConfig {
        via: silent.local_addr().unwrap(),
        max_ttl_s: 60,
        resolve_timeout_ms: 1,
    }));
    let secured = "printer.ab62b4628ac54782dda52789038476237e7c7263.pnrp.net.";
    let waiting: Vec<_> = (0..RESOLVES_IN_FLIGHT_MAX)
        .map(|_| {
            let front = front.clone();
            tokio::spawn(async move { front.answer(&request(&query(secured, RecordType::A))).await })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        waiting.iter().all(|w| !w.is_finished()),
        "the first resolves wait for the node"
    );
    let extra = front.answer(&request(&query(secured, RecordType::A))).await;
    assert_eq!(extra.code, ResponseCode::ServFail);
    assert!(
        waiting.iter().all(|w| !w.is_finished()),
        "the extra query did not wait its turn"
    );
    for w in waiting {
        // The node never answers: each fails when its wait (deadline + 2 s) ends.
        assert_eq!(w.await.unwrap().code, ResponseCode::ServFail);
    }
}
