//! The sampler: a native thread that keeps cumulative per-thread counters of
//! one target process (DESIGN §2.4). JavaScript (or any reader) only takes
//! [`Snapshot`]s; a window is the difference of two snapshots.
//!
//! Per tick (exponential intervals, so no aliasing with the 5 ms GIL switch
//! interval) it reads `/proc/<pid>/task/<tid>/syscall` of every thread, or of
//! a random subset above the thread budget, and counts the class of each
//! sample. Less often it re-reads `schedstat` (exact cpu and run-queue ns) and
//! `status` (context switches), and rescans the task list. Every file is read
//! with `pread` on a descriptor kept open per (thread, file).

mod gil_holder;
mod proc_file;
mod rng;
mod target;
mod worker;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::abi::Abi;
pub use crate::clock::boottime_ns;
use crate::error::ProbeError;
use crate::gil_range::{AddrRange, RuntimeLocation};
use crate::trace::{TierRequest, TraceOptions};

use target::{open_tracer, Target};
use worker::Sampler;

/// Which mechanism produces the counters (DESIGN §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Trace,
    Sample,
    Rusage,
}

impl Tier {
    pub fn name(self) -> &'static str {
        match self {
            Tier::Trace => "trace",
            Tier::Sample => "sample",
            Tier::Rusage => "rusage",
        }
    }
}

#[derive(Debug, Clone)]
pub struct SamplerOptions {
    /// Mean sampling rate (ticks per second).
    pub hz: f64,
    /// Above this many live threads, each tick samples a random subset of this size.
    pub thread_budget: usize,
    /// How often the task list is rescanned (ms).
    pub scan_interval_ms: u64,
    /// How often schedstat/status are re-read (ms); snapshots are as of the last refresh.
    pub counter_interval_ms: u64,
    /// The GIL's address range, when the caller knows it (the bridge's companion reports it).
    pub gil_range: Option<AddrRange>,
    /// Seed of the jitter and subset choice; None seeds from the clock.
    pub seed: Option<u64>,
    /// Dead threads stay in snapshots this long (ms), so every reader sees their last counters.
    pub retain_dead_ms: u64,
    /// Which tier to run: `Auto` traces when permitted (see [`crate::trace`]).
    pub tier: TierRequest,
    /// Ring buffer size and thread budget of the trace tier.
    pub trace: TraceOptions,
}

impl Default for SamplerOptions {
    fn default() -> Self {
        SamplerOptions {
            hz: 200.0,
            thread_budget: 64,
            scan_interval_ms: 100,
            counter_interval_ms: 50,
            gil_range: None,
            seed: None,
            retain_dead_ms: 60_000,
            tier: TierRequest::Auto,
            trace: TraceOptions::default(),
        }
    }
}

/// Cumulative counters of one thread since the probe first saw it (threads
/// born while watched: since their birth).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadCounters {
    pub tid: i32,
    pub name: String,
    pub alive: bool,
    /// CLOCK_BOOTTIME ns: when the counters start, and the last successful read.
    pub first_seen_ns: u64,
    pub last_seen_ns: u64,
    pub cpu_ns: u64,
    pub runq_ns: u64,
    pub voluntary_switches: u64,
    pub involuntary_switches: u64,
    /// Samples per class, indexed like [`SampleClass::NAMES`].
    pub samples: [u64; 6],
    /// Samples blocked in a syscall classed `other`, by syscall number.
    pub other_syscalls: Vec<(u64, u64)>,
    /// Trace tier only (zero otherwise): exact blocked off-CPU ns by class,
    /// in the order gil, lock, io, sleep, other ([`crate::trace::TRACED_CLASSES`]).
    /// Each interval runs from switch-out to switch-in, wake-up latency included.
    pub traced_ns: [u64; 5],
    /// Trace tier: off-CPU ns after preemption (the involuntary part of runq).
    pub traced_runq_ns: u64,
    /// Trace tier: records the kernel dropped for this thread (full buffer).
    pub trace_lost: u64,
}

