/** Small statistics helpers for the benchmark. */
import type { ProfileCoresResult, Spread, StaticPoint } from './types.js'

export function median(values: number[]): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/** Median, min and max of the finite values; null if none. */
export function spread(values: Array<number | null | undefined>): Spread | null {
  const finite = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
  if (finite.length === 0) return null
  return {
    median: median(finite) as number,
    min: Math.min(...finite),
    max: Math.max(...finite),
    n: finite.length,
  }
}

/** Nearest-rank percentile of unsorted values (p in 0..1); null when empty. */
export function percentile(values: ArrayLike<number>, p: number): number | null {
  if (values.length === 0) return null
  const sorted = Float64Array.from(values).sort()
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))
  return sorted[index] as number
}

/**
 * First time after which the size stayed within 5 % (at least ±1 thread) of `final`.
 * `series` is [t, size] at each change, starting with the initial size at t = 0.
 */
export function convergenceTime(series: Array<[number, number]>, final: number): number | null {
  if (series.length <= 1) return null
  const band = Math.max(1, 0.05 * final)
  let since: number | null = null
  for (const [t, size] of series) {
    if (Math.abs(size - final) <= band) {
      if (since === null) since = t
    } else {
      since = null
    }
  }
  return since
}

/** Time-weighted mean of a step function `series` over [t0, t1). */
export function meanSize(series: Array<[number, number]>, t0: number, t1: number): number {
  let total = 0
  for (let i = 0; i < series.length; i++) {
    const [t, size] = series[i] as [number, number]
    const next = i + 1 < series.length ? (series[i + 1] as [number, number])[0] : t1
    const a = Math.max(t, t0)
    const b = Math.min(next, t1)
    if (b > a) total += size * (b - a)
  }
  return t1 > t0 ? total / (t1 - t0) : Number.NaN
}

export const round = (x: number, digits = 3): number => {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

/** `items` started at index `by` (mod its length): repeat r of an interleaved plan runs in this order. */
export function rotated<T>(items: readonly T[], by: number): T[] {
  const n = items.length
  return items.map((_, i) => items[(((i + by) % n) + n) % n] as T)
}

/** The `count` sizes with the highest sweep throughput, in sweep order. */
export function topSizes(sweep: StaticPoint[], count: number): number[] {
  const ranked = sweep
    .filter((p) => p.throughput !== null)
    .sort((a, b) => (b.throughput?.median ?? 0) - (a.throughput?.median ?? 0))
    .slice(0, count)
    .map((p) => p.n)
  return ranked.sort((a, b) => a - b)
}

/** The confirmed candidate with the highest median throughput. */
export function confirmedBest(
  confirmed: Array<{ n: number; throughput: { median: number } | null }>,
): { n: number; throughput: number } | null {
  let best: { n: number; throughput: number } | null = null
  for (const c of confirmed) {
    const t = c.throughput?.median
    if (t !== undefined && (best === null || t > best.throughput)) best = { n: c.n, throughput: t }
  }
  return best
}

/**
 * The pool sizes an adaptive peer settled on, from its successful runs: the median of its final size (its
 * controller's setting) and of the threads it really had live, each once, without `except` (already
 * measured). The native yardstick is measured at these too: the bridge's best N is not always the best
 * without the bridge's protocol cost, and a peer must not read above 1 only because the one native size
 * measured was not the native optimum.
 */
export function settledSizes(
  runs: Array<{ ok: boolean; finalSize: number | null; liveFinal: number | null }>,
  except: number,
): number[] {
  const ok = runs.filter((r) => r.ok)
  const sizes = [
    median(ok.map((r) => r.finalSize).filter((v): v is number => v !== null)),
    median(ok.map((r) => r.liveFinal).filter((v): v is number => v !== null)),
  ]
    .filter((v): v is number => v !== null)
    .map((v) => Math.max(1, Math.round(v)))
  return [...new Set(sizes)].filter((n) => n !== except)
}

/**
 * Whether a run measured the native yardstick at PyPI betapool's settled sizes too (runs from before
 * 5f44326 measured it at the bridge's best N alone): its static peer then records the sizes tried.
 */
export function nativeAtSettledSizes(results: ProfileCoresResult[]): boolean {
  return results.some((r) => r.peers.some((p) => p.mode === 'static' && (p.tried?.length ?? 0) > 0))
}
