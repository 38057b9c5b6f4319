//! `/proc/<pid>/task/<tid>/status`: the fields the probe uses.
use super::ParseError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskStatus {
    pub name: String,
    pub state: char,
    pub tgid: i32,
    pub pid: i32,
    /// Real and effective uid (first two of `Uid:`).
    pub uid_real: u32,
    pub uid_effective: u32,
    pub threads: Option<u32>,
    pub voluntary_ctxt_switches: u64,
    pub nonvoluntary_ctxt_switches: u64,
}

fn err(reason: impl Into<String>) -> ParseError {
    ParseError {
        file: "status",
        reason: reason.into(),
    }
}

/// The kernel escapes only `\n` and `\` in `Name:` (as `\n` and `\\`);
/// spaces and tabs are printed as they are.
fn unescape_name(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

fn number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, ParseError> {
    let v = value.trim();
    v.parse()
        .map_err(|_| err(format!("{key}: not a number: {v:?}")))
}

pub fn parse_status(text: &str) -> Result<TaskStatus, ParseError> {
    let mut name = None;
    let mut state = None;
    let mut tgid = None;
    let mut pid = None;
    let mut uids = None;
    let mut threads = None;
    let mut vol = None;
    let mut nonvol = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key {
            // The value starts after exactly one tab; keep the rest verbatim
            // (a name may contain or end with spaces and tabs).
            "Name" => name = Some(unescape_name(value.strip_prefix('\t').unwrap_or(value))),
            "State" => {
                let v = value.trim_start();
                let c = v.chars().next().ok_or_else(|| err("State: empty"))?;
                if !c.is_ascii_alphabetic() {
                    return Err(err(format!("State: bad value {v:?}")));
                }
                state = Some(c);
            }
            "Tgid" => tgid = Some(number::<i32>(key, value)?),
            "Pid" => pid = Some(number::<i32>(key, value)?),
            "Uid" => {
                let mut it = value.split_ascii_whitespace();
                let (Some(r), Some(e)) = (it.next(), it.next()) else {
                    return Err(err(format!(
                        "Uid: expected real and effective, got {value:?}"
                    )));
                };
                uids = Some((number::<u32>(key, r)?, number::<u32>(key, e)?));
            }
            "Threads" => threads = Some(number::<u32>(key, value)?),
            "voluntary_ctxt_switches" => vol = Some(number::<u64>(key, value)?),
            "nonvoluntary_ctxt_switches" => nonvol = Some(number::<u64>(key, value)?),
            _ => {}
        }
    }
    let missing = |k: &str| err(format!("missing {k}:"));
    let (uid_real, uid_effective) = uids.ok_or_else(|| missing("Uid"))?;
    Ok(TaskStatus {
        name: name.ok_or_else(|| missing("Name"))?,
        state: state.ok_or_else(|| missing("State"))?,
        tgid: tgid.ok_or_else(|| missing("Tgid"))?,
        pid: pid.ok_or_else(|| missing("Pid"))?,
        uid_real,
        uid_effective,
        threads,
        voluntary_ctxt_switches: vol.ok_or_else(|| missing("voluntary_ctxt_switches"))?,
        nonvoluntary_ctxt_switches: nonvol.ok_or_else(|| missing("nonvoluntary_ctxt_switches"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PYENV_LOCK: &str = include_str!("../../tests/fixtures/x86_64-py311-pyenv/lock.status");
    const PYENV_SLEEP: &str = include_str!("../../tests/fixtures/x86_64-py311-pyenv/sleep.status");
    const SYS_PROCESS: &str =
        include_str!("../../tests/fixtures/x86_64-py311-system/process.status");
    const SYS_RECV: &str = include_str!("../../tests/fixtures/x86_64-py311-system/recv.status");

    #[test]
    fn captured_lock_waiter() {
        let s = parse_status(PYENV_LOCK).unwrap();
        assert_eq!(s.name, "a) (b c)");
        assert_eq!(s.state, 'S');
        assert_eq!((s.tgid, s.pid), (7891, 7895));
        assert_eq!((s.uid_real, s.uid_effective), (0, 0));
        assert_eq!(s.threads, Some(6));
        assert_eq!(s.voluntary_ctxt_switches, 10);
        assert_eq!(s.nonvoluntary_ctxt_switches, 1);
    }

    #[test]
    fn captured_others() {
        let s = parse_status(PYENV_SLEEP).unwrap();
        assert_eq!(s.name, "sleeper");
        assert_ne!(s.tgid, s.pid, "a thread other than the main one");
        let r = parse_status(SYS_RECV).unwrap();
        assert_eq!(r.name, "recv er");
        let p = parse_status(SYS_PROCESS).unwrap();
        assert_eq!(p.name, "python3.11");
        assert_eq!(p.tgid, p.pid);
        assert_eq!(p.threads, Some(6));
    }

    #[test]
    fn name_with_tabs_spaces_and_escapes() {
        let text = "Name:\t a\tb  \\n\\\\x \nState:\tD (disk sleep)\nTgid:\t10\nPid:\t11\n\
                    Uid:\t1000\t1001\t1000\t1000\n\
                    voluntary_ctxt_switches:\t3\nnonvoluntary_ctxt_switches:\t4\n";
        let s = parse_status(text).unwrap();
        assert_eq!(s.name, " a\tb  \n\\x ");
        assert_eq!(s.state, 'D');
        assert_eq!((s.uid_real, s.uid_effective), (1000, 1001));
        assert_eq!(s.threads, None);
        assert_eq!(
            (s.voluntary_ctxt_switches, s.nonvoluntary_ctxt_switches),
            (3, 4)
        );
    }

    #[test]
    fn malformed_is_an_error() {
        assert!(parse_status("").is_err());
        assert!(parse_status("garbage without colons\n").is_err());
        let no_uid = PYENV_LOCK.replace("Uid:", "Xid:");
        assert!(parse_status(&no_uid).unwrap_err().reason.contains("Uid"));
        let bad_pid = PYENV_LOCK.replace("Pid:\t7895", "Pid:\tseven");
        assert!(parse_status(&bad_pid).is_err());
        let bad_uid = PYENV_LOCK.replace("Uid:\t0\t0\t0\t0", "Uid:\t0");
        assert!(parse_status(&bad_uid).is_err());
        let bad_state = PYENV_LOCK.replace("State:\tS (sleeping)", "State:\t");
        assert!(parse_status(&bad_state).is_err());
        let no_ctx = PYENV_LOCK.replace("nonvoluntary_ctxt_switches", "x");
        assert!(parse_status(&no_ctx).is_err());
        let truncated = &PYENV_LOCK[..200];
        assert!(parse_status(truncated).is_err());
    }
}
