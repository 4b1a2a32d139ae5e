//! Text read from files on the terminal: every control character escaped, long values cut to a
//! short excerpt. Scenario and repro files are untrusted input; what they hold must neither drive
//! the terminal (escape sequences that recolour, retitle or rewrite lines) nor be echoed in bulk
//! (a file named by a scenario could be a secret).

use std::fmt::Write;

/// Most characters of a value an error message quotes (`excerpt`).
pub const EXCERPT_CHARS: usize = 40;

/// Whether `c` must not reach a terminal as is: C0/C1 controls and DEL, and the invisible
/// direction overrides that reorder what is shown (U+202A–U+202E, U+2066–U+2069).
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Appends `c` to `out`, escaped when it is unsafe (`\n`, `\t`, `\r`, `\u{1b}`).
fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if is_unsafe(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// `text` with every control character written as an escape, safe to print whatever it holds.
/// Used for everything that reaches the terminal from a file: names, repro fields, error excerpts.
pub fn escape(text: &str) -> String {
    if !text.chars().any(is_unsafe) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    out
}

/// At most `EXCERPT_CHARS` characters of `text`, escaped (the escapes count), with `…` when cut:
/// how an error quotes a value read from a file.
pub fn excerpt(text: &str) -> String {
    let mut out = String::new();
    let mut shown = 0;
    for (i, c) in text.chars().enumerate() {
        let mut one = String::new();
        push_escaped(&mut one, c);
        let n = one.chars().count();
        if shown + n > EXCERPT_CHARS {
            out.push('…');
            return out;
        }
        shown += n;
        out.push_str(&one);
        // Stop scanning a huge value as soon as it is known to be cut.
        if i > EXCERPT_CHARS * 2 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_plain_text_is_kept() {
        assert_eq!(escape("plain é ✓"), "plain é ✓");
        assert_eq!(escape("a\u{1b}[2Jb\nc\td\u{7}"), "a\\u{1b}[2Jb\\nc\\td\\u{7}");
        assert_eq!(escape("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(escape("x\u{202e}y"), "x\\u{202e}y");
        assert!(!escape("\u{0}\u{1f}\u{7f}").chars().any(char::is_control));
    }

    #[test]
    fn excerpts_are_short_and_escaped() {
        assert_eq!(excerpt("short"), "short");
        let long = "x".repeat(1000);
        let e = excerpt(&long);
        assert_eq!(e.chars().count(), EXCERPT_CHARS + 1);
        assert!(e.ends_with('…'));
        let e = excerpt(&"\u{1b}".repeat(100));
        assert!(
            e.chars().count() <= EXCERPT_CHARS + 1 && !e.contains('\u{1b}'),
            "{e}"
        );
        assert_eq!(excerpt(&"y".repeat(EXCERPT_CHARS)), "y".repeat(EXCERPT_CHARS));
    }
}
