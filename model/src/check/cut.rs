//! A network cut the checker may make: between two nodes (both ways, one network or
//! all), one way only (`a>b`), or every link of one node; parsed from and printed as
//! the check configuration's strings.

use core::fmt;

use serde::{Deserialize, Serialize};

use super::config::{A, B, PING, QDEVICE, WITNESS};
use crate::{Net, NodeId};

/// A network cut: one link (or every link) between two nodes, or every link of one node
/// (`x == y`: the node is isolated, which for the witness, the ping node and the quorum
/// device is their failure).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cut {
    /// One end (the lower id; the sender of a one-way cut).
    pub x: NodeId,
    /// The other end (`x` itself for an isolation; the receiver of a one-way cut).
    pub y: NodeId,
    /// One network, or `None` for every network between them.
    pub net: Option<Net>,
    /// Only messages from `x` to `y` are lost; the other way they pass (`a>b`).
    pub one_way: bool,
}

impl Cut {
    /// A cut of every network (or `net`) between `x` and `y`, both ways.
    pub const fn between(x: NodeId, y: NodeId, net: Option<Net>) -> Cut {
        let (x, y) = if x.0 <= y.0 { (x, y) } else { (y, x) };
        Cut {
            x,
            y,
            net,
            one_way: false,
        }
    }

    /// Whether this cut loses a message from `p` to `q` on `net`.
    pub fn covers(&self, p: NodeId, q: NodeId, net: Net) -> bool {
        if self.net.is_some_and(|n| n != net) {
            return false;
        }
        if self.one_way {
            return p == self.x && q == self.y;
        }
        if self.x == self.y {
            return p == self.x || q == self.x;
        }
        let (lo, hi) = if p < q { (p, q) } else { (q, p) };
        self.x == lo && self.y == hi
    }

    /// Parses `a-b`, `a-b/ring0`, `a-b/ring1`, `a-b/replication`, `a-witness`,
    /// `b-ping`, `a-qdevice` ..., a node alone (`witness`, `a/public`): every link
    /// of that node, and one-way cuts `a>b`, `b>a/replication`: messages from the first
    /// to the second are lost.
    pub fn parse(s: &str) -> Option<Cut> {
        let (ends, net) = match s.split_once('/') {
            Some((e, n)) => (e, Some(n)),
            None => (s, None),
        };
        let one_way = ends.contains('>');
        let (p, q) = if one_way {
            ends.split_once('>')?
        } else {
            ends.split_once('-').unwrap_or((ends, ends))
        };
        let node = |n: &str| match n {
            "a" => Some(A),
            "b" => Some(B),
            "witness" => Some(WITNESS),
            "ping" => Some(PING),
            "qdevice" => Some(QDEVICE),
            _ => None,
        };
        let alone = !one_way && !ends.contains('-');
        let (p, q) = (node(p)?, node(q)?);
        if p == q && !alone {
            return None;
        }
        let net = match net {
            None => None,
            Some("ring0") => Some(Net::Ring(0)),
            Some("ring1") => Some(Net::Ring(1)),
            Some("replication") => Some(Net::Replication),
            Some("public") => Some(Net::Public),
            Some(_) => return None,
        };
        if one_way {
            return Some(Cut {
                x: p,
                y: q,
                net,
                one_way,
            });
        }
        Some(Cut::between(p, q, net))
    }
}

impl fmt::Display for Cut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.one_way {
            write!(f, "{}>{}", node_name(self.x), node_name(self.y))?;
        } else if self.x == self.y {
            write!(f, "{}", node_name(self.x))?;
        } else {
            write!(f, "{}-{}", node_name(self.x), node_name(self.y))?;
        }
        if let Some(n) = self.net {
            write!(f, "/{n}")?;
        }
        Ok(())
    }
}

impl Serialize for Cut {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cut {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Cut, D::Error> {
        let s = String::deserialize(d)?;
        Cut::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "invalid cut `{s}`: expected X-Y or X-Y/NET (the link between two nodes), \
                 or X or X/NET (every link of one node), with X, Y two different nodes of a, \
                 b, witness, ping, qdevice and NET one of ring0, ring1, replication, public"
            ))
        })
    }
}

/// The name the checker's output uses for a node.
pub fn node_name(n: NodeId) -> &'static str {
    match n {
        A => "a",
        B => "b",
        WITNESS => "witness",
        PING => "ping",
        QDEVICE => "qdevice",
        _ => "?",
    }
}
