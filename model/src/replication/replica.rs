//! The replica machine: one node's copy of one replicated resource.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use super::bitmap::{ActivityLog, Bitmap};
use super::config::{FencingPolicy, OnNoQuorum, QuorumPolicy, RESYNC_TICK, ReplicaConfig};
use super::handshake::{HandshakeDecision, HandshakeParams, Outcome, decide};
use super::meta::ReplicaMeta;
use super::msg::{ConnMsg, ReplicaMsg, SessionId};
use super::notice::{PromoteRefused, ReplicaNotice};
use super::uuid::{GenerationIds, UUID_JUST_CREATED, UUID_NEW_BM_OFFSET, fresh_uuid};
use super::{ConnState, DiskState, PeerRole, Protocol, Role};
use crate::{
    BlockNo, DiskCompletion, DiskOp, DiskRequest, DiskToken, Effect, HandlerReply, HandlerRequest,
    Input, IoError, Machine, Net, NodeId, Payload, ReadId, Time, WriteId,
};

/// An operator or application request to a replica (`drbdadm` and the block device).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ReplicaCommand {
    /// An application write.
    Write {
        /// The application's id for it.
        id: WriteId,
        /// Which block.
        block: BlockNo,
        /// Its content.
        data: Payload,
    },
    /// An application read (served from the local disk).
    Read {
        /// The application's id for it.
        id: ReadId,
        /// Which block.
        block: BlockNo,
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

/// How far the peer's half of a write has got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum RemoteHalf {
    /// Not mirrored (no usable peer): the block is marked out of sync instead.
    NotMirrored,
    /// Handed to the network.
    Sent,
    /// The peer received it.
    Received,
    /// The peer wrote it.
    Written,
    /// The connection broke or the peer failed to write: marked out of sync.
    Lost,
}

impl RemoteHalf {
    /// Nothing more will happen to this half.
    fn settled(self) -> bool {
        matches!(
            self,
            RemoteHalf::NotMirrored | RemoteHalf::Written | RemoteHalf::Lost
        )
    }
}

/// How far the local half of a write has got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum LocalHalf {
    Pending,
    Done,
    Failed,
}

/// An application write in flight.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct PendingWrite {
    block: BlockNo,
    local: LocalHalf,
    remote: RemoteHalf,
    /// The application has had its answer (Ack or WriteFailed).
    answered: bool,
}

/// What a promotion is waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum PromoteWait {
    /// Nothing yet: evaluate.
    Nothing,
    /// The connected peer's consent.
    Peer,
    /// The witness' consent.
    Witness,
    /// The `fence-peer` handler.
    FencePeer,
    /// The writes received from the peer that are still on their way to the local disk.
    PeerWrites,
}

/// A promotion in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct PendingPromote {
    force: bool,
    waiting: PromoteWait,
    peer_granted: bool,
    witness_granted: bool,
    fence_exit: Option<u8>,
}

/// Progress of a resync in this connection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct Resync {
    /// Source: blocks being read from the local disk.
    reading: BTreeSet<BlockNo>,
    /// Source: blocks sent and not yet acknowledged.
    sent: BTreeSet<BlockNo>,
    /// Source: blocks read for resync that an application write overtook; the read's
    /// (possibly older) content must not be sent.
    superseded: BTreeSet<BlockNo>,
    /// Blocks transferred.
    done: u64,
}

/// A resync the handshake decided on, waiting for the peer to agree.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct SyncPlan {
    full: bool,
    peer_bitmap: Bitmap,
}

/// State of the witness link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
struct WitnessLink {
    started: bool,
    up: bool,
    vote: bool,
    outstanding: bool,
    /// A Primary that lost its peer waits, I/O frozen, until the witness has recorded
    /// the peer as Outdated (DRBD 9 outdates an unreachable peer through the remaining
    /// nodes before it goes on writing).
    outdating_peer: bool,
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
    frozen: VecDeque<(WriteId, BlockNo, Payload)>,
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

// Application I/O.
impl Replica {
    fn write(&mut self, id: WriteId, block: BlockNo, data: Payload, out: &mut Out) {
        let refuse = if self.role != Role::Primary {
            Some(IoError::NotPrimary)
        } else if block >= self.cfg.blocks {
            Some(IoError::OutOfRange)
        } else if self.disk < DiskState::Inconsistent {
            Some(IoError::NoLocalDisk)
        } else if !self.quorum && self.cfg.on_no_quorum == OnNoQuorum::IoError {
            Some(IoError::NoQuorum)
        } else {
            None
        };
        if let Some(error) = refuse {
            out.push(Effect::WriteFailed { write: id, error });
            return;
        }
        if self.io_suspended() {
            self.frozen.push_back((id, block, data));
            return;
        }
        self.start_write(id, block, data, out);
    }

    fn start_write(&mut self, id: WriteId, block: BlockNo, data: Payload, out: &mut Out) {
        if self.al.begin(block) {
            // The extent entered the activity log: that must be on disk before the write.
            self.persist(out);
        }
        let mirror = self.conn.is_connected() && self.peer_disk >= DiskState::Inconsistent;
        let remote = match self.session {
            Some(session) if mirror => {
                // Mirrored: the block is in sync once the peer writes it; if that fails,
                // the failure path marks it again.
                self.bitmap.clear(block);
                if self.resync.reading.contains(&block) {
                    self.resync.superseded.insert(block);
                }
                self.send_conn(
                    session,
                    ConnMsg::Data {
                        write: id,
                        block,
                        data: data.clone(),
                    },
                    out,
                );
                RemoteHalf::Sent
            }
            _ => {
                self.bitmap.set(block);
                RemoteHalf::NotMirrored
            }
        };
        out.push(Effect::Disk(DiskRequest {
            token: DiskToken::AppWrite(id),
            op: DiskOp::Write { block, data },
        }));
        self.pending.insert(
            id,
            PendingWrite {
                block,
                local: LocalHalf::Pending,
                remote,
                answered: false,
            },
        );
        self.progress(id, out);
    }

