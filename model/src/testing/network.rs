//! A virtual network: per-link delay, loss and partitions, FIFO per direction.

use std::collections::BTreeMap;

use core::time::Duration;

use crate::{NodeId, Time};

/// The state of the link between two nodes (both directions alike).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    /// One-way delay.
    pub delay: Duration,
    /// False while partitioned: everything sent or in flight is lost.
    pub up: bool,
    /// Drop this many of the next messages (each direction counts against it).
    pub drop_next: u32,
}

/// The links between nodes; a link never configured has the default delay and is up.
#[derive(Clone, Debug)]
pub struct VirtualNetwork {
    default_delay: Duration,
    links: BTreeMap<(NodeId, NodeId), Link>,
    /// Latest delivery time per direction, to keep each direction FIFO.
    last_delivery: BTreeMap<(NodeId, NodeId), Time>,
    sent: u64,
    dropped: u64,
}

fn key(a: NodeId, b: NodeId) -> (NodeId, NodeId) {
    if a <= b { (a, b) } else { (b, a) }
}

impl VirtualNetwork {
    /// A network whose links all have `default_delay`.
    pub fn new(default_delay: Duration) -> VirtualNetwork {
        VirtualNetwork {
            default_delay,
            links: BTreeMap::new(),
            last_delivery: BTreeMap::new(),
            sent: 0,
            dropped: 0,
        }
    }

    /// The link between `a` and `b`.
    pub fn link(&self, a: NodeId, b: NodeId) -> Link {
        self.links.get(&key(a, b)).copied().unwrap_or(Link {
            delay: self.default_delay,
            up: true,
            drop_next: 0,
        })
    }

    fn link_mut(&mut self, a: NodeId, b: NodeId) -> &mut Link {
        let default = self.link(a, b);
        self.links.entry(key(a, b)).or_insert(default)
    }

    /// Sets the one-way delay between `a` and `b`.
    pub fn set_delay(&mut self, a: NodeId, b: NodeId, delay: Duration) {
        self.link_mut(a, b).delay = delay;
    }

    /// Brings the link between `a` and `b` up or down.
    pub fn set_up(&mut self, a: NodeId, b: NodeId, up: bool) {
        self.link_mut(a, b).up = up;
    }

    /// Loses the next `n` messages between `a` and `b`.
    pub fn drop_next(&mut self, a: NodeId, b: NodeId, n: u32) {
        self.link_mut(a, b).drop_next = n;
    }

    /// Whether `a` and `b` can talk.
    pub fn is_up(&self, a: NodeId, b: NodeId) -> bool {
        self.link(a, b).up
    }

    /// A message from `from` to `to` sent at `now`: when it arrives, or `None` if lost.
    pub fn send(&mut self, now: Time, from: NodeId, to: NodeId) -> Option<Time> {
        self.sent += 1;
        let link = self.link_mut(from, to);
        if !link.up {
            self.dropped += 1;
            return None;
        }
        if link.drop_next > 0 {
            link.drop_next -= 1;
            self.dropped += 1;
            return None;
        }
        let at = now + link.delay;
        let last = self.last_delivery.entry((from, to)).or_insert(Time::ZERO);
        *last = (*last).max(at);
        Some(*last)
    }

    /// Messages sent so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Messages lost so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}
