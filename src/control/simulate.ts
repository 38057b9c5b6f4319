/**
 * A synthetic plant: a thread pool running one kind of task under (or without) a GIL, and the windows and
 * task statistics the monitor and the bridge would report for it. For tests, the demo and the docs.
 *
 * Model. Each task computes for `cpuNs` (holding the GIL) and then blocks for `ioNs + sleepNs` (GIL
 * released). With N busy threads this is a closed queueing network: one queueing station (the GIL, a single
 * server; without a GIL, the cores as `cores` servers) and one delay station (the blocking). Mean value
 * analysis gives the exact mean throughput and residence time, so the knee near N* = 1 + w/c is smooth as
 * in reality (threads collide before the GIL is fully busy), and throughput tends to 1/c.
 * Past the knee each extra thread inflates the serial time by `handoffPenalty` (GIL hand-offs, context
 * switches, cache misses): that is the saturation cliff. Other processes taking `externalCpuShare` of a core
 * slow the serial work down (seen as runq).
 *
 * Per task: cpu = c; the wait at the station splits into gil (queued on the GIL) and runq (a small
 * wake-up share of it, the hand-off penalty, and preemption by other processes); without a GIL all of it
 * is runq. Noise: throughput (completions) is scaled by a uniform factor in [1 − noise, 1 + noise];
 * the sampled classes (gil, io, sleep) get relative jitter `shareNoise`, as sampling error would.
 */
import type { ClassTimes, Shares, ThreadWindow, Tier, Window } from '../model/types.js'
import type { ControlInput, Decision, Policy, TaskWindowStats } from './policy.js'
import { clampSize, seededRandom } from './util.js'

/** One kind of task. */
export interface Workload {
  /** CPU per task (ns); under a GIL the GIL is held throughout. */
  cpuNs: number
  /** Blocked in I/O per task (ns), GIL released. */
  ioNs: number
  /** Sleeping per task (ns), GIL released. */
  sleepNs: number
}

export interface PlantConfig {
  cores: number
  gil: boolean
  /** Relative growth of the serial time per thread beyond the knee (the cliff). */
  handoffPenalty: number
  /** Throughput noise: completions scaled by a uniform factor in [1 − noise, 1 + noise]. */
  noise: number
  /** Relative jitter on the sampled wait classes. */
  shareNoise: number
  /** Share of one core taken by other processes. */
  externalCpuShare: number
  /**
   * Squared coefficient of variation of the serial work per task (1: exponential, as plain MVA assumes).
   * Larger values bend the curve later: at 1.5 × the knee the bottleneck is busier than 95 % only for
   * cv² ≤ 1, so this is what makes a plant whose knee the feed-forward underestimates.
   */
  serviceCv2: number
  /** Tasks waiting in the queue while the pool is saturated. */
  backlog: number
  /** Offered load (tasks/s); when the pool can do more, the queue is empty and workers idle. */
  arrivalRate: number | null
  /**
   * Most calls per second the path to the pool hands over (the caller's event loop, the pipe, the
   * companion's reader); null: unlimited. When the pool could do more, calls wait upstream (backlog) while
   * workers idle, and each idle worker costs that path `deliveryPenalty` of its rate (it contends with the
   * reader for the GIL and the CPUs).
   */
  deliveryRate: number | null
  deliveryPenalty: number
  /** Which tier the windows claim; 'rusage' produces no window at all (window: null). */
  tier: Tier
  seed: number
}

export const DEFAULT_PLANT: PlantConfig = {
  cores: 1,
  gil: true,
  handoffPenalty: 0.02,
  noise: 0,
  shareNoise: 0.02,
  externalCpuShare: 0,
  serviceCv2: 1,
  backlog: 64,
  arrivalRate: null,
  deliveryRate: null,
  deliveryPenalty: 0,
  tier: 'sample',
  seed: 1,
}

/** Share of the GIL queueing wait that shows up as runq (woken, waiting for a CPU before blocking again). */
const GIL_WAKE_RUNQ_SHARE = 0.03

/** Where the knee is: the smallest N that can keep the serial resource busy. */
export function kneeSize(w: Workload, cfg: Pick<PlantConfig, 'cores' | 'gil'>): number {
  const ratio = (w.ioNs + w.sleepNs) / w.cpuNs
  return cfg.gil ? 1 + ratio : cfg.cores * (1 + ratio)
}

