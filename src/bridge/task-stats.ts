import type { TaskWindowStats } from '../control/policy.js'

/** What the companion measured for one finished task, plus our submission-to-result latency. */
export interface TaskTiming {
  /** null for a task whose caller gave up (timeout, abort) before its result came. */
  latencyNs: number | null
  queueNs: number
  wallNs: number
  cpuNs: number
  tid: number
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
    }
    interval.completions++
    interval.wallNs += task.wallNs
    interval.cpuNs += task.cpuNs
    interval.queueNs += task.queueNs
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
    const sorted = interval.latencies.sort((a, b) => a - b)
    return {
      durationNs,
      completions: n,
      throughput: durationNs > 0 ? (n * 1e9) / durationNs : 0,
      meanWallNs: n ? interval.wallNs / n : 0,
      meanCpuNs: n ? interval.cpuNs / n : 0,
      meanQueueNs: n ? interval.queueNs / n : 0,
      p50Ns: percentile(sorted, 0.5),
      p99Ns: percentile(sorted, 0.99),
      queued,
      inFlight,
      busyNsByTid: interval.busyNsByTid,
    }
  }
}
