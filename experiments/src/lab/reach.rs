//! Whether the lab's networks carry traffic: a UDP echo between two members of each
//! network, each end run inside its member's namespace by this same binary (the hidden
//! `dualha lab udp-echo` and `dualha lab udp-reach`). Nothing but `ip` and `dualha` is
//! needed on the machine.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::netns::spawn_in;
use super::plan::LabPlan;

/// The port the echo listens on (inside the lab's namespaces only).
const ECHO_PORT: u16 = 7777;
/// How long either end waits.
const WAIT: Duration = Duration::from_secs(5);
const PROBE: &[u8] = b"dualha-lab";

/// Answers one datagram on `bind` (or gives up after [`WAIT`]).
pub fn echo(bind: SocketAddr) -> Result<()> {
    let socket = UdpSocket::bind(bind).with_context(|| format!("cannot bind {bind}"))?;
    socket.set_read_timeout(Some(WAIT))?;
    let mut buf = [0u8; 64];
    let (n, from) = socket
        .recv_from(&mut buf)
        .with_context(|| format!("nothing reached {bind} within {WAIT:?}"))?;
    socket.send_to(&buf[..n], from)?;
    Ok(())
}

/// Sends probes to `to` every 100 ms until one comes back (the echo may start a moment
/// later), for at most [`WAIT`].
pub fn reach(to: SocketAddr) -> Result<Duration> {
    let socket = UdpSocket::bind("0.0.0.0:0").context("cannot bind a UDP socket")?;
    socket.set_read_timeout(Some(Duration::from_millis(100)))?;
    let start = Instant::now();
    let mut buf = [0u8; 64];
    while start.elapsed() < WAIT {
        // A send can fail while the route comes up; try again.
        let _ = socket.send_to(PROBE, to);
        if let Ok((n, _)) = socket.recv_from(&mut buf)
            && &buf[..n] == PROBE
        {
            return Ok(start.elapsed());
        }
    }
    bail!("no answer from {to} within {WAIT:?}")
}

/// One network checked: its name, who talked to whom, and the round trip.
#[derive(Clone, Debug)]
pub struct Reached {
    /// The network.
    pub network: String,
    /// The sender.
    pub from: String,
    /// The echo.
    pub to: String,
    /// Time to the first answer.
    pub took: Duration,
}

/// Checks every network with at least two members: the first member sends to the last
/// (on the client's network, the client to the first guest VM).
pub fn check_all(plan: &LabPlan) -> Result<Vec<Reached>> {
    let me = std::env::current_exe().context("cannot find the dualha binary")?;
    let me = me
        .to_str()
        .context("the dualha binary's path is not UTF-8")?;
    let mut out = Vec::new();
    for (i, net) in plan.networks.iter().enumerate() {
        let on: Vec<_> = plan
            .members
            .iter()
            .filter(|m| m.links.iter().any(|l| l.network == i))
            .collect();
        let (from, to) = match on.as_slice() {
            [] | [_] => continue,
            // The client's network: the client to the first guest, as its load will.
            [.., last] if last.kind == "client" => {
                let guest = on.iter().find(|m| m.kind == "vm").unwrap_or(&on[0]);
                (*last, *guest)
            }
            [first, .., last] => (*first, *last),
        };
        let address = |m: &super::plan::LabMember| {
            m.links
                .iter()
                .find(|l| l.network == i)
                .and_then(|l| l.address.split('/').next())
                .map(str::to_string)
        };
        let Some(target) = address(to) else { continue };
        let target = format!("{target}:{ECHO_PORT}");
        let echo = spawn_in(&to.netns, me, &["lab", "udp-echo", "--bind", &target])?;
        let sent = spawn_in(&from.netns, me, &["lab", "udp-reach", "--to", &target])?
            .wait_with_output()
            .context("the UDP probe did not finish")?;
        let echoed = echo
            .wait_with_output()
            .context("the UDP echo did not finish")?;
        if !sent.status.success() {
            bail!(
                "network {}: {} cannot reach {} at {target}: {}{}",
                net.name,
                from.name,
                to.name,
                String::from_utf8_lossy(&sent.stderr).trim(),
                String::from_utf8_lossy(&echoed.stderr).trim()
            );
        }
        let took = String::from_utf8_lossy(&sent.stdout)
            .trim()
            .parse::<f64>()
            .map(Duration::from_secs_f64)
            .unwrap_or_default();
        out.push(Reached {
            network: net.name.clone(),
            from: from.name.clone(),
            to: to.name.clone(),
            took,
        });
    }
    Ok(out)
}
