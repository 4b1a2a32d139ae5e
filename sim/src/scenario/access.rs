//! Which files a scenario may read, and reading them with bounds.
//!
//! [CHOICE] A file a scenario names (latency matrix, session trace) must resolve, after every
//! symlink is followed, inside the scenario file's own directory tree, or inside a directory the
//! user allowed on the command line (`--allow-files DIR`, repeatable). A scenario is input, and
//! without this a scenario or repro file could make `check` print any file the user can read
//! (`/proc/self/environ`, `../../../../etc/passwd`). Library callers pass the allowed directories
//! in `LoadOptions`.

use super::printable::{escape, excerpt};
use super::spans::line_col;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest scenario, repro, matrix or trace file read: 8 MiB (scenarios/README.md). A real
/// scenario is a few kilobytes; 40 000 `[[peers]]` tables are 1.4 MB.
pub const FILE_BYTES_MAX: u64 = 8 << 20;

/// Why a file could not be read as text.
#[derive(Debug)]
pub enum TextError {
    /// Opening or reading failed.
    Io(std::io::Error),
    /// Not a regular file (a directory, a FIFO, a device).
    NotAFile,
    /// Larger than `FILE_BYTES_MAX`.
    TooLarge(u64),
    /// Not UTF-8: the 1-based line and column of the first invalid byte.
    NotUtf8 {
        /// Line, from 1.
        line: usize,
        /// Column in characters, from 1.
        col: usize,
    },
}

impl std::fmt::Display for TextError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TextError::Io(e) => write!(f, "{e}"),
            TextError::NotAFile => f.write_str("not a regular file"),
            TextError::TooLarge(n) => write!(
                f,
                "the file is {n} bytes, more than the {FILE_BYTES_MAX} bytes (8 MiB) allowed"
            ),
            TextError::NotUtf8 { line, col } => {
                write!(f, "line {line}, column {col}: a byte that is not UTF-8")
            }
        }
    }
}

/// Reads `path` as UTF-8 text of at most `FILE_BYTES_MAX` bytes, refusing anything bigger at once
/// (before reading it) and anything but a regular file.
pub fn read_text(path: &Path) -> Result<String, TextError> {
    // Look before opening: opening a FIFO would block until someone writes to it.
    let meta = std::fs::metadata(path).map_err(TextError::Io)?;
    if !meta.is_file() {
        return Err(TextError::NotAFile);
    }
    if meta.len() > FILE_BYTES_MAX {
        return Err(TextError::TooLarge(meta.len()));
    }
    let file = std::fs::File::open(path).map_err(TextError::Io)?;
    // The file may grow between the check and the read: read one byte past the limit at most.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(FILE_BYTES_MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(TextError::Io)?;
    if bytes.len() as u64 > FILE_BYTES_MAX {
        return Err(TextError::TooLarge(bytes.len() as u64));
    }
    text_of(bytes)
}

/// `bytes` as UTF-8, or the line and column of the first invalid byte.
pub fn text_of(bytes: Vec<u8>) -> Result<String, TextError> {
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        // The prefix up to the bad byte is valid UTF-8 by definition.
        let prefix = std::str::from_utf8(&e.as_bytes()[..valid]).unwrap_or_default();
        let (line, col) = line_col(prefix, valid);
        TextError::NotUtf8 { line, col }
    })
}

/// `dir` canonicalized, with an empty path meaning the working directory.
fn canonical_dir(dir: &Path) -> std::io::Result<PathBuf> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    std::fs::canonicalize(dir)
}

/// Whether `dir` (canonicalized) lies inside one of `roots` (canonicalized).
pub fn is_within(dir: &Path, roots: &[PathBuf]) -> bool {
    let Ok(dir) = canonical_dir(dir) else {
        return false;
    };
    roots
        .iter()
        .filter_map(|r| canonical_dir(r).ok())
        .any(|r| dir.starts_with(r))
}

/// `name` (as written in a scenario) resolved against `base` (the scenario's directory), when the
/// real file lies inside `base` or one of `allowed`; the error quotes `name` as a short excerpt.
pub fn confine(base: &Path, allowed: &[PathBuf], name: &str) -> Result<PathBuf, String> {
    let shown = excerpt(name);
    let joined = if base.as_os_str().is_empty() {
        PathBuf::from(name)
    } else {
        base.join(name)
    };
    let real = std::fs::canonicalize(&joined).map_err(|e| format!("cannot open \"{shown}\": {e}"))?;
    let mut roots = vec![base.to_path_buf()];
    roots.extend(allowed.iter().cloned());
    let inside = roots
        .iter()
        .filter_map(|r| canonical_dir(r).ok())
        .any(|r| real.starts_with(r));
    if inside {
        return Ok(real);
    }
    let home = canonical_dir(base).unwrap_or_else(|_| base.to_path_buf());
    Err(format!(
        "\"{shown}\" is outside the scenario's directory ({}) and every --allow-files directory (a scenario reads only files in its own directory tree unless the command line allows more with --allow-files DIR)",
        excerpt(&escape(&home.display().to_string()))
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("peerlab-access-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        dir
    }

    #[test]
    fn files_resolve_inside_the_tree_and_nowhere_else() {
        let dir = temp("confine");
        std::fs::write(dir.join("sub/m.csv"), "0\n").unwrap();
        std::fs::write(dir.join("outside.csv"), "0\n").unwrap();
        let base = dir.join("sub");
        assert!(confine(&base, &[], "m.csv").is_ok());
        let e = confine(&base, &[], "../outside.csv").unwrap_err();
        assert!(e.contains("outside the scenario's directory"), "{e}");
        assert!(confine(&base, &[], "/etc/passwd").is_err());
        assert!(confine(&base, std::slice::from_ref(&dir), "../outside.csv").is_ok());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc/hostname", base.join("link")).unwrap();
            assert!(confine(&base, &[], "link").is_err(), "a symlink out of the tree");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn reads_are_bounded_and_name_the_first_bad_byte() {
        let dir = temp("read");
        std::fs::write(dir.join("bad"), b"ok = 1\nx = \"\xff\"\n").unwrap();
        match read_text(&dir.join("bad")) {
            Err(TextError::NotUtf8 { line, col }) => assert_eq!((line, col), (2, 6)),
            other => panic!("{other:?}"),
        }
        let big = std::fs::File::create(dir.join("big")).unwrap();
        big.set_len(FILE_BYTES_MAX + 1).unwrap();
        assert!(matches!(read_text(&dir.join("big")), Err(TextError::TooLarge(_))));
        assert!(matches!(read_text(&dir), Err(TextError::NotAFile)));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
