//! The kernel interfaces of the trace tier: `perf_event_open(2)` and its
//! ioctls through libc, and tracefs (tracepoint ids and record formats).
//! The pure pieces (format parsing, the filter text) are unit-tested.

use std::ffi::CString;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

pub const PERF_TYPE_SOFTWARE: u32 = 1;
pub const PERF_TYPE_TRACEPOINT: u32 = 2;
pub const PERF_COUNT_SW_DUMMY: u64 = 9;

pub const PERF_SAMPLE_TIME: u64 = 1 << 2;
pub const PERF_SAMPLE_RAW: u64 = 1 << 10;

/// `perf_event_attr` flag bits (the bitfield after `read_format`).
pub mod flag {
    pub const DISABLED: u64 = 1 << 0;
    pub const EXCLUDE_HV: u64 = 1 << 6;
    pub const TASK: u64 = 1 << 13;
    pub const SAMPLE_ID_ALL: u64 = 1 << 18;
    pub const USE_CLOCKID: u64 = 1 << 25;
    pub const CONTEXT_SWITCH: u64 = 1 << 26;
}

pub const PERF_RECORD_LOST: u32 = 2;
pub const PERF_RECORD_EXIT: u32 = 4;
pub const PERF_RECORD_SAMPLE: u32 = 9;
pub const PERF_RECORD_SWITCH: u32 = 14;
pub const PERF_RECORD_MISC_SWITCH_OUT: u16 = 1 << 13;
pub const PERF_RECORD_MISC_SWITCH_OUT_PREEMPT: u16 = 1 << 14;

const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 1 << 3;

/// `struct perf_event_attr` up to PERF_ATTR_SIZE_VER5 (112 bytes; every
/// kernel since 4.1 accepts it, `context_switch` needs 4.3).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct PerfEventAttr {
    pub type_: u32,
    pub size: u32,
    pub config: u64,
    pub sample_period: u64,
    pub sample_type: u64,
    pub read_format: u64,
    pub flags: u64,
    pub wakeup_events: u32,
    pub bp_type: u32,
    pub config1: u64,
    pub config2: u64,
    pub branch_sample_type: u64,
    pub sample_regs_user: u64,
    pub sample_stack_user: u32,
    pub clockid: i32,
    pub sample_regs_intr: u64,
    pub aux_watermark: u32,
    pub sample_max_stack: u16,
    pub reserved_2: u16,
}

const _: () = assert!(std::mem::size_of::<PerfEventAttr>() == 112);

