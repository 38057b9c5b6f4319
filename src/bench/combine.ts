/**
 * Several passes of the bench side by side (`gilgauge bench --combine A,B --out C`): per profile and core
 * count, each pass's efficiencies (each against the best static pool of its own pass) and their median
 * over the passes. One pass on a shared machine moves a pair by ±5–10 %; the verdict is read on medians.
 */
import { speedAdjusted } from './host-adjust.js'
import { eff, num } from './markdown.js'
import { GAUGE_GOAL } from './shortfalls.js'
import { median, nativeAtSettledSizes, spread } from './stats.js'
import { type Column, efficiencyOf, LABEL, RIVALS } from './summary.js'
import type { BenchResult, ProfileCoresResult, Spread } from './types.js'

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
    /** The best static pool's throughput in that pass (tasks/s). */
    bestThroughput: number
    gaugeSize: number | null
    efficiency: Record<Column, number | null>
    /**
     * The held-out run of the best static size / the best static pool: what a policy that always chose
     * that size measured in that pass (null where the pass had no held-out run).
     */
    heldOut: number | null
  } | null>
  median: Record<Column, Spread | null>
  /** The held-out runs' median over the passes. */
  medianHeldOut: Spread | null
  /** gauge's median ≥ GAUGE_GOAL; null without a gauge number. */
  meetsGoal: boolean | null
  /** The rivals whose median is above gauge's. */
  belowRivals: Column[]
}

/**
 * Every column's efficiency in one pass's pair, and the held-out run's (the best static size run again /
 * the best static pool): as measured (the default), or at one host speed.
 */
export type EfficienciesOf = (r: ProfileCoresResult) => {
  efficiency: Record<Column, number | null>
  heldOut: number | null
}

const measuredEfficiencies: EfficienciesOf = (r) => ({
  efficiency: Object.fromEntries(COLUMNS.map((c) => [c, efficiencyOf(r, c)])) as Record<
    Column,
    number | null
  >,
  heldOut: r.heldOut?.throughput && r.best ? r.heldOut.throughput.median / r.best.throughput : null,
})

/** Each column at the pair's host speed (host-adjust.ts); nulls in passes made before the speed probe. */
export const efficiencyAtSpeed: EfficienciesOf = (r) => {
  const adjusted = speedAdjusted(r)
  return {
    efficiency:
      adjusted?.efficiency ??
      (Object.fromEntries(COLUMNS.map((c) => [c, null])) as Record<Column, number | null>),
    heldOut: adjusted?.heldOutEfficiency ?? null,
  }
}

export function combinePasses(
  sources: PassSource[],
  efficienciesOf: EfficienciesOf = measuredEfficiencies,
): CombinedPair[] {
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
      const { efficiency, heldOut } = efficienciesOf(r)
      const gaugeSize = r.adaptive.find((a) => a.policy === 'gauge')?.finalSize?.median ?? null
      return {
        dir: s.dir,
        bestN: r.best.n,
        bestThroughput: r.best.throughput,
        gaugeSize,
        efficiency,
        heldOut,
      }
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
      medianHeldOut: spread(passes.map((p) => p?.heldOut)),
      meetsGoal: g === null ? null : g >= GAUGE_GOAL,
      belowRivals:
        g === null ? [] : RIVALS.filter((c) => (median[c]?.median ?? Number.NEGATIVE_INFINITY) > g),
    }
  })
}

/**
 * By how much a pair misses the goal on its medians: the largest of GAUGE_GOAL − gauge and each rival −
 * gauge (efficiency points); 0 when it is met, null without a gauge number.
 */
export function missMargin(p: CombinedPair): number | null {
  const g = p.median.gauge?.median
  if (g === undefined) return null
  const rivals = RIVALS.map((c) => p.median[c]?.median ?? Number.NEGATIVE_INFINITY)
  return Math.max(0, GAUGE_GOAL - g, ...rivals.map((r) => r - g))
}

