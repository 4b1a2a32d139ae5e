//! Punycode (RFC 3492): Unicode text as letters, digits and hyphens. Checked arithmetic
//! throughout, so hostile input ends in an error, never an overflow or a panic.

/// Parameters of RFC 3492 §5.
const BASE: u32 = 36;
const TMIN: u32 = 1;
const TMAX: u32 = 26;
const SKEW: u32 = 38;
const DAMP: u32 = 700;
const INITIAL_BIAS: u32 = 72;
const INITIAL_N: u32 = 0x80;
const DELIMITER: char = '-';

/// Why a punycode string did not decode (or a text did not encode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PunycodeError {
    /// A character that is neither a basic code point nor a base-36 digit where one was expected.
    BadDigit,
    /// The digits end in the middle of a variable-length integer.
    Truncated,
    /// A value outside 32 bits, or a code point outside Unicode (RFC 3492 §6.4).
    Overflow,
    /// A decoded code point that is a basic (ASCII) one, or a surrogate.
    BadCodePoint,
}

/// The bias adaptation function (RFC 3492 §6.1).
fn adapt(delta: u32, points: u32, first: bool) -> u32 {
    let mut delta = if first { delta / DAMP } else { delta / 2 };
    delta += delta / points;
    let mut k = 0;
    while delta > ((BASE - TMIN) * TMAX) / 2 {
        delta /= BASE - TMIN;
        k += BASE;
    }
    k + (BASE - TMIN + 1) * delta / (delta + SKEW)
}

/// The threshold for digit position `k` (RFC 3492 §6.2, §6.3).
fn threshold(k: u32, bias: u32) -> u32 {
    if k <= bias {
        TMIN
    } else if k >= bias + TMAX {
        TMAX
    } else {
        k - bias
    }
}

fn digit_char(d: u32) -> char {
    // d < 36 always: callers reduce modulo (BASE - t) or stop below t ≤ TMAX.
    let byte = if d < 26 {
        b'a' + d as u8
    } else {
        b'0' + (d - 26) as u8
    };
    char::from(byte)
}

fn digit_value(c: char) -> Option<u32> {
    match c {
        'a'..='z' => Some(c as u32 - 'a' as u32),
        'A'..='Z' => Some(c as u32 - 'A' as u32),
        '0'..='9' => Some(c as u32 - '0' as u32 + 26),
        _ => None,
    }
}

/// Encodes `text` (RFC 3492 §6.3): its basic code points, a `-` if there were any, then the
/// deltas of the others.
pub fn encode(text: &str) -> Result<String, PunycodeError> {
    let input: Vec<u32> = text.chars().map(u32::from).collect();
    let mut out: String = text.chars().filter(char::is_ascii).collect();
    let basic = out.len() as u32;
    if basic > 0 {
        out.push(DELIMITER);
    }
    let total = u32::try_from(input.len()).map_err(|_| PunycodeError::Overflow)?;
    let (mut n, mut delta, mut bias, mut handled) = (INITIAL_N, 0u32, INITIAL_BIAS, basic);
    while handled < total {
        let m = input
            .iter()
            .copied()
            .filter(|&c| c >= n)
            .min()
            .ok_or(PunycodeError::Overflow)?;
        delta = (m - n)
            .checked_mul(handled + 1)
            .and_then(|d| delta.checked_add(d))
            .ok_or(PunycodeError::Overflow)?;
        n = m;
        for &c in &input {
            if c < n {
                delta = delta.checked_add(1).ok_or(PunycodeError::Overflow)?;
            }
            if c == n {
                let mut q = delta;
                let mut k = BASE;
                loop {
                    let t = threshold(k, bias);
                    if q < t {
                        break;
                    }
                    out.push(digit_char(t + (q - t) % (BASE - t)));
                    q = (q - t) / (BASE - t);
                    k += BASE;
                }
                out.push(digit_char(q));
                bias = adapt(delta, handled + 1, handled == basic);
                delta = 0;
                handled += 1;
            }
        }
        delta = delta.checked_add(1).ok_or(PunycodeError::Overflow)?;
        n = n.checked_add(1).ok_or(PunycodeError::Overflow)?;
    }
    Ok(out)
}

