//! A kept-open /proc file re-read with pread (DESIGN §2.4).

use std::fs::File;
use std::os::unix::fs::FileExt;

/// A kept-open /proc file, re-read with pread. Falls back to open-per-read
/// when we are out of descriptors.
pub(super) struct ProcFile {
    path: String,
    file: Option<File>,
}

pub(super) enum ReadOutcome {
    Text(usize),
    /// The thread (or process) is gone.
    Gone,
    Denied,
}

impl ProcFile {
    pub(super) fn open(path: String) -> Result<ProcFile, ReadOutcome> {
        match File::open(&path) {
            Ok(file) => Ok(ProcFile {
                path,
                file: Some(file),
            }),
            Err(e)
                if e.raw_os_error() == Some(libc::EMFILE)
                    || e.raw_os_error() == Some(libc::ENFILE) =>
            {
                Ok(ProcFile { path, file: None })
            }
            Err(e) => Err(classify_io_error(&e)),
        }
    }

    pub(super) fn read(&self, buf: &mut [u8]) -> ReadOutcome {
        let result = match &self.file {
            Some(file) => file.read_at(buf, 0),
            None => File::open(&self.path).and_then(|f| f.read_at(buf, 0)),
        };
        match result {
            Ok(0) => ReadOutcome::Gone,
            Ok(n) => ReadOutcome::Text(n),
            Err(e) => classify_io_error(&e),
        }
    }
}

fn classify_io_error(e: &std::io::Error) -> ReadOutcome {
    match e.raw_os_error() {
        Some(libc::EACCES) | Some(libc::EPERM) => ReadOutcome::Denied,
        _ => ReadOutcome::Gone,
    }
}