/// `perf_event_open(attr, pid, cpu, -1, FD_CLOEXEC)`.
pub fn perf_event_open(attr: &PerfEventAttr, pid: i32, cpu: i32) -> io::Result<OwnedFd> {
    let mut attr = *attr;
    attr.size = std::mem::size_of::<PerfEventAttr>() as u32;
    // SAFETY: attr is a valid perf_event_attr of the size we declare.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &attr as *const PerfEventAttr,
            pid as libc::pid_t,
            cpu as libc::c_int,
            -1 as libc::c_int,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel returned a fresh descriptor that we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

const fn io_none(nr: u64) -> u64 {
    (b'$' as u64) << 8 | nr
}

const fn io_write_ptr(nr: u64) -> u64 {
    // _IOW('$', nr, char *): direction write (1) << 30, size << 16.
    (1 << 30) | ((std::mem::size_of::<*const libc::c_char>() as u64) << 16) | io_none(nr)
}

const PERF_EVENT_IOC_ENABLE: u64 = io_none(0);
const PERF_EVENT_IOC_SET_OUTPUT: u64 = io_none(5);
const PERF_EVENT_IOC_SET_FILTER: u64 = io_write_ptr(6);

fn ioctl(fd: RawFd, request: u64, arg: libc::c_ulong) -> io::Result<()> {
    // SAFETY: the perf ioctls we issue take an integer or a pointer to a
    // NUL-terminated string that outlives the call.
    let rc = unsafe { libc::ioctl(fd, request as _, arg) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

pub fn enable(fd: RawFd) -> io::Result<()> {
    ioctl(fd, PERF_EVENT_IOC_ENABLE, 0)
}

/// Sends `fd`'s records into `target`'s ring buffer.
pub fn set_output(fd: RawFd, target: RawFd) -> io::Result<()> {
    ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, target as libc::c_ulong)
}

pub fn set_filter(fd: RawFd, filter: &CString) -> io::Result<()> {
    ioctl(
        fd,
        PERF_EVENT_IOC_SET_FILTER,
        filter.as_ptr() as libc::c_ulong,
    )
}

/// `EACCES`, `ENOENT`, …: the symbolic name of an errno for reasons.
pub fn errno_name(e: &io::Error) -> String {
    let name = match e.raw_os_error() {
        Some(libc::EACCES) => "EACCES",
        Some(libc::EPERM) => "EPERM",
        Some(libc::ENOENT) => "ENOENT",
        Some(libc::ENOSYS) => "ENOSYS",
        Some(libc::EINVAL) => "EINVAL",
        Some(libc::EMFILE) => "EMFILE",
        Some(libc::ENOMEM) => "ENOMEM",
        Some(libc::ESRCH) => "ESRCH",
        Some(libc::EBUSY) => "EBUSY",
        Some(libc::ENODEV) => "ENODEV",
        Some(libc::EOPNOTSUPP) => "EOPNOTSUPP",
        _ => return e.to_string(),
    };
    name.to_string()
}

const TRACEFS: &str = "/sys/kernel/tracing";
const DEBUGFS_TRACING: &str = "/sys/kernel/debug/tracing";

/// Where tracefs is mounted; mounts it at /sys/kernel/tracing when it is not
/// and we are allowed to (CAP_SYS_ADMIN).
pub fn tracefs_root() -> Result<PathBuf, String> {
    for root in [TRACEFS, DEBUGFS_TRACING] {
        if Path::new(root).join("events/raw_syscalls").is_dir() {
            return Ok(PathBuf::from(root));
        }
    }
    let target = CString::new(TRACEFS).unwrap();
    let fstype = CString::new("tracefs").unwrap();
    let source = CString::new("nodev").unwrap();
    // SAFETY: NUL-terminated strings that outlive the call, no data argument.
    let rc = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        let e = io::Error::last_os_error();
        return Err(format!(
            "tracefs is not mounted and mounting it at {TRACEFS} was refused: {} (needs CAP_SYS_ADMIN, or mount it: mount -t tracefs nodev {TRACEFS})",
            errno_name(&e)
        ));
    }
    if Path::new(TRACEFS).join("events/raw_syscalls").is_dir() {
        Ok(PathBuf::from(TRACEFS))
    } else {
        Err(format!(
            "tracefs mounted at {TRACEFS} has no raw_syscalls events (kernel without CONFIG_FTRACE_SYSCALLS)"
        ))
    }
}

/// Reads a file of tracefs, saying what was refused.
pub fn read_tracefs(root: &Path, rel: &str) -> Result<String, String> {
    let path = root.join(rel);
    std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "cannot read {}: {}{}",
            path.display(),
            errno_name(&e),
            if matches!(e.raw_os_error(), Some(libc::EACCES) | Some(libc::EPERM)) {
                " (needs root or CAP_PERFMON with access to tracefs)"
            } else {
                ""
            }
        )
    })
}

/// One `field:…; offset:N; size:N; signed:N;` line of a tracepoint format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatField {
    pub decl: String,
    pub offset: usize,
    pub size: usize,
}

/// Parses a tracepoint's `format` file into its fields.
pub fn parse_format(text: &str) -> Vec<FormatField> {
    let mut fields = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("field:") else {
            continue;
        };
        let mut decl = None;
        let mut offset = None;
        let mut size = None;
        for (i, part) in rest.split(';').enumerate() {
            let part = part.trim();
            if i == 0 {
                decl = Some(part.to_string());
            } else if let Some(v) = part.strip_prefix("offset:") {
                offset = v.trim().parse().ok();
            } else if let Some(v) = part.strip_prefix("size:") {
                size = v.trim().parse().ok();
            }
        }
        if let (Some(decl), Some(offset), Some(size)) = (decl, offset, size) {
            fields.push(FormatField { decl, offset, size });
        }
    }
    fields
}

