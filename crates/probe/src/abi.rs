//! The target's syscall ABI, read from its ELF header, and what each syscall
//! number means for the wait classification. Numbers are per ABI (DESIGN §2.2).
//!
//! Every number below was checked against the kernel's own tables:
//! `arch/x86/entry/syscalls/syscall_64.tbl` (x86_64),
//! `include/uapi/asm-generic/unistd.h` (aarch64 uses the generic table) and
//! `arch/arm/tools/syscall.tbl` (32-bit ARM EABI; a 32-bit process on an
//! arm64 kernel reports these compat numbers too).
//!
//! What goes where:
//! - `Futex`: `futex`, `futex_time64` and `futex_wait` (455, futex2): the
//!   first argument is the futex word's address.
//! - `FutexWaitv`: `futex_waitv` (449 everywhere): a vector, no single word.
//! - `Sleep`: `nanosleep`, `clock_nanosleep` (+ `_time64`): a timer wait.
//! - `Io`: waiting for something outside the process's own threads, the kind
//!   of wait that more threads can hide: files, pipes, sockets, pollers,
//!   AIO/io_uring, message queues, syncs to disk, and also
//!   * `wait4`/`waitid`: waiting for a child process is waiting for external
//!     work (`subprocess.run` in a pool thread), like waiting for a server;
//!   * `pause`/`rt_sigsuspend`/`rt_sigtimedwait`/`sigsuspend`: waiting for a
//!     signal is an external event too (a timer or another process), not a
//!     timed sleep and not contention between the process's threads.
//! - `Other`: everything else, e.g. `openat`, `flock`/`fcntl` (file locks: a
//!   lock, but not one whose word we can see), SysV `semop`/`semtimedop`,
//!   `getrandom`, `mmap`.

/// An ABI whose syscall numbers we know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Abi {
    X86_64,
    Aarch64,
    /// 32-bit ARM EABI (armhf/armel userland), also on a 64-bit kernel (compat).
    Arm,
}

/// What a blocked syscall says about the wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyscallKind {
    /// futex / futex_time64: the first argument is the futex word's address.
    Futex,
    /// futex_waitv: a vector of futex words (never the 3.11–3.13 GIL).
    FutexWaitv,
    /// read/recv/poll/select/epoll/io_uring/accept/connect/…
    Io,
    /// nanosleep / clock_nanosleep (and time64 variants).
    Sleep,
    Other,
}

use SyscallKind::{Futex, FutexWaitv, Io, Sleep};

type Table = &'static [(u64, &'static str, SyscallKind)];

/// x86_64 (`syscall_64.tbl`, "common"/"64" entries).
const X86_64_TABLE: Table = &[
    (0, "read", Io),
    (1, "write", Io),
    (7, "poll", Io),
    (17, "pread64", Io),
    (18, "pwrite64", Io),
    (19, "readv", Io),
    (20, "writev", Io),
    (23, "select", Io),
    (34, "pause", Io),
    (35, "nanosleep", Sleep),
    (40, "sendfile", Io),
    (42, "connect", Io),
    (43, "accept", Io),
    (44, "sendto", Io),
    (45, "recvfrom", Io),
    (46, "sendmsg", Io),
    (47, "recvmsg", Io),
    (61, "wait4", Io),
    (69, "msgsnd", Io),
    (70, "msgrcv", Io),
    (74, "fsync", Io),
    (75, "fdatasync", Io),
    (128, "rt_sigtimedwait", Io),
    (130, "rt_sigsuspend", Io),
    (202, "futex", Futex),
    (208, "io_getevents", Io),
    (230, "clock_nanosleep", Sleep),
    (232, "epoll_wait", Io),
    (242, "mq_timedsend", Io),
    (243, "mq_timedreceive", Io),
    (247, "waitid", Io),
    (270, "pselect6", Io),
    (271, "ppoll", Io),
    (275, "splice", Io),
    (276, "tee", Io),
    (281, "epoll_pwait", Io),
    (288, "accept4", Io),
    (295, "preadv", Io),
    (296, "pwritev", Io),
    (299, "recvmmsg", Io),
    (307, "sendmmsg", Io),
    (326, "copy_file_range", Io),
    (327, "preadv2", Io),
    (328, "pwritev2", Io),
    (333, "io_pgetevents", Io),
    (426, "io_uring_enter", Io),
    (441, "epoll_pwait2", Io),
    (449, "futex_waitv", FutexWaitv),
    (455, "futex_wait", Futex),
];