/** gauge against the best static size run again (the held-out run), in the same passes. */
export interface AgainstHeldOut {
  /** Pair-passes with both a gauge number and a held-out run. */
  runs: number
  /** Of those, how many reached GAUGE_GOAL of their pass's best static pool: gauge, and the held-out run. */
  gaugeMeets: number
  heldOutMeets: number
  /** gauge / the held-out run, per pair-pass. */
  ratio: Spread | null
  /** Pairs whose median over passes reaches GAUGE_GOAL, of `pairs`: gauge, and the held-out run. */
  pairs: number
  gaugeMedianMeets: number
  heldOutMedianMeets: number
  /**
   * Pairs with gauge below the best size run again in every one of their passes, at least
   * MIN_PASSES_FOR_SIGN of them: below by chance alone at most 1 in 2^passes. Their median gauge / held-out.
   */
  alwaysBelow: Array<{ pair: string; passes: number; median: number }>
}

/** Passes a pair needs before "below in every pass" says something (1 in 8 by chance at three). */
const MIN_PASSES_FOR_SIGN = 3

/**
 * The goal asks gauge for GAUGE_GOAL of the best static pool, the best of several noisy confirmations. The
 * held-out run is the same size measured once more, timed like a policy: how often it reaches the goal is
 * how often a policy that always chose the best size could.
 */
export function againstHeldOut(pairs: CombinedPair[]): AgainstHeldOut {
  // Per pair, the passes with both a gauge number and a held-out run.
  const perPair = pairs.map((p) => ({
    p,
    runs: p.passes.flatMap((x) =>
      x && x.efficiency.gauge !== null && x.heldOut
        ? [{ gauge: x.efficiency.gauge, heldOut: x.heldOut }]
        : [],
    ),
  }))
  const both = perPair.flatMap((x) => x.runs)
  const withMedians = pairs.filter((p) => p.median.gauge && p.medianHeldOut)
  const alwaysBelow = perPair.flatMap(({ p, runs }) => {
    const ratios = runs.map((r) => r.gauge / r.heldOut)
    const mid = median(ratios)
    if (ratios.length < MIN_PASSES_FOR_SIGN || mid === null || ratios.some((r) => r >= 1)) return []
    return [{ pair: `${p.profile}, ${p.cores}`, passes: ratios.length, median: mid }]
  })
  return {
    runs: both.length,
    gaugeMeets: both.filter((x) => x.gauge >= GAUGE_GOAL).length,
    heldOutMeets: both.filter((x) => x.heldOut >= GAUGE_GOAL).length,
    ratio: spread(both.map((x) => x.gauge / x.heldOut)),
    pairs: withMedians.length,
    gaugeMedianMeets: withMedians.filter((p) => (p.median.gauge?.median ?? 0) >= GAUGE_GOAL).length,
    heldOutMedianMeets: withMedians.filter((p) => (p.medianHeldOut?.median ?? 0) >= GAUGE_GOAL).length,
    alwaysBelow: alwaysBelow.sort((a, b) => a.median - b.median),
  }
}

/** How far the passes of one pair disagree, over the pairs measured in two passes or more. */
export interface PassDisagreement {
  /** What was compared: an efficiency column, or the best static pool's throughput. */
  what: Column | 'best static'
  pairs: number
  /** Median and largest over pairs of (max − min) across passes: efficiency points, or a ratio − 1. */
  median: number
  max: number
  /** The pair with the largest disagreement ("profile, cores"). */
  maxPair: string
}

/**
 * Each pair's range across passes, summarised over pairs: the size of a difference that one pass on this
 * machine can make by itself. For efficiencies the range is max − min; for the best static pool's
 * throughput it is max / min − 1.
 */
export function passDisagreement(pairs: CombinedPair[]): PassDisagreement[] {
  const ranges = (what: PassDisagreement['what']) =>
    pairs.flatMap((p) => {
      const values = p.passes.flatMap((x) => {
        const v = x === null ? null : what === 'best static' ? x.bestThroughput : x.efficiency[what]
        return v === null ? [] : [v]
      })
      if (values.length < 2) return []
      const [lo, hi] = [Math.min(...values), Math.max(...values)]
      return [{ pair: `${p.profile}, ${p.cores}`, range: what === 'best static' ? hi / lo - 1 : hi - lo }]
    })
  const out: PassDisagreement[] = []
  for (const what of ['best static', ...COLUMNS] as const) {
    const r = ranges(what)
    const worst = r.reduce<(typeof r)[number] | null>(
      (a, b) => (a === null || b.range > a.range ? b : a),
      null,
    )
    const mid = median(r.map((x) => x.range))
    if (worst === null || mid === null) continue
    out.push({ what, pairs: r.length, median: mid, max: worst.range, maxPair: worst.pair })
  }
  return out
}

