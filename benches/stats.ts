/** Small helpers the benchmark scripts share: command-line options and robust statistics. */

/** The value after `--name` on the command line, or `fallback`. */
export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback
}

/** Linear-interpolated quantile q ∈ [0, 1] of xs (NaN when empty). */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  const pos = (s.length - 1) * q
  const lo = s[Math.floor(pos)] as number
  const hi = s[Math.ceil(pos)] as number
  return lo + (hi - lo) * (pos - Math.floor(pos))
}

export const median = (xs: readonly number[]): number => quantile(xs, 0.5)
