//! `/proc/<pid>/maps`.
use super::ParseError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapEntry {
    pub start: u64,
    pub end: u64,
    pub readable: bool,
    pub writable: bool,
    pub executable: bool,
    pub private: bool,
    pub offset: u64,
    pub inode: u64,
    /// Path or pseudo-path (`[heap]`), without a ` (deleted)` suffix.
    pub path: Option<String>,
    pub deleted: bool,
}

impl MapEntry {
    /// Backed by a file we could read (an absolute path, not `[heap]`,
    /// `[vdso]`, `[anon:…]` or an anonymous mapping).
    pub fn is_file_backed(&self) -> bool {
        self.inode != 0 && self.path.as_deref().is_some_and(|p| p.starts_with('/'))
    }
}

const DELETED: &str = " (deleted)";

/// Splits off the next space-separated token (leading spaces skipped).
fn token<'a>(rest: &mut &'a str) -> Option<&'a str> {
    let s = rest.trim_start_matches(' ');
    if s.is_empty() {
        return None;
    }
    let end = s.find(' ').unwrap_or(s.len());
    let (tok, tail) = s.split_at(end);
    *rest = tail;
    Some(tok)
}

fn parse_line(line: &str) -> Result<MapEntry, String> {
    let mut rest = line;
    let range = token(&mut rest).ok_or("empty line")?;
    let perms = token(&mut rest).ok_or("missing permissions")?;
    let offset = token(&mut rest).ok_or("missing offset")?;
    let dev = token(&mut rest).ok_or("missing device")?;
    let inode = token(&mut rest).ok_or("missing inode")?;

    let hex = |what: &str, s: &str| -> Result<u64, String> {
        if s.is_empty() || s.len() > 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("bad {what} {s:?}"));
        }
        u64::from_str_radix(s, 16).map_err(|_| format!("bad {what} {s:?}"))
    };
    let (start, end) = range
        .split_once('-')
        .ok_or_else(|| format!("bad address range {range:?}"))?;
    let (start, end) = (hex("start address", start)?, hex("end address", end)?);
    if end < start {
        return Err(format!("range ends before it starts: {range:?}"));
    }

    let p = perms.as_bytes();
    let flag = |i: usize, yes: u8| -> Result<bool, String> {
        match p[i] {
            b if b == yes => Ok(true),
            b'-' => Ok(false),
            _ => Err(format!("bad permissions {perms:?}")),
        }
    };
    if p.len() != 4 {
        return Err(format!("bad permissions {perms:?}"));
    }
    let (readable, writable, executable) = (flag(0, b'r')?, flag(1, b'w')?, flag(2, b'x')?);
    let private = match p[3] {
        b'p' => true,
        b's' => false,
        _ => return Err(format!("bad permissions {perms:?}")),
    };

    let offset = hex("offset", offset)?;
    let (major, minor) = dev
        .split_once(':')
        .ok_or_else(|| format!("bad device {dev:?}"))?;
    hex("device", major)?;
    hex("device", minor)?;
    if inode.is_empty() || !inode.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("bad inode {inode:?}"));
    }
    let inode: u64 = inode.parse().map_err(|_| format!("bad inode {inode:?}"))?;

    // The path is the rest of the line after the padding, verbatim: it may
    // contain spaces. The kernel prints a space after the inode even when no
    // path follows.
    let raw = rest.trim_start_matches(' ');
    let (path, deleted) = if raw.is_empty() {
        (None, false)
    } else if let Some(p) = raw.strip_suffix(DELETED).filter(|p| !p.is_empty()) {
        (Some(p.to_string()), true)
    } else {
        (Some(raw.to_string()), false)
    };
    Ok(MapEntry {
        start,
        end,
        readable,
        writable,
        executable,
        private,
        offset,
        inode,
        path,
        deleted,
    })
}

