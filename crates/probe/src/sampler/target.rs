//! What the sampler learns about its target at open (and again after an
//! exec): the tier it may use, the ABI, and the GIL's address range.

use std::os::unix::fs::FileExt;

use super::{SamplerOptions, Tier};
use crate::abi::{abi_from_elf_header, Abi};
use crate::error::ProbeError;
use crate::gil_range::{locate_runtime, RangeSource, RuntimeLocation};
use crate::procfs::{parse_maps, parse_stat};
use crate::trace::{TierRequest, Tracer};

/// What we learn about the target once, at open.
pub(super) struct Target {
    /// The executable when inspected: a change means the target exec'd
    /// (e.g. a pyenv shim became python) and must be inspected again.
    pub(super) exe: Option<std::path::PathBuf>,
    pub(super) tier: Tier,
    pub(super) tier_reason: Option<String>,
    pub(super) abi: Abi,
    pub(super) gil: Option<RuntimeLocation>,
    pub(super) gil_note: Option<String>,
}

impl Target {
    pub(super) fn inspect(pid: i32, options: &SamplerOptions) -> Result<Target, ProbeError> {
        let proc_dir = format!("/proc/{pid}");
        match std::fs::metadata(format!("{proc_dir}/task")) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ProbeError::NoProcess { pid })
            }
            // /proc mounted with hidepid, or a sandbox: only the companion's own
            // per-task timings (the rusage tier) remain.
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                return Err(ProbeError::PermissionDenied {
                    pid,
                    what: format!("{proc_dir}/task"),
                    tier_available: "rusage",
                })
            }
            Err(e) => {
                return Err(ProbeError::Io {
                    what: format!("cannot read {proc_dir}/task: {e}"),
                })
            }
        }
        if let Ok(text) = std::fs::read_to_string(format!("{proc_dir}/stat")) {
            if let Ok(stat) = parse_stat(&text) {
                if stat.state == 'Z' || stat.state == 'X' {
                    return Err(ProbeError::NoProcess { pid });
                }
            }
        }

        // Reading another task's syscall file needs ptrace read access; the
        // schedstat counters do not, so without it we still have cpu/runq.
        let (tier, tier_reason) = match std::fs::read(format!("{proc_dir}/task/{pid}/syscall")) {
            Ok(_) => (Tier::Sample, None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ProbeError::NoProcess { pid })
            }
            Err(e) => (
                Tier::Rusage,
                Some(format!(
                    "cannot read /proc/{pid}/task/*/syscall ({e}): run as the target's user (or root) for the 'sample' tier"
                )),
            ),
        };

        let abi = match std::fs::File::open(format!("{proc_dir}/exe")).and_then(|f| {
            let mut header = [0u8; 64];
            let n = f.read_at(&mut header, 0)?;
            Ok(header[..n].to_vec())
        }) {
            Ok(header) => abi_from_elf_header(&header).map_err(|what| ProbeError::Unsupported {
                what: format!("target pid {pid}: {what}"),
            })?,
            // Without access to the executable, assume our own ABI.
            Err(_) => Abi::native(),
        };

        let (gil, gil_note) = if let Some(range) = options.gil_range {
            (
                Some(RuntimeLocation {
                    range,
                    source: RangeSource::Explicit,
                    object_path: String::new(),
                }),
                None,
            )
        } else {
            locate_gil(pid)
        };
        Ok(Target {
            exe: std::fs::read_link(format!("{proc_dir}/exe")).ok(),
            tier,
            tier_reason,
            abi,
            gil,
            gil_note,
        })
    }
}

/// Opens the trace tier when requested (or `Auto`) and permitted; otherwise
/// says why not in `target.tier_reason`. Never an error.
pub(super) fn open_tracer(
    pid: i32,
    options: &SamplerOptions,
    target: &mut Target,
) -> Option<Tracer> {
    if target.tier != Tier::Sample {
        return None;
    }
    if options.tier == TierRequest::Sample {
        target.tier_reason = Some("the 'sample' tier was requested".into());
        return None;
    }
    match Tracer::open(
        pid,
        target.abi,
        target.gil.as_ref().map(|g| g.range),
        options.trace,
    ) {
        Ok(tracer) => {
            target.tier = Tier::Trace;
            target.tier_reason = None;
            Some(tracer)
        }
        Err(reason) => {
            target.tier_reason = Some(reason);
            None
        }
    }
}

fn locate_gil(pid: i32) -> (Option<RuntimeLocation>, Option<String>) {
    let maps_text = match std::fs::read_to_string(format!("/proc/{pid}/maps")) {
        Ok(text) => text,
        Err(e) => {
            return (
                None,
                Some(format!(
                    "no GIL range found: cannot read /proc/{pid}/maps ({e})"
                )),
            )
        }
    };
    let maps = match parse_maps(&maps_text) {
        Ok(maps) => maps,
        Err(e) => return (None, Some(format!("no GIL range found: {e}"))),
    };
    // Read the object as the target sees it (its mount namespace).
    let mut read_object = |path: &str| std::fs::read(format!("/proc/{pid}/root{path}"));
    match locate_runtime(&maps, &mut read_object) {
        Ok(Some(location)) if is_free_threaded_build(&location.object_path) => (
            None,
            Some(format!(
                "no GIL: {} is a free-threaded build; futex waits count as lock",
                location.object_path
            )),
        ),
        Ok(Some(location)) => (Some(location), None),
        Ok(None) => (
            None,
            Some("no GIL range found: no mapped object defines _PyRuntime (not CPython, or a free-threaded build); futex waits count as lock".into()),
        ),
        Err(e) => (None, Some(format!("no GIL range found: {e}"))),
    }
}

/// Free-threaded CPython (3.13t+) still defines `_PyRuntime` but has no GIL;
/// its objects carry the ABI flag `t` (`python3.13t`, `libpython3.13t.so`).
fn is_free_threaded_build(object_path: &str) -> bool {
    let name = object_path.rsplit('/').next().unwrap_or(object_path);
    let Some(rest) = name.split("python3.").nth(1) else {
        return false;
    };
    let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
    digits > 0 && rest[digits..].starts_with('t')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_threaded_builds_are_told_by_the_abi_flag() {
        assert!(is_free_threaded_build("/usr/lib/libpython3.13t.so.1.0"));
        assert!(is_free_threaded_build("/usr/local/bin/python3.14t"));
        assert!(!is_free_threaded_build(
            "/usr/lib/x86_64-linux-gnu/libpython3.13.so.1.0"
        ));
        assert!(!is_free_threaded_build("/usr/bin/python3.11"));
        assert!(!is_free_threaded_build("/opt/python3.x/bin/python"));
    }
}
