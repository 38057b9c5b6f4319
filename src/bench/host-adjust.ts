/**
 * A pair's policies and confirmations compared at one host speed. Each is measured minutes apart, and
 * meanwhile the host runs the same Python up to ~1.2× slower or faster over 10 s (host-speed.md): one run
 * per policy cannot tell ±5 % apart. The speed probe (host-speed.ts) gives each measured interval its mean
 * CPU ns per iteration h; a throughput T measured at h is taken to T × (h / h_ref)^s at the pair's
 * reference speed h_ref, s the share of the pair's CPUs its best static pool kept busy (a pool that fills
 * its CPUs does proportionally less at a slower speed; one that mostly waits hardly notices). One s per
 * pair, the same for every run.
 *
 * But h is not the host's alone: a vCPU that our own load leaves idle much of the time runs Python
 * slower: 1.25× (1.16–1.31 over rounds) idle against full in benches/results/speed-under-load.md.
 * A run that kept the CPUs less busy than its yardstick reads a higher h partly because of its own
 * choice, and adjusting it would forgive that. So a run is taken to h_ref only when its busy CPUs
 * are within BUSY_MATCH × cores of its yardstick's: the same load, so what differs in h is the
 * host. Other runs keep their measured efficiency, as do the PyPI betapool's in results whose
 * driver did not record busy CPUs.
 */
import type { IntervalCost } from './process-cpu.js'
import { GAUGE_GOAL } from './shortfalls.js'
import { median, round, spread } from './stats.js'
import { type Column, RIVALS } from './summary.js'
import type { ProfileCoresResult, Spread } from './types.js'

/** Busy CPUs within this share of the cores of the yardstick's: the same load (see above). */
export const BUSY_MATCH = 0.05

/** Whether a run with `busy` CPUs loaded them like a yardstick with `yardBusy` (null: not recorded). */
const sameLoad = (busy: number | null | undefined, yardBusy: number | null, cores: number): boolean =>
  typeof busy === 'number' && yardBusy !== null && Math.abs(busy - yardBusy) <= BUSY_MATCH * cores

/** A throughput measured at `nsPerIter`, taken to `refNsPerIter`; null without a speed. */
export function atSpeed(
  throughput: number | null | undefined,
  nsPerIter: number | null | undefined,
  refNsPerIter: number,
  share: number,
): number | null {
  if (typeof throughput !== 'number' || typeof nsPerIter !== 'number' || nsPerIter <= 0) return null
  return throughput * (nsPerIter / refNsPerIter) ** share
}

export interface SpeedAdjusted {
  /** The share of the pair's CPUs its best static pool kept busy: the exponent s. */
  share: number
  /** The pair's median speed over its probed intervals (ns per iteration). */
  refNsPerIter: number
  /** The best confirmed size, chosen again at h_ref, and its throughput there. */
  best: { n: number; throughput: number }
  /**
   * Each column's efficiency at one speed (columnEfficiency): gauge and the rivals through the bridge
   * against `best`, the PyPI betapool against the native static pool.
   */
  efficiency: Record<Column, number | null>
  /** Per column: its runs taken to h_ref, and its runs kept as measured (a load unlike its yardstick's). */
  runs: Record<Column, { adjusted: number; measured: number }>
  /** The held-out static run / the confirmation at its size, as measured and at h_ref (medians over repeats). */
  heldOut: { measured: number | null; adjusted: number | null }
  /** The held-out static run against `best`, read like a column (as measured where its load was unlike). */
  heldOutEfficiency: number | null
}

/** A run's throughput, and its speed and busy CPUs where recorded. */
interface Measured {
  throughput: number | null | undefined
  cost: (Pick<IntervalCost, 'hostNsPerIter'> & { busyCpus?: number | null }) | null | undefined
}

/**
 * One column's efficiency against a yardstick (the best static pool, or the native static pool for the
 * PyPI betapool): per run, at h_ref against the yardstick at h_ref when the run loaded the CPUs like the
 * yardstick's runs, as measured against the yardstick as measured otherwise; the median over runs.
 */
