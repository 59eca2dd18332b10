//! The analytic model: a continuous-time Markov chain per architecture, built from the
//! same profile's means as exponential rates, solved for its steady state.
//!
//! The chain abstracts the simulated lab (docs/availability.md lists its states):
//!
//! * each guest's *node* is `Up` or down by one cause — its host's hardware, its
//!   hypervisor, its OS or (single node) its service; a node that is down fails no
//!   further (second failures of a down node are left out, an error of the order of
//!   MTTR / MTTF);
//! * each cluster's *site* is up or down; a down site holds its guests' nodes down;
//! * the *service* is served by a guest, is starting on one (`Takeover` after a crash:
//!   Heartbeat's deadtime, then the group's start after a crash; `Handover` after the
//!   watchdog found the service gone; `Boot` when a guest comes up alone), or is down.
//!
//! A node down by a host cause comes back at its repair rate, plus the cluster layer's
//! VM restart rate (1 / (detection + VM boot)) when its cluster has another host; the
//! chain assumes that host is there (it fails with probability about MTTR / MTTF). The
//! link between the guests is left out: a cut link makes two Primaries, not an outage.
//! Hosts that end up running both guests after a VM restart are not tracked either;
//! docs/availability.md says which configurations the chain matches.
//!
//! The steady state solves πQ = 0, Σπ = 1 by Gaussian elimination with partial pivoting
//! on a dense matrix: the chains have at most a few hundred states (see
//! docs/dependencies.md for why no linear-algebra crate).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::config::{AvailabilityProfile, ComponentKind, HOUR};
use crate::profile::{Failover, Profile, WatchdogAction};
use crate::scenario::{Architecture, Cell};
use crate::world::study_layout;

/// Why a node is down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Node {
    Up,
    Down(ComponentKind),
}

/// How the service is being started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Start {
    Takeover,
    Handover,
    Boot,
}

/// The service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Service {
    Serving(usize),
    Starting(usize, Start),
    Down,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct State {
    nodes: Vec<Node>,
    sites: Vec<bool>,
    service: Service,
}

/// The chain's answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Analytic {
    /// Steady-state probability that the service answers.
    pub availability: f64,
    /// Expected downtime, minutes per 365-day year.
    pub downtime_min_per_year: f64,
    /// Outages per year (the rate of leaving the serving states).
    pub outages_per_year: f64,
    /// States of the chain.
    pub states: usize,
    /// Whether every enabled failure and repair of the profile is exponential (else the
    /// chain uses their means: an approximation).
    pub exact_rates: bool,
}

/// The chain could not be built or solved.
#[derive(Debug, thiserror::Error)]
pub enum CtmcError {
    /// More states than a dense solve should take.
    #[error("the chain has {0} states; at most {MAX_STATES} are solved densely")]
    TooLarge(usize),
    /// The linear system is singular (a chain with a trap state).
    #[error("the chain's balance equations are singular")]
    Singular,
}

/// The most states solved.
pub const MAX_STATES: usize = 2000;

/// Rates per hour and the lab's shape, from the profile.
struct Rates {
    fail: BTreeMap<ComponentKind, f64>,
    repair: BTreeMap<ComponentKind, f64>,
    /// VM restart by the cluster layer, per hour.
    restart: f64,
    takeover: f64,
    handover: f64,
    boot: f64,
    /// Per guest: its cluster index, and whether that cluster has another host.
    guests: Vec<(usize, bool)>,
    sites: usize,
    pair: bool,
    watchdog_failover: bool,
}

fn per_hour(mean_secs: f64) -> f64 {
    if mean_secs > 0.0 {
        HOUR / mean_secs
    } else {
        f64::INFINITY
    }
}

impl Rates {
    fn new(profile: &Profile, cell: Cell) -> Rates {
        let a: &AvailabilityProfile = &profile.availability;
        let mut fail = BTreeMap::new();
        let mut repair = BTreeMap::new();
        for k in ComponentKind::ALL {
            let c = a.component(k);
            if c.enabled {
                fail.insert(k, per_hour(c.failure.mean()));
                repair.insert(k, per_hour(c.repair.mean()));
            }
        }
        let layout = study_layout(cell.architecture, false);
        let guests = layout
            .home
            .values()
            .map(|h| {
                let i = layout
                    .clusters
                    .iter()
                    .position(|c| c.hosts.contains(h))
                    .unwrap_or(0);
                (i, layout.clusters[i].hosts.len() > 1)
            })
            .collect();
        let platform = &profile.platforms[&cell.platform];
        let service = &profile.services[&cell.service];
        let fs = &profile.filesystem;
        let h = &profile.heartbeat;
        let deadtime = if cell.architecture == Architecture::Combined {
            h.combined_deadtime
        } else {
            h.deadtime
        };
        let start_after_crash = fs.mount_after_crash.mean()
            + platform.address_start.mean()
            + service.start_after_crash.mean();
        let clean_start = fs.mount.mean() + platform.address_start.mean() + service.start.mean();
        let clean_stop = fs.umount.mean() + service.stop.mean();
        // model choice: vSphere HA notices a dead host in about 15 s (DD: a slave's
        // failure is declared after 15 s without network heartbeats) before booting the
        // VM elsewhere; Masakari's is longer and not modelled here.
        let detect = 15.0;
        let single = cell.architecture == Architecture::SingleNode;
        let boot = if single {
            0.0
        } else {
            h.initdead.max(deadtime) + start_after_crash
        };
        Rates {
            fail,
            repair,
            restart: per_hour(detect + platform.vm_boot.mean() + boot),
            takeover: per_hour(deadtime + start_after_crash),
            handover: per_hour(profile.watchdog.cycle / 2.0 + clean_stop + clean_start),
            boot: per_hour(boot),
            guests,
            sites: layout.clusters.len(),
            pair: !single,
            watchdog_failover: profile.setup.failover == Failover::HeartbeatV1
                && profile.watchdog.action == WatchdogAction::Failover,
        }
    }
}

