//! `/proc/<pid>/task/<tid>/stat` (proc(5)).
use super::ParseError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskStat {
    pub tid: i32,
    /// `comm`, which may itself contain spaces and parentheses.
    pub comm: String,
    /// R, S, D, Z, T, t, X, I, …
    pub state: char,
    pub utime_ticks: u64,
    pub stime_ticks: u64,
    /// Clock ticks after boot at which the thread started.
    pub starttime_ticks: u64,
    /// CPU last run on.
    pub processor: i32,
}

fn err(reason: impl Into<String>) -> ParseError {
    ParseError {
        file: "stat",
        reason: reason.into(),
    }
}

/// Parses one `stat` line. `comm` is everything between the first `(` and the
/// *last* `)`: a thread can name itself `a) (b c)`, but the kernel prints no
/// `)` after `comm`'s closing one.
pub fn parse_stat(text: &str) -> Result<TaskStat, ParseError> {
    let open = text.find('(').ok_or_else(|| err("no '(' before comm"))?;
    let close = text.rfind(')').ok_or_else(|| err("no ')' after comm"))?;
    if close < open {
        return Err(err("')' before '('"));
    }
    let tid_text = text[..open].trim();
    let tid: i32 = tid_text
        .parse()
        .map_err(|_| err(format!("bad pid {tid_text:?}")))?;
    let comm = text[open + 1..close].to_string();
    // Fields after comm, numbered as in proc(5): index 0 is field 3 (state).
    let rest: Vec<&str> = text[close + 1..].split_ascii_whitespace().collect();
    let field = |n: usize| -> Result<&str, ParseError> {
        rest.get(n - 3).copied().ok_or_else(|| {
            err(format!(
                "missing field {n} (only {} after comm)",
                rest.len()
            ))
        })
    };
    let num = |n: usize| -> Result<u64, ParseError> {
        let s = field(n)?;
        s.parse()
            .map_err(|_| err(format!("field {n}: not a number: {s:?}")))
    };
    let state_text = field(3)?;
    let mut chars = state_text.chars();
    let state = match (chars.next(), chars.next()) {
        (Some(c), None) => c,
        _ => return Err(err(format!("bad state {state_text:?}"))),
    };
    let processor_text = field(39)?;
    let processor: i32 = processor_text
        .parse()
        .map_err(|_| err(format!("field 39: not a cpu number: {processor_text:?}")))?;
    Ok(TaskStat {
        tid,
        comm,
        state,
        utime_ticks: num(14)?,
        stime_ticks: num(15)?,
        starttime_ticks: num(22)?,
        processor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYS_SPIN: &str = include_str!("../../tests/fixtures/x86_64-py311-system/spin.stat");
    const PYENV_LOCK: &str = include_str!("../../tests/fixtures/x86_64-py311-pyenv/lock.stat");
    const PYENV_RECV: &str = include_str!("../../tests/fixtures/x86_64-py311-pyenv/recv.stat");
    const ARM_MAIN: &str = include_str!("../../tests/fixtures/arm32-handwritten/main.stat");

    #[test]
    fn captured_spinner() {
        let s = parse_stat(SYS_SPIN).unwrap();
        assert_eq!(s.comm, "spin1");
        assert_eq!(s.state, 'R');
        assert!(s.utime_ticks > 0, "a spinning thread has user time");
        assert!(s.tid > 0);
        assert!(s.processor == 0 || s.processor == 1);
    }

    #[test]
    fn comm_with_spaces_and_parentheses() {
        let s = parse_stat(PYENV_LOCK).unwrap();
        assert_eq!(s.comm, "a) (b c)");
        assert_eq!(s.tid, 7895);
        assert_eq!(s.state, 'S');
        assert_eq!((s.utime_ticks, s.stime_ticks), (0, 0));
        assert_eq!(s.starttime_ticks, 41042);
        assert_eq!(s.processor, 1);

        let r = parse_stat(PYENV_RECV).unwrap();
        assert_eq!(r.comm, "recv er");
        assert_eq!(r.state, 'S');
    }

    #[test]
    fn arm32_handwritten() {
        let s = parse_stat(ARM_MAIN).unwrap();
        assert_eq!(s.tid, 1207);
        assert_eq!(s.comm, "python3.11");
        assert_eq!((s.utime_ticks, s.stime_ticks), (152, 31));
        assert_eq!(s.starttime_ticks, 86412);
        assert_eq!(s.processor, 3);
    }

    #[test]
    fn malformed_is_an_error() {
        for bad in [
            "",
            "12",
            "12 (x",
            "12 x) S",
            ")( 1 2 3",
            "abc (x) S 1 2 3",
            "12 (x) S 1 2",
            "12 (x) SS 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36",
        ] {
            let e = parse_stat(bad).unwrap_err();
            assert_eq!(e.file, "stat", "{bad:?}");
        }
        let truncated = &SYS_SPIN[..SYS_SPIN.len() / 2];
        assert!(parse_stat(truncated).is_err());
        // utime (field 14) not a number.
        let mut fields: Vec<String> = (3..=52).map(|n| n.to_string()).collect();
        fields[0] = "S".into();
        fields[14 - 3] = "1e3".into();
        let garbled = format!("5 (x) {}", fields.join(" "));
        assert!(parse_stat(&garbled)
            .unwrap_err()
            .reason
            .contains("field 14"));
        fields[14 - 3] = "7".into();
        assert_eq!(
            parse_stat(&format!("5 (x) {}", fields.join(" ")))
                .unwrap()
                .utime_ticks,
            7
        );
    }
}
