//! The GIL's `locked` field read from real CPython processes: a thread
//! spinning in Python holds the GIL nearly all the time, a process blocked in
//! `read()` nearly never, and threads hashing large buffers (hashlib releases
//! the GIL for them) keep the CPUs busy while holding it only briefly — the
//! difference between GIL-held and GIL-free CPU that the controller needs.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gilgauge_probe::sampler::{Probe, SamplerOptions, Snapshot};
use gilgauge_probe::trace::TierRequest;

struct Python(Child);

impl Drop for Python {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const IDLE: &str = "import sys\nprint('ready', flush=True)\nsys.stdin.read()";
const SPIN: &str = "import sys, threading\ndef spin():\n    while True: pass\nthreading.Thread(target=spin, daemon=True).start()\nprint('ready', flush=True)\nsys.stdin.read()";
/// Four threads hashing 4 KiB buffers: hashlib drops the GIL for each call
/// (over 2 KiB), so the GIL changes hands every few microseconds.
const CONVOY: &str = "import sys, threading, hashlib\nbuf = bytes(4096)\ndef work():\n    while True: hashlib.sha256(buf).digest()\nfor _ in range(4): threading.Thread(target=work, daemon=True).start()\nprint('ready', flush=True)\nsys.stdin.read()";
const HASH: &str = "import sys, threading, hashlib\nbuf = bytes(8 << 20)\ndef work():\n    while True: hashlib.sha256(buf).digest()\nfor _ in range(2): threading.Thread(target=work, daemon=True).start()\nprint('ready', flush=True)\nsys.stdin.read()";

fn start(python: &str, code: &str) -> Option<Python> {
    if !std::path::Path::new(python).exists() {
        println!("skipping: {python} is not on this machine");
        return None;
    }
    let mut child = Command::new(python)
        .args(["-c", code])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {python}: {e}"));
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    Some(Python(child))
}

/// Watches for `seconds` after the GIL's state is found; returns the last snapshot.
fn watch(pid: i32, seconds: f64) -> Snapshot {
    let options = SamplerOptions {
        hz: 400.0,
        tier: TierRequest::Sample,
        ..SamplerOptions::default()
    };
    let mut probe = Probe::open(pid, options).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while probe.snapshot().gil_locked_addr.is_none() {
        let snap = probe.snapshot();
        assert!(
            Instant::now() < deadline,
            "GIL state not found within 30 s: {:?}",
            snap.gil_state_note
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let first = probe.snapshot();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    let mut last = probe.snapshot();
    probe.close();
    last.gil_state_ticks -= first.gil_state_ticks;
    last.gil_held_ticks -= first.gil_held_ticks;
    last.gil_free_wanted_ticks -= first.gil_free_wanted_ticks;
    last
}

/// Shares of the ticks that read the GIL's state: found it held, and found
/// it free while a thread waited for it.
fn gil_shares(python: &str, code: &str) -> Option<(f64, f64)> {
    let py = start(python, code)?;
    let snap = watch(py.0.id() as i32, 1.5);
    assert!(
        snap.gil_state_ticks > 100,
        "{python}: only {} ticks read the GIL's state",
        snap.gil_state_ticks
    );
    assert!(snap.gil_state_note.is_none());
    let read = snap.gil_state_ticks as f64;
    Some((
        snap.gil_held_ticks as f64 / read,
        snap.gil_free_wanted_ticks as f64 / read,
    ))
}

fn check(python: &str) {
    let Some((spin, spin_wanted)) = gil_shares(python, SPIN) else {
        return;
    };
    let (idle, idle_wanted) = gil_shares(python, IDLE).unwrap();
    let (hash, _) = gil_shares(python, HASH).unwrap();
    let (convoy, convoy_wanted) = gil_shares(python, CONVOY).unwrap();
    println!("{python}: GIL held {spin:.3} spinning, {idle:.3} idle, {hash:.3} hashing, {convoy:.3} in a convoy");
    println!(
        "{python}: GIL free but wanted {spin_wanted:.3} spinning, {idle_wanted:.3} idle, {convoy_wanted:.3} in a convoy"
    );
    // Nobody waits for the GIL: a free GIL is not a hand-off.
    assert!(
        idle_wanted < 0.02 && spin_wanted < 0.05,
        "{python}: free-but-wanted {idle_wanted:.3} idle, {spin_wanted:.3} spinning"
    );
    // A read finds the GIL either held or free, never both: held plus
    // free-but-wanted is a share of the reads. (How often a convoy's reads
    // land between two holders varies with the version and the machine:
    // 0.006-0.07 here.)
    assert!(
        convoy + convoy_wanted <= 1.0,
        "{python}: held {convoy:.3} + free-but-wanted {convoy_wanted:.3} > 1"
    );
    // Spinning: held except during hand-offs to the main thread's checks.
    assert!(
        spin > 0.9,
        "{python}: spinning thread held the GIL {spin:.3}"
    );
    assert!(idle < 0.05, "{python}: idle process held the GIL {idle:.3}");
    // Two threads hash 8 MiB buffers with the GIL released; it is taken only
    // between calls (microseconds per ~20 ms of hashing).
    assert!(
        hash < 0.3,
        "{python}: hashing threads held the GIL {hash:.3}"
    );
}

#[test]
fn system_python() {
    check("/usr/bin/python3.11");
}

#[test]
fn pyenv_pythons() {
    for version in ["3.10.13", "3.11.7", "3.12.1", "3.13.0"] {
        check(&format!("/root/.pyenv/versions/{version}/bin/python3"));
    }
}

#[test]
fn a_target_without_a_gil_range_says_why() {
    // A shell has no _PyRuntime: the probe runs, the GIL state stays unmeasured.
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    let mut probe = Probe::open(child.id() as i32, SamplerOptions::default()).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let snap = probe.snapshot();
    probe.close();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(snap.gil_locked_addr, None);
    assert_eq!(snap.gil_held_ticks, 0);
    assert!(
        snap.gil_state_note
            .as_deref()
            .is_some_and(|n| n.contains("not measured")),
        "{:?}",
        snap.gil_state_note
    );
}
