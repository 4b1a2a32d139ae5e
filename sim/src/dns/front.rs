//! The DNS side of `peerlab dns`: answers queries for host names under `pnrp.net` by resolving
//! the peer name each stands for through a running `peerlab node`'s control interface.
//!
//! Answers (the DNS codec, UDP and TCP framing are hickory-server's):
//! - a name outside `pnrp.net`, or a class other than IN: REFUSED (this server holds one zone);
//! - an opcode other than QUERY: NOTIMP; not exactly one question: FORMERR (as is any message
//!   hickory cannot parse; datagrams shorter than a DNS header get no answer);
//! - a name under `pnrp.net` that is no peer's host name: NXDOMAIN; the zone's own name: NOERROR
//!   without records;
//! - A, AAAA or ANY for a peer's host name: the peer name is resolved (MS-PNRP §3.1.4.4); found:
//!   NOERROR with an A record per IPv4 (or IPv4-mapped) address and an AAAA record per IPv6
//!   address of the endpoints found, none when the family asked has none; not found: NXDOMAIN;
//!   the node unreachable, failing, or [`RESOLVES_IN_FLIGHT_MAX`] resolves already waiting:
//!   SERVFAIL;
//! - other types for a peer's host name: NOERROR without records, without resolving.
//!
//! TTL (peerlab choice): the time the CPA found stays valid (its Not After, MS-PNRP §2.2.3.1, as
//! the resolving node's clock reads it), in whole seconds, capped at `--max-ttl` (default 60 s:
//! PNRP's point is answers that are never stale, so caches should ask again soon).

use crate::live::client::request;
use crate::live::control::{FoundEndpoint, Request as Control, Response as ControlAnswer};
use hickory_server::net::runtime::Time;
use hickory_server::proto::op::{Edns, Header, HeaderCounts, MessageType, Metadata, OpCode, ResponseCode};
use hickory_server::proto::rr::rdata::{A, AAAA};
use hickory_server::proto::rr::{DNSClass, LowerName, Name, RData, Record, RecordType};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;
use peerlab_engine::pnrp::hostname::{from_host_name, ZONE};
use peerlab_engine::pnrp::PeerName;
use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// PNRP resolves waiting at once (each holds a control connection; the node keeps 16).
pub const RESOLVES_IN_FLIGHT_MAX: usize = 8;
/// UDP payload size announced to EDNS clients (the DNS flag day 2020 value).
pub const EDNS_PAYLOAD: u16 = 1232;

/// How the front resolves and what TTL it gives.
#[derive(Clone, Copy, Debug)]
pub struct FrontConfig {
    /// Control address of the resolving node.
    pub via: SocketAddr,
    /// Longest TTL, seconds.
    pub max_ttl_s: u32,
    /// Deadline of each resolve, milliseconds.
    pub resolve_timeout_ms: u64,
}

/// What to answer one query with.
#[derive(Debug, PartialEq)]
pub struct Answer {
    /// The response code.
    pub code: ResponseCode,
    /// Address records.
    pub records: Vec<Record>,
    /// Whether the answer speaks for the zone (the AA bit).
    pub authoritative: bool,
}

impl Answer {
    fn zone(code: ResponseCode, records: Vec<Record>) -> Self {
        Answer {
            code,
            records,
            authoritative: true,
        }
    }

    fn refuse(code: ResponseCode) -> Self {
        Answer {
            code,
            records: Vec::new(),
            authoritative: false,
        }
    }
}

/// What a resolve through the node gave.
enum Resolution {
    Found {
        endpoints: Vec<FoundEndpoint>,
        valid_ms: Option<u64>,
    },
    NotFound,
    Failed,
}

/// The `pnrp.net` zone, answered by resolving peer names.
pub struct Front {
    config: FrontConfig,
    zone: LowerName,
    slots: Arc<Semaphore>,
}

impl Front {
    /// A front resolving through `config.via`.
    pub fn new(config: FrontConfig) -> Self {
        let zone = Name::from_ascii(format!("{ZONE}.")).expect("pnrp.net. is a DNS name");
        Front {
            config,
            zone: LowerName::from(zone),
            slots: Arc::new(Semaphore::new(RESOLVES_IN_FLIGHT_MAX)),
        }
    }