/// Decodes a punycode string (RFC 3492 §6.2) back to the text it encodes.
pub fn decode(code: &str) -> Result<String, PunycodeError> {
    let (basic, digits) = match code.rfind(DELIMITER) {
        Some(at) => (&code[..at], &code[at + 1..]),
        None => ("", code),
    };
    if !basic.is_ascii() {
        return Err(PunycodeError::BadDigit);
    }
    let mut out: Vec<char> = basic.chars().collect();
    let (mut n, mut i, mut bias) = (INITIAL_N, 0u32, INITIAL_BIAS);
    let mut chars = digits.chars();
    while !chars.as_str().is_empty() {
        let old_i = i;
        let mut w = 1u32;
        let mut k = BASE;
        loop {
            let c = chars.next().ok_or(PunycodeError::Truncated)?;
            let d = digit_value(c).ok_or(PunycodeError::BadDigit)?;
            i = d
                .checked_mul(w)
                .and_then(|dw| i.checked_add(dw))
                .ok_or(PunycodeError::Overflow)?;
            let t = threshold(k, bias);
            if d < t {
                break;
            }
            w = w.checked_mul(BASE - t).ok_or(PunycodeError::Overflow)?;
            k += BASE;
        }
        let len = u32::try_from(out.len() + 1).map_err(|_| PunycodeError::Overflow)?;
        bias = adapt(i - old_i, len, old_i == 0);
        n = n.checked_add(i / len).ok_or(PunycodeError::Overflow)?;
        i %= len;
        if n < INITIAL_N {
            return Err(PunycodeError::BadCodePoint);
        }
        let c = char::from_u32(n).ok_or(PunycodeError::BadCodePoint)?;
        out.insert(i as usize, c);
        i += 1;
    }
    Ok(out.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Samples of RFC 3492 §7.1 (lower-case letters as the encoder writes them).
    const RFC_3492_SAMPLES: &[(&str, &str)] = &[
        // (B) Chinese (simplified).
        (
            "\u{4ED6}\u{4EEC}\u{4E3A}\u{4EC0}\u{4E48}\u{4E0D}\u{8BF4}\u{4E2D}\u{6587}",
            "ihqwcrb4cv8a8dqg056pqjye",
        ),
        // (C) Chinese (traditional).
        (
            "\u{4ED6}\u{5011}\u{7232}\u{4EC0}\u{9EBD}\u{4E0D}\u{8AAA}\u{4E2D}\u{6587}",
            "ihqwctvzc91f659drss3x8bo0yb",
        ),
        // (L) 3<nen>B<gumi><kinpachi><sensei>: basic code points keep their case.
        (
            "3\u{5E74}B\u{7D44}\u{91D1}\u{516B}\u{5148}\u{751F}",
            "3B-ww4c5e180e575a65lsy2b",
        ),
        // (R) <sono><supiido><de>.
        (
            "\u{305D}\u{306E}\u{30B9}\u{30D4}\u{30FC}\u{30C9}\u{3067}",
            "d9juau41awczczp",
        ),
    ];

    #[test]
    fn rfc_3492_samples_encode_and_decode() {
        for (text, code) in RFC_3492_SAMPLES {
            assert_eq!(encode(text).unwrap(), *code, "{text}");
            assert_eq!(decode(code).unwrap(), *text, "{code}");
            // Digits are case-insensitive (RFC 3492 §5); basic code points are copied as they are.
            let upper_digits: String = code
                .char_indices()
                .map(|(at, c)| {
                    if at >= code.rfind('-').map_or(0, |d| d + 1) {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect();
            assert_eq!(decode(&upper_digits).unwrap(), *text, "{upper_digits}");
        }
    }

    #[test]
    fn ascii_text_gets_a_trailing_delimiter() {
        // Checked against Python's `"...".encode("punycode")`.
        assert_eq!(encode("xn--abc").unwrap(), "xn--abc-");
        assert_eq!(decode("xn--abc-").unwrap(), "xn--abc");
        assert_eq!(encode("caf\u{e9}").unwrap(), "caf-dma");
        assert_eq!(encode("").unwrap(), "");
    }

    #[test]
    fn hostile_codes_are_errors() {
        assert_eq!(decode("b"), Err(PunycodeError::Truncated));
        assert_eq!(decode("a!"), Err(PunycodeError::BadDigit));
        assert_eq!(decode("\u{e9}-a"), Err(PunycodeError::BadDigit));
        assert_eq!(decode("99999999999"), Err(PunycodeError::Overflow));
        // Deltas past U+10FFFF.
        assert_eq!(decode("99999a"), Err(PunycodeError::BadCodePoint));
    }
}