/** Mean behaviour of N busy threads (no noise). */
export interface PlantPoint {
  /** Tasks per second. */
  throughput: number
  /** Per-task wall time inside the worker and its split (ns). */
  perTask: ClassTimes
  wallNs: number
  /** Per-task time the serial resource lost to hand-offs past the knee (ns): the GIL free though wanted. */
  handoffNs: number
}

/** Mean value analysis of the closed network with N threads. */
export function plantPoint(w: Workload, n: number, cfg: PlantConfig): PlantPoint {
  const c = w.cpuNs
  const z = w.ioNs + w.sleepNs
  const knee = kneeSize(w, cfg)
  const penalty = c * cfg.handoffPenalty * Math.max(0, n - knee)
  // Speed of the serial work when other processes compete for the CPU.
  const speed = cfg.gil ? Math.min(1, cfg.cores - cfg.externalCpuShare) : 1
  const servers = cfg.gil ? 1 : Math.max(0.05, cfg.cores - cfg.externalCpuShare)
  const service = (c + penalty) / Math.max(0.05, speed)
  // Seidmann's approximation for a multi-server station: a server of service/m plus a delay of the rest.
  const queued = service / servers
  const fixedDelay = service - queued
  let q = 0
  let u = 0
  let residence = service
  let x = 0
  for (let k = 1; k <= n; k++) {
    // The arrival theorem with a non-exponential server: the task in service has a residual of
    // S(1 + cv²)/2 instead of S (an approximation; exact for cv² = 1).
    residence = queued * (1 + q + (u * (cfg.serviceCv2 - 1)) / 2) + fixedDelay
    x = k / (z + residence)
    q = x * (residence - fixedDelay)
    u = Math.min(1, x * queued)
  }
  const stationWait = Math.max(0, residence - c)
  const slowdown = service - c - penalty // preemption by other processes
  const queueWait = Math.max(0, stationWait - penalty - slowdown)
  const perTask: ClassTimes = {
    cpu: c,
    runq: cfg.gil ? penalty + slowdown + queueWait * GIL_WAKE_RUNQ_SHARE : stationWait,
    gil: cfg.gil ? queueWait * (1 - GIL_WAKE_RUNQ_SHARE) : 0,
    lock: 0,
    io: w.ioNs,
    sleep: w.sleepNs,
    other: 0,
  }
  return { throughput: x * 1e9, perTask, wallNs: z + residence, handoffNs: cfg.gil ? penalty : 0 }
}

/** The best fixed pool size for a workload, by the noise-free model. */
export function bestStaticSize(
  w: Workload,
  cfg: PlantConfig,
  maxSize = 256,
): { size: number; throughput: number } {
  let best = { size: 1, throughput: 0 }
  for (let n = 1; n <= maxSize; n++) {
    const t = plantPoint(w, n, cfg).throughput
    if (t > best.throughput * 1.0001) best = { size: n, throughput: t }
  }
  return best
}

const CLASS_KEYS = ['cpu', 'runq', 'gil', 'lock', 'io', 'sleep', 'other'] as const

function scaleTimes(t: ClassTimes, k: number): ClassTimes {
  const out = { ...t }
  for (const key of CLASS_KEYS) out[key] = t[key] * k
  return out
}

function sharesOf(t: ClassTimes, wall: number): Shares {
  const out = { ...t }
  for (const key of CLASS_KEYS) out[key] = wall > 0 ? t[key] / wall : 0
  return out
}

/** What the plant reports for one interval. */
export interface PlantObservation {
  window: Window | null
  tasks: TaskWindowStats
}

export class Plant {
  readonly cfg: PlantConfig
  private readonly random: () => number
  private clockNs = 0
  /** Pool size of the previous interval: growth adds workers whose first task finishes in the next. */
  private lastSize = 0

  constructor(config: Partial<PlantConfig> = {}) {
    this.cfg = { ...DEFAULT_PLANT, ...config }
    this.random = seededRandom(this.cfg.seed)
  }

  private jitter(amount: number): number {
    return 1 + amount * (2 * this.random() - 1)
  }