/// aarch64: the generic table (`asm-generic/unistd.h`). It has no `poll`,
/// `select`, `epoll_wait` or `pause`: libc builds those on `ppoll`,
/// `pselect6`, `epoll_pwait` and `ppoll`/`rt_sigsuspend`.
const AARCH64_TABLE: Table = &[
    (4, "io_getevents", Io),
    (22, "epoll_pwait", Io),
    (63, "read", Io),
    (64, "write", Io),
    (65, "readv", Io),
    (66, "writev", Io),
    (67, "pread64", Io),
    (68, "pwrite64", Io),
    (69, "preadv", Io),
    (70, "pwritev", Io),
    (71, "sendfile", Io),
    (72, "pselect6", Io),
    (73, "ppoll", Io),
    (76, "splice", Io),
    (77, "tee", Io),
    (82, "fsync", Io),
    (83, "fdatasync", Io),
    (95, "waitid", Io),
    (98, "futex", Futex),
    (101, "nanosleep", Sleep),
    (115, "clock_nanosleep", Sleep),
    (133, "rt_sigsuspend", Io),
    (137, "rt_sigtimedwait", Io),
    (182, "mq_timedsend", Io),
    (183, "mq_timedreceive", Io),
    (188, "msgrcv", Io),
    (189, "msgsnd", Io),
    (202, "accept", Io),
    (203, "connect", Io),
    (206, "sendto", Io),
    (207, "recvfrom", Io),
    (211, "sendmsg", Io),
    (212, "recvmsg", Io),
    (242, "accept4", Io),
    (243, "recvmmsg", Io),
    (260, "wait4", Io),
    (269, "sendmmsg", Io),
    (285, "copy_file_range", Io),
    (286, "preadv2", Io),
    (287, "pwritev2", Io),
    (292, "io_pgetevents", Io),
    (426, "io_uring_enter", Io),
    (441, "epoll_pwait2", Io),
    (449, "futex_waitv", FutexWaitv),
    (455, "futex_wait", Futex),
];

/// 32-bit ARM EABI (`arch/arm/tools/syscall.tbl`, "common"/"eabi" entries;
/// OABI-only numbers such as `select` 82 are left out). A time64 glibc
/// (Debian 13+, …) uses the `_time64` numbers, an older one the originals.
const ARM_TABLE: Table = &[
    (3, "read", Io),
    (4, "write", Io),
    (29, "pause", Io),
    (72, "sigsuspend", Io),
    (114, "wait4", Io),
    (118, "fsync", Io),
    (142, "_newselect", Io),
    (145, "readv", Io),
    (146, "writev", Io),
    (148, "fdatasync", Io),
    (162, "nanosleep", Sleep),
    (168, "poll", Io),
    (177, "rt_sigtimedwait", Io),
    (179, "rt_sigsuspend", Io),
    (180, "pread64", Io),
    (181, "pwrite64", Io),
    (187, "sendfile", Io),
    (239, "sendfile64", Io),
    (240, "futex", Futex),
    (245, "io_getevents", Io),
    (252, "epoll_wait", Io),
    (265, "clock_nanosleep", Sleep),
    (276, "mq_timedsend", Io),
    (277, "mq_timedreceive", Io),
    (280, "waitid", Io),
    (283, "connect", Io),
    (285, "accept", Io),
    (289, "send", Io),
    (290, "sendto", Io),
    (291, "recv", Io),
    (292, "recvfrom", Io),
    (296, "sendmsg", Io),
    (297, "recvmsg", Io),
    (301, "msgsnd", Io),
    (302, "msgrcv", Io),
    (335, "pselect6", Io),
    (336, "ppoll", Io),
    (340, "splice", Io),
    (342, "tee", Io),
    (346, "epoll_pwait", Io),
    (361, "preadv", Io),
    (362, "pwritev", Io),
    (365, "recvmmsg", Io),
    (366, "accept4", Io),
    (374, "sendmmsg", Io),
    (391, "copy_file_range", Io),
    (392, "preadv2", Io),
    (393, "pwritev2", Io),
    (399, "io_pgetevents", Io),
    (407, "clock_nanosleep_time64", Sleep),
    (413, "pselect6_time64", Io),
    (414, "ppoll_time64", Io),
    (416, "io_pgetevents_time64", Io),
    (417, "recvmmsg_time64", Io),
    (418, "mq_timedsend_time64", Io),
    (419, "mq_timedreceive_time64", Io),
    (421, "rt_sigtimedwait_time64", Io),
    (422, "futex_time64", Futex),
    (426, "io_uring_enter", Io),
    (441, "epoll_pwait2", Io),
    (449, "futex_waitv", FutexWaitv),
    (455, "futex_wait", Futex),
];

