/**
 * Closed-loop load on a bridge: keeps `target()` calls outstanding (re-checked after every completion
 * and every 50 ms, so it follows resizes), and records each completion's time and latency.
 */
import { type PythonBridge, PythonError } from '../bridge/index.js'

/** Failed calls after which a loop stops issuing more. */
const MAX_ERRORS = 20

export class ClosedLoop {
  /** Completion times (ms, performance.now()) and latencies (ms), in completion order. */
  private times = new Float64Array(1 << 16)
  private latencies = new Float64Array(1 << 16)
  count = 0
  errors = 0
  firstError: string | null = null
  /** Set when the loop stopped itself because calls kept failing (its counts then end early). */
  gaveUp = false
  private outstanding = 0
  private stopped = false
  private timer: NodeJS.Timeout | null = null

  constructor(
    private readonly bridge: PythonBridge,
    private readonly fn: string,
    private readonly target: () => number,
    private readonly args: unknown[] = [],
  ) {}

  start(): void {
    this.pump()
    this.timer = setInterval(() => this.pump(), 50)
  }

  /** Stop issuing calls (those outstanding are left to the bridge's close). */
  stop(): void {
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  private pump(): void {
    const want = this.target()
    while (!this.stopped && this.outstanding < want) this.issue()
  }

  private issue(): void {
    this.outstanding++
    const submitted = performance.now()
    this.bridge.callWithTimings(this.fn, this.args).then(
      () => {
        this.outstanding--
        if (this.stopped) return
        this.record(performance.now(), performance.now() - submitted)
        this.pump()
      },
      (error: unknown) => {
        this.outstanding--
        if (this.stopped) return
        this.errors++
        this.firstError ??= describeError(error)
        // A task that fails every time would spin; stop after a few.
        if (this.errors >= MAX_ERRORS) {
          this.gaveUp = true
          this.stop()
        } else this.pump()
      },
    )
  }

  private record(t: number, latency: number): void {
    if (this.count === this.times.length) {
      const times = new Float64Array(this.times.length * 2)
      times.set(this.times)
      this.times = times
      const latencies = new Float64Array(this.latencies.length * 2)
      latencies.set(this.latencies)
      this.latencies = latencies
    }
    this.times[this.count] = t
    this.latencies[this.count] = latency
    this.count++
  }

  /** Completions whose result arrived in [t0, t1) (performance.now() ms): count and their latencies. */
  between(t0: number, t1: number): { completions: number; latencies: Float64Array } {
    let lo = 0
    let hi = this.count
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((this.times[mid] as number) < t0) lo = mid + 1
      else hi = mid
    }
    let end = lo
    while (end < this.count && (this.times[end] as number) < t1) end++
    return { completions: end - lo, latencies: this.latencies.subarray(lo, end) }
  }

  /** Why counts taken from this loop cannot be trusted as throughput, or null when they can. */
  failure(): string | null {
    if (!this.gaveUp) return null
    return `${this.errors} calls failed and the load stopped after ${this.count} completed: ${this.firstError ?? 'no message'}`
  }

  /** Resolves once `count` reached `n` or `deadline` (performance.now() ms) passed; true if reached. */
  async waitForCount(n: number, deadline: number): Promise<boolean> {
    while (this.count < n && performance.now() < deadline && !this.stopped) {
      await sleep(Math.min(50, Math.max(1, deadline - performance.now())))
    }
    return this.count >= n
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** An error's message and, for a Python exception, where it was raised (the traceback's last frame). */
export function describeError(error: unknown): string {
  if (error instanceof PythonError) {
    const frames = error.traceback
      .trim()
      .split('\n')
      .filter((l) => l.trimStart().startsWith('File '))
    const last = frames.at(-1)?.trim()
    return last ? `${error.message} (${last})` : error.message
  }
  return error instanceof Error ? error.message : String(error)
}
