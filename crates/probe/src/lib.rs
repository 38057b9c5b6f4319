//! gilgauge-probe: where every thread of a (Python) process spends its time.
//!
//! Linux readers for `/proc` (pure parsers in [`procfs`]), the target's syscall
//! ABI ([`abi`]), the GIL's address range ([`gil_range`], via [`elf`]) and its
//! `locked` field ([`gil_state`]), the
//! classification of one sample ([`classify`]) and the sampler thread that keeps
//! cumulative per-thread counters ([`sampler`]). No napi here: the binding in
//! `crates/node` only converts types.

pub mod abi;
pub mod classify;
pub mod clock;
pub mod elf;
pub mod error;
pub mod gil_range;
pub mod gil_state;
pub mod procfs;
pub mod sampler;
pub mod trace;

pub use error::ProbeError;
