/** Where gauge falls short (of 0.95 × best static, or of a peer), with what its decisions show. */
import { costSplit } from './cost-split.js'
import type { AdaptiveRun, ProfileCoresResult, Shortfall } from './types.js'

export const GAUGE_GOAL = 0.95

/** A reason with its numbers blanked, so that decisions of one kind count together. */
export const reasonKind = (reason: string): string =>
  reason
    .replace(/[−-]?\d+(\.\d+)?%?/g, '#')
    .replace(/\s+/g, ' ')
    .trim()

/** The gauge run whose efficiency is the median one. */
function medianRun(runs: AdaptiveRun[]): AdaptiveRun | undefined {
  const sorted = [...runs].sort((a, b) => a.throughput - b.throughput)
  return sorted[Math.floor((sorted.length - 1) / 2)]
}

export function gaugeEvidence(result: ProfileCoresResult): string {
  const gauge = result.adaptive.find((a) => a.policy === 'gauge')
  const run = gauge ? medianRun(gauge.runs) : undefined
  if (!run) return gauge?.error ? `gauge produced no run: ${gauge.error}` : 'gauge produced no run'
  const steady = run.decisions.filter((d) => d.tMs >= (run.decisions.at(-1)?.tMs ?? 0) / 2)
  const kinds = new Map<string, number>()
  for (const d of steady) kinds.set(reasonKind(d.reason), (kinds.get(reasonKind(d.reason)) ?? 0) + 1)
  const top = [...kinds.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([k, n]) => `${n}× "${k}"`)
    .join(', ')
  const last = run.decisions.filter((d) => d.inputs.source !== undefined).at(-1) ?? run.decisions.at(-1)
  const pick = (k: string) => (last?.inputs[k] === undefined ? '' : `${k}=${String(last.inputs[k])}`)
  const inputs = [
    'source',
    'cpuMs',
    'waitMs',
    'apparentWaitMs',
    'runqMs',
    'gilShare',
    'runqShare',
    'contention',
    'rawTarget',
    'target',
    'bias',
    'bestSize',
    'noiseBand',
  ]
    .map(pick)
    .filter(Boolean)
    .join(' ')
  const best = result.best ? `best static N=${result.best.n}` : ''
  const sweepBest = result.sweepBest ? `, sweep's best point N=${result.sweepBest.n}` : ''
  const ref = gauge?.efficiencyRef?.median
  const heldOut = gauge?.efficiencyHeldOut?.median
  const split = costSplit(result)
  const cpu =
    split?.busyRatio != null && split.costRatio != null
      ? `busy CPUs ${split.busyRatio.toFixed(2)} of the best static pool's, CPU per task ${split.costRatio.toFixed(2)} (its / gauge's); `
      : ''
  return (
    `${ref === undefined ? '' : `vs the best static pool of the same repeat ${ref.toFixed(2)}; `}` +
    `${heldOut === undefined ? '' : `vs the held-out static run ${heldOut.toFixed(2)}; `}${cpu}settled at ${run.finalSize} (mean ${run.meanSteadySize} over the steady half; ${best}${sweepBest}); ` +
    `steady-half decisions: ${top || 'none'}; last decision "${last?.reason ?? '—'}" on ${inputs || 'no inputs'}`
  )
}

export function findShortfalls(results: ProfileCoresResult[]): Shortfall[] {
  const out: Shortfall[] = []
  for (const r of results) {
    if (r.unavailable || !r.best) continue
    const gauge = r.adaptive.find((a) => a.policy === 'gauge')
    const g = gauge?.efficiency?.median ?? null
    const add = (what: string, other: number | null) =>
      out.push({ profile: r.profile, cores: r.cores, what, gauge: g, other, evidence: gaugeEvidence(r) })
    if (g === null) {
      add('gauge produced no number', null)
      continue
    }
    if (g < GAUGE_GOAL) add(`gauge below ${GAUGE_GOAL} of the best static throughput`, GAUGE_GOAL)
    for (const a of r.adaptive) {
      // The variant (--variant) is gauge itself with other options, not a rival.
      if (a.policy === 'gauge' || a.policy === 'gauge-variant') continue
      const e = a.efficiency?.median ?? null
      if (e !== null && e > g) add(`gauge below ${a.policy} (ours, through the bridge)`, e)
    }
    const native = r.peers.find((p) => p.mode === 'static')
    const yardstick = native ? `native ${native.label}` : 'the native static pool'
    for (const p of r.peers) {
      if (p.mode === 'static') continue
      const e = p.efficiencyNative
      if (e !== null && e > g)
        add(`gauge below the Python-native ${p.label} (its throughput / ${yardstick})`, e)
    }
  }
  return out
}
