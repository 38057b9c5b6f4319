/**
 * What the adaptive runs' monitor costs a small pool through the bridge: the same static pool, run as the
 * benchmark's confirmations run it (no monitor) and as its adaptive policies run (the `sample` monitor and
 * the decision loop of `adaptiveController`, here with a fixed size so that only the monitoring differs).
 *
 *   npx tsx benches/monitor-cost.ts [--pairs cpu-heavy:2:1,2 …] [--seconds 6] [--repeats 4] [--name F]
 *
 * Each run: a fresh companion at N threads pinned to the pair's CPUs, the bench's closed-loop load
 * (max(2N, 32) calls outstanding), 1.5 s warm-up, then `seconds` measured. Modes and points interleaved,
 * the order rotated each repeat. Writes benches/results/F.{json,md} (F: monitor-cost by default).
 */
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { pinNodeAwayFrom } from '../src/bench/affinity.js'
import { cpusFor } from '../src/bench/config.js'
import { ClosedLoop, sleep } from '../src/bench/load.js'
import { concurrencyFor, discard, spawnBridge } from '../src/bench/runners.js'
import { rotated } from '../src/bench/stats.js'
import { adaptiveController } from '../src/bridge/adaptive.js'
import type { PythonBridge } from '../src/bridge/index.js'
import { arg, commandLine, median, writeResult } from './stats.js'

const ROOT = path.join(__dirname, '..')
const PYTHON = process.env.GILGAUGE_BENCH_PYTHON ?? path.join(ROOT, '.venv', 'bin', 'python')
const SECONDS = Number(arg('seconds', '6'))
const REPEATS = Number(arg('repeats', '4'))
const PAIRS = arg('pairs', 'cpu-heavy:2:1,2;cpu-dominant:2:1,2')
  .split(';')
  .map((p) => {
    const [profile, cores, sizes] = p.split(':')
    return { profile: profile as string, cores: Number(cores), sizes: (sizes ?? '').split(',').map(Number) }
  })
const MODES = ['unmonitored', 'monitored'] as const
type Mode = (typeof MODES)[number]

interface Run {
  profile: string
  cores: number
  n: number
  mode: Mode
  repeat: number
  throughput: number
}

async function measure(profile: string, cores: number, n: number, mode: Mode): Promise<number> {
  const cpus = cpusFor(cores)
  pinNodeAwayFrom(cpus)
  const target = { python: PYTHON, pythonPath: path.join(ROOT, 'python'), profile, cpus }
  const bridge = await spawnBridge(
    target,
    { min: 1, max: n, initial: n },
    mode === 'monitored'
      ? { controller: (b: PythonBridge) => adaptiveController(b, { policy: { static: n } }) }
      : {},
  )
  const loop = new ClosedLoop(bridge, profile, () => concurrencyFor(n))
  try {
    loop.start()
    await sleep(1500)
    const t0 = performance.now()
    await sleep(SECONDS * 1000)
    const t1 = performance.now()
    if (loop.errors > 0 && loop.count === 0) throw new Error(loop.firstError ?? 'calls fail')
    return Math.round((loop.between(t0, t1).completions * 1000) / (t1 - t0))
  } finally {
    loop.stop()
    await discard(bridge)
  }
}

async function main(): Promise<void> {
  const plan = PAIRS.flatMap((p) =>
    p.sizes.flatMap((n) => MODES.map((mode) => ({ profile: p.profile, cores: p.cores, n, mode }))),
  )
  const runs: Run[] = []
  for (let r = 0; r < REPEATS; r++) {
    for (const p of rotated(plan, r)) {
      const throughput = await measure(p.profile, p.cores, p.n, p.mode)
      process.stderr.write(
        `repeat ${r + 1}/${REPEATS} ${p.profile}:${p.cores}:${p.n} ${p.mode} ${throughput}/s\n`,
      )
      runs.push({ ...p, repeat: r, throughput })
    }
  }
  const points = PAIRS.flatMap((p) => p.sizes.map((n) => ({ profile: p.profile, cores: p.cores, n })))
  const rows = points.map((p) => {
    const of = (mode: Mode) =>
      runs.filter((x) => x.profile === p.profile && x.cores === p.cores && x.n === p.n && x.mode === mode)
    // Ratios within a repeat: the two modes ran next to each other, so host drift mostly cancels.
    const ratios = of('monitored').map((m) => {
      const u = of('unmonitored').find((x) => x.repeat === m.repeat)
      return u && u.throughput > 0 ? m.throughput / u.throughput : Number.NaN
    })
    const finite = ratios.filter(Number.isFinite)
    const fmt = (xs: number[]) => `${median(xs)} (${Math.min(...xs)}–${Math.max(...xs)})`
    return {
      ...p,
      unmonitored: fmt(of('unmonitored').map((x) => x.throughput)),
      monitored: fmt(of('monitored').map((x) => x.throughput)),
      ratio: `${median(finite).toFixed(3)} (${Math.min(...finite).toFixed(3)}–${Math.max(...finite).toFixed(3)})`,
    }
  })
  const command = commandLine('benches/monitor-cost.ts')
  const md = [
    '# A static pool with and without the adaptive runs’ monitor',
    '',
    `Made by \`${command}\` on ${new Date().toISOString().slice(0, 10)}, ${REPEATS} repeats (modes and sizes interleaved, the order rotated), ${SECONDS} s each after 1.5 s warm-up. "unmonitored" is how the benchmark's confirmations run a static pool (its yardstick); "monitored" adds what its adaptive runs carry: the \`sample\` monitor and the decision loop, with a fixed size.`,
    '',
    '| profile | cores | N | unmonitored tasks/s, median (min–max) | monitored tasks/s | monitored / unmonitored, same repeat: median (min–max) |',
    '|---|---:|---:|---|---|---|',
    ...rows.map(
      (r) => `| ${r.profile} | ${r.cores} | ${r.n} | ${r.unmonitored} | ${r.monitored} | ${r.ratio} |`,
    ),
    '',
  ].join('\n')
  writeResult(ROOT, arg('name', 'monitor-cost'), command, { runs, rows }, md)
  process.stdout.write(md)
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
