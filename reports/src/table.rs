//! Number formatting shared by the terminal table and the HTML pages.

/// An integer with thousands separators: `1234567` → `1,234,567`.
pub fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    // The leading group has 1 to 3 digits, every later group exactly 3.
    let head = match digits.len() % 3 {
        0 => 3.min(digits.len()),
        r => r,
    };
    out.push_str(&digits[..head]);
    for group in digits.as_bytes()[head..].chunks(3) {
        out.push(',');
        out.push_str(std::str::from_utf8(group).expect("ASCII digits"));
    }
    out
}

/// A figure with about four significant digits, without exponent for everyday magnitudes.
pub fn fmt_num(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    let a = x.abs();
    if a == 0.0 {
        "0".into()
    } else if x.fract() == 0.0 && a < 1e15 {
        // A count: no ".0", digits grouped.
        let grouped = group_digits(a as u64);
        if x < 0.0 {
            format!("-{grouped}")
        } else {
            grouped
        }
    } else if !(1e-3..1e9).contains(&a) {
        format!("{x:.3e}")
    } else if a >= 1000.0 {
        let grouped = group_digits(a.round() as u64);
        if x < 0.0 {
            format!("-{grouped}")
        } else {
            grouped
        }
    } else if a >= 100.0 {
        format!("{x:.1}")
    } else if a >= 10.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// A ratio as a percentage with two decimals.
pub fn fmt_pct(ratio: f64) -> String {
    format!("{:.2}%", ratio * 100.0)
}

/// Bytes in binary units (`512.0 MiB`).
pub fn fmt_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// Bytes (possibly fractional, e.g. a mean) in binary units; negative values as plain numbers.
pub fn fmt_bytes_f(bytes: f64) -> String {
    if bytes >= 0.0 && bytes.is_finite() {
        fmt_bytes(bytes.round() as u64)
    } else {
        fmt_num(bytes)
    }
}

/// A duration given in milliseconds, in the largest unit that keeps it readable, three
/// significant digits: `0.52ms`, `102ms`, `15.5s`, `12.3min`, `4.31h`.
pub fn fmt_duration_ms(ms: f64) -> String {
    let three = |v: f64, unit: &str| {
        let digits = if v >= 100.0 {
            0
        } else if v >= 10.0 {
            1
        } else {
            2
        };
        format!("{v:.digits$}{unit}")
    };
    match ms.abs() {
        a if !a.is_finite() => fmt_num(ms),
        0.0 => "0".into(),
        a if a < 1_000.0 => three(ms, "ms"),
        a if a < 60_000.0 => three(ms / 1e3, "s"),
        a if a < 3_600_000.0 => three(ms / 60e3, "min"),
        _ => three(ms / 3_600e3, "h"),
    }
}

/// A `summary.json` metric in its unit: bytes in binary units (`/s` for rates), seconds as
/// durations, counts without decimals, other figures with four significant digits.
pub fn fmt_metric(name: &str, v: f64) -> String {
    if name.contains("bytes") {
        if name.ends_with("_per_s") {
            return format!("{}/s", fmt_bytes_f(v));
        }
        return fmt_bytes_f(v);
    }
    // A rate (`messages_per_peer_per_s`) is not a duration.
    if name.ends_with("_per_s") {
        return format!("{}/s", fmt_num(v));
    }
    if name.ends_with("_s") && v >= 0.0 {
        return fmt_duration_ms(v * 1e3);
    }
    if name.ends_with("_ratio") || name.ends_with("_share") || name.contains("leafset_correct") {
        return fmt_pct(v);
    }
    fmt_num(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1000), "1,000");
        assert_eq!(group_digits(1234567), "1,234,567");
        assert_eq!(fmt_bytes(1023), "1023 B");
        assert_eq!(fmt_bytes(1536), "1.5 KiB");
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(12.345), "12.35");
        assert_eq!(fmt_num(2.5e9), "2,500,000,000");
        assert_eq!(fmt_num(2.5e-4), "2.500e-4");
        assert_eq!(fmt_num(200.0), "200", "counts without .0");
        assert_eq!(fmt_duration_ms(0.5234), "0.52ms");
        assert_eq!(fmt_duration_ms(102.4), "102ms");
        assert_eq!(fmt_duration_ms(15_510_536.0), "4.31h");
        assert_eq!(fmt_duration_ms(15_500.0), "15.5s");
        assert_eq!(fmt_metric("distribution.wan_bytes", 2.001e10), "18.6 GiB");
        assert_eq!(fmt_metric("pnrp.bytes_per_peer_per_s", 1536.0), "1.5 KiB/s");
        assert_eq!(fmt_metric("distribution.completion_p50_s", 15_506.0), "4.31h");
        assert_eq!(fmt_metric("distribution.fetches_ok", 200.0), "200");
        assert_eq!(fmt_metric("pnrp.messages_per_peer_per_s", 1.256), "1.256/s");
        assert_eq!(fmt_metric("distribution.wan_offload_ratio", -6.16e-4), "-0.06%");
        assert_eq!(fmt_num(-67108864.0), "-67,108,864");
        assert_eq!(fmt_num(1200.4), "1,200");
        assert_eq!(fmt_pct(0.5), "50.00%");
    }
}