/// Builds the chain of `cell`'s architecture from `profile` and solves it.
pub fn analytic(profile: &Profile, cell: Cell) -> Result<Analytic, CtmcError> {
    let r = Rates::new(profile, cell);
    let n = r.guests.len();
    let start = State {
        nodes: vec![Node::Up; n],
        sites: vec![true; r.sites],
        service: Service::Serving(0),
    };
    // Reachable states, numbered in discovery order (BFS: deterministic).
    let mut index: BTreeMap<State, usize> = BTreeMap::new();
    let mut states = vec![start.clone()];
    index.insert(start, 0);
    let mut edges: Vec<(usize, usize, f64)> = Vec::new();
    let mut i = 0;
    while i < states.len() {
        let s = states[i].clone();
        for (t, rate) in transitions(&s, &r) {
            if rate <= 0.0 || t == s {
                continue;
            }
            let j = match index.get(&t) {
                Some(&j) => j,
                None => {
                    states.push(t.clone());
                    index.insert(t, states.len() - 1);
                    if states.len() > MAX_STATES {
                        return Err(CtmcError::TooLarge(states.len()));
                    }
                    states.len() - 1
                }
            };
            edges.push((i, j, rate));
        }
        i += 1;
    }
    let pi = steady_state(states.len(), &edges)?;
    let serving = |s: &State| matches!(s.service, Service::Serving(_));
    let availability: f64 = states
        .iter()
        .zip(&pi)
        .filter(|(s, _)| serving(s))
        .map(|(_, p)| p)
        .sum();
    let outages_per_hour: f64 = edges
        .iter()
        .filter(|(a, b, _)| serving(&states[*a]) && !serving(&states[*b]))
        .map(|(a, _, rate)| pi[*a] * rate)
        .sum();
    let year_hours = super::config::YEAR / HOUR;
    Ok(Analytic {
        availability,
        downtime_min_per_year: (1.0 - availability) * year_hours * 60.0,
        outages_per_year: outages_per_hour * year_hours,
        states: states.len(),
        exact_rates: profile.availability.all_exponential(),
    })
}

/// The transitions out of `s` with their rates per hour.
fn transitions(s: &State, r: &Rates) -> Vec<(State, f64)> {
    let mut out = Vec::new();
    let node_up = |s: &State, g: usize| s.nodes[g] == Node::Up && s.sites[r.guests[g].0];
    // Node failures.
    for g in 0..s.nodes.len() {
        if !node_up(s, g) {
            continue;
        }
        for (&k, &rate) in &r.fail {
            let kind = match k {
                ComponentKind::Host | ComponentKind::Hypervisor | ComponentKind::GuestOs => k,
                ComponentKind::Service => {
                    if r.pair && s.service != Service::Serving(g) {
                        // The service runs only where the group is.
                        continue;
                    }
                    if r.pair && r.watchdog_failover {
                        let other = 1 - g;
                        if node_up(s, other) {
                            // The watchdog hands the group over; the node stays a
                            // standby.
                            let mut t = s.clone();
                            t.service = Service::Starting(other, Start::Handover);
                            out.push((t, rate));
                            continue;
                        }
                    }
                    k
                }
                ComponentKind::Link | ComponentKind::Site => continue,
            };
            let mut t = s.clone();
            t.nodes[g] = Node::Down(kind);
            settle(&mut t, r, g);
            out.push((t, rate));
        }
    }
    // Node repairs (and VM restarts).
    for g in 0..s.nodes.len() {
        let Node::Down(k) = s.nodes[g] else { continue };
        if !s.sites[r.guests[g].0] {
            continue;
        }
        let mut rate = r.repair.get(&k).copied().unwrap_or(0.0);
        if matches!(k, ComponentKind::Host | ComponentKind::Hypervisor) && r.guests[g].1 {
            rate += r.restart;
        }
        let mut t = s.clone();
        t.nodes[g] = Node::Up;
        if t.service == Service::Down {
            t.service = boot(r, g);
        }
        out.push((t, rate));
    }
    // Sites.
    if let (Some(&f), Some(&m)) = (
        r.fail.get(&ComponentKind::Site),
        r.repair.get(&ComponentKind::Site),
    ) {
        for c in 0..s.sites.len() {
            let mut t = s.clone();
            t.sites[c] = !s.sites[c];
            if s.sites[c] {
                for g in 0..t.nodes.len() {
                    if r.guests[g].0 == c {
                        settle(&mut t, r, g);
                    }
                }
                out.push((t, f));
            } else {
                if t.service == Service::Down
                    && let Some(g) = (0..t.nodes.len()).find(|&g| node_up(&t, g))
                {
                    t.service = boot(r, g);
                }
                out.push((t, m));
            }
        }
    }
    // The service's start finishing.
    if let Service::Starting(g, how) = s.service {
        let rate = match how {
            Start::Takeover => r.takeover,
            Start::Handover => r.handover,
            Start::Boot => r.boot,
        };
        let mut t = s.clone();
        t.service = Service::Serving(g);
        out.push((t, rate));
    }
    out
}

