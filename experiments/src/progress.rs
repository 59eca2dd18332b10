//! Progress of long work: a live bar with a rate and an ETA on a terminal, a plain line
//! every tenth of the way otherwise (logs, CI), so a user always sees that work goes on
//! and how long it will take.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// Progress of `total` units of work, reported on standard error.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    plain: Mutex<PlainState>,
    total: u64,
    what: &'static str,
}

#[derive(Debug)]
struct PlainState {
    started: Instant,
    next_tenth: u64,
}

impl Progress {
    /// Progress of `total` units named `what` ("trials").
    pub fn new(total: u64, what: &'static str) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            let style = ProgressStyle::with_template(
                "  [{bar:40}] {pos}/{len} {msg} ({per_sec}, {elapsed} elapsed, ETA {eta})",
            )
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_message(what);
            bar
        });
        Progress {
            bar,
            plain: Mutex::new(PlainState {
                started: Instant::now(),
                next_tenth: 1,
            }),
            total,
            what,
        }
    }

    /// `done` units are finished.
    pub fn set(&self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            return;
        }
        let Ok(mut p) = self.plain.lock() else { return };
        if self.total == 0 || done * 10 < p.next_tenth * self.total {
            return;
        }
        p.next_tenth = done * 10 / self.total + 1;
        let elapsed = p.started.elapsed();
        let eta = if done > 0 {
            elapsed.mul_f64((self.total - done.min(self.total)) as f64 / done as f64)
        } else {
            Duration::ZERO
        };
        let _ = writeln!(
            std::io::stderr().lock(),
            "  {done}/{} {} ({:.0} %), {:.1} s elapsed, ETA {:.1} s",
            self.total,
            self.what,
            done as f64 * 100.0 / self.total as f64,
            elapsed.as_secs_f64(),
            eta.as_secs_f64()
        );
    }

    /// The work is over: the bar is removed from the terminal.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Progress of work whose size is not known ahead (a model checker's search): a spinner
/// with the caller's message on a terminal, the message every few seconds otherwise.
#[derive(Debug)]
pub struct Ticker {
    bar: Option<ProgressBar>,
    last: Mutex<Instant>,
}

/// How often a ticker off a terminal prints its message.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

impl Ticker {
    /// A ticker on standard error.
    pub fn new() -> Ticker {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("  {spinner} {msg} ({elapsed})") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Ticker {
            bar,
            last: Mutex::new(Instant::now()),
        }
    }

    /// The work now stands at `message`.
    pub fn set(&self, message: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(message);
            return;
        }
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        if last.elapsed() >= PLAIN_EVERY {
            *last = Instant::now();
            let _ = writeln!(std::io::stderr().lock(), "  {message}");
        }
    }

    /// The work is over: the spinner is removed from the terminal.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Default for Ticker {
    fn default() -> Self {
        Ticker::new()
    }
}
