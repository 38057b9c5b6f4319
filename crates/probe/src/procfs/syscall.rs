//! `/proc/<pid>/task/<tid>/syscall`: what a blocked thread is blocked in.
use super::ParseError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyscallState {
    /// `running`: the thread is on a CPU or runnable.
    Running,
    /// Blocked outside any syscall (`-1 sp pc`), e.g. in a page fault.
    NotInSyscall { sp: u64, pc: u64 },
    /// Blocked in syscall `nr` with its six arguments.
    InSyscall {
        nr: u64,
        args: [u64; 6],
        sp: u64,
        pc: u64,
    },
}

pub fn parse_syscall(text: &str) -> Result<SyscallState, ParseError> {
    let _ = text;
    todo!()
}
