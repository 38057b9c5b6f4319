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

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::abi::{abi_from_elf_header, Abi};
use crate::classify::{classify, SampleClass};
use crate::error::ProbeError;
use crate::gil_range::{locate_runtime, AddrRange, RangeSource, RuntimeLocation};
use crate::procfs::{parse_maps, parse_schedstat, parse_stat, parse_status, parse_syscall};
use crate::trace::{AttachError, TierRequest, TraceOptions, Tracer};

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
        let mut sampler = Sampler::new(pid, options, target, now);
        sampler.tracer = tracer;
        // The first scan and refresh happen before open() returns, so the
        // first snapshot already holds every thread's baseline.
        sampler.scan(now);
        sampler.initial_scan_done = true;
        sampler.refresh_counters(now);
        sampler.publish(&shared);
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

/// What we learn about the target once, at open.
struct Target {
    /// The executable when inspected: a change means the target exec'd
    /// (e.g. a pyenv shim became python) and must be inspected again.
    exe: Option<std::path::PathBuf>,
    tier: Tier,
    tier_reason: Option<String>,
    abi: Abi,
    gil: Option<RuntimeLocation>,
    gil_note: Option<String>,
}

impl Target {
    fn inspect(pid: i32, options: &SamplerOptions) -> Result<Target, ProbeError> {
        let proc_dir = format!("/proc/{pid}");
        match std::fs::metadata(format!("{proc_dir}/task")) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ProbeError::NoProcess { pid })
            }
            // /proc mounted with hidepid, or a sandbox: only the companion's own
            // per-task timings (the rusage tier) remain.
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                return Err(ProbeError::PermissionDenied {
                    pid,
                    what: format!("{proc_dir}/task"),
                    tier_available: "rusage",
                })
            }
            Err(e) => {
                return Err(ProbeError::Io {
                    what: format!("cannot read {proc_dir}/task: {e}"),
                })
            }
        }
        if let Ok(text) = std::fs::read_to_string(format!("{proc_dir}/stat")) {
            if let Ok(stat) = parse_stat(&text) {
                if stat.state == 'Z' || stat.state == 'X' {
                    return Err(ProbeError::NoProcess { pid });
                }
            }
        }

        // Reading another task's syscall file needs ptrace read access; the
        // schedstat counters do not, so without it we still have cpu/runq.
        let (tier, tier_reason) = match std::fs::read(format!("{proc_dir}/task/{pid}/syscall")) {
            Ok(_) => (Tier::Sample, None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ProbeError::NoProcess { pid })
            }
            Err(e) => (
                Tier::Rusage,
                Some(format!(
                    "cannot read /proc/{pid}/task/*/syscall ({e}): run as the target's user (or root) for the 'sample' tier"
                )),
            ),
        };

        let abi = match std::fs::File::open(format!("{proc_dir}/exe")).and_then(|f| {
            let mut header = [0u8; 64];
            let n = f.read_at(&mut header, 0)?;
            Ok(header[..n].to_vec())
        }) {
            Ok(header) => abi_from_elf_header(&header).map_err(|what| ProbeError::Unsupported {
                what: format!("target pid {pid}: {what}"),
            })?,
            // Without access to the executable, assume our own ABI.
            Err(_) => Abi::native(),
        };

        let (gil, gil_note) = if let Some(range) = options.gil_range {
            (
                Some(RuntimeLocation {
                    range,
                    source: RangeSource::Explicit,
                    object_path: String::new(),
                }),
                None,
            )
        } else {
            locate_gil(pid)
        };
        Ok(Target {
            exe: std::fs::read_link(format!("{proc_dir}/exe")).ok(),
            tier,
            tier_reason,
            abi,
            gil,
            gil_note,
        })
    }
}

/// Opens the trace tier when requested (or `Auto`) and permitted; otherwise
/// says why not in `target.tier_reason`. Never an error.
fn open_tracer(pid: i32, options: &SamplerOptions, target: &mut Target) -> Option<Tracer> {
    if target.tier != Tier::Sample {
        return None;
    }
    if options.tier == TierRequest::Sample {
        target.tier_reason = Some("the 'sample' tier was requested".into());
        return None;
    }
    match Tracer::open(
        pid,
        target.abi,
        target.gil.as_ref().map(|g| g.range),
        options.trace,
    ) {
        Ok(tracer) => {
            target.tier = Tier::Trace;
            target.tier_reason = None;
            Some(tracer)
        }
        Err(reason) => {
            target.tier_reason = Some(reason);
            None
        }
    }
}

