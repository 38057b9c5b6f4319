import type { ProbeSnapshot, ThreadSnapshot } from '../native.js'
import {
  CLASSES,
  type ClassTimes,
  type GilRangeInfo,
  type Shares,
  type ThreadWindow,
  type Tier,
  type Window,
  type WindowTotal,
} from './types.js'

/** The off-CPU classes that samples split the remainder into. */
const WAIT_CLASSES = ['gil', 'lock', 'io', 'sleep', 'other'] as const

export interface DecomposeOptions {
  /**
   * Per thread id, the ns it spent running tasks in the window (from the
   * bridge). When given, the rest of each thread's time is idle, and threads
   * absent from the map are idle throughout: idle time never enters the ratios.
   */
  busyNsByTid?: ReadonlyMap<number, number>
  /**
   * How the off-CPU remainder (wall − cpu − runq) is split between gil, lock,
   * io, sleep and other: by the wait samples (`'samples'`), by the trace
   * tier's exact blocked ns (`'traced'`), or (`'auto'`, the default) traced
   * when both snapshots come from the trace tier. A thread with no traced
   * time in the window falls back to its samples.
   */
  split?: 'auto' | 'samples' | 'traced'
}

export function zeroTimes(): ClassTimes {
  return { cpu: 0, runq: 0, gil: 0, lock: 0, io: 0, sleep: 0, other: 0 }
}

function sumTimes(times: ClassTimes): number {
  let sum = 0
  for (const c of CLASSES) sum += times[c]
  return sum
}

export function sharesOf(times: ClassTimes): Shares {
  const wall = sumTimes(times)
  const shares = zeroTimes()
  if (wall <= 0) return shares
  for (const c of CLASSES) shares[c] = times[c] / wall
  return shares
}

const ratio = (part: number, whole: number): number => (whole > 0 ? part / whole : 0)

/**
 * Splits one thread's time in [prev, cur) exactly into classes (DESIGN.md §2):
 * cpu and runq from schedstat; the off-CPU remainder split by the shares of
 * the wait samples taken in the window (all `other` when there are none).
 */
export function decomposeThread(
  before: ThreadSnapshot | undefined,
  after: ThreadSnapshot,
  windowStartNs: number,
  windowEndNs: number,
  split: 'samples' | 'traced' = 'samples',
): { times: ClassTimes; lifetimeNs: number; samples: number } {
  const start = Math.max(windowStartNs, after.firstSeenNs)
  const end = after.alive ? windowEndNs : Math.min(windowEndNs, after.lastSeenNs)
  const cpu = Math.max(0, after.cpuNs - (before?.cpuNs ?? 0))
  const runq = Math.max(0, after.runqNs - (before?.runqNs ?? 0))
  // Counters and clocks are read microseconds apart: never let cpu + runq exceed wall.
  const lifetimeNs = Math.max(end - start, cpu + runq, 0)
  const offCpu = lifetimeNs - cpu - runq

  const times = zeroTimes()
  times.cpu = cpu
  times.runq = runq
  let waitSamples = 0
  const delta: Record<(typeof WAIT_CLASSES)[number], number> = { gil: 0, lock: 0, io: 0, sleep: 0, other: 0 }
  for (const c of WAIT_CLASSES) {
    delta[c] = Math.max(0, after.samples[c] - (before?.samples[c] ?? 0))
    waitSamples += delta[c]
  }
  // Traced blocked ns include each wake-up's latency, which schedstat counts
  // as runq: the proportions, not the ns themselves, split the remainder.
  const traced: Record<(typeof WAIT_CLASSES)[number], number> = { gil: 0, lock: 0, io: 0, sleep: 0, other: 0 }
  let tracedSum = 0
  if (split === 'traced' && after.tracedNs) {
    for (const c of WAIT_CLASSES) {
      traced[c] = Math.max(0, after.tracedNs[c] - (before?.tracedNs?.[c] ?? 0))
      tracedSum += traced[c]
    }
  }
  if (tracedSum > 0) {
    for (const c of WAIT_CLASSES) times[c] = (offCpu * traced[c]) / tracedSum
  } else if (waitSamples > 0) {
    for (const c of WAIT_CLASSES) times[c] = (offCpu * delta[c]) / waitSamples
  } else {
    times.other = offCpu
  }
  const running = Math.max(0, after.samples.running - (before?.samples.running ?? 0))
  return { times, lifetimeNs, samples: waitSamples + running }
}

/**
 * Removes `idleNs` of a pool worker's waiting-for-work time: that wait is a
 * futex on the queue's lock, so it comes out of `lock` first, then from the
 * other off-CPU classes in proportion.
 */