impl Abi {
    pub fn name(self) -> &'static str {
        match self {
            Abi::X86_64 => "x86_64",
            Abi::Aarch64 => "aarch64",
            Abi::Arm => "arm",
        }
    }

    /// Bytes in a `long` and a pointer of the target (LP64 or ILP32).
    pub fn word_size(self) -> usize {
        match self {
            Abi::X86_64 | Abi::Aarch64 => 8,
            Abi::Arm => 4,
        }
    }

    fn table(self) -> Table {
        match self {
            Abi::X86_64 => X86_64_TABLE,
            Abi::Aarch64 => AARCH64_TABLE,
            Abi::Arm => ARM_TABLE,
        }
    }

    fn lookup(self, nr: u64) -> Option<(&'static str, SyscallKind)> {
        let table = self.table();
        table
            .binary_search_by_key(&nr, |&(n, _, _)| n)
            .ok()
            .map(|i| (table[i].1, table[i].2))
    }

    pub fn syscall_kind(self, nr: u64) -> SyscallKind {
        self.lookup(nr).map_or(SyscallKind::Other, |(_, kind)| kind)
    }

    /// The name of a syscall this module classifies as a wait (futex, I/O,
    /// sleep); `None` for the numbers that are `Other`.
    pub fn wait_syscall_name(self, nr: u64) -> Option<&'static str> {
        self.lookup(nr).map(|(name, _)| name)
    }

    /// The ABI the probe itself was compiled for.
    pub fn native() -> Abi {
        #[cfg(target_arch = "x86_64")]
        return Abi::X86_64;
        #[cfg(target_arch = "aarch64")]
        return Abi::Aarch64;
        #[cfg(target_arch = "arm")]
        return Abi::Arm;
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "arm")))]
        compile_error!(
            "gilgauge-probe knows the syscall numbers of x86_64, aarch64 and 32-bit ARM only"
        );
    }
}

const ELFCLASS32: u8 = 1;
const ELFCLASS64: u8 = 2;
const ELFDATA2LSB: u8 = 1;
const EM_ARM: u16 = 40;
const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;

fn machine_name(machine: u16) -> &'static str {
    match machine {
        3 => "i386",
        8 => "MIPS",
        20 => "PowerPC",
        21 => "PowerPC64",
        22 => "S390",
        EM_ARM => "ARM",
        EM_X86_64 => "x86-64",
        EM_AARCH64 => "AArch64",
        243 => "RISC-V",
        258 => "LoongArch",
        _ => "unknown",
    }
}

