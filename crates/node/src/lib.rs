//! The napi-rs binding of gilgauge-probe. Type conversion only: every rule
//! lives in `gilgauge-probe` (Rust) or in `src/` (TypeScript).
//!
//! Times are sent as f64 ns relative to the probe's opening (exact for 104
//! days of watching); the opening itself is a BigInt of CLOCK_BOOTTIME ns.

use gilgauge_probe::gil_range::{AddrRange, RangeSource};
use gilgauge_probe::sampler::{Probe as InnerProbe, SamplerOptions, Snapshot, ThreadCounters};
use gilgauge_probe::trace::TierRequest;
use gilgauge_probe::ProbeError;
use napi::bindgen_prelude::BigInt;
use napi::{Error, Result};
use napi_derive::napi;

fn to_napi_error(e: ProbeError) -> Error {
    // TypeScript turns the `[CODE] ` prefix into a typed error (src/errors.ts).
    Error::from_reason(format!("[{}] {}", e.code(), e))
}

#[napi(object)]
#[derive(Default)]
pub struct ProbeOptions {
    /// Mean sampling rate in ticks per second (default 200).
    pub hz: Option<f64>,
    /// Above this many live threads each tick samples a random subset (default 64).
    pub thread_budget: Option<u32>,
    pub scan_interval_ms: Option<u32>,
    pub counter_interval_ms: Option<u32>,
    /// `_PyRuntime`'s address range when the caller knows it.
    pub gil_range_start: Option<BigInt>,
    pub gil_range_end: Option<BigInt>,
    pub seed: Option<BigInt>,
    /// 'auto' (default: trace when permitted, else sample), 'trace' (falls
    /// back to sample with the reason when refused) or 'sample' (never trace).
    pub tier: Option<String>,
    /// Above this many threads the trace tier falls back to sample (default 256).
    pub trace_thread_budget: Option<u32>,
    /// Data pages of each traced thread's ring buffer (default 32).
    pub trace_buffer_pages: Option<u32>,
}

/// Trace tier: exact blocked off-CPU ns by class (zero in other tiers).
#[napi(object)]
pub struct TracedNs {
    pub gil: f64,
    pub lock: f64,
    pub io: f64,
    pub sleep: f64,
    pub other: f64,
}

#[napi(object)]
pub struct SampleCounts {
    pub running: f64,
    pub gil: f64,
    pub lock: f64,
    pub io: f64,
    pub sleep: f64,
    pub other: f64,
}

#[napi(object)]
pub struct OtherSyscall {
    pub nr: f64,
    pub samples: f64,
}

#[napi(object)]
pub struct ThreadSnapshot {
    pub tid: i32,
    pub name: String,
    pub alive: bool,
    /// ns after the probe opened.
    pub first_seen_ns: f64,
    pub last_seen_ns: f64,
    pub cpu_ns: f64,
    pub runq_ns: f64,
    pub voluntary_switches: f64,
    pub involuntary_switches: f64,
    pub samples: SampleCounts,
    pub other_syscalls: Vec<OtherSyscall>,
    /// Always sent (zeros unless the trace tier ran); optional in the type so
    /// snapshots built by hand (tests, older addons) stay valid.
    pub traced_ns: Option<TracedNs>,
    /// Trace tier: off-CPU ns after preemption (the involuntary part of runq).
    pub traced_runq_ns: Option<f64>,
    /// Trace tier: records the kernel dropped for this thread.
    pub trace_lost: Option<f64>,
}

#[napi(object)]
pub struct GilRange {
    pub start: BigInt,
    pub end: BigInt,
    /// 'elf-symbol' or 'explicit'.
    pub source: String,
    pub object_path: String,
}

#[napi(object)]
pub struct ProbeSnapshot {
    pub pid: i32,
    /// CLOCK_BOOTTIME ns at which the probe opened.
    pub opened_ns: BigInt,
    /// ns after opening of the counter refresh this snapshot reflects.
    pub taken_ns: f64,
    pub tier: String,
    pub tier_reason: Option<String>,
    pub abi: String,
    pub gil_range: Option<GilRange>,
    pub gil_note: Option<String>,
    pub exited: bool,
    pub hz: f64,
    pub ticks: f64,
    pub gil_ticks: f64,
    /// Ticks that read the GIL's `locked` field, and found it held.
    pub gil_state_ticks: f64,
    pub gil_held_ticks: f64,
    /// Of those, ticks that found it free while a thread waited for it.
    pub gil_free_wanted_ticks: f64,
    /// Address of the GIL's `locked` field, once found.
    pub gil_locked_addr: Option<BigInt>,
    /// Why the GIL's hold time is not (yet) measured, when it is not.
    pub gil_state_note: Option<String>,
    pub samples: f64,
    pub probe_cpu_ns: f64,
    pub threads: Vec<ThreadSnapshot>,
}

fn bigint_u64(value: &BigInt) -> u64 {
    value.get_u64().1
}

