/**
 * The feed-forward half of the gauge policy: from one interval's decomposition, how many threads the
 * workload needs (DESIGN.md §4).
 *
 * Within a window, times are summed over busy threads; per task, (io + sleep)/cpu is the same ratio as over
 * the sums, so the ratio of sums is the estimator (idle workers are not in the sums). The sums keep the CPU
 * of threads that run no tasks (the companion's reader and writer) and of workers between tasks: that CPU
 * is serial work per call too, on the GIL and the cores, so the knee divides by it. `waitNs` is therefore
 * the window's io + sleep in units of task CPU (× task cpu / window cpu), short of the task's own wait by
 * the share of CPU spent outside tasks (balanced on one core: 0.03–0.07 ms for a 0.1 ms sleep). Reading
 * the task's own wait (its wall − cpu split by the workers' classes) and dividing by the task's CPU alone
 * was tried (benches/results/bench-task-wall-wait-io-heavy): io-heavy on one core read 1.04 ms for its 1 ms
 * sleep, a knee of 59 against 12, and gauge jumped from 4 to 72 threads and ran at 0.77 of the best static
 * pool (0.95 with this ratio); the bridge's per-call CPU, not the task's, fills the core there.
 *
 * Under a GIL one thread's GIL-held time serialises: N* = 1 + (io + sleep) / cpu. runq is not serial work:
 * on a busy core it is runnable threads waiting for the CPU the GIL holder uses — contention, like gil and
 * lock, the cost of too many threads and never wait that threads can hide. (Counting it as serial time
 * halved the target on one core, where woken threads queue for the CPU: measured runq 4× cpu at N = 32.)
 * Without a GIL the cores run cpu in parallel: N* = cores × (1 + (io + sleep) / cpu), runq is contention.
 *
 * Not all CPU of a GIL build holds the GIL: ONNX Runtime, numpy's FFT and convolutions, hashlib release it.
 * When the probe reads the GIL's `locked` field (window.total.gilHeld), the serial part per task is the
 * GIL-held share of the CPU, g ≤ cpu, and two resources bound the pool: the GIL, kept busy by
 * (cpu + wait) / g threads, and the cores, kept busy by cores × (cpu + wait) / cpu. The first to fill is the
 * bottleneck: N* = min of the two. For pure Python g = cpu and this is the formula above; unmeasured, g = cpu.
 */
import type { Window } from '../model/types.js'
import type { ControlInput } from './policy.js'

export interface Observation {
  /** 'window': the monitor's decomposition; 'tasks': only the bridge's per-task cpu and wall (rusage tier). */
  source: 'window' | 'tasks'
  /** Per task (ns). */
  cpuNs: number
  /** Genuine blocking per task, io + sleep (ns); from tasks alone, an upper bound (see gauge.ts). */
  waitNs: number
  /** Per-task wall minus cpu as the bridge measured it (ns): genuine wait plus contention. */
  apparentWaitNs: number
  /** Per-task CPU that held the GIL (ns): at most cpuNs; null when not measured. */
  gilHeldNs: number | null
  /**
   * How busy the bottleneck was: the larger of the GIL's held share of wall time (GIL builds; all CPU
   * counts as GIL-held when that is not measured) and the process's CPU time over the cores. From task
   * times alone, null.
   */
  utilisation: number | null
  /** Per-task time waiting for a CPU (ns); 0 when unknown. */
  runqNs: number
  /** Share of busy time lost to contention (gil + lock + runq); from tasks alone, null. */
  contentionShare: number | null
  /**
   * Share of wall time the GIL sat free while a thread waited for it (window.total.gilBusy − gilHeld):
   * hand-offs. null when the GIL's state is not read.
   */
  handoffShare: number | null
  gilShare: number | null
  runqShare: number | null
  throughput: number
  p99Ns: number
  backlog: boolean
}

/** Read one interval (`gil`: whether the process has one); null when it carries no usable CPU time. */
export function observe(input: ControlInput, gil = gilEnabled(input, 'auto')): Observation | null {
  const { window, tasks } = input
  if (tasks.meanCpuNs <= 0 || tasks.completions <= 0) return null
  const apparentWaitNs = Math.max(0, tasks.meanWallNs - tasks.meanCpuNs)
  // Growth only helps when work is waiting for a worker.
  const backlog = tasks.queued > 0 || tasks.inFlight >= input.size
  const common = { throughput: tasks.throughput, p99Ns: tasks.p99Ns, backlog, apparentWaitNs }
  const t = window?.total.times
  if (window && t && t.cpu > 0) {
    const perCpu = tasks.meanCpuNs / t.cpu
    const gilHeldNs = gilHeldCpuNs(window, tasks.meanCpuNs)
    return {
      ...common,
      source: 'window',
      cpuNs: tasks.meanCpuNs,
      gilHeldNs,
      waitNs: (t.io + t.sleep) * perCpu,
      runqNs: t.runq * perCpu,
      utilisation: bottleneckUtilisation(window, input.cores, gil),
      contentionShare: window.total.gilShare + window.total.lockShare + window.total.runqShare,
      handoffShare: handoffShare(window),
      gilShare: window.total.gilShare,
      runqShare: window.total.runqShare,
    }
  }
  return {
    ...common,
    source: 'tasks',
    cpuNs: tasks.meanCpuNs,
    gilHeldNs: null,
    waitNs: apparentWaitNs,
    runqNs: 0,
    utilisation: null,
    contentionShare: null,
    handoffShare: null,
    gilShare: null,
    runqShare: null,
  }
}