fn locate_gil(pid: i32) -> (Option<RuntimeLocation>, Option<String>) {
    let maps_text = match std::fs::read_to_string(format!("/proc/{pid}/maps")) {
        Ok(text) => text,
        Err(e) => {
            return (
                None,
                Some(format!(
                    "no GIL range found: cannot read /proc/{pid}/maps ({e})"
                )),
            )
        }
    };
    let maps = match parse_maps(&maps_text) {
        Ok(maps) => maps,
        Err(e) => return (None, Some(format!("no GIL range found: {e}"))),
    };
    // Read the object as the target sees it (its mount namespace).
    let mut read_object = |path: &str| std::fs::read(format!("/proc/{pid}/root{path}"));
    match locate_runtime(&maps, &mut read_object) {
        Ok(Some(location)) if is_free_threaded_build(&location.object_path) => (
            None,
            Some(format!(
                "no GIL: {} is a free-threaded build; futex waits count as lock",
                location.object_path
            )),
        ),
        Ok(Some(location)) => (Some(location), None),
        Ok(None) => (
            None,
            Some("no GIL range found: no mapped object defines _PyRuntime (not CPython, or a free-threaded build); futex waits count as lock".into()),
        ),
        Err(e) => (None, Some(format!("no GIL range found: {e}"))),
    }
}

/// Free-threaded CPython (3.13t+) still defines `_PyRuntime` but has no GIL;
/// its objects carry the ABI flag `t` (`python3.13t`, `libpython3.13t.so`).
fn is_free_threaded_build(object_path: &str) -> bool {
    let name = object_path.rsplit('/').next().unwrap_or(object_path);
    let Some(rest) = name.split("python3.").nth(1) else {
        return false;
    };
    let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
    digits > 0 && rest[digits..].starts_with('t')
}

/// A kept-open /proc file, re-read with pread. Falls back to open-per-read
/// when we are out of descriptors.
struct ProcFile {
    path: String,
    file: Option<File>,
}

enum ReadOutcome {
    Text(usize),
    /// The thread (or process) is gone.
    Gone,
    Denied,
}

impl ProcFile {
    fn open(path: String) -> Result<ProcFile, ReadOutcome> {
        match File::open(&path) {
            Ok(file) => Ok(ProcFile {
                path,
                file: Some(file),
            }),
            Err(e)
                if e.raw_os_error() == Some(libc::EMFILE)
                    || e.raw_os_error() == Some(libc::ENFILE) =>
            {
                Ok(ProcFile { path, file: None })
            }
            Err(e) => Err(classify_io_error(&e)),
        }
    }

    fn read(&self, buf: &mut [u8]) -> ReadOutcome {
        let result = match &self.file {
            Some(file) => file.read_at(buf, 0),
            None => File::open(&self.path).and_then(|f| f.read_at(buf, 0)),
        };
        match result {
            Ok(0) => ReadOutcome::Gone,
            Ok(n) => ReadOutcome::Text(n),
            Err(e) => classify_io_error(&e),
        }
    }
}

fn classify_io_error(e: &std::io::Error) -> ReadOutcome {
    match e.raw_os_error() {
        Some(libc::EACCES) | Some(libc::EPERM) => ReadOutcome::Denied,
        _ => ReadOutcome::Gone,
    }
}

struct WatchedThread {
    counters: ThreadCounters,
    syscall: Option<ProcFile>,
    /// None once the thread is dead: a dead thread holds no descriptor.
    schedstat: Option<ProcFile>,
    status: Option<ProcFile>,
    /// schedstat at first sight, for threads that predate the probe.
    baseline_cpu_ns: u64,
    baseline_runq_ns: u64,
    baseline_voluntary: u64,
    baseline_involuntary: u64,
    other_syscalls: HashMap<u64, u64>,
    died_ns: Option<u64>,
}

struct Sampler {
    pid: i32,
    options: SamplerOptions,
    target: Target,
    opened_ns: u64,
    threads: HashMap<i32, WatchedThread>,
    ticks: u64,
    gil_ticks: u64,
    samples: u64,
    exited: bool,
    rng: XorShift64,
    clock_ticks_per_sec: u64,
    /// The target was re-inspected: publish its new ABI, GIL range and tier.
    gil_changed: bool,
    /// Counter refreshes so far (status is read on every STATUS_EVERY-th).
    refreshes: u64,
    /// False until run() starts on the sampler thread.
    on_sampler_thread: bool,
    /// Set after the scan inside `open`: later threads were born while watched.
    initial_scan_done: bool,
    last_refresh_ns: u64,
    buf: Vec<u8>,
    order: Vec<i32>,
    /// The trace tier, while it runs.
    tracer: Option<Tracer>,
}