fn convert_options(options: ProbeOptions) -> Result<SamplerOptions> {
    let defaults = SamplerOptions::default();
    let tier = match options.tier.as_deref() {
        None | Some("auto") => TierRequest::Auto,
        Some("trace") => TierRequest::Trace,
        Some("sample") => TierRequest::Sample,
        Some(other) => {
            return Err(Error::from_reason(format!(
                "[EINVAL] invalid option: tier must be 'auto', 'trace' or 'sample', got {other:?}"
            )))
        }
    };
    let mut trace = defaults.trace;
    if let Some(n) = options.trace_thread_budget {
        trace.thread_budget = n as usize;
    }
    if let Some(n) = options.trace_buffer_pages {
        trace.buffer_pages = n as usize;
    }
    let gil_range = match (&options.gil_range_start, &options.gil_range_end) {
        (Some(start), Some(end)) => Some(AddrRange {
            start: bigint_u64(start),
            end: bigint_u64(end),
        }),
        _ => None,
    };
    Ok(SamplerOptions {
        hz: options.hz.unwrap_or(defaults.hz),
        thread_budget: options
            .thread_budget
            .map_or(defaults.thread_budget, |n| n as usize),
        scan_interval_ms: options
            .scan_interval_ms
            .map_or(defaults.scan_interval_ms, u64::from),
        counter_interval_ms: options
            .counter_interval_ms
            .map_or(defaults.counter_interval_ms, u64::from),
        gil_range,
        seed: options.seed.as_ref().map(bigint_u64),
        retain_dead_ms: defaults.retain_dead_ms,
        tier,
        trace,
    })
}

fn convert_thread(t: ThreadCounters, opened_ns: u64) -> ThreadSnapshot {
    let [running, gil, lock, io, sleep, other] = t.samples.map(|n| n as f64);
    let [t_gil, t_lock, t_io, t_sleep, t_other] = t.traced_ns.map(|n| n as f64);
    ThreadSnapshot {
        tid: t.tid,
        name: t.name,
        alive: t.alive,
        first_seen_ns: t.first_seen_ns as f64 - opened_ns as f64,
        last_seen_ns: t.last_seen_ns as f64 - opened_ns as f64,
        cpu_ns: t.cpu_ns as f64,
        runq_ns: t.runq_ns as f64,
        voluntary_switches: t.voluntary_switches as f64,
        involuntary_switches: t.involuntary_switches as f64,
        samples: SampleCounts {
            running,
            gil,
            lock,
            io,
            sleep,
            other,
        },
        other_syscalls: t
            .other_syscalls
            .into_iter()
            .map(|(nr, samples)| OtherSyscall {
                nr: nr as f64,
                samples: samples as f64,
            })
            .collect(),
        traced_ns: Some(TracedNs {
            gil: t_gil,
            lock: t_lock,
            io: t_io,
            sleep: t_sleep,
            other: t_other,
        }),
        traced_runq_ns: Some(t.traced_runq_ns as f64),
        trace_lost: Some(t.trace_lost as f64),
    }
}

fn convert_snapshot(s: Snapshot) -> ProbeSnapshot {
    let opened = s.opened_ns;
    ProbeSnapshot {
        pid: s.pid,
        opened_ns: BigInt::from(opened),
        taken_ns: s.taken_ns as f64 - opened as f64,
        tier: s.tier.name().to_string(),
        tier_reason: s.tier_reason,
        abi: s.abi.name().to_string(),
        gil_range: s.gil.map(|g| GilRange {
            start: BigInt::from(g.range.start),
            end: BigInt::from(g.range.end),
            source: match g.source {
                RangeSource::ElfSymbol => "elf-symbol",
                RangeSource::Explicit => "explicit",
            }
            .to_string(),
            object_path: g.object_path,
        }),
        gil_note: s.gil_note,
        exited: s.exited,
        hz: s.hz,
        ticks: s.ticks as f64,
        gil_ticks: s.gil_ticks as f64,
        gil_state_ticks: s.gil_state_ticks as f64,
        gil_held_ticks: s.gil_held_ticks as f64,
        gil_free_wanted_ticks: s.gil_free_wanted_ticks as f64,
        gil_locked_addr: s.gil_locked_addr.map(BigInt::from),
        gil_state_note: s.gil_state_note,
        samples: s.samples as f64,
        probe_cpu_ns: s.probe_cpu_ns as f64,
        threads: s
            .threads
            .into_iter()
            .map(|t| convert_thread(t, opened))
            .collect(),
    }
}

/// A sampler watching one process on its own native thread.
#[napi]
pub struct Probe {
    inner: Option<InnerProbe>,
    pid: i32,
}

#[napi]
impl Probe {
    /// Starts watching `pid`. Throws `[ENOPROC]`, `[EUNSUPPORTED]`, `[EINVAL]`.
    #[napi(factory)]
    pub fn open(pid: i32, options: Option<ProbeOptions>) -> Result<Probe> {
        let options = convert_options(options.unwrap_or_default())?;
        let inner = InnerProbe::open(pid, options).map_err(to_napi_error)?;
        Ok(Probe {
            inner: Some(inner),
            pid,
        })
    }

    #[napi(getter)]
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Cumulative counters as of the sampler's last refresh; never blocks on I/O.
    #[napi]
    pub fn snapshot(&self) -> Result<ProbeSnapshot> {
        match &self.inner {
            Some(inner) => Ok(convert_snapshot(inner.snapshot())),
            None => Err(Error::from_reason(
                "[ECLOSED] the probe is closed: open a new one",
            )),
        }
    }

    /// Stops the sampler thread. Idempotent.
    #[napi]
    pub fn close(&mut self) {
        if let Some(mut inner) = self.inner.take() {
            inner.close();
        }
    }
}