/// Cumulative counters of the whole probe at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub pid: i32,
    /// CLOCK_BOOTTIME ns of the counter refresh this snapshot reflects.
    pub taken_ns: u64,
    pub opened_ns: u64,
    pub tier: Tier,
    /// Why the tier is not `trace`, when it is not.
    pub tier_reason: Option<String>,
    pub abi: Abi,
    pub gil: Option<RuntimeLocation>,
    /// Why there is no GIL range, when there is none.
    pub gil_note: Option<String>,
    /// The target exited; no further counters will change.
    pub exited: bool,
    pub hz: f64,
    pub ticks: u64,
    /// Ticks in which at least one sampled thread waited for the GIL.
    pub gil_ticks: u64,
    /// Ticks at which the GIL's `locked` field was read, and found held.
    pub gil_state_ticks: u64,
    pub gil_held_ticks: u64,
    /// Ticks at which the GIL was read free while a sampled thread waited
    /// for it: hand-offs, when the GIL is idle though wanted.
    pub gil_free_wanted_ticks: u64,
    /// Address of the GIL's `locked` field, once found.
    pub gil_locked_addr: Option<u64>,
    /// Why the GIL's hold time is not (yet) measured, when it is not.
    pub gil_state_note: Option<String>,
    pub samples: u64,
    /// CPU time of the sampler thread itself (getrusage RUSAGE_THREAD).
    pub probe_cpu_ns: u64,
    pub threads: Vec<ThreadCounters>,
}

/// The longest pause between two drains of the trace tier's ring buffers.
const TRACE_DRAIN_INTERVAL: Duration = Duration::from_millis(5);

/// status (context switches, name) is re-read on every this many counter refreshes.
const STATUS_EVERY: u64 = 10;

/// How often the sampler checks whether the target exec'd (ns).
const EXE_CHECK_INTERVAL_NS: u64 = 250_000_000;

/// A running probe of one process. Dropping it stops the sampler.
pub struct Probe {
    shared: Arc<Shared>,
    worker: Option<JoinHandle<()>>,
}

struct Shared {
    state: Mutex<Snapshot>,
    stop: AtomicBool,
    wake: Condvar,
    wake_lock: Mutex<()>,
}

impl Probe {
    /// Starts watching `pid`. Fails with `NoProcess` when it does not exist;
    /// a target whose wait files we may not read gets the `rusage` tier.
    pub fn open(pid: i32, options: SamplerOptions) -> Result<Probe, ProbeError> {
        if !cfg!(target_os = "linux") {
            return Err(ProbeError::Unsupported {
                what: "gilgauge reads /proc and runs on Linux only".into(),
            });
        }
        if pid <= 0 {
            return Err(ProbeError::NoProcess { pid });
        }
        validate_options(&options)?;
        let mut target = Target::inspect(pid, &options)?;
        let tracer = open_tracer(pid, &options, &mut target);
        let now = boottime_ns();
        let snapshot = Snapshot {
            pid,
            taken_ns: now,
            opened_ns: now,
            tier: target.tier,
            tier_reason: target.tier_reason.clone(),
            abi: target.abi,
            gil: target.gil.clone(),
            gil_note: target.gil_note.clone(),
            exited: false,
            hz: options.hz,
            ticks: 0,
            gil_ticks: 0,
            gil_state_ticks: 0,
            gil_held_ticks: 0,
            gil_free_wanted_ticks: 0,
            gil_locked_addr: None,
            gil_state_note: None,
            samples: 0,
            probe_cpu_ns: 0,
            threads: Vec::new(),
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(snapshot),
            stop: AtomicBool::new(false),
            wake: Condvar::new(),
            wake_lock: Mutex::new(()),
        });
        let sampler = Sampler::prepare(pid, options, target, tracer, now, &shared);
        let thread_shared = Arc::clone(&shared);
        let worker = std::thread::Builder::new()
            .name(format!("gilgauge-{pid}"))
            .spawn(move || sampler.run(&thread_shared))
            .map_err(|e| ProbeError::Io {
                what: format!("could not start the sampler thread: {e}"),
            })?;
        Ok(Probe {
            shared,
            worker: Some(worker),
        })
    }

    /// The cumulative counters as of the last refresh. Cheap: a copy under a lock.
    pub fn snapshot(&self) -> Snapshot {
        self.shared.state.lock().unwrap().clone()
    }

    /// Stops the sampler and waits for it. Idempotent.
    pub fn close(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        {
            let _guard = self.shared.wake_lock.lock().unwrap();
            self.shared.wake.notify_all();
        }
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.close();
    }
}

fn validate_options(options: &SamplerOptions) -> Result<(), ProbeError> {
    let invalid = |what: String| Err(ProbeError::InvalidOption { what });
    if !(options.hz.is_finite() && options.hz > 0.0 && options.hz <= 10_000.0) {
        return invalid(format!("hz must be in (0, 10000], got {}", options.hz));
    }
    if options.thread_budget == 0 {
        return invalid("thread_budget must be at least 1".into());
    }
    if options.counter_interval_ms == 0 || options.scan_interval_ms == 0 {
        return invalid("scan and counter intervals must be at least 1 ms".into());
    }
    Ok(())
}
