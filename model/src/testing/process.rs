//! Virtual managed processes: OCF actions that take a set time and answer from a state
//! tests can change (kill a service, make its start fail, make it hang).

use std::collections::BTreeMap;

use core::time::Duration;

use crate::{OcfAction, OcfExit, ProcessId};

/// One managed process on one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualProcess {
    /// How long each action takes.
    pub start: Duration,
    /// How long a stop takes.
    pub stop: Duration,
    /// How long a monitor takes.
    pub monitor: Duration,
    /// How long a promote or demote takes.
    pub promote: Duration,
    /// Whether it runs.
    pub running: bool,
    /// Whether it runs promoted.
    pub promoted: bool,
    /// The next start (or every start while set, see `start_fails_always`) answers this
    /// instead of succeeding.
    pub start_result: Option<OcfExit>,
    /// Keep `start_result` for every start, not just the next.
    pub start_fails_always: bool,
    /// The next stop answers this instead of succeeding (and the process keeps running).
    pub stop_result: Option<OcfExit>,
    /// Actions never answer while set (a hung agent: the caller's timeout must act).
    pub hung: bool,
}

impl VirtualProcess {
    /// A stopped process whose actions take `start`, `stop` and `monitor`; promote and
    /// demote take as long as a monitor.
    pub fn new(start: Duration, stop: Duration, monitor: Duration) -> VirtualProcess {
        VirtualProcess {
            start,
            stop,
            monitor,
            promote: monitor,
            running: false,
            promoted: false,
            start_result: None,
            start_fails_always: false,
            stop_result: None,
            hung: false,
        }
    }

    /// A process whose actions all take `d`.
    pub fn uniform(d: Duration) -> VirtualProcess {
        VirtualProcess::new(d, d, d)
    }

    /// How long `action` takes, or `None` if it never answers.
    pub(super) fn duration(&self, action: OcfAction) -> Option<Duration> {
        if self.hung {
            return None;
        }
        Some(match action {
            OcfAction::Start => self.start,
            OcfAction::Stop => self.stop,
            OcfAction::Monitor => self.monitor,
            OcfAction::Promote | OcfAction::Demote => self.promote,
        })
    }

    /// Carries `action` out at its completion and returns its exit code.
    pub(super) fn complete(&mut self, action: OcfAction) -> OcfExit {
        match action {
            OcfAction::Start => match self.start_result {
                Some(exit) => {
                    if !self.start_fails_always {
                        self.start_result = None;
                    }
                    exit
                }
                None => {
                    self.running = true;
                    OcfExit::Success
                }
            },
            OcfAction::Stop => match self.stop_result.take() {
                Some(exit) => exit,
                None => {
                    self.running = false;
                    self.promoted = false;
                    OcfExit::Success
                }
            },
            OcfAction::Monitor => match (self.running, self.promoted) {
                (false, _) => OcfExit::NotRunning,
                (true, true) => OcfExit::RunningPromoted,
                (true, false) => OcfExit::Success,
            },
            OcfAction::Promote => {
                if self.running {
                    self.promoted = true;
                    OcfExit::Success
                } else {
                    OcfExit::NotRunning
                }
            }
            OcfAction::Demote => {
                self.promoted = false;
                OcfExit::Success
            }
        }
    }
}

/// The managed processes of one node.
#[derive(Clone, Debug, Default)]
pub struct VirtualProcesses {
    processes: BTreeMap<ProcessId, VirtualProcess>,
}

impl VirtualProcesses {
    /// Adds (or replaces) a process.
    pub fn add(&mut self, id: ProcessId, process: VirtualProcess) {
        self.processes.insert(id, process);
    }

    /// A process, to inspect or change (e.g. `running = false` to kill it).
    pub fn get_mut(&mut self, id: ProcessId) -> Option<&mut VirtualProcess> {
        self.processes.get_mut(&id)
    }

    /// A process.
    pub fn get(&self, id: ProcessId) -> Option<&VirtualProcess> {
        self.processes.get(&id)
    }

    /// Kills a running process (a software failure): its next monitor says not running.
    pub fn kill(&mut self, id: ProcessId) {
        if let Some(p) = self.processes.get_mut(&id) {
            p.running = false;
            p.promoted = false;
        }
    }

    /// Every process dies with its node; returns those that were running.
    pub(super) fn power_off(&mut self) -> Vec<ProcessId> {
        let mut stopped = Vec::new();
        for (&id, p) in &mut self.processes {
            if p.running {
                stopped.push(id);
            }
            p.running = false;
            p.promoted = false;
        }
        stopped
    }
}
