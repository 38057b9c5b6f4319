//! A perf ring buffer (the first page is `perf_event_mmap_page`, then 2^n
//! data pages) read by the probe's thread, and the decoder of the records we
//! ask for. The decoder is a pure function of the record's bytes.

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU64, Ordering};

use super::account::TraceEvent;
use super::sys::{
    PERF_RECORD_EXIT, PERF_RECORD_LOST, PERF_RECORD_MISC_SWITCH_OUT,
    PERF_RECORD_MISC_SWITCH_OUT_PREEMPT, PERF_RECORD_SAMPLE, PERF_RECORD_SWITCH,
};

// Offsets in `struct perf_event_mmap_page` (include/uapi/linux/perf_event.h).
const DATA_HEAD: usize = 1024;
const DATA_TAIL: usize = 1032;
const DATA_OFFSET: usize = 1040;
const DATA_SIZE: usize = 1048;

pub struct RingBuffer {
    base: *mut u8,
    len: usize,
    data_offset: usize,
    data_size: usize,
    /// Records that wrap around the end are copied here.
    scratch: Vec<u8>,
}

// SAFETY: the mapping is owned by this value and only touched through &mut self.
unsafe impl Send for RingBuffer {}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as usize
    } else {
        4096
    }
}

impl RingBuffer {
    /// Maps `data_pages` (a power of two) data pages of `fd`'s buffer.
    pub fn map(fd: RawFd, data_pages: usize) -> io::Result<RingBuffer> {
        let page = page_size();
        let len = (1 + data_pages) * page;
        // SAFETY: a fresh shared mapping of a perf fd; checked for MAP_FAILED.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = base as *mut u8;
        // SAFETY: both fields lie in the first page, which is mapped.
        let (offset, size) = unsafe {
            (
                std::ptr::read_volatile(base.add(DATA_OFFSET) as *const u64),
                std::ptr::read_volatile(base.add(DATA_SIZE) as *const u64),
            )
        };
        // Kernels before 4.1 leave these zero: the data follows the first page.
        let (data_offset, data_size) = if size == 0 {
            (page, data_pages * page)
        } else {
            (offset as usize, size as usize)
        };
        Ok(RingBuffer {
            base,
            len,
            data_offset,
            data_size,
            scratch: Vec::new(),
        })
    }

    fn head(&self) -> &AtomicU64 {
        // SAFETY: data_head is an aligned u64 in the mapped first page.
        unsafe { &*(self.base.add(DATA_HEAD) as *const AtomicU64) }
    }

    fn tail(&self) -> &AtomicU64 {
        // SAFETY: as head.
        unsafe { &*(self.base.add(DATA_TAIL) as *const AtomicU64) }
    }

    /// Hands every complete record written since the last drain to `f`
    /// (header included), then releases the space to the kernel. Returns
    /// the number of records.
    pub fn drain(&mut self, mut f: impl FnMut(&[u8])) -> usize {
        let head = self.head().load(Ordering::Acquire);
        let mut tail = self.tail().load(Ordering::Relaxed);
        let size = self.data_size as u64;
        // SAFETY: the data area is mapped for data_size bytes from data_offset.
        let data =
            unsafe { std::slice::from_raw_parts(self.base.add(self.data_offset), self.data_size) };
        let mut count = 0;
        while head.wrapping_sub(tail) >= 8 {
            let start = (tail % size) as usize;
            let mut header = [0u8; 8];
            for (i, b) in header.iter_mut().enumerate() {
                *b = data[(start + i) % self.data_size];
            }
            let rec_size = u16::from_ne_bytes([header[6], header[7]]) as usize;
            if rec_size < 8 || head.wrapping_sub(tail) < rec_size as u64 {
                break;
            }
            if start + rec_size <= self.data_size {
                f(&data[start..start + rec_size]);
            } else {
                self.scratch.clear();
                self.scratch.extend_from_slice(&data[start..]);
                self.scratch
                    .extend_from_slice(&data[..rec_size - (self.data_size - start)]);
                f(&self.scratch);
            }
            tail = tail.wrapping_add(rec_size as u64);
            count += 1;
        }
        self.tail().store(tail, Ordering::Release);
        count
    }
}

