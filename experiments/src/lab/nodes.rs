//! The two `dualha-node` configurations a `lab run` trial writes: each guest's
//! addresses in the lab, its backing file, and the dummy OCF agent as its group.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::plan::{LabMember, LabPlan};
use super::run::{DISK_BYTES, DUMMY_SERVICE, GUESTS, RESOURCE, member};

/// A guest's address on the network of role `net`, without its prefix length
/// ([`LabPlan::address`], with an error naming what is missing).
fn address(m: &LabMember, plan: &LabPlan, net: model::Net) -> Result<String> {
    plan.address(&m.name, net)
        .with_context(|| format!("{} is not on the {net} network", m.name))
}

/// One guest's files.
pub(super) struct Guest {
    pub(super) name: &'static str,
    pub(super) netns: String,
    pub(super) config: PathBuf,
    pub(super) log: PathBuf,
    pub(super) public: String,
}

pub(super) fn write_configs(plan: &LabPlan, dir: &Path) -> Result<Vec<Guest>> {
    let agent = dir.join("dummy-service");
    std::fs::write(&agent, DUMMY_SERVICE)
        .with_context(|| format!("cannot write {}", agent.display()))?;
    set_executable(&agent)?;
    let ms: Vec<&LabMember> = GUESTS
        .iter()
        .map(|g| member(plan, g))
        .collect::<Result<_>>()?;
    let mut guests = Vec::new();
    for (i, name) in GUESTS.iter().enumerate() {
        let (me, peer) = (ms[i], ms[1 - i]);
        let d = dir.display();
        let config = dir.join(format!("{name}.toml"));
        let disk = dir.join(format!("{name}.img"));
        let f = std::fs::File::create(&disk)
            .with_context(|| format!("cannot create {}", disk.display()))?;
        f.set_len(DISK_BYTES)
            .with_context(|| format!("cannot size {}", disk.display()))?;
        let public = address(me, plan, model::Net::Public)?;
        let text = format!(
            r#"# Written by `dualha lab run` for lab '{lab}'.
[node]
name = "{name}"
peer-name = "{peer_name}"
id = {i}
resource = "{RESOURCE}"

[storage]
disk = "{d}/{name}.img"
meta = "{d}/{name}.meta"

[net]
replication = {{ listen = "{me_drbd}:7789", peer = "{peer_drbd}:7789" }}
rings = [
  {{ listen = "{me_hb0}:7694", peer = "{peer_hb0}:7694" }},
  {{ listen = "{me_hb1}:7694", peer = "{peer_hb1}:7694" }},
]
nbd = "{public}:10809"
control = "{d}/{name}.sock"
metrics = "{public}:9101"

[security]
shared-secret = "dualha lab {lab}"

[drbd]
protocol = "C"
ping-int = 1.0
connect-int = 1.0

[heartbeat]
keepalive = 0.2
deadtime = 2.0
auto-failback = false
preferred = "node1"

[[resource]]
name = "web"
kind = "service"
agent = "{agent}"
params = {{ state = "{d}/web-on-{name}" }}
monitor-interval = 5
"#,
            lab = plan.name,
            peer_name = peer.name,
            me_drbd = address(me, plan, model::Net::Replication)?,
            peer_drbd = address(peer, plan, model::Net::Replication)?,
            me_hb0 = address(me, plan, model::Net::Ring(0))?,
            peer_hb0 = address(peer, plan, model::Net::Ring(0))?,
            me_hb1 = address(me, plan, model::Net::Ring(1))?,
            peer_hb1 = address(peer, plan, model::Net::Ring(1))?,
            agent = agent.display(),
        );
        std::fs::write(&config, text)
            .with_context(|| format!("cannot write {}", config.display()))?;
        guests.push(Guest {
            name,
            netns: me.netns.clone(),
            config,
            log: dir.join(format!("{name}.log")),
            public,
        });
    }
    Ok(guests)
}

fn set_executable(p: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot make {} executable", p.display()))
}
