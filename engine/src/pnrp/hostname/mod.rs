//! Peer names as DNS host names under `pnrp.net`, as Windows' PNRP namespace provider writes
//! them for `getaddrinfo`: `PeerNameToPeerHostName` ([`to_host_name`]) and its inverse
//! `PeerHostNameToPeerName` ([`from_host_name`]).
//!
//! Microsoft's rules ("PNRP and pnrp.net", the Windows peer-to-peer networking team's blog,
//! 15 June 2007; "Windows Internet Computer Names", TechNet; "PNRP in Application Development",
//! .NET Framework documentation):
//! 1. the classifier comes first and the authority after it, as DNS puts the more authoritative
//!    part on the right, and the suffix `.pnrp.net` ends the name: `classifier.authority.pnrp.net`;
//! 2. an unsecured name (authority `0`) drops the authority: `classifier.pnrp.net`;
//! 3. the authority gets a `p` in front when it does not begin with a letter (a DNS label must);
//! 4. Unicode is written with punycode (RFC 3492).
//!
//! Where those pages are silent, peerlab decides (each a "peerlab choice"):
//! - a classifier with dots becomes several labels; an all-ASCII label is written as it is and a
//!   label with other characters as `xn--` + punycode, the IDNA form (RFC 3490 §5), without
//!   nameprep, so the classifier comes back exactly (its hash is over the exact text,
//!   MS-PNRP §1.3.1.2). An ASCII label that itself begins with `xn--` is punycoded too, so that
//!   every host name decodes one way;
//! - host-name characters are letters, digits and `-` (RFC 1123 §2.1, the reason the blog gives for
//!   punycode); a classifier with other ASCII characters (space, `_`, `@`) has no host name;
//! - labels hold at most 63 characters and names 253 (RFC 1035 §2.3.4), so a long classifier
//!   without dots has no host name either;
//! - the empty classifier has no host name (no label would be left for it);
//! - the last label is the authority exactly when it has the authority's form (40 hex digits
//!   beginning with a letter, or `p` and 40 hex digits beginning with a digit); an unsecured
//!   classifier whose last label has that form has no host name, since it would read as a
//!   secured one;
//! - decoding ignores ASCII case in the suffix, the authority, the `xn--` prefix and punycode
//!   digits (DNS compares names without case, RFC 4343); the classifier's letters keep the case
//!   the host name has, as the classifier hash depends on it.

mod punycode;
#[cfg(test)]
mod tests;

use super::name::{NameError, PeerName};

/// The DNS zone of peer host names.
pub const ZONE: &str = "pnrp.net";
/// The prefix of a punycoded label (IDNA's ACE prefix, RFC 3490 §5).
pub const ACE_PREFIX: &str = "xn--";
/// Longest DNS label, in characters (RFC 1035 §2.3.4).
pub const LABEL_MAX: usize = 63;
/// Longest host name without the final dot (RFC 1035 §2.3.4: 255 octets on the wire).
pub const HOST_NAME_MAX: usize = 253;

