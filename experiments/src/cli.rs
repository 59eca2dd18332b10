//! What every command shares: reading an input file within the limits, checking an
//! output directory before the work starts, writing to standard output when its reader
//! may have gone (`dualha simulate ... | head -1`), and the exit codes.

use std::io::{self, Read as _, Write as _};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use sim::limits::MAX_INPUT_BYTES;

/// Exit code of a usage, profile, schedule or configuration error.
pub const EXIT_USAGE: u8 = 2;

/// Exit code when standard output is a closed pipe: what a shell reports for a process
/// that SIGPIPE ended (128 + 13), which is how `yes | head -1` ends `yes`.
pub const EXIT_BROKEN_PIPE: u8 = 141;

/// Writes one line to standard output; a closed pipe comes back as an error that
/// [`exit_code`] turns into a quiet exit.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::write_line(format_args!($($arg)*))
    };
}

/// The body of [`outln!`].
pub fn write_line(args: std::fmt::Arguments<'_>) -> Result<()> {
    let mut out = io::stdout().lock();
    out.write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .context("cannot write to standard output")
}

/// Writes `text` as it is to standard output (a closed pipe as for [`outln!`]).
pub fn write_text(text: &str) -> Result<()> {
    io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .context("cannot write to standard output")
}

/// Writes one line to standard error, ignoring failure (nothing better to do with it).
pub fn note(args: std::fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr().lock(), "{args}");
}

/// Whether `e` comes from writing to a pipe whose reader has gone.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// The exit code of a command's outcome; an error is printed after `command: ` (a closed
/// standard output is not: the reader stopped listening, like `head` does).
pub fn exit_code(command: &str, outcome: Result<ExitCode>) -> ExitCode {
    match outcome {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::from(EXIT_BROKEN_PIPE),
        Err(e) => {
            note(format_args!("{command}: {e:#}"));
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// Reads a text input (profile, schedule, configuration): at most
/// [`MAX_INPUT_BYTES`], UTF-8. Errors name the file.
pub fn read_input(path: &Path) -> Result<String> {
    read_input_up_to(path, MAX_INPUT_BYTES)
}

/// [`read_input`] with another limit (shard files of `dualha merge` carry every run's
/// raw results and may be larger than a profile).
pub fn read_input_up_to(path: &Path, max: usize) -> Result<String> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut bytes = Vec::new();
    // One byte more than allowed tells "too large" from "exactly at the limit", and a
    // device such as /dev/zero cannot fill the memory.
    file.take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() > max {
        anyhow::bail!(
            "{}: larger than {max} bytes, the most such an input file may have",
            path.display()
        );
    }
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{}: not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

/// Creates `dir` if needed and checks that a file can be written there, before any
/// long work whose results would be lost. `option` names the command-line option.
pub fn ensure_writable_dir(option: &str, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{option} {}: cannot create the directory", dir.display()))?;
    let probe = dir.join(format!(".dualha-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .with_context(|| format!("{option} {}: cannot write there", dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Checks a number of seconds given on the command line.
pub fn secs_arg(option: &str, x: f64, min: f64, max: f64) -> Result<()> {
    use sim::limits::{show, show_limit};
    if x >= min && x <= max {
        return Ok(());
    }
    anyhow::bail!(
        "{option} {}: must be between {} and {} seconds",
        show(x),
        show_limit(min),
        show_limit(max)
    )
}
