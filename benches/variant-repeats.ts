/**
 * gauge against its variant over the repeats of several `--variant` runs of one variant: each pair's
 * repeats from every run, gauge's and the variant's paired within each repeat (summary.ts, variantPairs).
 * `--combine` compares gauge across passes but does not pair a variant's repeats across runs.
 *
 * `--flipped` names runs made after the change became the default, whose variant is the old rule: their
 * gauge and variant swap roles, so that "variant" is always the change.
 *
 *   npx tsx benches/variant-repeats.ts --runs benches/results/A,benches/results/B [--flipped benches/results/B] --name F
 */
import path from 'node:path'
import { variantAtSpeed } from '../src/bench/host-adjust.js'
import { readResult } from '../src/bench/index.js'
import { variantPairs } from '../src/bench/summary.js'
import type { AdaptivePolicyName, ProfileCoresResult } from '../src/bench/types.js'
import { arg, commandLine, median, writeResult } from './stats.js'

const ROOT = path.join(__dirname, '..')
const runs = arg('runs', '').split(',').filter(Boolean)
const flipped = new Set(arg('flipped', '').split(',').filter(Boolean))
const name = arg('name', 'variant-repeats')
if (runs.length === 0) throw new Error('--runs: name the result directories, comma-separated')
for (const dir of flipped) if (!runs.includes(dir)) throw new Error(`--flipped ${dir}: not one of --runs`)

const SWAPPED: Partial<Record<AdaptivePolicyName, AdaptivePolicyName>> = {
  gauge: 'gauge-variant',
  'gauge-variant': 'gauge',
}

// One row per pair: every run's gauge and variant runs, in the same order, so index i stays one repeat.
const rows = new Map<string, ProfileCoresResult>()
for (const dir of runs) {
  const bench = readResult(path.join(ROOT, dir))
  for (const result of bench.results) {
    const r = flipped.has(dir)
      ? { ...result, adaptive: result.adaptive.map((a) => ({ ...a, policy: SWAPPED[a.policy] ?? a.policy })) }
      : result
    const key = `${r.profile}:${r.cores}`
    const row = rows.get(key)
    if (!row) {
      rows.set(key, { ...r, adaptive: r.adaptive.map((a) => ({ ...a, runs: [...a.runs] })) })
      continue
    }
    for (const a of row.adaptive) {
      const more = r.adaptive.find((b) => b.policy === a.policy)
      if (more) a.runs.push(...more.runs)
    }
  }
}

const pairs = variantPairs([...rows.values()]).filter((p) => p.ratio !== null && p.ratio.n > 1)
// The same repeats with each repeat's two runs at one host speed (host-adjust.ts): null before the probe.
const atSpeed = pairs.map(
  (p) => variantAtSpeed(rows.get(`${p.profile}:${p.cores}`) as ProfileCoresResult)?.ratio,
)
const lines = pairs.map((p, i) => {
  const ratio = p.ratio as NonNullable<typeof p.ratio>
  const at = atSpeed[i]
  const atText = at
    ? `${(1 / at.median).toFixed(2)} (${(1 / at.max).toFixed(2)}–${(1 / at.min).toFixed(2)})`
    : '—'
  return `| ${p.profile} | ${p.cores} | ${ratio.n} | ${(1 / ratio.median).toFixed(2)} | ${(1 / ratio.max).toFixed(2)}–${(1 / ratio.min).toFixed(2)} | ${atText} |`
})
const perPair = pairs.map((p) => 1 / (p.ratio?.median ?? Number.NaN))
const perPairAtSpeed = atSpeed.flatMap((a) => (a ? [1 / a.median] : []))
const command = commandLine('benches/variant-repeats.ts')
const md = [
  '# gauge against its variant over the repeats of several runs',
  '',
  `Made by \`${command}\`. Each repeat pairs gauge's and the variant's steady throughput measured in the same rotation; pairs with one repeat are left out.${flipped.size ? ` In ${[...flipped].join(', ')} gauge carried the change and its variant the old rule: there the two swap, so "variant" is always the change.` : ''}`,
  '',
  'The last column takes each repeat\'s two runs to one host speed where they kept the CPUs alike, as measured otherwise (each run\'s report, "gauge against its variant").',
  '',
  '| profile | cores | repeats | variant / gauge, median | min–max | at one speed, median (min–max) |',
  '|---|---:|---:|---:|---|---|',
  ...lines,
  '',
  `Median over ${pairs.length} pairs of each pair's median: ${median(perPair).toFixed(2)}; below 0.95 on ${perPair.filter((x) => x < 0.95).length}.`,
  ...(perPairAtSpeed.length
    ? [
        `At one speed, over ${perPairAtSpeed.length} pairs: ${median(perPairAtSpeed).toFixed(2)}; below 0.95 on ${perPairAtSpeed.filter((x) => x < 0.95).length}.`,
      ]
    : []),
  '',
].join('\n')
writeResult(ROOT, name, command, { runs, flipped: [...flipped], pairs, atSpeed }, md)
process.stdout.write(md)
