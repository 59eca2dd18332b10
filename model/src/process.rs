//! Managed processes: services, mounts, addresses, VMs that a machine asks the driver to
//! start, stop and check, OCF-style.
//!
//! A machine emits [`crate::Effect::Process`] and the driver answers later with
//! [`crate::Input::Process`] carrying the OCF exit code, so a MySQL start with crash
//! recovery can take 40 s in the simulator and 1 s in a test (src: OCF resource agent API,
//! ClusterLabs "Pacemaker Explained" (PX), "OCF Return Codes").

use core::fmt;

use serde::{Deserialize, Serialize};

/// Names one managed thing on one node (a resource of a group, a VM on a host); what it
/// is, is the driver's configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ProcessId(pub u16);

impl fmt::Display for ProcessId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}", self.0)
    }
}

/// An OCF action (src: PX "Resource Operations").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum OcfAction {
    /// Start it.
    Start,
    /// Stop it.
    Stop,
    /// Is it running (and healthy)?
    Monitor,
    /// Make it the promoted (master) instance.
    Promote,
    /// Make it an unpromoted instance.
    Demote,
}

/// An OCF exit code (src: PX "OCF Return Codes"; OCF).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum OcfExit {
    /// 0 `OCF_SUCCESS`.
    Success,
    /// 1 `OCF_ERR_GENERIC`: soft error, recoverable by restart.
    ErrGeneric,
    /// 2 `OCF_ERR_ARGS`: bad arguments on this node.
    ErrArgs,
    /// 3 `OCF_ERR_UNIMPLEMENTED`.
    ErrUnimplemented,
    /// 4 `OCF_ERR_PERM`: permission problem on this node.
    ErrPerm,
    /// 5 `OCF_ERR_INSTALLED`: software missing on this node.
    ErrInstalled,
    /// 6 `OCF_ERR_CONFIGURED`: misconfigured, fatal everywhere.
    ErrConfigured,
    /// 7 `OCF_NOT_RUNNING`: cleanly stopped.
    NotRunning,
    /// 8 `OCF_RUNNING_PROMOTED` (was `OCF_RUNNING_MASTER`).
    RunningPromoted,
    /// 9 `OCF_FAILED_PROMOTED` (was `OCF_FAILED_MASTER`).
    FailedPromoted,
    /// The action did not finish within its timeout (Pacemaker treats it as a failure).
    Timeout,
}

impl OcfExit {
    /// The numeric exit code; `Timeout` has none and maps to 1 (generic error).
    pub fn code(self) -> u8 {
        match self {
            OcfExit::Success => 0,
            OcfExit::ErrGeneric | OcfExit::Timeout => 1,
            OcfExit::ErrArgs => 2,
            OcfExit::ErrUnimplemented => 3,
            OcfExit::ErrPerm => 4,
            OcfExit::ErrInstalled => 5,
            OcfExit::ErrConfigured => 6,
            OcfExit::NotRunning => 7,
            OcfExit::RunningPromoted => 8,
            OcfExit::FailedPromoted => 9,
        }
    }

    /// The exit for a numeric code; codes outside 0-9 are generic errors, as agents that
    /// return garbage are treated.
    pub fn from_code(code: u8) -> OcfExit {
        match code {
            0 => OcfExit::Success,
            2 => OcfExit::ErrArgs,
            3 => OcfExit::ErrUnimplemented,
            4 => OcfExit::ErrPerm,
            5 => OcfExit::ErrInstalled,
            6 => OcfExit::ErrConfigured,
            7 => OcfExit::NotRunning,
            8 => OcfExit::RunningPromoted,
            9 => OcfExit::FailedPromoted,
            _ => OcfExit::ErrGeneric,
        }
    }
}

/// A request to run one OCF action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProcessRequest {
    /// On what.
    pub process: ProcessId,
    /// Which action.
    pub action: OcfAction,
    /// Echoed back in the answer, so a late answer to an older call is recognised.
    pub call: u64,
}

/// The answer to a [`ProcessRequest`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProcessEvent {
    /// On what.
    pub process: ProcessId,
    /// Which action.
    pub action: OcfAction,
    /// The request's call number.
    pub call: u64,
    /// How it ended.
    pub exit: OcfExit,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_round_trip() {
        for code in 0..=9 {
            assert_eq!(OcfExit::from_code(code).code(), code);
        }
        assert_eq!(OcfExit::from_code(42), OcfExit::ErrGeneric);
        assert_eq!(OcfExit::Timeout.code(), 1);
    }
}
