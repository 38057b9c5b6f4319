//! Typed parsers for the /proc files the probe reads. Each is a pure function
//! of the file's text, tested on captured text (see `tests/fixtures`).

pub mod maps;
pub mod schedstat;
pub mod stat;
pub mod status;
pub mod syscall;

pub use maps::{parse_maps, MapEntry};
pub use schedstat::{parse_schedstat, SchedStat};
pub use stat::{parse_stat, TaskStat};
pub use status::{parse_status, TaskStatus};
pub use syscall::{parse_syscall, SyscallState};

/// A /proc file's text did not have the expected shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub file: &'static str,
    pub reason: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file, self.reason)
    }
}

impl std::error::Error for ParseError {}
