/**
 * What a measured interval cost the Python process in CPU, from /proc/<pid>/stat. Throughput over an
 * interval is exactly (CPU the process used / wall time) / (CPU per completed task): a pool that reads
 * slower either kept its CPUs busy for less of the time (too few threads, or waiting) or paid more CPU
 * per task (hand-offs of too many threads, or a slower draw of the host). The two are told apart only by
 * measuring both, for the best static pool and for each policy alike.
 */
import { readFileSync } from 'node:fs'
import { median, round } from './stats.js'

/** USER_HZ, the unit of /proc's CPU times: 100 on every architecture Linux runs us on (x86, arm, arm64). */
const TICKS_PER_SECOND = 100

/**
 * utime + stime of /proc/<pid>/stat (fields 14 and 15): CPU ticks of every thread of the process, those
 * that have ended included. The name (field 2) may hold spaces and parentheses, so fields are counted
 * from its last ')'. Null when the text is not such a line.
 */
export function parseProcessCpuTicks(text: string): number | null {
  const close = text.lastIndexOf(')')
  if (close < 0) return null
  // After the name: state is field 3, so utime (14) and stime (15) are the 12th and 13th from here.
  const fields = text
    .slice(close + 1)
    .trim()
    .split(/\s+/)
  const utime = Number(fields[11])
  const stime = Number(fields[12])
  if (fields.length < 13 || !Number.isInteger(utime) || !Number.isInteger(stime)) return null
  return utime + stime
}

/** CPU ms the process `pid` has used so far; null when it cannot be read (gone, or not Linux). */
export function processCpuMs(pid: number): number | null {
  try {
    const ticks = parseProcessCpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'))
    return ticks === null ? null : (ticks * 1000) / TICKS_PER_SECOND
  } catch {
    return null
  }
}

/** The Python process's CPU over one measured interval. */
export interface IntervalCost {
  /** CPU ms the process used per task completed in the interval. */
  cpuMsPerTask: number
  /** CPU the process used / wall time: how many of its CPUs it kept busy (1.0 = one CPU all the time). */
  busyCpus: number
  /**
   * The host's speed over the interval: mean CPU ns per iteration of the speed probe on the pair's CPUs
   * (host-speed.ts); absent when no probe ran.
   */
  hostNsPerIter?: number | null
}

/** The cost of an interval from two reads of `processCpuMs`; null when a read failed or nothing completed. */
export function intervalCost(
  cpuMsBefore: number | null,
  cpuMsAfter: number | null,
  completions: number,
  wallMs: number,
): IntervalCost | null {
  if (cpuMsBefore === null || cpuMsAfter === null || completions <= 0 || wallMs <= 0) return null
  const used = cpuMsAfter - cpuMsBefore
  if (used < 0) return null
  return { cpuMsPerTask: round(used / completions, 4), busyCpus: round(used / wallMs, 3) }
}

/** Each field's median over the measured intervals; null when none was measured. */
export function medianCost(costs: Array<IntervalCost | null | undefined>): IntervalCost | null {
  const measured = costs.filter((c): c is IntervalCost => c !== null && c !== undefined)
  if (measured.length === 0) return null
  const speeds = measured.map((c) => c.hostNsPerIter).filter((v): v is number => typeof v === 'number')
  return {
    cpuMsPerTask: median(measured.map((c) => c.cpuMsPerTask)) as number,
    busyCpus: median(measured.map((c) => c.busyCpus)) as number,
    ...(speeds.length > 0 ? { hostNsPerIter: median(speeds) } : {}),
  }
}
