//! Whether the GIL is held right now: the `locked` field of CPython's
//! `struct _gil_runtime_state`, found inside `_PyRuntime`.
//!
//! Sampling that field at the sampler's random ticks gives the fraction of
//! wall time the GIL was held (its utilisation). The controller needs it to
//! tell GIL-held CPU (which serialises) from CPU spent in code that released
//! the GIL (ONNX Runtime, numpy), which the cores run in parallel.
//!
//! CPython 3.9–3.13 (with a GIL) lay the struct out as
//! `unsigned long interval; PyThreadState *last_holder; int locked;
//! unsigned long switch_number; pthread_cond_t cond; ...`, and `interval` is
//! the switch interval in µs, 5000 unless the program called
//! `sys.setswitchinterval`. Measured here: the struct starts at `_PyRuntime`
//! +352 (3.10), +360 (3.11), +77432 (3.12), +96104 (3.13) on x86_64, and that
//! offset is the only word-aligned 5000 in `_PyRuntime` for each of them.
//! So the locator scans the runtime's bytes for a word equal to the default
//! interval whose neighbours look like the struct; it accepts exactly one
//! such candidate and never guesses between several.

/// The default `sys.getswitchinterval()` in µs, as CPython stores it.
pub const DEFAULT_SWITCH_INTERVAL_US: u64 = 5000;

/// Where the `locked` field sits, relative to the start of `_PyRuntime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GilStateLayout {
    /// Offset of `struct _gil_runtime_state` (its `interval` field).
    pub struct_offset: u64,
    /// Offset of the `int locked` field.
    pub locked_offset: u64,
}

/// Why no `locked` field was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GilStateError {
    /// No word equal to the default switch interval with a plausible struct around it.
    NotFound,
    /// Several candidates: refusing to guess.
    Ambiguous(Vec<u64>),
}

impl std::fmt::Display for GilStateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GilStateError::NotFound => write!(
                f,
                "the GIL's state was not found in _PyRuntime (not initialised yet, or sys.setswitchinterval changed the interval)"
            ),
            GilStateError::Ambiguous(offsets) => write!(
                f,
                "several places in _PyRuntime look like the GIL's state (offsets {offsets:?}); not guessing"
            ),
        }
    }
}

/// Finds the GIL's `locked` field in the bytes of `_PyRuntime` of a target
/// whose words are `word_size` bytes (8 on x86_64/aarch64, 4 on 32-bit ARM),
/// little-endian.
pub fn locate_gil_state(runtime: &[u8], word_size: usize) -> Result<GilStateLayout, GilStateError> {
    match gil_state_candidates(runtime, word_size).as_slice() {
        [] => Err(GilStateError::NotFound),
        [one] => Ok(*one),
        several => Err(GilStateError::Ambiguous(
            several.iter().map(|l| l.struct_offset).collect(),
        )),
    }
}

/// Every place in `runtime` that looks like the GIL's state (see [`locate_gil_state`]).
pub fn gil_state_candidates(runtime: &[u8], word_size: usize) -> Vec<GilStateLayout> {
    assert!(word_size == 4 || word_size == 8, "word size 4 or 8");
    let word = |offset: usize| -> Option<u64> {
        let bytes = runtime.get(offset..offset + word_size)?;
        Some(if word_size == 8 {
            u64::from_le_bytes(bytes.try_into().unwrap())
        } else {
            u32::from_le_bytes(bytes.try_into().unwrap()) as u64
        })
    };
    let int = |offset: usize| -> Option<i32> {
        let bytes = runtime.get(offset..offset + 4)?;
        Some(i32::from_le_bytes(bytes.try_into().unwrap()))
    };
    let mut found = Vec::new();
    let mut offset = 0;
    while offset + 4 * word_size <= runtime.len() {
        if word(offset) == Some(DEFAULT_SWITCH_INTERVAL_US) {
            let locked_offset = offset + 2 * word_size;
            // locked: -1 before the GIL is created, then 0 or 1; a pointer
            // (last_holder) sits between interval and locked.
            let locked_ok = matches!(int(locked_offset), Some(-1..=1));
            // On 64-bit targets the 4 bytes after `int locked` are padding
            // before switch_number; nothing else to check there.
            if locked_ok {
                found.push(GilStateLayout {
                    struct_offset: offset as u64,
                    locked_offset: locked_offset as u64,
                });
            }
        }
        offset += word_size;
    }
    found
}

/// The candidates of a new scan that also looked right in the previous one.
/// Other data in `_PyRuntime` can match the pattern for a moment (a counter
/// that happens to read 5000); the GIL's state keeps matching, so scans taken
/// apart narrow several candidates down to it.
pub fn narrow_candidates(
    previous: &[GilStateLayout],
    current: &[GilStateLayout],
) -> Vec<GilStateLayout> {
    current
        .iter()
        .filter(|c| previous.iter().any(|p| p.locked_offset == c.locked_offset))
        .copied()
        .collect()
}

