//! Per-thread interval accounting of the trace tier, as a pure state machine:
//! fed with decoded events in the order the kernel wrote them, it keeps the
//! exact cumulative off-CPU time of one thread by class. No perf, no I/O, so
//! it is tested on synthetic event sequences.
//!
//! The rules:
//! - A switch-out with `preempted` (the thread stayed runnable) opens a
//!   run-queue interval; any other switch-out opens a blocked interval whose
//!   class is the syscall the thread is in (gil/lock/io/sleep by the syscall
//!   number and futex word), or `other` when it blocks outside a traced
//!   syscall (an untraced syscall, a page fault).
//! - A switch-in closes the open interval. A syscall enter/exit while an
//!   interval is open means we missed the switch-in (lost records): it closes
//!   the interval at the event's time.
//! - [`ThreadAccount::advance`] credits a still-open blocked interval up to
//!   `now`, so a thread blocked for the whole window (a long `recv`) shows up
//!   in the window. Should an event later prove that the interval ended before
//!   the credited time, the excess is kept as a debt repaid from later credits
//!   of that class: counters never go backwards and stay exact in the sum.
//! - Lost records (the ring buffer overflowed) make the state unknown until
//!   the next switch; they are counted so a reader can judge.

use crate::abi::Abi;
use crate::classify::{classify, SampleClass};
use crate::gil_range::AddrRange;
use crate::procfs::SyscallState;

/// The off-CPU classes the trace tier splits blocked time into, in the order
/// of `ThreadCounters::traced_ns`.
pub const TRACED_CLASSES: [&str; 5] = ["gil", "lock", "io", "sleep", "other"];

/// One decoded record of a thread's ring buffer. Times are CLOCK_MONOTONIC ns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceEvent {
    /// `raw_syscalls:sys_enter` of a traced syscall: its number and first argument.
    SysEnter { time: u64, nr: u64, arg0: u64 },
    /// `raw_syscalls:sys_exit` of a traced syscall.
    SysExit { time: u64, nr: u64 },
    /// PERF_RECORD_SWITCH with SWITCH_OUT; `preempted` = SWITCH_OUT_PREEMPT.
    SwitchOut { time: u64, preempted: bool },
    /// PERF_RECORD_SWITCH without SWITCH_OUT.
    SwitchIn { time: u64 },
    /// PERF_RECORD_EXIT: the thread exited.
    Exit { time: u64 },
    /// PERF_RECORD_LOST: the kernel dropped `count` records.
    Lost { count: u64 },
}

/// Index of a traced class in [`TRACED_CLASSES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitClass {
    Gil = 0,
    Lock = 1,
    Io = 2,
    Sleep = 3,
    Other = 4,
}

/// Index of the run-queue (preempted) bucket beside the five wait classes.
const RUNQ: usize = 5;

/// Classifies a syscall by number and first argument exactly like a sample
/// (`classify`), so both tiers agree on what gil/lock/io/sleep mean.
#[derive(Debug, Clone, Copy)]
pub struct Classifier {
    pub abi: Abi,
    pub gil: Option<AddrRange>,
}

impl Classifier {
    pub fn class_of(&self, nr: u64, arg0: u64) -> WaitClass {
        let state = SyscallState::InSyscall {
            nr,
            args: [arg0, 0, 0, 0, 0, 0],
            sp: 0,
            pc: 0,
        };
        match classify(&state, self.abi, self.gil.as_ref()) {
            SampleClass::Gil => WaitClass::Gil,
            SampleClass::Lock => WaitClass::Lock,
            SampleClass::Io => WaitClass::Io,
            SampleClass::Sleep => WaitClass::Sleep,
            SampleClass::Running | SampleClass::Other(_) => WaitClass::Other,
        }
    }
}

/// What the thread was doing when tracing started (from `/proc/…/syscall`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seed {
    /// Blocked in a syscall of this class (or outside any syscall: `Other`).
    Blocked(WaitClass),
    /// On a CPU or runnable: we learn the rest from the first events.
    Running,
    /// Could not tell.
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InSyscall {
    No,
    Yes(WaitClass),
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cpu {
    On,
    /// Off-CPU since `since`, credited up to `credited`, into bucket `bucket`
    /// (a [`WaitClass`] index, or [`RUNQ`]).
    Off {
        bucket: usize,
        credited: u64,
    },
    Unknown,
    Dead,
}

/// Cumulative totals of one traced thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TracedTotals {
    /// Blocked off-CPU ns by class (gil, lock, io, sleep, other). Each
    /// blocked interval runs from the switch-out to the switch-in, so it
    /// includes the wake-up latency (which schedstat counts as run queue).
    pub blocked_ns: [u64; 5],
    /// Off-CPU ns after preemption (runnable the whole time): part of run queue.
    pub preempted_ns: u64,
    /// Records the kernel dropped (ring buffer full).
    pub lost_events: u64,
    /// Events applied.
    pub events: u64,
}