    /// Answers the application when the protocol allows, and forgets the write when
    /// nothing more can happen to it.
    fn progress(&mut self, id: WriteId, out: &mut Out) {
        let frozen = self.io_suspended();
        let protocol = self.cfg.protocol;
        let Some(w) = self.pending.get_mut(&id) else {
            return;
        };
        let remote_acked = match w.remote {
            RemoteHalf::NotMirrored | RemoteHalf::Lost | RemoteHalf::Written => true,
            // The protocol's acknowledgement point (src: UG84 "Replication modes").
            RemoteHalf::Received => protocol <= Protocol::B,
            RemoteHalf::Sent => protocol == Protocol::A,
        };
        if !w.answered {
            match w.local {
                LocalHalf::Failed => {
                    out.push(Effect::WriteFailed {
                        write: id,
                        error: IoError::Disk,
                    });
                    w.answered = true;
                }
                LocalHalf::Done if !frozen && remote_acked => {
                    out.push(Effect::Ack(id));
                    w.answered = true;
                }
                _ => {}
            }
        }
        if w.answered && w.local != LocalHalf::Pending && w.remote.settled() {
            let block = w.block;
            self.pending.remove(&id);
            self.al.end(block);
        }
    }

    fn progress_all(&mut self, out: &mut Out) {
        let ids: Vec<WriteId> = self.pending.keys().copied().collect();
        for id in ids {
            self.progress(id, out);
        }
    }

    /// Fails every write the application has not had an answer for.
    fn fail_unanswered(&mut self, error: IoError, out: &mut Out) {
        for (&id, w) in self.pending.iter_mut() {
            if !w.answered {
                w.answered = true;
                out.push(Effect::WriteFailed { write: id, error });
            }
        }
        for (id, _, _) in self.frozen.drain(..) {
            out.push(Effect::WriteFailed { write: id, error });
        }
        self.progress_all(out);
    }

    /// Reports a change between frozen and flowing I/O; on resume, completes what
    /// waited and starts the writes that queued.
    fn sync_io(&mut self, out: &mut Out) {
        let was_suspended = self.io_frozen;
        let now_suspended = self.io_suspended();
        self.io_frozen = now_suspended;
        if was_suspended && !now_suspended {
            if self.new_cur_uuid_pending {
                self.new_cur_uuid_pending = false;
                if self.role == Role::Primary {
                    self.new_current_uuid(out);
                    self.persist(out);
                }
            }
            out.push(Effect::Event(ReplicaNotice::IoResumed));
            self.progress_all(out);
            while let Some((id, block, data)) = self.frozen.pop_front() {
                self.write(id, block, data, out);
            }
        } else if !was_suspended && now_suspended {
            out.push(Effect::Event(ReplicaNotice::IoSuspended));
        }
    }

    fn read(&mut self, id: ReadId, block: BlockNo, out: &mut Out) {
        let error = if self.role != Role::Primary {
            Some(IoError::NotPrimary)
        } else if block >= self.cfg.blocks {
            Some(IoError::OutOfRange)
        } else if self.disk < DiskState::UpToDate {
            Some(IoError::NoLocalDisk)
        } else {
            None
        };
        match error {
            Some(e) => out.push(Effect::ReadDone {
                read: id,
                result: Err(e),
            }),
            None => out.push(Effect::Disk(DiskRequest {
                token: DiskToken::AppRead(id),
                op: DiskOp::Read { block },
            })),
        }
    }

    /// The local disk failed: detach (`on-io-error detach`, src: OPT). This model has no
    /// diskless Primary, so a Primary's unanswered writes fail.
    fn disk_failed(&mut self, out: &mut Out) {
        if self.disk <= DiskState::Failed {
            return;
        }
        self.set_disk(DiskState::Failed, out);
        self.set_disk(DiskState::Diskless, out);
        if self.conn.is_sync_source() || self.conn.is_sync_target() {
            self.resync = Resync::default();
            out.push(Effect::CancelTimer(ReplicaTimer::ResyncTick));
            self.set_conn(ConnState::Connected, out);
        }
        for w in self.pending.values_mut() {
            if w.local == LocalHalf::Pending {
                w.local = LocalHalf::Failed;
            }
        }
        self.fail_unanswered(IoError::NoLocalDisk, out);
    }

