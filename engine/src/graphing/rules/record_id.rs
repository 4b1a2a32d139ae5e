//! Record ids bound to their creator (MS-PPGRH §3.1.7.2, §3.1.7.27).
//!
//! A non-fixed record id is `high64 ‖ low64`: `low64` folds 128 random bits (high half XOR low
//! half), `high64` folds the MD5 of the creator's peer id the same way. A receiver recomputes
//! `high64` from the record's Creator ID and drops the record when it differs, so nobody can mint
//! an id in another creator's space without claiming that creator.
//!
//! MS-PPGRH leaves two points open; peerlab's choice, used everywhere:
//! - the Creator ID is hashed as its UTF-16LE code units **without** the terminating NUL (records
//!   carry their strings as UTF-16, MS-PPGRH §2.2.1.9, and Windows writes UTF-16LE);
//! - ids, digests and GUIDs are read big-endian, so "the high 64 bits" are the **first 8 bytes**
//!   (the order `Guid` sorts by).
//!
//! The two fixed-id records (Graph Info, Signature; MS-PPGRH §2.2.3.1, §2.2.3.2) cannot satisfy
//! the binding for every creator, so the check accepts exactly those two ids with their own type
//! and nothing else.

use crate::graphing::{Guid, PeerRecord, GRAPH_INFO_ID, GRAPH_INFO_TYPE, SIGNATURE_ID, SIGNATURE_TYPE};
use md5::{Digest, Md5};
use rand::Rng;

/// The creator half of a record id: MD5(creator as UTF-16LE, no NUL), first 8 bytes XOR last 8
/// (MS-PPGRH §3.1.7.2).
pub fn creator_half(creator: &str) -> [u8; 8] {
    let mut md5 = Md5::new();
    for unit in creator.encode_utf16() {
        md5.update(unit.to_le_bytes());
    }
    fold(&md5.finalize().into())
}

/// A fresh record id for `creator`: [`creator_half`] then 64 bits folded from 128 random bits
/// (MS-PPGRH §3.1.7.2).
pub fn new_record_id(creator: &str, rng: &mut impl Rng) -> Guid {
    let random: [u8; 16] = rng.gen();
    compose(creator_half(creator), fold(&random))
}

/// The record id for `creator` whose random half folds from `random` (deterministic; tests and
/// replays).
pub fn record_id_from(creator: &str, random: [u8; 16]) -> Guid {
    compose(creator_half(creator), fold(&random))
}

/// Whether `id` lies in `creator`'s id space (its first 8 bytes are [`creator_half`]).
pub fn id_binds_creator(id: &Guid, creator: &str) -> bool {
    id.0[..8] == creator_half(creator)
}

/// Why a record's id does not fit its type and creator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindingError {
    /// A Graph Info or Signature record without its fixed id, or a fixed id on another type.
    FixedId,
    /// The id's high half is not the creator's (MS-PPGRH §3.1.7.27).
    Creator,
}

/// The receiver's id check (MS-PPGRH §3.1.7.27): Graph Info and Signature records carry their
/// fixed ids (§2.2.3.1, §2.2.3.2) and are exempt from the creator binding, which their fixed ids
/// could never satisfy for every creator; every other record's id must bind its creator.
pub fn check_binding(record: &PeerRecord) -> Result<(), BindingError> {
    let fixed = match record.record_type {
        t if t == GRAPH_INFO_TYPE => Some(GRAPH_INFO_ID),
        t if t == SIGNATURE_TYPE => Some(SIGNATURE_ID),
        _ => None,
    };
    match fixed {
        Some(id) if record.id == id => Ok(()),
        Some(_) => Err(BindingError::FixedId),
        None if record.id == GRAPH_INFO_ID || record.id == SIGNATURE_ID => Err(BindingError::FixedId),
        None if id_binds_creator(&record.id, &record.creator) => Ok(()),
        None => Err(BindingError::Creator),
    }
}

fn fold(bytes: &[u8; 16]) -> [u8; 8] {
    std::array::from_fn(|i| bytes[i] ^ bytes[i + 8])
}

fn compose(high: [u8; 8], low: [u8; 8]) -> Guid {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&high);
    id[8..].copy_from_slice(&low);
    Guid(id)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::graphing::PeerTime;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// A valid live application record by `creator` (shared by the rules' tests).
    pub(crate) fn app_record(creator: &str, random: u8) -> PeerRecord {
        PeerRecord {
            record_type: Guid::from_text("a0000000-0000-0000-0000-000000000001"),
            id: record_id_from(creator, [random; 16]),
            version: 1,
            deleted: false,
            creator: creator.into(),
            modified_by: String::new(),
            security_data: Vec::new(),
            created: PeerTime(1_000),
            expires: PeerTime(1_000_000_000),
            modified: PeerTime(1_000),
            graph_id: "graph".into(),
            payload: vec![1, 2, 3],
            attributes: String::new(),
            autorefresh: false,
        }
    }

    #[test]
    fn creator_half_is_md5_of_utf16le_folded() {
        // MD5 over the UTF-16LE bytes of "ab" (no NUL), folded by hand.
        let mut md5 = Md5::new();
        md5.update([b'a', 0, b'b', 0]);
        let d: [u8; 16] = md5.finalize().into();
        let expect: [u8; 8] = std::array::from_fn(|i| d[i] ^ d[i + 8]);
        assert_eq!(creator_half("ab"), expect);
        // Non-ASCII peer ids hash their UTF-16 units, not UTF-8 bytes.
        assert_ne!(creator_half("é"), creator_half("\u{c3}\u{a9}"));
    }

    #[test]
    fn ids_bind_to_their_creator_only() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let id = new_record_id("alice", &mut rng);
        assert!(id_binds_creator(&id, "alice"));
        assert!(!id_binds_creator(&id, "alicf"));
        let other = new_record_id("alice", &mut rng);
        assert_ne!(id, other, "the random half differs");
        assert_eq!(id.0[..8], other.0[..8]);
        // The random half is g.high XOR g.low.
        let mut random = [0u8; 16];
        random[0] = 0xF0;
        random[8] = 0x0F;
        assert_eq!(record_id_from("x", random).0[8], 0xFF);
    }

    #[test]
    fn fixed_ids_are_exempt_for_their_type_only() {
        let mut sig = app_record("bob", 1);
        sig.record_type = SIGNATURE_TYPE;
        assert_eq!(check_binding(&sig), Err(BindingError::FixedId));
        sig.id = SIGNATURE_ID;
        assert_eq!(check_binding(&sig), Ok(()));
        sig.id = GRAPH_INFO_ID;
        assert_eq!(check_binding(&sig), Err(BindingError::FixedId));
        let mut info = app_record("bob", 1);
        info.record_type = GRAPH_INFO_TYPE;
        info.id = GRAPH_INFO_ID;
        assert_eq!(check_binding(&info), Ok(()));
        let mut app = app_record("bob", 1);
        assert_eq!(check_binding(&app), Ok(()));
        app.id = SIGNATURE_ID;
        assert_eq!(check_binding(&app), Err(BindingError::FixedId));
        let mut forged = app_record("bob", 1);
        forged.creator = "mallory".into();
        assert_eq!(check_binding(&forged), Err(BindingError::Creator));
    }

    proptest! {
        #[test]
        fn binding_holds_for_any_creator(creator in "\\PC{1,40}", random in any::<[u8; 16]>()) {
            let id = record_id_from(&creator, random);
            prop_assert!(id_binds_creator(&id, &creator));
            let mut other = creator.clone();
            other.push('x');
            prop_assert!(!id_binds_creator(&id, &other));
        }
    }
}