    /// The answer to `request` (see the module documentation for the rules).
    pub async fn answer(&self, request: &Request) -> Answer {
        if request.metadata.op_code != OpCode::Query {
            return Answer::refuse(ResponseCode::NotImp);
        }
        let [query] = request.queries.queries() else {
            return Answer::refuse(ResponseCode::FormErr);
        };
        if request.metadata.message_type != MessageType::Query {
            return Answer::refuse(ResponseCode::FormErr);
        }
        if !self.zone.zone_of(query.name()) || query.query_class() != DNSClass::IN {
            return Answer::refuse(ResponseCode::Refused);
        }
        if query.name() == &self.zone {
            return Answer::zone(ResponseCode::NoError, Vec::new());
        }
        let asked = query.original().name();
        let Some(peer) = host_text(asked).and_then(|h| from_host_name(&h).ok()) else {
            return Answer::zone(ResponseCode::NXDomain, Vec::new());
        };
        let qtype = query.query_type();
        if !matches!(qtype, RecordType::A | RecordType::AAAA | RecordType::ANY) {
            return Answer::zone(ResponseCode::NoError, Vec::new());
        }
        match self.resolve(&peer).await {
            Resolution::Found { endpoints, valid_ms } => {
                let ttl = ttl_s(valid_ms, self.config.max_ttl_s);
                Answer::zone(
                    ResponseCode::NoError,
                    address_records(asked, qtype, &endpoints, ttl),
                )
            }
            Resolution::NotFound => Answer::zone(ResponseCode::NXDomain, Vec::new()),
            Resolution::Failed => Answer::refuse(ResponseCode::ServFail),
        }
    }

    /// Resolves `peer` through the node, at most [`RESOLVES_IN_FLIGHT_MAX`] at once.
    async fn resolve(&self, peer: &PeerName) -> Resolution {
        let Ok(_slot) = self.slots.clone().try_acquire_owned() else {
            return Resolution::Failed;
        };
        let via = self.config.via;
        let timeout_ms = self.config.resolve_timeout_ms;
        let req = Control::Resolve {
            name: peer.to_string(),
            timeout_ms: Some(timeout_ms),
        };
        let wait = std::time::Duration::from_millis(timeout_ms + 2_000);
        // The control client is blocking: run it on tokio's blocking pool.
        match tokio::task::spawn_blocking(move || request(via, &req, wait)).await {
            Ok(Ok(ControlAnswer::Resolved {
                endpoints, valid_ms, ..
            })) => Resolution::Found { endpoints, valid_ms },
            Ok(Ok(ControlAnswer::NotFound { .. })) => Resolution::NotFound,
            _ => Resolution::Failed,
        }
    }
}

/// The host name a query asked for, when every label is letters, digits and `-` (a label with a
/// dot or other bytes in it is no peer's).
fn host_text(name: &Name) -> Option<String> {
    let labels = name
        .iter()
        .map(|l| {
            l.iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
                .then(|| String::from_utf8_lossy(l).into_owned())
        })
        .collect::<Option<Vec<_>>>()?;
    Some(labels.join("."))
}

/// Seconds a record may be cached: the CPA's remaining validity, capped (the cap without one).
pub fn ttl_s(valid_ms: Option<u64>, max_ttl_s: u32) -> u32 {
    valid_ms.map_or(max_ttl_s, |ms| {
        u32::try_from(ms / 1000).unwrap_or(u32::MAX).min(max_ttl_s)
    })
}

/// The A and AAAA records `qtype` asks for, one per distinct address, in address order.
pub fn address_records(name: &Name, qtype: RecordType, endpoints: &[FoundEndpoint], ttl: u32) -> Vec<Record> {
    let mut v4 = BTreeSet::new();
    let mut v6 = BTreeSet::new();
    for ep in endpoints {
        match ep.addr.parse::<IpAddr>() {
            Ok(IpAddr::V4(a)) => _ = v4.insert(a),
            Ok(IpAddr::V6(a)) => match a.to_ipv4_mapped() {
                Some(m) => _ = v4.insert(m),
                None => _ = v6.insert(a),
            },
            // The node writes addresses with `IpAddr`'s Display; anything else is skipped.
            Err(_) => {}
        }
    }
    let wants = |t: RecordType| qtype == t || qtype == RecordType::ANY;
    let a = v4
        .into_iter()
        .filter(|_| wants(RecordType::A))
        .map(|ip| Record::from_rdata(name.clone(), ttl, RData::A(A(ip))));
    let aaaa = v6
        .into_iter()
        .filter(|_| wants(RecordType::AAAA))
        .map(|ip| Record::from_rdata(name.clone(), ttl, RData::AAAA(AAAA(ip))));
    a.chain(aaaa).collect()
}

#[async_trait::async_trait]
impl RequestHandler for Front {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        let answer = self.answer(request).await;
        let mut metadata = Metadata::response_from_request(&request.metadata);
        metadata.response_code = answer.code;
        metadata.authoritative = answer.authoritative;
        let edns = request.edns.as_ref().map(|_| {
            let mut e = Edns::new();
            e.set_max_payload(EDNS_PAYLOAD);
            e
        });
        let mut builder = MessageResponseBuilder::from_message_request(request);
        if let Some(e) = &edns {
            builder.edns(e);
        }
        let response = builder.build(
            metadata,
            answer.records.iter(),
            std::iter::empty(),
            std::iter::empty(),
            std::iter::empty(),
        );
        match response_handle.send_response(response).await {
            Ok(info) => info,
            Err(_) => {
                metadata.response_code = ResponseCode::ServFail;
                ResponseInfo::from(Header {
                    metadata,
                    counts: HeaderCounts::default(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests;