/** The bridge policies and the held-out static pool: the runs that record completions per second. */
const TAIL_RUNS = ['gauge', 'paper', 'betapool', 'held-out'] as const
export type TailRun = (typeof TAIL_RUNS)[number]

/**
 * A run's last quarter against its steady half (the last half), both from its completions per second:
 * above 1 where the run was still gaining when it ended. Null for fewer than four seconds or none completed.
 */
export function tailOverSteadyHalf(completionsPerSecond: readonly number[]): number | null {
  const n = completionsPerSecond.length
  if (n < 4) return null
  const mean = (from: number) => {
    const part = completionsPerSecond.slice(from)
    return part.reduce((a, b) => a + b, 0) / part.length
  }
  const half = mean(Math.floor(n / 2))
  return half > 0 ? mean(Math.floor((3 * n) / 4)) / half : null
}

export interface SteadyTail {
  what: TailRun
  /** Each run's last quarter / its steady half, over every run of every pair in every pass. */
  ratio: Spread
  /** How many of those runs ended faster than their steady half. */
  lateFaster: number
}

/**
 * Whether a longer run would change a policy's reading: a policy still converging or exploring in the steady
 * half ends faster than it ran there; the held-out static pool, which never changes size, shows the host's
 * own drift over the same seconds.
 */
export function steadyTail(sources: PassSource[]): SteadyTail[] {
  const out: SteadyTail[] = []
  for (const what of TAIL_RUNS) {
    const ratios = sources.flatMap((s) =>
      s.result.results.flatMap((r) => {
        const runs =
          what === 'held-out'
            ? (r.heldOut?.runs ?? [])
            : (r.adaptive.find((a) => a.policy === what)?.runs ?? [])
        return runs.flatMap((run) => {
          const x = run.completionsPerSecond ? tailOverSteadyHalf(run.completionsPerSecond) : null
          return x === null ? [] : [x]
        })
      }),
    )
    const ratio = spread(ratios)
    if (ratio) out.push({ what, ratio, lateFaster: ratios.filter((x) => x > 1).length })
  }
  return out
}

/**
 * Which native pool each pass divided the PyPI betapool by, when the passes differ: passes made before the
 * native static pool was also measured at PyPI betapool's sizes divided by the bridge's best N alone.
 */
function nativeYardsticks(sources: PassSource[]): string[] {
  const wide = sources.map((s) => nativeAtSettledSizes(s.result.results))
  if (wide.every((w) => w === wide[0])) return []
  const list = (want: boolean) => wide.flatMap((w, i) => (w === want ? [String(i + 1)] : [])).join(', ')
  return [
    `PyPI betapool's native yardstick differs: passes ${list(true)} divide by the best native pool among the ` +
      `bridge's best N and PyPI betapool's own sizes, passes ${list(false)} by the bridge's best N alone (which ` +
      "can read above 1 where the bridge's best N is not the native optimum).",
    '',
  ]
}

/** How many pairs with a gauge number meet the goal, sit below no rival, and both. */
function verdictCounts(pairs: CombinedPair[]): string {
  const measured = pairs.filter((p) => p.meetsGoal !== null)
  const goal = measured.filter((p) => p.meetsGoal).length
  const above = measured.filter((p) => p.belowRivals.length === 0).length
  const both = measured.filter((p) => p.meetsGoal && p.belowRivals.length === 0).length
  const of = measured.length
  return `gauge ≥ ${GAUGE_GOAL}: ${goal} of ${of} pairs; not below any of the three: ${above} of ${of}; both: ${both} of ${of}.`
}

