//! The only place the simulator reads the wall clock or the OS: for progress display, wall time
//! and memory figures in `summary.json`. Nothing here feeds a simulated result.

#![allow(clippy::disallowed_methods)]

/// A wall-clock stopwatch.
#[derive(Clone, Copy, Debug)]
pub struct Stopwatch(std::time::Instant);

impl Stopwatch {
    /// Starts now.
    pub fn start() -> Self {
        Stopwatch(std::time::Instant::now())
    }
    /// Seconds elapsed since the start.
    pub fn secs(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}

/// Peak resident set size of this process in bytes (Linux `VmHWM`), or 0 where unknown.
pub fn peak_rss_bytes() -> u64 {
    read_status_kib("VmHWM:").map_or(0, |k| k * 1024)
}

/// Current resident set size in bytes (Linux `VmRSS`), or 0 where unknown.
pub fn current_rss_bytes() -> u64 {
    read_status_kib("VmRSS:").map_or(0, |k| k * 1024)
}

/// This machine's memory, total and available (Linux /proc/meminfo); `None` where unknown.
pub fn meminfo() -> Option<crate::scenario::MemInfo> {
    crate::scenario::parse_meminfo(&std::fs::read_to_string("/proc/meminfo").ok()?)
}

fn read_status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn rss_is_readable_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(super::peak_rss_bytes() > 0);
            assert!(super::current_rss_bytes() > 0);
        }
    }
}