impl Sampler {
    fn new(pid: i32, options: SamplerOptions, target: Target, now: u64) -> Sampler {
        let seed = options.seed.unwrap_or(now ^ (pid as u64).rotate_left(32));
        // SAFETY: sysconf has no preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        Sampler {
            pid,
            options,
            target,
            opened_ns: now,
            threads: HashMap::new(),
            ticks: 0,
            gil_ticks: 0,
            samples: 0,
            exited: false,
            rng: XorShift64::new(seed),
            clock_ticks_per_sec: if ticks > 0 { ticks as u64 } else { 100 },
            initial_scan_done: false,
            on_sampler_thread: false,
            refreshes: 0,
            gil_changed: false,
            last_refresh_ns: now,
            buf: vec![0u8; 4096],
            order: Vec::new(),
            tracer: None,
        }
    }

    fn run(mut self, shared: &Shared) {
        self.on_sampler_thread = true;
        let scan_every = self.options.scan_interval_ms * 1_000_000;
        let refresh_every = self.options.counter_interval_ms * 1_000_000;
        let mut next_scan = boottime_ns() + scan_every;
        let mut next_refresh = boottime_ns() + refresh_every;
        let mut next_exe_check = boottime_ns() + EXE_CHECK_INTERVAL_NS;
        let mut next_sample = boottime_ns();
        while !shared.stop.load(Ordering::SeqCst) {
            let now = boottime_ns();
            if now >= next_scan {
                self.scan(now);
                next_scan = now + scan_every;
            }
            if now >= next_exe_check {
                self.reinspect_after_exec();
                next_exe_check = now + EXE_CHECK_INTERVAL_NS;
            }
            if self.exited {
                self.publish(shared);
                return;
            }
            if now >= next_sample {
                self.sample_tick();
                next_sample = now + self.next_interval().as_nanos() as u64;
            }
            self.sync_trace();
            if now >= next_refresh {
                self.refresh_counters(now);
                self.publish(shared);
                next_refresh = now + refresh_every;
            }
            let mut pause = Duration::from_nanos(next_sample.saturating_sub(boottime_ns()));
            if self.tracer.is_some() {
                // Trace buffers are drained at least this often, whatever the rate.
                pause = pause.min(TRACE_DRAIN_INTERVAL);
            }
            let guard = shared.wake_lock.lock().unwrap();
            if shared.stop.load(Ordering::SeqCst) {
                break;
            }
            let _ = shared.wake.wait_timeout(guard, pause).unwrap();
        }
        self.sync_trace();
        self.refresh_counters(boottime_ns());
        self.publish(shared);
    }

    /// Exponential intervals (a Poisson process) with the configured mean,
    /// clamped so one unlucky draw cannot stall or spin the sampler.
    fn next_interval(&mut self) -> Duration {
        let mean = 1.0 / self.options.hz;
        let u = self.rng.next_f64().max(1e-12);
        let seconds = (-u.ln() * mean).clamp(0.05 * mean, 5.0 * mean);
        Duration::from_secs_f64(seconds)
    }

    /// Inspects the target again if it exec'd since: its ABI and GIL range
    /// belong to the new program (a launcher script or shim execs python).
    fn reinspect_after_exec(&mut self) {
        let exe = std::fs::read_link(format!("/proc/{}/exe", self.pid)).ok();
        if exe.is_none() || exe == self.target.exe {
            return;
        }
        if let Ok(mut target) = Target::inspect(self.pid, &self.options) {
            if let Some(tracer) = &mut self.tracer {
                tracer.reclassify(target.abi, target.gil.as_ref().map(|g| g.range));
                target.tier = Tier::Trace;
                target.tier_reason = None;
            }
            self.target = target;
            self.gil_changed = true;
        }
    }

    /// Lists the target's tasks, starts watching new ones, notices the exit.
    fn scan(&mut self, now: u64) {
        let dir = match std::fs::read_dir(format!("/proc/{}/task", self.pid)) {
            Ok(dir) => dir,
            Err(_) => {
                self.mark_exited(now);
                return;
            }
        };
        let mut live = 0usize;
        for entry in dir.flatten() {
            let Some(tid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<i32>().ok())
            else {
                continue;
            };
            if let Some(thread) = self.threads.get(&tid) {
                if thread.counters.alive {
                    live += 1;
                }
                continue;
            }
            if let Some(thread) = self.watch(tid, now) {
                live += 1;
                self.threads.insert(tid, thread);
                self.trace_attach(tid);
            }
        }
        if live == 0 || self.leader_is_zombie_alone() {
            self.mark_exited(now);
        }
        let retain = self.options.retain_dead_ms * 1_000_000;
        self.threads.retain(|_, t| {
            t.died_ns
                .is_none_or(|died| now.saturating_sub(died) < retain)
        });
    }

    fn leader_is_zombie_alone(&self) -> bool {
        let live_others = self
            .threads
            .values()
            .any(|t| t.counters.alive && t.counters.tid != self.pid);
        if live_others {
            return false;
        }
        match std::fs::read_to_string(format!("/proc/{}/stat", self.pid)) {
            Ok(text) => parse_stat(&text).is_ok_and(|s| s.state == 'Z' || s.state == 'X'),
            Err(_) => true,
        }
    }

    fn mark_exited(&mut self, now: u64) {
        self.exited = true;
        for thread in self.threads.values_mut() {
            if thread.counters.alive {
                mark_dead(thread, now);
            }
        }
    }

    fn watch(&mut self, tid: i32, now: u64) -> Option<WatchedThread> {
        let base = format!("/proc/{}/task/{tid}", self.pid);
        let schedstat = ProcFile::open(format!("{base}/schedstat")).ok()?;
        let syscall = match self.target.tier {
            Tier::Rusage => None,
            _ => ProcFile::open(format!("{base}/syscall")).ok(),
        };
        let status = ProcFile::open(format!("{base}/status")).ok();
        let stat = std::fs::read_to_string(format!("{base}/stat"))
            .ok()
            .and_then(|t| parse_stat(&t).ok())?;
        // Threads present at open start their counters now; threads born
        // later count from their birth (starttime is in clock ticks since boot).
        let born_while_watched = self.initial_scan_done;
        let (first_seen_ns, keep_baseline) = if born_while_watched {
            let born_ns =
                stat.starttime_ticks.saturating_mul(1_000_000_000) / self.clock_ticks_per_sec;
            (born_ns.clamp(self.opened_ns, now), false)
        } else {
            (now, true)
        };
        let mut thread = WatchedThread {
            counters: ThreadCounters {
                tid,
                name: stat.comm.clone(),
                alive: true,
                first_seen_ns,
                last_seen_ns: now,
                cpu_ns: 0,
                runq_ns: 0,
                voluntary_switches: 0,
                involuntary_switches: 0,
                samples: [0; 6],
                other_syscalls: Vec::new(),
                traced_ns: [0; 5],
                traced_runq_ns: 0,
                trace_lost: 0,
            },
            syscall,
            schedstat: Some(schedstat),
            status,
            baseline_cpu_ns: 0,
            baseline_runq_ns: 0,
            baseline_voluntary: 0,
            baseline_involuntary: 0,
            other_syscalls: HashMap::new(),
            died_ns: None,
        };
        if keep_baseline {
            if let Some(ReadOutcome::Text(n)) =
                thread.schedstat.as_ref().map(|f| f.read(&mut self.buf))
            {
                if let Ok(s) = std::str::from_utf8(&self.buf[..n])
                    .map_err(|_| ())
                    .and_then(|t| parse_schedstat(t).map_err(|_| ()))
                {
                    thread.baseline_cpu_ns = s.cpu_ns;
                    thread.baseline_runq_ns = s.runq_ns;
                }
            }
            if let Some(status) = &thread.status {
                if let ReadOutcome::Text(n) = status.read(&mut self.buf) {
                    if let Ok(s) = std::str::from_utf8(&self.buf[..n])
                        .map_err(|_| ())
                        .and_then(|t| parse_status(t).map_err(|_| ()))
                    {
                        thread.baseline_voluntary = s.voluntary_ctxt_switches;
                        thread.baseline_involuntary = s.nonvoluntary_ctxt_switches;
                    }
                }
            }
        }
        Some(thread)
    }

    /// Re-reads schedstat and status of every live thread.
    fn refresh_counters(&mut self, now: u64) {
        // Context switches and names change slowly and status is the largest
        // file we read: refresh it on every STATUS_EVERY-th counter refresh.
        self.refreshes += 1;
        let read_status = self.refreshes % STATUS_EVERY == 1;
        for thread in self.threads.values_mut() {
            if !thread.counters.alive {
                continue;
            }
            let Some(schedstat) = &thread.schedstat else {
                continue;
            };
            match schedstat.read(&mut self.buf) {
                ReadOutcome::Text(n) => {
                    if let Some(s) = std::str::from_utf8(&self.buf[..n])
                        .ok()
                        .and_then(|t| parse_schedstat(t).ok())
                    {
                        thread.counters.cpu_ns = s.cpu_ns.saturating_sub(thread.baseline_cpu_ns);
                        thread.counters.runq_ns = s.runq_ns.saturating_sub(thread.baseline_runq_ns);
                        thread.counters.last_seen_ns = now;
                    }
                }
                ReadOutcome::Gone | ReadOutcome::Denied => {
                    mark_dead(thread, now);
                    continue;
                }
            }
            if let Some(status) = thread.status.as_ref().filter(|_| read_status) {
                if let ReadOutcome::Text(n) = status.read(&mut self.buf) {
                    if let Some(s) = std::str::from_utf8(&self.buf[..n])
                        .ok()
                        .and_then(|t| parse_status(t).ok())
                    {
                        thread.counters.voluntary_switches = s
                            .voluntary_ctxt_switches
                            .saturating_sub(thread.baseline_voluntary);
                        thread.counters.involuntary_switches = s
                            .nonvoluntary_ctxt_switches
                            .saturating_sub(thread.baseline_involuntary);
                        thread.counters.name = s.name;
                    }
                }
            }
        }
        self.last_refresh_ns = now.max(self.last_refresh_ns + 1);
    }

    /// One tick: classify what each (sampled) live thread is doing.
    fn sample_tick(&mut self) {
        if self.target.tier == Tier::Rusage {
            return;
        }
        self.order.clear();
        self.order.extend(
            self.threads
                .iter()
                .filter(|(_, t)| t.counters.alive && t.syscall.is_some())
                .map(|(tid, _)| *tid),
        );
        let budget = self.options.thread_budget;
        if self.order.len() > budget {
            // Partial Fisher–Yates: the first `budget` entries are a uniform subset.
            for i in 0..budget {
                let j = i + (self.rng.next_u64() % (self.order.len() - i) as u64) as usize;
                self.order.swap(i, j);
            }
            self.order.truncate(budget);
        }
        let gil = self.target.gil.as_ref().map(|g| g.range);
        let abi = self.target.abi;
        let now = boottime_ns();
        let mut saw_gil_wait = false;
        let mut sampled_any = false;
        for tid in &self.order {
            let Some(thread) = self.threads.get_mut(tid) else {
                continue;
            };
            let Some(file) = &thread.syscall else {
                continue;
            };
            match file.read(&mut self.buf) {
                ReadOutcome::Text(n) => {
                    let Some(state) = std::str::from_utf8(&self.buf[..n])
                        .ok()
                        .and_then(|t| parse_syscall(t).ok())
                    else {
                        continue;
                    };
                    let class = classify(&state, abi, gil.as_ref());
                    thread.counters.samples[class.index()] += 1;
                    if let SampleClass::Other(Some(nr)) = class {
                        *thread.other_syscalls.entry(nr).or_insert(0) += 1;
                    }
                    saw_gil_wait |= class == SampleClass::Gil;
                    sampled_any = true;
                    self.samples += 1;
                }
                ReadOutcome::Gone => mark_dead(thread, now),
                ReadOutcome::Denied => thread.syscall = None,
            }
        }
        if sampled_any {
            self.ticks += 1;
            if saw_gil_wait {
                self.gil_ticks += 1;
            }
        }
    }

    /// Starts tracing a new thread; above the budget, or when refused, the
    /// probe falls back to the `sample` tier and says why.
    fn trace_attach(&mut self, tid: i32) {
        let Some(tracer) = &mut self.tracer else {
            return;
        };
        let reason = if tracer.len() >= tracer.thread_budget() && !tracer.is_attached(tid) {
            format!(
                "more than {} threads to trace: fell back to sampling (raise the trace thread budget)",
                tracer.thread_budget()
            )
        } else {
            match tracer.attach(tid) {
                Ok(()) | Err(AttachError::Gone) => return,
                Err(AttachError::Refused(reason)) => {
                    format!("tracing thread {tid} failed, fell back to sampling: {reason}")
                }
            }
        };
        self.sync_trace();
        self.tracer = None;
        self.target.tier = Tier::Sample;
        self.target.tier_reason = Some(reason);
        self.gil_changed = true;
    }

    /// Drains the trace buffers into the threads' counters; stops tracing dead threads.
    fn sync_trace(&mut self) {
        let Some(tracer) = &mut self.tracer else {
            return;
        };
        tracer.drain();
        for (tid, thread) in self.threads.iter_mut() {
            if !tracer.is_attached(*tid) {
                continue;
            }
            let totals = if thread.counters.alive {
                tracer.totals(*tid)
            } else {
                tracer.detach(*tid)
            };
            if let Some(t) = totals {
                thread.counters.traced_ns = t.blocked_ns;
                thread.counters.traced_runq_ns = t.preempted_ns;
                thread.counters.trace_lost = t.lost_events;
            }
        }
    }

    fn publish(&mut self, shared: &Shared) {
        // Only the sampler's own thread measures itself; the first publish
        // runs on the caller's thread inside open(), and reports zero.
        let probe_cpu_ns = if self.on_sampler_thread {
            thread_cpu_ns()
        } else {
            0
        };
        let mut threads: Vec<ThreadCounters> = self
            .threads
            .values()
            .map(|t| {
                let mut counters = t.counters.clone();
                let mut other: Vec<(u64, u64)> =
                    t.other_syscalls.iter().map(|(k, v)| (*k, *v)).collect();
                other.sort_unstable();
                counters.other_syscalls = other;
                counters
            })
            .collect();
        threads.sort_unstable_by_key(|t| t.tid);
        let mut state = shared.state.lock().unwrap();
        if std::mem::take(&mut self.gil_changed) {
            state.tier = self.target.tier;
            state.tier_reason = self.target.tier_reason.clone();
            state.abi = self.target.abi;
            state.gil = self.target.gil.clone();
            state.gil_note = self.target.gil_note.clone();
        }
        state.taken_ns = self.last_refresh_ns;
        state.exited = self.exited;
        state.ticks = self.ticks;
        state.gil_ticks = self.gil_ticks;
        state.samples = self.samples;
        state.probe_cpu_ns = probe_cpu_ns;
        state.threads = threads;
    }
}

