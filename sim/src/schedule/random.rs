//! Random fault schedules drawn from a seed (`dualha simulate --random`).

use super::{Schedule, ScheduleError, ScheduledFault, TimedFault};
use crate::limits::{MAX_SCHEDULE_EVENTS, MAX_SCHEDULE_SECS, MAX_SECS, secs_in};

/// The shortest mean gap between random faults: the resolution of their times.
pub const MIN_MEAN_GAP_SECS: f64 = 0.1;

/// The longest span of random faults (the shortest is 1 s): one day (a partition's heal comes up to 120 s
/// later, well within [`MAX_SCHEDULE_SECS`]).
pub const MAX_RANDOM_SPAN_SECS: f64 = MAX_SECS;

const _: () = assert!(MAX_RANDOM_SPAN_SECS + 120.0 <= MAX_SCHEDULE_SECS);

/// A random schedule: faults arrive with exponential gaps of mean `mean_gap` seconds
/// over `span` seconds, each a service kill, a guest crash, a host power-off, a host
/// hang, a partition of the guests (one network or all) healed after a while, or a
/// message loss; targets and durations drawn too. One stream per seed, so a random
/// schedule replays exactly (print it with `toml` to keep it).
///
/// `span` is at most [`MAX_RANDOM_SPAN_SECS`], `mean_gap` at least
/// [`MIN_MEAN_GAP_SECS`]; a draw of more than [`MAX_SCHEDULE_EVENTS`] events stops at
/// once with [`ScheduleError::TooDense`].
pub(super) fn stochastic(seed: u64, span: f64, mean_gap: f64) -> Result<Schedule, ScheduleError> {
    use rand::Rng;
    secs_in("span", span, 1.0, MAX_RANDOM_SPAN_SECS)?;
    secs_in("mean_gap", mean_gap, MIN_MEAN_GAP_SECS, MAX_SECS)?;
    let mut rng = crate::rng::stream(seed, "stochastic-faults");
    let mut events = Vec::new();
    let mut t = 0.0;
    let guests = ["a", "b"];
    loop {
        let u: f64 = rng.random_range(f64::EPSILON..1.0);
        t += -mean_gap.max(0.001) * u.ln();
        if t > span {
            break;
        }
        if events.len() >= MAX_SCHEDULE_EVENTS {
            return Err(ScheduleError::TooDense {
                span,
                mean_gap,
                expected: span / mean_gap,
            });
        }
        let node = guests[rng.random_range(0..2)].to_string();
        let round = |x: f64| (x * 10.0).round() / 10.0;
        let at = round(t);
        match rng.random_range(0..6u32) {
            0 => events.push(TimedFault {
                at,
                fault: ScheduledFault::KillService { node },
            }),
            1 => events.push(TimedFault {
                at,
                fault: ScheduledFault::Crash { node },
            }),
            2 => events.push(TimedFault {
                at,
                fault: ScheduledFault::PowerOff { node },
            }),
            3 => events.push(TimedFault {
                at,
                fault: ScheduledFault::Hang {
                    node,
                    secs: round(rng.random_range(1.0..60.0)),
                },
            }),
            4 => {
                let net = ["ring0", "replication", "public"]
                    .get(rng.random_range(0..4usize))
                    .map(|n| n.to_string());
                let heal_at = round(t + rng.random_range(5.0..120.0));
                events.push(TimedFault {
                    at,
                    fault: ScheduledFault::Partition {
                        a: "a".into(),
                        b: "b".into(),
                        net: net.clone(),
                    },
                });
                events.push(TimedFault {
                    at: heal_at,
                    fault: ScheduledFault::Heal {
                        a: "a".into(),
                        b: "b".into(),
                        net,
                    },
                });
            }
            _ => events.push(TimedFault {
                at,
                fault: ScheduledFault::LoseMessages {
                    a: "a".into(),
                    b: "b".into(),
                    net: None,
                    count: rng.random_range(1..5),
                },
            }),
        }
    }
    Ok(Schedule {
        format: None,
        config: None,
        events,
    })
}
