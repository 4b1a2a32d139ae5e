//! MS-PCCRD discovery: WS-Discovery Probe and ProbeMatch as typed messages with their real SOAP/XML
//! encoding (MS-PCCRD §2.2, §4). Datagrams are read once by [`pccrd_xml::scan`] (linear time,
//! size-capped at [`pccrd_xml::MAX_DATAGRAM`]); this module turns the fields into typed messages.

use super::hash::{Digest, SegmentId};
use super::pccrd_xml::{scan, Fields};
use super::wire::{base64_decode, base64_encode, DecodeError};
use crate::{Duration, Endpoint};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// The IPv6 WS-Discovery multicast group and port a probe is sent to (MS-PCCRD §2.1: ff02::c, 3702).
pub const MULTICAST: Endpoint = Endpoint::new(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0xc), 3702);
/// Most segment IDs in one V2 probe (MS-PCCRD §2.2.3.3: Count is u8, 1..255).
pub const V2_PROBE_MAX: usize = 255;
/// Most segment IDs this engine accepts in one V1 probe (bounded parsing of hostile input).
pub const V1_PROBE_MAX: usize = 255;

const ENVELOPE_OPEN: &str = r#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsd="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:PeerDist="http://schemas.microsoft.com/p2p/2007/09/PeerDistributionDiscovery">"#;
const ACTION_PROBE: &str = "http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe";
const ACTION_MATCHES: &str = "http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches";
const MATCH_V1: &str = "http://schemas.xmlsoap.org/ws/2005/04/discovery/strcmp0";
const MATCH_V2: &str = "http://schemas.microsoft.com/p2p/2010/05/PeerDistV2MatchingRule";

/// Which PeerDist discovery flavour (MS-PCCRD §2.2.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ProbeVersion {
    /// `PeerDist:PeerDistData`, hex scopes (content information 1.0).
    V1,
    /// `PeerDist:PeerDistDataV2`, base64 binary scopes (content information 2.0).
    V2,
}

impl ProbeVersion {
    fn types(self) -> &'static str {
        match self {
            ProbeVersion::V1 => "PeerDist:PeerDistData",
            ProbeVersion::V2 => "PeerDist:PeerDistDataV2",
        }
    }
}

/// A Probe: "who holds these segments?" (MS-PCCRD §2.2.2.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    /// `wsa:MessageID` UUID (fresh per probe, from the node's RNG).
    pub message_id: u128,
    /// Flavour.
    pub version: ProbeVersion,
    /// The probed segment IDs (V1 usually one; V2 up to 255).
    pub segments: Vec<SegmentId>,
}

/// What a ProbeMatch says about one segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchEntry {
    /// The segment.
    pub segment: SegmentId,
    /// V1: blocks held; V2: 1 for "some", the unit count for "all" (MS-PCCRD §2.2.2.2).
    pub block_count: u32,
    /// V2 only: the responder holds the whole segment (V1 matches carry block counts only).
    pub complete: bool,
    /// V2 only: how long the segment has been in the responder's cache (`SegmentAges`, MS-PCCRD
    /// §2.2.3.9), to 1/100 s; `None` when not reported.
    #[serde(default)]
    pub age: Option<Duration>,
}

/// A ProbeMatch, unicast back to the prober (MS-PCCRD §2.2.2.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeMatch {
    /// Fresh `wsa:MessageID`.
    pub message_id: u128,
    /// `wsa:RelatesTo`: the probe's MessageID.
    pub relates_to: u128,
    /// AppSequence InstanceId (changes on every service start).
    pub instance_id: u32,
    /// AppSequence MessageNumber (counts every WSD message the node sends).
    pub message_number: u32,
    /// `wsa:EndpointReference/wsa:Address` UUID.
    pub endpoint_uuid: u128,
    /// Flavour.
    pub version: ProbeVersion,
    /// `wsd:XAddrs`: the responder's PCCRR endpoint.
    pub xaddr: Endpoint,
    /// V1: the held segments with block counts. V2: one entry per probed ID, in probe order
    /// (block_count 0 = not held).
    pub entries: Vec<MatchEntry>,
}

