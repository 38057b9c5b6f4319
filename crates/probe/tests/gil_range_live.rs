//! Against a real CPython: locate `_PyRuntime` from `/proc/<pid>/maps` and the
//! mapped ELF files, then check that a thread waiting for the GIL sits in a
//! futex whose word lies inside that range, and that a thread blocked on a
//! `threading.Lock` sits in a futex whose word does not.
//!
//! Two interpreters: Debian's `/usr/bin/python3.11` (a non-PIE executable
//! that defines `_PyRuntime` itself) and pyenv's 3.11.7 (a small executable
//! linked against `libpython3.11.so`). A missing interpreter is skipped with
//! a note.

use gilgauge_probe::abi::{abi_from_elf_header, SyscallKind};
use gilgauge_probe::gil_range::{locate_runtime, RuntimeLocation};
use gilgauge_probe::procfs::{parse_maps, parse_syscall, SyscallState};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SCRIPT: &str = r#"
import sys, threading
def spin():
    x = 0
    while True:
        x += 1
lock = threading.Lock()
lock.acquire()
def blocked():
    lock.acquire()
for f in (spin, spin, blocked):
    threading.Thread(target=f, daemon=True).start()
print("ready", flush=True)
sys.stdin.read()
"#;

/// Kills and reaps the child however the test ends (pass, fail, panic).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(python: &str) -> Option<Killed> {
    if !std::path::Path::new(python).exists() {
        println!("skipping: {python} is not on this machine");
        return None;
    }
    let child = Command::new(python)
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {python}: {e}"));
    let mut child = Killed(child);
    let mut line = String::new();
    BufReader::new(child.0.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready", "{python} did not start its threads");
    Some(child)
}

fn locate(pid: u32) -> RuntimeLocation {
    let maps = parse_maps(&std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap()).unwrap();
    let root = format!("/proc/{pid}/root");
    locate_runtime(&maps, &mut |path: &str| {
        std::fs::read(format!("{root}{path}"))
    })
    .unwrap()
    .expect("a CPython 3.11 process defines _PyRuntime")
}

/// Futex words the process's threads wait on right now.
fn futex_words(pid: u32, abi: gilgauge_probe::abi::Abi) -> Vec<u64> {
    let mut words = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return words;
    };
    for task in tasks.flatten() {
        // A thread may vanish between listing and reading: not an error.
        let Ok(text) = std::fs::read_to_string(task.path().join("syscall")) else {
            continue;
        };
        if let Ok(SyscallState::InSyscall { nr, args, .. }) = parse_syscall(&text) {
            if abi.syscall_kind(nr) == SyscallKind::Futex {
                words.push(args[0]);
            }
        }
    }
    words
}

/// `gil_offset`: where the GIL waiter's futex word is expected, relative to
/// `_PyRuntime` (the mutex and the condition variable sit a few bytes apart).
fn check(python: &str, expected_object: &str, runtime_size: u64, gil_offset: u64) {
    let Some(child) = start(python) else {
        return;
    };
    let pid = child.0.id();
    let mut header = [0u8; 64];
    std::fs::File::open(format!("/proc/{pid}/exe"))
        .unwrap()
        .read_exact(&mut header)
        .unwrap();
    let abi = abi_from_elf_header(&header).unwrap();

    let loc = locate(pid);
    assert_eq!(loc.object_path, expected_object);
    assert_eq!(
        loc.range.end - loc.range.start,
        runtime_size,
        "sizeof(_PyRuntime)"
    );

    // Generous: under qemu-arm on a loaded 2-core machine a waiter can take
    // seconds to be caught in its futex; the loop ends as soon as both are seen.
    let deadline = Instant::now() + Duration::from_secs(30);
    // Waiters sit on the GIL's condition variable (the expected offset) and,
    // briefly after a forced switch, on its switch condition a few dozen bytes
    // on: keep looking until the condition variable itself is seen.
    let near_expected = |word: u64| {
        let offset = word - loc.range.start;
        (gil_offset.saturating_sub(64)..gil_offset + 64).contains(&offset)
    };
    let (mut gil_seen, mut lock_seen, mut inside) = (None, None, Vec::new());
    while Instant::now() < deadline && (gil_seen.is_none() || lock_seen.is_none()) {
        for word in futex_words(pid, abi) {
            if !loc.range.contains(word) {
                lock_seen.get_or_insert(word);
            } else if near_expected(word) {
                gil_seen.get_or_insert(word);
            } else if !inside.contains(&word) {
                inside.push(word);
            }
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    let offsets: Vec<u64> = inside.iter().map(|w| w - loc.range.start).collect();
    let gil = gil_seen.unwrap_or_else(|| {
        panic!(
            "{python}: no futex wait near _PyRuntime+{gil_offset} (range [{:#x}, {:#x})) within 30 s; \
             other waits inside _PyRuntime at offsets {offsets:?}",
            loc.range.start, loc.range.end
        )
    });
    println!(
        "{python}: _PyRuntime in {} at {:#x}; GIL waiter's futex word at +{}; other waits inside at {offsets:?}",
        loc.object_path,
        loc.range.start,
        gil - loc.range.start
    );
    // Anything else inside the runtime must still be the GIL's own state.
    assert!(
        offsets.iter().all(|o| o.abs_diff(gil_offset) < 256),
        "{python}: waits inside _PyRuntime far from the GIL: {offsets:?}"
    );
    assert!(
        lock_seen.is_some(),
        "{python}: the thread blocked on threading.Lock should wait outside _PyRuntime"
    );
    drop(child);
}

#[test]
fn system_python_executable_defines_the_runtime() {
    check("/usr/bin/python3.11", "/usr/bin/python3.11", 0x28b20, 432);
}

#[test]
fn pyenv_python_uses_libpython() {
    check(
        "/root/.pyenv/versions/3.11.7/bin/python3",
        "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0",
        0x28b20,
        432,
    );
}

#[test]
fn other_cpython_versions() {
    for (version, size, offset) in [
        ("3.10.13", 672, 428),
        ("3.12.1", 0x704a8, 77504),
        ("3.13.0", 0x452b8, 96176),
    ] {
        let major_minor = &version[..version.rfind('.').unwrap()];
        check(
            &format!("/root/.pyenv/versions/{version}/bin/python3"),
            &format!("/root/.pyenv/versions/{version}/lib/libpython{major_minor}.so.1.0"),
            size,
            offset,
        );
    }
}
