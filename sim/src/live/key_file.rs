//! A live node's key: 32 secret bytes from the operating system's randomness, from which the key
//! pair is generated, kept in a key file so that a restarted node keeps its secured names.
//!
//! A secured name is only as strong as the secrecy of its key (MS-PNRP §3.2.4.2: the authority is
//! the hash of the public key, and only the private key's holder can sign the CPA). So the key never
//! derives from anything public, such as the node's address. Deriving it from a text stays possible
//! behind `--insecure-key-seed`, for reproducible test rigs, and the node warns when it is used.
//!
//! The file is small TOML, created with owner-only permissions and never written through a link:
//! ```toml
//! # peerlab node key: anyone who reads this file can register this node's secured names.
//! scheme = "ed25519"
//! secret = "<64 hex digits>"
//! ```

use peerlab_engine::crypto::{Identity, Scheme};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// Longest key file read (a real one is about 200 bytes).
pub const KEY_FILE_BYTES_MAX: u64 = 4096;

/// Where a node's key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// Fresh from the OS's randomness, kept only while the node runs.
    Ephemeral,
    /// Loaded from this file, or created there from the OS's randomness when it does not exist.
    File(std::path::PathBuf),
    /// Derived from a text (insecure: anyone who knows the text has the key).
    InsecureSeed(String),
}

/// A node's key pair and where it came from, for the start-up line.
pub struct NodeKey {
    /// The key pair.
    pub identity: Arc<Identity>,
    /// What the node says about its key when it starts.
    pub origin: String,
}

/// The on-disk form of a key file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFileText {
    scheme: Scheme,
    secret: String,
}

/// 32 bytes from the operating system's randomness.
pub fn os_random() -> Result<[u8; 32], String> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| format!("the OS gave no randomness: {e}"))?;
    Ok(bytes)
}

/// The secret bytes a text stands for (the insecure, reproducible derivation).
pub fn insecure_secret(text: &str) -> [u8; 32] {
    Sha256::digest(format!("peerlab-node-key:{text}").as_bytes()).into()
}

/// The node's key from `source` under `scheme`.
pub fn node_key(source: &KeySource, scheme: Scheme) -> Result<NodeKey, String> {
    let (secret, origin) = match source {
        KeySource::Ephemeral => (
            os_random()?,
            "ephemeral (OS randomness; pass --key-file PATH to keep secured names across restarts)"
                .to_string(),
        ),
        KeySource::InsecureSeed(text) => (
            insecure_secret(text),
            "derived from --insecure-key-seed (anyone who knows the text can take over this node's names)"
                .to_string(),
        ),
        KeySource::File(path) => match load(path, scheme)? {
            Some(secret) => (secret, format!("loaded from {}", path.display())),
            None => {
                let secret = os_random()?;
                create(path, scheme, &secret)?;
                (secret, format!("created {} (OS randomness)", path.display()))
            }
        },
    };
    Ok(NodeKey {
        identity: Identity::generate(scheme, secret),
        origin,
    })
}

/// The secret stored at `path`, or `None` when there is no file there yet.
fn load(path: &Path, scheme: Scheme) -> Result<Option<[u8; 32]>, String> {
    let shown = path.display();
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("--key-file {shown}: {e}")),
    };
    if !meta.is_file() {
        return Err(format!(
            "--key-file {shown}: not a regular file (a link or a directory is refused)"
        ));
    }
    if meta.len() > KEY_FILE_BYTES_MAX {
        return Err(format!(
            "--key-file {shown}: {} bytes; a key file has at most {KEY_FILE_BYTES_MAX}",
            meta.len()
        ));
    }
    check_owner_only(path, &meta)?;
    let bytes = std::fs::read(path).map_err(|e| format!("--key-file {shown}: {e}"))?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| format!("--key-file {shown}: not a peerlab key file (not UTF-8)"))?;
    // The message names the problem but never echoes the file, which holds a secret.
    let parsed: KeyFileText = toml::from_str(text).map_err(|e| {
        let at = e.span().map_or(String::new(), |s| {
            let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
            format!(" at line {line}")
        });
        format!("--key-file {shown}: not a peerlab key file{at}; allowed: scheme = \"rsa1024\" | \"ed25519\", secret = \"<64 hex digits>\"")
    })?;
    if parsed.scheme != scheme {
        return Err(format!(
            "--key-file {shown}: holds a {} key but --crypto asks for {}; use another file or the matching --crypto",
            scheme_name(parsed.scheme),
            scheme_name(scheme)
        ));
    }
    let secret =
        hex32(&parsed.secret).ok_or_else(|| format!("--key-file {shown}: `secret` must be 64 hex digits"))?;
    Ok(Some(secret))
}

