//! The extended payloads simulated peers attach to their names (MS-PNRP §2.2.3.3): deterministic bytes
//! derived from the name, so the oracle can tell the payload a resolve returned from the one registered.

use peerlab_engine::pnrp::{PayloadData, PeerName, Resolved};
use std::sync::Arc;

/// The `bytes`-byte binary payload of `name`: its P2P ID (least-significant byte first) repeated, each
/// 16-byte round XORed with the round's number, so that payloads of different names and lengths differ.
pub fn payload_of(name: &PeerName, bytes: u32) -> Arc<PayloadData> {
    let p2p = name.p2p_id().to_le_bytes();
    let data = (0..bytes as usize)
        .map(|i| p2p[i % 16] ^ (i / 16) as u8)
        .collect();
    Arc::new(PayloadData::Binary(data))
}

/// Why the payload in resolve result `r` is not the one `name` was registered with (`bytes` long, or
/// none), if it is not. A result without a payload is judged elsewhere: the resolve may not have asked.
pub fn payload_mismatch(name: &PeerName, bytes: Option<u32>, r: &Resolved) -> Option<String> {
    let got = r.payload.as_ref()?;
    match bytes {
        None => Some(format!(
            "a {}-byte payload for a name registered without one",
            got.payload_length()
        )),
        Some(n) if **got != *payload_of(name, n) => Some(format!(
            "a {}-byte payload differs from the {n}-byte one registered",
            got.payload_length()
        )),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_per_name_and_length() {
        let a = PeerName::unsecured("a").unwrap();
        let b = PeerName::unsecured("b").unwrap();
        assert_eq!(payload_of(&a, 4000).payload_length(), 4000);
        assert!(payload_of(&a, 4000).check().is_ok());
        assert_ne!(payload_of(&a, 64), payload_of(&b, 64));
        assert_eq!(payload_of(&a, 64), payload_of(&a, 64));
    }
}
