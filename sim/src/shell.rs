//! Commands printed for the user to paste: every argument quoted for a POSIX shell, so that a file
//! named `x;touch PWNED;.toml` is one argument and never a second command.

pub use peerlab_reports::output::shell_quote as quote;

/// The words joined into one line, each quoted.
pub fn command<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| quote(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `cargo run --release -- ARGS…`, each argument quoted: the line peerlab prints to re-run something.
pub fn peerlab_command<S: AsRef<str>>(args: &[S]) -> String {
    let mut words: Vec<&str> = vec!["cargo", "run", "--release", "--"];
    words.extend(args.iter().map(AsRef::as_ref));
    command(&words)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `sh -c 'printf "%s\0" WORDS'` makes of a quoted line: the words it sees.
    fn words_seen_by_sh(line: &str) -> Vec<String> {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf '%s\\0' {line}"))
            .current_dir(std::env::temp_dir())
            .output()
            .expect("sh runs");
        let text = String::from_utf8(out.stdout).unwrap();
        text.split_terminator('\0').map(String::from).collect()
    }

    #[test]
    fn hostile_names_stay_one_word() {
        let hostile = [
            "x;touch PWNED;.toml",
            "$(touch PWNED)",
            "`touch PWNED`",
            "it's",
            "a'b'c\nnewline",
            "*",
            "--set=x y",
            "\"quoted\"",
            "back\\slash",
        ];
        let line = command(&hostile);
        assert_eq!(words_seen_by_sh(&line), hostile);
        assert!(!std::env::temp_dir().join("PWNED").exists());
    }
}
