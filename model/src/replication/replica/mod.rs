//! The replica machine: one node's copy of one replicated resource.
//!
//! This file holds the [`Replica`] itself: its public types ([`ReplicaCommand`],
//! [`ReplicaTimer`]), its state, the constructors and accessors, the small setters that
//! report what changed, and the [`Machine`] impl that dispatches each input. What the
//! replica does with an input is split by concern, an `impl Replica` block per file,
//! each with the private state only it needs:
//!
//! * `io`: application writes and reads, the disk completion path, acknowledgements
//!   per protocol, frozen I/O;
//! * `promote`: promotion and demotion, `drbdadm outdate`, `fence-peer`;
//! * `connection`: connect and disconnect, the handshake and its outcome, the messages
//!   of a session;
//! * `resync`: starting as sync source or target, the rate-limited batches, pause and
//!   resume, the end of the resync;
//! * `quorum`: the vote count and the witness.

mod connection;
mod io;
mod promote;
mod quorum;
mod resync;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use super::bitmap::{ActivityLog, Bitmap};
use super::config::{FencingPolicy, OnNoQuorum, QuorumPolicy, ReplicaConfig};
use super::handshake::HandshakeParams;
use super::meta::ReplicaMeta;
use super::msg::{ConnMsg, ReplicaMsg, SessionId};
use super::notice::ReplicaNotice;
use super::uuid::{GenerationIds, fresh_uuid};
use super::{ConnState, DiskState, PeerRole, Role};
use crate::{
    BlockNo, Effect, HandlerReply, HandlerRequest, Input, Machine, Net, Payload, ReadId, Time,
    WriteId,
};
use io::PendingWrite;
use promote::{PendingPromote, PromoteWait};
use quorum::WitnessLink;
use resync::{Resync, SyncPlan};

/// An operator or application request to a replica (`drbdadm` and the block device).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ReplicaCommand {
    /// An application write of `count` consecutive blocks from `block`: one write id,
    /// one `Data` message, one acknowledgement and one disk request for the run (a
    /// client's 64 KiB request is one write of 16 blocks), the bitmap kept per block.
    Write {
        /// The application's id for it.
        id: WriteId,
        /// The first block.
        block: BlockNo,
        /// How many blocks (at least 1).
        count: u32,
        /// Their content (see [`Payload`] for runs).
        data: Payload,
    },
    /// An application read of `count` consecutive blocks from `block` (served from the
    /// local disk).
    Read {
        /// The application's id for it.
        id: ReadId,
        /// The first block.
        block: BlockNo,
        /// How many blocks (at least 1).
        count: u32,
    },
    /// `drbdadm primary [--force]`.
    Promote {
        /// Force an Inconsistent, Outdated or Consistent disk to UpToDate, and promote
        /// even if `fence-peer` could not outdate the peer.
        force: bool,
    },
    /// `drbdadm secondary`.
    Demote,
    /// `drbdadm connect [--discard-my-data]` (also starts talking to the witness).
    Connect {
        /// Resolve a split brain by discarding this node's changes.
        discard_my_data: bool,
    },
    /// `drbdadm disconnect`.
    Disconnect,
    /// `drbdadm outdate`: what dopd does on the peer's behalf when it fences this node.
    Outdate,
    /// `drbdadm pause-sync`.
    PauseSync,
    /// `drbdadm resume-sync`.
    ResumeSync,
    /// `drbdadm invalidate`: throw this Secondary's data away and take the peer's, every
    /// block. Connected to an UpToDate peer, a full resync starts at once; disconnected,
    /// the disk becomes Inconsistent with every block out of sync and syncs on the next
    /// connection. Ignored on a Primary, during a resync, or without a disk (DRBD
    /// refuses those; the daemon tells the operator why).
    Invalidate,
    /// The transport reports the replication connection broken (a reset or closed TCP
    /// socket): DRBD reacts to the socket error at once (`C_NETWORK_FAILURE` /
    /// `C_BROKEN_PIPE`) instead of waiting for `ping-timeout`. Only a driver with real
    /// sockets sends it; the checker and the simulator see a lost connection through
    /// the ping timeout alone.
    TransportFailed,
}

/// The replica's named timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReplicaTimer {
    /// Retry connecting (`connect-int`).
    ConnectRetry,
    /// Send a keep-alive (`ping-int`).
    Ping,
    /// The keep-alive's answer is overdue (`ping-timeout`).
    PingTimeout,
    /// Send the next resync batch.
    ResyncTick,
    /// Ping the witness.
    WitnessPing,
    /// The witness' answer is overdue.
    WitnessTimeout,
}