  /** Run `size` workers on `w` for `durationNs` and report what the probe and the bridge would see. */
  observe(w: Workload, size: number, durationNs: number): PlantObservation {
    const cfg = this.cfg
    const full = plantPoint(w, size, cfg)
    // With offered load below capacity, only as many threads are busy as the load needs.
    let point = full
    let busy = size
    let queued = cfg.backlog
    if (cfg.arrivalRate !== null && cfg.arrivalRate < full.throughput) {
      let k = 1
      while (k < size && plantPoint(w, k, cfg).throughput < cfg.arrivalRate) k++
      point = plantPoint(w, k, cfg)
      busy = Math.min(size, (cfg.arrivalRate * point.wallNs) / 1e9)
      point = { ...point, throughput: cfg.arrivalRate }
      queued = 0
    } else if (cfg.deliveryRate !== null && cfg.deliveryRate < full.throughput) {
      let k = 1
      while (k < size && plantPoint(w, k, cfg).throughput < cfg.deliveryRate) k++
      point = plantPoint(w, k, cfg)
      const idle = Math.max(0, size - (cfg.deliveryRate * point.wallNs) / 1e9)
      const rate = cfg.deliveryRate * Math.max(0.1, 1 - cfg.deliveryPenalty * idle)
      busy = Math.min(size, (rate * point.wallNs) / 1e9)
      point = { ...point, throughput: rate }
    }
    const seconds = durationNs / 1e9
    const completions = Math.max(0, Math.round(point.throughput * seconds * this.jitter(cfg.noise)))

    // Sampled classes carry sampling error; cpu and runq are exact counters.
    const perTask = { ...point.perTask }
    const offCpu = point.wallNs - perTask.cpu - perTask.runq
    const sampled = { gil: perTask.gil, io: perTask.io, sleep: perTask.sleep }
    let sampledSum = 0
    for (const key of ['gil', 'io', 'sleep'] as const) {
      sampled[key] *= this.jitter(cfg.shareNoise)
      sampledSum += sampled[key]
    }
    for (const key of ['gil', 'io', 'sleep'] as const) {
      perTask[key] = sampledSum > 0 ? (sampled[key] * offCpu) / sampledSum : 0
    }

    const startNs = this.clockNs
    this.clockNs += durationNs
    const busyNs = busy * durationNs
    const idleNs = (size - busy) * durationNs
    const totalTimes = scaleTimes(perTask, busyNs / point.wallNs)
    const handoffNs = (point.handoffNs * busyNs) / point.wallNs
    const window =
      cfg.tier === 'rusage' ? null : this.window(size, busy, totalTimes, busyNs, idleNs, startNs, handoffNs)

    const meanQueueNs = queued > 0 && point.throughput > 0 ? (queued / point.throughput) * 1e9 : 0
    // New workers' first tasks, at the usual cost: this plant has no per-thread set-up.
    const warmupCompletions = Math.min(completions, Math.max(0, size - this.lastSize))
    this.lastSize = size
    const busyNsByTid = new Map<number, number>()
    for (let i = 0; i < size; i++) busyNsByTid.set(1000 + i, (busy / size) * durationNs)
    const tasks: TaskWindowStats = {
      durationNs,
      completions,
      throughput: completions / seconds,
      meanWallNs: point.wallNs,
      meanCpuNs: perTask.cpu,
      meanQueueNs,
      warmupCompletions,
      warmupCpuNs: warmupCompletions * perTask.cpu,
      p50Ns: meanQueueNs + point.wallNs,
      // Tails grow with contention: a task can queue behind every other on the GIL.
      p99Ns: meanQueueNs + point.wallNs * (1.5 + (2 * (perTask.gil + perTask.runq)) / point.wallNs),
      queued,
      // The caller counts a call in flight from the moment it is sent: with calls waiting, the whole pool.
      inFlight: queued > 0 ? size : Math.round(busy),
      busyNsByTid,
    }
    return { window, tasks }
  }

