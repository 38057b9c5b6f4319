//! The target's syscall ABI, read from its ELF header, and what each syscall
//! number means for the wait classification. Numbers are per ABI (DESIGN §2.2).

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

impl Abi {
    pub fn name(self) -> &'static str {
        match self {
            Abi::X86_64 => "x86_64",
            Abi::Aarch64 => "aarch64",
            Abi::Arm => "arm",
        }
    }

    pub fn syscall_kind(self, nr: u64) -> SyscallKind {
        let _ = nr;
        todo!()
    }

    /// The ABI the probe itself was compiled for.
    pub fn native() -> Abi {
        todo!()
    }
}

/// The ABI of an ELF file from its first bytes (at least 20); `Err` names the
/// class/machine we do not support.
pub fn abi_from_elf_header(header: &[u8]) -> Result<Abi, String> {
    let _ = header;
    todo!()
}
