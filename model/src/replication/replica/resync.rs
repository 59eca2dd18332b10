//! Resync: starting as sync source or target once both sides agreed, the source's
//! rate-limited batches, pause and resume, and the end of the resync.
//!
//! The handshake (`connection`) decides whether a resync is needed and which way; this
//! file carries it out. The target's side is mostly message handling in `on_conn`
//! (`SyncData`, `SyncUuid`, `SyncDone`); the source's side, which reads blocks and sends
//! them at the configured rate, is here.

use std::collections::BTreeSet;

use super::{Out, Replica, ReplicaTimer};
use crate::replication::bitmap::Bitmap;
use crate::replication::config::RESYNC_TICK;
use crate::replication::msg::{ConnMsg, SessionId};
use crate::replication::notice::ReplicaNotice;
use crate::replication::uuid::{UUID_JUST_CREATED, UUID_NEW_BM_OFFSET, fresh_uuid};
use crate::replication::{ConnState, DiskState, Role};
use crate::{BlockNo, DiskOp, DiskRequest, DiskToken, Effect, Payload};

/// Progress of a resync in this connection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(super) struct Resync {
    /// Source: blocks being read from the local disk.
    pub(super) reading: BTreeSet<BlockNo>,
    /// Source: blocks sent and not yet acknowledged.
    pub(super) sent: BTreeSet<BlockNo>,
    /// Source: blocks read for resync that an application write overtook; the read's
    /// (possibly older) content must not be sent.
    pub(super) superseded: BTreeSet<BlockNo>,
    /// Blocks transferred.
    pub(super) done: u64,
}

/// A resync the handshake decided on, waiting for the peer to agree.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct SyncPlan {
    pub(super) full: bool,
    pub(super) peer_bitmap: Bitmap,
}

impl Replica {
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
    pub(super) fn start_sync_source(
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

    pub(super) fn start_sync_target(&mut self, full: bool, peer_bitmap: &Bitmap, out: &mut Out) {
        self.take_sync_bitmap(full, peer_bitmap);
        self.set_disk(DiskState::Inconsistent, out);
        self.set_conn(ConnState::SyncTarget, out);
        out.push(Effect::Event(ReplicaNotice::SyncStarted {
            source: false,
            blocks: self.bitmap.count(),
        }));
    }

    /// Why `drbdadm invalidate` would be refused now (src: Linux `drbd_nl.c`
    /// `drbd_adm_invalidate`, 8.4, and the state checks it runs into), or `None` if it
    /// would be carried out.
    pub fn invalidate_refusal(&self) -> Option<&'static str> {
        let busy = self.conn.is_sync_source()
            || self.conn.is_sync_target()
            || matches!(self.conn, ConnState::WFBitMapS | ConnState::WFBitMapT);
        if self.role != Role::Secondary {
            Some("only a Secondary can be invalidated")
        } else if self.disk <= DiskState::Failed {
            Some("there is no disk to invalidate")
        } else if busy {
            Some("a resync is running")
        } else if self.conn.is_connected() && self.conn != ConnState::Connected {
            Some("the connection is changing state")
        } else if self.conn == ConnState::Connected && self.peer_disk != DiskState::UpToDate {
            Some("the peer's disk is not UpToDate: nobody to take the data from")
        } else {
            None
        }
    }

    /// `drbdadm invalidate`: every block out of sync and the disk Inconsistent, persisted
    /// before anything else, so a crash in between still ends in a full resync;
    /// connected, the peer is asked to become the source.
    pub(super) fn invalidate(&mut self, out: &mut Out) {
        if self.invalidate_refusal().is_some() {
            return;
        }
        self.bitmap = Bitmap::full(self.cfg.blocks);
        self.set_disk(DiskState::Inconsistent, out);
        self.persist(out);
        if self.conn == ConnState::Connected
            && let Some(session) = self.session
        {
            self.send_conn(session, ConnMsg::Invalidated, out);
        }
    }

    /// The peer was invalidated: resync it whole if this node has good data.
    pub(super) fn on_invalidated(&mut self, session: SessionId, out: &mut Out) {
        if self.conn == ConnState::Connected && self.disk == DiskState::UpToDate {
            self.start_sync_source(session, true, &Bitmap::new(), out);
        }
    }

    pub(super) fn set_paused(&mut self, paused: bool, out: &mut Out) {
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

    pub(super) fn pause_command(&mut self, paused: bool, out: &mut Out) {
        if let Some(session) = self.session {
            if self.conn.is_sync_source() || self.conn.is_sync_target() {
                self.send_conn(session, ConnMsg::SyncPaused(paused), out);
                self.set_paused(paused, out);
            }
        }
    }

    /// Sends the next batch of dirty blocks, as many as the rate allows per tick.
    pub(super) fn resync_step(&mut self, out: &mut Out) {
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
                op: DiskOp::Read { block, count: 1 },
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

    pub(super) fn resync_read_done(
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
    pub(super) fn maybe_finish_resync(&mut self, session: SessionId, out: &mut Out) {
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
