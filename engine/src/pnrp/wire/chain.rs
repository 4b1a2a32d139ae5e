//! The Certificate Chain encoding (MS-PNRP §2.2.3.5): a PKCS #7 v1.5 SignedData (RFC 2315 §9.1) carrying
//! X.509 v3 certificates (RFC 2459) with the PNRP extensions of MS-PNRP §2.2.3.5.1, in DER.
//!
//! The certificate and SignedData structures come from the `x509-cert` and `cms` crates. The values of the
//! PnrpPeerName and PnrpClassifiersList extensions are hand-encoded here: they hold UniversalStrings
//! (MS-PNRP §2.2.3.5.1.3, §2.2.3.5.1.5), a string type the `der` crate does not model.
//!
//! Peerlab choices, where MS-PNRP §2.2.3.5 names a field without its encoding:
//! * subject and issuer are a single CN attribute, a BMPString (UTF-16, no terminating NUL: DER strings
//!   carry their length);
//! * SubjectAltName/IssuerAltName hold one directoryName, the same Name as subject/issuer;
//! * role UUIDs are the 16 bytes in the order MS-PNRP §2.2.3.5.1.4 writes them;
//! * under the `ed25519` scheme (a peerlab choice, see `crypto`) certificates use Ed25519 (RFC 8410) for
//!   the key and the signature, so such chains are shorter than RSA-1024 ones.
//!
//! The SignedData `certificates` field is a SET OF: DER sorts it, so the decoder returns the certificates
//! in encoding order and `pnrp::chain` rebuilds the chain order from the alt-name links.

use crate::crypto::{PublicKey, Scheme};
use crate::pnrp::chain::{CertRole, ChainCert};
use cms::cert::CertificateChoices;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{CertificateSet, EncapsulatedContentInfo, SignedData, SignerInfos};
use std::sync::Arc;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::der::asn1::{BitString, ObjectIdentifier, OctetString, SetOfVec};
use x509_cert::der::{Any, Decode, Encode, Tag, Tagged};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::Extension;
use x509_cert::name::{Name, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, TbsCertificate, Version};

/// Most certificates in a chain (MS-PNRP §2.2.3.5).
pub const CHAIN_CERTS_MAX: usize = 25;
/// Most characters in a subject, issuer or alt name (MS-PNRP §2.2.3.5, §2.2.3.5.1).
pub const CERT_NAME_MAX_CHARS: usize = 255;
/// Most characters in a PnrpPeerNameString (MS-PNRP §2.2.3.5.1.3).
pub const CERT_PEER_NAME_MAX_CHARS: usize = 192;
/// PnrpCertificateVersion 1.2 (MS-PNRP §2.2.3.5.1.2), in network byte order.
const CERT_VERSION: [u8; 4] = [0x01, 0x00, 0x02, 0x00];

const OID_CERT_TYPE: &str = "1.3.6.1.4.1.311.44.0.1";
const OID_PEER_NAME_STRING: &str = "1.3.6.1.4.1.311.44.0.2";
const OID_CLASSIFIER_STRING: &str = "1.3.6.1.4.1.311.44.0.3";
const OID_CERT_VERSION: &str = "1.3.6.1.4.1.311.44.0.4";
const OID_PEER_NAME: &str = "1.3.6.1.4.1.311.44.3.1";
const OID_ROLE: &str = "1.3.6.1.4.1.311.44.3.3";
const OID_CLASSIFIERS: &str = "1.3.6.1.4.1.311.44.3.5";
const OID_SUBJECT_ALT_NAME: &str = "2.5.29.17";
const OID_ISSUER_ALT_NAME: &str = "2.5.29.18";
const OID_COMMON_NAME: &str = "2.5.4.3";
const OID_SHA1_WITH_RSA: &str = "1.2.840.113549.1.1.5";
const OID_RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const OID_ED25519: &str = "1.3.101.112";
const OID_PKCS7_DATA: &str = "1.2.840.113549.1.7.1";
const OID_PKCS7_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
/// DER tags the hand-written extension values use.
const TAG_SEQUENCE: u8 = 0x30;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_UNIVERSAL_STRING: u8 = 0x1C;
/// `[0]` constructed: GeneralName's otherName (IMPLICIT) and OtherName's value (EXPLICIT).
const TAG_CONTEXT_0: u8 = 0xA0;

