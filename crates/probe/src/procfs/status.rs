//! `/proc/<pid>/task/<tid>/status`: the fields the probe uses.
use super::ParseError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskStatus {
    pub name: String,
    pub state: char,
    pub tgid: i32,
    pub pid: i32,
    /// Real and effective uid (first two of `Uid:`).
    pub uid_real: u32,
    pub uid_effective: u32,
    pub threads: Option<u32>,
    pub voluntary_ctxt_switches: u64,
    pub nonvoluntary_ctxt_switches: u64,
}

pub fn parse_status(text: &str) -> Result<TaskStatus, ParseError> {
    let _ = text;
    todo!()
}