/** One pair's verdict cell: met, or what it misses. */
function verdictOf(p: CombinedPair): string {
  if (p.meetsGoal === null) return 'no gauge number'
  const misses = [
    ...(p.meetsGoal === false ? [`below ${GAUGE_GOAL}`] : []),
    ...p.belowRivals.map((c) => `below ${LABEL[c]}`),
  ]
  return misses.length === 0 ? 'met' : `**${misses.join(', ')}**`
}

/** The Markdown report; `command` made it, `sameCode` says whether the passes ran the same policy code. */
export function combinedMarkdown(
  sources: PassSource[],
  pairs: CombinedPair[],
  command: string,
  sameCode: string,
): string {
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
    ...nativeYardsticks(sources),
    `## Verdict on the medians over passes (goal: gauge ≥ ${GAUGE_GOAL} and not below ${RIVALS.map((c) => LABEL[c]).join(', ')})`,
    '',
    verdictCounts(pairs),
    '',
    `| profile | cores | passes | ${COLUMNS.map((c) => `${LABEL[c]}: median (min–max)`).join(' | ')} | best size run again: median (min–max) | gauge per pass [size] | verdict |`,
    `|---|---:|---:|${COLUMNS.map(() => '---|').join('')}---|---|---|`,
  ]
  for (const p of pairs) {
    const n = p.passes.filter((x) => x !== null).length
    const perPass = p.passes
      .map((x) => (x ? `${num(x.efficiency.gauge, 2)} [${x.gaugeSize ?? '—'}]` : '—'))
      .join(' · ')
    lines.push(
      `| ${p.profile} | ${p.cores} | ${n} | ${COLUMNS.map((c) => eff(p.median[c])).join(' | ')} | ${eff(p.medianHeldOut)} | ${perPass} | ${verdictOf(p)} |`,
    )
  }
  lines.push(
    '',
    'With two passes the median is their mean. A pair missing from a pass (not run, or failed) has fewer passes.',
    '"Best size run again" is each pass\'s held-out run: the best static size run once more, timed like a policy, over the same best static pool.',
    '',
  )
  lines.push(...atSpeedVerdict(sources))
  const ceiling = againstHeldOut(pairs)
  if (ceiling.runs > 0) {
    lines.push(
      '## gauge against the best static size run again',
      '',
      'The best static pool is the best of several noisy runs, so the best size itself, run once more, often falls',
      'short of it. How often it still reaches the goal is how often a policy that always chose that size could:',
      '',
      ...heldOutBullets(ceiling),
      '',
    )
  }
  const disagreement = passDisagreement(pairs)
  if (disagreement.length > 0) {
    lines.push(
      '## How much one pass moves a pair',
      '',
      'Per pair, the range across its passes (max − min of the efficiency; max / min − 1 of the best static',
      "pool's throughput), summarised over the pairs measured in two passes or more. A margin smaller than",
      'this is decided by which pass it was measured in as much as by the policy.',
      '',
      '| measure | pairs | median range | largest range (pair) |',
      '|---|---:|---:|---|',
      ...disagreement.map((d) => {
        const label = d.what === 'best static' ? 'best static throughput' : `${LABEL[d.what]} efficiency`
        const show = (x: number) => (d.what === 'best static' ? `${Math.round(x * 100)} %` : num(x, 2))
        return `| ${label} | ${d.pairs} | ${show(d.median)} | ${show(d.max)} (${d.maxPair}) |`
      }),
      '',
    )
    const noise = disagreement.find((d) => d.what === 'gauge')?.median
    const missing = pairs.flatMap((p) => {
      const m = missMargin(p)
      return m !== null && m > 0 ? [{ pair: `${p.profile}, ${p.cores}`, margin: m }] : []
    })
    if (noise !== undefined && missing.length > 0) {
      const close = missing.filter((x) => x.margin < noise)
      lines.push(
        `Of the ${missing.length} pairs that miss the goal on their medians, ${close.length} miss it by less than gauge's ` +
          `median range across passes (${num(noise, 2)})${close.length > 0 ? `: ${close.map((x) => `${x.pair} (${num(x.margin, 2)})`).join('; ')}` : ''}. ` +
          `The others miss by more: ${
            missing
              .filter((x) => x.margin >= noise)
              .map((x) => `${x.pair} (${num(x.margin, 2)})`)
              .join('; ') || 'none'
          }.`,
        '',
      )
    }
  }
  const tail = steadyTail(sources)
  if (tail.length > 0) {
    lines.push(
      "## The run's last quarter against its steady half",
      '',
      "Each run's throughput over its last quarter / over its steady half (the last half, which efficiency reads),",
      'over every run of every pair in every pass. A policy still converging or exploring in the steady half ends',
      'faster than it ran there, and a longer run would read it higher; the held-out static pool never changes',
      "size, so its ratio is the host's own drift over the same seconds.",
      '',
      '| runs of | runs | last quarter / steady half: median (min–max) | ended faster |',
      '|---|---:|---|---:|',
      ...tail.map(
        (t) =>
          `| ${t.what === 'held-out' ? 'the best size run again' : LABEL[t.what]} | ${t.ratio.n} | ${eff(t.ratio)} | ${t.lateFaster} |`,
      ),
      '',
    )
  }
  return lines.join('\n')
}

