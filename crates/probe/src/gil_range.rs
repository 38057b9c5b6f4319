//! Where the interpreter's `_PyRuntime` lives in the target (DESIGN §2.1):
//! futex waits on words inside it are GIL waits.
//!
//! Relocation. The loader maps each PT_LOAD segment `s` so that file offset
//! `s.offset + k` lands at `bias + s.vaddr + k`. A line of `/proc/<pid>/maps`
//! says that file offset `m.offset` lands at `m.start`; if that offset lies
//! in `s`, then `m.start = bias + s.vaddr + (m.offset - s.offset)`, so
//!
//! ```text
//! bias = m.start - m.offset - (s.vaddr - s.offset)
//! ```
//!
//! This holds for any piece of a segment's mapping (page-rounded starts, the
//! pieces `mprotect` splits off for RELRO), because `m.start` and `m.offset`
//! move together. It is 0 for a non-PIE executable. Neighbouring segments can
//! share a file page, so one mapping can overlap two segments; each (mapping,
//! segment) pair that overlaps votes for its bias with the number of file
//! bytes they share, and the bias with the most bytes wins. A `_PyRuntime` in
//! `.bss` lies past the file-backed part, in the anonymous mapping after it;
//! the bias is the same.
use crate::elf::{find_symbol, load_segments, LoadSegment};
use crate::procfs::MapEntry;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddrRange {
    pub start: u64,
    pub end: u64,
}