#[derive(Debug, Clone)]
pub struct ThreadAccount {
    syscall: InSyscall,
    cpu: Cpu,
    /// Over-credit to repay, per bucket.
    debt: [u64; 6],
    ns: [u64; 6],
    lost: u64,
    events: u64,
}

impl ThreadAccount {
    /// Starts the accounting at `time` in the seeded state.
    pub fn new(time: u64, seed: Seed) -> ThreadAccount {
        let (syscall, cpu) = match seed {
            Seed::Blocked(class) => (
                if class == WaitClass::Other {
                    InSyscall::Unknown
                } else {
                    InSyscall::Yes(class)
                },
                Cpu::Off {
                    bucket: class as usize,
                    credited: time,
                },
            ),
            Seed::Running => (InSyscall::Unknown, Cpu::Unknown),
            Seed::Unknown => (InSyscall::Unknown, Cpu::Unknown),
        };
        ThreadAccount {
            syscall,
            cpu,
            debt: [0; 6],
            ns: [0; 6],
            lost: 0,
            events: 0,
        }
    }

    pub fn totals(&self) -> TracedTotals {
        let mut blocked_ns = [0u64; 5];
        blocked_ns.copy_from_slice(&self.ns[..5]);
        TracedTotals {
            blocked_ns,
            preempted_ns: self.ns[RUNQ],
            lost_events: self.lost,
            events: self.events,
        }
    }

    pub fn is_dead(&self) -> bool {
        self.cpu == Cpu::Dead
    }

    fn credit(&mut self, bucket: usize, ns: u64) {
        let pay = ns.min(self.debt[bucket]);
        self.debt[bucket] -= pay;
        self.ns[bucket] += ns - pay;
    }

    /// Closes an open off-CPU interval at `time`.
    fn close(&mut self, time: u64) {
        if let Cpu::Off { bucket, credited } = self.cpu {
            if time >= credited {
                self.credit(bucket, time - credited);
            } else {
                self.debt[bucket] += credited - time;
            }
        }
    }

    /// Applies one event. `classifier` turns (nr, first argument) into a class.
    pub fn apply(&mut self, event: &TraceEvent, classifier: &Classifier) {
        if self.cpu == Cpu::Dead {
            return;
        }
        self.events += 1;
        match *event {
            TraceEvent::SysEnter { time, nr, arg0 } => {
                // Entering a syscall means running now.
                self.close(time);
                self.cpu = Cpu::On;
                self.syscall = InSyscall::Yes(classifier.class_of(nr, arg0));
            }
            TraceEvent::SysExit { time, .. } => {
                self.close(time);
                self.cpu = Cpu::On;
                self.syscall = InSyscall::No;
            }
            TraceEvent::SwitchOut { time, preempted } => {
                // Two switch-outs in a row: the switch-in was lost.
                self.close(time);
                let bucket = if preempted {
                    RUNQ
                } else {
                    match self.syscall {
                        InSyscall::Yes(class) => class as usize,
                        InSyscall::No | InSyscall::Unknown => WaitClass::Other as usize,
                    }
                };
                self.cpu = Cpu::Off {
                    bucket,
                    credited: time,
                };
            }
            TraceEvent::SwitchIn { time } => {
                self.close(time);
                self.cpu = Cpu::On;
            }
            TraceEvent::Exit { time } => {
                self.close(time);
                self.cpu = Cpu::Dead;
            }
            TraceEvent::Lost { count } => {
                self.lost += count;
                // Whatever was open may have ended inside the lost records:
                // keep what was credited, drop the rest.
                self.cpu = Cpu::Unknown;
                self.syscall = InSyscall::Unknown;
            }
        }
    }

