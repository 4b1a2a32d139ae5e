//! What a run leaves for the user: files written into a run directory without ever writing through
//! a link that was already there, and commands quoted for a POSIX shell.
//!
//! A run directory may hold links someone else planted (`runs/x/1/summary.json -> ~/.bashrc`).
//! Every output file is created afresh: whatever is at its name (a link, a hard link, an old run's
//! file) is removed first, and the new file is created exclusively (`O_EXCL`, which follows no
//! link). A link planted in between makes the creation fail: it is refused, never written through.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

/// Creates `path` as a new file for writing, replacing (never following) anything there.
pub fn create_file(path: &Path) -> std::io::Result<File> {
    remove_file(path)?;
    OpenOptions::new().write(true).create_new(true).open(path)
}

/// Writes `bytes` as the file `path`, replacing (never following) a link there.
pub fn write_file(path: &Path, bytes: impl AsRef<[u8]>) -> std::io::Result<()> {
    let mut out = create_file(path)?;
    out.write_all(bytes.as_ref())
}

/// Removes the file `path` if there is one (a link is removed, not its target).
pub fn remove_file(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// `arg` as one POSIX-shell word: unchanged when it holds only characters no shell treats
/// specially, else in single quotes (a `'` inside written as `'\''`).
pub fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&b));
    if plain {
        return arg.to_string();
    }
    format!("'{}'", arg.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::path::PathBuf;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("peerlab-out-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[cfg(unix)]
    #[test]
    fn a_planted_link_is_replaced_not_written_through() {
        let dir = temp_dir("link");
        let victim = dir.join("victim.txt");
        std::fs::write(&victim, "precious").unwrap();
        let out = dir.join("summary.json");
        std::os::unix::fs::symlink(&victim, &out).unwrap();
        write_file(&out, "{}").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(!std::fs::symlink_metadata(&out).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "{}");
        // A dangling link is not followed into creating its target either.
        let dangling = dir.join("records.jsonl");
        std::os::unix::fs::symlink(dir.join("created-elsewhere"), &dangling).unwrap();
        write_file(&dangling, "x").unwrap();
        assert!(!dir.join("created-elsewhere").exists());
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
        // A hard link to another file is replaced too, not truncated.
        let hard = dir.join("config.json");
        std::fs::hard_link(&victim, &hard).unwrap();
        write_file(&hard, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    }

    #[test]
    fn quoting_keeps_plain_words_and_wraps_the_rest() {
        assert_eq!(
            shell_quote("scenarios/pnrp/churn.toml"),
            "scenarios/pnrp/churn.toml"
        );
        assert_eq!(shell_quote("network.loss=1%"), "network.loss=1%");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("x;touch PWNED;.toml"), "'x;touch PWNED;.toml'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
