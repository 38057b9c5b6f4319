//! One sample of one thread → the class of what it is doing (DESIGN §2).
use crate::abi::{Abi, SyscallKind};
use crate::gil_range::AddrRange;
use crate::procfs::SyscallState;

/// Where a sampled thread is. `Running` covers on-CPU and runnable; the
/// exact split of those two comes from schedstat, not from samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleClass {
    Running,
    Gil,
    Lock,
    Io,
    Sleep,
    /// Blocked in another syscall (`nr`), or outside any syscall (`None`).
    Other(Option<u64>),
}

impl SampleClass {
    pub const NAMES: [&'static str; 6] = ["running", "gil", "lock", "io", "sleep", "other"];

    /// Index into per-class counter arrays, in the order of [`Self::NAMES`].
    pub fn index(self) -> usize {
        match self {
            SampleClass::Running => 0,
            SampleClass::Gil => 1,
            SampleClass::Lock => 2,
            SampleClass::Io => 3,
            SampleClass::Sleep => 4,
            SampleClass::Other(_) => 5,
        }
    }
}

/// Classifies one `/proc/…/syscall` reading. A futex wait whose word lies in
/// the GIL range is `Gil`; any other futex is `Lock`. Without a GIL range
/// (free-threaded build, or not found) every futex is `Lock`.
pub fn classify(state: &SyscallState, abi: Abi, gil: Option<&AddrRange>) -> SampleClass {
    match *state {
        SyscallState::Running => SampleClass::Running,
        SyscallState::NotInSyscall { .. } => SampleClass::Other(None),
        SyscallState::InSyscall { nr, args, .. } => match abi.syscall_kind(nr) {
            SyscallKind::Futex => match gil {
                Some(range) if range.contains(args[0]) => SampleClass::Gil,
                _ => SampleClass::Lock,
            },
            SyscallKind::FutexWaitv => SampleClass::Lock,
            SyscallKind::Io => SampleClass::Io,
            SyscallKind::Sleep => SampleClass::Sleep,
            SyscallKind::Other => SampleClass::Other(Some(nr)),
        },
    }
}
