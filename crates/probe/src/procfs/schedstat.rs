//! `/proc/<pid>/task/<tid>/schedstat`: on-CPU ns, run-queue wait ns, timeslices.
use super::ParseError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SchedStat {
    pub cpu_ns: u64,
    pub runq_ns: u64,
    pub timeslices: u64,
}

pub fn parse_schedstat(text: &str) -> Result<SchedStat, ParseError> {
    let err = |reason: String| ParseError {
        file: "schedstat",
        reason,
    };
    let fields: Vec<&str> = text.split_ascii_whitespace().collect();
    if fields.len() != 3 {
        return Err(err(format!(
            "expected 3 numbers, got {} in {text:?}",
            fields.len()
        )));
    }
    let n = |i: usize| {
        fields[i]
            .parse::<u64>()
            .map_err(|_| err(format!("field {}: not a number: {:?}", i + 1, fields[i])))
    };
    Ok(SchedStat {
        cpu_ns: n(0)?,
        runq_ns: n(1)?,
        timeslices: n(2)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captured() {
        let spin = parse_schedstat(include_str!(
            "../../tests/fixtures/x86_64-py311-pyenv/gilwait.schedstat"
        ))
        .unwrap();
        assert_eq!(
            spin,
            SchedStat {
                cpu_ns: 341828259,
                runq_ns: 26607166,
                timeslices: 161
            }
        );
        let recv = parse_schedstat(include_str!(
            "../../tests/fixtures/x86_64-py311-pyenv/recv.schedstat"
        ))
        .unwrap();
        assert_eq!(
            (recv.cpu_ns, recv.runq_ns, recv.timeslices),
            (92559, 22754, 3)
        );
        let arm = parse_schedstat(include_str!(
            "../../tests/fixtures/arm32-handwritten/main.schedstat"
        ))
        .unwrap();
        assert_eq!(arm.cpu_ns, 2917167);
    }

    #[test]
    fn malformed_is_an_error() {
        for bad in ["", "\n", "1 2", "1 2 3 4", "1 -2 3", "a b c", "1 2 0x3"] {
            let e = parse_schedstat(bad).unwrap_err();
            assert_eq!(e.file, "schedstat", "{bad:?}");
        }
        assert_eq!(
            parse_schedstat("18446744073709551615 0 0\n")
                .unwrap()
                .cpu_ns,
            u64::MAX
        );
        assert!(parse_schedstat("18446744073709551616 0 0\n").is_err());
    }
}
