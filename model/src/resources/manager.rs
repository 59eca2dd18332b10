//! The resource manager machine: one node's side of one active/passive group.
//!
//! It starts the group left to right and stops it right to left, one OCF action at a
//! time; monitors every started resource; restarts a resource that failed softly (with
//! the resources above it); moves the group to the peer at the migration threshold or on
//! a hard error, demoting the replica here before the peer is asked to promote; stops the
//! group everywhere on a fatal error; and asks to be fenced when a stop fails.
//!
//! The engine is goal-driven: commands, messages and failures only change the *goal*
//! (run the group here, or not) and the recovery marks; after every input the manager
//! issues the next action that brings the resources closer to the goal, after the one
//! in flight has finished. That keeps every path (start, stop, restart, move, a goal that
//! changes half-way) in one small loop.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::config::GroupConfig;
use super::failure::FailureSeverity;
use super::msg::{PeerStatus, ResourceMsg};
use super::notice::ResourceNotice;
use super::state::{GroupPhase, ResourceStatus};
use crate::{
    Effect, Input, Machine, Net, OcfAction, OcfExit, ProcessEvent, ProcessId, ProcessRequest, Time,
};

/// What the membership layer and the operator tell a resource manager.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ResourceCommand {
    /// Initial start, once membership has settled (Heartbeat's `initdead`): the manager
    /// may run the group from now on. The preferred node starts it at once if the peer is
    /// not known to be alive, or as soon as the peer says it does not run it; the other
    /// node stays passive. Send [`ResourceCommand::PeerAlive`] *before* `Start` when the
    /// peer is up, so that a returning preferred node does not start a group the peer
    /// already runs.
    Start,
    /// The peer is dead (and fenced, if fencing is configured): run the group here. If
    /// the peer is alive (it gave the group up: ipfail), run it once the peer has
    /// stopped it.
    TakeOver,
    /// Stop the group here and stand by (quorum lost, node isolated, ipfail: worse
    /// connectivity than the peer) until the next `Start` or `TakeOver`. If the peer is
    /// reachable and able, it is handed the group once everything here is stopped.
    GiveUp,
    /// The peer's resource manager is reachable again: exchange statuses with it.
    PeerAlive,
    /// The peer is gone: do not wait for its answers (it runs nothing until `TakeOver`
    /// says so).
    PeerDead,
    /// `crm_resource --cleanup`: forget fail counts, bans and blocks on this node.
    Cleanup,
}

/// The manager's named timers, one of each per resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ResourceTimer {
    /// Run the next recurring monitor of a started resource.
    Monitor(ProcessId),
    /// The action in flight on a resource has run longer than its `op_timeout`.
    OpTimeout(ProcessId),
    /// `failure_timeout` has passed since the resource's last failure.
    FailureExpiry(ProcessId),
}

/// Whether the group should run here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Goal {
    Stopped,
    Running,
}

/// What to do once the group is completely stopped here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum AfterStop {
    Nothing,
    /// Ask the peer to start it (a move, or a failback).
    Handover,
}

/// What this node knows of the peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Peer {
    /// Nothing yet (before the membership layer said anything).
    Unknown,
    /// The membership layer declared it dead.
    Dead,
    /// Reachable; its last status, if it has sent one.
    Alive(Option<PeerStatus>),
}

/// An OCF action in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct PendingOp {
    action: OcfAction,
    call: u64,
}

/// One resource's state on this node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
struct Resource {
    status: ResourceStatus,
    fail_count: u32,
    op: Option<PendingOp>,
}

/// One node's resource manager for one active/passive group (a Heartbeat
/// `haresources` line, a Pacemaker group with its promotable replica).
///
/// Holds no timestamps: timers name what they are for, and a fail count's age is its
/// [`ResourceTimer::FailureExpiry`] timer. Nothing survives a crash (Pacemaker's fail
/// counts are transient node attributes, cleared when the node leaves the cluster).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ResourceManager {
    config: Arc<GroupConfig>,
    resources: Vec<Resource>,
    phase: GroupPhase,
    goal: Goal,
    /// A soft failure is being repaired: stop every resource from this index up, then
    /// start again.
    recover_from: Option<usize>,
    after_stop: AfterStop,
    peer: Peer,
    /// The status last sent to the peer, so that changes are sent once.
    told: Option<PeerStatus>,
    /// `Start` or `TakeOver` received, and no `GiveUp` since.
    enabled: bool,
    /// The peer is not known alive and this node was told to run the group
    /// (`TakeOver`, or `Start` on the preferred node): start it whenever eligible.
    alone: bool,
    /// Told to take over from a peer that is alive and gave the group up (ipfail's
    /// hand-over): start it once the peer reports it has released it.
    relieve: bool,
    /// A hard error happened here.
    banned: bool,
    /// A fatal error happened here or on the peer.
    blocked: bool,
    next_call: u64,
}