    fn on_disk(&mut self, done: DiskCompletion, out: &mut Out) {
        let ok = done.result.is_ok();
        match done.token {
            DiskToken::AppWrite(id) => {
                if let Some(w) = self.pending.get_mut(&id) {
                    if w.local == LocalHalf::Pending {
                        w.local = if ok {
                            LocalHalf::Done
                        } else {
                            LocalHalf::Failed
                        };
                    }
                }
                // Answer this write first: it saw the I/O error itself.
                self.progress(id, out);
                if !ok {
                    self.disk_failed(out);
                }
            }
            DiskToken::AppRead(id) => {
                let result = done.result.map_err(|_| IoError::Disk);
                if result.is_err() {
                    self.disk_failed(out);
                }
                out.push(Effect::ReadDone { read: id, result });
            }
            DiskToken::PeerWrite(write, block) => {
                self.peer_writes = self.peer_writes.saturating_sub(1);
                if ok {
                    if self.conn.is_sync_target() {
                        self.bitmap.clear(block);
                    }
                    if let Some(session) = self.session {
                        self.send_conn(session, ConnMsg::WriteAck { write }, out);
                    }
                } else {
                    if let Some(session) = self.session {
                        self.send_conn(session, ConnMsg::NegAck { write }, out);
                    }
                    self.disk_failed(out);
                }
                if self.peer_writes == 0 {
                    self.resume_promote(PromoteWait::PeerWrites, out);
                }
            }
            DiskToken::ResyncRead(block) => self.resync_read_done(block, done.result, out),
            DiskToken::ResyncWrite(block) => {
                if !ok {
                    self.disk_failed(out);
                    return;
                }
                if self.conn.is_sync_target() {
                    self.bitmap.clear(block);
                    self.resync.done += 1;
                    out.push(Effect::Event(ReplicaNotice::Resynced(block)));
                    if let Some(session) = self.session {
                        self.send_conn(session, ConnMsg::SyncAck { block }, out);
                    }
                }
            }
        }
    }
}

// Roles.
impl Replica {
    fn refuse_promote(&mut self, why: PromoteRefused, out: &mut Out) {
        self.promote = None;
        out.push(Effect::Event(ReplicaNotice::PromoteRefused(why)));
    }

    /// Evaluates the pending promotion again if it waited for `what`.
    fn resume_promote(&mut self, what: PromoteWait, out: &mut Out) {
        if let Some(p) = self.promote.as_mut().filter(|p| p.waiting == what) {
            p.waiting = PromoteWait::Nothing;
            self.try_promote(out);
        }
    }

    /// Evaluates the pending promotion: refuses it, waits for the peer writes still in
    /// flight to the disk, the peer, the witness or `fence-peer`, or promotes
    /// (`drbd_set_role` with `is_valid_state`).
    fn try_promote(&mut self, out: &mut Out) {
        let Some(mut p) = self.promote else {
            return;
        };
        if self.disk <= DiskState::Failed {
            return self.refuse_promote(PromoteRefused::NoLocalDisk, out);
        }
        // Writes received from the peer are written before this node can become Primary:
        // DRBD's receiver does not leave the connection until its peer requests
        // (`active_ee`) are on disk (drbd_receiver.c `conn_disconnect` ->
        // `drbd_disconnected` -> `_drbd_wait_ee_list_empty`). So a write the old Primary
        // acknowledged on `RecvAck` (protocol B) survives its crash. The connection is
        // folded to Connecting at once here, so the promotion waits instead. (A peer
        // that is still Primary keeps sending: it is refused or, dual-primary, joined.)
        if self.peer_writes > 0 && self.peer_role != PeerRole::Primary {
            p.waiting = PromoteWait::PeerWrites;
            self.promote = Some(p);
            return;
        }
        if self.cfg.quorum == QuorumPolicy::Majority && !self.quorum {
            return self.refuse_promote(PromoteRefused::NoQuorum, out);
        }
        let mut forced = false;
        if let Some(session) = self.session {
            if self.peer_role == PeerRole::Primary && !self.cfg.allow_two_primaries {
                return self.refuse_promote(PromoteRefused::PeerIsPrimary, out);
            }
            // `primary --force` on a connected pair whose peer has no better data: the
            // initial sync after `create-md`.
            let force_disk = p.force
                && self.disk >= DiskState::Inconsistent
                && self.peer_disk <= DiskState::Inconsistent;
            if self.disk < DiskState::UpToDate && !force_disk {
                return self.refuse_promote(PromoteRefused::NoUpToDateDisk(self.disk), out);
            }
            if !p.peer_granted {
                p.waiting = PromoteWait::Peer;
                self.promote = Some(p);
                self.send_conn(session, ConnMsg::PromoteRequest, out);
                return;
            }
            if self.disk < DiskState::UpToDate {
                forced = true;
                self.set_disk(DiskState::UpToDate, out);
            }
        } else {
            if self.cfg.witness.is_some() && !p.witness_granted {
                p.waiting = PromoteWait::Witness;
                self.promote = Some(p);
                self.ping_witness(true, out);
                return;
            }
            let fencing = self.cfg.fencing >= FencingPolicy::ResourceOnly;
            let peer_unknown = self.peer_disk > DiskState::Outdated && !self.peer_outdated;
            if self.disk < DiskState::UpToDate {
                // A Consistent disk becomes UpToDate once the peer is known outdated.
                let may_fence_to_uptodate = self.disk == DiskState::Consistent && fencing;
                if p.force && self.disk >= DiskState::Inconsistent {
                    forced = true;
                    self.set_disk(DiskState::UpToDate, out);
                } else if !may_fence_to_uptodate {
                    return self.refuse_promote(PromoteRefused::NoUpToDateDisk(self.disk), out);
                }
            }
            if fencing && peer_unknown {
                match p.fence_exit {
                    None => {
                        p.waiting = PromoteWait::FencePeer;
                        self.promote = Some(p);
                        self.call_fence_peer(out);
                        return;
                    }
                    Some(exit) if !p.force => {
                        return self.refuse_promote(PromoteRefused::PeerNotOutdated(exit), out);
                    }
                    // "Forced into split brain situation!"
                    Some(_) => {}
                }
            }
            if self.disk == DiskState::Consistent {
                // The peer is outdated now: this disk is the newest.
                self.set_disk(DiskState::UpToDate, out);
            }
        }
        self.become_primary(forced, out);
    }

