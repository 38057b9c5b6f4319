import type { TaskWindowStats } from '../control/policy.js'

/** What the companion measured for one finished task, plus our submission-to-result latency. */
export interface TaskTiming {
  /** null for a task whose caller gave up (timeout, abort) before its result came. */
  latencyNs: number | null
  queueNs: number
  wallNs: number
  cpuNs: number
  tid: number
  /** The worker's first task since it started or came back from parking (the companion says so). */
  joined: boolean
}

/** Latency percentiles in stats() are over this many most recent tasks. */
const RECENT_TASKS = 1024

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))
  return sorted[index] ?? 0
}

/**
 * Accumulates task timings two ways: a ring of recent latencies for
 * stats(), and sums since the last `take()` for the controller's interval
 * (TaskWindowStats). A task counts in the interval in which its result
 * arrived, with all of its time.
 *
 * The first task a worker thread finishes carries that thread's one-time
 * set-up (imports, per-thread sessions such as an ONNX Runtime session): it is
 * counted as a warm-up completion, outside the per-task means, so that growing
 * the pool does not look like a heavier workload. So is the first task of a
 * worker taken back from parking: it has nothing to set up, but a policy waits
 * for every worker a growth added to finish one task before it judges it. The
 * companion flags both (`joined`).
 */
export class TaskStatsRecorder {
  completions = 0
  private readonly recent: number[] = []
  private recentNext = 0
  private intervalStartNs: bigint
  private interval = TaskStatsRecorder.emptyInterval()

  constructor(nowNs: bigint) {
    this.intervalStartNs = nowNs
  }

  private static emptyInterval() {
    return {
      completions: 0,
      wallNs: 0,
      cpuNs: 0,
      queueNs: 0,
      warmupCompletions: 0,
      warmupCpuNs: 0,
      warmupWallNs: 0,
      latencies: [] as number[],
      busyNsByTid: new Map<number, number>(),
    }
  }

  record(task: TaskTiming): void {
    this.completions++
    const interval = this.interval
    if (task.latencyNs !== null) {
      if (this.recent.length < RECENT_TASKS) this.recent.push(task.latencyNs)
      else this.recent[this.recentNext] = task.latencyNs
      this.recentNext = (this.recentNext + 1) % RECENT_TASKS
      interval.latencies.push(task.latencyNs)
    }
    interval.completions++
    interval.queueNs += task.queueNs
    if (task.joined) {
      interval.warmupCompletions++
      interval.warmupCpuNs += task.cpuNs
      interval.warmupWallNs += task.wallNs
    } else {
      interval.wallNs += task.wallNs
      interval.cpuNs += task.cpuNs
    }
    interval.busyNsByTid.set(task.tid, (interval.busyNsByTid.get(task.tid) ?? 0) + task.wallNs)
  }

  /** Latency percentiles (ns) over the recent tasks. */
  recentLatency(): { p50Ns: number; p99Ns: number } {
    const sorted = [...this.recent].sort((a, b) => a - b)
    return { p50Ns: percentile(sorted, 0.5), p99Ns: percentile(sorted, 0.99) }
  }

  /** Completions in the interval so far (since the previous take). */
  get pendingCompletions(): number {
    return this.interval.completions
  }

  /** The interval since the previous take, and start a new one. */
  take(nowNs: bigint, queued: number, inFlight: number): TaskWindowStats {
    const interval = this.interval
    const durationNs = Number(nowNs - this.intervalStartNs)
    this.interval = TaskStatsRecorder.emptyInterval()
    this.intervalStartNs = nowNs
    const n = interval.completions
    const steady = n - interval.warmupCompletions
    // Means over steady tasks; only warm-up tasks in the interval: over those.
    const [wallNs, cpuNs, counted] =
      steady > 0
        ? [interval.wallNs, interval.cpuNs, steady]
        : [interval.warmupWallNs, interval.warmupCpuNs, interval.warmupCompletions]
    const sorted = interval.latencies.sort((a, b) => a - b)
    return {
      durationNs,
      completions: n,
      throughput: durationNs > 0 ? (n * 1e9) / durationNs : 0,
      meanWallNs: counted ? wallNs / counted : 0,
      meanCpuNs: counted ? cpuNs / counted : 0,
      meanQueueNs: n ? interval.queueNs / n : 0,
      warmupCompletions: interval.warmupCompletions,
      warmupCpuNs: interval.warmupCpuNs,
      p50Ns: percentile(sorted, 0.5),
      p99Ns: percentile(sorted, 0.99),
      queued,
      inFlight,
      busyNsByTid: interval.busyNsByTid,
    }
  }
}
