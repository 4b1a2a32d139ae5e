//! Record attributes (MS-PPGRH §2.2.3.5): an XML string of typed name/value pairs,
//! `<attributes><attribute name=".." type="string|int|date">value</attribute>...</attributes>`.
//! The graph only validates it (searching is an API feature); records carry it opaque.
//!
//! Rules, from the schema and the field descriptions of MS-PPGRH §2.2.3.5:
//! * one root element `attributes` without XML attributes, holding one or more `attribute`
//!   elements (the schema's sequence has the default minOccurs of 1) and nothing else but
//!   whitespace and comments;
//! * each `attribute` has exactly the XML attributes `name` and `type` and text content only;
//! * a name is 1 to 40 characters of `[0-9A-Za-z]`; names may repeat;
//! * `int` values are one or more ASCII digits; `date` values are ISO-8601 dates, optionally with
//!   a time of day and a zone (see [`is_iso8601`]); `string` values are any text;
//! * application records must not use the reserved names (compared without regard to case,
//!   peerlab choice: they name record header fields for searching).
//!
//! A DTD is rejected (no entity expansion); the empty string means "no attributes" and passes.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// Longest attribute name, in characters (MS-PPGRH §2.2.3.5).
pub const MAX_ATTRIBUTE_NAME: usize = 40;
/// Names reserved by the Peer Infrastructure for record header fields (MS-PPGRH §2.2.3.5).
pub const RESERVED_ATTRIBUTE_NAMES: [&str; 6] = [
    "peerlastmodifiedby",
    "peercreatorid",
    "peerlastmodificationtime",
    "peerrecordid",
    "peerrecordtype",
    "peercreationtime",
];

/// Why an attributes string was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AttributeError {
    /// Not well-formed XML, or a DTD, at this byte offset.
    #[error("attributes are not well-formed XML (at byte {0})")]
    Xml(u64),
    /// An element, XML attribute or text where the schema allows none.
    #[error("attributes XML does not follow the schema: {0}")]
    Schema(&'static str),
    /// A name that is empty, longer than 40 characters or not alphanumeric.
    #[error("attribute name `{0}` is not 1 to 40 characters of [0-9A-Za-z]")]
    BadName(String),
    /// A name reserved for record header fields.
    #[error("attribute name `{0}` is reserved")]
    ReservedName(String),
    /// A type other than string, int or date.
    #[error("attribute type `{0}` is not string, int or date")]
    BadType(String),
    /// A value that does not fit its type.
    #[error("attribute `{name}` of type {kind} has invalid value `{value}`")]
    BadValue {
        /// The attribute's name.
        name: String,
        /// Its type.
        kind: &'static str,
        /// The value.
        value: String,
    },
}

/// Validates the attributes of an application record (reserved names rejected).
pub fn validate_attributes(xml: &str) -> Result<(), AttributeError> {
    validate(xml, true)
}

/// Validates the syntax only (reserved names allowed), for the graph's own records.
pub fn validate_attribute_syntax(xml: &str) -> Result<(), AttributeError> {
    validate(xml, false)
}

/// The `attribute` element being read.
struct Pending {
    name: String,
    kind: &'static str,
    value: String,
}

fn validate(xml: &str, application: bool) -> Result<(), AttributeError> {
    if xml.is_empty() {
        return Ok(());
    }
    let mut reader = Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    // 0: before the root, 1: inside <attributes>, 2: inside <attribute>, 3: after the root.
    let mut depth = 0u8;
    let mut count = 0usize;
    let mut pending: Option<Pending> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|_| AttributeError::Xml(reader.buffer_position()))?;
        let opens = matches!(event, Event::Start(_));
        match event {
            Event::Start(e) | Event::Empty(e) if depth == 0 => {
                if e.name().as_ref() != b"attributes" {
                    return Err(AttributeError::Schema("the root element must be <attributes>"));
                }
                if e.attributes().next().is_some() {
                    return Err(AttributeError::Schema("<attributes> takes no XML attributes"));
                }
                // `<attributes/>` holds no attribute: the end check below rejects it.
                depth = if opens { 1 } else { 3 };
            }
            Event::Start(e) | Event::Empty(e) if depth == 1 => {
                if e.name().as_ref() != b"attribute" {
                    return Err(AttributeError::Schema(
                        "<attributes> holds only <attribute> elements",
                    ));
                }
                let p = read_attribute(&e, application)?;
                count += 1;
                if opens {
                    pending = Some(p);
                    depth = 2;
                } else {
                    check_value(&p)?;
                }
            }
            Event::Start(_) | Event::Empty(_) => {
                return Err(AttributeError::Schema("an element where none is allowed"));
            }
            Event::End(_) => {
                if let Some(p) = pending.take() {
                    check_value(&p)?;
                }
                depth = if depth == 2 { 1 } else { 3 };
            }
            Event::Text(t) => {
                let text = t
                    .unescape()
                    .map_err(|_| AttributeError::Xml(reader.buffer_position()))?;
                match pending.as_mut() {
                    Some(p) => p.value.push_str(&text),
                    None if text.trim().is_empty() => {}
                    None => return Err(AttributeError::Schema("text outside an <attribute>")),
                }
            }
            Event::CData(t) => match pending.as_mut() {
                Some(p) => p.value.push_str(
                    std::str::from_utf8(&t).map_err(|_| AttributeError::Xml(reader.buffer_position()))?,
                ),
                None => return Err(AttributeError::Schema("CDATA outside an <attribute>")),
            },
            Event::DocType(_) => return Err(AttributeError::Xml(reader.buffer_position())),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if depth != 3 {
        return Err(AttributeError::Schema(
            "the <attributes> element is missing or unclosed",
        ));
    }
    if count == 0 {
        return Err(AttributeError::Schema("<attributes> holds no <attribute>"));
    }
    Ok(())
}