    fn become_primary(&mut self, forced: bool, out: &mut Out) {
        self.promote = None;
        self.role = Role::Primary;
        let unmirrored = !self.conn.is_connected() || self.peer_disk <= DiskState::Failed;
        if (unmirrored && self.uuids.bitmap == 0) || forced {
            self.new_current_uuid(out);
        }
        self.uuids.current |= 1;
        out.push(Effect::Event(ReplicaNotice::Role(Role::Primary)));
        self.persist(out);
        if let Some(session) = self.session {
            self.send_state(session, out);
        }
        if self.cfg.witness.is_some() {
            self.ping_witness(false, out);
        }
        self.sync_io(out);
        if forced && self.conn == ConnState::Connected && self.peer_disk == DiskState::Inconsistent
        {
            if let Some(session) = self.session {
                self.start_sync_source(session, true, &Bitmap::new(), out);
            }
        }
    }

    fn demote(&mut self, out: &mut Out) {
        if self.role == Role::Secondary {
            return;
        }
        self.fail_unanswered(IoError::NotPrimary, out);
        self.role = Role::Secondary;
        self.susp_fen = false;
        self.witness.outdating_peer = false;
        self.new_cur_uuid_pending = false;
        self.uuids.current &= !1;
        out.push(Effect::Event(ReplicaNotice::Role(Role::Secondary)));
        self.sync_io(out);
        self.persist(out);
        if let Some(session) = self.session {
            self.send_state(session, out);
        }
        if self.cfg.witness.is_some() {
            self.ping_witness(false, out);
        }
    }

    fn outdate(&mut self, out: &mut Out) {
        if self.role == Role::Secondary
            && !self.conn.is_connected()
            && self.disk >= DiskState::Outdated
        {
            self.set_disk(DiskState::Outdated, out);
            self.persist(out);
        }
    }

    fn call_fence_peer(&mut self, out: &mut Out) {
        if !self.fence_running {
            self.fence_running = true;
            out.push(Effect::Handler(HandlerRequest::FencePeer {
                peer: self.cfg.peer,
            }));
        }
    }

    /// `conn_try_outdate_peer`: acts on the `fence-peer` exit code.
    fn fence_peer_done(&mut self, exit: u8, out: &mut Out) {
        self.fence_running = false;
        if !self.conn.is_connected() {
            let outdated = match exit {
                3 => Some(DiskState::Inconsistent),
                4 | 7 => Some(DiskState::Outdated),
                5 if self.disk == DiskState::UpToDate => Some(DiskState::Outdated),
                6 if self.role == Role::Secondary => {
                    // "Peer is primary, outdating myself."
                    self.set_disk(DiskState::Outdated, out);
                    self.persist(out);
                    None
                }
                _ => None,
            };
            if let Some(disk) = outdated {
                self.set_peer(PeerRole::Unknown, disk, out);
                self.peer_outdated = true;
                self.susp_fen = false;
                self.persist(out);
            }
        }
        self.sync_io(out);
        if let Some(mut p) = self.promote {
            if p.waiting == PromoteWait::FencePeer {
                p.fence_exit = Some(exit);
                p.waiting = PromoteWait::Nothing;
                self.promote = Some(p);
                self.try_promote(out);
            }
        }
    }
}

// The connection.
impl Replica {
    fn current_session(&self) -> SessionId {
        SessionId {
            boot: self.boots,
            attempt: self.attempt,
        }
    }

    fn send_hello(&mut self, out: &mut Out) {
        self.attempt += 1;
        let params = self.params();
        out.push(Effect::Send {
            to: self.cfg.peer,
            msg: ReplicaMsg::Hello {
                session: self.current_session(),
                params: params.clone(),
            },
        });
        self.hello = Some(params);
        out.push(Effect::SetTimer {
            id: ReplicaTimer::ConnectRetry,
            after: self.cfg.timers.connect_int,
        });
    }

    fn connect(&mut self, discard_my_data: bool, out: &mut Out) {
        if self.cfg.witness.is_some() && !self.witness.started {
            self.witness.started = true;
            self.ping_witness(false, out);
        }
        if self.conn != ConnState::StandAlone {
            return;
        }
        self.discard_my_data = discard_my_data;
        self.persist(out);
        self.set_conn(ConnState::Connecting, out);
        if self.initiator() {
            self.send_hello(out);
        }
    }

    fn disconnect(&mut self, out: &mut Out) {
        if let Some(session) = self.session {
            out.push(Effect::Send {
                to: self.cfg.peer,
                msg: ReplicaMsg::Disconnect { session },
            });
        }
        self.connection_lost(ConnState::StandAlone, out);
    }

