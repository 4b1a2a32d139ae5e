//! Progress display: a bar on a terminal, plain lines every few seconds otherwise.

use crate::wall::Stopwatch;
use indicatif::{ProgressBar, ProgressStyle};
use peerlab_engine::{Duration, Instant};
use std::io::{IsTerminal, Write};

/// Seconds between plain progress lines when stderr is not a terminal.
const PLAIN_EVERY_S: f64 = 5.0;

/// Shows how a run is going.
pub struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    total: Duration,
    watch: Stopwatch,
    last_line_s: f64,
}

impl Progress {
    /// A progress display for a run of `total` simulated time; silent when `quiet`.
    pub fn new(total: Duration, quiet: bool) -> Self {
        let tty = std::io::stderr().is_terminal();
        let bar = (!quiet && tty).then(|| {
            let bar = ProgressBar::new(total.as_micros().max(1));
            bar.set_style(
                ProgressStyle::with_template("{bar:40.cyan/blue} {percent:>3}% {msg} ETA {eta}")
                    .expect("static template is valid"),
            );
            bar
        });
        Progress {
            bar,
            plain: !quiet && !tty,
            total,
            watch: Stopwatch::start(),
            last_line_s: 0.0,
        }
    }

    /// Reports sim time `t`, events processed and live peers.
    pub fn update(&mut self, t: Instant, events: u64, live: u64) {
        let wall = self.watch.secs();
        let rate = events as f64 / wall.max(1e-9);
        let msg = format!(
            "sim {} / {} · {:.2} M events/s · {live} peers",
            fmt_secs(t.since_epoch()),
            fmt_secs(self.total),
            rate / 1e6
        );
        if let Some(bar) = &self.bar {
            bar.set_position(t.as_micros());
            bar.set_message(msg);
        } else if self.plain && wall - self.last_line_s >= PLAIN_EVERY_S {
            self.last_line_s = wall;
            let _ = writeln!(std::io::stderr(), "progress: {msg}");
        }
    }

    /// Reports key preparation: `done` of `total` identities ready.
    pub fn keys(&self, done: u64, total: u64) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("setting up: keys {done} / {total}"));
        }
    }

    /// Clears the bar.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

fn fmt_secs(d: Duration) -> String {
    let s = d.as_micros() / 1_000_000;
    format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}