/// Checks an `attribute` element's XML attributes: exactly `name` and `type`.
fn read_attribute(e: &BytesStart<'_>, application: bool) -> Result<Pending, AttributeError> {
    let (mut name, mut kind) = (None, None);
    for a in e.attributes() {
        let a = a.map_err(|_| AttributeError::Xml(0))?;
        let value = a
            .unescape_value()
            .map_err(|_| AttributeError::Xml(0))?
            .into_owned();
        let slot = match a.key.as_ref() {
            b"name" => &mut name,
            b"type" => &mut kind,
            _ => return Err(AttributeError::Schema("<attribute> takes only name and type")),
        };
        if slot.replace(value).is_some() {
            return Err(AttributeError::Schema("a repeated XML attribute"));
        }
    }
    let name = name.ok_or(AttributeError::Schema("<attribute> without a name"))?;
    let kind = kind.ok_or(AttributeError::Schema("<attribute> without a type"))?;
    if name.is_empty() || name.len() > MAX_ATTRIBUTE_NAME || !name.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(AttributeError::BadName(name));
    }
    if application
        && RESERVED_ATTRIBUTE_NAMES
            .iter()
            .any(|r| r.eq_ignore_ascii_case(&name))
    {
        return Err(AttributeError::ReservedName(name));
    }
    let kind = match kind.as_str() {
        "string" => "string",
        "int" => "int",
        "date" => "date",
        _ => return Err(AttributeError::BadType(kind)),
    };
    Ok(Pending {
        name,
        kind,
        value: String::new(),
    })
}

fn check_value(p: &Pending) -> Result<(), AttributeError> {
    let ok = match p.kind {
        "int" => !p.value.is_empty() && p.value.bytes().all(|b| b.is_ascii_digit()),
        "date" => is_iso8601(&p.value),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(AttributeError::BadValue {
            name: p.name.clone(),
            kind: p.kind,
            value: p.value.clone(),
        })
    }
}

/// An ISO-8601 calendar date, extended (`1972-04-04`) or basic (`19720404`), optionally followed
/// by `T` and a time `hh:mm`, `hh:mm:ss` or `hh:mm:ss.fff` (or basic `hhmm[ss]`), optionally
/// followed by `Z` or an offset `±hh:mm` / `±hhmm` / `±hh`. Days are checked against the month
/// (leap years included); `24:00:00` ends a day.
pub fn is_iso8601(s: &str) -> bool {
    // Every form is ASCII; checking first keeps the byte slicing below on character boundaries.
    if !s.is_ascii() {
        return false;
    }
    let (date, time) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    valid_date(date) && time.is_none_or(valid_time_and_zone)
}

fn digits(s: &str) -> Option<u32> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
}

fn valid_date(d: &str) -> bool {
    let (y, m, day) = match d.len() {
        10 if d.as_bytes()[4] == b'-' && d.as_bytes()[7] == b'-' => (&d[..4], &d[5..7], &d[8..]),
        8 => (&d[..4], &d[4..6], &d[6..]),
        _ => return false,
    };
    let (Some(y), Some(m), Some(day)) = (digits(y), digits(m), digits(day)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

fn valid_time_and_zone(t: &str) -> bool {
    let (time, zone) = match t.find(['Z', '+', '-']) {
        Some(i) => t.split_at(i),
        None => (t, ""),
    };
    valid_time(time) && valid_zone(zone)
}

fn valid_time(t: &str) -> bool {
    let (whole, fraction) = match t.split_once(['.', ',']) {
        Some((w, f)) => (w, Some(f)),
        None => (t, None),
    };
    if fraction.is_some_and(|f| f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    let parts: Vec<&str> = if whole.contains(':') {
        whole.split(':').collect()
    } else if whole.len() % 2 == 0 {
        (0..whole.len()).step_by(2).map(|i| &whole[i..i + 2]).collect()
    } else {
        return false;
    };
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.len() != 2) {
        return false;
    }
    let n: Vec<Option<u32>> = parts.iter().map(|p| digits(p)).collect();
    let (h, m, s) = match n[..] {
        [Some(h), Some(m)] => (h, m, 0),
        [Some(h), Some(m), Some(s)] => (h, m, s),
        _ => return false,
    };
    (h < 24 && m < 60 && s <= 60) || (h == 24 && m == 0 && s == 0)
}

fn valid_zone(z: &str) -> bool {
    if z.is_empty() || z == "Z" {
        return true;
    }
    let rest = &z[1..];
    let (h, m) = match rest.len() {
        2 => (rest, "00"),
        4 => (&rest[..2], &rest[2..]),
        5 if rest.as_bytes()[2] == b':' => (&rest[..2], &rest[3..]),
        _ => return false,
    };
    matches!((digits(h), digits(m)), (Some(h), Some(m)) if h < 24 && m < 60)
}

#[cfg(test)]
#[path = "attributes_tests.rs"]
mod tests;