    /// The connection is gone (ping timeout, reset, `disconnect`, or the peer reconnected).
    fn connection_lost(&mut self, next: ConnState, out: &mut Out) {
        out.push(Effect::CancelTimer(ReplicaTimer::ConnectRetry));
        if !self.conn.is_connected() {
            self.hello = None;
            self.set_conn(next, out);
            if next == ConnState::Connecting && self.initiator() {
                self.send_hello(out);
            }
            return;
        }
        // "Lost contact to peer's copy of the data" (src: `drbd_state.c`
        // `after_state_ch`): a usable peer disk.
        let had_peer_data = self.peer_disk >= DiskState::Inconsistent
            && self.peer_disk != DiskState::DUnknown
            && self.peer_disk != DiskState::Outdated;
        for w in self.pending.values_mut() {
            if matches!(w.remote, RemoteHalf::Sent | RemoteHalf::Received) {
                w.remote = RemoteHalf::Lost;
                self.bitmap.set(w.block);
            }
        }
        self.resync = Resync::default();
        self.sync_plan = None;
        self.session = None;
        self.hello = None;
        self.ping_outstanding = false;
        for t in [
            ReplicaTimer::Ping,
            ReplicaTimer::PingTimeout,
            ReplicaTimer::ResyncTick,
        ] {
            out.push(Effect::CancelTimer(t));
        }
        self.set_peer(PeerRole::Unknown, DiskState::DUnknown, out);
        self.set_conn(next, out);
        if let Some(p) = self.promote {
            if p.waiting == PromoteWait::Peer {
                self.refuse_promote(PromoteRefused::ConnectionLost, out);
            }
        }
        if self.role == Role::Primary {
            if self.cfg.fencing == FencingPolicy::ResourceAndStonith {
                self.susp_fen = true;
            }
            if self.cfg.witness.is_some() {
                self.witness.outdating_peer = true;
                self.ping_witness(false, out);
            }
            if had_peer_data && self.uuids.bitmap == 0 && self.disk >= DiskState::UpToDate {
                if self.io_suspended() {
                    self.new_cur_uuid_pending = true;
                } else {
                    self.new_current_uuid(out);
                }
            }
            if self.cfg.fencing >= FencingPolicy::ResourceOnly {
                self.call_fence_peer(out);
            }
        }
        self.update_quorum(out);
        self.persist(out);
        self.sync_io(out);
        self.progress_all(out);
        if next == ConnState::Connecting && self.initiator() {
            self.send_hello(out);
        }
    }

    fn on_hello(&mut self, session: SessionId, params: HandshakeParams, out: &mut Out) {
        if self.initiator() {
            return;
        }
        if self.conn == ConnState::StandAlone {
            out.push(Effect::Send {
                to: self.cfg.peer,
                msg: ReplicaMsg::Disconnect { session },
            });
            return;
        }
        if self.session == Some(session) {
            return;
        }
        if self.conn.is_connected() {
            // The peer opened a new connection: the old one is dead.
            self.connection_lost(ConnState::Connecting, out);
        }
        let mine = self.params();
        let decision = decide(&self.cfg, &mine, &params, true);
        out.push(Effect::Send {
            to: self.cfg.peer,
            msg: ReplicaMsg::HelloAck {
                session,
                params: mine,
            },
        });
        self.apply_handshake(session, decision, &params, out);
    }

    fn on_hello_ack(&mut self, session: SessionId, params: HandshakeParams, out: &mut Out) {
        if !self.initiator()
            || self.conn != ConnState::Connecting
            || session != self.current_session()
        {
            return;
        }
        let Some(sent) = self.hello.take() else {
            return;
        };
        let now = self.params();
        let unchanged = sent.uuids == now.uuids
            && sent.disk == now.disk
            && sent.role == now.role
            && sent.crashed_primary == now.crashed_primary;
        if !unchanged {
            // The acceptor decided on stale parameters: start over.
            self.send_hello(out);
            return;
        }
        let decision = decide(&self.cfg, &sent, &params, false);
        self.apply_handshake(session, decision, &params, out);
    }

    fn apply_handshake(
        &mut self,
        session: SessionId,
        d: HandshakeDecision,
        peer: &HandshakeParams,
        out: &mut Out,
    ) {
        out.push(Effect::CancelTimer(ReplicaTimer::ConnectRetry));
        out.push(Effect::Event(ReplicaNotice::Handshake {
            rule: d.comparison.rule,
            outcome: d.outcome,
        }));
        if let Some(fixed) = d.comparison.corrected_self {
            self.uuids = fixed;
        }
        if let Some(sb) = d.split_brain {
            out.push(Effect::Event(ReplicaNotice::SplitBrain(sb)));
        }
        out.extend(d.handlers.into_iter().map(Effect::Handler));
        if let Outcome::Disconnect(why) = d.outcome {
            out.push(Effect::Send {
                to: self.cfg.peer,
                msg: ReplicaMsg::Disconnect { session },
            });
            out.push(Effect::Event(ReplicaNotice::Refused(why)));
            self.hello = None;
            self.set_conn(ConnState::StandAlone, out);
            self.persist(out);
            return;
        }
        self.session = Some(session);
        self.discard_my_data = false;
        self.ping_outstanding = false;
        self.susp_fen = false;
        self.witness.outdating_peer = false;
        self.peer_outdated = false;
        self.resync = Resync::default();
        out.push(Effect::SetTimer {
            id: ReplicaTimer::Ping,
            after: self.cfg.timers.ping_int,
        });
        let mut peer_disk = peer.disk;
        match d.outcome {
            Outcome::Connected => {
                // Consistent and Outdated vanish when connected (`sanitize_state`).
                if matches!(self.disk, DiskState::Consistent | DiskState::Outdated) {
                    self.set_disk(DiskState::UpToDate, out);
                }
                if matches!(peer_disk, DiskState::Consistent | DiskState::Outdated) {
                    peer_disk = DiskState::UpToDate;
                }
                self.crashed_primary = false;
                self.set_peer(peer.role.into(), peer_disk, out);
                self.set_conn(ConnState::Connected, out);
            }
            // Neither side touches its bitmap or identifiers until both agree: the
            // target says so, then the source starts (DRBD: the bitmap exchange, then
            // `drbd_gen_and_send_sync_uuid`). A peer that refused drops the connection
            // instead, and nothing has changed.
            Outcome::SyncSource { full } => {
                self.set_peer(peer.role.into(), peer_disk, out);
                self.sync_plan = Some(SyncPlan {
                    full,
                    peer_bitmap: peer.bitmap.clone(),
                });
                self.set_conn(ConnState::WFBitMapS, out);
            }
            Outcome::SyncTarget { full } => {
                self.set_peer(peer.role.into(), peer_disk.max(DiskState::UpToDate), out);
                self.sync_plan = Some(SyncPlan {
                    full,
                    peer_bitmap: peer.bitmap.clone(),
                });
                self.set_conn(ConnState::WFBitMapT, out);
                self.send_conn(session, ConnMsg::SyncReady, out);
            }
            Outcome::Disconnect(_) => {}
        }
        self.update_quorum(out);
        self.persist(out);
        self.sync_io(out);
        if self
            .promote
            .is_some_and(|p| p.waiting == PromoteWait::FencePeer)
        {
            // Connected again: the peer's state is known; decide afresh.
            if let Some(p) = self.promote.as_mut() {
                p.waiting = PromoteWait::Nothing;
            }
            self.try_promote(out);
        }
    }