/// Writes a new key file, owner-only, refusing to replace anything already there.
fn create(path: &Path, scheme: Scheme, secret: &[u8; 32]) -> Result<(), String> {
    let shown = path.display();
    let mut options = std::fs::OpenOptions::new();
    // create_new never follows a link and never truncates another file.
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| format!("--key-file {shown}: cannot create it: {e}"))?;
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let text = format!(
        "# peerlab node key: anyone who reads this file can register this node's secured names.\n\
         scheme = \"{}\"\nsecret = \"{hex}\"\n",
        scheme_name(scheme)
    );
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("--key-file {shown}: {e}"))
}

#[cfg(unix)]
fn check_owner_only(path: &Path, meta: &std::fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "--key-file {}: readable or writable by others (mode {mode:o}); `chmod 600` it first",
            path.display()
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_owner_only(_: &Path, _: &std::fs::Metadata) -> Result<(), String> {
    Ok(())
}

/// The scheme's name as the key file and `--crypto` write it.
fn scheme_name(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::Rsa1024Sha1 => "rsa1024",
        Scheme::Ed25519 => "ed25519",
    }
}

/// 64 hex digits as 32 bytes.
fn hex32(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("peerlab-key-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn ephemeral_keys_differ_every_time() {
        let a = node_key(&KeySource::Ephemeral, Scheme::Ed25519).unwrap();
        let b = node_key(&KeySource::Ephemeral, Scheme::Ed25519).unwrap();
        assert_ne!(a.identity.authority(), b.identity.authority());
    }

    #[test]
    fn a_key_file_is_created_owner_only_and_reused() {
        let dir = temp_dir("reuse");
        let path = dir.join("node.key");
        let first = node_key(&KeySource::File(path.clone()), Scheme::Ed25519).unwrap();
        assert!(first.origin.starts_with("created"), "{}", first.origin);
        let again = node_key(&KeySource::File(path.clone()), Scheme::Ed25519).unwrap();
        assert!(again.origin.starts_with("loaded"), "{}", again.origin);
        assert_eq!(first.identity.authority(), again.identity.authority());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let err = node_key(&KeySource::File(path), Scheme::Rsa1024Sha1)
            .err()
            .unwrap();
        assert!(err.contains("holds a ed25519 key"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn unsafe_key_files_are_refused_without_echoing_them() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("refuse");
        let open = dir.join("open.key");
        std::fs::write(&open, "scheme = \"ed25519\"\nsecret = \"00\"\n").unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = node_key(&KeySource::File(open.clone()), Scheme::Ed25519)
            .err()
            .unwrap();
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o600)).unwrap();
        let err = node_key(&KeySource::File(open), Scheme::Ed25519).err().unwrap();
        assert!(err.contains("64 hex digits"), "{err}");
        let garbage = dir.join("garbage.key");
        std::fs::write(&garbage, "TOPSECRET-LINE\n").unwrap();
        std::fs::set_permissions(&garbage, std::fs::Permissions::from_mode(0o600)).unwrap();
        let err = node_key(&KeySource::File(garbage), Scheme::Ed25519)
            .err()
            .unwrap();
        assert!(err.contains("line 1") && !err.contains("TOPSECRET"), "{err}");
        let link = dir.join("link.key");
        std::os::unix::fs::symlink(dir.join("elsewhere"), &link).unwrap();
        let err = node_key(&KeySource::File(link), Scheme::Ed25519).err().unwrap();
        assert!(err.contains("not a regular file"), "{err}");
        assert!(!dir.join("elsewhere").exists());
    }

    #[test]
    fn the_insecure_seed_is_reproducible() {
        let a = node_key(&KeySource::InsecureSeed("rig-1".into()), Scheme::Ed25519).unwrap();
        let b = node_key(&KeySource::InsecureSeed("rig-1".into()), Scheme::Ed25519).unwrap();
        assert_eq!(a.identity.authority(), b.identity.authority());
        assert!(a.origin.contains("insecure"));
    }
}
