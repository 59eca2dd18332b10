//! How a failed OCF action is judged: Pacemaker's soft, hard and fatal failures.

use serde::{Deserialize, Serialize};

use crate::OcfExit;

/// What kind of failure an unexpected exit code is, which decides the recovery
/// (src: OCF exit codes; PX "OCF Return Codes",
/// "How Pacemaker handles failures").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FailureSeverity {
    /// A transient error: restart the resource here (and count the failure; at the
    /// migration threshold the group moves). Exit 1, a timeout, and the codes that are
    /// valid but unexpected (0, 7, 8, 9).
    Soft,
    /// An error of this node (2 bad arguments, 3 unimplemented, 4 permissions,
    /// 5 not installed): the group may not run here any more and moves to the peer.
    Hard,
    /// A configuration error that holds everywhere (6): stop the group and run it
    /// nowhere.
    Fatal,
}

impl FailureSeverity {
    /// The kind of failure `exit` is, when it is not the exit the action expected.
    pub fn of(exit: OcfExit) -> FailureSeverity {
        match exit {
            OcfExit::ErrArgs
            | OcfExit::ErrUnimplemented
            | OcfExit::ErrPerm
            | OcfExit::ErrInstalled => FailureSeverity::Hard,
            OcfExit::ErrConfigured => FailureSeverity::Fatal,
            OcfExit::Success
            | OcfExit::ErrGeneric
            | OcfExit::NotRunning
            | OcfExit::RunningPromoted
            | OcfExit::FailedPromoted
            | OcfExit::Timeout => FailureSeverity::Soft,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exit_code_has_pacemakers_failure_kind() {
        let kinds: Vec<FailureSeverity> = (0..=9)
            .map(|c| FailureSeverity::of(OcfExit::from_code(c)))
            .collect();
        use FailureSeverity::{Fatal, Hard, Soft};
        assert_eq!(
            kinds,
            vec![Soft, Soft, Hard, Hard, Hard, Hard, Fatal, Soft, Soft, Soft]
        );
        assert_eq!(FailureSeverity::of(OcfExit::Timeout), Soft);
    }
}