impl AddrRange {
    pub fn contains(&self, addr: u64) -> bool {
        addr >= self.start && addr < self.end
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeSource {
    /// The ELF symbol of a mapped libpython or python executable.
    ElfSymbol,
    /// Given by the caller (the Python companion reports it).
    Explicit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeLocation {
    pub range: AddrRange,
    pub source: RangeSource,
    /// The object that defines `_PyRuntime` (empty for explicit ranges).
    pub object_path: String,
}

const SYMBOL: &str = "_PyRuntime";

/// The order in which mapped objects are searched: libpython first, then a
/// `python…` executable, then everything else (an embedding executable that
/// links CPython statically still works, just slower).
fn rank(path: &str) -> u8 {
    let base = path.rsplit('/').next().unwrap_or(path);
    if base.starts_with("libpython") {
        0
    } else if base.starts_with("python") {
        1
    } else {
        2
    }
}

/// A mapped object worth reading: a real file (not `[heap]`, not anonymous,
/// not deleted, not a device), with an executable mapping (so we never read a
/// big data file the process happens to mmap).
struct Candidate<'a> {
    path: &'a str,
    maps: Vec<&'a MapEntry>,
}

fn candidates(maps: &[MapEntry]) -> Vec<Candidate<'_>> {
    let mut out: Vec<Candidate<'_>> = Vec::new();
    for m in maps {
        if !m.is_file_backed() || m.deleted {
            continue;
        }
        let Some(path) = m.path.as_deref() else {
            continue;
        };
        if path.starts_with("/dev/") || path.starts_with("/proc/") || path.starts_with("/sys/") {
            continue;
        }
        match out.iter_mut().find(|c| c.path == path) {
            Some(c) => c.maps.push(m),
            None => out.push(Candidate {
                path,
                maps: vec![m],
            }),
        }
    }
    out.retain(|c| c.maps.iter().any(|m| m.executable));
    // Stable: maps order within a rank.
    out.sort_by_key(|c| rank(c.path));
    out
}

/// The load bias of an object from its mappings and PT_LOAD segments (see
/// the module comment). `None` when no mapping lies in any segment.
pub fn load_bias(object_maps: &[&MapEntry], segments: &[LoadSegment]) -> Option<u64> {
    // (bias, shared file bytes), in first-seen order.
    let mut votes: Vec<(u64, u64)> = Vec::new();
    for m in object_maps {
        let m_len = m.end.saturating_sub(m.start);
        let m_end = m.offset.saturating_add(m_len);
        for s in segments {
            let s_end = s.offset.saturating_add(s.filesz);
            let lo = m.offset.max(s.offset);
            let hi = m_end.min(s_end);
            if lo >= hi {
                continue;
            }
            let bias = m
                .start
                .wrapping_sub(m.offset)
                .wrapping_sub(s.vaddr.wrapping_sub(s.offset));
            // Real biases are page-aligned (pages are 4 KiB or multiples).
            if bias % 4096 != 0 {
                continue;
            }
            match votes.iter_mut().find(|(b, _)| *b == bias) {
                Some((_, bytes)) => *bytes += hi - lo,
                None => votes.push((bias, hi - lo)),
            }
        }
    }
    let mut best: Option<(u64, u64)> = None;
    for &(bias, bytes) in &votes {
        if best.is_none_or(|(_, b)| bytes > b) {
            best = Some((bias, bytes));
        }
    }
    best.map(|(bias, _)| bias)
}

/// Finds `_PyRuntime` among the mapped objects: `read_object(path)` returns
/// the file's bytes (the sampler reads it through `/proc/<pid>/root`). Ok(None)
/// means no mapped object defines it ("no GIL range found"), never a guess.
///
/// Objects are tried libpython first, then a `python…` executable, then the
/// rest, and the search stops at the first that defines the symbol. `Err`
/// when an object could not be read or parsed and no other one defined the
/// symbol (then we cannot say "none defines it"), or when the object that
/// defines it is mapped in a way we cannot relocate.
pub fn locate_runtime(
    maps: &[MapEntry],
    read_object: &mut dyn FnMut(&str) -> std::io::Result<Vec<u8>>,
) -> Result<Option<RuntimeLocation>, String> {
    let mut first_failure: Option<String> = None;
    for cand in candidates(maps) {
        let data = match read_object(cand.path) {
            Ok(d) => d,
            Err(e) => {
                first_failure.get_or_insert(format!("cannot read {}: {e}", cand.path));
                continue;
            }
        };
        let sym = match find_symbol(&data, SYMBOL) {
            Ok(Some(sym)) => sym,
            Ok(None) => continue,
            Err(e) => {
                first_failure.get_or_insert(format!("cannot parse {} as ELF: {e}", cand.path));
                continue;
            }
        };
        if sym.size == 0 {
            return Err(format!("{} defines {SYMBOL} with size 0", cand.path));
        }
        let segments =
            load_segments(&data).map_err(|e| format!("{}: program headers: {e}", cand.path))?;
        let bias = load_bias(&cand.maps, &segments).ok_or_else(|| {
            format!(
                "{}: no mapping lies in a PT_LOAD segment; cannot relocate {SYMBOL}",
                cand.path
            )
        })?;
        let start = bias.wrapping_add(sym.value);
        let end = start.checked_add(sym.size).ok_or_else(|| {
            format!(
                "{}: {SYMBOL} at {start:#x} + {:#x} overflows",
                cand.path, sym.size
            )
        })?;
        if !maps.iter().any(|m| start >= m.start && start < m.end) {
            return Err(format!(
                "{}: {SYMBOL} relocates to {start:#x} (bias {bias:#x}), which no mapping covers",
                cand.path
            ));
        }
        return Ok(Some(RuntimeLocation {
            range: AddrRange { start, end },
            source: RangeSource::ElfSymbol,
            object_path: cand.path.to_string(),
        }));
    }
    match first_failure {
        Some(e) => Err(format!("{SYMBOL} not found, and {e}")),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf::tests::tiny_elf32_arm;
    use crate::procfs::{parse_maps, parse_syscall, SyscallState};
    use std::io;

    const PYENV_MAPS: &str = include_str!("../tests/fixtures/x86_64-py311-pyenv/maps");
    const PYENV_META: &str = include_str!("../tests/fixtures/x86_64-py311-pyenv/meta.txt");
    const SYS_MAPS: &str = include_str!("../tests/fixtures/x86_64-py311-system/maps");
    const SYS_META: &str = include_str!("../tests/fixtures/x86_64-py311-system/meta.txt");
    const LIBPYTHON: &str = "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0";
    const SYSTEM_PYTHON: &str = "/usr/bin/python3.11";

    /// `pyruntime=0x…` as recorded (via ctypes) when the fixture was captured.
    fn recorded_runtime(meta: &str) -> u64 {
        let v = meta
            .lines()
            .find_map(|l| l.strip_prefix("pyruntime=0x"))
            .unwrap();
        u64::from_str_radix(v, 16).unwrap()
    }

    fn futex_uaddr(text: &str) -> u64 {
        match parse_syscall(text).unwrap() {
            SyscallState::InSyscall { args, .. } => args[0],
            other => panic!("{other:?}"),
        }
    }

    /// Reads real files, and records what was asked for.
    fn real_files(log: &mut Vec<String>) -> impl FnMut(&str) -> io::Result<Vec<u8>> + '_ {
        move |p: &str| {
            log.push(p.to_string());
            std::fs::read(p)
        }
    }

    fn present(path: &str) -> bool {
        let ok = std::path::Path::new(path).exists();
        if !ok {
            println!("skipping: {path} is not on this machine");
        }
        ok
    }

    #[test]
    fn captured_pyenv_process_with_real_libpython() {
        if !present(LIBPYTHON) {
            return;
        }
        let maps = parse_maps(PYENV_MAPS).unwrap();
        let mut log = Vec::new();
        let loc = locate_runtime(&maps, &mut real_files(&mut log))
            .unwrap()
            .expect("libpython defines _PyRuntime");
        assert_eq!(
            log,
            vec![LIBPYTHON.to_string()],
            "libpython is read first, and alone"
        );
        assert_eq!(loc.object_path, LIBPYTHON);
        assert_eq!(loc.source, RangeSource::ElfSymbol);
        let expected = recorded_runtime(PYENV_META);
        assert_eq!(
            loc.range.start, expected,
            "matches ctypes' address in the live process"
        );
        assert_eq!(loc.range.end, expected + 0x28b20);
        // The captured GIL waiter's futex word is inside; threading.Lock's is not.
        let gil = futex_uaddr(include_str!(
            "../tests/fixtures/x86_64-py311-pyenv/gilwait.syscall"
        ));
        let lock = futex_uaddr(include_str!(
            "../tests/fixtures/x86_64-py311-pyenv/lock.syscall"
        ));
        assert!(loc.range.contains(gil));
        assert!(!loc.range.contains(lock));
    }

    #[test]
    fn captured_system_process_with_real_executable() {
        if !present(SYSTEM_PYTHON) {
            return;
        }
        let maps = parse_maps(SYS_MAPS).unwrap();
        let mut log = Vec::new();
        let loc = locate_runtime(&maps, &mut real_files(&mut log))
            .unwrap()
            .expect("the executable defines _PyRuntime");
        assert_eq!(log, vec![SYSTEM_PYTHON.to_string()]);
        assert_eq!(loc.range.start, recorded_runtime(SYS_META));
        assert_eq!(loc.range.start, 0xa5b740, "non-PIE: bias 0");
        let gil = futex_uaddr(include_str!(
            "../tests/fixtures/x86_64-py311-system/gilwait.syscall"
        ));
        let lock = futex_uaddr(include_str!(
            "../tests/fixtures/x86_64-py311-system/lock.syscall"
        ));
        assert!(loc.range.contains(gil));
        assert!(!loc.range.contains(lock));
    }

    const ARM_LIB: &str = "/usr/lib/arm-linux-gnueabihf/libpython3.11.so.1.0";
    const ARM_MAPS: &str = "\
00400000-00401000 r-xp 00000000 b3:02 10 /usr/bin/python3.11
00401000-00403000 rw-p 00000000 00:00 0
00500000-00501000 rw-s 00000000 00:05 11 /dev/zero
00600000-00601000 r--p 00000000 b3:02 12 /usr/share/models/weights (1).bin
b5000000-b5001000 r-xp 00000000 b3:02 13 /usr/lib/python3.11/lib-dynload/_ssl.cpython-311-arm-linux-gnueabihf.so
b5100000-b5101000 r-xp 00000000 b3:02 14 /usr/lib/arm-linux-gnueabihf/libc.so.6
b5200000-b5201000 r-xp 00000000 b3:02 15 /opt/old/libpython3.9.so (deleted)
b6000000-b6001000 r-xp 00000000 b3:02 16 /usr/lib/arm-linux-gnueabihf/libpython3.11.so.1.0
b6001000-b6003000 rw-p 00000000 00:00 0
be8df000-be900000 rw-p 00000000 00:00 0          [stack]
ffff0000-ffff1000 r-xp 00000000 00:00 0          [vectors]
";

    /// The synthetic ELF32 ARM with `_PyRuntime` renamed away.
    fn without_symbol() -> Vec<u8> {
        let mut elf = tiny_elf32_arm();
        let at = elf.windows(10).position(|w| w == b"_PyRuntime").unwrap();
        elf[at + 9] = b'X';
        elf
    }

    #[test]
    fn synthetic_arm32_libpython() {
        let maps = parse_maps(ARM_MAPS).unwrap();
        let mut log = Vec::new();
        let loc = locate_runtime(&maps, &mut |p: &str| {
            log.push(p.to_string());
            if p == ARM_LIB {
                Ok(tiny_elf32_arm())
            } else {
                Err(io::Error::new(io::ErrorKind::NotFound, "not in this test"))
            }
        })
        .unwrap()
        .unwrap();
        assert_eq!(log, vec![ARM_LIB]);
        // bias = 0xb6000000 - 0 - (0x10000 - 0); _PyRuntime at 0x11000.
        assert_eq!(
            loc.range,
            AddrRange {
                start: 0xb600_1000,
                end: 0xb600_1000 + 0x1234
            }
        );
        assert_eq!(loc.object_path, ARM_LIB);
    }

    #[test]
    fn search_order_and_what_is_never_read() {
        let maps = parse_maps(ARM_MAPS).unwrap();
        let mut log = Vec::new();
        let found = locate_runtime(&maps, &mut |p: &str| {
            log.push(p.to_string());
            Ok(without_symbol())
        })
        .unwrap();
        assert_eq!(found, None, "no object defines it: Ok(None), not a guess");
        assert_eq!(
            log,
            vec![
                ARM_LIB,
                "/usr/bin/python3.11",
                "/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-arm-linux-gnueabihf.so",
                "/usr/lib/arm-linux-gnueabihf/libc.so.6",
            ],
            "libpython, then the python executable, then the rest in maps order; \
             never /dev, deleted files, non-executable data files or pseudo paths"
        );

        // The executable defines it (libpython does not): found at the second read.
        let mut log = Vec::new();
        let loc = locate_runtime(&maps, &mut |p: &str| {
            log.push(p.to_string());
            Ok(if p == "/usr/bin/python3.11" {
                tiny_elf32_arm()
            } else {
                without_symbol()
            })
        })
        .unwrap()
        .unwrap();
        assert_eq!(log.len(), 2);
        assert_eq!(loc.object_path, "/usr/bin/python3.11");
        // bias = 0x400000 - (0x10000 - 0); 0x3f0000 + 0x11000 lies in the
        // anonymous (bss) mapping after the executable.
        assert_eq!(loc.range.start, 0x401000);
    }

    #[test]
    fn read_failures() {
        let maps = parse_maps(ARM_MAPS).unwrap();
        // libpython unreadable and nothing else defines it: we cannot say "none".
        let e = locate_runtime(&maps, &mut |p: &str| {
            if p == ARM_LIB {
                Err(io::Error::new(io::ErrorKind::PermissionDenied, "denied"))
            } else {
                Ok(without_symbol())
            }
        })
        .unwrap_err();
        assert!(e.contains(ARM_LIB) && e.contains("denied"), "{e}");
        // Garbage instead of ELF: an error too.
        let e = locate_runtime(&maps, &mut |_| Ok(b"not an elf".to_vec())).unwrap_err();
        assert!(e.contains("ELF"), "{e}");
        // One object unreadable, another defines it: found.
        let loc = locate_runtime(&maps, &mut |p: &str| {
            if p == ARM_LIB {
                Err(io::Error::other("gone"))
            } else {
                Ok(tiny_elf32_arm())
            }
        })
        .unwrap()
        .unwrap();
        assert_eq!(loc.object_path, "/usr/bin/python3.11");
    }

    #[test]
    fn unrelocatable_is_an_error() {
        // The only mapping's file offset lies in no segment.
        let maps = parse_maps(&format!(
            "b6000000-b6001000 r-xp 00800000 b3:02 16 {ARM_LIB}\n"
        ))
        .unwrap();
        let e = locate_runtime(&maps, &mut |_| Ok(tiny_elf32_arm())).unwrap_err();
        assert!(e.contains("PT_LOAD"), "{e}");
        // Relocates to an address nothing maps (no bss mapping after the file).
        let maps = parse_maps(&format!(
            "b6000000-b6001000 r-xp 00000000 b3:02 16 {ARM_LIB}\n"
        ))
        .unwrap();
        let e = locate_runtime(&maps, &mut |_| Ok(tiny_elf32_arm())).unwrap_err();
        assert!(e.contains("no mapping covers"), "{e}");
        // Nothing file-backed at all: Ok(None) without reading anything.
        let maps = parse_maps("00400000-00401000 rw-p 00000000 00:00 0 [heap]\n").unwrap();
        let mut calls = 0;
        assert_eq!(
            locate_runtime(&maps, &mut |_| {
                calls += 1;
                Ok(Vec::new())
            }),
            Ok(None)
        );
        assert_eq!(calls, 0);
    }

    fn seg(vaddr: u64, offset: u64, filesz: u64) -> LoadSegment {
        LoadSegment {
            vaddr,
            offset,
            filesz,
            memsz: filesz,
        }
    }

    /// This machine's libpython3.11 PT_LOADs (from `readelf -lW`): the RW
    /// segment's vaddr differs from its file offset by 0x1000, and the third
    /// and fourth segments share the file page at 0x414000.
    fn libpython_segments() -> Vec<LoadSegment> {
        vec![
            seg(0, 0, 0xf4188),
            seg(0xf5000, 0xf5000, 0x23b6d9),
            seg(0x331000, 0x331000, 0xe3078),
            LoadSegment {
                vaddr: 0x415ed0,
                offset: 0x414ed0,
                filesz: 0x161190,
                memsz: 0x1a3a68,
            },
        ]
    }

    #[test]
    fn load_bias_general_case() {
        let maps = parse_maps(PYENV_MAPS).unwrap();
        let lib: Vec<&MapEntry> = maps
            .iter()
            .filter(|m| m.path.as_deref() == Some(LIBPYTHON))
            .collect();
        assert_eq!(lib.len(), 5);
        let segs = libpython_segments();
        assert_eq!(load_bias(&lib, &segs), Some(0x7f2fdec00000));
        // Any single mapping alone gives the same bias, including the RELRO
        // piece whose page also holds the end of the previous segment.
        for m in &lib {
            assert_eq!(load_bias(&[*m], &segs), Some(0x7f2fdec00000), "{m:?}");
        }
        // Non-PIE executable: bias 0.
        let sys_maps = parse_maps(SYS_MAPS).unwrap();
        let exe: Vec<&MapEntry> = sys_maps
            .iter()
            .filter(|m| m.path.as_deref() == Some(SYSTEM_PYTHON))
            .collect();
        let exe_segs = vec![
            seg(0x400000, 0, 0x1e3e8),
            seg(0x41f000, 0x1f000, 0x2b2289),
            seg(0x6d2000, 0x2d2000, 0x272968),
            seg(0x945dc8, 0x544dc8, 0x13e4b0),
        ];
        assert_eq!(load_bias(&exe, &exe_segs), Some(0));
        assert_eq!(load_bias(&exe, &[]), None);
    }
}
