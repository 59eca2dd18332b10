//! Replay protection for the Heartbeat rings.
//!
//! Ring datagrams are signed (HMAC-SHA256), which stops forgery but not replay: someone on
//! the heartbeat network could record a node's heartbeats and send them again after the
//! node died, keeping it "alive" in its peer's eyes and so preventing the failover. Like
//! Heartbeat's own sequence numbers and generations (`hb_generation`), every datagram
//! carries the sender's incarnation (fixed for one run of the process) and a sequence
//! number; the receiver keeps, per peer, the newest incarnation and a 64-datagram window
//! below the highest sequence number, as IPsec does (RFC 4303 section 3.4.3), so
//! datagrams reordered between rings are still accepted and every duplicate is not.

/// The sender's stamp on one datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingStamp {
    /// Which run of the sender: larger for a later start.
    pub incarnation: u64,
    /// Per incarnation, one more for every datagram sent (on any ring).
    pub seq: u64,
}

/// Why a datagram was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Stale {
    /// From an earlier run of the peer than the newest seen.
    #[error(
        "from an earlier run of the peer (incarnation {got}, newest {newest}): a replay, or the peer's clock went back across a restart"
    )]
    OldIncarnation {
        /// The datagram's.
        got: u64,
        /// The newest seen.
        newest: u64,
    },
    /// Already received.
    #[error("duplicate of datagram {0}")]
    Duplicate(u64),
    /// Below the window: too old to tell from a replay.
    #[error("datagram {got} is more than {WINDOW} behind the newest ({newest})")]
    TooOld {
        /// The datagram's.
        got: u64,
        /// The highest seen.
        newest: u64,
    },
}

/// Datagrams below the highest sequence number still accepted once.
pub const WINDOW: u64 = 64;

/// What the receiver remembers of one peer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplayWindow {
    incarnation: u64,
    highest: u64,
    /// Bit `k`: datagram `highest - k` was received.
    seen: u64,
    /// Whether anything was accepted yet.
    started: bool,
}

impl ReplayWindow {
    /// Accepts `stamp` once: a newer incarnation starts afresh, an older one is refused,
    /// and within one incarnation each sequence number passes at most once.
    pub fn accept(&mut self, stamp: RingStamp) -> Result<(), Stale> {
        if !self.started || stamp.incarnation > self.incarnation {
            *self = ReplayWindow {
                incarnation: stamp.incarnation,
                highest: stamp.seq,
                seen: 1,
                started: true,
            };
            return Ok(());
        }
        if stamp.incarnation < self.incarnation {
            return Err(Stale::OldIncarnation {
                got: stamp.incarnation,
                newest: self.incarnation,
            });
        }
        if stamp.seq > self.highest {
            let shift = stamp.seq - self.highest;
            self.seen = if shift >= WINDOW {
                0
            } else {
                self.seen << shift
            };
            self.seen |= 1;
            self.highest = stamp.seq;
            return Ok(());
        }
        let behind = self.highest - stamp.seq;
        if behind >= WINDOW {
            return Err(Stale::TooOld {
                got: stamp.seq,
                newest: self.highest,
            });
        }
        if self.seen & (1 << behind) != 0 {
            return Err(Stale::Duplicate(stamp.seq));
        }
        self.seen |= 1 << behind;
        Ok(())
    }
}

/// This run's incarnation: the wall clock in microseconds at start, so a restarted node
/// has a larger one than any earlier run as long as its clock does not go back by more
/// than the time between the two starts (the cost of not keeping a counter on disk: a
/// peer then ignores this node's heartbeats until the peer itself restarts, and says
/// why in its log).
pub fn this_incarnation() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(1)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(incarnation: u64, seq: u64) -> RingStamp {
        RingStamp { incarnation, seq }
    }

    #[test]
    fn each_datagram_passes_once_and_reordering_within_the_window_is_fine() {
        let mut w = ReplayWindow::default();
        assert_eq!(w.accept(s(5, 10)), Ok(()));
        assert_eq!(w.accept(s(5, 10)), Err(Stale::Duplicate(10)));
        assert_eq!(w.accept(s(5, 12)), Ok(()));
        assert_eq!(w.accept(s(5, 11)), Ok(()), "late, from the other ring");
        assert_eq!(w.accept(s(5, 11)), Err(Stale::Duplicate(11)));
        assert_eq!(w.accept(s(5, 100)), Ok(()));
        assert_eq!(
            w.accept(s(5, 12)),
            Err(Stale::TooOld {
                got: 12,
                newest: 100
            })
        );
        assert_eq!(w.accept(s(5, 37)), Ok(()), "63 behind: still in the window");
        assert_eq!(
            w.accept(s(5, 36)),
            Err(Stale::TooOld {
                got: 36,
                newest: 100
            })
        );
    }

    #[test]
    fn a_restarted_peer_is_accepted_and_its_old_run_is_not() {
        let mut w = ReplayWindow::default();
        assert_eq!(w.accept(s(5, 1000)), Ok(()));
        assert_eq!(w.accept(s(9, 1)), Ok(()), "a new run starts at 1");
        assert_eq!(
            w.accept(s(5, 1001)),
            Err(Stale::OldIncarnation { got: 5, newest: 9 }),
            "the old run's heartbeats, recorded and sent again"
        );
        assert_eq!(w.accept(s(9, 2)), Ok(()));
    }

    #[test]
    fn a_jump_past_the_window_forgets_what_was_seen() {
        let mut w = ReplayWindow::default();
        for seq in 1..=3 {
            assert_eq!(w.accept(s(1, seq)), Ok(()));
        }
        assert_eq!(w.accept(s(1, 3 + WINDOW)), Ok(()));
        assert_eq!(w.accept(s(1, 4)), Ok(()), "63 behind, never seen");
        assert_eq!(
            w.accept(s(1, 3)),
            Err(Stale::TooOld {
                got: 3,
                newest: 3 + WINDOW
            })
        );
    }
}
