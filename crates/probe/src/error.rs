use std::fmt;

/// Errors a user can cause. `code()` is stable and surfaces in JavaScript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeError {
    /// The process does not exist (or exited before we could look).
    NoProcess { pid: i32 },
    /// We may not read what the tier needs; `tier_available` says what still works.
    PermissionDenied {
        pid: i32,
        what: String,
        tier_available: &'static str,
    },
    /// Not Linux, or a target ABI we have no syscall table for.
    Unsupported { what: String },
    /// Text from /proc (or an ELF file) that we could not parse.
    Parse { what: String },
    /// An option out of its range.
    InvalidOption { what: String },
    /// Anything else from the OS, with context.
    Io { what: String },
}

impl ProbeError {
    pub fn code(&self) -> &'static str {
        match self {
            ProbeError::NoProcess { .. } => "ENOPROC",
            ProbeError::PermissionDenied { .. } => "EPERM",
            ProbeError::Unsupported { .. } => "EUNSUPPORTED",
            ProbeError::Parse { .. } => "EPARSE",
            ProbeError::InvalidOption { .. } => "EINVAL",
            ProbeError::Io { .. } => "EIO",
        }
    }
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeError::NoProcess { pid } => write!(
                f,
                "no process with pid {pid}: check the pid, or start the process first"
            ),
            ProbeError::PermissionDenied {
                pid,
                what,
                tier_available,
            } => write!(
                f,
                "permission denied reading {what} of pid {pid}: run as the process's user or root; the '{tier_available}' tier still works"
            ),
            ProbeError::Unsupported { what } => write!(f, "unsupported: {what}"),
            ProbeError::Parse { what } => write!(f, "could not parse {what}"),
            ProbeError::InvalidOption { what } => write!(f, "invalid option: {what}"),
            ProbeError::Io { what } => write!(f, "{what}"),
        }
    }
}

impl std::error::Error for ProbeError {}