fn uuid(u: u128) -> String {
    let h = format!("{u:032x}");
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn parse_uuid(text: &str) -> Option<u128> {
    let hex: String = text
        .trim()
        .strip_prefix("urn:uuid:")?
        .chars()
        .filter(|&c| c != '-')
        .collect();
    if hex.len() != 32 {
        return None;
    }
    u128::from_str_radix(&hex, 16).ok()
}

fn xaddr_text(ep: &Endpoint) -> String {
    match ep.addr.to_ipv4_mapped() {
        Some(v4) => format!("{v4}:{}", ep.port),
        None => format!("[{}]:{}", ep.addr, ep.port),
    }
}

fn parse_xaddr(text: &str) -> Option<Endpoint> {
    let sa: SocketAddr = text.trim().parse().ok()?;
    let addr = match sa.ip() {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    };
    Some(Endpoint::new(addr, sa.port()))
}

fn check_types(f: &Fields) -> Result<ProbeVersion, DecodeError> {
    match f.types.as_deref() {
        Some("PeerDist:PeerDistData") => Ok(ProbeVersion::V1),
        Some("PeerDist:PeerDistDataV2") => Ok(ProbeVersion::V2),
        Some(_) => Err(DecodeError::Invalid {
            field: "Types",
            value: 0,
        }),
        None => Err(DecodeError::Missing("Types")),
    }
}

fn v1_scopes(text: &str) -> Result<Vec<SegmentId>, DecodeError> {
    let ids: Option<Vec<_>> = text
        .split_whitespace()
        .take(V1_PROBE_MAX + 1)
        .map(Digest::from_hex)
        .collect();
    match ids {
        Some(v) if !v.is_empty() && v.len() <= V1_PROBE_MAX => Ok(v),
        _ => Err(DecodeError::Invalid {
            field: "Scopes",
            value: 0,
        }),
    }
}

impl Probe {
    /// The SOAP/XML datagram (MS-PCCRD §2.2.2.1).
    pub fn to_xml(&self) -> String {
        let (scopes, rule) = match self.version {
            ProbeVersion::V1 => (
                self.segments
                    .iter()
                    .map(|s| s.to_hex_upper())
                    .collect::<Vec<_>>()
                    .join(" "),
                MATCH_V1,
            ),
            ProbeVersion::V2 => {
                let mut b = vec![0u8, 32, self.segments.len().min(V2_PROBE_MAX) as u8];
                self.segments
                    .iter()
                    .take(V2_PROBE_MAX)
                    .for_each(|s| b.extend_from_slice(s.as_bytes()));
                (base64_encode(&b), MATCH_V2)
            }
        };
        format!(
            "{ENVELOPE_OPEN}<soap:Header><wsa:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</wsa:To><wsa:Action>{ACTION_PROBE}</wsa:Action><wsa:MessageID>{}</wsa:MessageID></soap:Header><soap:Body><wsd:Probe><wsd:Types>{}</wsd:Types><wsd:Scopes MatchBy=\"{rule}\">{scopes}</wsd:Scopes></wsd:Probe></soap:Body></soap:Envelope>",
            uuid(self.message_id),
            self.version.types()
        )
    }
    /// Datagram bytes.
    pub fn encoded_len(&self) -> usize {
        self.to_xml().len()
    }
    /// Parses a probe datagram; malformed ones are errors (and get dropped silently, MS-PCCRD
    /// §3.2.4.1).
    pub fn from_xml(xml: &str) -> Result<Probe, DecodeError> {
        let f = scan(xml)?;
        if f.action.as_deref() != Some(ACTION_PROBE) {
            return Err(DecodeError::Missing("Action Probe"));
        }
        let message_id = f
            .message_id
            .as_deref()
            .and_then(parse_uuid)
            .ok_or(DecodeError::Missing("MessageID"))?;
        let (version, segments) = Probe::body_from_fields(&f)?;
        Ok(Probe {
            message_id,
            version,
            segments,
        })
    }
    /// The `wsd:Types` and `wsd:Scopes` of a probe (MS-PCCRD §2.2.2.1), from a whole datagram or
    /// from the `<wsd:Probe>` element alone.
    pub fn body_from_fields(f: &Fields) -> Result<(ProbeVersion, Vec<SegmentId>), DecodeError> {
        let version = check_types(f)?;
        let text = f.scopes.as_deref().ok_or(DecodeError::Missing("Scopes"))?;
        let segments = match version {
            ProbeVersion::V1 => v1_scopes(text)?,
            ProbeVersion::V2 => v2_scopes(text)?,
        };
        Ok((version, segments))
    }
}

fn invalid(field: &'static str, value: usize) -> DecodeError {
    DecodeError::Invalid {
        field,
        value: value as u64,
    }
}

/// V2 probe scopes: base64 of SegmentHashSize (u16 BE, 32), Count (u8, 1..255), Count IDs
/// (MS-PCCRD §2.2.3.3).
fn v2_scopes(text: &str) -> Result<Vec<SegmentId>, DecodeError> {
    let b = base64_decode(text).ok_or(invalid("Scopes", 0))?;
    match b.as_slice() {
        [0, 32, n, rest @ ..] if *n > 0 && rest.len() == *n as usize * 32 => Ok(rest
            .chunks_exact(32)
            .map(|c| {
                let mut id = [0u8; 32];
                id.copy_from_slice(c);
                Digest::from32(id)
            })
            .collect()),
        _ => Err(invalid("Scopes", b.len())),
    }
}

/// Hex digits per V1 BlockCount entry, decided from the text's length.
///
/// MS-PCCRD §2.2.3.9 defines BlockCount as a hexBinary packed array of integers in network byte
/// order without giving their width, and its own example is 16-bit ("001900040010" for 25, 4,
/// 16); the MS-PCCRD §4.3 example ("0000002A" for two scopes) reads as 16-bit too, but every other source
/// (iPXE, which interoperates with Windows, and 32-bit block counts everywhere else in the
/// protocol family) uses 32-bit entries. We send 32-bit entries and accept both: for `n` scopes
/// the text is either 8·n or 4·n digits, never both.
fn block_count_width(digits: usize, scopes: usize) -> Option<usize> {
    if digits == 8 * scopes {
        Some(8)
    } else if digits == 4 * scopes {
        Some(4)
    } else {
        None
    }
}

fn v1_entries(f: &Fields) -> Result<Vec<MatchEntry>, DecodeError> {
    let ids = v1_scopes(f.scopes.as_deref().ok_or(DecodeError::Missing("Scopes"))?)?;
    let counts = f
        .block_count
        .as_deref()
        .ok_or(DecodeError::Missing("BlockCount"))?;
    let width = block_count_width(counts.len(), ids.len())
        .filter(|_| counts.is_ascii())
        .ok_or(invalid("BlockCount", counts.len()))?;
    ids.into_iter()
        .enumerate()
        .map(|(i, segment)| {
            let c = u32::from_str_radix(&counts[width * i..width * (i + 1)], 16)
                .map_err(|_| invalid("BlockCount", i))?;
            Ok(MatchEntry {
                segment,
                block_count: c,
                complete: false,
                age: None,
            })
        })
        .collect()
}

/// V2 match scopes: a bit array, two bits per probed ID in probe order, MSB first (MS-PCCRD
/// §2.2.3.3). The MS-PCCRD §2.2.2.2 example sends 10 bytes of ones ("/////////////w==") for a one-ID
/// probe, so bytes past the probed IDs are accepted and ignored; fewer bytes than the probe needs,
/// or more than the largest probe could, are malformed.
fn v2_entries(f: &Fields, probed: &[SegmentId]) -> Result<Vec<MatchEntry>, DecodeError> {
    let bits = base64_decode(f.scopes.as_deref().ok_or(DecodeError::Missing("Scopes"))?)
        .ok_or(invalid("Scopes", 0))?;
    if bits.len() < probed.len().div_ceil(4) || bits.len() > V2_PROBE_MAX.div_ceil(4) {
        return Err(invalid("Scopes", bits.len()));
    }
    let ages = match f.segment_ages.as_deref() {
        Some(text) => segment_ages(text)?,
        None => Vec::new(),
    };
    Ok(probed
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let v = bits[i / 4] >> (6 - 2 * (i % 4)) & 3;
            MatchEntry {
                segment: *s,
                block_count: (v >> 1) as u32,
                complete: v & 1 == 1,
                age: ages.iter().find(|(x, _)| *x as usize == i).map(|(_, a)| *a),
            }
        })
        .collect())
}

