/**
 * gauge against its variant at one host speed, over several `--variant` runs: per run, gauge / variant as
 * measured and with each repeat's two runs taken to one speed (host-adjust.ts, variantAtSpeed), and how
 * often the speed probe read the host slower in the variant's run. The policies' order rotates every
 * repeat (run.ts), so over many runs that count should sit near half; far from half in one run, its
 * measured ratio carries the host's drift as well as the rule.
 *
 *   npx tsx benches/variant-at-speed.ts --runs benches/results/A,benches/results/B --name F
 */
import path from 'node:path'
import { totalVariantAtSpeed, variantAtSpeed } from '../src/bench/host-adjust.js'
import { readResult } from '../src/bench/index.js'
import { variantPairs } from '../src/bench/summary.js'
import { arg, commandLine, median, writeResult } from './stats.js'

const ROOT = path.join(__dirname, '..')
const runs = arg('runs', '').split(',').filter(Boolean)
const name = arg('name', 'variant-at-speed')
if (runs.length === 0) throw new Error('--runs: name the result directories, comma-separated')

/** Two-sided exact sign test: the chance of a split at least this uneven from a fair coin. */
function signTestP(k: number, n: number): number {
  if (n === 0) return 1
  const tail = Math.min(k, n - k)
  let p = 0
  let c = 1 // C(n, 0)
  for (let i = 0; i <= tail; i++) {
    p += c
    c = (c * (n - i)) / (i + 1)
  }
  return Math.min(1, (2 * p) / 2 ** n)
}

interface RunRow {
  dir: string
  pairs: number
  measured: number
  atSpeed: number | null
  probedPairs: number
  adjusted: number
  variantSlower: number
  probed: number
}

const rows: RunRow[] = runs.map((dir) => {
  const bench = readResult(path.join(ROOT, dir))
  const pairs = variantPairs(bench.results).filter((p) => p.ratio !== null)
  const at = bench.results.flatMap((r) => {
    const a = variantAtSpeed(r)
    return a?.ratio ? [a] : []
  })
  const total = totalVariantAtSpeed(at)
  return {
    dir,
    pairs: pairs.length,
    measured: median(pairs.map((p) => p.ratio?.median ?? Number.NaN)),
    atSpeed: at.length ? median(total.pairRatios) : null,
    probedPairs: at.length,
    adjusted: total.adjusted,
    variantSlower: total.variantSlower,
    probed: total.probed,
  }
})

const probedRows = rows.filter((r) => r.probed > 0)
const slower = probedRows.reduce((n, r) => n + r.variantSlower, 0)
const probed = probedRows.reduce((n, r) => n + r.probed, 0)
const command = commandLine('benches/variant-at-speed.ts')
const md = [
  '# gauge against its variant at one host speed',
  '',
  `Made by \`${command}\`.`,
  '',
  "Per run: gauge / variant, the median over its pairs of each pair's median over repeats, as measured and " +
    "with each repeat's two runs taken to one host speed where they kept the CPUs alike (the run's report, " +
    '"gauge against its variant"); and in how many repeats the speed probe read the host slower in the ' +
    "variant's run, with the two-sided sign test's chance of a split at least as uneven if the order of the " +
    'two runs did not matter. Runs made before the probe have no speed readings (—). In a run made with the ' +
    "change as the default, gauge carries the change and the variant the old rule, as the run's report says.",
  '',
  '| run | pairs | gauge / variant measured | at one speed (pairs; repeats taken to one speed) | variant slower | sign test p |',
  '|---|---:|---:|---|---:|---:|',
  ...rows.map((r) => {
    const at = r.atSpeed === null ? '—' : `${r.atSpeed.toFixed(3)} (${r.probedPairs}; ${r.adjusted})`
    const split = r.probed ? `${r.variantSlower} of ${r.probed}` : '—'
    const p = r.probed ? signTestP(r.variantSlower, r.probed).toFixed(3) : '—'
    return `| ${path.basename(r.dir)} | ${r.pairs} | ${r.measured.toFixed(3)} | ${at} | ${split} | ${p} |`
  }),
  '',
  `Over the ${probedRows.length} runs with speed readings the probe read the variant's run slower in ${slower} of ` +
    `${probed} repeats (sign test p ${signTestP(slower, probed).toFixed(3)}).`,
  '',
].join('\n')
writeResult(ROOT, name, command, { runs: rows }, md)
process.stdout.write(md)
