/**
 * A pair's policies, confirmations and peers compared at one host speed. Each is measured minutes apart,
 * and meanwhile the host runs the same Python up to ~1.2× slower or faster over 10 s (host-speed.md): one
 * run per policy cannot tell ±5 % apart. The speed probe (host-speed.ts) gives each measured interval its
 * mean CPU ns per iteration h; a throughput T measured at h is taken to T × (h / h_ref)^s at the pair's
 * reference speed h_ref.
 *
 * s, the share of the throughput the host's speed moves, is the share of the pair's CPUs its best static
 * pool kept busy: a pool that fills its CPUs does proportionally less at a slower speed (s = 1), one that
 * mostly waits hardly notices (s → 0). One s per pair, the same for every column, so that no policy is
 * adjusted by its own behaviour. On two cores a GIL-bound pool fills one CPU of two and gets s ≈ 0.5 where
 * the truth is nearer 1: there the adjustment only removes part of the noise, in favour of no one.
 */

import { GAUGE_GOAL } from './shortfalls.js'
import { median, round, spread } from './stats.js'
import { type Column, RIVALS } from './summary.js'
import type { ProfileCoresResult, Spread } from './types.js'

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
  /** Each column's efficiency at h_ref: gauge and the rivals through the bridge against `best`,
   * PyPI betapool against the native static pool (as efficiencyNative). */
  efficiency: Record<Column, number | null>
  /** The held-out static run / the confirmation at its size, as measured and at h_ref (medians over repeats). */
  heldOut: { measured: number | null; adjusted: number | null }
}

/** The pair at one speed; null when it was not probed or its best pool has no speed or CPU reading. */
export function speedAdjusted(r: ProfileCoresResult): SpeedAdjusted | null {
  const confirmed = (r.confirmed ?? []).filter((c) => c.costs && c.costs.length === c.runs.length)
  const speeds = [
    ...confirmed.flatMap((c) => (c.costs ?? []).map((k) => k?.hostNsPerIter)),
    ...r.adaptive.flatMap((a) => a.runs.map((run) => run.steadyCost?.hostNsPerIter)),
    ...(r.heldOut?.runs ?? []).map((h) => h.cost?.hostNsPerIter),
    ...r.peers.flatMap((p) => p.runs.map((run) => run.hostNsPerIter)),
  ].filter((v): v is number => typeof v === 'number')
  const ref = median(speeds)
  if (ref === null) return null
  // The exponent from the sweep's (unadjusted) best confirmation: busy CPUs do not depend on the choice.
  const measuredBest = r.best ? confirmed.find((c) => c.n === r.best?.n) : undefined
  const busy = median(
    (measuredBest?.costs ?? []).map((k) => k?.busyCpus).filter((v): v is number => typeof v === 'number'),
  )
  if (busy === null) return null
  const share = Math.min(1, Math.max(0, busy / r.cores))
  const at = (t: number | null | undefined, h: number | null | undefined) => atSpeed(t, h, ref, share)
  const medianAt = (pairs: Array<[number | null | undefined, number | null | undefined]>) =>
    median(pairs.map(([t, h]) => at(t, h)).filter((v): v is number => v !== null))

  const atRef = confirmed.map((c) => ({
    n: c.n,
    throughput: medianAt(c.runs.map((t, i) => [t, c.costs?.[i]?.hostNsPerIter])),
  }))
  let best: { n: number; throughput: number } | null = null
  for (const c of atRef) {
    if (c.throughput !== null && (best === null || c.throughput > best.throughput)) {
      best = { n: c.n, throughput: c.throughput }
    }
  }
  if (best === null) return null
  const bestThroughput = best.throughput

  const efficiency = {} as Record<Column, number | null>
  for (const column of ['gauge', ...RIVALS] as Column[]) {
    if (column === 'pypi-betapool') {
      const runsOf = (mode: string) =>
        (r.peers.find((p) => p.mode === mode)?.runs ?? []).filter((run) => run.ok)
      const betapool = medianAt(runsOf('betapool').map((run) => [run.throughput, run.hostNsPerIter]))
      const native = medianAt(runsOf('static').map((run) => [run.throughput, run.hostNsPerIter]))
      efficiency[column] = betapool !== null && native ? round(betapool / native, 3) : null
      continue
    }
    const runs = r.adaptive.find((a) => a.policy === column)?.runs ?? []
    const t = medianAt(runs.map((run) => [run.throughput, run.steadyCost?.hostNsPerIter]))
    efficiency[column] = t === null ? null : round(t / bestThroughput, 3)
  }

  const heldOutRatios = (r.heldOut?.runs ?? []).map((h) => {
    const c = confirmed.find((k) => k.n === h.n)
    const atN = atRef.find((k) => k.n === h.n)?.throughput ?? null
    const measured =
      c?.throughput?.median && h.throughput !== null ? h.throughput / c.throughput.median : null
    const held = at(h.throughput, h.cost?.hostNsPerIter)
    return { measured, adjusted: held !== null && atN ? held / atN : null }
  })
  const mid = (xs: Array<number | null>) => {
    const m = median(xs.filter((v): v is number => v !== null))
    return m === null ? null : round(m, 3)
  }
  return {
    share: round(share, 3),
    refNsPerIter: round(ref, 2),
    best: { n: best.n, throughput: round(bestThroughput, 2) },
    efficiency,
    heldOut: {
      measured: mid(heldOutRatios.map((h) => h.measured)),
      adjusted: mid(heldOutRatios.map((h) => h.adjusted)),
    },
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
