//! The attribute rules of MS-PPGRH §2.2.3.5, each with an accepted and a rejected case.

use super::*;
use proptest::prelude::*;

const EXAMPLE: &str = r#"<attributes>
  <attribute name="Owner" type="string">Scott</attribute>
  <attribute name="Birthday" type="date">1972-04-04</attribute>
  <attribute name="Priority" type="int">1</attribute>
</attributes>"#;

fn one(name: &str, kind: &str, value: &str) -> String {
    format!(r#"<attributes><attribute name="{name}" type="{kind}">{value}</attribute></attributes>"#)
}

#[test]
fn the_specification_example_passes() {
    assert_eq!(validate_attributes(EXAMPLE), Ok(()));
    assert_eq!(
        validate_attributes(&format!("<?xml version=\"1.0\"?><!-- c -->{EXAMPLE}\n")),
        Ok(())
    );
    assert_eq!(validate_attributes(""), Ok(()), "empty means absent");
    // Names may repeat; an empty string value is a string.
    let twice = r#"<attributes><attribute name="k" type="string">a</attribute><attribute name="k" type="string"/></attributes>"#;
    assert_eq!(validate_attributes(twice), Ok(()));
    assert_eq!(validate_attributes(&one("x", "string", "a &amp; b")), Ok(()));
}

#[test]
fn names_are_1_to_40_alphanumerics() {
    assert_eq!(validate_attributes(&one(&"a".repeat(40), "int", "7")), Ok(()));
    for bad in ["", "a-b", "a b", "é", &"a".repeat(41)] {
        assert!(
            matches!(
                validate_attributes(&one(bad, "int", "7")),
                Err(AttributeError::BadName(_))
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn reserved_names_only_in_application_records() {
    for name in RESERVED_ATTRIBUTE_NAMES {
        let xml = one(name, "string", "x");
        assert!(matches!(
            validate_attributes(&xml),
            Err(AttributeError::ReservedName(_))
        ));
        assert_eq!(validate_attribute_syntax(&xml), Ok(()));
    }
    assert!(validate_attributes(&one("PeerRecordId", "string", "x")).is_err());
}

#[test]
fn types_and_values() {
    assert!(matches!(
        validate_attributes(&one("a", "float", "1")),
        Err(AttributeError::BadType(_))
    ));
    assert_eq!(validate_attributes(&one("a", "int", "0042")), Ok(()));
    for bad in ["", "-1", "1.5", " 1"] {
        assert!(
            matches!(
                validate_attributes(&one("a", "int", bad)),
                Err(AttributeError::BadValue { .. })
            ),
            "{bad:?}"
        );
    }
    for good in [
        "2024-02-29",
        "20240229",
        "2026-12-07T08:15",
        "2026-12-07T08:15:30.25Z",
        "2026-12-07T24:00:00",
        "2026-12-07T081530+0100",
        "2026-12-07T08:15:30-05:30",
    ] {
        assert_eq!(validate_attributes(&one("d", "date", good)), Ok(()), "{good}");
    }
    for bad in [
        "2023-02-29",
        "2026-13-01",
        "2026-04-31",
        "2026-1-01",
        "yesterday",
        "2026-12-07T25:00",
        "2026-12-07T08:60",
        "2026-12-07T08:15+25:00",
        "2026-12-07T08:15.",
        "2026-12-07T",
        "２０２６-12-07",
    ] {
        assert!(
            matches!(
                validate_attributes(&one("d", "date", bad)),
                Err(AttributeError::BadValue { .. })
            ),
            "{bad}"
        );
    }
}

#[test]
fn structure_follows_the_schema() {
    let cases = [
        "<attrs/>",
        "<attributes/>",
        "<attributes></attributes>",
        r#"<attributes x="1"><attribute name="a" type="int">1</attribute></attributes>"#,
        r#"<attributes><item name="a" type="int">1</item></attributes>"#,
        r#"<attributes><attribute type="int">1</attribute></attributes>"#,
        r#"<attributes><attribute name="a">1</attribute></attributes>"#,
        r#"<attributes><attribute name="a" type="int" extra="1">1</attribute></attributes>"#,
        r#"<attributes><attribute name="a" type="string"><b/></attribute></attributes>"#,
        r#"<attributes>text<attribute name="a" type="int">1</attribute></attributes>"#,
        r#"<attributes><attribute name="a" type="int">1</attribute></attributes><attributes/>"#,
        r#"<attributes><attribute name="a" type="int">1</attribute></attributes>tail"#,
    ];
    for xml in cases {
        assert!(
            matches!(validate_attributes(xml), Err(AttributeError::Schema(_))),
            "{xml}"
        );
    }
    for xml in [
        "<attributes><attribute name=\"a\" type=\"int\">1</attribute>",
        "<attributes><attribute name=\"a\" type=\"int\">1</b></attributes>",
        "<!DOCTYPE a [<!ENTITY x \"y\">]><attributes/>",
        "<attributes",
        r#"<attributes><attribute name="a" name="b" type="int">1</attribute></attributes>"#,
    ] {
        assert!(validate_attributes(xml).is_err(), "{xml}");
    }
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(s in ".{0,80}") {
        let _ = validate_attributes(&s);
        let _ = is_iso8601(&s);
    }

    #[test]
    fn generated_valid_attributes_pass(
        items in proptest::collection::vec(("[0-9A-Za-z]{1,40}", 0u8..3, "[a-z0-9 ]{0,8}", 0u32..1_000_000), 1..5)
    ) {
        let mut xml = String::from("<attributes>");
        for (name, kind, text, n) in &items {
            let (kind, value) = match kind {
                0 => ("string", text.clone()),
                1 => ("int", n.to_string()),
                _ => ("date", format!("{:04}-{:02}-{:02}", 1900 + n % 200, 1 + n % 12, 1 + n % 28)),
            };
            xml.push_str(&format!(r#"<attribute name="{name}" type="{kind}">{value}</attribute>"#));
        }
        xml.push_str("</attributes>");
        prop_assert_eq!(validate_attribute_syntax(&xml), Ok(()));
    }
}