/// Why a peer name has no host name, or a host name is not a peer's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostNameError {
    /// The classifier is empty: no label is left to write it in.
    #[error("the classifier is empty; a peer host name needs at least one label for it")]
    EmptyClassifier,
    /// Two dots in a row, or a dot at either end of the classifier.
    #[error("empty label (two dots in a row, or a dot at an end)")]
    EmptyLabel,
    /// A character a host name cannot hold.
    #[error("{0:?} cannot be part of a host name (letters, digits and `-`; other Unicode is punycoded)")]
    BadCharacter(char),
    /// A label longer than DNS allows.
    #[error("label `{label}` has {len} characters; DNS allows {LABEL_MAX}")]
    LabelTooLong {
        /// The label (escaped, at most 70 characters).
        label: String,
        /// Its length in characters.
        len: usize,
    },
    /// A name longer than DNS allows.
    #[error("the host name has {0} characters; DNS allows {HOST_NAME_MAX}")]
    TooLong(usize),
    /// An unsecured classifier whose host name would read as a secured name.
    #[error("the classifier's last label `{0}` has the form of an authority, so its host name would name a secured peer")]
    LooksSecured(String),
    /// An authority label of all zeros: unsecured names carry no authority label.
    #[error("the authority label is all zeros; an unsecured name is written without one")]
    ZeroAuthority,
    /// Not a name under `pnrp.net`.
    #[error("`{0}` does not end in .{ZONE}")]
    NotInZone(String),
    /// An `xn--` label whose rest is not punycode.
    #[error("label `{0}` is not valid punycode")]
    BadPunycode(String),
    /// A label `PeerNameToPeerHostName` would write differently.
    #[error(
        "label `{label}` is not in the form PeerNameToPeerHostName writes (that would be `{canonical}`)"
    )]
    NotCanonical {
        /// The label given.
        label: String,
        /// How the text it decodes to is written, or why it cannot be.
        canonical: String,
    },
    /// The decoded peer name breaks a peer-name rule (classifier length).
    #[error(transparent)]
    Name(#[from] NameError),
}

/// Hostile text shown in an error: escaped and cut to 70 characters.
fn shown(text: &str) -> String {
    let escaped: String = text.escape_debug().collect();
    match escaped.char_indices().nth(70) {
        Some((at, _)) => format!("{}…", &escaped[..at]),
        None => escaped,
    }
}

fn is_ldh(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}

fn has_ace_prefix(label: &str) -> bool {
    label
        .as_bytes()
        .get(..ACE_PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(ACE_PREFIX.as_bytes()))
}

/// One classifier label as a DNS label: as it is when ASCII, else `xn--` + punycode.
fn encode_label(label: &str) -> Result<String, HostNameError> {
    if label.is_empty() {
        return Err(HostNameError::EmptyLabel);
    }
    if let Some(c) = label.chars().find(|c| c.is_ascii() && !is_ldh(*c)) {
        return Err(HostNameError::BadCharacter(c));
    }
    let out = if label.is_ascii() && !has_ace_prefix(label) {
        label.to_owned()
    } else {
        let code = punycode::encode(label).map_err(|_| HostNameError::BadPunycode(shown(label)))?;
        format!("{ACE_PREFIX}{code}")
    };
    if out.len() > LABEL_MAX {
        return Err(HostNameError::LabelTooLong {
            len: out.len(),
            label: shown(&out),
        });
    }
    Ok(out)
}

/// The authority label: lower-case hex, with a `p` in front when it begins with a digit.
fn authority_label(authority: &[u8; 20]) -> String {
    let hex: String = authority.iter().map(|b| format!("{b:02x}")).collect();
    if hex.starts_with(|c: char| c.is_ascii_digit()) {
        format!("p{hex}")
    } else {
        hex
    }
}

