//! A guest's notices as one line of text, in the vocabulary operators know from
//! `drbdadm status`, Heartbeat's log and `crm_mon`.
//!
//! One wording for every driver: the daemon logs these lines with wall-clock times, so a
//! real run reads phase by phase like a simulated timeline.

use super::GuestNotice;
use crate::membership::MembershipNotice as M;
use crate::replication::ReplicaNotice as R;
use crate::replication::handshake::Outcome;
use crate::resources::ResourceNotice as P;
use crate::{NodeId, ProcessId};

/// The line for `notice`, or `None` for notices too fine-grained for a timeline (one
/// resynced block); `node` names nodes (`alpha`) and `name` the group's resources
/// (`Filesystem`, `apache`), as the driver knows them.
pub fn notice_text(
    notice: &GuestNotice,
    node: &dyn Fn(NodeId) -> String,
    name: &dyn Fn(ProcessId) -> String,
) -> Option<String> {
    Some(match notice {
        GuestNotice::Replica(r) => match r {
            R::Role(role) => format!("role:{role}"),
            R::Disk(d) => format!("disk:{d}"),
            R::Conn(c) => format!("replication:{c}"),
            R::Peer { role, disk } => format!("peer role:{role} peer-disk:{disk}"),
            R::NewCurrentUuid(u) => format!("new current UUID {u:016X}"),
            R::Handshake { rule, outcome } => {
                let verdict = match outcome {
                    Outcome::Connected => "no resync".to_string(),
                    Outcome::SyncSource { full } => {
                        format!(
                            "become sync source{}",
                            if *full { " (full sync)" } else { "" }
                        )
                    }
                    Outcome::SyncTarget { full } => {
                        format!(
                            "become sync target{}",
                            if *full { " (full sync)" } else { "" }
                        )
                    }
                    Outcome::Disconnect(why) => format!("disconnect ({why:?})"),
                };
                format!("handshake: uuid_compare rule {rule}: {verdict}")
            }
            R::SplitBrain(sb) => format!(
                "Split-Brain detected, {} primaries, {}",
                sb.primaries,
                match (sb.manual, sb.discard_mine) {
                    (true, _) | (_, None) =>
                        "dropping connection (manual recovery needed)".to_string(),
                    (false, Some(true)) => "automatically solved: discarding my data".to_string(),
                    (false, Some(false)) =>
                        "automatically solved: discarding the peer's data".to_string(),
                }
            ),
            R::Refused(why) => format!("connection refused by the handshake ({why:?})"),
            R::SyncStarted { source, blocks } => format!(
                "resync started as {} ({} KiB out of sync)",
                if *source { "SyncSource" } else { "SyncTarget" },
                blocks * 4
            ),
            R::SyncFinished { blocks } => format!("resync done ({} KiB)", blocks * 4),
            R::Resynced(_) => return None,
            R::PromoteRefused(why) => format!("promote refused: {why}"),
            R::IoSuspended => "I/O suspended".to_string(),
            R::IoResumed => "I/O resumed".to_string(),
            R::Quorum(q) => format!("quorum:{}", if *q { "yes" } else { "no" }),
            R::Witness(w, up) => format!(
                "witness {w} {}",
                if *up { "reachable" } else { "unreachable" }
            ),
        },
        GuestNotice::Membership(m) => match m {
            M::PeerAlive(p) => format!("heartbeat: node {} is alive", node(*p)),
            M::PeerWarn(p) => format!("heartbeat: late heartbeat from node {}", node(*p)),
            M::PeerDead(p) => format!("heartbeat: node {} is dead", node(*p)),
            M::RingDown(r) => format!("heartbeat: ring{r} down"),
            M::RingUp(r) => format!("heartbeat: ring{r} up"),
            M::Isolated(i) => format!(
                "heartbeat: {}",
                if *i {
                    "isolated (ping nodes lost)"
                } else {
                    "no longer isolated"
                }
            ),
            M::Quorum(q) => format!("heartbeat: quorum {}", if *q { "gained" } else { "lost" }),
            M::Fencing(p) => format!("STONITH node {}", node(*p)),
            M::Fenced {
                node: target,
                success,
            } => {
                let outcome = if *success { "done" } else { "failed" };
                format!("STONITH node {}: {outcome}", node(*target))
            }
            M::TakeOver => "heartbeat: taking over resources".to_string(),
            M::GiveUp => "heartbeat: giving up resources".to_string(),
        },
        GuestNotice::Resources(p) => match p {
            P::GroupStarting => "group: starting".to_string(),
            P::GroupStarted => "group: started".to_string(),
            P::GroupStopping => "group: stopping".to_string(),
            P::GroupStopped => "group: stopped".to_string(),
            P::ResourceStarted(id) => format!("{}: started", name(*id)),
            P::ResourceStopped(id) => format!("{}: stopped", name(*id)),
            P::MonitorFailed { id, exit } => {
                format!("{}: monitor failed (OCF exit {})", name(*id), exit.code())
            }
            P::Restarting(id) => format!("{}: restarting in place", name(*id)),
            P::FailCount { id, count } => format!("{}: fail-count={count}", name(*id)),
            P::FailCountExpired(id) => format!("{}: fail-count expired", name(*id)),
            P::MigrationThresholdReached(id) => {
                format!(
                    "{}: migration-threshold reached, group leaves this node",
                    name(*id)
                )
            }
            P::StartFailed { id, exit } => format!("{}: start failed ({exit:?})", name(*id)),
            P::StopFailed { id, exit } => {
                format!(
                    "{}: stop failed ({exit:?}), this node must be fenced",
                    name(*id)
                )
            }
            P::Banned { id, exit } => {
                format!(
                    "{}: hard error ({exit:?}), group banned from this node",
                    name(*id)
                )
            }
            P::Blocked { id, exit } => {
                format!(
                    "{}: fatal error ({exit:?}), group blocked everywhere",
                    name(*id)
                )
            }
            P::HandedOver => "group: handed over to the peer".to_string(),
            P::HandoverDeclined => "group: declined the peer's handover".to_string(),
            P::HandoverRefused => "group: the peer declined the handover".to_string(),
            P::FailingBack => "group: failing back to the preferred node".to_string(),
            P::ActiveOnBoth => {
                "group: active on both nodes, the non-preferred stops it".to_string()
            }
            P::CannotRun => {
                "group: cannot run here (banned, blocked or over threshold)".to_string()
            }
            P::CleanedUp => "group: cleaned up".to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replication::Role;

    fn line(n: GuestNotice) -> Option<String> {
        notice_text(&n, &|n| format!("node-{n}"), &|_| "apache".to_string())
    }

    #[test]
    fn lines_read_like_drbdadm_and_heartbeat() {
        assert_eq!(
            line(GuestNotice::Replica(R::Role(Role::Primary))).as_deref(),
            Some("role:Primary")
        );
        assert_eq!(
            line(GuestNotice::Membership(M::PeerDead(NodeId(1)))).as_deref(),
            Some("heartbeat: node node-b is dead")
        );
        assert_eq!(line(GuestNotice::Replica(R::Resynced(3))), None);
        assert_eq!(
            line(GuestNotice::Resources(P::ResourceStarted(ProcessId(2)))).as_deref(),
            Some("apache: started")
        );
    }
}
