//! Decoding the specifications' own examples: the MS-PCCRD discovery XML exactly as Microsoft's
//! text prints it (MS-PCCRD §2.2.2.1, §2.2.2.2, §4.3), and the content information that IIS produced for
//! iis-85.png, as iPXE publishes it beside its test vectors (`src/tests/pccrc_test.c`).

use crate::dist::hash::Digest;
use crate::dist::info_codec;
use crate::dist::pccrd::{MatchEntry, Probe, ProbeMatch, ProbeVersion};
use crate::dist::pccrd_xml::scan;
use crate::dist::{DecodeError, HashAlgo, InfoVersion};
use crate::{Duration, Endpoint};

fn hex(text: &[&str]) -> Vec<u8> {
    let t: String = text.concat();
    (0..t.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&t[i..i + 2], 16).expect("test vector is hex"))
        .collect()
}

fn h(text: &str) -> Digest {
    Digest::from_hex(text).expect("64 hex digits")
}

/// iis-85.png, content information version 1 as IIS sent it (iPXE `iis_85_png_v1`).
const IIS_V1: &[&str] = &[
    "00010c80000000000000000000000100000000000000000000007e85010000000100d8d976354a4872e925761803f458",
    "d9daaa67f8e31c630fb74e6a312ef8a25aba11afc0d7949243f94f9c1fab35d9fd1e331fcf7811a2e01d3587b38d770a",
    "29e20200000073c18ab8549110f8e90e71bbc3ab2aa8c44d13f4929499255b660f24ec77800b974bdd65567fdeeccdaf",
    "e457a9503b4548f66ed3b188dcfda0ac382b09711acc",
];

/// iis-85.png, content information version 2 as IIS sent it (iPXE `iis_85_png_v2`).
const IIS_V2: &[&str] = &[
    "000204000000000000000000000000000000000000000000000000000000000000000088000099dee0d0c358e2684b62",
    "330d32b5f1978724a0d0a52bdc5e781fae71ff57a8be3dd458037ed404116bb616d9b14116088520c47cdc50abcea3fa",
    "e188a98ea22df3c00000eba03381d0d0cb74f4b613d8210f37f002a06f3910586096a130d34398c08e66d7bcb8b6eb77",
    "83e4f807647b63f146b52f4ac89ccc7abf5fa11acafc2acf5028586c",
];

/// MS-PCCRD §4.3, verbatim (line breaks as the text prints them).
const MS_PCCRD_4_3: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope
    xmlns:soap=http://www.w3.org/2003/05/soap-envelope
    xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing"
    xmlns:wsd="http://schemas.xmlsoap.org/ws/2005/04/discovery"
    xmlns:PeerDist= "http://schemas.microsoft.com/p2p/2007/09/PeerDistributionDiscovery
  <soap:Header>
    <wsa:To>
      http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous
    </wsa:To>
    <wsa:Action>
      http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches
    </wsa:Action>
    <wsa:MessageID>
      urn:uuid:7f4b09a3-96c9-4170-9eb3-1c805a52f444
    </wsa:MessageID>
    <wsa:RelatesTo>
      urn:uuid:91528b47-b96d-4e30-981f-308c0586926f
    </wsa:RelatesTo>
    <wsd:AppSequence InstanceId="1218765447" MessageNumber="4"/>
  </soap:Header>
  <soap:Body>
    <wsd:ProbeMatches>
      <wsd:ProbeMatch>
        <wsa:EndpointReference>
          <wsa:Address>
            urn:uuid:87A89944-0230-43a5-AC4E-FAB1386C8E2C
          </wsa:Address>
        </wsa:EndpointReference>
        <wsd:Types>
          PeerDist:PeerDistData
        </wsd:Types>
        <wsd:Scopes>
          0200000000000000000000000000000000000000000000000000000000000000
          0000000000000000000000000000000000000000000000000000000000000000
        </wsd:Scopes>
        <wsd:XAddrs>
          157.59.141.183:54321
        </wsd:XAddrs>
        <wsd:MetadataVersion>
          1
        </wsd:MetadataVersion>
        <PeerDist:PeerDistData>
          <PeerDist:BlockCount>
            0000002A
          </PeerDist:BlockCount>
        </PeerDist:PeerDistData>
      </wsd:ProbeMatch>
    </wsd:ProbeMatches>
  </soap:Body>
</soap:Envelope>"#;