pub fn parse_maps(text: &str) -> Result<Vec<MapEntry>, ParseError> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            parse_line(line).map_err(|reason| ParseError {
                file: "maps",
                reason: format!("line {}: {reason}", i + 1),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYS: &str = include_str!("../../tests/fixtures/x86_64-py311-system/maps");
    const PYENV: &str = include_str!("../../tests/fixtures/x86_64-py311-pyenv/maps");
    const ARM: &str = include_str!("../../tests/fixtures/arm32-handwritten/maps");

    fn with_path<'a>(maps: &'a [MapEntry], path: &str) -> Vec<&'a MapEntry> {
        maps.iter()
            .filter(|m| m.path.as_deref() == Some(path))
            .collect()
    }

    #[test]
    fn captured_system_python() {
        let maps = parse_maps(SYS).unwrap();
        assert_eq!(maps.len(), SYS.lines().count());
        let exe = with_path(&maps, "/usr/bin/python3.11");
        assert_eq!(exe.len(), 5);
        assert_eq!(
            *exe[4],
            MapEntry {
                start: 0x946000,
                end: 0xa85000,
                readable: true,
                writable: true,
                executable: false,
                private: true,
                offset: 0x545000,
                inode: 247702,
                path: Some("/usr/bin/python3.11".into()),
                deleted: false,
            }
        );
        assert!(exe[1].executable && !exe[1].writable);
        assert!(exe.iter().all(|m| m.is_file_backed()));
        let heap = with_path(&maps, "[heap]");
        assert_eq!(heap.len(), 1);
        assert!(!heap[0].is_file_backed());
        assert!(maps.iter().any(|m| m.path.is_none() && m.inode == 0));
    }

    #[test]
    fn captured_pyenv_python() {
        let maps = parse_maps(PYENV).unwrap();
        let lib = with_path(
            &maps,
            "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0",
        );
        assert_eq!(lib.len(), 5);
        assert_eq!((lib[3].start, lib[3].offset), (0x7f2fdf015000, 0x414000));
        for pseudo in ["[vdso]", "[vvar]", "[stack]", "[vsyscall]"] {
            assert_eq!(with_path(&maps, pseudo).len(), 1, "{pseudo}");
        }
        let vsyscall = with_path(&maps, "[vsyscall]")[0];
        assert_eq!(vsyscall.start, 0xffffffffff600000);
        assert!(vsyscall.executable && !vsyscall.readable);
    }

    #[test]
    fn arm32_handwritten() {
        let maps = parse_maps(ARM).unwrap();
        assert_eq!(maps.len(), 15);
        let lib = with_path(&maps, "/usr/lib/arm-linux-gnueabihf/libpython3.11.so.1.0");
        assert_eq!(lib.len(), 4);
        assert_eq!((lib[0].start, lib[0].end), (0xb5a00000, 0xb5c4a000));
        assert!(!lib[1].readable && !lib[1].writable && !lib[1].executable);
        let shm = maps.iter().find(|m| m.deleted).unwrap();
        assert_eq!(shm.path.as_deref(), Some("/dev/shm/my data"));
        assert!(!shm.private);
        assert_eq!(with_path(&maps, "[vectors]")[0].start, 0xffff0000);
        assert!(maps.iter().any(|m| m.path.is_none()));
    }

    #[test]
    fn paths_with_spaces_and_deleted() {
        let text = "7f00-7f10 r-xp 00001000 08:01 42                 /opt/my app/lib (x).so\n\
                    7f10-7f20 rw-s 00000000 00:01 43   /memfd:buf (deleted)\n\
                    7f20-7f30 r--p 00000000 00:00 0    [anon:glibc.malloc]\n\
                    7f30-7f40 r--p 00000000 00:00 0\n";
        let maps = parse_maps(text).unwrap();
        assert_eq!(maps[0].path.as_deref(), Some("/opt/my app/lib (x).so"));
        assert_eq!((maps[0].offset, maps[0].inode), (0x1000, 42));
        assert!(!maps[0].deleted);
        assert_eq!(maps[1].path.as_deref(), Some("/memfd:buf"));
        assert!(maps[1].deleted);
        assert_eq!(maps[2].path.as_deref(), Some("[anon:glibc.malloc]"));
        assert!(!maps[2].is_file_backed());
        assert_eq!(maps[3].path, None);
    }

    #[test]
    fn malformed_is_an_error() {
        for bad in [
            "7f00 r-xp 00000000 08:01 42 /x",
            "7f00-7e00 r-xp 00000000 08:01 42 /x",
            "7f00-zz00 r-xp 00000000 08:01 42 /x",
            "7f00-7f10 r-x 00000000 08:01 42 /x",
            "7f00-7f10 rwxq 00000000 08:01 42 /x",
            "7f00-7f10 xwrp 00000000 08:01 42 /x",
            "7f00-7f10 r-xp 0000g000 08:01 42 /x",
            "7f00-7f10 r-xp 00000000 0801 42 /x",
            "7f00-7f10 r-xp 00000000 08:01 4x2 /x",
            "7f00-7f10 r-xp 00000000 08:01",
            "7f00-7f10 r-xp",
            "11111111111111111-7f10 r-xp 00000000 08:01 42 /x",
        ] {
            let e = parse_maps(bad).expect_err(bad);
            assert_eq!(e.file, "maps");
        }
        let mut text = PYENV.to_string();
        text.push_str("garbage line\n");
        let e = parse_maps(&text).unwrap_err();
        assert!(e
            .reason
            .starts_with(&format!("line {}:", PYENV.lines().count() + 1)));
        assert_eq!(parse_maps("").unwrap(), vec![]);
    }
}
