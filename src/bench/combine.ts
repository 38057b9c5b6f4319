/**
 * Several passes of the bench side by side (`gilgauge bench --combine A,B --out C`): per profile and core
 * count, each pass's efficiencies (each against the best static pool of its own pass) and their median
 * over the passes. One pass on a shared machine moves a pair by ±5–10 %; the verdict is read on medians.
 */
import { eff, num } from './markdown.js'
import { GAUGE_GOAL } from './shortfalls.js'
import { spread } from './stats.js'
import type { BenchResult, ProfileCoresResult, Spread } from './types.js'

/** The columns the goal compares gauge with: paper and betapool (ours, through the bridge), PyPI betapool. */
export const RIVALS = ['paper', 'betapool', 'pypi-betapool'] as const
export type Column = 'gauge' | (typeof RIVALS)[number]
const COLUMNS: Column[] = ['gauge', ...RIVALS]

export interface PassSource {
  /** Where the pass was read from (its result directory). */
  dir: string
  result: BenchResult
}

export interface CombinedPair {
  profile: string
  cores: number
  /** One entry per source, in order: its efficiencies, or null where the pair was not measured there. */
  passes: Array<{
    dir: string
    bestN: number
    gaugeSize: number | null
    efficiency: Record<Column, number | null>
  } | null>
  median: Record<Column, Spread | null>
  /** gauge's median ≥ GAUGE_GOAL; null without a gauge number. */
  meetsGoal: boolean | null
  /** The rivals whose median is above gauge's. */
  belowRivals: Column[]
}

/** A pass's efficiency for one column (the median over that pass's repeats), or null. */
function efficiencyOf(r: ProfileCoresResult, column: Column): number | null {
  if (column === 'pypi-betapool') return r.peers.find((p) => p.mode === 'betapool')?.efficiencyNative ?? null
  return r.adaptive.find((a) => a.policy === column)?.efficiency?.median ?? null
}

export function combinePasses(sources: PassSource[]): CombinedPair[] {
  const keys: Array<{ profile: string; cores: number }> = []
  for (const s of sources) {
    for (const r of s.result.results) {
      if (!keys.some((k) => k.profile === r.profile && k.cores === r.cores))
        keys.push({ profile: r.profile, cores: r.cores })
    }
  }
  return keys.map(({ profile, cores }) => {
    const passes = sources.map((s) => {
      const r = s.result.results.find((x) => x.profile === profile && x.cores === cores)
      if (!r || r.unavailable || !r.best) return null
      const efficiency = Object.fromEntries(COLUMNS.map((c) => [c, efficiencyOf(r, c)])) as Record<
        Column,
        number | null
      >
      const gaugeSize = r.adaptive.find((a) => a.policy === 'gauge')?.finalSize?.median ?? null
      return { dir: s.dir, bestN: r.best.n, gaugeSize, efficiency }
    })
    const median = Object.fromEntries(
      COLUMNS.map((c) => [c, spread(passes.map((p) => p?.efficiency[c]))]),
    ) as Record<Column, Spread | null>
    const g = median.gauge?.median ?? null
    return {
      profile,
      cores,
      passes,
      median,
      meetsGoal: g === null ? null : g >= GAUGE_GOAL,
      belowRivals:
        g === null ? [] : RIVALS.filter((c) => (median[c]?.median ?? Number.NEGATIVE_INFINITY) > g),
    }
  })
}

const LABEL: Record<Column, string> = {
  gauge: 'gauge',
  paper: 'paper',
  betapool: 'betapool (ours)',
  'pypi-betapool': 'PyPI betapool',
}

/** The Markdown report; `command` made it, `sameCode` says whether the passes ran the same policy code. */
export function combinedMarkdown(
  sources: PassSource[],
  pairs: CombinedPair[],
  command: string,
  sameCode: string,
): string {
  const measured = pairs.filter((p) => p.meetsGoal !== null)
  const goal = measured.filter((p) => p.meetsGoal).length
  const above = measured.filter((p) => p.belowRivals.length === 0).length
  const both = measured.filter((p) => p.meetsGoal && p.belowRivals.length === 0).length
  const lines = [
    '# gilgauge bench: passes combined',
    '',
    'Made with:',
    '',
    '```',
    command,
    '```',
    '',
    'Passes (each efficiency is against the best static pool of its own pass; a pass is one run of',
    '`gilgauge bench`, whose own report, charts and decisions are in its directory):',
    '',
    ...sources.map(
      (s, i) =>
        `${i + 1}. \`${s.dir}\`: ${s.result.command}, ${s.result.startedAt} → ${s.result.finishedAt}, commit ${s.result.environment.commit ?? '?'}`,
    ),
    '',
    `Policy and workload code across the passes: ${sameCode}`,
    '',
    `## Verdict on the medians over passes (goal: gauge ≥ ${GAUGE_GOAL} and not below ${RIVALS.map((c) => LABEL[c]).join(', ')})`,
    '',
    `gauge ≥ ${GAUGE_GOAL}: ${goal} of ${measured.length} pairs; not below any of the three: ${above} of ${measured.length}; both: ${both} of ${measured.length}.`,
    '',
    `| profile | cores | passes | ${COLUMNS.map((c) => `${LABEL[c]}: median (min–max)`).join(' | ')} | gauge per pass [size] | verdict |`,
    `|---|---:|---:|${COLUMNS.map(() => '---|').join('')}---|---|`,
  ]
  for (const p of pairs) {
    const n = p.passes.filter((x) => x !== null).length
    const perPass = p.passes
      .map((x) => (x ? `${num(x.efficiency.gauge, 2)} [${x.gaugeSize ?? '—'}]` : '—'))
      .join(' · ')
    const misses = [
      ...(p.meetsGoal === false ? [`below ${GAUGE_GOAL}`] : []),
      ...p.belowRivals.map((c) => `below ${LABEL[c]}`),
    ]
    const verdict =
      p.meetsGoal === null ? 'no gauge number' : misses.length === 0 ? 'met' : `**${misses.join(', ')}**`
    lines.push(
      `| ${p.profile} | ${p.cores} | ${n} | ${COLUMNS.map((c) => eff(p.median[c])).join(' | ')} | ${perPass} | ${verdict} |`,
    )
  }
  lines.push(
    '',
    'With two passes the median is their mean. A pair missing from a pass (not run, or failed) has fewer passes.',
    '',
  )
  return lines.join('\n')
}
