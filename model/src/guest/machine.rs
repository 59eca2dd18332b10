//! The [`Guest`] machine: replica + membership + resource manager.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::config::{GuestConfig, GuestConfigError};
use crate::machine::Compose;
use crate::membership::{
    Membership, MembershipCommand, MembershipMsg, MembershipNotice, MembershipTimer,
};
use crate::replication::{
    DiskState, Replica, ReplicaCommand, ReplicaMeta, ReplicaMsg, ReplicaNotice, ReplicaTimer, Role,
};
use crate::resources::{
    ResourceCommand, ResourceManager, ResourceMsg, ResourceNotice, ResourceTimer,
};
use crate::{
    Effect, Input, Machine, Net, OcfAction, OcfExit, ProcessEvent, ProcessId, ProcessRequest, Time,
};

/// A message between guests, tagged with the part it is for.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GuestMsg {
    /// Between replicas (and to the witness).
    Replica(ReplicaMsg),
    /// Between membership layers (and to ping nodes and the quorum device).
    Membership(MembershipMsg),
    /// Between resource managers.
    Resources(ResourceMsg),
}

/// A guest's timer, tagged with its part.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GuestTimer {
    /// The replica's.
    Replica(ReplicaTimer),
    /// The membership layer's.
    Membership(MembershipTimer),
    /// The resource manager's.
    Resources(ResourceTimer),
    /// Try a refused promotion of the replica again.
    RetryPromote,
}

/// What a guest reports, tagged with its part.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum GuestNotice {
    /// From the replica.
    Replica(ReplicaNotice),
    /// From the membership layer.
    Membership(MembershipNotice),
    /// From the resource manager.
    Resources(ResourceNotice),
}

/// A request to a guest.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum GuestCommand {
    /// The guest boots: the replica connects, the membership layer starts (with the
    /// driver's random fence delay); the resource manager starts once membership has an
    /// opinion about the peer (alive, or dead after initdead).
    Boot {
        /// The driver's draw in `[0, pcmk_delay_max]`.
        fence_delay: core::time::Duration,
    },
    /// Application I/O and `drbdadm` commands.
    Replica(ReplicaCommand),
    /// A command to the membership layer.
    Membership(MembershipCommand),
    /// `crm`-style commands to the resource manager (cleanup, ...).
    Resources(ResourceCommand),
}

/// How often the guest tries a refused promotion of its replica, 1 s apart: Heartbeat's
/// `drbddisk` script retries `drbdadm primary` (src: drbd-utils `scripts/drbddisk`, its
/// retry loop), because the peer's demotion may still be on its way.
const PROMOTE_TRIES: u8 = 6;
/// The pause between promotion tries.
const PROMOTE_RETRY: core::time::Duration = core::time::Duration::from_secs(1);

/// One guest of the DRBD + Heartbeat pair.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Guest {
    replica: Replica,
    membership: Membership,
    resources: ResourceManager,
    /// The group's replica resource: its OCF actions are served by `replica`.
    replica_resource: ProcessId,
    /// A promote the resource manager is waiting for (its call number).
    pending_promote: Option<u64>,
    /// Tries left for the pending promote.
    promote_tries_left: u8,
    /// The resource manager has been started.
    resources_started: bool,
}

/// An input for one part, queued while the parts talk to each other.
enum PartInput {
    Replica(Input<Replica>),
    Membership(Input<Membership>),
    Resources(Input<ResourceManager>),
}

impl Guest {
    /// A guest with fresh replica metadata.
    pub fn new(cfg: GuestConfig) -> Result<Guest, GuestConfigError> {
        Guest::restart(cfg, None)
    }

    /// A guest booting from its replica's persisted metadata (after a crash or a VM
    /// restart on another host). Only the replica keeps anything across a crash; the
    /// membership layer and the resource manager start afresh, as their daemons do.
    pub fn restart(cfg: GuestConfig, meta: Option<ReplicaMeta>) -> Result<Guest, GuestConfigError> {
        cfg.validate()?;
        let replica_resource = cfg.replica_resource()?;
        Ok(Guest {
            replica: Replica::restart(cfg.replica, meta),
            membership: Membership::new(cfg.membership)?,
            resources: ResourceManager::new(cfg.group),
            replica_resource,
            pending_promote: None,
            promote_tries_left: 0,
            resources_started: false,
        })
    }

    /// The replica part.
    pub fn replica(&self) -> &Replica {
        &self.replica
    }

    /// The membership part.
    pub fn membership(&self) -> &Membership {
        &self.membership
    }

    /// The resource manager part.
    pub fn resources(&self) -> &ResourceManager {
        &self.resources
    }