/// Guest `g` came up alone: the service starts on it (at once where nothing waits: the
/// single node's init scripts).
fn boot(r: &Rates, g: usize) -> Service {
    if r.boot.is_finite() {
        Service::Starting(g, Start::Boot)
    } else {
        Service::Serving(g)
    }
}

/// Guest `g` just went down in `t`: the service moves to the other guest if it was
/// served or starting on `g`.
fn settle(t: &mut State, r: &Rates, g: usize) {
    let on_g = matches!(t.service, Service::Serving(x) | Service::Starting(x, _) if x == g);
    if !on_g {
        return;
    }
    let other =
        (0..t.nodes.len()).find(|&o| o != g && t.nodes[o] == Node::Up && t.sites[r.guests[o].0]);
    t.service = match other {
        Some(o) => Service::Starting(o, Start::Takeover),
        None => Service::Down,
    };
}

/// Solves πQ = 0 with Σπ = 1 for the generator given by `edges` (from, to, rate).
fn steady_state(n: usize, edges: &[(usize, usize, f64)]) -> Result<Vec<f64>, CtmcError> {
    // Rows are the balance equations: for each state j, Σ_i π_i q_ij = 0, i.e. the
    // transpose of Q; the last is replaced by Σπ = 1.
    let mut a = vec![vec![0.0f64; n + 1]; n];
    for &(i, j, rate) in edges {
        a[j][i] += rate;
        a[i][i] -= rate;
    }
    for x in a[n - 1].iter_mut().take(n) {
        *x = 1.0;
    }
    a[n - 1][n] = 1.0;
    solve(&mut a)
}

/// Gaussian elimination with partial pivoting of the augmented `n x (n + 1)` matrix.
fn solve(a: &mut [Vec<f64>]) -> Result<Vec<f64>, CtmcError> {
    let n = a.len();
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))
            .unwrap_or(col);
        if a[pivot][col].abs() < 1e-300 {
            return Err(CtmcError::Singular);
        }
        a.swap(col, pivot);
        let (top, rest) = a.split_at_mut(col + 1);
        let pivot_row = &top[col];
        let p = pivot_row[col];
        for row in rest.iter_mut() {
            let f = row[col] / p;
            if f == 0.0 {
                continue;
            }
            for (x, y) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                *x -= f * y;
            }
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (a[row][n] - s) / a[row][row];
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A two-state chain: up -> down at λ, down -> up at μ: availability μ / (λ + μ).
    #[test]
    fn two_state_chain_matches_the_closed_form() {
        let (l, m) = (0.01, 2.0);
        let pi = steady_state(2, &[(0, 1, l), (1, 0, m)]).expect("solvable");
        assert!((pi[0] - m / (l + m)).abs() < 1e-12);
        assert!((pi[0] + pi[1] - 1.0).abs() < 1e-12);
    }

    /// Single node with only OS failures and an instant boot: A = μ / (λ + μ), as the
    /// two-state chain says; the chain has those two states.
    #[test]
    fn single_node_with_one_failure_mode_is_the_two_state_chain() {
        let mut p = Profile::thesis();
        for k in ComponentKind::ALL {
            p.availability.component_mut(k).enabled = k == ComponentKind::GuestOs;
        }
        let cell = Cell {
            failure: crate::FailureClass::Software,
            architecture: Architecture::SingleNode,
            platform: crate::Platform::Vmware,
            service: crate::Service::Apache,
        };
        let a = analytic(&p, cell).expect("solves");
        let l = per_hour(p.availability.guest_os.failure.mean());
        let m = per_hour(p.availability.guest_os.repair.mean());
        assert_eq!(a.states, 2);
        assert!((a.availability - m / (l + m)).abs() < 1e-12, "{a:?}");
        assert!(a.exact_rates);
        // The pair is better than the single node with the same rates.
        let pair = analytic(
            &p,
            Cell {
                architecture: Architecture::DrbdHeartbeat,
                ..cell
            },
        )
        .expect("solves");
        assert!(pair.availability > a.availability, "{pair:?} vs {a:?}");
    }
}