impl Drop for RingBuffer {
    fn drop(&mut self) {
        // SAFETY: we mapped exactly this range.
        unsafe { libc::munmap(self.base as *mut libc::c_void, self.len) };
    }
}

/// Where the fields we need sit in a sample's raw tracepoint data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawLayout {
    pub enter_type: u16,
    pub exit_type: u16,
    /// `id` (the syscall number): offset and size (4 or 8).
    pub id: (usize, usize),
    /// `args[0]` of sys_enter: offset and size of one element.
    pub arg0: (usize, usize),
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(b.get(at..at + 8)?.try_into().ok()?))
}
fn uint_at(b: &[u8], at: usize, size: usize) -> Option<u64> {
    match size {
        4 => u32_at(b, at).map(u64::from),
        8 => u64_at(b, at),
        _ => None,
    }
}

/// Decodes one record of a thread's buffer. The dummy event's records carry
/// `sample_id` = {time}; the tracepoint samples are {time, raw size, raw}.
/// Unknown records (FORK, …) and malformed ones decode to `None`.
pub fn decode(record: &[u8], layout: &RawLayout) -> Option<TraceEvent> {
    let kind = u32_at(record, 0)?;
    let misc = u16_at(record, 4)?;
    match kind {
        PERF_RECORD_SWITCH => {
            let time = u64_at(record, 8)?;
            if misc & PERF_RECORD_MISC_SWITCH_OUT != 0 {
                Some(TraceEvent::SwitchOut {
                    time,
                    preempted: misc & PERF_RECORD_MISC_SWITCH_OUT_PREEMPT != 0,
                })
            } else {
                Some(TraceEvent::SwitchIn { time })
            }
        }
        PERF_RECORD_SAMPLE => {
            let time = u64_at(record, 8)?;
            let raw_size = u32_at(record, 16)? as usize;
            let raw = record.get(20..20 + raw_size)?;
            let common_type = u16_at(raw, 0)?;
            let nr = uint_at(raw, layout.id.0, layout.id.1)?;
            // A 32-bit kernel's `long id` is signed; -1 never reaches a filter that passes it.
            if common_type == layout.enter_type {
                let arg0 = uint_at(raw, layout.arg0.0, layout.arg0.1)?;
                Some(TraceEvent::SysEnter { time, nr, arg0 })
            } else if common_type == layout.exit_type {
                Some(TraceEvent::SysExit { time, nr })
            } else {
                None
            }
        }
        // { pid, ppid, tid, ptid: u32; time: u64 } sample_id
        PERF_RECORD_EXIT => Some(TraceEvent::Exit {
            time: u64_at(record, 24)?,
        }),
        // { id: u64; lost: u64 } sample_id
        PERF_RECORD_LOST => Some(TraceEvent::Lost {
            count: u64_at(record, 16)?,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAYOUT: RawLayout = RawLayout {
        enter_type: 443,
        exit_type: 442,
        id: (8, 8),
        arg0: (16, 8),
    };

    fn header(kind: u32, misc: u16, size: usize) -> Vec<u8> {
        let mut v = kind.to_ne_bytes().to_vec();
        v.extend_from_slice(&misc.to_ne_bytes());
        v.extend_from_slice(&(size as u16).to_ne_bytes());
        v
    }

    fn sample(time: u64, raw: &[u8]) -> Vec<u8> {
        let body = 8 + 4 + raw.len();
        let padded = body.div_ceil(8) * 8;
        let mut v = header(PERF_RECORD_SAMPLE, 0, 8 + padded);
        v.extend_from_slice(&time.to_ne_bytes());
        v.extend_from_slice(&(raw.len() as u32 + (padded - body) as u32).to_ne_bytes());
        v.extend_from_slice(raw);
        v.resize(8 + padded, 0);
        v
    }

    fn raw_enter(nr: u64, arg0: u64) -> Vec<u8> {
        let mut raw = vec![0u8; 64];
        raw[0..2].copy_from_slice(&443u16.to_ne_bytes());
        raw[8..16].copy_from_slice(&nr.to_ne_bytes());
        raw[16..24].copy_from_slice(&arg0.to_ne_bytes());
        raw
    }

    #[test]
    fn decodes_switches() {
        let mut out = header(
            PERF_RECORD_SWITCH,
            PERF_RECORD_MISC_SWITCH_OUT | PERF_RECORD_MISC_SWITCH_OUT_PREEMPT,
            16,
        );
        out.extend_from_slice(&77u64.to_ne_bytes());
        assert_eq!(
            decode(&out, &LAYOUT),
            Some(TraceEvent::SwitchOut {
                time: 77,
                preempted: true
            })
        );
        let mut blocked = header(PERF_RECORD_SWITCH, PERF_RECORD_MISC_SWITCH_OUT, 16);
        blocked.extend_from_slice(&78u64.to_ne_bytes());
        assert_eq!(
            decode(&blocked, &LAYOUT),
            Some(TraceEvent::SwitchOut {
                time: 78,
                preempted: false
            })
        );
        let mut inn = header(PERF_RECORD_SWITCH, 0, 16);
        inn.extend_from_slice(&79u64.to_ne_bytes());
        assert_eq!(
            decode(&inn, &LAYOUT),
            Some(TraceEvent::SwitchIn { time: 79 })
        );
    }

    #[test]
    fn decodes_syscall_samples() {
        let rec = sample(1_000, &raw_enter(202, 0xdead_b000));
        assert_eq!(
            decode(&rec, &LAYOUT),
            Some(TraceEvent::SysEnter {
                time: 1_000,
                nr: 202,
                arg0: 0xdead_b000
            })
        );
        let mut raw = vec![0u8; 24];
        raw[0..2].copy_from_slice(&442u16.to_ne_bytes());
        raw[8..16].copy_from_slice(&45u64.to_ne_bytes());
        assert_eq!(
            decode(&sample(2_000, &raw), &LAYOUT),
            Some(TraceEvent::SysExit {
                time: 2_000,
                nr: 45
            })
        );
        // Another tracepoint's sample is ignored; a truncated one too.
        raw[0..2].copy_from_slice(&1u16.to_ne_bytes());
        assert_eq!(decode(&sample(2_000, &raw), &LAYOUT), None);
        assert_eq!(decode(&rec[..20], &LAYOUT), None);
    }

    #[test]
    fn decodes_32_bit_fields() {
        let layout = RawLayout {
            enter_type: 17,
            exit_type: 16,
            id: (8, 4),
            arg0: (12, 4),
        };
        let mut raw = vec![0u8; 36];
        raw[0..2].copy_from_slice(&17u16.to_ne_bytes());
        raw[8..12].copy_from_slice(&422u32.to_ne_bytes());
        raw[12..16].copy_from_slice(&0xb6f0_1000u32.to_ne_bytes());
        assert_eq!(
            decode(&sample(5, &raw), &layout),
            Some(TraceEvent::SysEnter {
                time: 5,
                nr: 422,
                arg0: 0xb6f0_1000
            })
        );
    }

    #[test]
    fn decodes_exit_and_lost() {
        let mut exit = header(PERF_RECORD_EXIT, 0, 40);
        for v in [1u32, 1, 2, 2] {
            exit.extend_from_slice(&v.to_ne_bytes());
        }
        exit.extend_from_slice(&999u64.to_ne_bytes());
        exit.extend_from_slice(&999u64.to_ne_bytes());
        assert_eq!(decode(&exit, &LAYOUT), Some(TraceEvent::Exit { time: 999 }));
        let mut lost = header(PERF_RECORD_LOST, 0, 32);
        lost.extend_from_slice(&5u64.to_ne_bytes());
        lost.extend_from_slice(&12u64.to_ne_bytes());
        lost.extend_from_slice(&0u64.to_ne_bytes());
        assert_eq!(decode(&lost, &LAYOUT), Some(TraceEvent::Lost { count: 12 }));
    }
}
