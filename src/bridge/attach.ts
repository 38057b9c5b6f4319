/**
 * `PythonBridge.attach({ pid })`: a monitor-only view of a Python process that
 * gilgauge did not start. It cannot resize that process's pool; it says how
 * many threads the measured work would want (the gauge policy's feed-forward
 * target, DESIGN.md §4).
 */
import { readFileSync } from 'node:fs'
import { feedForwardTarget, gilHeldCpuNs } from '../control/estimate.js'
import type { Window } from '../model/types.js'
import { type MonitorOptions, ThreadMonitor } from '../monitor/thread-monitor.js'

export interface AttachOptions extends MonitorOptions {
  pid: number
}

export interface AttachedWindow {
  window: Window
  /** Threads the measured work wants; null when the window had no busy CPU time. */
  recommendedSize: number | null
  reason: string
}

/** CPUs a process may run on, from `Cpus_allowed_list` in its status (e.g. "0-3,6"). */
export function allowedCpus(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const list = /^Cpus_allowed_list:\s*(.+)$/m.exec(status)?.[1] ?? ''
    return parseCpuList(list)
  } catch {
    return 1
  }
}

export function parseCpuList(list: string): number {
  let count = 0
  for (const part of list.split(',')) {
    const [lo, hi] = part.trim().split('-').map(Number)
    if (lo === undefined || Number.isNaN(lo)) continue
    count += hi === undefined || Number.isNaN(hi) ? 1 : hi - lo + 1
  }
  return Math.max(1, count)
}

/** The size the window's decomposition asks for. */
export function recommend(window: Window, cores: number): { size: number | null; reason: string } {
  const t = window.total.times
  if (t.cpu <= 0) return { size: null, reason: 'no busy CPU time in the window' }
  const gil = window.gilRange !== null
  const gilHeldNs = gilHeldCpuNs(window, t.cpu)
  const target = feedForwardTarget({ cpuNs: t.cpu, waitNs: t.io + t.sleep, gilHeldNs }, gil, cores)
  const size = Math.max(1, Math.round(target))
  const formula = !gil
    ? 'cores × (1 + (io + sleep) / cpu)'
    : gilHeldNs === null
      ? '1 + (io + sleep) / cpu'
      : `min((cpu + io + sleep) / cpu_GIL-held, cores × (1 + (io + sleep) / cpu)), GIL held ${(100 * (gilHeldNs / t.cpu)).toFixed(0)} % of cpu`
  return { size, reason: `${formula} = ${target.toFixed(2)} (${gil ? 'GIL' : 'no GIL'}, ${cores} cores)` }
}

export class AttachedView {
  readonly pid: number
  readonly cores: number
  readonly monitor: ThreadMonitor

  constructor(options: AttachOptions) {
    this.pid = options.pid
    this.monitor = ThreadMonitor.watch(options.pid, options)
    this.cores = allowedCpus(options.pid)
  }

  /** The next window (after the monitor's interval) with its recommended size. */
  async next(): Promise<AttachedWindow> {
    const window = await this.monitor.next()
    const { size, reason } = recommend(window, this.cores)
    return { window, recommendedSize: size, reason }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<AttachedWindow> {
    while (!this.monitor.ended) yield await this.next()
  }

  close(): void {
    this.monitor.close()
  }
}
