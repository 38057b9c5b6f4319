import type { Window } from '../model/types.js'

/** What the bridge measured from task results over one control interval. */
export interface TaskWindowStats {
  /** Length of the interval (ns). */
  durationNs: number
  /** Tasks completed in the interval. */
  completions: number
  /** Completions per second. */
  throughput: number
  /** Means over the completed tasks (ns): wall inside the worker, thread CPU, time queued before a worker took it. */
  meanWallNs: number
  meanCpuNs: number
  meanQueueNs: number
  /**
   * Completions that were the first task of their worker thread, and their CPU (ns). They carry the
   * thread's one-time set-up and are left out of meanWallNs and meanCpuNs (unless nothing else finished).
   */
  warmupCompletions: number
  warmupCpuNs: number
  /** Latency from submission to result (ns). */
  p50Ns: number
  p99Ns: number
  /** At the end of the interval. */
  queued: number
  inFlight: number
  /** Per worker tid: ns spent running tasks in the interval (lets the monitor tell busy from idle). */
  busyNsByTid: Map<number, number>
}

export interface ControlInput {
  /** The monitor's window for the same interval; null when no probe runs (rusage tier without a window). */
  window: Window | null
  tasks: TaskWindowStats
  /** Current pool size and its bounds. */
  size: number
  min: number
  max: number
  /** Logical CPUs the Python process may run on (its affinity). */
  cores: number
  nowMs: number
  /**
   * CPU ns a fixed reference loop cost per iteration on the process's CPUs over the interval (higher: the
   * host ran slower); absent or null when no speed probe runs.
   */
  hostNsPerIter?: number | null
}

/** One decision, recorded with what it was based on. */
export interface Decision {
  size: number
  reason: string
  inputs: Record<string, number | string | boolean | null>
}

/** A pool-sizing policy (DESIGN.md §4). `decide` is called once per interval. */
export interface Policy {
  readonly name: string
  /** How often the policy wants to be asked (ms). */
  readonly intervalMs: number
  /**
   * Completions an interval needs to be worth deciding on. The controller loop
   * lets an interval run on (up to MAX_INTERVAL_STRETCH × intervalMs) until it
   * has them, so that slow tasks still get decisions on whole windows.
   */
  readonly minCompletions?: number
  decide(input: ControlInput): Decision
}