function columnEfficiency(
  runs: Measured[],
  yardstick: Measured[],
  ref: number,
  share: number,
  cores: number,
): { efficiency: number | null; adjusted: number; measured: number } {
  const busyOf = (m: Measured) => (typeof m.cost?.busyCpus === 'number' ? m.cost.busyCpus : null)
  const yardBusy = median(yardstick.map(busyOf).filter((v): v is number => v !== null))
  const yardMeasured = median(
    yardstick.map((m) => m.throughput).filter((v): v is number => typeof v === 'number'),
  )
  const yardAtRef = median(
    yardstick
      .map((m) => atSpeed(m.throughput, m.cost?.hostNsPerIter, ref, share))
      .filter((v): v is number => v !== null),
  )
  let adjusted = 0
  const ratios = runs.map((m) => {
    if (typeof m.throughput !== 'number') return null
    const busy = busyOf(m)
    const atRef = atSpeed(m.throughput, m.cost?.hostNsPerIter, ref, share)
    if (sameLoad(busy, yardBusy, cores) && atRef !== null && yardAtRef) {
      adjusted++
      return atRef / yardAtRef
    }
    return yardMeasured ? m.throughput / yardMeasured : null
  })
  const e = median(ratios.filter((v): v is number => v !== null))
  return { efficiency: e === null ? null : round(e, 3), adjusted, measured: runs.length - adjusted }
}

/** The pair at one speed; null when it was not probed or its best pool has no speed or CPU reading. */
export function speedAdjusted(r: ProfileCoresResult): SpeedAdjusted | null {
  const confirmed = (r.confirmed ?? []).filter((c) => c.costs && c.costs.length === c.runs.length)
  const runsOf = (c: (typeof confirmed)[number]): Measured[] =>
    c.runs.map((t, i) => ({ throughput: t, cost: c.costs?.[i] }))
  const peerRuns = (mode: string): Measured[] =>
    (r.peers.find((p) => p.mode === mode)?.runs ?? [])
      .filter((run) => run.ok)
      .map((run) => ({
        throughput: run.throughput,
        cost: { hostNsPerIter: run.hostNsPerIter, busyCpus: run.busyCpus },
      }))
  const speeds = [
    ...confirmed.flatMap((c) => (c.costs ?? []).map((k) => k?.hostNsPerIter)),
    ...r.adaptive.flatMap((a) => a.runs.map((run) => run.steadyCost?.hostNsPerIter)),
    ...(r.heldOut?.runs ?? []).map((h) => h.cost?.hostNsPerIter),
    ...r.peers.flatMap((p) => p.runs.map((run) => run.hostNsPerIter)),
  ].filter((v): v is number => typeof v === 'number')
  const ref = median(speeds)
  if (ref === null) return null
  // The exponent from the measured best confirmation: its busy CPUs.
  const measuredBest = r.best ? confirmed.find((c) => c.n === r.best?.n) : undefined
  const busy = median(
    (measuredBest?.costs ?? []).map((k) => k?.busyCpus).filter((v): v is number => typeof v === 'number'),
  )
  if (!measuredBest || busy === null) return null
  const share = Math.min(1, Math.max(0, busy / r.cores))

  // The best size again at h_ref: each candidate's runs that loaded the CPUs like the measured best's.
  let best: { n: number; throughput: number; runs: Measured[] } | null = null
  for (const c of confirmed) {
    const t = median(
      runsOf(c)
        .filter((m) => sameLoad(m.cost?.busyCpus, busy, r.cores))
        .map((m) => atSpeed(m.throughput, m.cost?.hostNsPerIter, ref, share))
        .filter((v): v is number => v !== null),
    )
    if (t !== null && (best === null || t > best.throughput))
      best = { n: c.n, throughput: t, runs: runsOf(c) }
  }
  if (best === null) return null
  const yardstick = best.runs

  const efficiency = {} as Record<Column, number | null>
  const runs = {} as SpeedAdjusted['runs']
  for (const column of ['gauge', ...RIVALS] as Column[]) {
    const measured: Measured[] =
      column === 'pypi-betapool'
        ? peerRuns('betapool')
        : (r.adaptive.find((a) => a.policy === column)?.runs ?? []).map((run) => ({
            throughput: run.throughput,
            cost: run.steadyCost,
          }))
    const of = columnEfficiency(
      measured,
      column === 'pypi-betapool' ? peerRuns('static') : yardstick,
      ref,
      share,
      r.cores,
    )
    efficiency[column] = of.efficiency
    runs[column] = { adjusted: of.adjusted, measured: of.measured }
  }

  // The held-out run against the confirmations of its own size.
  const heldOut = (r.heldOut?.runs ?? []).map((h) => {
    const c = confirmed.find((k) => k.n === h.n)
    if (!c) return { measured: null, adjusted: null }
    const of = columnEfficiency([{ throughput: h.throughput, cost: h.cost }], runsOf(c), ref, share, r.cores)
    const measured = c.throughput?.median && h.throughput !== null ? h.throughput / c.throughput.median : null
    return { measured, adjusted: of.adjusted > 0 ? of.efficiency : null }
  })
  const heldOutRuns = (r.heldOut?.runs ?? []).map((h) => ({ throughput: h.throughput, cost: h.cost }))
  const heldOutEfficiency = heldOutRuns.length
    ? columnEfficiency(heldOutRuns, yardstick, ref, share, r.cores).efficiency
    : null
  const mid = (xs: Array<number | null>) => {
    const m = median(xs.filter((v): v is number => v !== null))
    return m === null ? null : round(m, 3)
  }
  return {
    share: round(share, 3),
    refNsPerIter: round(ref, 2),
    best: { n: best.n, throughput: round(best.throughput, 2) },
    efficiency,
    runs,
    heldOut: {
      measured: mid(heldOut.map((h) => h.measured)),
      adjusted: mid(heldOut.map((h) => h.adjusted)),
    },
    heldOutEfficiency,
  }
}

