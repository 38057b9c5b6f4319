import type { ControlInput, Decision, Policy } from './policy.js'
import { clampSize, round3 } from './util.js'

/**
 * Algorithm 1 of Mandal & Shende, "Mitigating GIL Bottlenecks in Edge AI Systems" (arXiv 2601.10582),
 * "Adaptive Thread Pool Controller (EWMA + Hysteresis + Veto)", as printed in the paper's LaTeX source:
 *
 *   β_ewma ← α·β_sample + (1 − α)·β_ewma          (β_ewma starts at 0.5)
 *   if Q > 0:
 *     if β_ewma > β_thresh: c_up += 1; if c_up ≥ H: N ← min(N + 1, N_max); c_up ← 0
 *     else: VETO (no growth); c_up ← 0
 *   if Q = 0 and N > N_min: N ← max(N − 1, N_min)
 *
 * β_sample here is time-weighted over the interval's completed tasks, 1 − meanCpu/meanWall (= 1 − Σcpu/Σwall);
 * the authors' library averages per-task β instead. An interval without completions leaves β_ewma unchanged.
 */
export const PAPER_RULES = {
  intervalMs: 500,
  alpha: 0.2,
  initialBeta: 0.5,
  betaThreshold: 0.3,
  hysteresis: 3,
  minThreads: 4,
  maxThreads: 128,
} as const

export type PaperOptions = Partial<{ -readonly [K in keyof typeof PAPER_RULES]: number }>

export class PaperPolicy implements Policy {
  readonly name = 'paper'
  readonly intervalMs: number
  private readonly rules: { -readonly [K in keyof typeof PAPER_RULES]: number }
  private betaEwma: number
  private growSignals = 0

  constructor(options: PaperOptions = {}) {
    this.rules = { ...PAPER_RULES, ...options }
    this.intervalMs = this.rules.intervalMs
    this.betaEwma = this.rules.initialBeta
  }

  decide(input: ControlInput): Decision {
    const { tasks } = input
    const r = this.rules
    // The paper's bounds 4–128, kept inside the pool's own bounds.
    const lo = clampSize(r.minThreads, input.min, input.max)
    const hi = clampSize(r.maxThreads, input.min, input.max)
    const betaSample =
      tasks.completions > 0 && tasks.meanWallNs > 0 ? 1 - tasks.meanCpuNs / tasks.meanWallNs : null
    if (betaSample !== null) this.betaEwma = r.alpha * betaSample + (1 - r.alpha) * this.betaEwma

    let size = clampSize(input.size, lo, hi)
    let reason: string
    const beta = round3(this.betaEwma)
    if (tasks.queued > 0) {
      if (this.betaEwma > r.betaThreshold) {
        this.growSignals += 1
        if (this.growSignals >= r.hysteresis) {
          size = Math.min(size + 1, hi)
          this.growSignals = 0
          reason = `queue ${tasks.queued} and β_ewma ${beta} > ${r.betaThreshold} for ${r.hysteresis} intervals: +1`
        } else {
          reason = `grow signal ${this.growSignals}/${r.hysteresis} (β_ewma ${beta} > ${r.betaThreshold})`
        }
      } else {
        this.growSignals = 0
        reason = `veto: β_ewma ${beta} ≤ ${r.betaThreshold} (CPU/GIL-bound), no growth`
      }
    } else if (size > lo) {
      size = Math.max(size - 1, lo)
      reason = 'queue empty: −1'
    } else {
      reason = 'queue empty, at the minimum'
    }
    return {
      size,
      reason,
      inputs: {
        size: input.size,
        betaSample: betaSample === null ? null : round3(betaSample),
        betaEwma: beta,
        growSignals: this.growSignals,
        queued: tasks.queued,
        completions: tasks.completions,
        min: lo,
        max: hi,
      },
    }
  }
}