/// Why a certificate chain does not decode (MS-PNRP §2.2.3.5 syntax).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("certificate chain syntax: {0}")]
pub struct ChainSyntaxError(pub &'static str);

/// A decoded certificate and the DER of its TBSCertificate, the bytes its signature covers.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedCert {
    /// The certificate's fields.
    pub cert: ChainCert,
    /// DER TBSCertificate.
    pub tbs: Vec<u8>,
}

fn oid(s: &str) -> ObjectIdentifier {
    ObjectIdentifier::new_unwrap(s)
}

/// Appends a DER TLV (definite length, minimal form).
fn tlv(tag: u8, content: &[u8], out: &mut Vec<u8>) {
    out.push(tag);
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes = n.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
}

/// Reads one DER TLV with tag `tag` off the front of `bytes`: (content, rest). Minimal lengths only.
fn read_tlv(bytes: &[u8], tag: u8) -> Result<(&[u8], &[u8]), ChainSyntaxError> {
    let bad = ChainSyntaxError("malformed extension value");
    let (&t, rest) = bytes.split_first().ok_or(bad.clone())?;
    let (&l, mut rest) = rest.split_first().ok_or(bad.clone())?;
    if t != tag {
        return Err(bad);
    }
    let len = if l < 0x80 {
        l as usize
    } else {
        let k = (l & 0x7f) as usize;
        if k == 0 || k > 3 || rest.len() < k || rest[0] == 0 {
            return Err(bad);
        }
        let n = rest[..k].iter().fold(0usize, |n, b| (n << 8) | *b as usize);
        rest = &rest[k..];
        if n < 0x80 {
            return Err(bad);
        }
        n
    };
    if rest.len() < len {
        return Err(bad);
    }
    Ok(rest.split_at(len))
}

/// `SEQUENCE OF GeneralName`, each an otherName{`type_id`, UniversalString} (MS-PNRP §2.2.3.5.1.3,
/// §2.2.3.5.1.5).
fn encode_other_names(type_id: &str, names: &[String]) -> Vec<u8> {
    let type_id = oid(type_id).to_der().expect("a fixed OID encodes");
    let mut seq = Vec::new();
    for n in names {
        let ucs4: Vec<u8> = n.chars().flat_map(|c| u32::from(c).to_be_bytes()).collect();
        let mut value = Vec::new();
        tlv(TAG_UNIVERSAL_STRING, &ucs4, &mut value);
        let mut other = type_id.clone();
        tlv(TAG_CONTEXT_0, &value, &mut other);
        tlv(TAG_CONTEXT_0, &other, &mut seq);
    }
    let mut out = Vec::new();
    tlv(TAG_SEQUENCE, &seq, &mut out);
    out
}

fn decode_other_names(type_id: &str, der: &[u8], max_chars: usize) -> Result<Vec<String>, ChainSyntaxError> {
    let bad = |what| ChainSyntaxError(what);
    let (mut seq, rest) = read_tlv(der, TAG_SEQUENCE)?;
    if !rest.is_empty() {
        return Err(bad("trailing bytes after a name list"));
    }
    let want = oid(type_id);
    let mut names = Vec::new();
    while !seq.is_empty() {
        let (other, next) = read_tlv(seq, TAG_CONTEXT_0)?;
        seq = next;
        let oid_len = 2 + *other.get(1).ok_or(bad("short otherName"))? as usize;
        let id = other
            .get(..oid_len)
            .and_then(|b| ObjectIdentifier::from_der(b).ok())
            .ok_or(bad("otherName type-id"))?;
        if id != want {
            return Err(bad("otherName of an unexpected type"));
        }
        let (value, rest) = read_tlv(&other[oid_len..], TAG_CONTEXT_0)?;
        let (ucs4, rest2) = read_tlv(value, TAG_UNIVERSAL_STRING)?;
        if !rest.is_empty() || !rest2.is_empty() || ucs4.len() % 4 != 0 {
            return Err(bad("malformed UniversalString"));
        }
        let text: String = ucs4
            .chunks_exact(4)
            .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
            .collect::<Option<_>>()
            .ok_or(bad("UniversalString holds a non-character"))?;
        if text.chars().count() > max_chars {
            return Err(bad("name too long"));
        }
        names.push(text);
    }
    Ok(names)
}