/// A DRBD-like replica of one resource on one node.
///
/// Construct it with [`Replica::new`] (fresh metadata) or [`Replica::restart`] (after a
/// crash or reboot, from the last [`Effect::Persist`]ed [`ReplicaMeta`]); then feed it
/// inputs. See `docs/architecture.md` for the state diagram and the deliberate
/// differences from DRBD.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Replica {
    cfg: Arc<ReplicaConfig>,
    role: Role,
    disk: DiskState,
    conn: ConnState,
    peer_role: PeerRole,
    peer_disk: DiskState,
    uuids: GenerationIds,
    bitmap: Bitmap,
    al: ActivityLog,
    crashed_primary: bool,
    peer_outdated: bool,
    uuid_counter: u64,
    boots: u32,

    session: Option<SessionId>,
    attempt: u32,
    /// Initiator: the parameters sent in the current attempt's Hello.
    hello: Option<HandshakeParams>,
    discard_my_data: bool,
    ping_outstanding: bool,

    pending: BTreeMap<WriteId, PendingWrite>,
    /// Writes received from the peer and submitted to the local disk, not yet completed
    /// (DRBD's `active_ee`).
    peer_writes: u32,
    /// Writes that arrived while I/O was frozen, in arrival order.
    frozen: VecDeque<(WriteId, BlockNo, u32, Payload)>,
    /// I/O frozen by `resource-and-stonith` until `fence-peer` answers.
    susp_fen: bool,
    /// A new current UUID is due once I/O resumes (`NEW_CUR_UUID`).
    new_cur_uuid_pending: bool,
    fence_running: bool,
    /// I/O was frozen when last reported.
    io_frozen: bool,

    resync: Resync,
    sync_plan: Option<SyncPlan>,
    promote: Option<PendingPromote>,
    witness: WitnessLink,
    quorum: bool,
}

impl Replica {
    /// A replica with freshly created metadata (`drbdadm create-md`): Secondary,
    /// Inconsistent, StandAlone.
    pub fn new(cfg: ReplicaConfig) -> Replica {
        Replica::restart(cfg, None)
    }