/// MS-PCCRD §2.2.2.1, version 1.0 Probe, verbatim.
const MS_PCCRD_PROBE_V1: &str = r#"<wsd:Probe>
  <wsd:Types>
    PeerDist:PeerDistData
  </wsd:Types>
  <wsd:Scopes MatchBy="http://schemas.xmlsoap.org/ws/2005/04/discovery/strcmp0">
    0200000000000000000000000000000000000000000000000000000000000000000
    0000000000000000000000000000000000000000000000000000000000000
  </wsd:Scopes>
</wsd:Probe>"#;

/// MS-PCCRD §2.2.2.1, version 2.0 Probe, verbatim.
const MS_PCCRD_PROBE_V2: &str = r#"<wsd:Probe>
  <wsd:Types>
    PeerDist:PeerDistDataV2
  </wsd:Types>
  <wsd:Scopes MatchBy="http://schemas.microsoft.com/p2p/2010/05/PeerDistV2MatchingRule">
    ACABKQEaAQAAAAAwHRoBAAAAAEEAQQBEAHkAZwBNAE0AMQA=
  </wsd:Scopes>
</wsd:Probe>"#;

/// MS-PCCRD §2.2.2.2, version 2.0 ProbeMatch, verbatim.
const MS_PCCRD_MATCH_V2: &str = r#"<wsd:ProbeMatches>
  <wsd:ProbeMatch>
    <wsa:EndpointReference>
      <wsa:Address>
        urn:uuid:87A89944-0230-43a5-AC4E-FAB1386C8E2C
      </wsa:Address>
    </wsa:EndpointReference>
    <wsd:Types>
      PeerDist:PeerDistDataV2
    </wsd:Types>
    <wsd:Scopes>
      /////////////w==
    </wsd:Scopes>
    <wsd:XAddrs>
      157.59.141.183:54321
    </wsd:XAddrs>
    <wsd:MetadataVersion>
      2
    </wsd:MetadataVersion>
    <PeerDist:PeerDistData>
      <PeerDist:SegmentAges>
        AAEDAgBg6gACYOoA
      </PeerDist:SegmentAges>
    </PeerDist:PeerDistData>
  </wsd:ProbeMatch>
</wsd:ProbeMatches>"#;

fn example_xaddr() -> Endpoint {
    Endpoint::new(std::net::Ipv4Addr::new(157, 59, 141, 183).to_ipv6_mapped(), 54321)
}

#[test]
fn the_4_3_probe_match_is_not_well_formed_as_printed_and_decodes_once_its_quotes_are_closed() {
    // Microsoft's text leaves the soap namespace unquoted and the PeerDist one unterminated: a
    // conforming XML reader (and Windows' WSD stack) cannot read it, and ours says so.
    assert!(matches!(
        ProbeMatch::from_xml(MS_PCCRD_4_3, &[]),
        Err(DecodeError::Invalid { field: "XML", .. })
    ));
    let repaired = MS_PCCRD_4_3
        .replace(
            "xmlns:soap=http://www.w3.org/2003/05/soap-envelope",
            "xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\"",
        )
        .replace("PeerDistributionDiscovery\n", "PeerDistributionDiscovery\">\n");
    let m = ProbeMatch::from_xml(&repaired, &[]).expect("the repaired example decodes");
    assert_eq!(m.message_id, 0x7f4b09a3_96c9_4170_9eb3_1c805a52f444);
    assert_eq!(m.relates_to, 0x91528b47_b96d_4e30_981f_308c0586926f);
    assert_eq!((m.instance_id, m.message_number), (1_218_765_447, 4));
    assert_eq!(m.endpoint_uuid, 0x87a89944_0230_43a5_ac4e_fab1386c8e2c);
    assert_eq!(m.version, ProbeVersion::V1);
    assert_eq!(m.xaddr, example_xaddr());
    // Two scopes and eight hex digits: 16-bit block counts (see `block_count_width`), 0 and 42.
    let mut first = [0u8; 32];
    first[0] = 2;
    assert_eq!(
        m.entries,
        vec![
            MatchEntry {
                segment: Digest::from32(first),
                block_count: 0,
                complete: false,
                age: None,
            },
            MatchEntry {
                segment: Digest::from32([0; 32]),
                block_count: 42,
                complete: false,
                age: None,
            },
        ]
    );
    // Re-encoded in our (32-bit, compact) form it decodes to the same match.
    assert_eq!(ProbeMatch::from_xml(&m.to_xml(), &[]), Ok(m));
}