/// A Name of one CN attribute, a BMPString.
fn cn_name(text: &str) -> Name {
    let utf16be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let atv = AttributeTypeAndValue {
        oid: oid(OID_COMMON_NAME),
        value: Any::new(Tag::BmpString, utf16be).expect("a name of at most 255 characters fits"),
    };
    let rdn = RelativeDistinguishedName(SetOfVec::try_from(vec![atv]).expect("one attribute is a set"));
    x509_cert::name::RdnSequence(vec![rdn])
}

fn cn_text(name: &Name) -> Result<String, ChainSyntaxError> {
    let bad = ChainSyntaxError("subject, issuer or alt name is not one BMPString CN");
    let [rdn] = &name.0[..] else { return Err(bad) };
    let [atv] = rdn.0.as_slice() else { return Err(bad) };
    if atv.oid != oid(OID_COMMON_NAME)
        || atv.value.tag() != Tag::BmpString
        || atv.value.value().len() % 2 != 0
    {
        return Err(bad);
    }
    let units = atv
        .value
        .value()
        .chunks_exact(2)
        .map(|u| u16::from_be_bytes([u[0], u[1]]));
    let text: String = char::decode_utf16(units)
        .collect::<Result<_, _>>()
        .map_err(|_| bad.clone())?;
    if text.chars().count() > CERT_NAME_MAX_CHARS || text.contains('\0') {
        return Err(bad);
    }
    Ok(text)
}

fn alt_names(name: &str) -> Vec<u8> {
    vec![GeneralName::DirectoryName(cn_name(name))]
        .to_der()
        .expect("one directoryName encodes")
}

fn alt_name_text(der: &[u8]) -> Result<String, ChainSyntaxError> {
    let names = Vec::<GeneralName>::from_der(der).map_err(|_| ChainSyntaxError("alt name"))?;
    match &names[..] {
        [GeneralName::DirectoryName(n)] => cn_text(n),
        _ => Err(ChainSyntaxError("alt name is not one directoryName")),
    }
}

fn signature_alg(scheme: Scheme) -> AlgorithmIdentifierOwned {
    match scheme {
        Scheme::Rsa1024Sha1 => AlgorithmIdentifierOwned {
            oid: oid(OID_SHA1_WITH_RSA),
            parameters: Some(Any::null()),
        },
        Scheme::Ed25519 => AlgorithmIdentifierOwned {
            oid: oid(OID_ED25519),
            parameters: None,
        },
    }
}

fn signature_scheme(alg: &AlgorithmIdentifierOwned) -> Result<Scheme, ChainSyntaxError> {
    for scheme in Scheme::ALL {
        if *alg == signature_alg(scheme) {
            return Ok(scheme);
        }
    }
    Err(ChainSyntaxError(
        "signature algorithm is neither sha1WithRSAEncryption nor Ed25519",
    ))
}

/// Unix seconds as an X.509 Time: UTCTime through 2049, GeneralizedTime after (RFC 5280 §4.1.2.5).
fn x509_time(unix: u64) -> Time {
    let t = x509_cert::der::DateTime::from_unix_duration(std::time::Duration::from_secs(unix))
        .unwrap_or(x509_cert::der::DateTime::INFINITY);
    if t.year() < 2050 {
        if let Ok(u) = x509_cert::der::asn1::UtcTime::from_date_time(t) {
            return Time::UtcTime(u);
        }
    }
    Time::GeneralTime(x509_cert::der::asn1::GeneralizedTime::from_date_time(t))
}

fn ext(id: &str, critical: bool, value: Vec<u8>) -> Extension {
    Extension {
        extn_id: oid(id),
        critical,
        extn_value: OctetString::new(value).expect("an extension value fits"),
    }
}

fn octets(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    tlv(TAG_OCTET_STRING, bytes, &mut out);
    out
}

