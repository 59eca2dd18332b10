//! The out-of-sync bitmap and the activity log.
//!
//! DRBD keeps one bit per 4 KiB block that may differ from the peer, so a reconnect
//! resyncs only those blocks; and an *activity log* of the 4 MiB extents that have writes
//! in flight, so that after a Primary crashes only those extents need a resync (src: UG84
//! internals "The quick-sync bitmap", "The Activity Log").
//!
//! The bitmap here is a set of runs rather than a bit array: a full sync of a large device
//! is one run, and the checker's states stay small.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use super::config::BLOCKS_PER_EXTENT;
use crate::BlockNo;

/// The set of blocks that may differ from the peer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Bitmap {
    /// Disjoint, non-adjacent runs `start -> end` (end exclusive).
    runs: BTreeMap<BlockNo, BlockNo>,
    /// Number of blocks set.
    count: u64,
}

impl Bitmap {
    /// An empty bitmap.
    pub fn new() -> Bitmap {
        Bitmap::default()
    }

    /// Every block of a device of `blocks` blocks: a full sync.
    pub fn full(blocks: u64) -> Bitmap {
        let mut b = Bitmap::new();
        b.set_range(0, blocks);
        b
    }

    /// Number of blocks set (DRBD's `drbd_bm_total_weight`).
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The highest block set, if any (a restarted node checks that its bitmap fits the
    /// disk it finds).
    pub fn last(&self) -> Option<BlockNo> {
        self.runs.last_key_value().map(|(_, end)| end - 1)
    }

    /// True when nothing is out of sync.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether `block` is set.
    pub fn contains(&self, block: BlockNo) -> bool {
        self.runs
            .range(..=block)
            .next_back()
            .is_some_and(|(_, &end)| block < end)
    }

    /// Sets `block`; true if it was not set.
    pub fn set(&mut self, block: BlockNo) -> bool {
        if self.contains(block) {
            return false;
        }
        self.set_range(block, block + 1);
        true
    }

    /// Sets every block in `start..end`.
    pub fn set_range(&mut self, start: BlockNo, end: BlockNo) {
        if start >= end {
            return;
        }
        let touching: Vec<(BlockNo, BlockNo)> = self
            .runs
            .range(..=end)
            .rev()
            .take_while(|&(_, &e)| e >= start)
            .map(|(&s, &e)| (s, e))
            .collect();
        let (mut lo, mut hi) = (start, end);
        for (s, e) in touching {
            self.runs.remove(&s);
            self.count -= e - s;
            lo = lo.min(s);
            hi = hi.max(e);
        }
        self.runs.insert(lo, hi);
        self.count += hi - lo;
    }

    /// Clears `block`; true if it was set.
    pub fn clear(&mut self, block: BlockNo) -> bool {
        let Some((&s, &e)) = self.runs.range(..=block).next_back() else {
            return false;
        };
        if block >= e {
            return false;
        }
        self.runs.remove(&s);
        if s < block {
            self.runs.insert(s, block);
        }
        if block + 1 < e {
            self.runs.insert(block + 1, e);
        }
        self.count -= 1;
        true
    }

    /// Adds every block of `other` (DRBD ORs both nodes' bitmaps at resync start).
    pub fn union_with(&mut self, other: &Bitmap) {
        for (&s, &e) in &other.runs {
            self.set_range(s, e);
        }
    }

    /// The blocks set, ascending.
    pub fn iter(&self) -> impl Iterator<Item = BlockNo> + '_ {
        self.runs.iter().flat_map(|(&s, &e)| s..e)
    }
}

/// The extents with application writes in flight, bounded by `al-extents`.
///
/// Entering an extent that is not in the log changes the log, which must be persisted
/// before the write goes to disk; an extent leaves the log only when the log is full and
/// no write is in flight in it (DRBD evicts least recently used; this evicts the oldest
/// idle one, which gives the same guarantee: every block with a write that may not have
/// reached both disks lies in a logged extent).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ActivityLog {
    capacity: usize,
    /// Extent -> writes in flight in it.
    active: BTreeMap<u64, u32>,
    /// Extents in the order they entered.
    order: VecDeque<u64>,
}

impl ActivityLog {
    /// An empty log of `capacity` extents.
    pub fn new(capacity: u32) -> ActivityLog {
        ActivityLog {
            capacity: capacity as usize,
            active: BTreeMap::new(),
            order: VecDeque::new(),
        }
    }

    /// A log holding `extents` (from the metadata), none with writes in flight.
    pub fn restore(capacity: u32, extents: &BTreeSet<u64>) -> ActivityLog {
        let mut al = ActivityLog::new(capacity);
        for &e in extents {
            al.active.insert(e, 0);
            al.order.push_back(e);
        }
        al
    }

    /// A write to `block` starts; true if the log changed (and must be persisted).
    pub fn begin(&mut self, block: BlockNo) -> bool {
        let extent = block / BLOCKS_PER_EXTENT;
        if let Some(n) = self.active.get_mut(&extent) {
            *n += 1;
            return false;
        }
        self.active.insert(extent, 1);
        self.order.push_back(extent);
        if self.order.len() > self.capacity {
            if let Some(pos) = self
                .order
                .iter()
                .position(|e| self.active.get(e) == Some(&0))
            {
                if let Some(idle) = self.order.remove(pos) {
                    self.active.remove(&idle);
                }
            }
        }
        true
    }

    /// A write to `block` finished on every disk it went to.
    pub fn end(&mut self, block: BlockNo) {
        if let Some(n) = self.active.get_mut(&(block / BLOCKS_PER_EXTENT)) {
            *n = n.saturating_sub(1);
        }
    }

    /// The logged extents.
    pub fn extents(&self) -> BTreeSet<u64> {
        self.active.keys().copied().collect()
    }

    /// Marks every block of every logged extent in `bitmap` (after a Primary crash).
    pub fn mark_dirty(extents: &BTreeSet<u64>, bitmap: &mut Bitmap, blocks: u64) {
        for &e in extents {
            let start = e * BLOCKS_PER_EXTENT;
            bitmap.set_range(start.min(blocks), (start + BLOCKS_PER_EXTENT).min(blocks));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_merge_split_and_count() {
        let mut b = Bitmap::new();
        assert!(b.set(5));
        assert!(b.set(7));
        assert!(b.set(6));
        assert!(!b.set(6));
        assert_eq!(b.count(), 3);
        assert_eq!(b.runs.len(), 1);
        assert!(b.clear(6));
        assert_eq!(b.iter().collect::<Vec<_>>(), vec![5, 7]);
        assert!(!b.clear(6));
        b.set_range(0, 10);
        assert_eq!(b.count(), 10);
        assert_eq!(b.runs.len(), 1);
        let mut other = Bitmap::new();
        other.set(20);
        other.set_range(9, 12);
        b.union_with(&other);
        assert_eq!(b.count(), 13);
        assert_eq!(
            b.iter().collect::<Vec<_>>(),
            (0..12).chain([20]).collect::<Vec<_>>()
        );
    }

    #[test]
    fn the_log_evicts_only_idle_extents() {
        let mut al = ActivityLog::new(2);
        let ext = BLOCKS_PER_EXTENT;
        assert!(al.begin(0));
        assert!(!al.begin(1));
        assert!(al.begin(ext));
        // Extent 0 and 1 are busy: the log grows past its capacity rather than forget them.
        assert!(al.begin(2 * ext));
        assert_eq!(al.extents().len(), 3);
        al.end(0);
        al.end(1);
        assert!(al.begin(3 * ext));
        assert_eq!(al.extents(), BTreeSet::from([1, 2, 3]));
    }
}
