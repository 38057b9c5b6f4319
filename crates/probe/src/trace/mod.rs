//! The `trace` tier (DESIGN §2.3): exact off-CPU time per thread and class,
//! from the kernel's own events, when we are privileged (root or CAP_PERFMON).
//!
//! Mechanism: per thread of the target, three perf events with `pid = tid,
//! cpu = -1`, all writing into one ring buffer:
//! - a dummy software event with `context_switch` (PERF_RECORD_SWITCH: the
//!   exact switch-out/in times, and SWITCH_OUT_PREEMPT tells a preempted,
//!   still-runnable thread from a blocked one) and `task` (PERF_RECORD_EXIT);
//! - the `raw_syscalls:sys_enter` and `sys_exit` tracepoints, filtered in
//!   the kernel to the wait syscalls of the target's ABI (futex, I/O, sleep),
//!   whose raw payload gives the syscall number and the futex word.
//!
//! Every blocked off-CPU interval is attributed to the syscall the thread is
//! in ([`account`], a pure state machine), so gil/lock/io/sleep/other are
//! measured rather than sampled. The buffers are drained by the sampler's own
//! thread at its tick: no wake-ups, no per-event syscalls of ours.
//!
//! Why perf and not eBPF: the same tracepoints, without a BPF loader, BTF or a
//! compiled program (the addon must stay small and cross-compile to armv7,
//! whose kernels often lack BPF features), and per-thread events need no
//! in-kernel filtering by pid: the kernel only runs a per-task event while its
//! task is on the CPU.

pub mod account;
pub mod ring;
pub mod sys;

use std::collections::HashMap;
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use crate::abi::{Abi, SyscallKind};
use crate::clock::monotonic_ns;
use crate::gil_range::AddrRange;
use crate::procfs::{parse_syscall, SyscallState};
use account::{Classifier, Seed, ThreadAccount, TracedTotals};
use ring::{decode, RawLayout, RingBuffer};
use sys::{flag, PerfEventAttr};

pub use account::{TraceEvent, TRACED_CLASSES};

/// Which tier the caller wants (DESIGN §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TierRequest {
    /// `trace` when permitted, else `sample`, else `rusage`.
    #[default]
    Auto,
    /// `trace`; when refused, `sample` with the reason (never an error).
    Trace,
    /// Never trace.
    Sample,
}

#[derive(Debug, Clone, Copy)]
pub struct TraceOptions {
    /// Data pages per thread's ring buffer (a power of two). Halved down to
    /// 2 when the locked-memory limit refuses the mapping.
    pub buffer_pages: usize,
    /// Above this many traced threads the tier falls back to `sample`.
    pub thread_budget: usize,
}

impl Default for TraceOptions {
    fn default() -> Self {
        TraceOptions {
            buffer_pages: 32,
            thread_budget: 256,
        }
    }
}

/// Why a thread could not be traced.
#[derive(Debug)]
pub enum AttachError {
    /// The thread exited meanwhile: nothing to trace.
    Gone,
    /// Anything else; the text is a reason for `tier_reason`.
    Refused(String),
}

struct ThreadTrace {
    // The tracepoint events write into `ring` (the dummy's buffer); they are
    // kept open for as long as the ring is read.
    _enter: OwnedFd,
    _exit: OwnedFd,
    ring: RingBuffer,
    _dummy: OwnedFd,
    account: ThreadAccount,
}

/// The tracer of one process: the tracepoint setup shared by its threads
/// and one [`ThreadTrace`] per attached thread.
pub struct Tracer {
    pid: i32,
    classifier: Classifier,
    layout: RawLayout,
    enter_id: u64,
    exit_id: u64,
    filter: CString,
    options: TraceOptions,
    buffer_pages: usize,
    threads: HashMap<i32, ThreadTrace>,
}

/// The syscall numbers of `abi` that the trace tier follows: every wait the
/// sample tier can classify (futex, I/O, sleep).
pub fn traced_syscalls(abi: Abi) -> Vec<u64> {
    (0..1024u64)
        .filter(|&nr| abi.syscall_kind(nr) != SyscallKind::Other)
        .collect()
}

fn clamp_pages(pages: usize) -> usize {
    pages.clamp(1, 1024).next_power_of_two()
}