function removeIdle(times: ClassTimes, idleNs: number): void {
  let left = Math.min(idleNs, times.lock)
  times.lock -= left
  left = idleNs - left
  const rest = times.gil + times.io + times.sleep + times.other
  if (left <= 0 || rest <= 0) return
  const keep = Math.max(0, 1 - left / rest)
  times.gil *= keep
  times.io *= keep
  times.sleep *= keep
  times.other *= keep
}

function gilRangeOf(snapshot: ProbeSnapshot): GilRangeInfo | null {
  const range = snapshot.gilRange
  if (!range) return null
  return {
    start: range.start,
    end: range.end,
    source: range.source === 'explicit' ? 'explicit' : 'elf-symbol',
    objectPath: range.objectPath,
  }
}

/**
 * Share of the ticks that read the GIL's `locked` field and found what `counted` counts; null without such
 * ticks.
 */
function gilReadShare(
  prev: ProbeSnapshot,
  cur: ProbeSnapshot,
  counted: (s: ProbeSnapshot) => number,
): number | null {
  const ticks = cur.gilStateTicks - prev.gilStateTicks
  return ticks > 0 ? (counted(cur) - counted(prev)) / ticks : null
}

/** Held, or free while a sampled thread waited for it (a hand-off). */
const gilBusyTicks = (s: ProbeSnapshot) => s.gilHeldTicks + s.gilFreeWantedTicks

/** The window between two snapshots of the same probe, decomposed. */
export function decompose(prev: ProbeSnapshot, cur: ProbeSnapshot, options: DecomposeOptions = {}): Window {
  const startNs = prev.takenNs
  const endNs = Math.max(cur.takenNs, startNs)
  const before = new Map<number, ThreadSnapshot>()
  for (const t of prev.threads) before.set(t.tid, t)

  const split =
    options.split === 'traced' || options.split === 'samples'
      ? options.split
      : prev.tier === 'trace' && cur.tier === 'trace'
        ? 'traced'
        : 'samples'
  const threads: ThreadWindow[] = []
  const totalTimes = zeroTimes()
  let totalIdle = 0
  for (const after of cur.threads) {
    const prevThread = before.get(after.tid)
    // A thread already dead at the window's start has nothing in it.
    if (prevThread && !prevThread.alive) continue
    const { times, lifetimeNs, samples } = decomposeThread(prevThread, after, startNs, endNs, split)
    let idleNs = 0
    if (options.busyNsByTid) {
      const busy = options.busyNsByTid.get(after.tid) ?? 0
      idleNs = Math.max(0, lifetimeNs - busy)
      removeIdle(times, idleNs)
      idleNs = lifetimeNs - sumTimes(times)
    }
    const wallNs = sumTimes(times)
    if (wallNs <= 0 && idleNs <= 0) continue
    for (const c of CLASSES) totalTimes[c] += times[c]
    totalIdle += idleNs
    threads.push({
      tid: after.tid,
      name: after.name,
      alive: after.alive,
      wallNs,
      idleNs,
      times,
      shares: sharesOf(times),
      samples,
      betaPaper: wallNs > 0 ? 1 - times.cpu / wallNs : 0,
      betaIo: ratio(times.io + times.sleep, wallNs),
    })
  }

  const wallNs = sumTimes(totalTimes)
  const shares = sharesOf(totalTimes)
  const ticks = cur.ticks - prev.ticks
  const total: WindowTotal = {
    wallNs,
    idleNs: totalIdle,
    times: totalTimes,
    shares,
    betaPaper: wallNs > 0 ? 1 - totalTimes.cpu / wallNs : 0,
    betaIo: shares.io + shares.sleep,
    gilShare: shares.gil,
    lockShare: shares.lock,
    runqShare: shares.runq,
    gilSaturation: ratio(cur.gilTicks - prev.gilTicks, ticks),
    gilHeld: gilReadShare(prev, cur, (s) => s.gilHeldTicks),
    gilBusy: gilReadShare(prev, cur, gilBusyTicks),
    busyThreads: threads.filter((t) => t.wallNs > 0).length,
  }
  const durationNs = endNs - startNs
  const probeCpuNs = Math.max(0, cur.probeCpuNs - prev.probeCpuNs)
  return {
    pid: cur.pid,
    tier: cur.tier as Tier,
    tierReason: cur.tierReason ?? null,
    abi: cur.abi,
    gilRange: gilRangeOf(cur),
    gilStateNote: cur.gilStateNote ?? null,
    startNs,
    endNs,
    durationNs,
    samples: cur.samples - prev.samples,
    ticks,
    threads: threads.sort((a, b) => b.wallNs - a.wallNs),
    total,
    probeCpuNs,
    probeCpuShare: ratio(probeCpuNs, durationNs),
    final: cur.exited,
  }
}
