//! Peer names (`authority.classifier`) and the P2P ID derived from them (MS-PNRP §1.3.1.1, §1.3.1.2).

use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};
use std::fmt;

/// The longest classifier, in characters (MS-PNRP §1.3.1.1: 0..149, 150 with the API's NUL).
pub const CLASSIFIER_MAX_CHARS: usize = 149;

/// A peer name: a 20-byte authority (all zero for unsecured names) and a classifier.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PeerName {
    /// SHA-1 of the owner's public key (BinaryAuthority), or zeros for an unsecured name.
    pub authority: [u8; 20],
    /// Free text chosen by the owner, at most 149 characters, no NUL.
    pub classifier: String,
}

/// Why a peer-name text was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// No `.` separates authority and classifier.
    #[error("peer name `{0}` has no `.` between authority and classifier")]
    MissingDot(String),
    /// The authority is neither `0` nor 40 lowercase hex digits.
    #[error("authority `{0}` must be `0` or 40 lowercase hex digits")]
    BadAuthority(String),
    /// The classifier is too long or contains a NUL.
    #[error("classifier must be at most {CLASSIFIER_MAX_CHARS} characters without NUL")]
    BadClassifier,
}

impl PeerName {
    /// An unsecured name `0.classifier`.
    pub fn unsecured(classifier: &str) -> Result<Self, NameError> {
        check_classifier(classifier)?;
        Ok(PeerName {
            authority: [0; 20],
            classifier: classifier.to_owned(),
        })
    }

    /// A secured name whose authority is `authority` (SHA-1 of the owner's public key).
    pub fn secured(authority: [u8; 20], classifier: &str) -> Result<Self, NameError> {
        check_classifier(classifier)?;
        Ok(PeerName {
            authority,
            classifier: classifier.to_owned(),
        })
    }

    /// Parses the text form `authority.classifier` (MS-PNRP §1.3.1.1 ABNF).
    pub fn parse(text: &str) -> Result<Self, NameError> {
        let (auth, classifier) = text
            .split_once('.')
            .ok_or_else(|| NameError::MissingDot(text.into()))?;
        check_classifier(classifier)?;
        if auth == "0" {
            return Ok(PeerName {
                authority: [0; 20],
                classifier: classifier.into(),
            });
        }
        let bad = || NameError::BadAuthority(auth.into());
        if auth.len() != 40
            || !auth
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(bad());
        }
        let mut authority = [0u8; 20];
        for (i, byte) in authority.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&auth[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(PeerName {
            authority,
            classifier: classifier.into(),
        })
    }

    /// True for a secured name (non-zero authority).
    pub fn is_secured(&self) -> bool {
        self.authority != [0; 20]
    }

    /// SHA-1 of the classifier (MS-PNRP §1.3.1.2 leaves the encoding open; peerlab choice: UTF-16LE
    /// code units, no NUL).
    pub fn classifier_hash(&self) -> [u8; 20] {
        classifier_hash(&self.classifier)
    }

    /// The 128-bit P2P ID: first 16 bytes of SHA-1(CH || authority || CH || "PNRP") (MS-PNRP §1.3.1.2).
    pub fn p2p_id(&self) -> u128 {
        p2p_id(&self.authority, &self.classifier_hash())
    }
}

/// SHA-1 of a classifier's UTF-16LE code units without a terminating NUL (MS-PNRP §1.3.1.2, the specification
/// is ambiguous; our reading).
pub fn classifier_hash(classifier: &str) -> [u8; 20] {
    let mut h = Sha1::new();
    for unit in classifier.encode_utf16() {
        h.update(unit.to_le_bytes());
    }
    h.finalize().into()
}

/// The P2P ID from a binary authority and a classifier hash (MS-PNRP §1.3.1.2).
pub fn p2p_id(authority: &[u8; 20], classifier_hash: &[u8; 20]) -> u128 {
    let mut h = Sha1::new();
    h.update(classifier_hash);
    h.update(authority);
    h.update(classifier_hash);
    h.update(b"PNRP");
    let d = h.finalize();
    let mut first = [0u8; 16];
    first.copy_from_slice(&d[..16]);
    u128::from_be_bytes(first)
}

fn check_classifier(c: &str) -> Result<(), NameError> {
    if c.chars().count() > CLASSIFIER_MAX_CHARS || c.contains('\0') {
        return Err(NameError::BadClassifier);
    }
    Ok(())
}

impl fmt::Display for PeerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_secured() {
            for b in self.authority {
                write!(f, "{b:02x}")?;
            }
        } else {
            f.write_str("0")?;
        }
        write!(f, ".{}", self.classifier)
    }
}

impl fmt::Debug for PeerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerName({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips() {
        let n = PeerName::parse("0.printer").unwrap();
        assert!(!n.is_secured());
        assert_eq!(n.to_string(), "0.printer");
        let s = format!("{}.{}", "ab".repeat(20), "alice");
        let m = PeerName::parse(&s).unwrap();
        assert!(m.is_secured());
        assert_eq!(m.to_string(), s);
    }

    #[test]
    fn malformed_names_are_rejected() {
        assert!(matches!(
            PeerName::parse("printer"),
            Err(NameError::MissingDot(_))
        ));
        assert!(matches!(PeerName::parse("AB.x"), Err(NameError::BadAuthority(_))));
        assert!(matches!(
            PeerName::parse(&format!("{}.x", "AB".repeat(20))),
            Err(NameError::BadAuthority(_))
        ));
        assert!(PeerName::parse(&format!("0.{}", "x".repeat(150))).is_err());
        assert!(PeerName::parse(&format!("0.{}", "x".repeat(149))).is_ok());
    }

    #[test]
    fn p2p_id_depends_on_both_halves() {
        let a = PeerName::unsecured("a").unwrap();
        let b = PeerName::unsecured("b").unwrap();
        let c = PeerName::secured([1; 20], "a").unwrap();
        assert_ne!(a.p2p_id(), b.p2p_id());
        assert_ne!(a.p2p_id(), c.p2p_id());
        assert_eq!(a.p2p_id(), PeerName::parse("0.a").unwrap().p2p_id());
    }
}
