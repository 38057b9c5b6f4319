/**
 * Where a policy's throughput went, against the best static pool's. Over an interval, throughput =
 * busy CPUs / CPU per task (both of the Python process), so a policy's efficiency splits into two
 * factors: how busy it kept Python's CPUs against the best static pool (below 1: it left CPU unused —
 * too few threads, or waits it did not cover) and how much CPU each task cost against it (below 1: each
 * task cost more — hand-offs of too many threads, or a slower draw of a shared host). The best static
 * pool's own spread of CPU per task over its repeats shows how much the host alone moves that cost.
 */
import type { IntervalCost } from './process-cpu.js'
import { round, spread } from './stats.js'
import type { AdaptivePolicyName, ProfileCoresResult, Spread } from './types.js'

export interface CostSplit {
  profile: string
  cores: number
  /** The policy's efficiency (median over repeats). */
  efficiency: number | null
  best: { n: number; busyCpus: Spread | null; cpuMsPerTask: Spread | null }
  policy: { size: number | null; busyCpus: Spread | null; cpuMsPerTask: Spread | null }
  /** The held-out static run of the best size (a fixed pool timed like the policy). */
  heldOut: { busyCpus: Spread | null; cpuMsPerTask: Spread | null }
  /** Median busy CPUs of the policy / of the best static pool. */
  busyRatio: number | null
  /** Median CPU per task of the best static pool / of the policy. */
  costRatio: number | null
}

const ratio = (a: number | undefined, b: number | undefined): number | null =>
  a === undefined || b === undefined || b === 0 ? null : round(a / b, 3)

/** The split for `policy` on one pair; null when the pair has no CPU measurements (older results). */
export function costSplit(r: ProfileCoresResult, policy: AdaptivePolicyName = 'gauge'): CostSplit | null {
  const a = r.adaptive.find((x) => x.policy === policy)
  const bestRuns = r.confirmed?.find((c) => c.n === r.best?.n)?.costs ?? []
  const runs = a?.runs.map((x) => x.steadyCost) ?? []
  if (!r.best || !a || bestRuns.every((c) => !c) || runs.every((c) => !c)) return null
  const field = (costs: Array<IntervalCost | null | undefined>) => ({
    busyCpus: spread(costs.map((c) => c?.busyCpus)),
    cpuMsPerTask: spread(costs.map((c) => c?.cpuMsPerTask)),
  })
  const best = field(bestRuns)
  const own = field(runs)
  return {
    profile: r.profile,
    cores: r.cores,
    efficiency: a.efficiency?.median ?? null,
    best: { n: r.best.n, ...best },
    policy: { size: a.finalSize?.median ?? null, ...own },
    heldOut: field(r.heldOut?.runs.map((h) => h.cost) ?? []),
    busyRatio: ratio(own.busyCpus?.median, best.busyCpus?.median),
    costRatio: ratio(best.cpuMsPerTask?.median, own.cpuMsPerTask?.median),
  }
}

/**
 * Which factor a shortfall is mostly made of: 'busy' (CPU left unused), 'cost' (more CPU per task), or
 * null when neither is below 1 or the split is not measured.
 */
export function mainLoss(s: CostSplit): 'busy' | 'cost' | null {
  if (s.busyRatio === null || s.costRatio === null) return null
  if (s.busyRatio >= 1 && s.costRatio >= 1) return null
  return s.busyRatio <= s.costRatio ? 'busy' : 'cost'
}