/** What `againstHeldOut` found, as the bullets of a report section. */
function heldOutBullets(ceiling: AgainstHeldOut): string[] {
  return [
    `- Pair by pair in each pass (${ceiling.runs}): gauge ≥ ${GAUGE_GOAL} in ${ceiling.gaugeMeets}, the best size run again in ` +
      `${ceiling.heldOutMeets}; gauge / the best size run again: ${eff(ceiling.ratio)}.`,
    `- On the medians over passes (${ceiling.pairs} pairs): gauge ≥ ${GAUGE_GOAL} on ${ceiling.gaugeMedianMeets}, the best size ` +
      `run again on ${ceiling.heldOutMedianMeets}.`,
    `- Below the best size run again in every one of its passes (${MIN_PASSES_FOR_SIGN} or more; by chance alone 1 in ` +
      `2^passes for each pair): ${
        ceiling.alwaysBelow
          .map((x) => `${x.pair} (${x.passes} passes, median ${num(x.median, 2)})`)
          .join('; ') || 'none'
      }. That is where gauge loses throughput consistently rather than by the pass: its size, its exploration in ` +
      'the steady half, or its monitor.',
  ]
}

/**
 * The verdict again with every efficiency at its pair's host speed (each pass's "At one host speed"): the
 * policies run minutes apart and the host's speed moves meanwhile, so the medians over passes are read
 * once more with that taken out. Empty when no pass has speed readings.
 */
function atSpeedVerdict(sources: PassSource[]): string[] {
  const pairs = combinePasses(sources, efficiencyAtSpeed).filter((p) => p.meetsGoal !== null)
  if (pairs.length === 0) return []
  const ceiling = againstHeldOut(pairs)
  return [
    '## The verdict at one host speed',
    '',
    "The same medians over passes with each efficiency taken to its pair's host speed, as each pass's report does",
    'under "At one host speed" (src/bench/host-adjust.ts): a run that kept the CPUs as busy as its yardstick is taken',
    "to the pair's median speed, others keep their measured efficiency. Passes made before the speed probe add nothing here.",
    '',
    verdictCounts(pairs),
    '',
    `| profile | cores | passes | ${COLUMNS.map((c) => `${LABEL[c]}: median (min–max)`).join(' | ')} | best size run again: median (min–max) | verdict |`,
    `|---|---:|---:|${COLUMNS.map(() => '---|').join('')}---|---|`,
    ...pairs.map((p) => {
      const n = p.passes.filter((x) => x !== null && x.efficiency.gauge !== null).length
      return `| ${p.profile} | ${p.cores} | ${n} | ${COLUMNS.map((c) => eff(p.median[c])).join(' | ')} | ${eff(p.medianHeldOut)} | ${verdictOf(p)} |`
    }),
    '',
    ...(ceiling.runs > 0
      ? ['Against the best static size run again, at one speed too:', '', ...heldOutBullets(ceiling), '']
      : []),
  ]
}
