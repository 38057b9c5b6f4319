"""What the companion reports about its interpreter, and how it guards its
process: the protocol's private file descriptors and parent-death handling."""

import ctypes
import os
import signal
import struct
import sys
import threading
import time

# -- the interpreter ---------------------------------------------------------


def gil_enabled():
    """False only on a free-threaded build running without the GIL."""
    probe = getattr(sys, "_is_gil_enabled", None)
    return bool(probe()) if probe is not None else True


def usable_cores():
    """Logical CPUs this process may run on (its affinity)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def py_runtime():
    """Where `_PyRuntime` lives: {"address", "size", "object"}.

    The address comes from ctypes. Python cannot tell a symbol's size, so the
    size is read from the ELF symbol table of the file mapped at that
    address; it is None when that fails (the monitor then falls back to its
    own ELF lookup or to self-calibration, DESIGN.md §2.1)."""
    info = {"address": None, "size": None, "object": None}
    try:
        address = ctypes.addressof(ctypes.c_char.in_dll(ctypes.pythonapi, "_PyRuntime"))
    except (AttributeError, ValueError, OSError):
        return info
    info["address"] = address
    try:
        path, load_base = _owning_file(address)
        if path is not None:
            symbol = _elf_symbol(path, b"_PyRuntime")
            # Trust the symbol only if it relocates to the address ctypes gave
            # (shared object: base + value; non-PIE executable: value).
            if symbol is not None and address in (symbol[0], load_base + symbol[0]):
                info["object"] = path
                info["size"] = symbol[1] or None
    except (OSError, ValueError, struct.error):
        pass
    return info


def _owning_file(address):
    """(path, load base) of the file mapped at `address`, or of the nearest
    file mapped below it: a zero-initialised `_PyRuntime` sits in .bss, an
    anonymous mapping right after its object's data segment."""
    bases = {}
    owner = None
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split(None, 5)
            start, end = (int(x, 16) for x in fields[0].split("-"))
            path = fields[5].strip() if len(fields) == 6 else ""
            if path.startswith("/"):
                bases.setdefault(path, start - int(fields[2], 16))
                if start <= address:
                    owner = path
            if start <= address < end:
                break
    if owner is None:
        return None, 0
    return owner, bases[owner]


_SHT_SYMTAB = 2
_SHT_DYNSYM = 11


def _elf_symbol(path, name):
    """(st_value, st_size) of symbol `name` in the ELF file at `path`
    (.dynsym, then .symtab), or None."""
    with open(path, "rb") as f:
        ident = f.read(16)
        if ident[:4] != b"\x7fELF":
            return None
        is64 = ident[4] == 2
        order = "<" if ident[5] == 1 else ">"
        if is64:
            header = struct.unpack(order + "HHIQQQIHHHHHH", f.read(48))
            shoff, shentsize, shnum = header[5], header[10], header[11]
        else:
            header = struct.unpack(order + "HHIIIIIHHHHHH", f.read(36))
            shoff, shentsize, shnum = header[5], header[10], header[11]
        section_format = order + ("IIQQQQIIQQ" if is64 else "IIIIIIIIII")
        sections = []
        for index in range(shnum):
            f.seek(shoff + index * shentsize)
            sections.append(struct.unpack(section_format, f.read(struct.calcsize(section_format))))
        for sh_type_wanted in (_SHT_DYNSYM, _SHT_SYMTAB):
            for section in sections:
                sh_type, sh_offset, sh_size, sh_link, sh_entsize = (
                    section[1], section[4], section[5], section[6], section[9]
                )
                if sh_type != sh_type_wanted or sh_entsize == 0 or sh_link >= len(sections):
                    continue
                strtab = sections[sh_link]
                f.seek(strtab[4])
                strings = f.read(strtab[5])
                f.seek(sh_offset)
                table = f.read(sh_size)
                symbol = _find_symbol(table, sh_entsize, strings, name, is64, order)
                if symbol is not None:
                    return symbol
    return None


def _find_symbol(table, entsize, strings, name, is64, order):
    wanted = name + b"\x00"
    for offset in range(0, len(table) - entsize + 1, entsize):
        if is64:
            st_name, _info, _other, shndx, value, size = struct.unpack_from(order + "IBBHQQ", table, offset)
        else:
            st_name, value, size, _info, _other, shndx = struct.unpack_from(order + "IIIBBH", table, offset)
        if shndx != 0 and strings.startswith(wanted, st_name):  # shndx 0: an undefined reference
            return value, size
    return None


# -- the protocol's file descriptors -----------------------------------------


def take_stdio():
    """Give the protocol private copies of fds 0 and 1, and point the public
    ones elsewhere: fd 1 to stderr, so print() and C-level writes in user code
    cannot corrupt the stream, and fd 0 to /dev/null, so input() cannot steal
    requests. Returns (protocol_in_fd, protocol_out_fd)."""
    sys.stdout.flush()
    protocol_out = os.dup(1)  # os.dup makes non-inheritable copies: child processes don't get them
    protocol_in = os.dup(0)
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    # sys.stdout still writes to fd 1, now stderr; line-buffer it so prints
    # arrive in order with the rest of stderr.
    try:
        sys.stdout.reconfigure(line_buffering=True)
    except AttributeError:
        pass
    return protocol_in, protocol_out


# -- parent death ------------------------------------------------------------

_PR_SET_PDEATHSIG = 1


def exit_with_parent(expected_parent_pid, poll_seconds=1.0):
    """Make this process die with its parent: the kernel's PR_SET_PDEATHSIG
    on Linux, plus a watchdog thread that polls getppid() (other platforms, or
    a parent that died before prctl took effect)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass
    parent = os.getppid()
    if expected_parent_pid and parent != expected_parent_pid and not _alive(expected_parent_pid):
        # The parent died before prctl ran, and we were already re-parented.
        os._exit(0)

    def watch():
        while True:
            time.sleep(poll_seconds)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="gilgauge-parent-watch", daemon=True).start()


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