impl Tracer {
    /// Resolves the tracepoints (mounting tracefs when needed and allowed)
    /// and checks, on the target's main thread, that we may trace it.
    pub fn open(
        pid: i32,
        abi: Abi,
        gil: Option<AddrRange>,
        options: TraceOptions,
    ) -> Result<Tracer, String> {
        if !cfg!(target_os = "linux") {
            return Err("tracing needs Linux perf events".into());
        }
        let root = sys::tracefs_root()?;
        let enter_id = read_id(&root, "events/raw_syscalls/sys_enter/id")?;
        let exit_id = read_id(&root, "events/raw_syscalls/sys_exit/id")?;
        let enter_format = sys::parse_format(&sys::read_tracefs(
            &root,
            "events/raw_syscalls/sys_enter/format",
        )?);
        let exit_format = sys::parse_format(&sys::read_tracefs(
            &root,
            "events/raw_syscalls/sys_exit/format",
        )?);
        let id = sys::find_field(&enter_format, "id")
            .ok_or("raw_syscalls:sys_enter has no `id` field")?;
        let args = sys::find_field(&enter_format, "args")
            .ok_or("raw_syscalls:sys_enter has no `args` field")?;
        let exit_field =
            sys::find_field(&exit_format, "id").ok_or("raw_syscalls:sys_exit has no `id` field")?;
        if exit_field.offset != id.offset || exit_field.size != id.size || !matches!(id.size, 4 | 8)
        {
            return Err("unexpected raw_syscalls record format".into());
        }
        let arg_size = args.size / 6;
        if !matches!(arg_size, 4 | 8) {
            return Err("unexpected raw_syscalls args size".into());
        }
        let layout = RawLayout {
            enter_type: enter_id as u16,
            exit_type: exit_id as u16,
            id: (id.offset, id.size),
            arg0: (args.offset, arg_size),
        };
        let filter = CString::new(sys::syscall_filter(&traced_syscalls(abi))).unwrap();
        let mut tracer = Tracer {
            pid,
            classifier: Classifier { abi, gil },
            layout,
            enter_id,
            exit_id,
            filter,
            options,
            buffer_pages: clamp_pages(options.buffer_pages),
            threads: HashMap::new(),
        };
        // The permission check is a real attachment to the main thread
        // (kept: the sampler's first scan finds it attached).
        match tracer.attach(pid) {
            Ok(()) | Err(AttachError::Gone) => Ok(tracer),
            Err(AttachError::Refused(reason)) => Err(reason),
        }
    }

    pub fn thread_budget(&self) -> usize {
        self.options.thread_budget
    }

    pub fn len(&self) -> usize {
        self.threads.len()
    }

    pub fn is_empty(&self) -> bool {
        self.threads.is_empty()
    }

    pub fn is_attached(&self, tid: i32) -> bool {
        self.threads.contains_key(&tid)
    }

    fn open_event(
        &self,
        attr: &PerfEventAttr,
        tid: i32,
        what: &str,
    ) -> Result<OwnedFd, AttachError> {
        sys::perf_event_open(attr, tid, -1).map_err(|e| match e.raw_os_error() {
            Some(libc::ESRCH) => AttachError::Gone,
            Some(libc::EACCES) | Some(libc::EPERM) => AttachError::Refused(format!(
                "perf_event_open refused: {} (needs CAP_PERFMON or root)",
                sys::errno_name(&e)
            )),
            _ => AttachError::Refused(format!(
                "perf_event_open ({what}) failed: {}",
                sys::errno_name(&e)
            )),
        })
    }

