//! The one-pass XML reader of MS-PCCRD datagrams: a SOAP envelope is read once, front to back, by
//! `quick-xml`, and the few elements discovery needs are collected on the way, so the work is
//! linear in the datagram's size whatever it holds (deep nesting, stray `<`, unclosed tags).
//!
//! Size cap: MS-PCCRD §2.1 hands transport to WS-Discovery, which carries each message in one
//! SOAP-over-UDP datagram (SOAP-over-UDP §3.2: a message fits one UDP datagram). The largest UDP
//! payload over IPv4 is 65,535 − 20 (IP header) − 8 (UDP header) = 65,507 bytes
//! ([`MAX_DATAGRAM`]); anything longer cannot be one MS-PCCRD message and is rejected unread.

use super::wire::DecodeError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// Largest MS-PCCRD datagram accepted: one UDP datagram over IPv4 (MS-PCCRD §2.1 →
/// SOAP-over-UDP §3.2; 65,535 − 20 − 8 bytes).
pub const MAX_DATAGRAM: usize = 65_507;

/// What reading one datagram cost: the linear-time evidence of MS-PCCRD hardening.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanCost {
    /// Input bytes the reader consumed plus bytes of element text and attribute values this module
    /// examined after the reader handed them over. Each input byte is consumed once and examined
    /// at most once more, so this stays within 2 × the datagram length.
    pub bytes_visited: u64,
    /// XML events (tags, text, comments, ...) the reader produced.
    pub events: u64,
}

/// The discovery fields of a Probe or ProbeMatch, each the first occurrence in document order
/// (element texts trimmed of surrounding whitespace, as the MS-PCCRD §4.3 example pads them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fields {
    /// `wsa:Action`.
    pub action: Option<String>,
    /// `wsa:MessageID`.
    pub message_id: Option<String>,
    /// `wsa:RelatesTo`.
    pub relates_to: Option<String>,
    /// `wsd:AppSequence@InstanceId`.
    pub instance_id: Option<String>,
    /// `wsd:AppSequence@MessageNumber`.
    pub message_number: Option<String>,
    /// `wsa:EndpointReference/wsa:Address`.
    pub address: Option<String>,
    /// `wsd:Types`.
    pub types: Option<String>,
    /// `wsd:Scopes`.
    pub scopes: Option<String>,
    /// `wsd:Scopes@MatchBy`.
    pub match_by: Option<String>,
    /// `wsd:XAddrs`.
    pub xaddrs: Option<String>,
    /// `wsd:MetadataVersion`.
    pub metadata_version: Option<String>,
    /// `PeerDist:PeerDistData/PeerDist:BlockCount` (MS-PCCRD §2.2.3.9, version 1.0).
    pub block_count: Option<String>,
    /// `PeerDist:PeerDistData/PeerDist:SegmentAges` (MS-PCCRD §2.2.3.9, version 2.0).
    pub segment_ages: Option<String>,
}

fn xml_error(position: u64) -> DecodeError {
    DecodeError::Invalid {
        field: "XML",
        value: position,
    }
}

/// The local part of a qualified name (`wsd:Scopes` → `Scopes`).
fn local(qname: &[u8]) -> &[u8] {
    match qname.iter().rposition(|&b| b == b':') {
        Some(i) => &qname[i + 1..],
        None => qname,
    }
}

/// Which field an element's text goes to; `None` for elements discovery does not read.
fn slot<'f>(f: &'f mut Fields, name: &[u8], parent: &[u8]) -> Option<&'f mut Option<String>> {
    Some(match name {
        b"Action" => &mut f.action,
        b"MessageID" => &mut f.message_id,
        b"RelatesTo" => &mut f.relates_to,
        b"Address" if parent == b"EndpointReference" => &mut f.address,
        b"Types" => &mut f.types,
        b"Scopes" => &mut f.scopes,
        b"XAddrs" => &mut f.xaddrs,
        b"MetadataVersion" => &mut f.metadata_version,
        b"BlockCount" if parent == b"PeerDistData" => &mut f.block_count,
        b"SegmentAges" if parent == b"PeerDistData" => &mut f.segment_ages,
        _ => return None,
    })
}