/**
 * The part of `cpuNs` (a task's, or the window's total) that held the GIL, from the window's measured GIL
 * utilisation; null when not measured. GIL held while its holder waits for a CPU is contention, not work:
 * capped at the CPU.
 */
export function gilHeldCpuNs(window: Window, cpuNs: number): number | null {
  const held = window.total.gilHeld
  const cpu = window.total.times.cpu
  if (held === null || cpu <= 0) return null
  return cpuNs * Math.min(1, (held * window.durationNs) / cpu)
}

/** The GIL's hand-off share of a window (free while wanted), or null when its state was not read. */
export function handoffShare(window: Window): number | null {
  const { gilBusy, gilHeld } = window.total
  return gilBusy === null || gilHeld === null ? null : Math.max(0, gilBusy - gilHeld)
}

/**
 * Share of its capacity the bottleneck was busy in a window: the GIL (held share of wall time) or the cores
 * (CPU time / wall / cores), whichever is busier. Process CPU counts every thread, workers or not: all of it
 * occupies the cores.
 */
export function bottleneckUtilisation(window: Window, cores: number, gil: boolean): number | null {
  const busyCores = coreShare(window, cores)
  // Unmeasured, all CPU counts as GIL-held: CPU time over wall, at most 1.
  const allCpuHeld = coreShare(window, 1)
  if (busyCores === null || allCpuHeld === null || !gil) return busyCores
  return Math.max(busyCores, window.total.gilHeld ?? allCpuHeld)
}

/** Share of the cores the process kept busy: from the window's CPU, else from the tasks' own; at most 1. */
export function cpuBusyShare(input: ControlInput): number {
  const fromWindow = input.window ? coreShare(input.window, input.cores) : null
  if (fromWindow !== null) return fromWindow
  const t = input.tasks
  return Math.min(1, (t.throughput * t.meanCpuNs) / 1e9 / Math.max(1, input.cores))
}

/** The process's CPU time over wall time and `cores`, at most 1; null for an empty window. */
function coreShare(window: Window, cores: number): number | null {
  if (window.durationNs <= 0) return null
  return Math.min(1, window.total.times.cpu / window.durationNs / Math.max(1, cores))
}

/**
 * From this share of the process's CPU (as a rate of one core) held with the GIL, the GIL is where the work
 * is. Measured on one core (GIL held / CPU rate): the pure-Python loops 0.78–0.89 and sensor fusion's Kalman
 * filter 0.97–0.98 (benches/results/pool-occupancy-gil-share-one-core.md, pool-occupancy-sensor-fusion-
 * one-core.md); analytics 0.56 and io-heavy 0.47, whose bridge CPU runs without it; ONNX Runtime 0.04, the
 * small language model's matmuls 0.03, vision's convolutions 0.10–0.14, which release it for the work
 * (benches/results/gil-busy-all-pairs-trial.md).
 */
export const GIL_BOUND_SHARE_OF_CPU = 0.7

/**
 * On one core, how busy the GIL kept the core, where the GIL's held time is most of the process's CPU
 * (`GIL_BOUND_SHARE_OF_CPU`); else null. There the core's CPU share also counts the hand-offs and the
 * bridge's GIL-free CPU, which more threads shrink per task (sensor fusion on one core: 0.93 ms of CPU per
 * task at 21 threads, 0.76 at 48, 4.7 voluntary switches per task against 2.9), so the core reads nearly
 * full while the GIL shows the room. Where the GIL is released for the work (ONNX Runtime, numpy) the
 * GIL-free CPU is the work itself and the core's share is the bottleneck's.
 */
export function gilBoundUtilisationOneCore(window: Window): number | null {
  const held = window.total.gilHeld
  const cpuRate = coreShare(window, 1)
  if (held === null || !cpuRate || held < GIL_BOUND_SHARE_OF_CPU * cpuRate) return null
  return held
}

/** Threads needed to keep the bottleneck (the GIL or the cores) busy (unclamped, ≥ 1). */
export function feedForwardTarget(
  o: { cpuNs: number; waitNs: number; gilHeldNs?: number | null },
  gil: boolean,
  cores: number,
): number {
  return bottleneckKnee(kneeBounds(o, gil, cores))
}

/** The bottleneck's knee: the smaller of the two (≥ 1). */
export function bottleneckKnee(b: { cores: number; gil: number | null }): number {
  return Math.max(1, Math.min(b.cores, b.gil ?? Number.POSITIVE_INFINITY))
}

/**
 * The two knees of the class comment: threads that keep the cores busy, and threads that keep the GIL busy
 * (null without a GIL). The smaller is the bottleneck.
 */
export function kneeBounds(
  o: { cpuNs: number; waitNs: number; gilHeldNs?: number | null },
  gil: boolean,
  cores: number,
): { cores: number; gil: number | null } {
  const taskNs = o.cpuNs + o.waitNs
  const coreBound = Math.max(1, cores) * (taskNs / o.cpuNs)
  if (!gil) return { cores: coreBound, gil: null }
  // A floor on the serial part: a handful of bytecodes per task always hold the GIL.
  const serialNs = Math.max(o.gilHeldNs ?? o.cpuNs, 0.01 * o.cpuNs)
  return { cores: coreBound, gil: taskNs / serialNs }
}

/**
 * Whether the process runs with a GIL. The bridge knows from the companion's hello and should say so;
 * otherwise: a window that found no GIL range on a tier that looks for one means a free-threaded build.
 */
export function gilEnabled(input: ControlInput, option: boolean | 'auto'): boolean {
  if (option !== 'auto') return option
  const w = input.window
  return !(w && w.gilRange === null && w.tier !== 'rusage')
}
