//! Why nobody serves: one line per guest, from the machines' own state, so a run that
//! ends without the service says what is in the way (a dead host, a guest Heartbeat
//! gave up on, a replica that may not be promoted).

use model::NodeId;

use super::{FS, IP, SERVICE, World, node_name};
use crate::node::SimNode;

impl World {
    /// Why the service does not answer now, guest by guest; `None` if it answers.
    pub fn why_not_serving(&self) -> Option<String> {
        if !self.serving().is_empty() {
            return None;
        }
        let parts: Vec<String> = self
            .guests
            .keys()
            .map(|&g| format!("{}: {}", node_name(g), self.guest_state(g)))
            .collect();
        Some(parts.join("; "))
    }

    fn guest_state(&self, g: NodeId) -> String {
        let host = self.coupling.host_of(g);
        let host_name = |h: NodeId| node_name(h);
        let Some(machine) = self.lab.try_node(g) else {
            return match host {
                Some(h) => format!(
                    "down (crashed or powered off by STONITH; its VM still runs on {})",
                    host_name(h)
                ),
                None => {
                    let home = self.layout.home.get(&g).copied();
                    match home {
                        Some(h) if !self.lab.is_up(h) => format!(
                            "down (its VM is not running: host {} is off, and no other \
                             host restarted it)",
                            host_name(h)
                        ),
                        _ => "down (its VM is not running)".to_string(),
                    }
                }
            };
        };
        if self.is_hung(g) {
            return format!(
                "hung (its host {} is frozen)",
                host.map_or("?".to_string(), host_name)
            );
        }
        let stopped: Vec<&str> = [(FS, "file system"), (IP, "address"), (SERVICE, "service")]
            .into_iter()
            .filter(|(p, _)| !self.lab.processes(g).get(*p).is_some_and(|x| x.running))
            .map(|(_, name)| name)
            .collect();
        let stopped = if stopped.is_empty() {
            String::new()
        } else {
            format!("; not running: {}", stopped.join(", "))
        };
        match machine {
            SimNode::Guest(guest) => {
                let r = guest.replica();
                let m = guest.membership();
                let res = guest.resources();
                let mut group = format!("group {:?}", res.phase());
                if res.is_blocked() {
                    group.push_str(", blocked (fatal error)");
                } else if res.is_banned() {
                    group.push_str(", banned here");
                }
                format!(
                    "replica {}/{}/{}; Heartbeat sees the peer {:?}{}; {group}{stopped}",
                    r.role(),
                    r.disk(),
                    r.conn(),
                    m.peer_state(),
                    if m.is_quorate() { "" } else { ", no quorum" },
                )
            }
            SimNode::Unmanaged => {
                format!("no HA software, nothing restarts what stopped{stopped}")
            }
            _ => "not a guest".to_string(),
        }
    }
}
