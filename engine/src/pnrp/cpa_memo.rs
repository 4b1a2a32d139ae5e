//! A process-wide memo of CPAs whose authority (MS-PNRP §3.1.5.7 rule 2) and signature (rule 7) checked
//! out, so that the thousands of peers validating one publisher's reused zero-nonce CPA (MS-PNRP §3.2.1)
//! verify it once, without re-encoding and hashing it every time.
//!
//! Soundness: a hit needs the stored CPA to equal the asked one field for field, key and signature
//! included. The signed bytes are a function of those fields (`encode_cpa`), and so are the authority
//! check and the verification result, so a hit implies the very (signed bytes, key, signature) that
//! verified before. The slot (chosen by signature bytes) only decides where to look: an attacker who
//! aims at a slot, e.g. by reusing a valid signature on altered fields, gets a miss and the full check.
//! Like the caches in `crypto`, it only saves time: results never depend on what it holds.

use super::cpa::Cpa;
use std::sync::{Mutex, OnceLock};

/// Slots of the direct-mapped memo; a collision replaces the older CPA (≈ 0.4 KB each when full).
/// Measured on scale-20k: 2^16 slots hit 95% of lookups, 2^14 89%; 2^15 bounds it at ≈ 13 MB.
const SLOTS: usize = 1 << 15;

type Slots = Mutex<Vec<Option<Box<Cpa>>>>;

fn slots() -> &'static Slots {
    static MEMO: OnceLock<Slots> = OnceLock::new();
    MEMO.get_or_init(|| Mutex::new(vec![None; SLOTS]))
}

/// Locks the memo, recovering from poisoning (a panic elsewhere cannot corrupt a table of values).
fn lock(m: &Mutex<Vec<Option<Box<Cpa>>>>) -> std::sync::MutexGuard<'_, Vec<Option<Box<Cpa>>>> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The slot of `cpa`: its first signature bytes, pseudo-random for any honest signer.
fn slot_of(cpa: &Cpa) -> usize {
    let mut b = [0u8; 8];
    let n = cpa.signature.len().min(8);
    b[..n].copy_from_slice(&cpa.signature[..n]);
    u64::from_le_bytes(b) as usize % SLOTS
}

/// True when a CPA equal to `cpa` in every field passed the authority and signature checks.
pub(super) fn known_good(cpa: &Cpa) -> bool {
    lock(slots())[slot_of(cpa)].as_deref().is_some_and(|c| c == cpa)
}

/// Records that `cpa` passed the authority and signature checks.
pub(super) fn remember(cpa: &Cpa) {
    let fresh = Box::new(cpa.clone());
    // Swap under the lock, drop the displaced CPA after it.
    let _old = lock(slots())[slot_of(cpa)].replace(fresh);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{Identity, Scheme};
    use crate::pnrp::name::PeerName;
    use crate::{Duration, Endpoint, Instant};
    use std::net::Ipv6Addr;

    fn cpa(tag: u8) -> Cpa {
        let id = Identity::generate(Scheme::Ed25519, [tag; 32]);
        let name = PeerName::unsecured("memo").unwrap();
        let ep = Endpoint::new(Ipv6Addr::LOCALHOST, 4000);
        Cpa::unsigned(
            &name,
            &id,
            7,
            vec![ep],
            Instant::ZERO + Duration::from_secs(99),
            [0; 16],
        )
        .sign(&id)
    }

    #[test]
    fn only_an_identical_cpa_hits() {
        let good = cpa(201);
        assert!(!known_good(&good));
        remember(&good);
        assert!(known_good(&good));
        assert!(known_good(&good.clone()));
        // Same slot (same signature), any other field changed: a miss.
        let mut moved = good.clone();
        moved.service_addresses[0].port = 4001;
        assert_eq!(slot_of(&moved), slot_of(&good));
        assert!(!known_good(&moved));
        let mut later = good.clone();
        later.not_after += Duration::from_secs(1);
        assert!(!known_good(&later));
        let mut other_key = good.clone();
        other_key.public_key = cpa(202).public_key;
        assert!(!known_good(&other_key));
    }
}
