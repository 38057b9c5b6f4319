/** Small helpers the benchmark scripts share: command-line options and robust statistics. */
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'

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

/** How this script was run, as one would type it: arguments a shell would split are quoted. */
export function commandLine(script: string): string {
  const args = process.argv.slice(2).map((a) => (/[;\s]/.test(a) ? `"${a}"` : a))
  return `npx tsx ${script} ${args.join(' ')}`.trim()
}

/** Write benches/results/NAME.json ({ command, date, ...data }) and NAME.md. */
export function writeResult(root: string, name: string, command: string, data: object, md: string): void {
  const out = path.join(root, 'benches', 'results')
  mkdirSync(out, { recursive: true })
  const json = { command, date: new Date().toISOString(), ...data }
  writeFileSync(path.join(out, `${name}.json`), `${JSON.stringify(json, null, 1)}\n`)
  writeFileSync(path.join(out, `${name}.md`), md)
}
