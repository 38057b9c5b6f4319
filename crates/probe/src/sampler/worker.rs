//! The sampler thread's loop: scans, samples, counter refreshes, trace
//! drains, and publishing snapshots.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::gil_holder::{GilHolder, Tick};
use super::proc_file::{ProcFile, ReadOutcome};
use super::rng::XorShift64;
use super::target::Target;
use super::{
    boottime_ns, SamplerOptions, Shared, ThreadCounters, Tier, EXE_CHECK_INTERVAL_NS, STATUS_EVERY,
    TRACE_DRAIN_INTERVAL,
};
use crate::classify::{classify, SampleClass};
use crate::procfs::{parse_schedstat, parse_stat, parse_status, parse_syscall};
use crate::trace::{AttachError, Tracer};

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

pub(super) struct Sampler {
    pid: i32,
    options: SamplerOptions,
    target: Target,
    opened_ns: u64,
    threads: HashMap<i32, WatchedThread>,
    ticks: u64,
    gil_ticks: u64,
    /// Reads the GIL's `locked` field at each tick, once found.
    gil_holder: GilHolder,
    gil_state_ticks: u64,
    gil_held_ticks: u64,
    gil_free_wanted_ticks: u64,
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
    /// A sampler whose first scan and refresh are done and published, so the
    /// first snapshot (before the thread starts) holds every thread's baseline.
    pub(super) fn prepare(
        pid: i32,
        options: SamplerOptions,
        target: Target,
        tracer: Option<Tracer>,
        now: u64,
        shared: &Shared,
    ) -> Sampler {
        let mut sampler = Sampler::new(pid, options, target, now);
        sampler.tracer = tracer;
        sampler.scan(now);
        sampler.initial_scan_done = true;
        sampler.refresh_counters(now);
        sampler.publish(shared);
        sampler
    }

    fn new(pid: i32, options: SamplerOptions, target: Target, now: u64) -> Sampler {
        let seed = options.seed.unwrap_or(now ^ (pid as u64).rotate_left(32));
        // SAFETY: sysconf has no preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        let gil_holder = GilHolder::new(target.gil.as_ref());
        Sampler {
            pid,
            options,
            target,
            gil_holder,
            gil_state_ticks: 0,
            gil_held_ticks: 0,
            gil_free_wanted_ticks: 0,
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

    pub(super) fn run(mut self, shared: &Shared) {
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
                // Without a GIL range the holder is already off (GilHolder::new).
                if let (Some(gil), false) = (&self.target.gil, self.target.tier == Tier::Rusage) {
                    self.gil_holder.search(self.pid, self.target.abi, gil, now);
                }
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
            self.gil_holder = GilHolder::new(target.gil.as_ref());
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
        // Poisson ticks: the share that finds the GIL held estimates the
        // share of wall time it is held.
        match self.gil_holder.tick() {
            Tick::Held => {
                self.gil_state_ticks += 1;
                self.gil_held_ticks += 1;
            }
            Tick::Free => {
                self.gil_state_ticks += 1;
                // Free while a thread waits for it: a hand-off under way, the
                // GIL idle though work wants it.
                if saw_gil_wait {
                    self.gil_free_wanted_ticks += 1;
                }
            }
            Tick::Skip => {}
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
        state.gil_state_ticks = self.gil_state_ticks;
        state.gil_held_ticks = self.gil_held_ticks;
        state.gil_free_wanted_ticks = self.gil_free_wanted_ticks;
        state.gil_locked_addr = self.gil_holder.locked_addr();
        state.gil_state_note = self.gil_holder.note();
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

/// CPU time of the calling thread.
fn thread_cpu_ns() -> u64 {
    // SAFETY: getrusage writes into a zeroed struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::Abi;

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