/// Checks every attribute of a tag (quoted values, no duplicates) and keeps the ones discovery
/// reads: `AppSequence` InstanceId/MessageNumber, `Scopes` MatchBy.
fn attributes(f: &mut Fields, e: &BytesStart<'_>, cost: &mut ScanCost) -> Result<(), DecodeError> {
    let name = e.name();
    let wanted: &[&[u8]] = match local(name.as_ref()) {
        b"AppSequence" => &[b"InstanceId", b"MessageNumber"],
        b"Scopes" => &[b"MatchBy"],
        _ => &[],
    };
    for a in e.attributes() {
        let a = a.map_err(|_| xml_error(0))?;
        let key = local(a.key.as_ref());
        if !wanted.contains(&key) {
            continue;
        }
        cost.bytes_visited += a.value.len() as u64;
        let v = std::str::from_utf8(&a.value)
            .map_err(|_| xml_error(0))?
            .trim()
            .to_owned();
        let target = match key {
            b"InstanceId" => &mut f.instance_id,
            b"MessageNumber" => &mut f.message_number,
            _ => &mut f.match_by,
        };
        target.get_or_insert(v);
    }
    Ok(())
}

/// Reads one MS-PCCRD datagram (or one well-formed fragment of it) in a single pass.
///
/// Rejects, with a typed error and without panicking: more than [`MAX_DATAGRAM`] bytes, anything
/// not well-formed (unclosed or mismatched tags, broken attributes, text after the root), a DTD
/// (no entity expansion), and more than one root element.
pub fn scan(xml: &str) -> Result<Fields, DecodeError> {
    scan_counted(xml).0
}

/// [`scan`] with what the read cost, for accepted and rejected datagrams alike (up to the point of
/// rejection).
pub fn scan_counted(xml: &str) -> (Result<Fields, DecodeError>, ScanCost) {
    let mut cost = ScanCost::default();
    let fields = read(xml, &mut cost);
    (fields, cost)
}