fn mark_dead(thread: &mut WatchedThread, now: u64) {
    thread.counters.alive = false;
    thread.died_ns = Some(now);
    thread.syscall = None;
    thread.schedstat = None;
    thread.status = None;
}

/// CLOCK_BOOTTIME in ns: the clock /proc's starttime is measured against.
pub fn boottime_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// CPU time of the calling thread.
fn thread_cpu_ns() -> u64 {
    // SAFETY: getrusage writes into a zeroed struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// xorshift64*: enough randomness for jitter and subsets, no dependency.
struct XorShift64(u64);

impl XorShift64 {
    fn new(seed: u64) -> XorShift64 {
        XorShift64(seed | 1)
    }
    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_threaded_builds_are_told_by_the_abi_flag() {
        assert!(is_free_threaded_build("/usr/lib/libpython3.13t.so.1.0"));
        assert!(is_free_threaded_build("/usr/local/bin/python3.14t"));
        assert!(!is_free_threaded_build(
            "/usr/lib/x86_64-linux-gnu/libpython3.13.so.1.0"
        ));
        assert!(!is_free_threaded_build("/usr/bin/python3.11"));
        assert!(!is_free_threaded_build("/opt/python3.x/bin/python"));
    }

    #[test]
    fn exponential_intervals_have_the_configured_mean_and_stay_clamped() {
        let target = Target {
            exe: None,
            tier: Tier::Sample,
            tier_reason: None,
            abi: Abi::native(),
            gil: None,
            gil_note: None,
        };
        let options = SamplerOptions {
            hz: 100.0,
            seed: Some(7),
            ..SamplerOptions::default()
        };
        let mut sampler = Sampler::new(1, options, target, 0);
        let draws: Vec<f64> = (0..20_000)
            .map(|_| sampler.next_interval().as_secs_f64())
            .collect();
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        // Clamping at 5× the mean trims the tail a little (about 3 %).
        assert!((mean - 0.01).abs() < 0.0006, "mean {mean}");
        assert!(draws.iter().all(|d| (0.0005..=0.05).contains(d)));
        // Not a constant period: the spread of an exponential is its mean.
        let var = draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / draws.len() as f64;
        assert!(var.sqrt() > 0.007, "sd {}", var.sqrt());
    }
}