    fn take_sync_bitmap(&mut self, full: bool, peer: &Bitmap) {
        if full {
            self.bitmap = Bitmap::full(self.cfg.blocks);
        } else {
            self.bitmap.union_with(peer);
        }
    }

    /// Resync start on the source (src: UG84 internals, `drbd_gen_and_send_sync_uuid`):
    /// the bitmap UUID rotates into the history and a new one, which becomes the
    /// target's current UUID, is sent.
    fn start_sync_source(
        &mut self,
        session: SessionId,
        full: bool,
        peer_bitmap: &Bitmap,
        out: &mut Out,
    ) {
        self.take_sync_bitmap(full, peer_bitmap);
        let next_bitmap_uuid = if self.uuids.bitmap != 0 && self.uuids.bitmap != UUID_JUST_CREATED {
            (self.uuids.bitmap & !1).wrapping_add(UUID_NEW_BM_OFFSET)
        } else {
            self.uuid_counter += 1;
            fresh_uuid(self.cfg.me, self.uuid_counter)
        };
        self.uuids.set_bitmap(next_bitmap_uuid);
        self.send_conn(
            session,
            ConnMsg::SyncUuid {
                uuid: next_bitmap_uuid,
                full,
            },
            out,
        );
        self.set_peer(self.peer_role, DiskState::Inconsistent, out);
        // A sync source's disk is UpToDate: a Consistent or Outdated one is promoted by
        // becoming the source (src: Linux `drbd_state.c` `sanitize_state`, SyncSource
        // pins disk_min = disk_max = D_UP_TO_DATE).
        if matches!(self.disk, DiskState::Consistent | DiskState::Outdated) {
            self.set_disk(DiskState::UpToDate, out);
        }
        self.set_conn(ConnState::SyncSource, out);
        out.push(Effect::Event(ReplicaNotice::SyncStarted {
            source: true,
            blocks: self.bitmap.count(),
        }));
        self.persist(out);
        self.resync_step(out);
    }

    fn start_sync_target(&mut self, full: bool, peer_bitmap: &Bitmap, out: &mut Out) {
        self.take_sync_bitmap(full, peer_bitmap);
        self.set_disk(DiskState::Inconsistent, out);
        self.set_conn(ConnState::SyncTarget, out);
        out.push(Effect::Event(ReplicaNotice::SyncStarted {
            source: false,
            blocks: self.bitmap.count(),
        }));
    }

