//! Extended payloads (MS-PNRP §2.2.3.3): application data attached to a registration, kept on the
//! publisher only and sent in an AUTHORITY_BUFFER when an INQUIRE sets X (MS-PNRP §3.2.5.6), signed with
//! the CPA's key over the asker's nonce (MS-PNRP §3.2.5.8, §3.2.5.9) and validated by the resolver
//! (MS-PNRP §3.1.5.8). The byte layout lives in `wire::payload`.

use super::cpa::Cpa;
use super::id::PnrpId;
use super::message::AuthorityBuffer;
use super::wire::{
    encode_extended_payload, extended_payload_encoded_len, CPA_SIGNATURE_FIELD_LEN,
    PAYLOAD_SIGNATURE_FIELD_LEN,
};
use crate::crypto::{Identity, PublicKey};
use crate::Instant;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Most bytes of a binary payload (MS-PNRP §2.2.3.3: Payload Length 1 to 4,096).
pub const PAYLOAD_BINARY_MAX: usize = 4096;
/// Fewest bytes of a string payload's text, NUL included (MS-PNRP §2.2.3.3: Payload Length 6 to 4,098
/// with the 2-byte String Type).
pub const PAYLOAD_STRING_MIN: usize = 4;
/// Most bytes of a string payload's text, NUL included (MS-PNRP §2.2.3.3).
pub const PAYLOAD_STRING_MAX: usize = 4096;

/// The data an application attaches to a name (MS-PNRP §2.2.3.3 Payload Type and Payload).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PayloadData {
    /// Payload Type 0x80000003: opaque bytes, 1 to 4,096.
    Binary(Vec<u8>),
    /// Payload Type 0x80000002: a NUL-terminated string, `utf8` = String Type 1 (else 0, UTF-16LE);
    /// `text` holds the encoded string with its NUL, 4 to 4,096 bytes.
    Text {
        /// String Type 1 (UTF-8) rather than 0 (UTF-16).
        utf8: bool,
        /// The encoded characters and the terminating NUL.
        text: Vec<u8>,
    },
}

impl PayloadData {
    /// A UTF-8 string payload of `s` (a NUL is appended).
    pub fn utf8(s: &str) -> PayloadData {
        let mut text = s.as_bytes().to_vec();
        text.push(0);
        PayloadData::Text { utf8: true, text }
    }

    /// The Payload Length field: the data's bytes, plus String Type for strings.
    pub fn payload_length(&self) -> usize {
        match self {
            PayloadData::Binary(b) => b.len(),
            PayloadData::Text { text, .. } => 2 + text.len(),
        }
    }

    /// The MS-PNRP §2.2.3.3 ranges: binary 1 to 4,096 bytes; a string 4 to 4,096 bytes ending with its NUL
    /// (one zero byte in UTF-8, a zero code unit in UTF-16).
    pub fn check(&self) -> Result<(), &'static str> {
        match self {
            PayloadData::Binary(b) if b.is_empty() || b.len() > PAYLOAD_BINARY_MAX => {
                Err("binary payload length out of 1..4096")
            }
            PayloadData::Binary(_) => Ok(()),
            PayloadData::Text { text, .. }
                if text.len() < PAYLOAD_STRING_MIN || text.len() > PAYLOAD_STRING_MAX =>
            {
                Err("string payload length out of 4..4096")
            }
            PayloadData::Text { utf8: true, text } if text.last() != Some(&0) => {
                Err("UTF-8 payload without its NUL")
            }
            PayloadData::Text { utf8: false, text } if text.len() % 2 != 0 || !text.ends_with(&[0, 0]) => {
                Err("UTF-16 payload not whole code units ending with NUL")
            }
            PayloadData::Text { .. } => Ok(()),
        }
    }
}

/// A signed EXTENDED_PAYLOAD structure (MS-PNRP §2.2.3.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtendedPayload {
    /// Not After, as simulated time (FILETIME at the codec boundary).
    pub not_after: Instant,
    /// The registered PNRP ID this payload belongs to.
    pub id: PnrpId,
    /// The INQUIRE nonce copied in (zeros when the INQUIRE had none).
    pub nonce: [u8; 16],
    /// The application's data, shared with the publisher's registration.
    pub data: Arc<PayloadData>,
    /// The 128-byte signature field of the SIGNATURE structure: an Ed25519 signature is its first 64
    /// bytes followed by zeros, as in the Encoded CPA.
    pub signature: Vec<u8>,
}