    /// The OCF answer for an action on the replica resource, from the replica's state;
    /// `None` for a promote that has to wait for the replica.
    fn replica_action(
        &mut self,
        req: ProcessRequest,
        queue: &mut VecDeque<PartInput>,
    ) -> Option<OcfExit> {
        let demote = |queue: &mut VecDeque<PartInput>| {
            queue.push_back(PartInput::Replica(Input::Command(ReplicaCommand::Demote)));
        };
        match req.action {
            OcfAction::Start => Some(OcfExit::Success),
            OcfAction::Stop | OcfAction::Demote => {
                demote(queue);
                Some(OcfExit::Success)
            }
            OcfAction::Monitor => Some(match (self.replica.role(), self.replica.disk()) {
                (_, d) if d <= DiskState::Failed => OcfExit::ErrGeneric,
                (Role::Primary, DiskState::UpToDate) => OcfExit::RunningPromoted,
                (Role::Primary, _) => OcfExit::FailedPromoted,
                (Role::Secondary, _) => OcfExit::Success,
            }),
            OcfAction::Promote => {
                if self.replica.role() == Role::Primary {
                    return Some(OcfExit::Success);
                }
                self.pending_promote = Some(req.call);
                self.promote_tries_left = PROMOTE_TRIES;
                queue.push_back(PartInput::Replica(Input::Command(
                    ReplicaCommand::Promote { force: false },
                )));
                None
            }
        }
    }

    fn answer_replica_resource(
        &self,
        action: OcfAction,
        call: u64,
        exit: OcfExit,
        queue: &mut VecDeque<PartInput>,
    ) {
        queue.push_back(PartInput::Resources(Input::Process(ProcessEvent {
            process: self.replica_resource,
            action,
            call,
            exit,
        })));
    }

    /// Runs the queued part inputs until the parts are quiet.
    fn run(&mut self, now: Time, mut queue: VecDeque<PartInput>, out: &mut Vec<Effect<Guest>>) {
        while let Some(next) = queue.pop_front() {
            match next {
                PartInput::Replica(input) => {
                    let mut part_out = Vec::new();
                    self.replica.handle(now, input, &mut part_out);
                    for e in part_out {
                        if let (Effect::Event(notice), Some(call)) = (&e, self.pending_promote) {
                            let exit = match notice {
                                ReplicaNotice::Role(Role::Primary) => Some(OcfExit::Success),
                                ReplicaNotice::PromoteRefused(_) if self.promote_tries_left > 1 => {
                                    // drbddisk retries `drbdadm primary`: the peer's demotion
                                    // may not have reached this node yet.
                                    self.promote_tries_left -= 1;
                                    out.push(Effect::SetTimer {
                                        id: GuestTimer::RetryPromote,
                                        after: PROMOTE_RETRY,
                                    });
                                    None
                                }
                                ReplicaNotice::PromoteRefused(_) => Some(OcfExit::ErrGeneric),
                                _ => None,
                            };
                            if let Some(exit) = exit {
                                self.pending_promote = None;
                                self.answer_replica_resource(
                                    OcfAction::Promote,
                                    call,
                                    exit,
                                    &mut queue,
                                );
                            }
                        }
                        out.extend(e.lift());
                    }
                }
                PartInput::Membership(input) => {
                    let mut part_out = Vec::new();
                    self.membership.handle(now, input, &mut part_out);
                    for e in part_out {
                        if let Effect::Event(notice) = &e {
                            let command = match notice {
                                MembershipNotice::TakeOver => Some(ResourceCommand::TakeOver),
                                MembershipNotice::GiveUp => Some(ResourceCommand::GiveUp),
                                MembershipNotice::PeerAlive(_) => Some(ResourceCommand::PeerAlive),
                                MembershipNotice::PeerDead(_) => Some(ResourceCommand::PeerDead),
                                _ => None,
                            };
                            if let Some(command) = command {
                                queue.push_back(PartInput::Resources(Input::Command(command)));
                            }
                            // Heartbeat starts resources once it knows the peer is alive;
                            // a dead peer (after initdead) arrives as TakeOver instead.
                            if matches!(notice, MembershipNotice::PeerAlive(_))
                                && !self.resources_started
                            {
                                self.resources_started = true;
                                queue.push_back(PartInput::Resources(Input::Command(
                                    ResourceCommand::Start,
                                )));
                            }
                            if matches!(notice, MembershipNotice::TakeOver) {
                                self.resources_started = true;
                            }
                        }
                        out.extend(e.lift());
                    }
                }
                PartInput::Resources(input) => {
                    let mut part_out = Vec::new();
                    self.resources.handle(now, input, &mut part_out);
                    for e in part_out {
                        match e {
                            Effect::Process(req) if req.process == self.replica_resource => {
                                if let Some(exit) = self.replica_action(req, &mut queue) {
                                    self.answer_replica_resource(
                                        req.action, req.call, exit, &mut queue,
                                    );
                                }
                            }
                            e => out.extend(e.lift()),
                        }
                    }
                }
            }
        }
    }
}