    fn on_conn(&mut self, session: SessionId, msg: ConnMsg, out: &mut Out) {
        if self.session != Some(session) {
            // Not our connection: tell the sender, like a TCP reset.
            out.push(Effect::Send {
                to: self.cfg.peer,
                msg: ReplicaMsg::Disconnect { session },
            });
            return;
        }
        match msg {
            ConnMsg::Data { write, block, data } => {
                if self.cfg.protocol == Protocol::B {
                    self.send_conn(session, ConnMsg::RecvAck { write }, out);
                }
                if self.disk <= DiskState::Failed {
                    self.send_conn(session, ConnMsg::NegAck { write }, out);
                    return;
                }
                self.peer_writes += 1;
                out.push(Effect::Disk(DiskRequest {
                    token: DiskToken::PeerWrite(write, block),
                    op: DiskOp::Write { block, data },
                }));
            }
            ConnMsg::RecvAck { write } => self.remote_progress(write, RemoteHalf::Received, out),
            ConnMsg::WriteAck { write } => self.remote_progress(write, RemoteHalf::Written, out),
            ConnMsg::NegAck { write } => self.remote_progress(write, RemoteHalf::Lost, out),
            ConnMsg::SyncReady => {
                if self.conn == ConnState::WFBitMapS {
                    if let Some(plan) = self.sync_plan.take() {
                        self.start_sync_source(session, plan.full, &plan.peer_bitmap, out);
                    }
                }
            }
            ConnMsg::SyncUuid { uuid, full } => {
                if self.conn == ConnState::WFBitMapT {
                    if let Some(plan) = self.sync_plan.take() {
                        self.start_sync_target(plan.full, &plan.peer_bitmap, out);
                    }
                } else if self.conn == ConnState::Connected && self.role == Role::Secondary {
                    // A resync the peer started on its own (after `primary --force`).
                    self.start_sync_target(full, &Bitmap::new(), out);
                }
                if self.conn.is_sync_target() {
                    self.uuids.current = uuid & !1 | u64::from(self.role == Role::Primary);
                    self.uuids.bitmap = 0;
                    self.persist(out);
                }
            }
            ConnMsg::SyncData { block, data } => {
                if self.conn.is_sync_target() && self.disk > DiskState::Failed {
                    out.push(Effect::Disk(DiskRequest {
                        token: DiskToken::ResyncWrite(block),
                        op: DiskOp::Write { block, data },
                    }));
                }
            }
            ConnMsg::SyncAck { block } => {
                if self.conn.is_sync_source() && self.resync.sent.remove(&block) {
                    self.bitmap.clear(block);
                    self.resync.done += 1;
                    self.maybe_finish_resync(session, out);
                }
            }
            ConnMsg::SyncDone { uuids } => {
                if self.conn.is_sync_target() {
                    let blocks = self.resync.done;
                    self.uuids = uuids;
                    self.uuids.current = uuids.current & !1 | u64::from(self.role == Role::Primary);
                    self.bitmap = Bitmap::new();
                    self.crashed_primary = false;
                    self.set_disk(DiskState::UpToDate, out);
                    self.set_peer(self.peer_role, DiskState::UpToDate, out);
                    self.set_conn(ConnState::Connected, out);
                    out.push(Effect::Event(ReplicaNotice::SyncFinished { blocks }));
                    self.persist(out);
                }
            }
            ConnMsg::SyncPaused(paused) => self.set_paused(paused, out),
            ConnMsg::State { role, disk } => {
                let disk = match disk {
                    DiskState::Consistent | DiskState::Outdated
                        if self.conn == ConnState::Connected =>
                    {
                        DiskState::UpToDate
                    }
                    d => d,
                };
                self.set_peer(role.into(), disk, out);
            }
            ConnMsg::PromoteRequest => {
                let busy = self.promote.is_some_and(|p| p.waiting == PromoteWait::Peer);
                // Concurrent promotions: the node holding RESOLVE_CONFLICTS wins.
                let granted = (self.role != Role::Primary || self.cfg.allow_two_primaries)
                    && (!busy || self.initiator());
                if granted {
                    self.set_peer(PeerRole::Primary, self.peer_disk, out);
                }
                self.send_conn(session, ConnMsg::PromoteReply { granted }, out);
            }
            ConnMsg::PromoteReply { granted } => {
                if let Some(mut p) = self.promote {
                    if p.waiting == PromoteWait::Peer {
                        if granted {
                            p.peer_granted = true;
                            p.waiting = PromoteWait::Nothing;
                            self.promote = Some(p);
                            self.try_promote(out);
                        } else {
                            self.refuse_promote(PromoteRefused::PeerRefused, out);
                        }
                    }
                }
            }
            ConnMsg::Ping => self.send_conn(session, ConnMsg::PingAck, out),
            ConnMsg::PingAck => {
                self.ping_outstanding = false;
                out.push(Effect::CancelTimer(ReplicaTimer::PingTimeout));
            }
        }
    }

    fn remote_progress(&mut self, write: WriteId, reached: RemoteHalf, out: &mut Out) {
        let Some(w) = self.pending.get_mut(&write) else {
            return;
        };
        if !matches!(w.remote, RemoteHalf::Sent | RemoteHalf::Received) || reached <= w.remote {
            return;
        }
        w.remote = reached;
        if reached == RemoteHalf::Lost {
            let block = w.block;
            self.bitmap.set(block);
        }
        self.progress(write, out);
    }
}

// Resync.
impl Replica {
    fn set_paused(&mut self, paused: bool, out: &mut Out) {
        let next = match (self.conn, paused) {
            (ConnState::SyncSource, true) => ConnState::PausedSyncS,
            (ConnState::SyncTarget, true) => ConnState::PausedSyncT,
            (ConnState::PausedSyncS, false) => ConnState::SyncSource,
            (ConnState::PausedSyncT, false) => ConnState::SyncTarget,
            _ => return,
        };
        self.set_conn(next, out);
        if next == ConnState::SyncSource {
            self.resync_step(out);
        }
    }

    fn pause_command(&mut self, paused: bool, out: &mut Out) {
        if let Some(session) = self.session {
            if self.conn.is_sync_source() || self.conn.is_sync_target() {
                self.send_conn(session, ConnMsg::SyncPaused(paused), out);
                self.set_paused(paused, out);
            }
        }
    }

    /// Sends the next batch of dirty blocks, as many as the rate allows per tick.
    fn resync_step(&mut self, out: &mut Out) {
        if self.conn != ConnState::SyncSource {
            return;
        }
        let Some(session) = self.session else {
            return;
        };
        let batch = self.cfg.resync_blocks_per_tick();
        let in_flight = (self.resync.reading.len() + self.resync.sent.len()) as u64;
        // At most two batches in flight: the rate limit holds even if the peer is slow.
        let room = (2 * batch).saturating_sub(in_flight).min(batch);
        let next: Vec<BlockNo> = self
            .bitmap
            .iter()
            .filter(|b| !self.resync.reading.contains(b) && !self.resync.sent.contains(b))
            .take(room as usize)
            .collect();
        for block in next {
            self.resync.reading.insert(block);
            out.push(Effect::Disk(DiskRequest {
                token: DiskToken::ResyncRead(block),
                op: DiskOp::Read { block },
            }));
        }
        self.maybe_finish_resync(session, out);
        if self.conn == ConnState::SyncSource {
            out.push(Effect::SetTimer {
                id: ReplicaTimer::ResyncTick,
                after: RESYNC_TICK,
            });
        }
    }