    /// Starts tracing thread `tid` of the target.
    pub fn attach(&mut self, tid: i32) -> Result<(), AttachError> {
        if self.threads.contains_key(&tid) {
            return Ok(());
        }
        let common = flag::DISABLED | flag::USE_CLOCKID | flag::EXCLUDE_HV;
        let dummy_attr = PerfEventAttr {
            type_: sys::PERF_TYPE_SOFTWARE,
            config: sys::PERF_COUNT_SW_DUMMY,
            sample_period: 1,
            sample_type: sys::PERF_SAMPLE_TIME,
            flags: common | flag::CONTEXT_SWITCH | flag::TASK | flag::SAMPLE_ID_ALL,
            clockid: libc::CLOCK_MONOTONIC,
            ..Default::default()
        };
        let tp_attr = |id: u64| PerfEventAttr {
            type_: sys::PERF_TYPE_TRACEPOINT,
            config: id,
            sample_period: 1,
            sample_type: sys::PERF_SAMPLE_TIME | sys::PERF_SAMPLE_RAW,
            flags: common,
            clockid: libc::CLOCK_MONOTONIC,
            ..Default::default()
        };
        let dummy = self.open_event(&dummy_attr, tid, "context switches")?;
        let enter = self.open_event(&tp_attr(self.enter_id), tid, "raw_syscalls:sys_enter")?;
        let exit = self.open_event(&tp_attr(self.exit_id), tid, "raw_syscalls:sys_exit")?;
        let ring = loop {
            match RingBuffer::map(dummy.as_raw_fd(), self.buffer_pages) {
                Ok(ring) => break ring,
                Err(e) if e.raw_os_error() == Some(libc::EPERM) && self.buffer_pages > 2 => {
                    // Over perf_event_mlock_kb without CAP_IPC_LOCK: smaller buffers.
                    self.buffer_pages /= 2;
                }
                Err(e) => {
                    return Err(AttachError::Refused(format!(
                        "mmap of the perf ring buffer failed: {} (raise kernel.perf_event_mlock_kb or RLIMIT_MEMLOCK)",
                        sys::errno_name(&e)
                    )))
                }
            }
        };
        let setup = |what: &str, r: std::io::Result<()>| {
            r.map_err(|e| {
                AttachError::Refused(format!("perf {what} failed: {}", sys::errno_name(&e)))
            })
        };
        for fd in [&enter, &exit] {
            setup(
                "SET_OUTPUT",
                sys::set_output(fd.as_raw_fd(), dummy.as_raw_fd()),
            )?;
            setup("SET_FILTER", sys::set_filter(fd.as_raw_fd(), &self.filter))?;
        }
        // Seed from what the thread is doing now, then enable: a thread
        // blocked since before we came (a long recv) has no events to tell.
        let seed_time = monotonic_ns();
        let seed = match std::fs::read_to_string(format!("/proc/{}/task/{tid}/syscall", self.pid)) {
            Ok(text) => match parse_syscall(&text) {
                Ok(SyscallState::Running) => Seed::Running,
                Ok(SyscallState::NotInSyscall { .. }) => Seed::Blocked(account::WaitClass::Other),
                Ok(SyscallState::InSyscall { nr, args, .. }) => {
                    Seed::Blocked(self.classifier.class_of(nr, args[0]))
                }
                Err(_) => Seed::Unknown,
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(AttachError::Gone),
            Err(_) => Seed::Unknown,
        };
        for fd in [&dummy, &enter, &exit] {
            setup("ENABLE", sys::enable(fd.as_raw_fd()))?;
        }
        self.threads.insert(
            tid,
            ThreadTrace {
                _enter: enter,
                _exit: exit,
                ring,
                _dummy: dummy,
                account: ThreadAccount::new(seed_time, seed),
            },
        );
        Ok(())
    }

    /// Drains every thread's buffer and credits open blocked intervals up to now.
    pub fn drain(&mut self) {
        let now = monotonic_ns();
        let classifier = self.classifier;
        let layout = self.layout;
        for t in self.threads.values_mut() {
            drain_thread(t, &classifier, &layout, now);
        }
    }

    /// Drains a thread one last time and stops tracing it; returns its totals.
    pub fn detach(&mut self, tid: i32) -> Option<TracedTotals> {
        let now = monotonic_ns();
        let mut t = self.threads.remove(&tid)?;
        drain_thread(&mut t, &self.classifier, &self.layout, now);
        Some(t.account.totals())
    }

    pub fn totals(&self, tid: i32) -> Option<TracedTotals> {
        self.threads.get(&tid).map(|t| t.account.totals())
    }

    /// After the target exec'd: classify with its new ABI and GIL range, and
    /// filter the new ABI's syscall numbers on every attached thread.
    pub fn reclassify(&mut self, abi: Abi, gil: Option<AddrRange>) {
        if abi != self.classifier.abi {
            self.filter = CString::new(sys::syscall_filter(&traced_syscalls(abi))).unwrap();
            for t in self.threads.values() {
                for fd in [&t._enter, &t._exit] {
                    let _ = sys::set_filter(fd.as_raw_fd(), &self.filter);
                }
            }
        }
        self.classifier = Classifier { abi, gil };
    }

    /// Every attached thread id.
    pub fn tids(&self) -> Vec<i32> {
        self.threads.keys().copied().collect()
    }
}

fn drain_thread(t: &mut ThreadTrace, classifier: &Classifier, layout: &RawLayout, now: u64) {
    let account = &mut t.account;
    t.ring.drain(|record| {
        if let Some(event) = decode(record, layout) {
            account.apply(&event, classifier);
        }
    });
    account.advance(now);
}

fn read_id(root: &Path, rel: &str) -> Result<u64, String> {
    let text = sys::read_tracefs(root, rel)?;
    text.trim().parse().map_err(|_| {
        format!(
            "bad tracepoint id in {}: {:?}",
            root.join(rel).display(),
            text.trim()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_covers_every_wait_syscall_and_fits_a_page() {
        for abi in [Abi::X86_64, Abi::Aarch64, Abi::Arm] {
            let nrs = traced_syscalls(abi);
            assert!(nrs.len() > 30, "{}", abi.name());
            let filter = sys::syscall_filter(&nrs);
            assert!(
                filter.len() < 4096,
                "{} filter is {} bytes",
                abi.name(),
                filter.len()
            );
        }
        let x86 = traced_syscalls(Abi::X86_64);
        for nr in [202, 230, 35, 45, 0, 232, 449] {
            assert!(x86.contains(&nr), "{nr}");
        }
        assert!(!x86.contains(&257), "openat is not a wait");
    }
}
