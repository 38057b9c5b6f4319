/**
 * The hook where a pool-sizing policy drives the bridge (DESIGN.md §4).
 *
 * Every `policy.intervalMs` the loop takes the bridge's task stats for the
 * interval (`takeTaskWindow()`), asks the window source for the monitor's
 * window of the same interval, calls `policy.decide(...)` and, when the
 * decided size differs, resizes the pool with the decision's reason. The
 * bridge emits 'resize' for each change and 'stats' after each tick.
 *
 * `pool: 'adaptive'` uses the `controller` spawn option when given, else the
 * factory installed with `setAdaptiveControllerFactory` (the package entry
 * installs one that builds a ThreadMonitor on the Python pid plus the gauge
 * policy), else none: the pool then stays at its initial size.
 */
import type { ControlInput, Decision, Policy, TaskWindowStats } from '../control/policy.js'
import type { Window } from '../model/types.js'

/**
 * The monitor's window since its previous call, or null if there is none (no
 * probe). It gets the interval's task stats, whose per-thread busy times tell
 * the monitor which threads were idle workers.
 */
export type WindowSource = (tasks: TaskWindowStats) => Window | null | Promise<Window | null>

export interface ControllerOptions {
  policy: Policy
  windowSource?: WindowSource
  /** CPUs the Python process may use; default: its affinity at start (hello). */
  cores?: number
  /** Called when the window source or the policy throws; the loop carries on. Default: ignored. */
  onError?: (error: unknown) => void
  /**
   * The host's speed over an interval (epoch ms): CPU ns per iteration of a fixed loop on the Python
   * process's CPUs, or null when not sampled. Policies that judge at one host speed read it.
   */
  hostSpeed?: (fromMs: number, toMs: number) => number | null
  /** Called once when the loop stops (the bridge closed or exited): release the window source here. */
  onStop?: () => void
}

/** What the loop needs from a bridge (PythonBridge implements it). */
export interface ControlledBridge {
  readonly cores: number
  readonly pid: number
  takeTaskWindow(): TaskWindowStats
  /** Completions since the previous takeTaskWindow(). */
  pendingCompletions(): number
  readonly pool: {
    readonly size: number
    readonly min: number
    readonly max: number
    resize(size: number, reason?: string, window?: Window | null): Promise<number>
  }
}

/** Builds the controller for a bridge spawned with `pool: 'adaptive'`. */
export type ControllerFactory<B extends ControlledBridge = ControlledBridge> = (
  bridge: B,
) => ControllerOptions

/** An interval waiting for `policy.minCompletions` runs on at most this many times its length. */
export const MAX_INTERVAL_STRETCH = 20

let adaptiveFactory: ControllerFactory | null = null

/** Install (or with null, remove) the default controller for `pool: 'adaptive'`. */
export function setAdaptiveControllerFactory(factory: ControllerFactory | null): void {
  adaptiveFactory = factory
}

export function adaptiveControllerFactory(): ControllerFactory | null {
  return adaptiveFactory
}

export class ControllerLoop {
  lastWindow: Window | null = null
  lastDecision: Decision | null = null
  private timer: NodeJS.Timeout | null = null
  private intervalStartMs = 0
  private stopped = false

  constructor(
    private readonly bridge: ControlledBridge,
    private readonly options: ControllerOptions,
    private readonly afterTick: () => void,
  ) {}

  get policy(): Policy {
    return this.options.policy
  }

  start(): void {
    // Start the first interval now so its task stats cover exactly one interval.
    this.bridge.takeTaskWindow()
    this.intervalStartMs = Date.now()
    this.schedule()
  }

  stop(): void {
    if (!this.stopped) this.options.onStop?.()
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  private schedule(): void {
    if (this.stopped) return
    // A chain of timeouts, not an interval: a slow window source never overlaps itself.
    this.timer = setTimeout(
      () => void this.tick().finally(() => this.schedule()),
      this.options.policy.intervalMs,
    )
    this.timer.unref()
  }

  /** One control step; exposed for tests and for callers that drive the clock themselves. */
  async tick(): Promise<Decision | null> {
    try {
      // Too few completions yet: let this interval (tasks and window alike) run on.
      const { minCompletions, intervalMs } = this.options.policy
      const stretched = Date.now() - this.intervalStartMs >= MAX_INTERVAL_STRETCH * intervalMs
      if (minCompletions && this.bridge.pendingCompletions() < minCompletions && !stretched) return null
      const fromMs = this.intervalStartMs
      this.intervalStartMs = Date.now()
      const tasks = this.bridge.takeTaskWindow()
      const window = (await this.options.windowSource?.(tasks)) ?? null
      if (this.stopped) return null
      const pool = this.bridge.pool
      const input: ControlInput = {
        window,
        tasks,
        size: pool.size,
        min: pool.min,
        max: pool.max,
        cores: this.options.cores ?? this.bridge.cores,
        nowMs: Date.now(),
        hostNsPerIter: this.options.hostSpeed?.(fromMs, Date.now()) ?? null,
      }
      const decision = this.options.policy.decide(input)
      this.lastWindow = window
      this.lastDecision = decision
      const size = Math.min(pool.max, Math.max(pool.min, Math.round(decision.size)))
      if (Number.isFinite(size) && size !== pool.size) await pool.resize(size, decision.reason, window)
      return decision
    } catch (error) {
      this.options.onError?.(error)
      return null
    } finally {
      if (!this.stopped) this.afterTick()
    }
  }
}
