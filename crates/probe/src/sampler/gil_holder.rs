//! Reads the target's GIL `locked` field at sampling ticks (see
//! [`crate::gil_state`]): the fraction of ticks it reads 1 is the fraction of
//! wall time the GIL was held.
//!
//! Memory is read through a kept-open `/proc/<pid>/mem` with pread: the same
//! permission as ptrace attach (same uid and Yama's scope, or root), works
//! under qemu-user, and costs one syscall per tick.

use std::fs::File;
use std::os::unix::fs::FileExt;

use crate::abi::Abi;
use crate::gil_range::RuntimeLocation;
use crate::gil_state::{
    gil_state_candidates, narrow_candidates, parse_locked, GilLocked, GilStateError, GilStateLayout,
};

/// `_PyRuntime` is 0.7–460 KB in CPython 3.10–3.13; refuse to copy more.
const MAX_RUNTIME_BYTES: u64 = 4 << 20;
/// Until the interpreter has set its GIL up, retry this often, this many times.
const RETRY_INTERVAL_NS: u64 = 500_000_000;
const MAX_ATTEMPTS: u32 = 40;
const NO_GIL_RANGE: &str = "no GIL range: GIL hold time not measured";

pub(super) enum GilHolder {
    /// Not located yet; try again at `next_attempt_ns`.
    Searching {
        attempts: u32,
        next_attempt_ns: u64,
        /// Candidates of the previous scan when it found several: the next scan keeps those that still match.
        several: Vec<GilStateLayout>,
    },
    Reading {
        mem: File,
        locked_addr: u64,
    },
    /// Given up, with the reason a reader is told.
    Off(String),
}

pub(super) enum Tick {
    Held,
    Free,
    /// Nothing to count this tick.
    Skip,
}

impl GilHolder {
    pub(super) fn new(gil: Option<&RuntimeLocation>) -> GilHolder {
        match gil {
            Some(_) => GilHolder::Searching {
                attempts: 0,
                next_attempt_ns: 0,
                several: Vec::new(),
            },
            None => GilHolder::Off(NO_GIL_RANGE.into()),
        }
    }

    /// A word of the note for snapshots: None while reading.
    pub(super) fn note(&self) -> Option<String> {
        match self {
            GilHolder::Reading { .. } => None,
            GilHolder::Searching { .. } => Some("looking for the GIL's state in _PyRuntime".into()),
            GilHolder::Off(why) => Some(why.clone()),
        }
    }

    pub(super) fn locked_addr(&self) -> Option<u64> {
        match self {
            GilHolder::Reading { locked_addr, .. } => Some(*locked_addr),
            _ => None,
        }
    }

    /// Locates the `locked` field in `location` when due. Cheap when there is nothing to do.
    pub(super) fn search(&mut self, pid: i32, abi: Abi, location: &RuntimeLocation, now: u64) {
        let GilHolder::Searching {
            attempts,
            next_attempt_ns,
            several,
        } = self
        else {
            return;
        };
        if now < *next_attempt_ns {
            return;
        }
        let attempts = *attempts + 1;
        let mem = match File::open(format!("/proc/{pid}/mem")) {
            Ok(mem) => mem,
            Err(e) => {
                *self = GilHolder::Off(format!(
                    "cannot read the target's memory ({e}): GIL hold time not measured (needs the same user and ptrace permission, or root)"
                ));
                return;
            }
        };
        let len = location.range.end.saturating_sub(location.range.start);
        if len == 0 || len > MAX_RUNTIME_BYTES {
            *self = GilHolder::Off(format!(
                "_PyRuntime is {len} bytes: not reading it; GIL hold time not measured"
            ));
            return;
        }
        let mut bytes = vec![0u8; len as usize];
        if let Err(e) = mem.read_exact_at(&mut bytes, location.range.start) {
            *self = GilHolder::Off(format!(
                "cannot read _PyRuntime ({e}): GIL hold time not measured"
            ));
            return;
        }
        let found = gil_state_candidates(&bytes, abi.word_size());
        let narrowed = narrow_candidates(several, &found);
        let candidates = if several.is_empty() || narrowed.is_empty() {
            found
        } else {
            narrowed
        };
        let retry = attempts < MAX_ATTEMPTS;
        *self = match candidates.as_slice() {
            [one] => GilHolder::Reading {
                mem,
                locked_addr: location.range.start + one.locked_offset,
            },
            [] if retry => GilHolder::Searching {
                attempts,
                next_attempt_ns: now + RETRY_INTERVAL_NS,
                several: Vec::new(),
            },
            // Several: scan again later and keep only those that still match.
            [_, _, ..] if retry => GilHolder::Searching {
                attempts,
                next_attempt_ns: now + RETRY_INTERVAL_NS,
                several: candidates,
            },
            [] => GilHolder::Off(format!(
                "{}: GIL hold time not measured",
                GilStateError::NotFound
            )),
            _ => GilHolder::Off(format!(
                "{}: GIL hold time not measured",
                GilStateError::Ambiguous(candidates.iter().map(|l| l.struct_offset).collect())
            )),
        };
    }

    /// One tick: is the GIL held right now?
    pub(super) fn tick(&mut self) -> Tick {
        let GilHolder::Reading { mem, locked_addr } = self else {
            return Tick::Skip;
        };
        let mut word = [0u8; 4];
        if mem.read_exact_at(&mut word, *locked_addr).is_err() {
            // The target is exiting; the sampler notices that on its own.
            return Tick::Skip;
        }
        match parse_locked(word) {
            GilLocked::Held => Tick::Held,
            GilLocked::Free | GilLocked::Uninitialised => Tick::Free,
            GilLocked::Invalid(value) => {
                *self = GilHolder::Off(format!(
                    "the GIL's locked field read {value}: layout not understood, GIL hold time not measured"
                ));
                Tick::Skip
            }
        }
    }
}
