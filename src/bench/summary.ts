/**
 * A pass's verdict over all its pairs: how many meet the goal against each yardstick, and how gauge compares
 * with each rival pair by pair. One pair's single run moves by ±30 % on a shared host; the counts and
 * medians over pairs are what a pass can say.
 */
import { DRIFT_REASON, PHASE_CHANGE_REASON } from '../control/gauge.js'
import { GAUGE_GOAL } from './shortfalls.js'
import { spread } from './stats.js'
import type { ProfileCoresResult, Spread } from './types.js'

/** The columns the goal compares gauge with: paper and betapool (ours, through the bridge), PyPI betapool. */
export const RIVALS = ['paper', 'betapool', 'pypi-betapool'] as const
export type Column = 'gauge' | (typeof RIVALS)[number]

/** How reports name the columns. */
export const LABEL: Record<Column, string> = {
  gauge: 'gauge',
  paper: 'paper',
  betapool: 'betapool (ours)',
  'pypi-betapool': 'PyPI betapool',
}

/** A pass's efficiency for one column (the median over that pass's repeats), or null. */
export function efficiencyOf(r: ProfileCoresResult, column: Column): number | null {
  if (column === 'pypi-betapool') return r.peers.find((p) => p.mode === 'betapool')?.efficiencyNative ?? null
  return r.adaptive.find((a) => a.policy === column)?.efficiency?.median ?? null
}

export interface PassVerdict {
  pairs: number
  /** gauge ≥ GAUGE_GOAL against the best confirmation (the goal's yardstick). */
  meetsGoal: number
  /** Pairs with a held-out static run, and gauge ≥ GAUGE_GOAL against it. */
  heldOutPairs: number
  meetsGoalHeldOut: number
  /** gauge at or above every rival's efficiency. */
  aboveAllRivals: number
  /** Per rival: gauge's efficiency / the rival's over the pairs where both have one, and how often > 1. */
  rivals: Array<{ rival: Column; ratio: Spread | null; gaugeHigher: number; pairs: number }>
  /** The held-out run / the best confirmation at the same size: the yardstick's luck plus run-to-run noise. */
  heldOutVsConfirmation: Spread | null
  heldOutBelowConfirmation: number
  /**
   * Pairs whose held-out run reached GAUGE_GOAL of the best confirmation: how often the best static size
   * itself, run once more, meets the goal set for gauge against the same yardstick.
   */
  heldOutMeetsGoal: number
  /**
   * gauge's declared workload changes (step 2). The bench's workloads never change, so each is the host's
   * speed or the size read as a new workload; a change in the steady half throws away what was learnt there.
   */
  phases: {
    runs: number
    declared: number
    /** Changes too small to start a phase (drift: the throughputs are dropped, the rest is kept). */
    drifts: number
    runsChangedInSteadyHalf: number
    /** Per-run efficiency of the runs with and without a change declared in their steady half. */
    efficiencyChanged: Spread | null
    efficiencyUnchanged: Spread | null
  }
}

/** `steadyFromMs`: where a run's steady half starts (half the policy run). */
export function passVerdict(rows: ProfileCoresResult[], steadyFromMs: number): PassVerdict {
  const measured = rows.filter((r) => !r.unavailable && r.best && efficiencyOf(r, 'gauge') !== null)
  const gaugeOf = (r: ProfileCoresResult) => efficiencyOf(r, 'gauge') as number
  const heldOut = measured
    .map((r) => r.adaptive.find((a) => a.policy === 'gauge')?.efficiencyHeldOut?.median)
    .filter((e): e is number => e !== undefined)
  const luck = measured
    .map((r) => (r.heldOut?.throughput && r.best ? r.heldOut.throughput.median / r.best.throughput : null))
    .filter((x): x is number => x !== null)
  return {
    pairs: measured.length,
    meetsGoal: measured.filter((r) => gaugeOf(r) >= GAUGE_GOAL).length,
    heldOutPairs: heldOut.length,
    meetsGoalHeldOut: heldOut.filter((e) => e >= GAUGE_GOAL).length,
    aboveAllRivals: measured.filter((r) =>
      RIVALS.every((c) => (efficiencyOf(r, c) ?? Number.NEGATIVE_INFINITY) <= gaugeOf(r)),
    ).length,
    rivals: RIVALS.map((rival) => {
      const ratios = measured
        .map((r) => {
          const other = efficiencyOf(r, rival)
          return other ? gaugeOf(r) / other : null
        })
        .filter((x): x is number => x !== null)
      return {
        rival,
        ratio: spread(ratios),
        gaugeHigher: ratios.filter((x) => x > 1).length,
        pairs: ratios.length,
      }
    }),
    heldOutVsConfirmation: spread(luck),
    heldOutBelowConfirmation: luck.filter((x) => x < 1).length,
    heldOutMeetsGoal: luck.filter((x) => x >= GAUGE_GOAL).length,
    phases: phaseChanges(measured, steadyFromMs),
  }
}

function phaseChanges(rows: ProfileCoresResult[], steadyFromMs: number): PassVerdict['phases'] {
  const runs = rows.flatMap((r) =>
    (r.adaptive.find((a) => a.policy === 'gauge')?.runs ?? []).map((run) => {
      const changes = run.decisions.filter((d) => d.reason.startsWith(PHASE_CHANGE_REASON))
      const drifts = run.decisions.filter((d) => d.reason.startsWith(DRIFT_REASON)).length
      const efficiency = r.best ? run.throughput / r.best.throughput : null
      return {
        changes: changes.length,
        drifts,
        inSteadyHalf: changes.some((d) => d.tMs >= steadyFromMs),
        efficiency,
      }
    }),
  )
  const changed = runs.filter((x) => x.inSteadyHalf)
  return {
    runs: runs.length,
    declared: runs.reduce((n, x) => n + x.changes, 0),
    drifts: runs.reduce((n, x) => n + x.drifts, 0),
    runsChangedInSteadyHalf: changed.length,
    efficiencyChanged: spread(changed.map((x) => x.efficiency)),
    efficiencyUnchanged: spread(runs.filter((x) => !x.inSteadyHalf).map((x) => x.efficiency)),
  }
}