fn read(xml: &str, cost: &mut ScanCost) -> Result<Fields, DecodeError> {
    if xml.len() > MAX_DATAGRAM {
        return Err(DecodeError::Invalid {
            field: "datagram size",
            value: xml.len() as u64,
        });
    }
    let mut reader = Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut f = Fields::default();
    // Input bytes consumed are counted as the reader advances, so a rejection reports them too.
    let mut consumed = 0u64;
    // The open elements' local names (the parent of each element is the last one) and which of
    // them is a captured field whose text is being gathered.
    let mut path: Vec<Vec<u8>> = Vec::new();
    let mut capture: Option<(usize, String)> = None;
    let mut roots = 0u32;
    loop {
        let event = reader.read_event();
        cost.bytes_visited += reader.buffer_position() - consumed;
        consumed = reader.buffer_position();
        let event = event.map_err(|_| xml_error(consumed))?;
        cost.events += 1;
        match event {
            Event::Start(e) | Event::Empty(e) if path.is_empty() && roots > 0 => {
                let _ = e;
                return Err(xml_error(reader.buffer_position()));
            }
            Event::Start(e) => {
                attributes(&mut f, &e, cost)?;
                let name = local(e.name().as_ref()).to_vec();
                if path.is_empty() {
                    roots += 1;
                }
                let parent = path.last().map_or(&b""[..], |p| p.as_slice());
                if capture.is_none() && slot(&mut f, &name, parent).is_some_and(|s| s.is_none()) {
                    capture = Some((path.len(), String::new()));
                }
                path.push(name);
            }
            Event::Empty(e) => {
                attributes(&mut f, &e, cost)?;
                if path.is_empty() {
                    roots += 1;
                }
            }
            Event::End(_) => {
                let name = path.pop().ok_or_else(|| xml_error(reader.buffer_position()))?;
                if capture.as_ref().is_some_and(|(depth, _)| *depth == path.len()) {
                    if let Some((_, text)) = capture.take() {
                        let parent = path.last().map_or(&b""[..], |p| p.as_slice());
                        if let Some(s) = slot(&mut f, &name, parent) {
                            *s = Some(text.trim().to_owned());
                        }
                    }
                }
            }
            Event::Text(t) => {
                if path.is_empty() {
                    if t.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    return Err(xml_error(reader.buffer_position()));
                }
                if let Some((_, text)) = capture.as_mut() {
                    cost.bytes_visited += t.len() as u64;
                    let s = t.unescape().map_err(|_| xml_error(reader.buffer_position()))?;
                    text.push_str(&s);
                }
            }
            Event::CData(t) => {
                if let Some((_, text)) = capture.as_mut() {
                    cost.bytes_visited += t.len() as u64;
                    text.push_str(std::str::from_utf8(&t).map_err(|_| xml_error(0))?);
                }
            }
            Event::DocType(_) => return Err(xml_error(reader.buffer_position())),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !path.is_empty() || roots != 1 {
        return Err(xml_error(consumed));
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 64 KB of hostile input of several shapes: stray `<`, tags that never close, deep nesting,
    /// long attribute lists.
    fn adversarial() -> Vec<String> {
        // As close to 64 KiB as one datagram allows.
        let n = MAX_DATAGRAM - 64;
        let fill = |unit: &str| unit.repeat(n / unit.len());
        vec![
            fill("<"),
            fill("<a "),
            fill("<a>"),
            format!("<Envelope>{}", fill("<Scopes>x")),
            format!("<Envelope>{}", fill("<a b=\"1\" c='2'>")),
            format!("<Envelope><Probe>{}</Probe></Envelope>", fill("<Types>")),
            fill("<x></"),
            fill("<!--"),
        ]
    }

    /// The cost counter of the scanner this module replaced, which looked each field up from the
    /// start: from every `<` it searched forward for `>` (and went on from just after that `<`),
    /// so a run of `<` with the only `>` at the end costs the square of its length. Reproduced
    /// here only to show that the counter tells a linear reader from a quadratic one.
    fn legacy_bytes_visited(xml: &str, names: &[&str]) -> u64 {
        let mut visited = 0u64;
        'names: for name in names {
            let mut at = 0;
            while let Some(i) = xml[at..].find('<') {
                visited += i as u64 + 1;
                let start = at + i + 1;
                let Some(end) = xml[start..].find('>') else {
                    visited += (xml.len() - start) as u64;
                    continue 'names;
                };
                visited += end as u64 + 1;
                let tag = &xml[start..start + end];
                if tag.split_whitespace().next().and_then(|q| q.rsplit(':').next()) == Some(*name) {
                    continue 'names;
                }
                at = start;
            }
        }
        visited
    }

    #[test]
    fn hostile_datagrams_are_read_in_linear_time_and_rejected() {
        for xml in adversarial() {
            let len = xml.len() as u64;
            assert!(xml.len() <= MAX_DATAGRAM);
            let (result, cost) = scan_counted(&xml);
            assert!(
                matches!(result, Err(DecodeError::Invalid { field: "XML", .. })),
                "{result:?}"
            );
            assert!(cost.bytes_visited <= 2 * len, "{} for {len}", cost.bytes_visited);
            assert!(cost.events <= len + 1);
        }
    }

    #[test]
    fn the_counter_separates_the_old_quadratic_scanner_from_the_reader() {
        // 64 KB of `<` closed by one `>`: the shape that took seconds of CPU before.
        let xml = format!("{}>", "<".repeat(MAX_DATAGRAM - 1));
        let len = xml.len() as u64;
        let (result, cost) = scan_counted(&xml);
        assert!(result.is_err());
        assert!(cost.bytes_visited <= 2 * len);
        let old = legacy_bytes_visited(&xml, &["Action", "MessageID", "Types", "Scopes"]);
        assert!(old > 10_000 * len, "legacy visited {old} for {len}");
    }

    #[test]
    fn a_well_formed_datagram_costs_about_its_length() {
        let xml = "<Envelope><Header><Action>a</Action></Header><Body><Probe><Types> T </Types>\
                   <Scopes MatchBy=\"m\">s</Scopes></Probe></Body></Envelope>";
        let (f, cost) = scan_counted(xml);
        let f = f.expect("well-formed");
        assert_eq!(f.types.as_deref(), Some("T"));
        assert_eq!(f.match_by.as_deref(), Some("m"));
        assert!(cost.bytes_visited <= 2 * xml.len() as u64);
        assert!(cost.bytes_visited >= xml.len() as u64);
    }

    #[test]
    fn oversized_and_malformed_input_get_typed_errors() {
        let big = format!("<a>{}</a>", "x".repeat(MAX_DATAGRAM));
        assert_eq!(
            scan(&big).map(|_| ()),
            Err(DecodeError::Invalid {
                field: "datagram size",
                value: big.len() as u64
            })
        );
        for bad in [
            "<a><b></a>",
            "<a>",
            "<a></a><b></b>",
            "text",
            "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>",
            "<a x=1></a>",
        ] {
            assert!(scan(bad).is_err(), "{bad}");
        }
    }
}