type Out = Vec<Effect<ResourceManager>>;

impl ResourceManager {
    /// A passive manager for `config` (which [`GroupConfig::validate`] should have
    /// accepted); it does nothing until `Start` or `TakeOver`.
    pub fn new(config: GroupConfig) -> ResourceManager {
        let n = config.resources.len();
        ResourceManager {
            config: Arc::new(config),
            resources: vec![Resource::default(); n],
            phase: GroupPhase::Stopped,
            goal: Goal::Stopped,
            recover_from: None,
            after_stop: AfterStop::Nothing,
            peer: Peer::Unknown,
            told: None,
            enabled: false,
            alone: false,
            relieve: false,
            banned: false,
            blocked: false,
            next_call: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &GroupConfig {
        &self.config
    }

    /// Where the group is on this node.
    pub fn phase(&self) -> GroupPhase {
        self.phase
    }

    /// Where resource `id` is on this node.
    pub fn resource_status(&self, id: ProcessId) -> Option<ResourceStatus> {
        self.index(id).map(|i| self.resources[i].status)
    }

    /// The fail count of resource `id` on this node (`u32::MAX` is INFINITY).
    pub fn fail_count(&self, id: ProcessId) -> Option<u32> {
        self.index(id).map(|i| self.resources[i].fail_count)
    }

    /// Whether the group runs, starts or stops here.
    pub fn is_active(&self) -> bool {
        self.goal == Goal::Running || !self.all_stopped()
    }

    /// Whether this node could run the group.
    pub fn is_eligible(&self) -> bool {
        self.enabled
            && !self.banned
            && !self.blocked
            && self.phase != GroupPhase::Fenced
            && self
                .resources
                .iter()
                .all(|r| !self.config.threshold_reached(r.fail_count))
    }

    /// Whether a hard error banned the group from this node.
    pub fn is_banned(&self) -> bool {
        self.banned
    }

    /// Whether a fatal error keeps the group from running anywhere.
    pub fn is_blocked(&self) -> bool {
        self.blocked
    }

    /// What this node tells the peer about itself.
    pub fn status(&self) -> PeerStatus {
        PeerStatus {
            active: self.is_active(),
            eligible: self.is_eligible(),
        }
    }

    /// The peer's last status, if it is reachable and has sent one.
    pub fn peer_status(&self) -> Option<PeerStatus> {
        match self.peer {
            Peer::Alive(s) => s,
            Peer::Unknown | Peer::Dead => None,
        }
    }

    fn index(&self, id: ProcessId) -> Option<usize> {
        self.config.resources.iter().position(|r| r.id == id)
    }

    fn all_stopped(&self) -> bool {
        self.resources
            .iter()
            .all(|r| r.status == ResourceStatus::Stopped)
    }

    fn is_preferred(&self) -> bool {
        self.config.me == self.config.preferred
    }

    // ----- inputs -----

    fn command(&mut self, cmd: ResourceCommand, out: &mut Out) {
        match cmd {
            ResourceCommand::Start => {
                self.enabled = true;
                if self.is_preferred() && !matches!(self.peer, Peer::Alive(_)) {
                    self.alone = true;
                }
            }
            ResourceCommand::TakeOver => {
                self.enabled = true;
                if let Peer::Alive(_) = self.peer {
                    // A hand-over from a live peer (ipfail, `hb_standby`): Heartbeat's
                    // releasing node stops its resources before the other acquires them,
                    // and Pacemaker demotes before it promotes. So wait until the peer
                    // reports the group stopped (or hands it over), and do not forget
                    // that it is alive. If it dies meanwhile, `PeerDead` cancels this and
                    // the membership layer's failover `TakeOver` (after the fence, with
                    // STONITH) starts the group.
                    self.relieve = true;
                } else {
                    self.peer = Peer::Dead;
                    self.told = None;
                    self.alone = true;
                }
                if !self.is_eligible() {
                    out.push(Effect::Event(ResourceNotice::CannotRun));
                }
            }
            ResourceCommand::GiveUp => {
                // Only a node that runs (part of) the group has something to hand over.
                if self.is_active() {
                    self.after_stop = AfterStop::Handover;
                }
                self.enabled = false;
                self.alone = false;
                self.relieve = false;
                self.goal = Goal::Stopped;
                self.recover_from = None;
            }
            ResourceCommand::PeerAlive => {
                self.peer = Peer::Alive(None);
                self.alone = false;
                self.send_status(true, out);
            }
            ResourceCommand::PeerDead => {
                self.peer = Peer::Dead;
                self.told = None;
                self.relieve = false;
            }
            ResourceCommand::Cleanup => {
                for (i, r) in self.resources.iter_mut().enumerate() {
                    r.fail_count = 0;
                    out.push(Effect::CancelTimer(ResourceTimer::FailureExpiry(
                        self.config.resources[i].id,
                    )));
                }
                self.banned = false;
                self.blocked = false;
                out.push(Effect::Event(ResourceNotice::CleanedUp));
            }
        }
    }

    fn recv(&mut self, msg: ResourceMsg, out: &mut Out) {
        match msg {
            ResourceMsg::Status { status, ask } => {
                // The membership layer decides whether the peer is alive; a status that
                // arrives before it says so (or after it declared the peer dead) is
                // stale, and the exchange at `PeerAlive` will bring a fresh one.
                if !matches!(self.peer, Peer::Alive(_)) {
                    return;
                }
                self.peer = Peer::Alive(Some(status));
                if ask {
                    self.send_status(false, out);
                }
                if status.active && self.is_active() {
                    out.push(Effect::Event(ResourceNotice::ActiveOnBoth));
                    if !self.is_preferred() {
                        self.goal = Goal::Stopped;
                        self.recover_from = None;
                        self.after_stop = AfterStop::Nothing;
                    }
                }
            }
            ResourceMsg::Handover => {
                if self.goal == Goal::Running {
                    return;
                }
                if self.is_eligible() {
                    self.goal = Goal::Running;
                    self.after_stop = AfterStop::Nothing;
                    self.relieve = false;
                } else {
                    self.send(ResourceMsg::Declined, out);
                    out.push(Effect::Event(ResourceNotice::HandoverDeclined));
                }
            }
            ResourceMsg::Declined => {
                out.push(Effect::Event(ResourceNotice::HandoverRefused));
                if let Peer::Alive(_) = self.peer {
                    self.peer = Peer::Alive(Some(PeerStatus {
                        active: false,
                        eligible: false,
                    }));
                }
                // A failback the preferred node cannot accept: keep the group.
                if self.goal == Goal::Stopped && self.is_eligible() {
                    self.goal = Goal::Running;
                    self.after_stop = AfterStop::Nothing;
                }
            }
            ResourceMsg::Blocked { id, exit } => self.block(id, exit, out),
        }
    }

    fn timer(&mut self, timer: ResourceTimer, out: &mut Out) {
        match timer {
            ResourceTimer::Monitor(id) => {
                if let Some(i) = self.index(id) {
                    let r = self.resources[i];
                    if r.status == ResourceStatus::Started && r.op.is_none() {
                        self.issue(i, OcfAction::Monitor, out);
                    }
                }
            }
            ResourceTimer::OpTimeout(id) => {
                if let Some(i) = self.index(id) {
                    if let Some(op) = self.resources[i].op.take() {
                        self.complete(i, op.action, OcfExit::Timeout, out);
                    }
                }
            }
            ResourceTimer::FailureExpiry(id) => {
                if let Some(i) = self.index(id) {
                    if self.resources[i].fail_count > 0 {
                        self.resources[i].fail_count = 0;
                        out.push(Effect::Event(ResourceNotice::FailCountExpired(id)));
                    }
                }
            }
        }
    }

    fn process(&mut self, ev: ProcessEvent, out: &mut Out) {
        let Some(i) = self.index(ev.process) else {
            return;
        };
        match self.resources[i].op {
            // Only the answer to the action in flight counts; an answer to an older call
            // (a monitor cancelled by a stop, an action that already timed out) is stale.
            Some(op) if op.call == ev.call && op.action == ev.action => {
                self.resources[i].op = None;
                out.push(Effect::CancelTimer(ResourceTimer::OpTimeout(ev.process)));
                self.complete(i, op.action, ev.exit, out);
            }
            _ => {}
        }
    }

    // ----- outcomes of actions -----

    fn complete(&mut self, i: usize, action: OcfAction, exit: OcfExit, out: &mut Out) {
        let spec = &self.config.resources[i];
        let (id, kind) = (spec.id, spec.kind);
        match action {
            OcfAction::Start | OcfAction::Promote => {
                if exit == OcfExit::Success {
                    self.resources[i].status = ResourceStatus::Started;
                    out.push(Effect::Event(ResourceNotice::ResourceStarted(id)));
                    self.arm_monitor(i, out);
                } else {
                    self.resources[i].status = ResourceStatus::Failed;
                    out.push(Effect::Event(ResourceNotice::StartFailed { id, exit }));
                    self.fail(i, exit, true, out);
                }
            }
            OcfAction::Stop | OcfAction::Demote => {
                // "Not running" is as good as stopped (OCF stop is idempotent).
                if matches!(exit, OcfExit::Success | OcfExit::NotRunning) {
                    self.resources[i].status = ResourceStatus::Stopped;
                    out.push(Effect::Event(ResourceNotice::ResourceStopped(id)));
                } else {
                    out.push(Effect::Event(ResourceNotice::StopFailed { id, exit }));
                    self.fence_self(out);
                }
            }
            OcfAction::Monitor => {
                if self.resources[i].status != ResourceStatus::Started {
                    return;
                }
                if exit == kind.monitor_expects() {
                    self.arm_monitor(i, out);
                } else {
                    self.resources[i].status = ResourceStatus::Failed;
                    out.push(Effect::Event(ResourceNotice::MonitorFailed { id, exit }));
                    self.fail(i, exit, false, out);
                }
            }
        }
    }

    /// Recovery from a failed start (`start`) or monitor of resource `i`.
    fn fail(&mut self, i: usize, exit: OcfExit, start: bool, out: &mut Out) {
        let id = self.config.resources[i].id;
        match FailureSeverity::of(exit) {
            FailureSeverity::Fatal => {
                self.block(id, exit, out);
                self.send(ResourceMsg::Blocked { id, exit }, out);
            }
            FailureSeverity::Hard => {
                self.banned = true;
                out.push(Effect::Event(ResourceNotice::Banned { id, exit }));
                self.move_away();
            }
            FailureSeverity::Soft => {
                let r = &mut self.resources[i];
                r.fail_count = if start && self.config.start_failure_is_fatal {
                    u32::MAX
                } else {
                    r.fail_count.saturating_add(1)
                };
                let count = r.fail_count;
                out.push(Effect::Event(ResourceNotice::FailCount { id, count }));
                if !self.config.failure_timeout.is_zero() {
                    out.push(Effect::SetTimer {
                        id: ResourceTimer::FailureExpiry(id),
                        after: self.config.failure_timeout,
                    });
                }
                if self.config.threshold_reached(count) {
                    out.push(Effect::Event(ResourceNotice::MigrationThresholdReached(id)));
                    self.move_away();
                } else if self.goal == Goal::Running {
                    self.recover_from = Some(self.recover_from.map_or(i, |k| k.min(i)));
                    if self.phase == GroupPhase::Started {
                        self.phase = GroupPhase::Recovering;
                    }
                    out.push(Effect::Event(ResourceNotice::Restarting(id)));
                }
            }
        }
    }

    /// Stop here and hand the group to the peer once everything is down.
    fn move_away(&mut self) {
        if self.goal == Goal::Running {
            self.goal = Goal::Stopped;
            self.recover_from = None;
            self.after_stop = AfterStop::Handover;
        }
    }

    /// A fatal error: stop here, run nowhere.
    fn block(&mut self, id: ProcessId, exit: OcfExit, out: &mut Out) {
        self.blocked = true;
        self.goal = Goal::Stopped;
        self.recover_from = None;
        self.after_stop = AfterStop::Nothing;
        out.push(Effect::Event(ResourceNotice::Blocked { id, exit }));
    }

    /// A stop failed: the resource's state is unknown, so the node must be fenced before
    /// anyone else may run the group (PX: on-fail for stop is fence). Nothing more is
    /// done here.
    fn fence_self(&mut self, out: &mut Out) {
        self.phase = GroupPhase::Fenced;
        for spec in &self.config.resources {
            out.push(Effect::CancelTimer(ResourceTimer::Monitor(spec.id)));
            out.push(Effect::CancelTimer(ResourceTimer::OpTimeout(spec.id)));
            out.push(Effect::CancelTimer(ResourceTimer::FailureExpiry(spec.id)));
        }
        out.push(Effect::Fence(self.config.me));
    }

    // ----- actions -----

    fn issue(&mut self, i: usize, action: OcfAction, out: &mut Out) {
        let spec = &self.config.resources[i];
        let call = self.next_call;
        self.next_call = self.next_call.wrapping_add(1);
        self.resources[i].op = Some(PendingOp { action, call });
        out.push(Effect::Process(ProcessRequest {
            process: spec.id,
            action,
            call,
        }));
        out.push(Effect::SetTimer {
            id: ResourceTimer::OpTimeout(spec.id),
            after: spec.op_timeout,
        });
    }

    fn arm_monitor(&self, i: usize, out: &mut Out) {
        let spec = &self.config.resources[i];
        if !spec.monitor_interval.is_zero() {
            out.push(Effect::SetTimer {
                id: ResourceTimer::Monitor(spec.id),
                after: spec.monitor_interval,
            });
        }
    }

    fn start_resource(&mut self, i: usize, out: &mut Out) {
        self.resources[i].status = ResourceStatus::Starting;
        let action = self.config.resources[i].kind.start_action();
        self.issue(i, action, out);
    }

    /// Stops resource `i`, cancelling its recurring monitor first (an answer to a monitor
    /// still in flight becomes stale).
    fn stop_resource(&mut self, i: usize, out: &mut Out) {
        let spec = &self.config.resources[i];
        out.push(Effect::CancelTimer(ResourceTimer::Monitor(spec.id)));
        let action = spec.kind.stop_action();
        self.resources[i].status = ResourceStatus::Stopping;
        self.issue(i, action, out);
    }

    fn send(&self, msg: ResourceMsg, out: &mut Out) {
        out.push(Effect::Send {
            to: self.config.peer,
            msg,
        });
    }

    fn send_status(&mut self, ask: bool, out: &mut Out) {
        let status = self.status();
        self.send(ResourceMsg::Status { status, ask }, out);
        self.told = Some(status);
    }

    /// Sends the status if it changed since the peer last heard it.
    fn tell_peer(&mut self, out: &mut Out) {
        if matches!(self.peer, Peer::Alive(_)) && self.told != Some(self.status()) {
            self.send_status(false, out);
        }
    }

    fn hand_over(&mut self, out: &mut Out) {
        if let Peer::Alive(status) = self.peer {
            if status.is_none_or(|s| s.eligible) {
                self.send(ResourceMsg::Handover, out);
                out.push(Effect::Event(ResourceNotice::HandedOver));
                // Until the peer says otherwise, it runs the group: this node must not
                // start it meanwhile.
                self.peer = Peer::Alive(Some(PeerStatus {
                    active: true,
                    eligible: true,
                }));
            }
        }
    }

    /// Whether this passive node should start the group now. Both nodes apply the same
    /// rules, so exactly one of them answers yes:
    ///
    /// * peer alive and passive: the preferred node runs the group if it can, and hands
    ///   it to the peer if it cannot; the other node waits for a handover, or for the
    ///   peer it was told to relieve to have given the group up (`TakeOver`);
    /// * peer not alive: run it if told to (`TakeOver`, or `Start` on the preferred node)
    ///   and able to (after a fail count expires, too).
    fn place(&mut self, out: &mut Out) -> bool {
        if self.goal == Goal::Running || !self.all_stopped() {
            return false;
        }
        match self.peer {
            Peer::Alive(Some(peer)) => {
                let relieved = self.relieve && !peer.eligible;
                if peer.active || !(self.is_preferred() || relieved) {
                    return false;
                }
                if self.is_eligible() {
                    self.goal = Goal::Running;
                    self.relieve = false;
                    return true;
                }
                if self.enabled && !self.blocked && peer.eligible {
                    self.hand_over(out);
                }
                false
            }
            Peer::Alive(None) => false,
            Peer::Unknown | Peer::Dead => {
                if self.alone && self.is_eligible() {
                    self.goal = Goal::Running;
                    true
                } else {
                    false
                }
            }
        }
    }

    /// `auto_failback`: the preferred node is back, idle and able to run the group.
    fn should_fail_back(&self) -> bool {
        self.config.auto_failback
            && !self.is_preferred()
            && matches!(
                self.peer,
                Peer::Alive(Some(PeerStatus {
                    active: false,
                    eligible: true
                }))
            )
    }

    /// Issues the next action towards the goal, unless a start or stop is in flight.
    fn drive(&mut self, out: &mut Out) {
        let n = self.resources.len();
        // Each round either issues an action and returns, or flips the goal once; four
        // rounds are more than any input needs.
        for _ in 0..4 {
            if self.phase == GroupPhase::Fenced
                || self.resources.iter().any(|r| {
                    matches!(
                        r.status,
                        ResourceStatus::Starting | ResourceStatus::Stopping
                    )
                })
            {
                return;
            }
            if let Some(k) = self.recover_from {
                if let Some(i) = (k..n)
                    .rev()
                    .find(|&i| self.resources[i].status != ResourceStatus::Stopped)
                {
                    self.stop_resource(i, out);
                    return;
                }
                self.recover_from = None;
            }
            match self.goal {
                Goal::Stopped => {
                    if let Some(i) = (0..n)
                        .rev()
                        .find(|&i| self.resources[i].status != ResourceStatus::Stopped)
                    {
                        if self.phase != GroupPhase::Stopping {
                            self.phase = GroupPhase::Stopping;
                            out.push(Effect::Event(ResourceNotice::GroupStopping));
                        }
                        self.stop_resource(i, out);
                        return;
                    }
                    if self.phase != GroupPhase::Stopped {
                        self.phase = GroupPhase::Stopped;
                        out.push(Effect::Event(ResourceNotice::GroupStopped));
                    }
                    if self.after_stop == AfterStop::Handover {
                        self.after_stop = AfterStop::Nothing;
                        self.hand_over(out);
                    }
                    if !self.place(out) {
                        return;
                    }
                }
                Goal::Running => {
                    if let Some(i) =
                        (0..n).find(|&i| self.resources[i].status != ResourceStatus::Started)
                    {
                        if self.resources[i].status == ResourceStatus::Failed {
                            self.stop_resource(i, out);
                        } else {
                            if matches!(self.phase, GroupPhase::Stopped | GroupPhase::Stopping) {
                                self.phase = GroupPhase::Starting;
                                out.push(Effect::Event(ResourceNotice::GroupStarting));
                            }
                            self.start_resource(i, out);
                        }
                        return;
                    }
                    if self.phase != GroupPhase::Started {
                        self.phase = GroupPhase::Started;
                        out.push(Effect::Event(ResourceNotice::GroupStarted));
                    }
                    if !self.should_fail_back() {
                        return;
                    }
                    out.push(Effect::Event(ResourceNotice::FailingBack));
                    self.goal = Goal::Stopped;
                    self.recover_from = None;
                    self.after_stop = AfterStop::Handover;
                }
            }
        }
    }
}

impl Machine for ResourceManager {
    type Msg = ResourceMsg;
    type Timer = ResourceTimer;
    type Command = ResourceCommand;
    type Meta = ();
    type Notice = ResourceNotice;

    /// The managers talk over the cluster-communication ring, as Heartbeat's and
    /// Pacemaker's messaging does.
    fn net(_msg: &ResourceMsg) -> Net {
        Net::Ring(0)
    }

    fn handle(&mut self, _now: Time, input: Input<Self>, out: &mut Vec<Effect<Self>>) {
        if self.phase == GroupPhase::Fenced {
            return;
        }
        match input {
            Input::Command(cmd) => self.command(cmd, out),
            Input::Recv { from, msg } if from == self.config.peer => self.recv(msg, out),
            Input::Timer(t) => self.timer(t, out),
            Input::Process(ev) => self.process(ev, out),
            _ => {}
        }
        self.drive(out);
        self.tell_peer(out);
    }
}