/// The ABI of an ELF file from its first bytes (at least 20); `Err` names the
/// class/machine we do not support.
pub fn abi_from_elf_header(header: &[u8]) -> Result<Abi, String> {
    if header.len() < 20 {
        return Err(format!(
            "ELF header too short: {} bytes, need 20",
            header.len()
        ));
    }
    if header[..4] != *b"\x7fELF" {
        return Err("not an ELF file (bad magic)".into());
    }
    let class = header[4];
    let data = header[5];
    let class_name = match class {
        ELFCLASS32 => "ELF32",
        ELFCLASS64 => "ELF64",
        _ => return Err(format!("unsupported ELF class {class}")),
    };
    if data != ELFDATA2LSB {
        return Err(format!(
            "unsupported ELF data encoding {data} ({class_name}, not little-endian)"
        ));
    }
    let machine = u16::from_le_bytes([header[18], header[19]]);
    match (class, machine) {
        (ELFCLASS64, EM_X86_64) => Ok(Abi::X86_64),
        (ELFCLASS64, EM_AARCH64) => Ok(Abi::Aarch64),
        (ELFCLASS32, EM_ARM) => Ok(Abi::Arm),
        _ => Err(format!(
            "unsupported ABI: class {class_name}, machine {machine} ({}); gilgauge knows x86_64, aarch64 and 32-bit ARM",
            machine_name(machine)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::SyscallKind::*;
    use super::*;

    fn check(abi: Abi, cases: &[(u64, SyscallKind)]) {
        for &(nr, kind) in cases {
            assert_eq!(abi.syscall_kind(nr), kind, "{} syscall {nr}", abi.name());
        }
    }

    #[test]
    fn word_size_is_the_pointer_size() {
        assert_eq!(Abi::native().word_size(), std::mem::size_of::<usize>());
        assert_eq!(Abi::Arm.word_size(), 4);
        assert_eq!(Abi::Aarch64.word_size(), 8);
    }

    #[test]
    fn tables_are_sorted_and_unique() {
        for abi in [Abi::X86_64, Abi::Aarch64, Abi::Arm] {
            let t = abi.table();
            assert!(
                t.windows(2).all(|w| w[0].0 < w[1].0),
                "{} table must be sorted by number without duplicates",
                abi.name()
            );
            assert_eq!(abi.syscall_kind(449), FutexWaitv, "{}", abi.name());
            assert_eq!(abi.syscall_kind(455), Futex, "{}", abi.name());
            assert_eq!(abi.syscall_kind(426), Io, "{} io_uring_enter", abi.name());
            assert_eq!(abi.syscall_kind(u64::MAX), Other);
        }
    }

    #[test]
    fn x86_64_numbers() {
        check(
            Abi::X86_64,
            &[
                (202, Futex),
                (35, Sleep),
                (230, Sleep),
                (0, Io),
                (1, Io),
                (7, Io),
                (23, Io),
                (45, Io),
                (47, Io),
                (232, Io),
                (281, Io),
                (441, Io),
                (43, Io),
                (288, Io),
                (42, Io),
                (61, Io),
                (247, Io),
                (34, Io),
                (270, Io),
                (271, Io),
                (299, Io),
                (208, Io),
                (333, Io),
                (70, Io),
                (243, Io),
                (40, Io),
                (275, Io),
                // Other: openat, close, mmap, flock, sched_yield, getrandom,
                // semop, and the arm/aarch64 futex numbers.
                (257, Other),
                (3, Other),
                (9, Other),
                (73, Other),
                (24, Other),
                (318, Other),
                (65, Other),
                (98, Other),
                (240, Other),
                (422, Other),
                (407, Other),
                (100_000, Other),
            ],
        );
        assert_eq!(Abi::X86_64.wait_syscall_name(202), Some("futex"));
        assert_eq!(Abi::X86_64.wait_syscall_name(257), None);
    }

    #[test]
    fn aarch64_numbers() {
        check(
            Abi::Aarch64,
            &[
                (98, Futex),
                (101, Sleep),
                (115, Sleep),
                (63, Io),
                (64, Io),
                (65, Io),
                (67, Io),
                (69, Io),
                (286, Io),
                (207, Io),
                (212, Io),
                (243, Io),
                (73, Io),
                (72, Io),
                (22, Io),
                (441, Io),
                (4, Io),
                (292, Io),
                (202, Io),
                (242, Io),
                (203, Io),
                (206, Io),
                (211, Io),
                (269, Io),
                (260, Io),
                (95, Io),
                (188, Io),
                (183, Io),
                (71, Io),
                (76, Io),
                // Other: openat, close, mmap, sched_yield, flock, and the
                // x86_64/arm futex numbers.
                (56, Other),
                (57, Other),
                (222, Other),
                (124, Other),
                (32, Other),
                (202 + 1000, Other),
                (240, Other),
                (422, Other),
                (407, Other),
                (0, Other),
                (1, Other),
            ],
        );
    }

    #[test]
    fn arm_eabi_numbers() {
        check(
            Abi::Arm,
            &[
                (240, Futex),
                (422, Futex),
                (162, Sleep),
                (265, Sleep),
                (407, Sleep),
                (3, Io),
                (4, Io),
                (145, Io),
                (180, Io),
                (361, Io),
                (392, Io),
                (291, Io),
                (292, Io),
                (297, Io),
                (365, Io),
                (417, Io),
                (168, Io),
                (336, Io),
                (414, Io),
                (142, Io),
                (335, Io),
                (413, Io),
                (252, Io),
                (346, Io),
                (441, Io),
                (245, Io),
                (399, Io),
                (416, Io),
                (285, Io),
                (366, Io),
                (283, Io),
                (290, Io),
                (296, Io),
                (374, Io),
                (114, Io),
                (280, Io),
                (302, Io),
                (277, Io),
                (419, Io),
                (29, Io),
                (187, Io),
                (340, Io),
                // Other: openat, close, mmap2, flock, sched_yield, OABI-only
                // select (82), semtimedop_time64, and the x86_64/aarch64
                // futex numbers.
                (322, Other),
                (6, Other),
                (192, Other),
                (143, Other),
                (158, Other),
                (82, Other),
                (420, Other),
                (202, Other),
                (98, Other),
                (230, Other),
            ],
        );
        assert_eq!(Abi::Arm.wait_syscall_name(422), Some("futex_time64"));
    }

    #[test]
    fn native_matches_the_build() {
        let abi = Abi::native();
        #[cfg(target_arch = "x86_64")]
        assert_eq!(abi, Abi::X86_64);
        #[cfg(target_arch = "aarch64")]
        assert_eq!(abi, Abi::Aarch64);
        #[cfg(target_arch = "arm")]
        assert_eq!(abi, Abi::Arm);
        // The running test binary is an ELF of the native ABI.
        use std::io::Read;
        let mut head = [0u8; 64];
        if let Ok(mut f) = std::fs::File::open("/proc/self/exe") {
            f.read_exact(&mut head).unwrap();
            assert_eq!(abi_from_elf_header(&head).unwrap(), abi);
        }
    }

    fn header(class: u8, data: u8, machine: u16) -> Vec<u8> {
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = class;
        h[5] = data;
        h[6] = 1;
        h[18..20].copy_from_slice(&machine.to_le_bytes());
        h
    }

    #[test]
    fn elf_headers() {
        assert_eq!(abi_from_elf_header(&header(2, 1, 62)), Ok(Abi::X86_64));
        assert_eq!(abi_from_elf_header(&header(2, 1, 183)), Ok(Abi::Aarch64));
        assert_eq!(abi_from_elf_header(&header(1, 1, 40)), Ok(Abi::Arm));
        assert_eq!(abi_from_elf_header(&header(1, 1, 40)[..20]), Ok(Abi::Arm));

        let e = abi_from_elf_header(&header(1, 1, 3)).unwrap_err();
        assert!(
            e.contains("ELF32") && e.contains("machine 3") && e.contains("i386"),
            "{e}"
        );
        // x32 and an ELF64 claiming ARM: right machine, wrong class.
        let e = abi_from_elf_header(&header(1, 1, 62)).unwrap_err();
        assert!(e.contains("ELF32") && e.contains("62"), "{e}");
        let e = abi_from_elf_header(&header(2, 1, 40)).unwrap_err();
        assert!(e.contains("ELF64") && e.contains("40"), "{e}");
        let e = abi_from_elf_header(&header(2, 1, 243)).unwrap_err();
        assert!(e.contains("RISC-V"), "{e}");
        assert!(abi_from_elf_header(&header(2, 2, 62))
            .unwrap_err()
            .contains("little-endian"));
        assert!(abi_from_elf_header(&header(3, 1, 62))
            .unwrap_err()
            .contains("class 3"));
        assert!(abi_from_elf_header(&header(2, 1, 62)[..19]).is_err());
        assert!(abi_from_elf_header(b"#!/bin/sh\nexec python3 \"$@\"\n").is_err());
        assert!(abi_from_elf_header(&[]).is_err());
    }

    #[test]
    fn real_python_executables() {
        for path in [
            "/usr/bin/python3.11",
            "/root/.pyenv/versions/3.11.7/bin/python3.11",
        ] {
            match std::fs::read(path) {
                // These interpreters are x86_64 builds (the dev and CI machines), also
                // when this test itself runs as an arm binary under qemu-user.
                Ok(bytes) => assert_eq!(abi_from_elf_header(&bytes).unwrap(), Abi::X86_64),
                Err(e) => eprintln!("skipping {path}: {e}"),
            }
        }
    }
}
