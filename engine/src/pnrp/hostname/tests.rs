use super::*;
use proptest::prelude::*;

fn name(text: &str) -> PeerName {
    PeerName::parse(text).unwrap()
}

/// An input and the test its error must pass.
type Case = (&'static str, fn(&HostNameError) -> bool);

/// (peer name, host name) pairs that hold both ways.
const VECTORS: &[(&str, &str)] = &[
    // TechNet, "Windows Internet Computer Names": the unsecured example `johndoe.pnrp.net`.
    ("0.johndoe", "johndoe.pnrp.net"),
    // Same page, the secured example `p.p4562b4628ac54782dda52789038476237e7c7263.pnrp.net`: the
    // authority begins with a digit, so it gets a `p` ("PNRP and pnrp.net", P2P team blog); we read
    // the first label as the classifier `p`.
    (
        "4562b4628ac54782dda52789038476237e7c7263.p",
        "p.p4562b4628ac54782dda52789038476237e7c7263.pnrp.net",
    ),
    // The blog's rule the other way: an authority beginning with a letter keeps its form.
    (
        "ab62b4628ac54782dda52789038476237e7c7263.printer",
        "printer.ab62b4628ac54782dda52789038476237e7c7263.pnrp.net",
    ),
    // peerlab choice: dots in a classifier make labels; ASCII case is kept.
    ("0.Lab.Printer-2", "Lab.Printer-2.pnrp.net"),
    // peerlab choice: Unicode labels in IDNA form; the punycode is RFC 3492 §7.1 sample (B).
    (
        "0.\u{4ED6}\u{4EEC}\u{4E3A}\u{4EC0}\u{4E48}\u{4E0D}\u{8BF4}\u{4E2D}\u{6587}",
        "xn--ihqwcrb4cv8a8dqg056pqjye.pnrp.net",
    ),
    // RFC 3492 §7.1 sample (L), basic code points keeping their case, in a secured name.
    (
        "ab62b4628ac54782dda52789038476237e7c7263.3\u{5E74}B\u{7D44}\u{91D1}\u{516B}\u{5148}\u{751F}",
        "xn--3B-ww4c5e180e575a65lsy2b.ab62b4628ac54782dda52789038476237e7c7263.pnrp.net",
    ),
    // Python's punycode codec: "café" → "caf-dma".
    ("0.caf\u{e9}.menu", "xn--caf-dma.menu.pnrp.net"),
    // peerlab choice: an ASCII label that begins with `xn--` is punycoded too.
    ("0.xn--abc", "xn--xn--abc-.pnrp.net"),
    // Digits may begin a classifier label (RFC 1123 §2.1); only the authority gets the `p`.
    ("0.3com", "3com.pnrp.net"),
];

#[test]
fn microsoft_and_peerlab_vectors_hold_both_ways() {
    for (peer, host) in VECTORS {
        assert_eq!(to_host_name(&name(peer)).as_deref(), Ok(*host), "{peer}");
        assert_eq!(from_host_name(host), Ok(name(peer)), "{host}");
    }
}

#[test]
fn decoding_ignores_case_where_dns_does_and_takes_a_final_dot() {
    let secured = name("4562b4628ac54782dda52789038476237e7c7263.p");
    for host in [
        "p.P4562B4628AC54782DDA52789038476237E7C7263.PNRP.NET",
        "p.p4562b4628ac54782dda52789038476237e7c7263.pnrp.net.",
    ] {
        assert_eq!(from_host_name(host), Ok(secured.clone()), "{host}");
    }
    assert_eq!(from_host_name("XN--CAF-DMA.pnrp.net"), Ok(name("0.CAF\u{e9}")));
    // Letters of the classifier keep the case the host name has.
    assert_eq!(from_host_name("JohnDoe.pnrp.net"), Ok(name("0.JohnDoe")));
}

#[test]
fn peer_names_without_a_host_name_are_typed_errors() {
    let cases: &[Case] = &[
        ("0.", |e| *e == HostNameError::EmptyClassifier),
        ("0.a..b", |e| *e == HostNameError::EmptyLabel),
        ("0.a.", |e| *e == HostNameError::EmptyLabel),
        ("0.my printer", |e| *e == HostNameError::BadCharacter(' ')),
        ("0.my_printer", |e| *e == HostNameError::BadCharacter('_')),
        ("0.caf\u{e9} bar", |e| *e == HostNameError::BadCharacter(' ')),
        ("0.ab62b4628ac54782dda52789038476237e7c7263", |e| {
            matches!(e, HostNameError::LooksSecured(_))
        }),
        ("0.x.p0000000000000000000000000000000000000000", |e| {
            matches!(e, HostNameError::LooksSecured(_))
        }),
    ];
    for (peer, expected) in cases {
        let err = to_host_name(&name(peer)).unwrap_err();
        assert!(expected(&err), "{peer}: {err}");
    }
    let long = name(&format!("0.{}", "a".repeat(64)));
    assert!(matches!(
        to_host_name(&long),
        Err(HostNameError::LabelTooLong { len: 64, .. })
    ));
    // A 149-character classifier fits (149 + 42 + 9 < 253) unless punycode lengthens it.
    let smileys = name(&format!("0.{}", vec!["\u{1f600}"; 30].join(".")));
    assert!(matches!(to_host_name(&smileys), Err(HostNameError::TooLong(278))));
}

#[test]
fn host_names_that_are_no_peers_are_typed_errors() {
    let cases: &[Case] = &[
        ("pnrp.net", |e| *e == HostNameError::EmptyClassifier),
        (".pnrp.net.", |e| *e == HostNameError::EmptyClassifier),
        ("example.com", |e| matches!(e, HostNameError::NotInZone(_))),
        ("xpnrp.net", |e| matches!(e, HostNameError::NotInZone(_))),
        ("", |e| matches!(e, HostNameError::NotInZone(_))),
        ("a..pnrp.net", |e| *e == HostNameError::EmptyLabel),
        ("my_printer.pnrp.net", |e| *e == HostNameError::BadCharacter('_')),
        ("caf\u{e9}.pnrp.net", |e| {
            *e == HostNameError::BadCharacter('\u{e9}')
        }),
        ("p4562b4628ac54782dda52789038476237e7c7263.pnrp.net", |e| {
            *e == HostNameError::EmptyClassifier
        }),
        ("x.p0000000000000000000000000000000000000000.pnrp.net", |e| {
            *e == HostNameError::ZeroAuthority
        }),
        ("xn--a!.pnrp.net", |e| *e == HostNameError::BadCharacter('!')),
        ("xn--99999999999.pnrp.net", |e| {
            matches!(e, HostNameError::BadPunycode(_))
        }),
        // Punycode of plain ASCII: PeerNameToPeerHostName writes `abc`.
        (
            "xn--abc-.pnrp.net",
            |e| matches!(e, HostNameError::NotCanonical { canonical, .. } if canonical == "abc"),
        ),
    ];
    for (host, expected) in cases {
        let err = from_host_name(host).unwrap_err();
        assert!(expected(&err), "{host}: {err}");
    }
    let long_label = format!("{}.pnrp.net", "a".repeat(64));
    assert!(matches!(
        from_host_name(&long_label),
        Err(HostNameError::LabelTooLong { len: 64, .. })
    ));
    let long_name = format!("{}.pnrp.net", vec!["a".repeat(60); 5].join("."));
    assert!(matches!(
        from_host_name(&long_name),
        Err(HostNameError::TooLong(_))
    ));
    // 150 one-letter labels: 299 + 9 characters.
    let many = format!("{}.pnrp.net", vec!["a"; 150].join("."));
    assert!(from_host_name(&many).is_err());
}

#[test]
fn error_text_escapes_hostile_input() {
    let err = from_host_name("\u{1b}[31mred.example").unwrap_err();
    let text = err.to_string();
    assert!(!text.contains('\u{1b}'), "{text}");
    assert!(text.contains("\\u{1b}"), "{text}");
}

/// One character of a classifier label: host-name characters and Unicode.
fn label_char() -> impl Strategy<Value = char> {
    prop_oneof![
        6 => proptest::char::range('a', 'z'),
        1 => proptest::char::range('A', 'Z'),
        1 => proptest::char::range('0', '9'),
        1 => Just('-'),
        2 => proptest::char::range('\u{a0}', '\u{2fff}'),
        1 => proptest::char::range('\u{1f600}', '\u{1f64f}'),
    ]
}

/// Classifiers: mostly dotted labels that have a host name, some free text with `.`, `_` and
/// empty labels that has none.
fn classifier() -> impl Strategy<Value = String> {
    let label =
        proptest::collection::vec(label_char(), 1..12).prop_map(|cs| cs.into_iter().collect::<String>());
    let dotted = proptest::collection::vec(label, 1..5).prop_map(|ls| ls.join("."));
    let free = proptest::collection::vec(
        prop_oneof![4 => label_char(), 1 => Just('.'), 1 => Just('_')],
        0..40,
    )
    .prop_map(|cs| cs.into_iter().collect::<String>());
    prop_oneof![3 => dotted, 1 => free]
}

proptest! {
    #[test]
    fn encode_then_decode_gives_the_name_back(auth in any::<[u8; 20]>(), secured in any::<bool>(), c in classifier()) {
        let peer = if secured && auth != [0; 20] { PeerName::secured(auth, &c) } else { PeerName::unsecured(&c) };
        let peer = peer.unwrap();
        if let Ok(host) = to_host_name(&peer) {
            prop_assert!(host.len() <= HOST_NAME_MAX);
            prop_assert!(host.split('.').all(|l| !l.is_empty() && l.len() <= LABEL_MAX && l.chars().all(is_ldh)));
            prop_assert_eq!(from_host_name(&host), Ok(peer));
        }
    }

    #[test]
    fn decode_never_panics_and_what_decodes_encodes_back(text in prop_oneof![".{0,80}", "[a-zA-Z0-9.-]{0,80}", "(xn--)?[a-zA-Z0-9-]{1,12}(\\.(xn--)?[a-z0-9-]{1,12}){0,2}"], tail in prop_oneof![Just(""), Just(".pnrp.net"), Just(".PNRP.net.")]) {
        let host = format!("{text}{tail}");
        if let Ok(peer) = from_host_name(&host) {
            let again = to_host_name(&peer).unwrap();
            prop_assert!(again.eq_ignore_ascii_case(host.strip_suffix('.').unwrap_or(&host)), "{} vs {}", again, host);
        }
    }

    #[test]
    fn ace_labels_of_any_digits_never_panic(digits in "[a-zA-Z0-9-]{0,59}") {
        let _ = from_host_name(&format!("xn--{digits}.pnrp.net"));
    }
}

#[test]
fn most_generated_classifiers_have_a_host_name() {
    // Guards the round-trip property's strength: it checks only names that encode.
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = classifier();
    let encoded = (0..400)
        .filter(|_| {
            let c = strategy.new_tree(&mut runner).unwrap().current();
            PeerName::unsecured(&c).is_ok_and(|n| to_host_name(&n).is_ok())
        })
        .count();
    assert!(encoded >= 200, "{encoded} of 400");
}
