//! Application I/O: writes and reads, the disk completion path, acknowledgements per
//! protocol, frozen I/O.
//!
//! A write has two halves, the local disk write and the peer's copy, and the application
//! is answered once the protocol's acknowledgement point is reached (A, B or C) and I/O
//! is not frozen. This is the replica's data path; the other concerns only act on it
//! (mark a peer's half lost, freeze or resume I/O, fail what is unanswered).

use super::promote::PromoteWait;
use super::resync::Resync;
use super::{Out, Replica, ReplicaTimer};
use crate::replication::config::OnNoQuorum;
use crate::replication::msg::ConnMsg;
use crate::replication::notice::ReplicaNotice;
use crate::replication::{ConnState, DiskState, Protocol, Role};
use crate::{
    BlockNo, DiskCompletion, DiskOp, DiskRequest, DiskToken, Effect, IoError, Payload, ReadId,
    WriteId,
};

/// How far the peer's half of a write has got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum RemoteHalf {
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

/// An application write in flight: a run of `count` blocks from `block`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct PendingWrite {
    pub(super) block: BlockNo,
    pub(super) count: u32,
    local: LocalHalf,
    pub(super) remote: RemoteHalf,
    /// The application has had its answer (Ack or WriteFailed).
    answered: bool,
}

/// The blocks `block..block + count`.
pub(super) fn run(block: BlockNo, count: u32) -> core::ops::Range<BlockNo> {
    block..block.saturating_add(u64::from(count))
}

impl Replica {
    /// Whether `block..block + count` is a non-empty run inside the device.
    fn in_range(&self, block: BlockNo, count: u32) -> bool {
        count > 0
            && block
                .checked_add(u64::from(count))
                .is_some_and(|end| end <= self.cfg.blocks)
    }

    pub(super) fn write(
        &mut self,
        id: WriteId,
        block: BlockNo,
        count: u32,
        data: Payload,
        out: &mut Out,
    ) {
        let refuse = if self.role != Role::Primary {
            Some(IoError::NotPrimary)
        } else if !self.in_range(block, count) {
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
            self.frozen.push_back((id, block, count, data));
            return;
        }
        self.start_write(id, block, count, data, out);
    }

    /// Starts a write of a run: one activity-log update at most, one `Data` message, one
    /// disk request; the bitmap is marked or cleared block by block.
    fn start_write(
        &mut self,
        id: WriteId,
        block: BlockNo,
        count: u32,
        data: Payload,
        out: &mut Out,
    ) {
        let mut al_changed = false;
        for b in run(block, count) {
            al_changed |= self.al.begin(b);
        }
        if al_changed {
            // An extent entered the activity log: that must be on disk before the write.
            self.persist(out);
        }
        let mirror = self.conn.is_connected() && self.peer_disk >= DiskState::Inconsistent;
        let remote = match self.session {
            Some(session) if mirror => {
                // Mirrored: the blocks are in sync once the peer writes them; if that
                // fails, the failure path marks them again.
                for b in run(block, count) {
                    self.bitmap.clear(b);
                    if self.resync.reading.contains(&b) {
                        self.resync.superseded.insert(b);
                    }
                }
                self.send_conn(
                    session,
                    ConnMsg::Data {
                        write: id,
                        block,
                        count,
                        data: data.clone(),
                    },
                    out,
                );
                RemoteHalf::Sent
            }
            _ => {
                for b in run(block, count) {
                    self.bitmap.set(b);
                }
                RemoteHalf::NotMirrored
            }
        };
        out.push(Effect::Disk(DiskRequest {
            token: DiskToken::AppWrite(id),
            op: DiskOp::Write { block, count, data },
        }));
        self.pending.insert(
            id,
            PendingWrite {
                block,
                count,
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
            let (block, count) = (w.block, w.count);
            self.pending.remove(&id);
            for b in run(block, count) {
                self.al.end(b);
            }
        }
    }

    pub(super) fn progress_all(&mut self, out: &mut Out) {
        let ids: Vec<WriteId> = self.pending.keys().copied().collect();
        for id in ids {
            self.progress(id, out);
        }
    }

    /// Fails every write the application has not had an answer for.
    pub(super) fn fail_unanswered(&mut self, error: IoError, out: &mut Out) {
        for (&id, w) in self.pending.iter_mut() {
            if !w.answered {
                w.answered = true;
                out.push(Effect::WriteFailed { write: id, error });
            }
        }
        for (id, _, _, _) in self.frozen.drain(..) {
            out.push(Effect::WriteFailed { write: id, error });
        }
        self.progress_all(out);
    }

    /// Reports a change between frozen and flowing I/O; on resume, completes what
    /// waited and starts the writes that queued.
    pub(super) fn sync_io(&mut self, out: &mut Out) {
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
            while let Some((id, block, count, data)) = self.frozen.pop_front() {
                self.write(id, block, count, data, out);
            }
        } else if !was_suspended && now_suspended {
            out.push(Effect::Event(ReplicaNotice::IoSuspended));
        }
    }

    pub(super) fn read(&mut self, id: ReadId, block: BlockNo, count: u32, out: &mut Out) {
        let error = if self.role != Role::Primary {
            Some(IoError::NotPrimary)
        } else if !self.in_range(block, count) {
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
                op: DiskOp::Read { block, count },
            })),
        }
    }

    /// The local disk failed: detach (`on-io-error detach`, src: OPT). This model has no
    /// diskless Primary, so a Primary's unanswered writes fail.
    pub(super) fn disk_failed(&mut self, out: &mut Out) {
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

    pub(super) fn on_disk(&mut self, done: DiskCompletion, out: &mut Out) {
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
            DiskToken::PeerWrite(write, block, count) => {
                self.peer_writes = self.peer_writes.saturating_sub(1);
                if ok {
                    if self.conn.is_sync_target() {
                        for b in run(block, count) {
                            self.bitmap.clear(b);
                        }
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

    pub(super) fn remote_progress(&mut self, write: WriteId, reached: RemoteHalf, out: &mut Out) {
        let Some(w) = self.pending.get_mut(&write) else {
            return;
        };
        if !matches!(w.remote, RemoteHalf::Sent | RemoteHalf::Received) || reached <= w.remote {
            return;
        }
        w.remote = reached;
        if reached == RemoteHalf::Lost {
            for b in run(w.block, w.count) {
                self.bitmap.set(b);
            }
        }
        self.progress(write, out);
    }
}