/// The TBSCertificate of `c` (MS-PNRP §2.2.3.5): version 3, its 16-byte serial, no unique IDs, the
/// critical PNRP extensions and the alt names.
fn tbs_certificate(c: &ChainCert) -> TbsCertificate {
    let mut exts = vec![
        ext(
            OID_CERT_TYPE,
            true,
            octets(&(if c.root { 2u32 } else { 1 }).to_le_bytes()),
        ),
        ext(OID_CERT_VERSION, true, octets(&CERT_VERSION)),
    ];
    if let Some(p) = &c.peer_name {
        exts.push(ext(
            OID_PEER_NAME,
            true,
            encode_other_names(OID_PEER_NAME_STRING, std::slice::from_ref(p)),
        ));
    }
    if !c.roles.is_empty() {
        let mut seq = Vec::new();
        for r in &c.roles {
            tlv(TAG_OCTET_STRING, &r.uuid(), &mut seq);
        }
        let mut v = Vec::new();
        tlv(TAG_SEQUENCE, &seq, &mut v);
        exts.push(ext(OID_ROLE, true, v));
    }
    if let Some(list) = &c.classifiers {
        exts.push(ext(
            OID_CLASSIFIERS,
            true,
            encode_other_names(OID_CLASSIFIER_STRING, list),
        ));
    }
    if let Some(a) = &c.subject_alt {
        exts.push(ext(OID_SUBJECT_ALT_NAME, false, alt_names(a)));
    }
    if let Some(a) = &c.issuer_alt {
        exts.push(ext(OID_ISSUER_ALT_NAME, false, alt_names(a)));
    }
    let spki_der = c.key.spki_der();
    TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(&c.serial).expect("a 16-byte positive serial"),
        signature: signature_alg(c.signature_scheme),
        issuer: cn_name(&c.issuer),
        validity: Validity {
            not_before: x509_time(c.not_before),
            not_after: x509_time(c.not_after),
        },
        subject: cn_name(&c.subject),
        subject_public_key_info: SubjectPublicKeyInfoOwned::from_der(&spki_der)
            .expect("the key's own SPKI DER decodes"),
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(exts),
    }
}

/// The DER TBSCertificate of `c`: the bytes its issuer signs.
pub fn encode_tbs(c: &ChainCert) -> Vec<u8> {
    tbs_certificate(c)
        .to_der()
        .expect("a certificate of bounded fields encodes")
}

/// The Certificate Chain of `certs`: ContentInfo{signedData, SignedData v1 with no digest algorithms, an
/// empty `data` content, the certificates and no signer infos} (RFC 2315 §9.1, a certificates-only message).
/// A SET holds no duplicates: a certificate repeated in `certs` is encoded once.
pub fn encode_chain(certs: &[ChainCert]) -> Vec<u8> {
    let mut distinct: Vec<&ChainCert> = Vec::with_capacity(certs.len());
    for c in certs {
        if !distinct.contains(&c) {
            distinct.push(c);
        }
    }
    let choices: Vec<CertificateChoices> = distinct
        .into_iter()
        .map(|c| {
            CertificateChoices::Certificate(Certificate {
                tbs_certificate: tbs_certificate(c),
                signature_algorithm: signature_alg(c.signature_scheme),
                signature: BitString::from_bytes(&c.signature).expect("a signature fits a BIT STRING"),
            })
        })
        .collect();
    let signed = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::new(),
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: oid(OID_PKCS7_DATA),
            econtent: None,
        },
        certificates: Some(CertificateSet(
            SetOfVec::try_from(choices).expect("distinct certificates form a set"),
        )),
        crls: None,
        signer_infos: SignerInfos(SetOfVec::new()),
    };
    ContentInfo {
        content_type: oid(OID_PKCS7_SIGNED_DATA),
        content: Any::encode_from(&signed).expect("SignedData encodes"),
    }
    .to_der()
    .expect("ContentInfo encodes")
}

/// Decodes a Certificate Chain, checking the per-certificate syntax of MS-PNRP §2.2.3.5 and §2.2.3.5.1.
/// Certificates come back in encoding order. Never panics.
pub fn decode_chain(der: &[u8]) -> Result<Vec<DecodedCert>, ChainSyntaxError> {
    let bad = |what| ChainSyntaxError(what);
    let info = ContentInfo::from_der(der).map_err(|_| bad("not a DER ContentInfo"))?;
    if info.content_type != oid(OID_PKCS7_SIGNED_DATA) {
        return Err(bad("ContentInfo is not signedData"));
    }
    let signed: SignedData = info.content.decode_as().map_err(|_| bad("not a SignedData"))?;
    let certs = signed.certificates.ok_or(bad("no certificates"))?;
    if certs.0.len() > CHAIN_CERTS_MAX {
        return Err(bad("more than 25 certificates"));
    }
    if certs.0.is_empty() {
        return Err(bad("no certificates"));
    }
    certs
        .0
        .iter()
        .map(|choice| match choice {
            CertificateChoices::Certificate(c) => decode_cert(c),
            CertificateChoices::Other(_) => Err(bad("a certificate that is not X.509")),
        })
        .collect()
}