/** The verdict as report lines (Markdown). */
export function verdictLines(v: PassVerdict): string[] {
  const f = (s: Spread | null) =>
    s ? `${s.median.toFixed(2)} (${s.min.toFixed(2)}–${s.max.toFixed(2)})` : '—'
  return [
    `Across the ${v.pairs} pairs measured: gauge ≥ ${GAUGE_GOAL} of the best static pool on ${v.meetsGoal}` +
      (v.heldOutPairs > 0
        ? ` (against the held-out static run: ${v.meetsGoalHeldOut} of ${v.heldOutPairs})`
        : '') +
      `; at or above all three rivals on ${v.aboveAllRivals}.`,
    '',
    ...v.rivals.map(
      (r) =>
        `- gauge / ${LABEL[r.rival]}, pair by pair: median ${f(r.ratio)}; gauge higher on ${r.gaugeHigher} of ${r.pairs}.`,
    ),
    ...(v.heldOutVsConfirmation
      ? [
          `- The held-out static run / the best confirmation (same size, fresh companions): ${f(v.heldOutVsConfirmation)}, ` +
            `below 1 on ${v.heldOutBelowConfirmation} of ${v.heldOutVsConfirmation.n}: the yardstick's luck together with ` +
            'the spread of two runs of one configuration. ' +
            `The best static size itself, run once more, reached ≥ ${GAUGE_GOAL} of the best static pool on ` +
            `${v.heldOutMeetsGoal} of ${v.heldOutVsConfirmation.n}: what a policy that always picked that size would have shown here in one run.`,
        ]
      : []),
    `- gauge declared ${count(v.phases.declared, 'workload change')} in ${count(v.phases.runs, 'run')}; the workloads here never change. ` +
      (v.phases.runsChangedInSteadyHalf > 0
        ? `${count(v.phases.runsChangedInSteadyHalf, 'run')} declared one in the steady half and ran at ${f(v.phases.efficiencyChanged)} of the ` +
          `best static pool, the others at ${f(v.phases.efficiencyUnchanged)}. `
        : `None was in a steady half; the runs ran at ${f(v.phases.efficiencyUnchanged)} of the best static pool. `) +
      `It noted ${count(v.phases.drifts, 'smaller change')} as drift, which keeps the phase.`,
  ]
}

/** "1 run", "2 runs". */
export const count = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`

/** gauge against its variant (`--variant`) on one pair: the runs of each repeat paired. */
export interface VariantPair {
  profile: string
  cores: number
  /** The variant's options, as key=value pairs. */
  options: string
  gauge: Spread | null
  variant: Spread | null
  /** gauge's steady throughput / the variant's, per repeat (both ran in that repeat's rotation). */
  ratio: Spread | null
  gaugeSize: Spread | null
  variantSize: Spread | null
  /** Worker threads each run started (null for results from before they were counted). */
  gaugeThreads: Spread | null
  variantThreads: Spread | null
}

/** Per pair: gauge / its variant, each repeat's runs paired. Empty without a variant. */
export function variantPairs(rows: ProfileCoresResult[]): VariantPair[] {
  const pairs: VariantPair[] = []
  for (const r of rows) {
    const g = r.adaptive.find((a) => a.policy === 'gauge')
    const v = r.adaptive.find((a) => a.policy === 'gauge-variant')
    if (!g || !v) continue
    const n = Math.min(g.runs.length, v.runs.length)
    const ratios = Array.from({ length: n }, (_, i) => {
      const a = g.runs[i]?.throughput
      const b = v.runs[i]?.throughput
      return a !== undefined && b ? a / b : null
    })
    pairs.push({
      profile: r.profile,
      cores: r.cores,
      options: Object.entries(v.variantOptions ?? {})
        .map(([k, x]) => `${k}=${x}`)
        .join(', '),
      gauge: g.efficiency,
      variant: v.efficiency,
      ratio: spread(ratios),
      gaugeSize: spread(g.runs.map((x) => x.meanSteadySize)),
      variantSize: spread(v.runs.map((x) => x.meanSteadySize)),
      gaugeThreads: spread(g.runs.map((x) => x.threadsStarted ?? null)),
      variantThreads: spread(v.runs.map((x) => x.threadsStarted ?? null)),
    })
  }
  return pairs
}

/** Over pairs: the median of their gauge / variant, how often gauge is higher, and each at the goal. */
export function summariseVariantPairs(pairs: VariantPair[]): {
  ratio: Spread | null
  gaugeHigher: number
  meetsGoal: { gauge: number; variant: number }
} {
  const medians = pairs.map((p) => p.ratio?.median ?? null)
  return {
    ratio: spread(medians),
    gaugeHigher: medians.filter((m) => m !== null && m > 1).length,
    meetsGoal: {
      gauge: pairs.filter((p) => (p.gauge?.median ?? 0) >= GAUGE_GOAL).length,
      variant: pairs.filter((p) => (p.variant?.median ?? 0) >= GAUGE_GOAL).length,
    },
  }
}