#[test]
fn the_v1_probe_example_has_malformed_segment_ids() {
    // MS-PCCRD §2.2.2.1 prints 65 and 61 hex digits where a HoHoDk has 64: a malformed Scopes, which
    // MS-PCCRD §3.2.4.1 says to discard.
    let f = scan(MS_PCCRD_PROBE_V1).expect("well-formed XML");
    assert_eq!(
        Probe::body_from_fields(&f),
        Err(DecodeError::Invalid {
            field: "Scopes",
            value: 0
        })
    );
}

/// The segment ID the MS-PCCRD §2.2.2.1 V2 example probes for: the 32 bytes after its 3-byte header.
fn v2_example_id() -> Digest {
    let b = hex(&["00200129011a0100000000301d1a0100000000410041004400790067004d004d003100"]);
    // 00 20 | 01 | 32 bytes
    let mut id = [0u8; 32];
    id.copy_from_slice(&b[3..35]);
    Digest::from32(id)
}

#[test]
fn the_v2_examples_decode() {
    let f = scan(MS_PCCRD_PROBE_V2).expect("well-formed XML");
    assert_eq!(
        Probe::body_from_fields(&f),
        Ok((ProbeVersion::V2, vec![v2_example_id()]))
    );
    let f = scan(MS_PCCRD_MATCH_V2).expect("well-formed XML");
    let (version, xaddr, entries) =
        ProbeMatch::body_from_fields(&f, &[v2_example_id()]).expect("the example decodes");
    assert_eq!((version, xaddr), (ProbeVersion::V2, example_xaddr()));
    // "/////////////w==" is ten bytes of ones for a one-ID probe: "has some" and "has all";
    // the ages blob gives segment 0 (and a segment 2 this probe does not have) 60,000 × 1/100 s.
    assert_eq!(
        entries,
        vec![MatchEntry {
            segment: v2_example_id(),
            block_count: 1,
            complete: true,
            age: Some(Duration::from_secs(600)),
        }]
    );
}

#[test]
fn iis_content_information_v1_decodes_exactly_and_re_encodes_to_the_same_bytes() {
    let bytes = hex(IIS_V1);
    assert_eq!(bytes.len(), 166);
    let info = info_codec::decode(&bytes).expect("IIS content information decodes");
    assert_eq!(info.version, InfoVersion::V1);
    assert_eq!((info.offset_in_first_segment, info.range_tail), (0, 0));
    assert_eq!(info.segments.len(), 1);
    let s = &info.segments[0];
    assert_eq!((s.offset, s.len, s.block_size), (0, 99_710, 65_536));
    assert_eq!(
        s.hod,
        h("d8d976354a4872e925761803f458d9daaa67f8e31c630fb74e6a312ef8a25aba")
    );
    assert_eq!(
        s.kp,
        h("11afc0d7949243f94f9c1fab35d9fd1e331fcf7811a2e01d3587b38d770a29e2")
    );
    assert_eq!(
        &s.block_hashes[..],
        &[
            h("73c18ab8549110f8e90e71bbc3ab2aa8c44d13f4929499255b660f24ec77800b"),
            h("974bdd65567fdeeccdafe457a9503b4548f66ed3b188dcfda0ac382b09711acc")
        ]
    );
    assert!(s.hashes_consistent(HashAlgo::Sha256));
    assert_eq!(
        s.id(HashAlgo::Sha256),
        h("491b217dbee2b5f12ca79b015e06f4bbe64f9745bad7867aef17de59927edce9")
    );
    assert_eq!(info_codec::encode(&info), bytes);
}

#[test]
fn iis_content_information_v2_decodes_exactly_and_re_encodes_to_the_same_bytes() {
    let bytes = hex(IIS_V2);
    assert_eq!(bytes.len(), 172);
    let info = info_codec::decode(&bytes).expect("IIS content information decodes");
    assert_eq!(info.version, InfoVersion::V2);
    let lens: Vec<u32> = info.segments.iter().map(|s| s.len).collect();
    assert_eq!(lens, vec![39_390, 60_320]);
    assert_eq!(info.segments[1].offset, 39_390);
    assert_eq!(
        info.segments[0].hod,
        h("e0d0c358e2684b62330d32b5f1978724a0d0a52bdc5e781fae71ff57a8be3dd4")
    );
    let ids: Vec<Digest> = info
        .segments
        .iter()
        .map(|s| s.id(HashAlgo::Sha512Trunc))
        .collect();
    assert_eq!(
        ids,
        vec![
            h("3371bbeaddb62353adcef970a06fdf65001e0421f4c7108276b0c37a9f9ec10f"),
            h("d7e924425e8f4f88f01dc6a9bb1bc37be113ec7917c745d4965c2b55fa163a6e")
        ]
    );
    assert_eq!(info_codec::encode(&info), bytes);
}
