import { setTimeout as sleep } from 'node:timers/promises'
import { ClosedError, fromNativeError, InvalidArgumentError } from '../errors.js'
import { type DecomposeOptions, decompose } from '../model/decompose.js'
import type { Window } from '../model/types.js'
import { native, type ProbeSnapshot } from '../native.js'

export interface MonitorOptions {
  /** Mean sampling rate (samples per thread per second). Default 200. */
  hz?: number
  /** Above this many threads, each tick samples a random subset of this size. Default 64. */
  threadBudget?: number
  /** Length of the windows `next()` returns (ms). Default 1000. */
  intervalMs?: number
  /** `_PyRuntime`'s address range when known (the bridge passes the companion's). */
  gilRange?: { start: bigint; end: bigint }
  /** Seed of the sampler's jitter, for repeatable runs. */
  seed?: bigint
  /**
   * Which tier to run (DESIGN.md §2.3). `'auto'` (default): `trace` when
   * permitted (root or CAP_PERFMON), else `sample`, else `rusage`. `'trace'`:
   * the same, but asked for explicitly; a refusal still falls back to
   * `sample`, with the reason in each window's `tierReason`. `'sample'`:
   * never trace.
   */
  tier?: 'auto' | 'trace' | 'sample'
}

type NativeProbe = ReturnType<ReturnType<typeof native>['Probe']['open']>

/** How often `next()` checks whether the target exited before the interval ends. */
const EXIT_POLL_MS = 50

/**
 * Watches the threads of one process. Windows are differences of the probe's
 * cumulative snapshots, so any number of monitors may watch one process.
 */
export class ThreadMonitor {
  readonly pid: number
  readonly intervalMs: number
  #probe: NativeProbe | null
  #last: ProbeSnapshot
  #ended = false

  private constructor(pid: number, probe: NativeProbe, intervalMs: number) {
    this.pid = pid
    this.intervalMs = intervalMs
    this.#probe = probe
    this.#last = probe.snapshot()
  }

  /** Starts watching `pid`. Throws NoProcessError (ENOPROC) when it does not exist. */
  static watch(pid: number, options: MonitorOptions = {}): ThreadMonitor {
    if (!Number.isInteger(pid) || pid <= 0) {
      throw new InvalidArgumentError(`pid must be a positive integer, got ${pid}`)
    }
    const intervalMs = options.intervalMs ?? 1000
    if (!(intervalMs > 0)) throw new InvalidArgumentError(`intervalMs must be positive, got ${intervalMs}`)
    let probe: NativeProbe
    try {
      probe = native().Probe.open(pid, {
        hz: options.hz,
        threadBudget: options.threadBudget,
        gilRangeStart: options.gilRange?.start,
        gilRangeEnd: options.gilRange?.end,
        seed: options.seed,
        tier: options.tier,
      })
    } catch (err) {
      throw fromNativeError(err, pid)
    }
    return new ThreadMonitor(pid, probe, intervalMs)
  }

  /** True once the target exited and its final window was returned, or after close(). */
  get ended(): boolean {
    return this.#ended || this.#probe === null
  }

  /** The probe's cumulative counters now. */
  snapshot(): ProbeSnapshot {
    if (!this.#probe) throw new ClosedError('this ThreadMonitor')
    return this.#probe.snapshot()
  }

  /** The window since the previous call (or since watching began). */
  window(options: DecomposeOptions = {}): Window {
    const current = this.snapshot()
    const w = decompose(this.#last, current, options)
    this.#last = current
    if (w.final) this.#ended = true
    return w
  }

  /**
   * Waits until `intervalMs` has passed since the last window (or the target
   * exits), then returns the window. After the final window it throws ECLOSED.
   */
  async next(options: DecomposeOptions = {}): Promise<Window> {
    if (this.ended) throw new ClosedError('this ThreadMonitor (its target exited)')
    const due = this.#last.takenNs + this.intervalMs * 1e6
    for (;;) {
      const current = this.snapshot()
      if (current.exited || current.takenNs >= due) return this.window(options)
      const leftMs = (due - current.takenNs) / 1e6
      await sleep(Math.min(EXIT_POLL_MS, Math.max(1, leftMs)))
      if (!this.#probe) throw new ClosedError('this ThreadMonitor')
    }
  }

  /** Windows until the target exits (the last one has `final: true`) or the monitor is closed. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Window> {
    while (!this.ended) {
      const w = await this.next()
      yield w
    }
  }

  /** Stops the sampler. Idempotent. */
  close(): void {
    this.#probe?.close()
    this.#probe = null
  }
}
