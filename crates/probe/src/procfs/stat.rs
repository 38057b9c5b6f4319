//! `/proc/<pid>/task/<tid>/stat` (proc(5)).
use super::ParseError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskStat {
    pub tid: i32,
    /// `comm`, which may itself contain spaces and parentheses.
    pub comm: String,
    /// R, S, D, Z, T, t, X, I, …
    pub state: char,
    pub utime_ticks: u64,
    pub stime_ticks: u64,
    /// Clock ticks after boot at which the thread started.
    pub starttime_ticks: u64,
    /// CPU last run on.
    pub processor: i32,
}

pub fn parse_stat(text: &str) -> Result<TaskStat, ParseError> {
    let _ = text;
    todo!()
}