/// Why an extended payload failed validation (MS-PNRP §3.1.5.8, §3.1.5.9).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The INQUIRE asked for it and the CPA's X flag says one exists, but the buffer has none.
    #[error("the extended payload is missing")]
    Missing,
    /// A payload came back although the CPA's X flag says none exists.
    #[error("an extended payload without the CPA's X flag")]
    Unannounced,
    /// The data breaks the MS-PNRP §2.2.3.3 ranges.
    #[error("extended payload syntax: {0}")]
    BadSyntax(&'static str),
    /// Now is after Not After.
    #[error("extended payload expired")]
    Expired,
    /// Its PNRP ID is not the ID of the buffer's route entry.
    #[error("extended payload for another PNRP ID")]
    IdMismatch,
    /// Its nonce is not the INQUIRE's.
    #[error("extended payload nonce differs from the INQUIRE nonce")]
    NonceMismatch,
    /// The signature does not verify under the CPA's key.
    #[error("extended payload signature does not verify")]
    BadSignature,
}

impl PayloadError {
    /// A short stable name for rejection counters.
    pub fn reason(&self) -> &'static str {
        match self {
            PayloadError::Missing => "missing",
            PayloadError::Unannounced => "unannounced",
            PayloadError::BadSyntax(_) => "bad_syntax",
            PayloadError::Expired => "expired",
            PayloadError::IdMismatch => "id_mismatch",
            PayloadError::NonceMismatch => "nonce_mismatch",
            PayloadError::BadSignature => "bad_signature",
        }
    }
}

impl ExtendedPayload {
    /// The payload of registration `id`, signed by `identity` over every byte before the SIGNATURE
    /// structure (MS-PNRP §3.2.5.8, §3.2.5.9).
    pub fn signed(
        identity: &Identity,
        id: PnrpId,
        data: Arc<PayloadData>,
        not_after: Instant,
        nonce: [u8; 16],
    ) -> ExtendedPayload {
        let mut p = ExtendedPayload {
            not_after,
            id,
            nonce,
            data,
            signature: Vec::new(),
        };
        let signed = p.signed_bytes();
        let mut sig = identity.sign(&signed);
        sig.resize(PAYLOAD_SIGNATURE_FIELD_LEN, 0);
        p.signature = sig;
        p
    }

    /// Bytes of the encoded structure.
    pub fn encoded_len(&self) -> usize {
        extended_payload_encoded_len(self)
    }

    /// The encoded bytes the signature covers: everything before the SIGNATURE structure.
    fn signed_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.encoded_len());
        encode_extended_payload(self, &mut bytes);
        // The SIGNATURE structure has the Encoded CPA's layout (MS-PNRP §2.2.3.2).
        bytes.truncate(bytes.len() - CPA_SIGNATURE_FIELD_LEN);
        bytes
    }

    /// MS-PNRP §3.1.5.8: syntax, not expired, for `id`, carrying `nonce`, signed by `key` (the CPA's key).
    pub fn validate(
        &self,
        now: Instant,
        id: PnrpId,
        nonce: &[u8; 16],
        key: &PublicKey,
    ) -> Result<(), PayloadError> {
        self.data.check().map_err(PayloadError::BadSyntax)?;
        if now > self.not_after {
            return Err(PayloadError::Expired);
        }
        if self.id != id {
            return Err(PayloadError::IdMismatch);
        }
        if &self.nonce != nonce {
            return Err(PayloadError::NonceMismatch);
        }
        let n = key.scheme.signature_len();
        let (sig, rest) = self.signature.split_at(n.min(self.signature.len()));
        if self.signature.len() != PAYLOAD_SIGNATURE_FIELD_LEN || rest.iter().any(|b| *b != 0) {
            return Err(PayloadError::BadSignature);
        }
        // Each payload carries a fresh nonce: checked once, so the process-wide memo would only cost.
        if !key.verify_uncached(&self.signed_bytes(), sig) {
            return Err(PayloadError::BadSignature);
        }
        Ok(())
    }
}