export interface AdjustedVerdict {
  /** Pairs with a speed-adjusted reading. */
  pairs: number
  meetsGoal: number
  aboveAllRivals: number
  both: number
  /** Per rival: gauge / the rival at h_ref, and how often gauge is higher. */
  rivals: Array<{ rival: Column; ratio: Spread | null; gaugeHigher: number; pairs: number }>
  /**
   * |1 − held-out / confirmation| over the pairs, as measured and at h_ref: the same static pool measured
   * twice, so what is left is noise. The adjustment is worth what it takes off this.
   */
  sameSizeGap: { measured: Spread | null; adjusted: Spread | null }
}

export function adjustedVerdict(rows: ProfileCoresResult[]): AdjustedVerdict {
  const adjusted = rows
    .filter((r) => !r.unavailable)
    .map(speedAdjusted)
    .filter((a): a is SpeedAdjusted => a !== null && a.efficiency.gauge !== null)
  const gauge = (a: SpeedAdjusted) => a.efficiency.gauge as number
  const above = (a: SpeedAdjusted) =>
    RIVALS.every((c) => (a.efficiency[c] ?? Number.NEGATIVE_INFINITY) <= gauge(a))
  const gap = (xs: Array<number | null>) =>
    spread(xs.filter((v): v is number => v !== null).map((v) => round(Math.abs(1 - v), 3)))
  return {
    pairs: adjusted.length,
    meetsGoal: adjusted.filter((a) => gauge(a) >= GAUGE_GOAL).length,
    aboveAllRivals: adjusted.filter(above).length,
    both: adjusted.filter((a) => gauge(a) >= GAUGE_GOAL && above(a)).length,
    rivals: RIVALS.map((rival) => {
      const ratios = adjusted
        .map((a) => (a.efficiency[rival] ? gauge(a) / (a.efficiency[rival] as number) : null))
        .filter((v): v is number => v !== null)
      return {
        rival,
        ratio: spread(ratios.map((v) => round(v, 3))),
        gaugeHigher: ratios.filter((v) => v > 1).length,
        pairs: ratios.length,
      }
    }),
    sameSizeGap: {
      measured: gap(adjusted.map((a) => a.heldOut.measured)),
      adjusted: gap(adjusted.map((a) => a.heldOut.adjusted)),
    },
  }
}