fn decode_cert(c: &Certificate) -> Result<DecodedCert, ChainSyntaxError> {
    let bad = |what| ChainSyntaxError(what);
    let t = &c.tbs_certificate;
    if t.version != Version::V3 {
        return Err(bad("certificate is not version 3"));
    }
    let scheme = signature_scheme(&c.signature_algorithm)?;
    if scheme != signature_scheme(&t.signature)? {
        return Err(bad("signature algorithms differ"));
    }
    let serial: [u8; 16] = t
        .serial_number
        .as_bytes()
        .try_into()
        .map_err(|_| bad("serial number is not 16 bytes"))?;
    if t.issuer_unique_id.is_some() || t.subject_unique_id.is_some() {
        return Err(bad("unique IDs present"));
    }
    let key = public_key(&t.subject_public_key_info)?;
    let mut cert = ChainCert {
        root: false,
        serial,
        signature_scheme: scheme,
        issuer: cn_text(&t.issuer)?,
        subject: cn_text(&t.subject)?,
        not_before: t.validity.not_before.to_unix_duration().as_secs(),
        not_after: t.validity.not_after.to_unix_duration().as_secs(),
        key,
        peer_name: None,
        roles: Vec::new(),
        classifiers: None,
        subject_alt: None,
        issuer_alt: None,
        signature: c
            .signature
            .as_bytes()
            .ok_or(bad("signature has unused bits"))?
            .to_vec(),
    };
    let (mut typed, mut versioned) = (false, false);
    for e in t.extensions.iter().flatten() {
        let v = e.extn_value.as_bytes();
        let id = e.extn_id.to_string();
        match id.as_str() {
            OID_CERT_TYPE => {
                cert.root = match read_octets(v)? {
                    [2, 0, 0, 0] => true,
                    [1, 0, 0, 0] => false,
                    _ => return Err(bad("unknown PnrpCertificateType")),
                };
                typed = true;
            }
            OID_CERT_VERSION => {
                if read_octets(v)? != CERT_VERSION {
                    return Err(bad("PnrpCertificateVersion is not 1.2"));
                }
                versioned = true;
            }
            OID_PEER_NAME => {
                let names = decode_other_names(OID_PEER_NAME_STRING, v, CERT_PEER_NAME_MAX_CHARS)?;
                let [name] =
                    <[String; 1]>::try_from(names).map_err(|_| bad("PnrpPeerName is not one name"))?;
                if crate::pnrp::name::PeerName::parse(&name).is_err() {
                    return Err(bad("PnrpPeerName is not a peer name"));
                }
                cert.peer_name = Some(name);
            }
            OID_ROLE => cert.roles = decode_roles(v)?,
            OID_CLASSIFIERS => {
                let max = crate::pnrp::name::CLASSIFIER_MAX_CHARS;
                cert.classifiers = Some(decode_other_names(OID_CLASSIFIER_STRING, v, max)?);
            }
            OID_SUBJECT_ALT_NAME => cert.subject_alt = Some(alt_name_text(v)?),
            OID_ISSUER_ALT_NAME => cert.issuer_alt = Some(alt_name_text(v)?),
            // MS-PNRP §2.2.3.5.1: a critical extension the receiver does not understand rejects the certificate.
            _ if e.critical => return Err(bad("unknown critical extension")),
            _ => {}
        }
    }
    if !typed || !versioned {
        return Err(bad("PnrpCertificateType or PnrpCertificateVersion missing"));
    }
    let tbs = t.to_der().map_err(|_| bad("TBSCertificate does not re-encode"))?;
    Ok(DecodedCert { cert, tbs })
}

fn read_octets(v: &[u8]) -> Result<&[u8], ChainSyntaxError> {
    let (content, rest) = read_tlv(v, TAG_OCTET_STRING)?;
    if !rest.is_empty() || content.len() != 4 {
        return Err(ChainSyntaxError("extension is not a 4-byte OCTET STRING"));
    }
    Ok(content)
}