    /// Credits a still-open blocked interval up to `now` (run-queue intervals
    /// are short and credited when they close).
    pub fn advance(&mut self, now: u64) {
        if let Cpu::Off { bucket, credited } = self.cpu {
            if bucket != RUNQ && now > credited {
                self.credit(bucket, now - credited);
                self.cpu = Cpu::Off {
                    bucket,
                    credited: now,
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIL: AddrRange = AddrRange {
        start: 0x1000,
        end: 0x2000,
    };

    fn classifier() -> Classifier {
        Classifier {
            abi: Abi::X86_64,
            gil: Some(GIL),
        }
    }

    // x86_64 numbers.
    const FUTEX: u64 = 202;
    const RECVFROM: u64 = 45;
    const CLOCK_NANOSLEEP: u64 = 230;
    const OPENAT: u64 = 257;

    fn run(seed: Seed, start: u64, events: &[TraceEvent]) -> ThreadAccount {
        let c = classifier();
        let mut a = ThreadAccount::new(start, seed);
        for e in events {
            a.apply(e, &c);
        }
        a
    }

    use TraceEvent::*;

    #[test]
    fn a_gil_wait_is_gil_and_a_heap_futex_is_lock() {
        let a = run(
            Seed::Running,
            0,
            &[
                SysEnter {
                    time: 10,
                    nr: FUTEX,
                    arg0: 0x1800,
                },
                SwitchOut {
                    time: 12,
                    preempted: false,
                },
                SwitchIn { time: 112 },
                SysExit {
                    time: 115,
                    nr: FUTEX,
                },
                SysEnter {
                    time: 200,
                    nr: FUTEX,
                    arg0: 0x7f00_0000,
                },
                SwitchOut {
                    time: 201,
                    preempted: false,
                },
                SwitchIn { time: 251 },
                SysExit {
                    time: 252,
                    nr: FUTEX,
                },
            ],
        );
        let t = a.totals();
        assert_eq!(t.blocked_ns, [100, 50, 0, 0, 0]);
        assert_eq!(t.preempted_ns, 0);
        assert_eq!(t.events, 8);
    }

    #[test]
    fn io_sleep_and_blocking_outside_a_traced_syscall() {
        let a = run(
            Seed::Running,
            0,
            &[
                SysEnter {
                    time: 0,
                    nr: RECVFROM,
                    arg0: 3,
                },
                SwitchOut {
                    time: 1,
                    preempted: false,
                },
                SwitchIn { time: 31 },
                SysExit {
                    time: 32,
                    nr: RECVFROM,
                },
                SysEnter {
                    time: 40,
                    nr: CLOCK_NANOSLEEP,
                    arg0: 1,
                },
                SwitchOut {
                    time: 41,
                    preempted: false,
                },
                SwitchIn { time: 61 },
                SysExit {
                    time: 62,
                    nr: CLOCK_NANOSLEEP,
                },
                // A page fault (no syscall) blocks: other.
                SwitchOut {
                    time: 70,
                    preempted: false,
                },
                SwitchIn { time: 77 },
            ],
        );
        assert_eq!(a.totals().blocked_ns, [0, 0, 30, 20, 7]);
    }

    #[test]
    fn a_traced_syscall_number_outside_the_wait_tables_is_other() {
        let a = run(
            Seed::Running,
            0,
            &[
                SysEnter {
                    time: 0,
                    nr: OPENAT,
                    arg0: 0,
                },
                SwitchOut {
                    time: 5,
                    preempted: false,
                },
                SwitchIn { time: 9 },
                SysExit {
                    time: 10,
                    nr: OPENAT,
                },
            ],
        );
        assert_eq!(a.totals().blocked_ns, [0, 0, 0, 0, 4]);
    }

    #[test]
    fn preemption_is_run_queue_even_inside_a_wait_syscall() {
        let a = run(
            Seed::Running,
            0,
            &[
                SwitchOut {
                    time: 10,
                    preempted: true,
                },
                SwitchIn { time: 25 },
                SysEnter {
                    time: 30,
                    nr: FUTEX,
                    arg0: 0x1000,
                },
                SwitchOut {
                    time: 31,
                    preempted: true,
                },
                SwitchIn { time: 36 },
                SysExit {
                    time: 37,
                    nr: FUTEX,
                },
            ],
        );
        let t = a.totals();
        assert_eq!(t.blocked_ns, [0; 5]);
        assert_eq!(t.preempted_ns, 20);
    }

    #[test]
    fn advance_credits_an_open_interval_and_the_close_adds_only_the_rest() {
        let c = classifier();
        let mut a = ThreadAccount::new(0, Seed::Running);
        a.apply(
            &SysEnter {
                time: 0,
                nr: RECVFROM,
                arg0: 3,
            },
            &c,
        );
        a.apply(
            &SwitchOut {
                time: 10,
                preempted: false,
            },
            &c,
        );
        a.advance(50);
        assert_eq!(a.totals().blocked_ns[2], 40);
        a.advance(40); // time never runs backwards in the credit
        assert_eq!(a.totals().blocked_ns[2], 40);
        a.apply(&SwitchIn { time: 70 }, &c);
        a.advance(100);
        assert_eq!(a.totals().blocked_ns[2], 60);
    }

    #[test]
    fn over_credit_is_repaid_from_later_intervals_of_the_class() {
        let c = classifier();
        let mut a = ThreadAccount::new(0, Seed::Running);
        a.apply(
            &SysEnter {
                time: 0,
                nr: CLOCK_NANOSLEEP,
                arg0: 0,
            },
            &c,
        );
        a.apply(
            &SwitchOut {
                time: 0,
                preempted: false,
            },
            &c,
        );
        a.advance(100);
        // The switch-in happened at 90 but was read after the credit to 100.
        a.apply(&SwitchIn { time: 90 }, &c);
        a.apply(
            &SysExit {
                time: 91,
                nr: CLOCK_NANOSLEEP,
            },
            &c,
        );
        assert_eq!(a.totals().blocked_ns[3], 100);
        a.apply(
            &SysEnter {
                time: 200,
                nr: CLOCK_NANOSLEEP,
                arg0: 0,
            },
            &c,
        );
        a.apply(
            &SwitchOut {
                time: 200,
                preempted: false,
            },
            &c,
        );
        a.apply(&SwitchIn { time: 230 }, &c);
        // 100 + 30 − 10 of debt: exact in the sum (90 + 30).
        assert_eq!(a.totals().blocked_ns[3], 120);
    }

    #[test]
    fn a_thread_blocked_when_tracing_starts_is_seeded() {
        let c = classifier();
        let mut a = ThreadAccount::new(1_000, Seed::Blocked(WaitClass::Lock));
        a.advance(5_000);
        assert_eq!(a.totals().blocked_ns[1], 4_000);
        a.apply(&SwitchIn { time: 6_000 }, &c);
        a.apply(
            &SysExit {
                time: 6_001,
                nr: FUTEX,
            },
            &c,
        );
        assert_eq!(a.totals().blocked_ns[1], 5_000);
    }

    #[test]
    fn a_missed_switch_in_is_closed_by_the_next_syscall_event() {
        let a = run(
            Seed::Blocked(WaitClass::Sleep),
            0,
            // The thread woke between the seed and the enabling of the events.
            &[SysEnter {
                time: 30,
                nr: FUTEX,
                arg0: 0x1000,
            }],
        );
        assert_eq!(a.totals().blocked_ns, [0, 0, 0, 30, 0]);
    }

    #[test]
    fn lost_records_drop_the_open_interval_and_are_counted() {
        let c = classifier();
        let mut a = ThreadAccount::new(0, Seed::Running);
        a.apply(
            &SysEnter {
                time: 0,
                nr: RECVFROM,
                arg0: 3,
            },
            &c,
        );
        a.apply(
            &SwitchOut {
                time: 10,
                preempted: false,
            },
            &c,
        );
        a.advance(20);
        a.apply(&Lost { count: 7 }, &c);
        a.advance(1_000);
        a.apply(&SwitchIn { time: 1_100 }, &c);
        let t = a.totals();
        assert_eq!(t.blocked_ns[2], 10);
        assert_eq!(t.lost_events, 7);
        // After the loss, a blocked switch-out outside a known syscall is other.
        let mut b = a.clone();
        b.apply(
            &SwitchOut {
                time: 1_200,
                preempted: false,
            },
            &c,
        );
        b.apply(&SwitchIn { time: 1_210 }, &c);
        assert_eq!(b.totals().blocked_ns[4], 10);
    }

    #[test]
    fn nothing_counts_after_exit() {
        let c = classifier();
        let mut a = ThreadAccount::new(0, Seed::Running);
        a.apply(&Exit { time: 5 }, &c);
        a.apply(
            &SwitchOut {
                time: 6,
                preempted: false,
            },
            &c,
        );
        a.advance(100);
        assert!(a.is_dead());
        assert_eq!(a.totals().blocked_ns, [0; 5]);
    }

    #[test]
    fn without_a_gil_range_every_futex_is_lock() {
        let c = Classifier {
            abi: Abi::X86_64,
            gil: None,
        };
        assert_eq!(c.class_of(FUTEX, 0x1800), WaitClass::Lock);
        assert_eq!(classifier().class_of(FUTEX, 0x1800), WaitClass::Gil);
        // 32-bit ARM: futex_time64 (422) and clock_nanosleep_time64 (407).
        let arm = Classifier {
            abi: Abi::Arm,
            gil: Some(GIL),
        };
        assert_eq!(arm.class_of(422, 0x1004), WaitClass::Gil);
        assert_eq!(arm.class_of(407, 0), WaitClass::Sleep);
    }
}
