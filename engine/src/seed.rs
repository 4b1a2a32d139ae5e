//! Named, seeded random streams (docs/architecture.md §3: "Randomness comes in as a seeded generator").

use sha2::{Digest, Sha256};

/// The generator every node and model uses: a named algorithm, stable across `rand` versions.
pub type NodeRng = rand_chacha::ChaCha8Rng;

/// Derives an independent 32-byte seed from the run seed, a stream name and an index, so that
/// adding a node (or a new stream) never shifts the numbers another stream draws.
pub fn derive_seed(run_seed: u64, stream: &str, index: u64) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"peerlab-seed-v1");
    h.update(run_seed.to_le_bytes());
    h.update((stream.len() as u64).to_le_bytes());
    h.update(stream.as_bytes());
    h.update(index.to_le_bytes());
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_independent_and_stable() {
        let a = derive_seed(7, "node", 1);
        assert_eq!(a, derive_seed(7, "node", 1));
        assert_ne!(a, derive_seed(7, "node", 2));
        assert_ne!(a, derive_seed(8, "node", 1));
        assert_ne!(a, derive_seed(7, "nodf", 1));
    }
}
