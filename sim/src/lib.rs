//! The deterministic discrete-event simulator of dualha.
//!
//! Nothing lives here yet. This crate will own a virtual clock and a priority queue of
//! `(time, sequence, event)`, drive the unchanged `model` machines, and draw every random
//! value from seeded `rand_chacha` streams, so that one seed replays bit for bit
//! (see `shared/DESIGN.md` and the "Predict" issue).
#![deny(missing_docs)]
