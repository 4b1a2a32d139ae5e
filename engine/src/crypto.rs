//! Signature schemes for CPAs (pnrp.md §6.6). OWNER: codec/crypto helper (placeholder types only).

use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Which signature scheme identities use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Scheme {
    /// RSA-1024, RSASSA-PKCS1-v1_5 with SHA-1, as MS-PNRP specifies.
    #[serde(rename = "rsa1024")]
    Rsa1024Sha1,
    /// Ed25519, for very large runs.
    #[serde(rename = "ed25519")]
    Ed25519,
}

/// A public key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PublicKey {
    /// The scheme.
    pub scheme: Scheme,
    /// Encoded key bytes.
    pub bytes: Arc<[u8]>,
}

/// A key pair.
#[derive(Debug)]
pub struct Identity {
    /// The public half.
    pub public: PublicKey,
}