/** gauge against its variant (`--variant`) on one pair, each repeat's two runs at one host speed. */
export interface VariantAtSpeed {
  /** Per repeat, the variant's run's ns per iteration / gauge's: above 1, the host ran the variant slower. */
  hostSlowdown: Spread | null
  /** Repeats whose variant run read the host slower than gauge's. */
  variantSlower: number
  /**
   * Per repeat, gauge / the variant with both taken to one speed where the two loaded the CPUs alike
   * (busy CPUs within BUSY_MATCH × cores of each other), as measured otherwise.
   */
  ratio: Spread | null
  /** Repeats taken to one speed, of those paired. */
  adjusted: number
  repeats: number
}

/**
 * The two runs of a repeat are minutes apart, like any two policies, so the host's speed moves between
 * them. At one speed gauge / variant is (T_g / T_v) × (h_g / h_v)^s: h_ref cancels, s is the pair's (see
 * speedAdjusted). Null without a variant, or where the pair cannot be adjusted at all.
 */
export function variantAtSpeed(r: ProfileCoresResult): VariantAtSpeed | null {
  const gauge = r.adaptive.find((a) => a.policy === 'gauge')?.runs ?? []
  const variant = r.adaptive.find((a) => a.policy === 'gauge-variant')?.runs ?? []
  const share = speedAdjusted(r)?.share
  if (variant.length === 0 || share === undefined) return null
  const slowdowns: number[] = []
  const ratios: number[] = []
  let adjusted = 0
  let repeats = 0
  for (let i = 0; i < Math.min(gauge.length, variant.length); i++) {
    const g = gauge[i]
    const v = variant[i]
    if (!g || !v || !(g.throughput > 0) || !(v.throughput > 0)) continue
    repeats++
    const hg = g.steadyCost?.hostNsPerIter
    const hv = v.steadyCost?.hostNsPerIter
    const measured = g.throughput / v.throughput
    const probed = typeof hg === 'number' && typeof hv === 'number' && hg > 0 && hv > 0
    if (probed) slowdowns.push(hv / hg)
    if (probed && sameLoad(g.steadyCost?.busyCpus, v.steadyCost?.busyCpus ?? null, r.cores)) {
      adjusted++
      ratios.push(measured * (hg / hv) ** share)
    } else ratios.push(measured)
  }
  const rounded = (xs: number[]) => spread(xs.map((x) => round(x, 3)))
  return {
    hostSlowdown: rounded(slowdowns),
    variantSlower: slowdowns.filter((x) => x > 1).length,
    ratio: rounded(ratios),
    adjusted,
    repeats,
  }
}

/** Over pairs: each pair's median gauge / variant at one speed, and the repeats counted across them. */
export function totalVariantAtSpeed(of: VariantAtSpeed[]): {
  pairRatios: number[]
  adjusted: number
  variantSlower: number
  probed: number
  repeats: number
} {
  const sum = (f: (a: VariantAtSpeed) => number) => of.reduce((n, a) => n + f(a), 0)
  return {
    pairRatios: of.flatMap((a) => (a.ratio ? [a.ratio.median] : [])),
    adjusted: sum((a) => a.adjusted),
    variantSlower: sum((a) => a.variantSlower),
    probed: sum((a) => a.hostSlowdown?.n ?? 0),
    repeats: sum((a) => a.repeats),
  }
}