/// The field whose declaration names `name` (`long id`, `unsigned long args[6]`).
pub fn find_field<'a>(fields: &'a [FormatField], name: &str) -> Option<&'a FormatField> {
    fields.iter().find(|f| {
        let ident = f
            .decl
            .rsplit(|c: char| c.is_whitespace() || c == '*')
            .next()
            .unwrap_or("");
        let ident = ident.split('[').next().unwrap_or("");
        ident == name
    })
}

/// A tracepoint filter that passes the given syscall numbers: runs of
/// consecutive numbers become ranges, so the text stays short.
pub fn syscall_filter(numbers: &[u64]) -> String {
    let mut sorted = numbers.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1] == sorted[j] + 1 {
            j += 1;
        }
        if j == i {
            parts.push(format!("id == {}", sorted[i]));
        } else {
            parts.push(format!("(id >= {} && id <= {})", sorted[i], sorted[j]));
        }
        i = j + 1;
    }
    parts.join(" || ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYS_ENTER_X86_64: &str = "name: sys_enter
ID: 443
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:long id;\toffset:8;\tsize:8;\tsigned:1;
\tfield:unsigned long args[6];\toffset:16;\tsize:48;\tsigned:0;

print fmt: \"NR %ld (%lx, %lx, %lx, %lx, %lx, %lx)\", REC->id, REC->args[0]
";

    // What a 32-bit ARM kernel prints (long is 4 bytes).
    const SYS_ENTER_ARM32: &str = "name: sys_enter
ID: 17
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:long id;\toffset:8;\tsize:4;\tsigned:1;
\tfield:unsigned long args[6];\toffset:12;\tsize:24;\tsigned:0;
";

    #[test]
    fn parses_the_raw_syscalls_format() {
        let fields = parse_format(SYS_ENTER_X86_64);
        assert_eq!(fields.len(), 6);
        let id = find_field(&fields, "id").unwrap();
        assert_eq!((id.offset, id.size), (8, 8));
        let args = find_field(&fields, "args").unwrap();
        assert_eq!((args.offset, args.size), (16, 48));
        assert_eq!(find_field(&fields, "common_type").unwrap().size, 2);
        let arm = parse_format(SYS_ENTER_ARM32);
        let args = find_field(&arm, "args").unwrap();
        assert_eq!((args.offset, args.size), (12, 24));
        assert!(find_field(&arm, "ret").is_none());
    }

    #[test]
    fn the_filter_merges_runs_into_ranges() {
        assert_eq!(syscall_filter(&[202]), "id == 202");
        assert_eq!(
            syscall_filter(&[20, 17, 18, 19, 202, 0, 1, 1]),
            "(id >= 0 && id <= 1) || (id >= 17 && id <= 20) || id == 202"
        );
    }

    #[test]
    fn attr_flags_match_the_uapi_bitfield() {
        // Positions from include/uapi/linux/perf_event.h.
        assert_eq!(flag::TASK, 0x2000);
        assert_eq!(flag::SAMPLE_ID_ALL, 0x40000);
        assert_eq!(flag::CONTEXT_SWITCH, 0x400_0000);
        assert_eq!(PERF_EVENT_IOC_ENABLE, 0x2400);
        assert_eq!(PERF_EVENT_IOC_SET_OUTPUT, 0x2405);
        #[cfg(target_pointer_width = "64")]
        assert_eq!(PERF_EVENT_IOC_SET_FILTER, 0x4008_2406);
        #[cfg(target_pointer_width = "32")]
        assert_eq!(PERF_EVENT_IOC_SET_FILTER, 0x4004_2406);
    }
}