/// MS-PNRP §3.1.5.7 rule 3 and §3.1.5.8 for an INQUIRE answer that asked for the payload: the payload is
/// there exactly when the validated `cpa` announces one (X), and it validates for registration `id` and
/// the INQUIRE's `nonce` under the CPA's key. Returns the payload's data, if any.
pub(super) fn check_answer_payload(
    buf: &AuthorityBuffer,
    cpa: &Cpa,
    id: PnrpId,
    now: Instant,
    nonce: &[u8; 16],
) -> Result<Option<Arc<PayloadData>>, PayloadError> {
    match (cpa.has_extended_payload, &buf.extended_payload) {
        (false, None) => Ok(None),
        (true, None) => Err(PayloadError::Missing),
        (false, Some(_)) => Err(PayloadError::Unannounced),
        (true, Some(p)) => {
            p.validate(now, id, nonce, &cpa.public_key)?;
            Ok(Some(p.data.clone()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Scheme;
    use crate::Duration;

    fn payload(scheme: Scheme) -> (ExtendedPayload, Arc<Identity>) {
        let who = Identity::generate(scheme, [3; 32]);
        let data = Arc::new(PayloadData::Binary((0..4096u32).map(|i| i as u8).collect()));
        let at = Instant::ZERO + Duration::from_secs(3600);
        let p = ExtendedPayload::signed(&who, PnrpId::new(7, 9), data, at, [5; 16]);
        (p, who)
    }

    #[test]
    fn signed_payloads_validate_under_both_schemes() {
        for scheme in Scheme::ALL {
            let (p, who) = payload(scheme);
            assert_eq!(p.signature.len(), 128);
            let key = who.public_key();
            let now = Instant::ZERO + Duration::from_secs(60);
            assert_eq!(p.validate(now, PnrpId::new(7, 9), &[5; 16], key), Ok(()));
            assert_eq!(
                p.validate(now, PnrpId::new(7, 8), &[5; 16], key),
                Err(PayloadError::IdMismatch)
            );
            assert_eq!(
                p.validate(now, PnrpId::new(7, 9), &[6; 16], key),
                Err(PayloadError::NonceMismatch)
            );
            let late = p.not_after + Duration::from_micros(1);
            assert_eq!(
                p.validate(late, PnrpId::new(7, 9), &[5; 16], key),
                Err(PayloadError::Expired)
            );
        }
    }

    #[test]
    fn changed_data_or_foreign_key_breaks_the_signature() {
        let (p, who) = payload(Scheme::Ed25519);
        let now = Instant::ZERO;
        let mut changed = p.clone();
        let mut data = (*p.data).clone();
        if let PayloadData::Binary(b) = &mut data {
            b[100] ^= 1;
        }
        changed.data = Arc::new(data);
        let id = PnrpId::new(7, 9);
        let bad = changed.validate(now, id, &[5; 16], who.public_key());
        assert_eq!(bad.map_err(|e| e.reason()), Err("bad_signature"));
        let mallory = Identity::generate(Scheme::Ed25519, [4; 32]);
        let foreign = p.validate(now, id, &[5; 16], mallory.public_key());
        assert_eq!(foreign, Err(PayloadError::BadSignature));
        let mut padded = p.clone();
        padded.signature[127] = 1;
        let pad = padded.validate(now, id, &[5; 16], who.public_key());
        assert_eq!(pad, Err(PayloadError::BadSignature));
    }

    #[test]
    fn data_ranges_follow_the_specification() {
        assert!(PayloadData::Binary(vec![]).check().is_err());
        assert!(PayloadData::Binary(vec![1; 4096]).check().is_ok());
        assert!(PayloadData::Binary(vec![1; 4097]).check().is_err());
        assert!(PayloadData::utf8("abc").check().is_ok());
        assert!(PayloadData::utf8("ab").check().is_err());
        let no_nul = PayloadData::Text {
            utf8: true,
            text: b"abcd".to_vec(),
        };
        assert!(no_nul.check().is_err());
        let utf16 = |t: &[u8]| PayloadData::Text {
            utf8: false,
            text: t.to_vec(),
        };
        assert!(utf16(&[b'a', 0, 0, 0]).check().is_ok());
        assert!(utf16(&[b'a', 0, 0, 0, 0]).check().is_err());
        assert_eq!(PayloadData::utf8("abc").payload_length(), 6);
    }
}
