//! The application writes of one run, as the properties need them: where each write
//! went, the newest acknowledged write of each block, and what each Primary had to have
//! when it was promoted.
//!
//! Writes overwrite blocks (the transaction probe cycles through 64), so the ledger keeps
//! per block only the newest acknowledged write and, per Primary, that map as it stood
//! at the promotion: with "held" meaning "this write or a later one to its block", those
//! are the only writes the properties need to look at (`model::properties::Observation`).
//! The ledger is fed from the harness' records in order, so an acknowledgement recorded
//! before a promotion counts as acknowledged before it.

use std::collections::BTreeMap;

use model::{BlockNo, NodeId, WriteId};

/// Writes issued, acknowledged and owed.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    /// Write `i + 1` went to block `blocks[i]` (ids are dense from 1).
    blocks: Vec<BlockNo>,
    /// Block -> the newest acknowledged write to it.
    newest: BTreeMap<BlockNo, u64>,
    /// Primary -> `newest` as it was when the guest was promoted.
    promoted: BTreeMap<NodeId, BTreeMap<BlockNo, u64>>,
}

impl Ledger {
    /// A new write to `block`: its id (1, 2, 3, ... in issue order, so a higher id is a
    /// later write).
    pub fn issue(&mut self, block: BlockNo) -> WriteId {
        self.blocks.push(block);
        WriteId(self.blocks.len() as u64)
    }

    /// Writes issued so far.
    pub fn issued(&self) -> u64 {
        self.blocks.len() as u64
    }

    /// The block `write` went to, if it was issued here.
    pub fn block_of(&self, write: WriteId) -> Option<BlockNo> {
        let i = usize::try_from(write.0).ok()?.checked_sub(1)?;
        self.blocks.get(i).copied()
    }

    /// `write` was acknowledged to the application.
    pub fn acknowledged(&mut self, write: WriteId) {
        if let Some(block) = self.block_of(write) {
            let e = self.newest.entry(block).or_insert(0);
            *e = (*e).max(write.0);
        }
    }

    /// `guest` became Primary: it owes every write acknowledged so far.
    pub fn promoted(&mut self, guest: NodeId) {
        self.promoted.insert(guest, self.newest.clone());
    }

    /// `guest` is no longer Primary.
    pub fn demoted(&mut self, guest: NodeId) {
        self.promoted.remove(&guest);
    }

    /// The writes the properties look at: the newest acknowledged per block, and per
    /// Primary the newest acknowledged per block before its promotion (some twice).
    pub fn to_check(&self) -> impl Iterator<Item = WriteId> + '_ {
        self.newest
            .values()
            .chain(self.promoted.values().flat_map(BTreeMap::values))
            .map(|&w| WriteId(w))
    }

    /// Whether `write` (or a later write to its block) was acknowledged before `guest`
    /// was promoted.
    pub fn acknowledged_before_promotion(&self, guest: NodeId, write: WriteId) -> bool {
        let Some(block) = self.block_of(write) else {
            return false;
        };
        self.promoted
            .get(&guest)
            .and_then(|m| m.get(&block))
            .is_some_and(|&w| w >= write.0)
    }

    /// The number of acknowledged blocks (for reports).
    pub fn acknowledged_blocks(&self) -> usize {
        self.newest.len()
    }
}