/// The authority a label stands for, if it has the form [`authority_label`] writes (any case).
fn parse_authority_label(label: &str) -> Option<[u8; 20]> {
    let bytes = label.as_bytes();
    let hex = match bytes {
        [p, first, ..] if bytes.len() == 41 && p.eq_ignore_ascii_case(&b'p') && first.is_ascii_digit() => {
            &bytes[1..]
        }
        [first, ..] if bytes.len() == 40 && matches!(first.to_ascii_lowercase(), b'a'..=b'f') => bytes,
        _ => return None,
    };
    let nibble = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut authority = [0u8; 20];
    for (byte, pair) in authority.iter_mut().zip(hex.chunks_exact(2)) {
        *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(authority)
}

/// `PeerNameToPeerHostName`: the host name `getaddrinfo` resolves to this peer name, without a
/// final dot, e.g. `0.johndoe` → `johndoe.pnrp.net`.
pub fn to_host_name(name: &PeerName) -> Result<String, HostNameError> {
    if name.classifier.is_empty() {
        return Err(HostNameError::EmptyClassifier);
    }
    let mut labels = name
        .classifier
        .split('.')
        .map(encode_label)
        .collect::<Result<Vec<_>, _>>()?;
    if name.is_secured() {
        labels.push(authority_label(&name.authority));
    } else if let Some(last) = labels.last().filter(|l| parse_authority_label(l).is_some()) {
        return Err(HostNameError::LooksSecured(last.clone()));
    }
    labels.push(ZONE.to_owned());
    let host = labels.join(".");
    if host.len() > HOST_NAME_MAX {
        return Err(HostNameError::TooLong(host.len()));
    }
    Ok(host)
}

/// The labels of `host` before `.pnrp.net` (one final dot allowed), if it is under the zone.
fn labels_in_zone(host: &str) -> Result<&str, HostNameError> {
    let name = host.strip_suffix('.').unwrap_or(host);
    let suffix = format!(".{ZONE}");
    let zone_only = name.eq_ignore_ascii_case(ZONE) || name.eq_ignore_ascii_case(&suffix);
    match name.len().checked_sub(suffix.len()) {
        _ if zone_only => Err(HostNameError::EmptyClassifier),
        // The byte at `cut` is an ASCII `.`, so `cut` is a character boundary.
        Some(cut) if name.as_bytes()[cut..].eq_ignore_ascii_case(suffix.as_bytes()) => Ok(&name[..cut]),
        _ => Err(HostNameError::NotInZone(shown(host))),
    }
}

/// `PeerHostNameToPeerName`: the peer name a host name under `pnrp.net` stands for, e.g.
/// `johndoe.pnrp.net` → `0.johndoe`. Any text is safe to pass: bad input is an error.
pub fn from_host_name(host: &str) -> Result<PeerName, HostNameError> {
    let trimmed = host.strip_suffix('.').unwrap_or(host);
    if trimmed.len() > HOST_NAME_MAX {
        return Err(HostNameError::TooLong(trimmed.len()));
    }
    let mut labels: Vec<&str> = labels_in_zone(host)?.split('.').collect();
    for label in &labels {
        if label.is_empty() {
            return Err(HostNameError::EmptyLabel);
        }
        if let Some(c) = label.chars().find(|c| !is_ldh(*c)) {
            return Err(HostNameError::BadCharacter(c));
        }
        if label.len() > LABEL_MAX {
            return Err(HostNameError::LabelTooLong {
                label: shown(label),
                len: label.len(),
            });
        }
    }
    let authority = labels.last().and_then(|l| parse_authority_label(l));
    if authority.is_some() {
        labels.pop();
    }
    if authority == Some([0; 20]) {
        return Err(HostNameError::ZeroAuthority);
    }
    if labels.is_empty() {
        return Err(HostNameError::EmptyClassifier);
    }
    let classifier = labels
        .iter()
        .map(|l| decode_label(l))
        .collect::<Result<Vec<_>, _>>()?
        .join(".");
    Ok(match authority {
        Some(a) => PeerName::secured(a, &classifier)?,
        None => PeerName::unsecured(&classifier)?,
    })
}

/// One DNS label (letters, digits, `-`) back to classifier text; `xn--` labels must be canonical.
fn decode_label(label: &str) -> Result<String, HostNameError> {
    if !has_ace_prefix(label) {
        return Ok(label.to_owned());
    }
    let text =
        punycode::decode(&label[ACE_PREFIX.len()..]).map_err(|_| HostNameError::BadPunycode(shown(label)))?;
    match encode_label(&text) {
        Ok(again) if again.eq_ignore_ascii_case(label) => Ok(text),
        Ok(again) => Err(HostNameError::NotCanonical {
            label: shown(label),
            canonical: again,
        }),
        Err(e) => Err(HostNameError::NotCanonical {
            label: shown(label),
            canonical: format!("none: {e}"),
        }),
    }
}
