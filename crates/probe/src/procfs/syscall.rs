//! `/proc/<pid>/task/<tid>/syscall`: what a blocked thread is blocked in.
use super::ParseError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyscallState {
    /// `running`: the thread is on a CPU or runnable.
    Running,
    /// Blocked outside any syscall (`-1 sp pc`), e.g. in a page fault.
    NotInSyscall { sp: u64, pc: u64 },
    /// Blocked in syscall `nr` with its six arguments.
    InSyscall {
        nr: u64,
        args: [u64; 6],
        sp: u64,
        pc: u64,
    },
}

fn err(reason: impl Into<String>) -> ParseError {
    ParseError {
        file: "syscall",
        reason: reason.into(),
    }
}

/// `0x…` as the kernel prints it (`0x%llx`, no padding; a 32-bit target
/// shows at most 8 hex digits).
fn hex(s: &str) -> Result<u64, ParseError> {
    let digits = s
        .strip_prefix("0x")
        .ok_or_else(|| err(format!("expected 0x…, got {s:?}")))?;
    if digits.is_empty() || digits.len() > 16 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(err(format!("bad hex value {s:?}")));
    }
    u64::from_str_radix(digits, 16).map_err(|_| err(format!("bad hex value {s:?}")))
}

/// Parses the one line of `syscall`: `running`, `-1 sp pc`, or
/// `nr a0 a1 a2 a3 a4 a5 sp pc` (nr in decimal, the rest in hex).
pub fn parse_syscall(text: &str) -> Result<SyscallState, ParseError> {
    let fields: Vec<&str> = text.split_ascii_whitespace().collect();
    match fields.as_slice() {
        ["running"] => Ok(SyscallState::Running),
        ["-1", sp, pc] => Ok(SyscallState::NotInSyscall {
            sp: hex(sp)?,
            pc: hex(pc)?,
        }),
        [nr, a0, a1, a2, a3, a4, a5, sp, pc] => {
            if !nr.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err(format!("bad syscall number {nr:?}")));
            }
            let nr: u64 = nr
                .parse()
                .map_err(|_| err(format!("bad syscall number {nr:?}")))?;
            Ok(SyscallState::InSyscall {
                nr,
                args: [hex(a0)?, hex(a1)?, hex(a2)?, hex(a3)?, hex(a4)?, hex(a5)?],
                sp: hex(sp)?,
                pc: hex(pc)?,
            })
        }
        _ => Err(err(format!(
            "expected 'running', 3 or 9 fields, got {} in {text:?}",
            fields.len()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($p:literal) => {
            include_str!(concat!("../../tests/fixtures/", $p))
        };
    }

    fn in_syscall(text: &str) -> (u64, [u64; 6], u64, u64) {
        match parse_syscall(text).unwrap() {
            SyscallState::InSyscall { nr, args, sp, pc } => (nr, args, sp, pc),
            other => panic!("expected InSyscall, got {other:?}"),
        }
    }

    #[test]
    fn captured_x86_64() {
        let (nr, args, sp, pc) = in_syscall(fixture!("x86_64-py311-pyenv/gilwait.syscall"));
        assert_eq!(nr, 202);
        assert_eq!(
            args,
            [0x7f2fdf14e6f4, 0x89, 0, 0x7f2fde37fae0, 0, 0xffffffff]
        );
        assert_eq!((sp, pc), (0x7f2fde37f9b0, 0x7f2fdeaa3f16));

        let (nr, args, ..) = in_syscall(fixture!("x86_64-py311-system/gilwait.syscall"));
        assert_eq!((nr, args[0], args[1]), (202, 0xa5b8f4, 0x89));
        let (nr, args, ..) = in_syscall(fixture!("x86_64-py311-system/lock.syscall"));
        assert_eq!((nr, args[1]), (202, 0x189));
        assert_eq!(
            in_syscall(fixture!("x86_64-py311-system/recv.syscall")).0,
            45
        );
        assert_eq!(
            in_syscall(fixture!("x86_64-py311-system/sleep.syscall")).0,
            230
        );
        assert_eq!(
            parse_syscall(fixture!("x86_64-py311-system/spin.syscall")).unwrap(),
            SyscallState::Running
        );
    }

    #[test]
    fn arm32_handwritten() {
        let (nr, args, sp, pc) = in_syscall(fixture!("arm32-handwritten/gilwait.syscall"));
        assert_eq!((nr, args[0], args[1]), (422, 0xb5cb41f4, 0x89));
        assert_eq!((sp, pc), (0xb47fe990, 0xb6e5d5a8));
        assert_eq!(
            in_syscall(fixture!("arm32-handwritten/lock.syscall")).1[0],
            0x00432060
        );
        assert_eq!(
            in_syscall(fixture!("arm32-handwritten/sleep.syscall")).0,
            407
        );
        assert_eq!(
            in_syscall(fixture!("arm32-handwritten/recv.syscall")).0,
            291
        );
        assert_eq!(
            parse_syscall(fixture!("arm32-handwritten/notinsyscall.syscall")).unwrap(),
            SyscallState::NotInSyscall {
                sp: 0xbe8fe6d8,
                pc: 0xb6e4a1c0
            }
        );
        assert_eq!(
            parse_syscall(fixture!("arm32-handwritten/running.syscall")).unwrap(),
            SyscallState::Running
        );
    }

    #[test]
    fn not_in_syscall_64() {
        assert_eq!(
            parse_syscall("-1 0x7ffd5a3c1e08 0x7f0a1b2c3d4e\n").unwrap(),
            SyscallState::NotInSyscall {
                sp: 0x7ffd5a3c1e08,
                pc: 0x7f0a1b2c3d4e
            }
        );
        let (_, args, ..) = in_syscall("0 0xffffffffffffffff 0x0 0x0 0x0 0x0 0x0 0x1 0x2");
        assert_eq!(args[0], u64::MAX);
    }

    #[test]
    fn malformed_is_an_error() {
        for bad in [
            "",
            "\n",
            "Running",
            "running 0x1",
            "-1 0x1",
            "-2 0x1 0x2",
            "-1 1 2",
            "202 0x1 0x2 0x3 0x4 0x5 0x6 0x7",
            "202 0x1 0x2 0x3 0x4 0x5 0x6 0x7 0x8 0x9",
            "x 0x1 0x2 0x3 0x4 0x5 0x6 0x7 0x8",
            "+202 0x1 0x2 0x3 0x4 0x5 0x6 0x7 0x8",
            "202 0x 0x2 0x3 0x4 0x5 0x6 0x7 0x8",
            "202 0xg 0x2 0x3 0x4 0x5 0x6 0x7 0x8",
            "202 12 0x2 0x3 0x4 0x5 0x6 0x7 0x8",
            "202 0x10000000000000000 0x2 0x3 0x4 0x5 0x6 0x7 0x8",
            "202 0x-1 0x2 0x3 0x4 0x5 0x6 0x7 0x8",
            "202 0x+1 0x2 0x3 0x4 0x5 0x6 0x7 0x8",
        ] {
            let e = parse_syscall(bad).expect_err(bad);
            assert_eq!(e.file, "syscall");
        }
    }
}