impl Compose<Replica> for Guest {
    fn lift_msg(msg: ReplicaMsg) -> GuestMsg {
        GuestMsg::Replica(msg)
    }
    fn lift_timer(timer: ReplicaTimer) -> GuestTimer {
        GuestTimer::Replica(timer)
    }
    fn lift_meta(meta: ReplicaMeta) -> Option<ReplicaMeta> {
        Some(meta)
    }
    fn lift_notice(notice: ReplicaNotice) -> GuestNotice {
        GuestNotice::Replica(notice)
    }
}

impl Compose<Membership> for Guest {
    fn lift_msg(msg: MembershipMsg) -> GuestMsg {
        GuestMsg::Membership(msg)
    }
    fn lift_timer(timer: MembershipTimer) -> GuestTimer {
        GuestTimer::Membership(timer)
    }
    fn lift_meta((): ()) -> Option<ReplicaMeta> {
        None
    }
    fn lift_notice(notice: MembershipNotice) -> GuestNotice {
        GuestNotice::Membership(notice)
    }
}

impl Compose<ResourceManager> for Guest {
    fn lift_msg(msg: ResourceMsg) -> GuestMsg {
        GuestMsg::Resources(msg)
    }
    fn lift_timer(timer: ResourceTimer) -> GuestTimer {
        GuestTimer::Resources(timer)
    }
    fn lift_meta((): ()) -> Option<ReplicaMeta> {
        None
    }
    fn lift_notice(notice: ResourceNotice) -> GuestNotice {
        GuestNotice::Resources(notice)
    }
}

impl Machine for Guest {
    type Msg = GuestMsg;
    type Timer = GuestTimer;
    type Command = GuestCommand;
    type Meta = ReplicaMeta;
    type Notice = GuestNotice;

    fn net(msg: &GuestMsg) -> Net {
        match msg {
            GuestMsg::Replica(m) => Replica::net(m),
            GuestMsg::Membership(m) => Membership::net(m),
            GuestMsg::Resources(m) => ResourceManager::net(m),
        }
    }

    fn handle(&mut self, now: Time, input: Input<Self>, out: &mut Vec<Effect<Self>>) {
        let mut queue = VecDeque::new();
        let part = match input {
            Input::Recv { from, msg } => match msg {
                GuestMsg::Replica(msg) => PartInput::Replica(Input::Recv { from, msg }),
                GuestMsg::Membership(msg) => PartInput::Membership(Input::Recv { from, msg }),
                GuestMsg::Resources(msg) => PartInput::Resources(Input::Recv { from, msg }),
            },
            Input::Timer(t) => match t {
                GuestTimer::RetryPromote => {
                    if self.pending_promote.is_none() {
                        return;
                    }
                    PartInput::Replica(Input::Command(ReplicaCommand::Promote { force: false }))
                }
                GuestTimer::Replica(t) => PartInput::Replica(Input::Timer(t)),
                GuestTimer::Membership(t) => PartInput::Membership(Input::Timer(t)),
                GuestTimer::Resources(t) => PartInput::Resources(Input::Timer(t)),
            },
            Input::Disk(d) => PartInput::Replica(Input::Disk(d)),
            Input::HandlerDone(h) => PartInput::Replica(Input::HandlerDone(h)),
            Input::Process(p) => PartInput::Resources(Input::Process(p)),
            Input::FenceDone { node, success } => {
                PartInput::Membership(Input::FenceDone { node, success })
            }
            Input::Command(c) => match c {
                GuestCommand::Boot { fence_delay } => {
                    queue.push_back(PartInput::Replica(Input::Command(
                        ReplicaCommand::Connect {
                            discard_my_data: false,
                        },
                    )));
                    PartInput::Membership(Input::Command(MembershipCommand::Start { fence_delay }))
                }
                GuestCommand::Replica(c) => PartInput::Replica(Input::Command(c)),
                GuestCommand::Membership(c) => PartInput::Membership(Input::Command(c)),
                GuestCommand::Resources(c) => PartInput::Resources(Input::Command(c)),
            },
        };
        queue.push_back(part);
        self.run(now, queue, out);
    }
}