    fn resync_read_done(
        &mut self,
        block: BlockNo,
        result: Result<Option<Payload>, crate::DiskError>,
        out: &mut Out,
    ) {
        if !self.resync.reading.remove(&block) {
            return;
        }
        let superseded = self.resync.superseded.remove(&block);
        let Some(session) = self.session else {
            return;
        };
        match result {
            Err(_) => self.disk_failed(out),
            Ok(_) if superseded => self.maybe_finish_resync(session, out),
            Ok(data) => {
                self.resync.sent.insert(block);
                self.send_conn(
                    session,
                    ConnMsg::SyncData {
                        block,
                        data: data.unwrap_or_else(Payload::zeroes),
                    },
                    out,
                );
            }
        }
    }

    /// End of resync on the source: rotate the identifiers and tell the target.
    fn maybe_finish_resync(&mut self, session: SessionId, out: &mut Out) {
        let r = &self.resync;
        if !self.conn.is_sync_source()
            || !self.bitmap.is_empty()
            || !r.reading.is_empty()
            || !r.sent.is_empty()
        {
            return;
        }
        if self.uuids.bitmap != 0 {
            self.uuids.push_history(self.uuids.bitmap);
        }
        self.uuids.bitmap = 0;
        self.crashed_primary = false;
        let mut theirs = self.uuids;
        theirs.current &= !1;
        self.send_conn(session, ConnMsg::SyncDone { uuids: theirs }, out);
        out.push(Effect::CancelTimer(ReplicaTimer::ResyncTick));
        self.set_peer(self.peer_role, DiskState::UpToDate, out);
        self.set_conn(ConnState::Connected, out);
        out.push(Effect::Event(ReplicaNotice::SyncFinished {
            blocks: self.resync.done,
        }));
        self.persist(out);
    }
}

// Quorum and the witness.
impl Replica {
    fn update_quorum(&mut self, out: &mut Out) {
        let has = match self.cfg.quorum {
            QuorumPolicy::Off => true,
            QuorumPolicy::Majority => {
                let voters = 2 + u32::from(self.cfg.witness.is_some());
                let votes = 1
                    + u32::from(self.conn.is_connected())
                    + u32::from(self.witness.up && self.witness.vote);
                2 * votes > voters
            }
        };
        if has == self.quorum {
            return;
        }
        self.quorum = has;
        out.push(Effect::Event(ReplicaNotice::Quorum(has)));
        if !has && self.role == Role::Primary && self.cfg.on_no_quorum == OnNoQuorum::IoError {
            self.fail_unanswered(IoError::NoQuorum, out);
        }
        self.sync_io(out);
    }

    fn ping_witness(&mut self, want_promote: bool, out: &mut Out) {
        let Some(witness) = self.cfg.witness else {
            return;
        };
        out.push(Effect::Send {
            to: witness,
            msg: ReplicaMsg::QuorumPing {
                role: self.role,
                current: self.uuids.current & !1,
                peer: self.cfg.peer,
                peer_in_sync: self.conn.is_connected() && self.peer_disk == DiskState::UpToDate,
                want_promote,
                outdate_peer: self.witness.outdating_peer,
            },
        });
        if !self.witness.outstanding {
            self.witness.outstanding = true;
            out.push(Effect::SetTimer {
                id: ReplicaTimer::WitnessTimeout,
                after: self.cfg.timers.ping_timeout,
            });
        }
        out.push(Effect::SetTimer {
            id: ReplicaTimer::WitnessPing,
            after: self.cfg.timers.ping_int,
        });
    }

    fn witness_lost(&mut self, out: &mut Out) {
        let Some(w) = self.cfg.witness else {
            return;
        };
        self.witness.outstanding = false;
        if self.witness.up {
            self.witness.up = false;
            self.witness.vote = false;
            out.push(Effect::Event(ReplicaNotice::Witness(w, false)));
            self.update_quorum(out);
        }
        if self
            .promote
            .is_some_and(|p| p.waiting == PromoteWait::Witness)
        {
            self.refuse_promote(PromoteRefused::NoQuorum, out);
        }
    }

    fn on_pong(
        &mut self,
        from: NodeId,
        vote: bool,
        promote_ok: bool,
        peer_outdated: bool,
        out: &mut Out,
    ) {
        self.witness.outstanding = false;
        out.push(Effect::CancelTimer(ReplicaTimer::WitnessTimeout));
        if !self.witness.up {
            self.witness.up = true;
            out.push(Effect::Event(ReplicaNotice::Witness(from, true)));
        }
        if self.witness.outdating_peer && peer_outdated && !self.conn.is_connected() {
            self.witness.outdating_peer = false;
            self.peer_outdated = true;
            self.set_peer(PeerRole::Unknown, DiskState::Outdated, out);
            self.persist(out);
        }
        self.witness.vote = vote;
        self.update_quorum(out);
        self.sync_io(out);
        if let Some(mut p) = self.promote {
            if p.waiting == PromoteWait::Witness {
                if promote_ok {
                    p.witness_granted = true;
                    p.waiting = PromoteWait::Nothing;
                    self.promote = Some(p);
                    self.try_promote(out);
                } else {
                    self.refuse_promote(PromoteRefused::WitnessRefused, out);
                }
            }
        }
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
                ReplicaCommand::Write { id, block, data } => self.write(id, block, data, out),
                ReplicaCommand::Read { id, block } => self.read(id, block, out),
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