/// What one read of the `locked` field says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GilLocked {
    Held,
    Free,
    /// -1: the GIL does not exist (yet, or any more).
    Uninitialised,
    /// Anything else: the layout is wrong; stop reading it.
    Invalid(i32),
}

/// Interprets the 4 little-endian bytes of `locked`.
pub fn parse_locked(bytes: [u8; 4]) -> GilLocked {
    match i32::from_le_bytes(bytes) {
        1 => GilLocked::Held,
        0 => GilLocked::Free,
        -1 => GilLocked::Uninitialised,
        other => GilLocked::Invalid(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `_PyRuntime` of `len` bytes with a GIL struct at `at` (64-bit layout).
    fn runtime64(len: usize, at: usize, locked: i32) -> Vec<u8> {
        let mut bytes = vec![0u8; len];
        bytes[at..at + 8].copy_from_slice(&5000u64.to_le_bytes());
        bytes[at + 8..at + 16].copy_from_slice(&0x5555_1234_5678u64.to_le_bytes());
        bytes[at + 16..at + 20].copy_from_slice(&locked.to_le_bytes());
        bytes[at + 24..at + 32].copy_from_slice(&7u64.to_le_bytes());
        bytes
    }

    #[test]
    fn finds_the_struct_of_a_64_bit_target() {
        let bytes = runtime64(1024, 360, 1);
        let layout = locate_gil_state(&bytes, 8).unwrap();
        assert_eq!(
            layout,
            GilStateLayout {
                struct_offset: 360,
                locked_offset: 376
            }
        );
    }

    #[test]
    fn finds_the_struct_of_a_32_bit_target() {
        let mut bytes = vec![0u8; 512];
        bytes[200..204].copy_from_slice(&5000u32.to_le_bytes());
        bytes[204..208].copy_from_slice(&0x00a0_1000u32.to_le_bytes());
        bytes[208..212].copy_from_slice(&0i32.to_le_bytes());
        let layout = locate_gil_state(&bytes, 4).unwrap();
        assert_eq!(layout.locked_offset, 208);
    }

    #[test]
    fn a_5000_without_a_plausible_locked_field_is_not_the_gil() {
        let mut bytes = runtime64(1024, 360, 1);
        // Another 5000 elsewhere, followed by a value that cannot be `locked`.
        bytes[64..72].copy_from_slice(&5000u64.to_le_bytes());
        bytes[80..84].copy_from_slice(&42i32.to_le_bytes());
        assert_eq!(locate_gil_state(&bytes, 8).unwrap().struct_offset, 360);
    }

    #[test]
    fn a_momentary_match_drops_out_when_scans_are_compared() {
        let mut first = runtime64(1024, 360, 0);
        first[64..72].copy_from_slice(&5000u64.to_le_bytes());
        let first = gil_state_candidates(&first, 8);
        assert_eq!(first.len(), 2);
        // Half a second later the other word reads something else; the GIL's state is still there.
        let mut second = runtime64(1024, 360, 1);
        second[64..72].copy_from_slice(&4999u64.to_le_bytes());
        second[512..520].copy_from_slice(&5000u64.to_le_bytes());
        let second = gil_state_candidates(&second, 8);
        assert_eq!(second.len(), 2, "a new momentary match elsewhere");
        let narrowed = narrow_candidates(&first, &second);
        assert_eq!(narrowed.len(), 1);
        assert_eq!(narrowed[0].struct_offset, 360);
        // Nothing in common: nothing left (the caller then starts again from the new scan).
        assert!(narrow_candidates(&first[..1], &second[1..]).is_empty());
    }

    #[test]
    fn several_candidates_are_refused_and_none_is_not_found() {
        let mut bytes = runtime64(1024, 360, 0);
        bytes[64..72].copy_from_slice(&5000u64.to_le_bytes());
        assert_eq!(
            locate_gil_state(&bytes, 8),
            Err(GilStateError::Ambiguous(vec![64, 360]))
        );
        assert_eq!(
            locate_gil_state(&vec![0u8; 1024], 8),
            Err(GilStateError::NotFound)
        );
        // Misaligned 5000s are not words of the struct.
        let mut odd = vec![0u8; 64];
        odd[3..11].copy_from_slice(&5000u64.to_le_bytes());
        assert_eq!(locate_gil_state(&odd, 8), Err(GilStateError::NotFound));
    }

    #[test]
    fn locked_values() {
        assert_eq!(parse_locked(1i32.to_le_bytes()), GilLocked::Held);
        assert_eq!(parse_locked(0i32.to_le_bytes()), GilLocked::Free);
        assert_eq!(
            parse_locked((-1i32).to_le_bytes()),
            GilLocked::Uninitialised
        );
        assert_eq!(parse_locked(9i32.to_le_bytes()), GilLocked::Invalid(9));
    }
}
