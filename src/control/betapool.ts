import type { ControlInput, Decision, Policy } from './policy.js'
import { clampSize, round3 } from './util.js'

/**
 * The betapool library's rules (PyPI `betapool`, AdaptiveThreadPoolExecutor._make_scaling_decision), in its order:
 *
 *   hold during the stabilisation window (since the last change, or since start)
 *   hold until `warmupTasks` tasks have completed
 *   if β > betaHigh:          +scaleUp when CPU < cpuHigh, else hold
 *   else if β < betaLow:      −scaleDown
 *   else if CPU > cpuHigh:    −scaleDown
 *
 * Note the chain: a saturated CPU only shrinks the pool when β is between the thresholds.
 * β is the mean over the last `recentTasks` tasks (here: completions-weighted over recent intervals,
 * each interval's β time-weighted). CPU is the process's utilisation in percent of all its cores
 * (the library reads psutil's system-wide figure, the same for a lone process).
 * The thresholds are named so they can be corrected against the library's source.
 */
export const BETAPOOL_RULES = {
  intervalMs: 500,
  betaHigh: 0.7,
  betaLow: 0.3,
  cpuHighPercent: 85,
  scaleUp: 2,
  scaleDown: 1,
  stabilisationMs: 2000,
  warmupTasks: 10,
  recentTasks: 100,
} as const

export type BetapoolOptions = Partial<{ -readonly [K in keyof typeof BETAPOOL_RULES]: number }>

/** Process CPU utilisation over the interval, percent of the cores it may use. */
export function cpuPercent(input: ControlInput): number {
  const { window, tasks } = input
  const durationNs = window?.durationNs ?? tasks.durationNs
  if (durationNs <= 0 || input.cores <= 0) return 0
  const cpuNs = window ? window.total.times.cpu : tasks.completions * tasks.meanCpuNs
  return (100 * cpuNs) / (durationNs * input.cores)
}

export class BetapoolPolicy implements Policy {
  readonly name = 'betapool'
  readonly intervalMs: number
  private readonly rules: { -readonly [K in keyof typeof BETAPOOL_RULES]: number }
  private lastChangeMs: number | null = null
  private totalTasks = 0
  /** Recent intervals' (completions, β), newest last, covering about `recentTasks` tasks. */
  private recent: Array<{ n: number; beta: number }> = []

  constructor(options: BetapoolOptions = {}) {
    this.rules = { ...BETAPOOL_RULES, ...options }
    this.intervalMs = this.rules.intervalMs
  }

  private recentBeta(): number | null {
    let n = 0
    let sum = 0
    for (const w of this.recent) {
      n += w.n
      sum += w.n * w.beta
    }
    return n > 0 ? sum / n : null
  }

  private remember(input: ControlInput): void {
    const { tasks } = input
    this.totalTasks += tasks.completions
    if (tasks.completions > 0 && tasks.meanWallNs > 0) {
      this.recent.push({ n: tasks.completions, beta: 1 - tasks.meanCpuNs / tasks.meanWallNs })
    }
    // Drop the oldest intervals while the rest still cover `recentTasks` tasks.
    while (this.recent.length > 1) {
      const rest = this.recent.slice(1).reduce((s, w) => s + w.n, 0)
      if (rest < this.rules.recentTasks) break
      this.recent.shift()
    }
  }

  decide(input: ControlInput): Decision {
    const r = this.rules
    this.remember(input)
    // The library's clock starts when the pool is created: the first call stands for that.
    if (this.lastChangeMs === null) this.lastChangeMs = input.nowMs
    const beta = this.recentBeta()
    const cpu = cpuPercent(input)
    const current = clampSize(input.size, input.min, input.max)
    const inputs = {
      size: input.size,
      beta: beta === null ? null : round3(beta),
      cpuPercent: round3(cpu),
      totalTasks: this.totalTasks,
      msSinceChange: input.nowMs - this.lastChangeMs,
    }
    const hold = (reason: string): Decision => ({ size: current, reason, inputs })

    if (input.nowMs - this.lastChangeMs < r.stabilisationMs)
      return hold(`stabilising (${r.stabilisationMs} ms)`)
    if (this.totalTasks < r.warmupTasks || beta === null)
      return hold(`warm-up (${this.totalTasks}/${r.warmupTasks} tasks)`)

    let size = current
    let reason: string
    const b = round3(beta)
    const c = Math.round(cpu)
    if (beta > r.betaHigh) {
      if (cpu < r.cpuHighPercent) {
        size = clampSize(current + r.scaleUp, input.min, input.max)
        reason = `β ${b} > ${r.betaHigh} and CPU ${c}% < ${r.cpuHighPercent}%: +${r.scaleUp}`
      } else {
        reason = `β ${b} > ${r.betaHigh} but CPU ${c}% ≥ ${r.cpuHighPercent}%: hold`
      }
    } else if (beta < r.betaLow) {
      size = clampSize(current - r.scaleDown, input.min, input.max)
      reason = `β ${b} < ${r.betaLow} (CPU-bound): −${r.scaleDown}`
    } else if (cpu > r.cpuHighPercent) {
      size = clampSize(current - r.scaleDown, input.min, input.max)
      reason = `CPU ${c}% > ${r.cpuHighPercent}%: −${r.scaleDown}`
    } else {
      reason = `β ${b} between ${r.betaLow} and ${r.betaHigh}: hold`
    }
    if (size !== current) this.lastChangeMs = input.nowMs
    return { size, reason, inputs }
  }
}
