//! A virtual network: per-link delay, loss and partitions, per network, FIFO per
//! direction.

use std::collections::{BTreeMap, BTreeSet};

use core::time::Duration;

use super::Timing;
use crate::{Net, NodeId, Time};

/// The state of the link between two nodes (both directions alike).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    /// One-way delay.
    pub delay: Duration,
    /// False while partitioned on every network: everything sent or in flight is lost.
    pub up: bool,
    /// Drop this many of the next messages (each direction counts against it).
    pub drop_next: u32,
}

/// The links between nodes; a link never configured has the default delay and is up.
///
/// A pair of nodes is connected by one link per [`Net`]: [`VirtualNetwork::set_up`] cuts
/// or heals all of them, [`VirtualNetwork::set_net_up`] one network only (one heartbeat
/// ring, the replication link).
#[derive(Clone, Debug)]
pub struct VirtualNetwork {
    default_delay: Duration,
    links: BTreeMap<(NodeId, NodeId), Link>,
    /// `(a, b, net)` with `a <= b` that are cut.
    nets_down: BTreeSet<(NodeId, NodeId, Net)>,
    /// `(from, to, net)` cut in that direction only (`None`: every network).
    one_way_down: BTreeSet<(NodeId, NodeId, Option<Net>)>,
    /// Latest delivery time per direction and network, to keep each FIFO.
    last_delivery: BTreeMap<(NodeId, NodeId, Net), Time>,
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
            nets_down: BTreeSet::new(),
            one_way_down: BTreeSet::new(),
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

    /// Brings every network between `a` and `b` up or down.
    pub fn set_up(&mut self, a: NodeId, b: NodeId, up: bool) {
        self.link_mut(a, b).up = up;
        if up {
            let (x, y) = key(a, b);
            self.nets_down.retain(|&(p, q, _)| (p, q) != (x, y));
            self.one_way_down
                .retain(|&(p, q, _)| (p, q) != (a, b) && (p, q) != (b, a));
        }
    }

    /// Cuts or restores one direction: messages from `from` to `to` on `net` (every
    /// network if `None`); the other direction is untouched.
    pub fn set_one_way_up(&mut self, from: NodeId, to: NodeId, net: Option<Net>, up: bool) {
        if up {
            self.one_way_down.remove(&(from, to, net));
        } else {
            self.one_way_down.insert((from, to, net));
        }
    }

    /// Brings one network between `a` and `b` up or down.
    pub fn set_net_up(&mut self, a: NodeId, b: NodeId, net: Net, up: bool) {
        let (x, y) = key(a, b);
        if up {
            self.nets_down.remove(&(x, y, net));
        } else {
            self.nets_down.insert((x, y, net));
        }
    }

    /// Loses the next `n` messages between `a` and `b`.
    pub fn drop_next(&mut self, a: NodeId, b: NodeId, n: u32) {
        self.link_mut(a, b).drop_next = n;
    }

    /// Whether a message from `a` reaches `b` on `net` (every cut both ways, and the
    /// one-way cuts from `a` to `b`).
    pub fn is_up(&self, a: NodeId, b: NodeId, net: Net) -> bool {
        let (x, y) = key(a, b);
        self.link(a, b).up
            && !self.nets_down.contains(&(x, y, net))
            && !self.one_way_down.contains(&(a, b, None))
            && !self.one_way_down.contains(&(a, b, Some(net)))
    }

    /// A message from `from` to `to` on `net` sent at `now`: when it arrives, or `None` if
    /// lost.
    pub fn send(
        &mut self,
        now: Time,
        from: NodeId,
        to: NodeId,
        net: Net,
        timing: &mut dyn Timing,
    ) -> Option<Time> {
        self.sent += 1;
        let up = self.is_up(from, to, net);
        let link = self.link_mut(from, to);
        if !up {
            self.dropped += 1;
            return None;
        }
        if link.drop_next > 0 {
            link.drop_next -= 1;
            self.dropped += 1;
            return None;
        }
        let delay = link.delay;
        let at = now + timing.message(from, to, net, delay);
        let last = self
            .last_delivery
            .entry((from, to, net))
            .or_insert(Time::ZERO);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_one_way_cut_stops_one_direction_and_a_heal_of_the_pair_restores_it() {
        let (a, b) = (NodeId(0), NodeId(1));
        let mut n = VirtualNetwork::new(Duration::ZERO);
        n.set_one_way_up(a, b, Some(Net::Replication), false);
        assert!(!n.is_up(a, b, Net::Replication));
        assert!(n.is_up(b, a, Net::Replication));
        assert!(n.is_up(a, b, Net::Ring(0)));
        n.set_one_way_up(a, b, None, false);
        assert!(!n.is_up(a, b, Net::Ring(0)));
        n.set_one_way_up(a, b, None, true);
        assert!(n.is_up(a, b, Net::Ring(0)));
        n.set_up(b, a, true);
        assert!(
            n.is_up(a, b, Net::Replication),
            "healing the pair heals one-way cuts"
        );
    }
}