/// SegmentAges: base64 of an Extensible Blob version 1 (MS-PCCRR ExtensibleBlob, referenced by
/// MS-PCCRD §2.2.3.9): Version u16 BE = 1, SegmentAgeUnits u8 (1 = s, 2 = 1/10 s, 3 = 1/100 s,
/// 4 = ms), SegmentAgeCount u8, then per segment its index in the probe (u8) and its age as a
/// 24-bit little-endian number (Low, Mid, High).
pub fn segment_ages(text: &str) -> Result<Vec<(u8, Duration)>, DecodeError> {
    let b = base64_decode(text).ok_or(invalid("SegmentAges", 0))?;
    let [0, 1, unit, count, rest @ ..] = b.as_slice() else {
        return Err(invalid("SegmentAges", b.len()));
    };
    let micros: u64 = match unit {
        1 => 1_000_000,
        2 => 100_000,
        3 => 10_000,
        4 => 1_000,
        u => return Err(invalid("SegmentAgeUnits", *u as usize)),
    };
    if rest.len() < 4 * *count as usize {
        return Err(invalid("SegmentAgeCount", *count as usize));
    }
    Ok(rest
        .chunks_exact(4)
        .take(*count as usize)
        .map(|e| {
            let v = e[1] as u64 | (e[2] as u64) << 8 | (e[3] as u64) << 16;
            (e[0], Duration::from_micros(v * micros))
        })
        .collect())
}

