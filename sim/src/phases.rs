//! A recovery split into phases (detection, VM restart, takeover, mount, address,
//! service start, probe wait), read from what the machines did after the fault: the
//! per-phase breakdown of `dualha reproduce` and the comparison with measured timelines.

use model::cluster::ClusterNotice;
use model::guest::GuestNotice;
use model::membership::MembershipNotice;
use model::replication::{ReplicaNotice, Role};
use model::resources::ResourceNotice;
use model::{Effect, NodeId, OcfAction, ProcessRequest, Time};

use crate::node::{SimNode, SimNotice};
use crate::trial::Phase;
use crate::world::{FS, IP, SERVICE, World};

/// Splits the recovery into phases from the records after the fault.
pub(crate) fn phases(
    w: &World,
    from: usize,
    fault: Time,
    recovered: Option<Time>,
    serving_again: Option<Time>,
) -> Vec<Phase> {
    let Some(recovered) = recovered else {
        return Vec::new();
    };
    let records = &w.lab.records()[from..];
    let first = |pred: &dyn Fn(NodeId, &Effect<SimNode>) -> bool| {
        records
            .iter()
            .find(|r| r.time <= recovered && pred(r.node, &r.effect))
            .map(|r| r.time)
    };
    let server = w.serving().first().copied();
    let on_server = |n: NodeId| Some(n) == server;
    let vm_booted = w
        .boots
        .iter()
        .find(|(t, g, _)| *t > fault && *t <= recovered && Some(*g) == server)
        .map(|(t, _, _)| *t);
    // Detection is by whichever layer recovered the service: the cluster layer when it
    // booted the serving guest again, Heartbeat (deadtime or a failed monitor) otherwise.
    let detect = if vm_booted.is_some() {
        first(&|_, e| {
            matches!(
                e,
                Effect::Event(SimNotice::Cluster(ClusterNotice::HostFailed(_)))
            )
        })
    } else {
        let notice = first(&|_, e| {
            matches!(
                e,
                Effect::Event(SimNotice::Guest(GuestNotice::Membership(
                    MembershipNotice::PeerDead(_)
                ))) | Effect::Event(SimNotice::Guest(GuestNotice::Resources(
                    ResourceNotice::MonitorFailed { .. }
                )))
            )
        });
        // Or the watchdog, which acts without a notice of the machines.
        let watchdog = w
            .watchdog_acts
            .iter()
            .map(|(t, _)| *t)
            .find(|t| *t > fault && *t <= recovered);
        match (notice, watchdog) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    };
    let promoted = records
        .iter()
        .filter(|r| r.time <= recovered && on_server(r.node))
        .filter(|r| {
            r.effect
                == Effect::Event(SimNotice::Guest(GuestNotice::Replica(ReplicaNotice::Role(
                    Role::Primary,
                ))))
        })
        .map(|r| r.time)
        .next_back();
    let start_of = |p| {
        records
            .iter()
            .filter(|r| r.time <= recovered && on_server(r.node))
            .filter(|r| {
                matches!(r.effect, Effect::Process(ProcessRequest { process, action: OcfAction::Start, .. }) if process == p)
            })
            .map(|r| r.time)
            .next_back()
    };
    let marks = [
        ("detection", detect),
        ("vm restart", vm_booted),
        ("takeover", promoted),
        ("mount", start_of(IP)),
        ("address", start_of(SERVICE)),
        ("service start", serving_again.filter(|t| *t <= recovered)),
        ("probe wait", Some(recovered)),
    ];
    let mut out = Vec::new();
    let mut last = fault;
    for (name, mark) in marks {
        // The mount starts right after promotion; "takeover" ends at the mount's start.
        let mark = if name == "takeover" {
            start_of(FS).or(mark)
        } else {
            mark
        };
        if let Some(t) = mark {
            if t >= last {
                out.push(Phase {
                    name: name.to_string(),
                    secs: (t - last).as_secs_f64(),
                });
                last = t;
            }
        }
    }
    out
}
