//! `dualha validate FILE`: checks a profile, a fault schedule or a check configuration
//! without running anything, with the same checks (and the same messages naming file,
//! key, value and range) the commands that read them apply.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::read_input;
use crate::outln;

/// What kind of file it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FileKind {
    /// A simulation profile (`dualha reproduce --profile`).
    Profile,
    /// A fault schedule (`dualha simulate --schedule`).
    Schedule,
    /// A model-checker configuration (`dualha check --config`).
    Check,
}

/// Arguments of `dualha validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The file.
    pub file: PathBuf,
    /// Its kind; default: told from its content (a schedule has `[[event]]` or a
    /// `format = "dualha-schedule/..."` line, a check configuration a `[budget]` table,
    /// anything else is read as a profile).
    #[arg(long, value_enum)]
    pub kind: Option<FileKind>,
}

/// Runs `dualha validate`: exit 0 valid, 2 invalid (the message names the problem).
pub fn run(args: &ValidateArgs) -> ExitCode {
    crate::cli::exit_code("dualha validate", validate(args))
}

/// The kind a file's content suggests.
fn guess(text: &str) -> FileKind {
    let has_line = |prefix: &str| text.lines().any(|l| l.trim_start().starts_with(prefix));
    if has_line("[[event]]") || text.contains("dualha-schedule/") || text.contains("\"event\"") {
        FileKind::Schedule
    } else if has_line("[budget]") {
        FileKind::Check
    } else {
        FileKind::Profile
    }
}

fn validate(args: &ValidateArgs) -> Result<ExitCode> {
    let path: &Path = &args.file;
    let text = read_input(path)?;
    let kind = args.kind.unwrap_or_else(|| guess(&text));
    let what = match kind {
        FileKind::Profile => {
            let p = crate::reproduce::load_profile(Some(path))?;
            format!("a valid profile ({})", p.name)
        }
        FileKind::Check => {
            let c = crate::check::load_config(path)?;
            format!("a valid check configuration ({})", c.name)
        }
        FileKind::Schedule => {
            use sim::schedule::LabSchedule as _;
            let s = sim::schedule::Schedule::parse(&text)
                .with_context(|| path.display().to_string())?;
            format!(
                "a valid fault schedule ({} events; `dualha simulate` checks them against its lab)",
                s.events.len()
            )
        }
    };
    outln!("{}: {what}", path.display())?;
    Ok(ExitCode::SUCCESS)
}