  private window(
    size: number,
    busy: number,
    times: ClassTimes,
    wallNs: number,
    idleNs: number,
    startNs: number,
    /** Hand-off time of all the window's tasks (ns). */
    handoffNs: number,
  ): Window {
    const cfg = this.cfg
    const durationNs = wallNs / Math.max(busy, 1e-9)
    const shares = sharesOf(times, wallNs)
    const threads: ThreadWindow[] = []
    for (let i = 0; i < size; i++) {
      const t = scaleTimes(times, 1 / size)
      threads.push({
        tid: 1000 + i,
        name: `worker-${i}`,
        alive: true,
        wallNs: wallNs / size,
        idleNs: idleNs / size,
        times: t,
        shares,
        samples: 100,
        betaPaper: 1 - shares.cpu,
        betaIo: shares.io + shares.sleep,
      })
    }
    return {
      pid: 4242,
      tier: cfg.tier,
      tierReason: null,
      abi: 'x86_64',
      gilRange: cfg.gil
        ? {
            start: 0x7f0000001000n,
            end: 0x7f0000030000n,
            source: 'elf-symbol',
            objectPath: 'libpython3.12.so.1.0',
          }
        : null,
      gilStateNote: null,
      startNs,
      endNs: startNs + durationNs,
      durationNs,
      samples: 100 * size,
      ticks: 100,
      threads,
      total: {
        wallNs,
        idleNs,
        times,
        shares,
        betaPaper: 1 - shares.cpu,
        betaIo: shares.io + shares.sleep,
        gilShare: shares.gil,
        lockShare: shares.lock,
        runqShare: shares.runq,
        // Roughly: the chance that some busy thread waits, from the mean number waiting.
        gilSaturation: 1 - Math.exp(-(times.gil / durationNs)),
        // The GIL is held for every task's CPU: its utilisation is the serial work's.
        gilHeld: cfg.gil ? Math.min(1, times.cpu / durationNs) : null,
        gilBusy: cfg.gil ? Math.min(1, (times.cpu + handoffNs) / durationNs) : null,
        busyThreads: Math.ceil(busy),
      },
      probeCpuNs: 0,
      probeCpuShare: 0,
      final: false,
    }
  }
}

/** A stretch of the run with one workload. */
export interface Phase {
  windows: number
  workload: Workload
}

export interface SimulationOptions {
  policy: Policy
  phases: Phase[]
  initialSize: number
  min?: number
  max?: number
  plant?: Partial<PlantConfig>
  /** Interval length; defaults to the policy's. */
  intervalMs?: number
}

export interface SimulationStep {
  index: number
  phase: number
  /** Pool size during this window. */
  size: number
  throughput: number
  /** What the policy decided at the window's end (the next window's size). */
  decision: Decision
}

/** Run a policy against the plant, one decision per window, and return every step. */
export function simulate(options: SimulationOptions): SimulationStep[] {
  const plant = new Plant(options.plant)
  const min = options.min ?? 1
  const max = options.max ?? 128
  const intervalMs = options.intervalMs ?? options.policy.intervalMs
  const steps: SimulationStep[] = []
  let size = clampSize(options.initialSize, min, max)
  let index = 0
  for (const [phase, spec] of options.phases.entries()) {
    for (let i = 0; i < spec.windows; i++) {
      const seen = plant.observe(spec.workload, size, intervalMs * 1e6)
      const input: ControlInput = {
        window: seen.window,
        tasks: seen.tasks,
        size,
        min,
        max,
        cores: plant.cfg.cores,
        nowMs: (index + 1) * intervalMs,
      }
      const decision = options.policy.decide(input)
      steps.push({ index, phase, size, throughput: seen.tasks.throughput, decision })
      size = clampSize(decision.size, min, max)
      index++
    }
  }
  return steps
}

/** Handy workloads (ns per task). */
export const WORKLOADS = {
  /** Pure Python computation: no blocking at all. */
  cpuBound: { cpuNs: 2_000_000, ioNs: 0, sleepNs: 0 },
  /** Mostly sleeping: N* = 1 + 19 = 20 under a GIL. */
  sleepDominated: { cpuNs: 1_000_000, ioNs: 0, sleepNs: 19_000_000 },
  /** The paper's mixed task: 10 ms CPU, 50 ms I/O (N* = 6). */
  paperMixed: { cpuNs: 10_000_000, ioNs: 50_000_000, sleepNs: 0 },
  /** The balanced micro-workload: a 1000-iteration loop (~50 µs) and a 0.1 ms sleep (~150 µs real). */
  balanced: { cpuNs: 50_000, ioNs: 0, sleepNs: 150_000 },
} as const satisfies Record<string, Workload>
