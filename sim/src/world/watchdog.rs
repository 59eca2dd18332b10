//! The service watchdog of the study's guests: Monit, checking every `watchdog.cycle`
//! seconds (at a phase drawn per trial) that the service of the guest holding the group
//! runs.
//!
//! Heartbeat v1 never monitors its resources (src: HA-CF, "HeartbeatResourceAgents"),
//! so in the study's setup a service stopped by hand is noticed by nothing else. The
//! study says the stopped service came back on the other node (STUDY, recovery times),
//! which fits Monit running `heartbeat stop` (a graceful handover, no deadtime wait);
//! `restart` starts the service again in place instead.

use model::NodeId;
use model::guest::GuestCommand;
use model::resources::{GroupPhase, ResourceCommand, ResourceStatus};

use super::{FS, SERVICE, World, secs};
use crate::node::{SimCommand, SimNode};
use crate::profile::WatchdogAction;

impl World {
    /// Finishes the restarts that are due and, at each check, acts on every guest whose
    /// group is started but whose service process is gone.
    pub(super) fn run_watchdog(&mut self) {
        let now = self.lab.now();
        if self.restarts.is_empty()
            && self.handing_over.is_empty()
            && self.watchdog_next.is_none_or(|t| now < t)
        {
            return;
        }
        let (due, later): (Vec<_>, Vec<_>) = self.restarts.iter().partition(|(t, _)| *t <= now);
        self.restarts = later;
        for (_, g) in due {
            let mounted = self.lab.processes(g).get(FS).is_some_and(|p| p.running);
            if self.lab.is_up(g) && mounted {
                self.lab.set_running(g, SERVICE, true);
            }
        }
        let handing: Vec<NodeId> = self.handing_over.clone();
        self.handing_over = handing
            .into_iter()
            .filter(|&g| {
                self.lab.is_up(g) && self.lab.processes(g).get(FS).is_some_and(|p| p.running)
            })
            .collect();
        let Some(next) = self.watchdog_next else {
            return;
        };
        if now < next {
            return;
        }
        let cycle = secs(self.profile.watchdog.cycle);
        let mut following = next;
        while following <= now {
            following = following + cycle;
        }
        self.watchdog_next = Some(following);
        let guests: Vec<NodeId> = self.guests.keys().copied().collect();
        for g in guests {
            if !self.service_gone(g)
                || self.handing_over.contains(&g)
                || self.restarts.iter().any(|(_, x)| *x == g)
            {
                continue;
            }
            if self.profile.watchdog.action != WatchdogAction::None {
                self.watchdog_acts.push((now, g));
            }
            match self.profile.watchdog.action {
                WatchdogAction::None => {}
                WatchdogAction::Failover => {
                    self.lab.command(
                        g,
                        SimCommand::Guest(GuestCommand::Resources(ResourceCommand::GiveUp)),
                    );
                    self.handing_over.push(g);
                }
                WatchdogAction::Restart => {
                    let start = self.profile.services[&self.cell.service].start;
                    let d = start.sample(&mut self.watchdog_rng);
                    self.restarts.push((now + d, g));
                }
            }
        }
    }

    /// The guest runs, is not hung, its group is started and believes the service
    /// runs, but the service process does not.
    fn service_gone(&self, g: NodeId) -> bool {
        if !self.lab.is_up(g) || self.is_hung(g) {
            return false;
        }
        let Some(SimNode::Guest(guest)) = self.lab.try_node(g) else {
            return false;
        };
        let r = guest.resources();
        r.phase() == GroupPhase::Started
            && r.resource_status(SERVICE) == Some(ResourceStatus::Started)
            && !self
                .lab
                .processes(g)
                .get(SERVICE)
                .is_some_and(|p| p.running)
    }
}
