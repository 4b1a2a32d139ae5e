//! An on-disk store of generated RSA-1024 keys, so a run does not spend most of its wall time
//! regenerating the keys the previous run of the same seed already made.
//!
//! A key is named by its derivation, SHA-256 of (store version, scheme, the 32-byte seed the key
//! derives from — itself derived from the run seed, the stream name `identity` and the peer
//! index), under `$XDG_CACHE_HOME/peerlab/keys` (else `~/.cache/peerlab/keys`). A file holds a
//! header, SHA-256(seed ‖ DER) and the private key's PKCS#1 DER; one that is truncated, altered or
//! fails the engine's checks is regenerated and rewritten. Loaded keys are the bit-identical keys
//! generation gives (a test proves it), so results and fingerprints do not depend on the store.
//! Ed25519 keys derive in microseconds and are not stored.

use peerlab_engine::crypto::{Identity, Scheme};
use peerlab_engine::derive_seed;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// First bytes of every key file; the version changes if the layout does.
const MAGIC: &[u8; 8] = b"PLKEY01\n";

/// The default store directory: `$XDG_CACHE_HOME/peerlab/keys`, else `$HOME/.cache/peerlab/keys`.
pub fn default_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("peerlab").join("keys"))
}

/// What preparing the keys of a run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyStats {
    /// Keys read from the store.
    pub loaded: u64,
    /// Keys generated (not stored yet, damaged, or no store).
    pub generated: u64,
    /// Damaged files found (and rewritten).
    pub damaged: u64,
}

/// The file of the key derived from `seed`.
fn key_path(dir: &Path, seed: &[u8; 32]) -> PathBuf {
    let mut h = Sha256::new();
    h.update(MAGIC);
    h.update(b"rsa1024");
    h.update(seed);
    let name: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    dir.join(format!("rsa1024-{name}.key"))
}

/// SHA-256(seed ‖ der): ties a file's contents to the derivation it is named after.
fn checksum(seed: &[u8; 32], der: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(seed);
    h.update(der);
    h.finalize().into()
}

/// Loads the key of `seed` from `dir` into the engine's identity cache; `Some(false)` when a
/// file was there but damaged, `None` when there was none.
fn load(dir: &Path, seed: &[u8; 32]) -> Option<bool> {
    let bytes = std::fs::read(key_path(dir, seed)).ok()?;
    let ok = bytes.len() > MAGIC.len() + 32
        && bytes.starts_with(MAGIC)
        && bytes[MAGIC.len()..MAGIC.len() + 32] == checksum(seed, &bytes[MAGIC.len() + 32..])
        && Identity::adopt_rsa_private_der(*seed, &bytes[MAGIC.len() + 32..]).is_some();
    Some(ok)
}

/// Generates the key of `seed` and writes it to `dir` (best effort: a store that cannot be
/// written only costs the next run the generation again).
fn generate_and_store(dir: Option<&Path>, seed: &[u8; 32]) {
    let id = Identity::generate(Scheme::Rsa1024Sha1, *seed);
    let (Some(dir), Some(der)) = (dir, id.rsa_private_der()) else {
        return;
    };
    let mut bytes = MAGIC.to_vec();
    bytes.extend(checksum(seed, &der));
    bytes.extend(&der);
    let path = key_path(dir, seed);
    // Write then rename, so a reader never sees half a file (another run may read it now).
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    if std::fs::write(&tmp, &bytes).is_ok() && std::fs::rename(&tmp, &path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// Makes the identities `0..count` of run `run_seed` ready in the engine's cache, on every core:
/// RSA keys from the store in `dir` when there, generated (and stored) otherwise; `dir = None`
/// generates all (`--no-key-cache`). `progress` is called with (keys done, count) as they finish.
pub fn prepare(
    scheme: Scheme,
    run_seed: u64,
    count: u64,
    dir: Option<&Path>,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> KeyStats {
    let dir = dir.filter(|d| std::fs::create_dir_all(d).is_ok());
    let done = std::sync::atomic::AtomicU64::new(0);
    let outcomes: Vec<(bool, bool)> = (0..count)
        .into_par_iter()
        .map(|i| {
            let seed = derive_seed(run_seed, "identity", i);
            let outcome = if scheme != Scheme::Rsa1024Sha1 || Identity::is_cached(scheme, seed) {
                Identity::generate(scheme, seed);
                (true, false)
            } else {
                match dir.and_then(|d| load(d, &seed)) {
                    Some(true) => (true, false),
                    damaged => {
                        generate_and_store(dir, &seed);
                        (false, damaged == Some(false))
                    }
                }
            };
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress(n, count);
            outcome
        })
        .collect();
    let rsa = scheme == Scheme::Rsa1024Sha1;
    KeyStats {
        loaded: if rsa {
            outcomes.iter().filter(|o| o.0).count() as u64
        } else {
            0
        },
        generated: outcomes.iter().filter(|o| !o.0).count() as u64,
        damaged: outcomes.iter().filter(|o| o.1).count() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("peerlab-keys-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn stored_keys_are_the_derived_keys_and_damage_is_repaired() {
        let dir = scratch("store");
        // A run seed no other test uses, so the engine's in-process cache starts cold for it.
        let run_seed = 0x5eed_4b65_7973;
        let first = prepare(Scheme::Rsa1024Sha1, run_seed, 3, Some(&dir), &|_, _| {});
        assert_eq!((first.loaded, first.generated), (0, 3));
        let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(files.len(), 3);
        // Every stored file holds exactly the key derivation gives.
        for i in 0..3 {
            let seed = derive_seed(run_seed, "identity", i);
            let der = Identity::generate(Scheme::Rsa1024Sha1, seed)
                .rsa_private_der()
                .unwrap();
            let bytes = std::fs::read(key_path(&dir, &seed)).unwrap();
            assert_eq!(&bytes[MAGIC.len() + 32..], &der[..]);
            assert_eq!(load(&dir, &seed), Some(true));
        }
        // Damage one file: it is detected and rewritten with the right key.
        let seed1 = derive_seed(run_seed, "identity", 1);
        let path = key_path(&dir, &seed1);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(load(&dir, &seed1), Some(false));
        std::fs::write(&path, b"PLKEY01\ntruncated").unwrap();
        assert_eq!(load(&dir, &seed1), Some(false));
        generate_and_store(Some(&dir), &seed1);
        assert_eq!(load(&dir, &seed1), Some(true));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn ed25519_keys_are_not_stored() {
        let dir = scratch("ed");
        let s = prepare(Scheme::Ed25519, 17, 4, Some(&dir), &|_, _| {});
        assert_eq!((s.loaded, s.generated), (0, 0));
        assert!(std::fs::read_dir(&dir).map_or(true, |d| d.count() == 0));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