fn decode_roles(v: &[u8]) -> Result<Vec<CertRole>, ChainSyntaxError> {
    let (mut seq, rest) = read_tlv(v, TAG_SEQUENCE)?;
    if !rest.is_empty() || seq.is_empty() {
        return Err(ChainSyntaxError("PnrpRole is not a non-empty SEQUENCE"));
    }
    let mut roles = Vec::new();
    while !seq.is_empty() {
        let (uuid, next) = read_tlv(seq, TAG_OCTET_STRING)?;
        seq = next;
        let role = CertRole::ALL
            .into_iter()
            .find(|r| r.uuid()[..] == *uuid)
            .ok_or(ChainSyntaxError("unknown PnrpRole UUID"))?;
        roles.push(role);
    }
    Ok(roles)
}

/// The key of a SubjectPublicKeyInfo: RSA-1024 as MS-PNRP §2.2.3.1.4 requires, or Ed25519 (peerlab choice).
fn public_key(spki: &SubjectPublicKeyInfoOwned) -> Result<PublicKey, ChainSyntaxError> {
    let scheme = if spki.algorithm.oid == oid(OID_RSA_ENCRYPTION) {
        Scheme::Rsa1024Sha1
    } else if spki.algorithm.oid == oid(OID_ED25519) {
        Scheme::Ed25519
    } else {
        return Err(ChainSyntaxError("subject key is neither RSA nor Ed25519"));
    };
    let bytes = spki
        .subject_public_key
        .as_bytes()
        .ok_or(ChainSyntaxError("subject key has unused bits"))?;
    let key = PublicKey {
        scheme,
        bytes: Arc::from(bytes),
    };
    // Only the exact SPKI this scheme produces (RSA: NULL parameters, 1024-bit, e = 65537) is accepted.
    let same = key.bytes.len() == scheme.key_len()
        && SubjectPublicKeyInfoOwned::from_der(&key.spki_der()).is_ok_and(|s| s == *spki);
    if !same || !key.is_well_formed() {
        return Err(ChainSyntaxError(
            "subject key is not a well-formed RSA-1024 or Ed25519 key",
        ));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_classifier_list_is_other_names_of_universal_strings() {
        let der = encode_other_names(OID_CLASSIFIER_STRING, &["fish".into()]);
        let mut want = vec![0x30, 0x22, 0xa0, 0x20];
        want.extend([
            0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x2c, 0x00, 0x03,
        ]);
        want.extend([0xa0, 0x12, 0x1c, 0x10]);
        for c in "fish".chars() {
            want.extend((c as u32).to_be_bytes());
        }
        assert_eq!(der, want);
        assert_eq!(
            decode_other_names(OID_CLASSIFIER_STRING, &der, 149),
            Ok(vec!["fish".to_string()])
        );
        assert_eq!(encode_other_names(OID_CLASSIFIER_STRING, &[]), [0x30, 0x00]);
        assert!(decode_other_names(OID_PEER_NAME_STRING, &der, 149).is_err());
        assert!(decode_other_names(OID_CLASSIFIER_STRING, &der, 3).is_err());
    }

    #[test]
    fn golden_type_and_version_extensions() {
        let e = ext(OID_CERT_TYPE, true, octets(&2u32.to_le_bytes()))
            .to_der()
            .unwrap();
        let mut want = vec![
            0x30, 0x17, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x2c, 0x00, 0x01,
        ];
        want.extend([0x01, 0x01, 0xff, 0x04, 0x06, 0x04, 0x04, 0x02, 0x00, 0x00, 0x00]);
        assert_eq!(e, want);
        let v = ext(OID_CERT_VERSION, true, octets(&CERT_VERSION))
            .to_der()
            .unwrap();
        assert_eq!(&v[v.len() - 4..], &[0x01, 0x00, 0x02, 0x00]);
    }

    #[test]
    fn long_lengths_round_trip_and_non_minimal_ones_are_refused() {
        let body = vec![7u8; 300];
        let mut out = Vec::new();
        tlv(TAG_OCTET_STRING, &body, &mut out);
        assert_eq!(&out[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(read_tlv(&out, TAG_OCTET_STRING), Ok((&body[..], &[][..])));
        assert!(read_tlv(&[0x04, 0x81, 0x05, 1, 2, 3, 4, 5], TAG_OCTET_STRING).is_err());
        assert!(read_tlv(&[0x04, 0x05, 1], TAG_OCTET_STRING).is_err());
        assert!(read_tlv(&[0x30, 0x00], TAG_OCTET_STRING).is_err());
    }
}