/// A cache age as SegmentAges carries it: whole 1/100 s, at most 2^24 − 1 of them.
pub fn age_on_wire(age: Duration) -> Duration {
    Duration::from_micros((age.as_micros() / 10_000).min(0xFF_FFFF) * 10_000)
}

/// Encodes segment ages in 1/100 s (the unit MS-PCCRR says SHOULD be sent), saturating at the
/// 24-bit maximum (about 46 hours), for the entries that carry an age.
pub fn encode_segment_ages(entries: &[MatchEntry]) -> String {
    let aged: Vec<(usize, Duration)> = entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| e.age.map(|a| (i, a)))
        .take(u8::MAX as usize)
        .collect();
    let mut b = vec![0, 1, 3, aged.len() as u8];
    for (i, age) in aged {
        let v = (age.as_micros() / 10_000).min(0xFF_FFFF);
        b.extend_from_slice(&[i as u8, v as u8, (v >> 8) as u8, (v >> 16) as u8]);
    }
    base64_encode(&b)
}

impl ProbeMatch {
    /// The SOAP/XML datagram (MS-PCCRD §2.2.2.2, §4.3).
    pub fn to_xml(&self) -> String {
        let (scopes, data) = match self.version {
            ProbeVersion::V1 => {
                let s: Vec<String> = self.entries.iter().map(|e| e.segment.to_hex_upper()).collect();
                // 32-bit entries: see `block_count_width` for the width MS-PCCRD leaves open.
                let c: String = self
                    .entries
                    .iter()
                    .map(|e| format!("{:08X}", e.block_count))
                    .collect();
                (
                    s.join(" "),
                    format!("<PeerDist:BlockCount>{c}</PeerDist:BlockCount>"),
                )
            }
            ProbeVersion::V2 => {
                let mut bits = vec![0u8; self.entries.len().div_ceil(4)];
                for (i, e) in self.entries.iter().enumerate() {
                    let v = ((e.block_count > 0) as u8) << 1 | e.complete as u8;
                    bits[i / 4] |= v << (6 - 2 * (i % 4));
                }
                let ages = encode_segment_ages(&self.entries);
                (
                    base64_encode(&bits),
                    format!("<PeerDist:SegmentAges>{ages}</PeerDist:SegmentAges>"),
                )
            }
        };
        // The metadata element is PeerDist:PeerDistData for both versions (MS-PCCRD §2.2.3.9);
        // only wsd:Types names PeerDistDataV2.
        format!(
            "{ENVELOPE_OPEN}<soap:Header><wsa:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:To><wsa:Action>{ACTION_MATCHES}</wsa:Action><wsa:MessageID>{}</wsa:MessageID><wsa:RelatesTo>{}</wsa:RelatesTo><wsd:AppSequence InstanceId=\"{}\" MessageNumber=\"{}\"></wsd:AppSequence></soap:Header><soap:Body><wsd:ProbeMatches><wsd:ProbeMatch><wsa:EndpointReference><wsa:Address>{}</wsa:Address></wsa:EndpointReference><wsd:Types>{}</wsd:Types><wsd:Scopes>{scopes}</wsd:Scopes><wsd:XAddrs>{}</wsd:XAddrs><wsd:MetadataVersion>{}</wsd:MetadataVersion><PeerDist:PeerDistData>{data}</PeerDist:PeerDistData></wsd:ProbeMatch></wsd:ProbeMatches></soap:Body></soap:Envelope>",
            uuid(self.message_id),
            uuid(self.relates_to),
            self.instance_id,
            self.message_number,
            uuid(self.endpoint_uuid),
            self.version.types(),
            xaddr_text(&self.xaddr),
            if self.version == ProbeVersion::V1 { 1 } else { 2 },
        )
    }
    /// Datagram bytes.
    pub fn encoded_len(&self) -> usize {
        self.to_xml().len()
    }
    /// The `wsa:RelatesTo` of a ProbeMatch datagram, to find the probed IDs a V2 match refers to.
    pub fn relates_to_of(xml: &str) -> Option<u128> {
        scan(xml).ok()?.relates_to.as_deref().and_then(parse_uuid)
    }
    /// Parses a ProbeMatch. V2 entries need the probed IDs (`probed`, in probe order) to be named.
    pub fn from_xml(xml: &str, probed: &[SegmentId]) -> Result<ProbeMatch, DecodeError> {
        let f = scan(xml)?;
        if f.action.as_deref() != Some(ACTION_MATCHES) {
            return Err(DecodeError::Missing("Action ProbeMatches"));
        }
        let id = |name: &'static str, v: &Option<String>| {
            v.as_deref()
                .and_then(parse_uuid)
                .ok_or(DecodeError::Missing(name))
        };
        let num = |name: &'static str, v: &Option<String>| {
            v.as_deref()
                .and_then(|v| v.parse().ok())
                .ok_or(DecodeError::Missing(name))
        };
        let (version, xaddr, entries) = ProbeMatch::body_from_fields(&f, probed)?;
        Ok(ProbeMatch {
            message_id: id("MessageID", &f.message_id)?,
            relates_to: id("RelatesTo", &f.relates_to)?,
            instance_id: num("InstanceId", &f.instance_id)?,
            message_number: num("MessageNumber", &f.message_number)?,
            endpoint_uuid: id("Address", &f.address)?,
            version,
            xaddr,
            entries,
        })
    }
    /// The body of a match (MS-PCCRD §2.2.2.2): flavour, XAddrs and entries, from a whole
    /// datagram or from the `<wsd:ProbeMatches>` element alone.
    pub fn body_from_fields(
        f: &Fields,
        probed: &[SegmentId],
    ) -> Result<(ProbeVersion, Endpoint, Vec<MatchEntry>), DecodeError> {
        let version = check_types(f)?;
        let xaddr = f
            .xaddrs
            .as_deref()
            .and_then(parse_xaddr)
            .ok_or(DecodeError::Missing("XAddrs"))?;
        let entries = match version {
            ProbeVersion::V1 => v1_entries(f)?,
            ProbeVersion::V2 => v2_entries(f, probed)?,
        };
        Ok((version, xaddr, entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ep() -> Endpoint {
        Endpoint::new(std::net::Ipv4Addr::new(157, 59, 141, 183).to_ipv6_mapped(), 54321)
    }

    #[test]
    fn v1_probe_round_trip_and_size() {
        let p = Probe {
            message_id: 0x1234,
            version: ProbeVersion::V1,
            segments: vec![Digest::from32([0xab; 32])],
        };
        let xml = p.to_xml();
        assert!(xml.contains(&"AB".repeat(32)));
        assert!((700..=900).contains(&xml.len()), "{} bytes", xml.len()); // V1, one segment: ≈ 800 B
        assert_eq!(Probe::from_xml(&xml), Ok(p));
    }

    #[test]
    fn v1_match_round_trip_and_size() {
        let m = ProbeMatch {
            message_id: 7,
            relates_to: 0x1234,
            instance_id: 1_700_000_000,
            message_number: 3,
            endpoint_uuid: u128::MAX / 3,
            version: ProbeVersion::V1,
            xaddr: ep(),
            entries: vec![MatchEntry {
                segment: Digest::from32([1; 32]),
                block_count: 42,
                complete: false,
                age: None,
            }],
        };
        let xml = m.to_xml();
        assert!(xml.contains("<wsd:XAddrs>157.59.141.183:54321</wsd:XAddrs>"));
        assert!(xml.contains("0000002A"));
        assert!((1_000..=1_400).contains(&xml.len()), "{} bytes", xml.len()); // a V1 ProbeMatch: ≈ 1.25 KB
        assert_eq!(ProbeMatch::from_xml(&xml, &[]), Ok(m));
    }

    #[test]
    fn v2_round_trip() {
        let ids: Vec<_> = (0..5u8).map(|i| Digest::from32([i; 32])).collect();
        let p = Probe {
            message_id: 9,
            version: ProbeVersion::V2,
            segments: ids.clone(),
        };
        assert_eq!(Probe::from_xml(&p.to_xml()), Ok(p));
        let entries = ids
            .iter()
            .enumerate()
            .map(|(i, s)| MatchEntry {
                segment: *s,
                block_count: (i % 2) as u32,
                complete: i == 1,
                age: None,
            })
            .collect();
        let m = ProbeMatch {
            message_id: 1,
            relates_to: 9,
            instance_id: 2,
            message_number: 1,
            endpoint_uuid: 5,
            version: ProbeVersion::V2,
            xaddr: Endpoint::new("2001:db8::1".parse().expect("literal"), 80),
            entries,
        };
        assert_eq!(ProbeMatch::from_xml(&m.to_xml(), &ids), Ok(m.clone()));
        // Ages travel in 1/100 s, saturating at 24 bits.
        let mut aged = m;
        aged.entries[1].age = Some(Duration::from_millis(123_450));
        aged.entries[3].age = Some(Duration::from_secs(10 * 86_400));
        let back = ProbeMatch::from_xml(&aged.to_xml(), &ids).expect("decodes");
        assert_eq!(back.entries[1].age, Some(Duration::from_millis(123_450)));
        assert_eq!(
            back.entries[3].age,
            Some(Duration::from_micros(0xFF_FFFF * 10_000))
        );
        assert_eq!(back.entries[0].age, None);
    }

    #[test]
    fn garbage_is_rejected() {
        let p = Probe {
            message_id: 1,
            version: ProbeVersion::V1,
            segments: vec![Digest::from32([1; 32])],
        };
        let xml = p.to_xml().replace(&"01".repeat(32), "zz");
        assert!(Probe::from_xml(&xml).is_err());
        assert!(Probe::from_xml("<a><b>").is_err());
        assert!(ProbeMatch::from_xml(&p.to_xml(), &[]).is_err());
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,300}", cut in any::<usize>()) {
            let _ = Probe::from_xml(&s);
            let _ = ProbeMatch::from_xml(&s, &[Digest::from32([0; 32])]);
            let p = Probe { message_id: 1, version: ProbeVersion::V2, segments: vec![Digest::from32([1; 32])] }.to_xml();
            let mut i = cut % p.len();
            while !p.is_char_boundary(i) { i -= 1; }
            let _ = Probe::from_xml(&p[..i]);
            let _ = ProbeMatch::from_xml(&p[..i], &[]);
        }
    }
}
