//! masakari-hostmonitor on one compute host, with the cluster stack it watches.
//!
//! The real monitor polls Pacemaker/Corosync (`crm_mon`) every `monitoring_interval`
//! and sends a host-down notification for each node that went offline since the last
//! poll. The Corosync view is modelled here as ring heartbeats among the compute hosts
//! on [`crate::Net::Ring`]`(0)`: a host silent for the token plus consensus timeout leaves
//! the membership. So the monitor sees what the compute hosts' own cluster stack sees,
//! not the controller's view, and a partition between compute hosts is seen the way
//! Corosync sees it (src: MI, CS).
//!
//! Only a monitor whose membership has quorum reports (votequorum: more than half of the
//! compute hosts, or one of two with `two_node`), so the hosts cut off in a minority do
//! not have the majority fenced.

use core::time::Duration;
use std::collections::BTreeSet;
use std::sync::Arc;

use super::config::OpenStackConfig;
use super::msg::OpenStackMsg;
use crate::cluster::{ClusterCommand, ClusterNotice};
use crate::{Effect, Input, Machine, Net, NodeId, Time};

/// The host monitor's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MonitorTimer {
    /// Send the next ring heartbeat.
    RingTick,
    /// This host has been silent on the ring for the token + consensus timeout.
    PeerLost(NodeId),
    /// Poll the membership.
    Poll,
}

/// masakari-hostmonitor (and the ring membership it polls) on one compute host.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HostMonitor {
    cfg: Arc<OpenStackConfig>,
    me: NodeId,
    booted: bool,
    /// The other compute hosts in the ring membership.
    online: BTreeSet<NodeId>,
    /// Hosts already notified as down (until they are seen online again at a poll).
    reported: BTreeSet<NodeId>,
    /// How long after boot the first poll comes: the monitor's phase. The real service
    /// polls every `monitoring_interval` from whenever it started, unrelated to when a
    /// host fails; a driver that starts every host at once gives each its own phase so
    /// that the detection delay is not the same for every failure.
    first_poll: Duration,
}

type Out = Vec<Effect<HostMonitor>>;

impl HostMonitor {
    /// The monitor of compute host `me`, not started.
    pub fn new(cfg: Arc<OpenStackConfig>, me: NodeId) -> HostMonitor {
        HostMonitor {
            me,
            booted: false,
            online: BTreeSet::new(),
            reported: BTreeSet::new(),
            first_poll: cfg.timers.monitoring_interval,
            cfg,
        }
    }

    /// The same monitor, polling first `phase` after boot (then every
    /// `monitoring_interval`); a phase of zero is taken as the interval.
    pub fn with_poll_phase(mut self, phase: Duration) -> HostMonitor {
        if !phase.is_zero() {
            self.first_poll = phase;
        }
        self
    }

    /// The other compute hosts in this host's ring membership.
    pub fn online(&self) -> &BTreeSet<NodeId> {
        &self.online
    }

    /// Whether this host's membership has quorum (votequorum; `two_node` for two hosts).
    pub fn quorate(&self) -> bool {
        let total = self.cfg.computes.len();
        let members = self.online.len() + 1;
        total <= 2 || 2 * members > total
    }

    fn others(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.cfg
            .computes
            .iter()
            .copied()
            .filter(move |h| *h != self.me)
    }

    fn ring_heartbeat(&self, out: &mut Out) {
        for h in self.others() {
            out.push(Effect::Send {
                to: h,
                msg: OpenStackMsg::RingHeartbeat,
            });
        }
        out.push(Effect::SetTimer {
            id: MonitorTimer::RingTick,
            after: self.cfg.timers.ring_heartbeat,
        });
    }

    fn boot(&mut self, out: &mut Out) {
        self.booted = true;
        // The ring formed at boot: every host is a member until it falls silent.
        let t = self.cfg.timers;
        self.online = self.others().collect();
        for h in self.others() {
            out.push(Effect::SetTimer {
                id: MonitorTimer::PeerLost(h),
                after: t.ring_timeout,
            });
        }
        out.push(Effect::SetTimer {
            id: MonitorTimer::Poll,
            after: self.first_poll,
        });
        self.ring_heartbeat(out);
    }

    fn poll(&mut self, out: &mut Out) {
        out.push(Effect::SetTimer {
            id: MonitorTimer::Poll,
            after: self.cfg.timers.monitoring_interval,
        });
        let online = &self.online;
        self.reported.retain(|h| !online.contains(h));
        if !self.quorate() {
            return;
        }
        let down: Vec<NodeId> = self
            .others()
            .filter(|h| !self.online.contains(h) && !self.reported.contains(h))
            .collect();
        for host in down {
            self.reported.insert(host);
            out.push(Effect::Event(ClusterNotice::HostDownNotified(host)));
            out.push(Effect::Send {
                to: self.cfg.engine,
                msg: OpenStackMsg::HostDown { host },
            });
        }
    }
}

impl Machine for HostMonitor {
    type Msg = OpenStackMsg;
    type Timer = MonitorTimer;
    type Command = ClusterCommand;
    type Meta = ();
    type Notice = ClusterNotice;

    fn net(msg: &OpenStackMsg) -> Net {
        msg.net()
    }

    fn handle(&mut self, _now: Time, input: Input<Self>, out: &mut Vec<Effect<Self>>) {
        if !self.booted {
            if let Input::Command(ClusterCommand::Boot) = input {
                self.boot(out);
            }
            return;
        }
        match input {
            Input::Timer(MonitorTimer::RingTick) => self.ring_heartbeat(out),
            Input::Timer(MonitorTimer::PeerLost(h)) => {
                self.online.remove(&h);
            }
            Input::Timer(MonitorTimer::Poll) => self.poll(out),
            Input::Recv {
                from,
                msg: OpenStackMsg::RingHeartbeat,
            } if from != self.me && self.cfg.computes.contains(&from) => {
                self.online.insert(from);
                out.push(Effect::SetTimer {
                    id: MonitorTimer::PeerLost(from),
                    after: self.cfg.timers.ring_timeout,
                });
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_poll(m: HostMonitor) -> Option<Duration> {
        let mut m = m;
        let mut out = Vec::new();
        m.handle(Time::ZERO, Input::Command(ClusterCommand::Boot), &mut out);
        out.iter().find_map(|e| match e {
            Effect::SetTimer {
                id: MonitorTimer::Poll,
                after,
            } => Some(*after),
            _ => None,
        })
    }

    #[test]
    fn the_first_poll_comes_at_the_monitor_s_phase_then_every_interval() {
        let cfg = Arc::new(OpenStackConfig::new(
            [NodeId(0), NodeId(1)],
            NodeId(10),
            NodeId(11),
        ));
        let interval = cfg.timers.monitoring_interval;
        let plain = HostMonitor::new(Arc::clone(&cfg), NodeId(0));
        assert_eq!(first_poll(plain.clone()), Some(interval));
        let phased = plain.clone().with_poll_phase(Duration::from_secs(17));
        assert_eq!(first_poll(phased.clone()), Some(Duration::from_secs(17)));
        assert_eq!(
            first_poll(plain.with_poll_phase(Duration::ZERO)),
            Some(interval),
            "no phase: the interval"
        );
        // After the first poll, the interval.
        let mut m = phased;
        let mut out = Vec::new();
        m.handle(Time::ZERO, Input::Command(ClusterCommand::Boot), &mut out);
        out.clear();
        m.handle(Time::ZERO, Input::Timer(MonitorTimer::Poll), &mut out);
        assert!(out.contains(&Effect::SetTimer {
            id: MonitorTimer::Poll,
            after: interval
        }));
    }
}