    /// A replica coming up from its persisted metadata (`drbdadm up` after a reboot), or
    /// from fresh metadata if there is none.
    ///
    /// A node whose metadata says it was Primary crashed as Primary: it remembers that
    /// (`CRASHED_PRIMARY`) and marks its activity-log extents out of sync, because writes
    /// there may have reached one disk only.
    pub fn restart(cfg: ReplicaConfig, meta: Option<ReplicaMeta>) -> Replica {
        let meta = meta.unwrap_or_else(|| ReplicaMeta {
            uuids: GenerationIds::JUST_CREATED,
            disk: DiskState::Inconsistent,
            primary: false,
            crashed_primary: false,
            peer_outdated: false,
            bitmap: Bitmap::new(),
            activity_log: BTreeSet::new(),
            uuid_counter: 0,
            boots: 0,
        });
        let mut bitmap = meta.bitmap.clone();
        if meta.primary {
            ActivityLog::mark_dirty(&meta.activity_log, &mut bitmap, cfg.blocks);
        }
        // Attach: a consistent disk comes back Consistent, and UpToDate only if the peer
        // is known to be Outdated or fencing does not care (src: `drbd_nl.c`
        // `drbd_adm_attach`).
        let disk = match meta.disk {
            d if d >= DiskState::Consistent => {
                if meta.peer_outdated || cfg.fencing == FencingPolicy::DontCare {
                    DiskState::UpToDate
                } else {
                    DiskState::Consistent
                }
            }
            d => d,
        };
        let quorum = cfg.quorum == QuorumPolicy::Off;
        Replica {
            al: ActivityLog::restore(cfg.al_extents, &meta.activity_log),
            cfg: Arc::new(cfg),
            role: Role::Secondary,
            disk,
            conn: ConnState::StandAlone,
            peer_role: PeerRole::Unknown,
            peer_disk: DiskState::DUnknown,
            uuids: GenerationIds {
                current: meta.uuids.current & !1,
                ..meta.uuids
            },
            bitmap,
            crashed_primary: meta.crashed_primary || meta.primary,
            peer_outdated: meta.peer_outdated,
            uuid_counter: meta.uuid_counter,
            boots: meta.boots + 1,
            session: None,
            attempt: 0,
            hello: None,
            discard_my_data: false,
            ping_outstanding: false,
            pending: BTreeMap::new(),
            peer_writes: 0,
            frozen: VecDeque::new(),
            susp_fen: false,
            new_cur_uuid_pending: false,
            fence_running: false,
            io_frozen: false,
            resync: Resync::default(),
            sync_plan: None,
            promote: None,
            witness: WitnessLink::default(),
            quorum,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ReplicaConfig {
        &self.cfg
    }
    /// Own role.
    pub fn role(&self) -> Role {
        self.role
    }
    /// Own disk state.
    pub fn disk(&self) -> DiskState {
        self.disk
    }
    /// Connection state.
    pub fn conn(&self) -> ConnState {
        self.conn
    }
    /// The peer's role as known here.
    pub fn peer_role(&self) -> PeerRole {
        self.peer_role
    }
    /// The peer's disk as known here.
    pub fn peer_disk(&self) -> DiskState {
        self.peer_disk
    }
    /// Generation identifiers.
    pub fn uuids(&self) -> GenerationIds {
        self.uuids
    }
    /// Out-of-sync blocks.
    pub fn bitmap(&self) -> &Bitmap {
        &self.bitmap
    }
    /// Whether this node has quorum (always true with quorum off).
    pub fn has_quorum(&self) -> bool {
        self.quorum
    }
    /// Whether application I/O is frozen.
    pub fn io_suspended(&self) -> bool {
        self.susp_fen || self.witness.outdating_peer || self.suspended_for_quorum()
    }
    /// Application writes not yet finished on every disk they go to.
    pub fn writes_in_flight(&self) -> usize {
        self.pending.len() + self.frozen.len()
    }
    /// Whether it crashed as Primary and has not resynced since.
    pub fn crashed_primary(&self) -> bool {
        self.crashed_primary
    }
    /// Blocks transferred by the resync of the current connection.
    pub fn resynced_blocks(&self) -> u64 {
        self.resync.done
    }

    /// The node that opens connections: the lower id. The other one holds DRBD's
    /// `RESOLVE_CONFLICTS` flag.
    fn initiator(&self) -> bool {
        self.cfg.me < self.cfg.peer
    }

    fn suspended_for_quorum(&self) -> bool {
        self.role == Role::Primary && !self.quorum && self.cfg.on_no_quorum == OnNoQuorum::SuspendIo
    }

    /// The metadata as it stands.
    pub fn meta(&self) -> ReplicaMeta {
        ReplicaMeta {
            uuids: self.uuids,
            disk: self.disk,
            primary: self.role == Role::Primary,
            crashed_primary: self.crashed_primary,
            peer_outdated: self.peer_outdated,
            bitmap: self.bitmap.clone(),
            activity_log: self.al.extents(),
            uuid_counter: self.uuid_counter,
            boots: self.boots,
        }
    }

    fn params(&self) -> HandshakeParams {
        HandshakeParams {
            node: self.cfg.me,
            uuids: self.uuids,
            disk: self.disk,
            role: self.role,
            crashed_primary: self.crashed_primary,
            discard_my_data: self.discard_my_data,
            bitmap: self.bitmap.clone(),
        }
    }
}

type Out = Vec<Effect<Replica>>;

// Small state setters that report what changed.
impl Replica {
    fn persist(&self, out: &mut Out) {
        out.push(Effect::Persist(self.meta()));
    }

    fn set_conn(&mut self, conn: ConnState, out: &mut Out) {
        if self.conn != conn {
            self.conn = conn;
            out.push(Effect::Event(ReplicaNotice::Conn(conn)));
        }
    }

    fn set_disk(&mut self, disk: DiskState, out: &mut Out) {
        if self.disk != disk {
            self.disk = disk;
            out.push(Effect::Event(ReplicaNotice::Disk(disk)));
            if let Some(session) = self.session {
                self.send_state(session, out);
            }
        }
    }

    fn set_peer(&mut self, role: PeerRole, disk: DiskState, out: &mut Out) {
        if self.peer_role != role || self.peer_disk != disk {
            self.peer_role = role;
            self.peer_disk = disk;
            out.push(Effect::Event(ReplicaNotice::Peer { role, disk }));
        }
    }

    fn send_conn(&self, session: SessionId, msg: ConnMsg, out: &mut Out) {
        out.push(Effect::Send {
            to: self.cfg.peer,
            msg: ReplicaMsg::Conn { session, msg },
        });
    }

    fn send_state(&self, session: SessionId, out: &mut Out) {
        self.send_conn(
            session,
            ConnMsg::State {
                role: self.role,
                disk: self.disk,
            },
            out,
        );
    }

    /// `drbd_uuid_new_current`.
    fn new_current_uuid(&mut self, out: &mut Out) {
        self.uuid_counter += 1;
        let fresh = fresh_uuid(self.cfg.me, self.uuid_counter);
        self.uuids.new_current(fresh, self.role == Role::Primary);
        out.push(Effect::Event(ReplicaNotice::NewCurrentUuid(
            self.uuids.current,
        )));
    }
}

impl Machine for Replica {
    type Msg = ReplicaMsg;
    type Timer = ReplicaTimer;
    type Command = ReplicaCommand;
    type Meta = ReplicaMeta;
    type Notice = ReplicaNotice;

    /// DRBD traffic, including the witness', uses the replication link.
    fn net(_msg: &ReplicaMsg) -> Net {
        Net::Replication
    }

    fn handle(&mut self, _now: Time, input: Input<Self>, out: &mut Vec<Effect<Self>>) {
        match input {
            Input::Command(cmd) => match cmd {
                ReplicaCommand::Write {
                    id,
                    block,
                    count,
                    data,
                } => self.write(id, block, count, data, out),
                ReplicaCommand::Read { id, block, count } => self.read(id, block, count, out),
                ReplicaCommand::Promote { force } => {
                    if self.role == Role::Secondary && self.promote.is_none() {
                        self.promote = Some(PendingPromote {
                            force,
                            waiting: PromoteWait::Nothing,
                            peer_granted: false,
                            witness_granted: false,
                            fence_exit: None,
                        });
                        self.try_promote(out);
                    }
                }
                ReplicaCommand::Demote => self.demote(out),
                ReplicaCommand::Connect { discard_my_data } => self.connect(discard_my_data, out),
                ReplicaCommand::Disconnect => self.disconnect(out),
                ReplicaCommand::Outdate => self.outdate(out),
                ReplicaCommand::PauseSync => self.pause_command(true, out),
                ReplicaCommand::ResumeSync => self.pause_command(false, out),
                ReplicaCommand::Invalidate => self.invalidate(out),
                ReplicaCommand::TransportFailed => {
                    if self.session.is_some() {
                        self.connection_lost(ConnState::Connecting, out);
                    }
                }
            },
            Input::Disk(done) => self.on_disk(done, out),
            Input::HandlerDone(HandlerReply {
                request: HandlerRequest::FencePeer { .. },
                exit_code,
            }) => self.fence_peer_done(exit_code, out),
            Input::HandlerDone(_) | Input::Process(_) | Input::FenceDone { .. } => {}
            Input::Recv { from, msg } => {
                if Some(from) == self.cfg.witness {
                    if let ReplicaMsg::QuorumPong {
                        vote,
                        promote_ok,
                        peer_outdated,
                    } = msg
                    {
                        self.on_pong(from, vote, promote_ok, peer_outdated, out);
                    }
                    return;
                }
                if from != self.cfg.peer {
                    return;
                }
                match msg {
                    ReplicaMsg::Hello { session, params } => self.on_hello(session, params, out),
                    ReplicaMsg::HelloAck { session, params } => {
                        self.on_hello_ack(session, params, out)
                    }
                    ReplicaMsg::Conn { session, msg } => self.on_conn(session, msg, out),
                    ReplicaMsg::Disconnect { session } => {
                        if self.session == Some(session) {
                            self.connection_lost(ConnState::Connecting, out);
                        }
                    }
                    ReplicaMsg::QuorumPing { .. } | ReplicaMsg::QuorumPong { .. } => {}
                }
            }
            Input::Timer(timer) => match timer {
                ReplicaTimer::ConnectRetry => {
                    if self.conn == ConnState::Connecting && self.initiator() {
                        self.send_hello(out);
                    }
                }
                ReplicaTimer::Ping => {
                    if let Some(session) = self.session {
                        self.send_conn(session, ConnMsg::Ping, out);
                        if !self.ping_outstanding {
                            self.ping_outstanding = true;
                            out.push(Effect::SetTimer {
                                id: ReplicaTimer::PingTimeout,
                                after: self.cfg.timers.ping_timeout,
                            });
                        }
                        out.push(Effect::SetTimer {
                            id: ReplicaTimer::Ping,
                            after: self.cfg.timers.ping_int,
                        });
                    }
                }
                ReplicaTimer::PingTimeout => {
                    if self.ping_outstanding && self.session.is_some() {
                        self.connection_lost(ConnState::Connecting, out);
                    }
                }
                ReplicaTimer::ResyncTick => self.resync_step(out),
                ReplicaTimer::WitnessPing => self.ping_witness(false, out),
                ReplicaTimer::WitnessTimeout => {
                    if self.witness.outstanding {
                        self.witness_lost(out);
                    }
                }
            },
        }
    }
}
