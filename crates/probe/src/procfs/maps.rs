//! `/proc/<pid>/maps`.
use super::ParseError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapEntry {
    pub start: u64,
    pub end: u64,
    pub readable: bool,
    pub writable: bool,
    pub executable: bool,
    pub private: bool,
    pub offset: u64,
    pub inode: u64,
    /// Path or pseudo-path (`[heap]`), without a ` (deleted)` suffix.
    pub path: Option<String>,
    pub deleted: bool,
}

pub fn parse_maps(text: &str) -> Result<Vec<MapEntry>, ParseError> {
    let _ = text;
    todo!()
}
