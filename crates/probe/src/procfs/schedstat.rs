//! `/proc/<pid>/task/<tid>/schedstat`: on-CPU ns, run-queue wait ns, timeslices.
use super::ParseError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SchedStat {
    pub cpu_ns: u64,
    pub runq_ns: u64,
    pub timeslices: u64,
}

pub fn parse_schedstat(text: &str) -> Result<SchedStat, ParseError> {
    let _ = text;
    todo!()
}
