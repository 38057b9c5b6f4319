/**
 * What parking surplus workers saves while a controller explores sizes: a fixed cycle of one size and a
 * few threads more (a probe or fill, then back), with the companion parking the workers it sheds (the
 * default) or letting them exit at once (`parkedLingerMs: 0`, the pool before parking), and the lower size
 * held throughout as the yardstick.
 *
 *   npx tsx benches/worker-parking.ts [--profile onnx-mobilenetv2] [--cores 1] [--sizes 16,19]
 *     [--every-ms 1500] [--seconds 30] [--repeats 3] [--name worker-parking]
 *
 * Each run: a fresh companion pinned to the pair's CPUs, the bench's closed-loop load for the larger size,
 * 3 s at the lower size, then `seconds` measured while the size alternates every `every-ms` (or holds).
 * Modes interleaved, the order rotated each repeat. Medians over repeats with their range; the ratios are
 * taken within each repeat. Writes benches/results/NAME.{json,md}.
 */
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { pinNodeAwayFrom } from '../src/bench/affinity.js'
import { cpusFor, PYTHON_MALLOC_ENV } from '../src/bench/config.js'
import { ClosedLoop, sleep } from '../src/bench/load.js'
import { processCpuMs } from '../src/bench/process-cpu.js'
import { concurrencyFor } from '../src/bench/runners.js'
import { rotated } from '../src/bench/stats.js'
import { PythonBridge } from '../src/bridge/index.js'
import { arg, commandLine, median, writeResult } from './stats.js'

const ROOT = path.join(__dirname, '..')
const PYTHON = process.env.GILGAUGE_BENCH_PYTHON ?? path.join(ROOT, '.venv', 'bin', 'python')
const PROFILE = arg('profile', 'onnx-mobilenetv2')
const CORES = Number(arg('cores', '1'))
const [LOW, HIGH] = arg('sizes', '16,19').split(',').map(Number) as [number, number]
const EVERY_MS = Number(arg('every-ms', '1500'))
const SECONDS = Number(arg('seconds', '30'))
const REPEATS = Number(arg('repeats', '3'))
const NAME = arg('name', 'worker-parking')
const WARMUP_MS = 3000

const MODES = ['parked', 'exit at once', 'held'] as const
type Mode = (typeof MODES)[number]
const DESCRIBE: Record<Mode, string> = {
  parked: `${LOW} ↔ ${HIGH}, shed workers parked (the default)`,
  'exit at once': `${LOW} ↔ ${HIGH}, shed workers exit at once (parkedLingerMs: 0)`,
  held: `${LOW} throughout`,
}

interface Run {
  mode: Mode
  repeat: number
  throughput: number
  /** The companion's CPU per completed task (ms), all its threads. */
  cpuPerTaskMs: number
  /** Distinct worker threads that finished a task in the measured seconds. */
  workerThreads: number
  /** First tasks of a worker that started or came back from parking (the bridge's warm-up count). */
  joinedTasks: number
}

async function measure(mode: Mode, repeat: number): Promise<Run> {
  const cpus = cpusFor(CORES)
  pinNodeAwayFrom(cpus)
  const bridge = await PythonBridge.spawn({
    module: 'gilgauge_workloads.tasks',
    python: PYTHON,
    pool: { min: 1, max: HIGH, initial: LOW },
    cpus,
    env: { ...PYTHON_MALLOC_ENV, PYTHONPATH: path.join(ROOT, 'python') },
    forwardStderr: false,
    startTimeoutMs: 60_000,
    ...(mode === 'exit at once' ? { parkedLingerMs: 0 } : {}),
  })
  const loop = new ClosedLoop(bridge, PROFILE, () => concurrencyFor(HIGH))
  try {
    loop.start()
    await sleep(WARMUP_MS)
    bridge.takeTaskWindow()
    const tids = new Set<number>()
    let joinedTasks = 0
    const cpu0 = processCpuMs(bridge.pid)
    const t0 = performance.now()
    for (let i = 0; performance.now() - t0 < SECONDS * 1000; i++) {
      if (mode !== 'held') await bridge.pool.resize(i % 2 === 0 ? HIGH : LOW, 'cycle')
      await sleep(Math.min(EVERY_MS, t0 + SECONDS * 1000 - performance.now()))
      const w = bridge.takeTaskWindow()
      for (const tid of w.busyNsByTid.keys()) tids.add(tid)
      joinedTasks += w.warmupCompletions
    }
    const t1 = performance.now()
    const cpu1 = processCpuMs(bridge.pid)
    const done = loop.between(t0, t1).completions
    if (loop.firstError) throw new Error(loop.firstError)
    return {
      mode,
      repeat,
      throughput: Math.round((done / (t1 - t0)) * 1000 * 10) / 10,
      cpuPerTaskMs:
        cpu0 !== null && cpu1 !== null ? Math.round(((cpu1 - cpu0) / done) * 1000) / 1000 : Number.NaN,
      workerThreads: tids.size,
      joinedTasks,
    }
  } finally {
    loop.stop()
    await bridge.close({ drainTimeoutMs: 0, graceMs: 0 }).catch(() => {})
  }
}

const fmt = (xs: number[], digits = 2): string => {
  const m = median(xs)
  return `${m.toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`
}

async function main(): Promise<void> {
  const runs: Run[] = []
  for (let r = 0; r < REPEATS; r++) {
    for (const mode of rotated([...MODES], r)) {
      const run = await measure(mode, r)
      process.stderr.write(`repeat ${r + 1}/${REPEATS} ${JSON.stringify(run)}\n`)
      runs.push(run)
    }
  }
  const of = (mode: Mode) => runs.filter((x) => x.mode === mode)
  // Within each repeat, against the held pool of the same repeat.
  const ratio = (mode: Mode, f: (x: Run) => number) =>
    of(mode).flatMap((x) => {
      const held = runs.find((h) => h.mode === 'held' && h.repeat === x.repeat)
      return held ? [f(x) / f(held)] : []
    })
  const pairedRatio = (f: (x: Run) => number) =>
    of('parked').flatMap((x) => {
      const exited = runs.find((e) => e.mode === 'exit at once' && e.repeat === x.repeat)
      return exited ? [f(x) / f(exited)] : []
    })
  const command = commandLine('benches/worker-parking.ts')
  const md = [
    '# What parking surplus workers saves while sizes are explored',
    '',
    '```',
    command,
    '```',
    '',
    `${new Date().toISOString()}. Profile ${PROFILE} on ${CORES} CPU(s), the closed-loop load of ${concurrencyFor(HIGH)} calls ` +
      `outstanding. After ${WARMUP_MS / 1000} s at ${LOW} threads, ${SECONDS} s measured while the pool goes ${LOW} → ${HIGH} → ${LOW} … ` +
      `every ${EVERY_MS} ms (a controller's probe or fill and its way back), or holds ${LOW}. ${REPEATS} repeats, modes ` +
      'interleaved and rotated; medians (min–max); the ratios are taken within each repeat against the held pool.',
    '',
    '| mode | tasks/s | / held | companion CPU per task (ms) | / held | worker threads that ran tasks | first tasks after a start or parking |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...MODES.map((mode) => {
      const mine = of(mode)
      return `| ${DESCRIBE[mode]} | ${fmt(
        mine.map((x) => x.throughput),
        1,
      )} | ${fmt(ratio(mode, (x) => x.throughput))} | ${fmt(
        mine.map((x) => x.cpuPerTaskMs),
        3,
      )} | ${fmt(ratio(mode, (x) => x.cpuPerTaskMs))} | ${fmt(
        mine.map((x) => x.workerThreads),
        0,
      )} | ${fmt(
        mine.map((x) => x.joinedTasks),
        0,
      )} |`
    }),
    '',
    `Parked / exit at once, each repeat's two runs: tasks/s ${fmt(pairedRatio((x) => x.throughput))}, higher in ` +
      `${pairedRatio((x) => x.throughput).filter((x) => x > 1).length} of ${REPEATS}; CPU per task ` +
      `${fmt(pairedRatio((x) => x.cpuPerTaskMs))}.`,
    '',
  ].join('\n')
  writeResult(ROOT, NAME, command, { profile: PROFILE, cores: CORES, low: LOW, high: HIGH, runs }, md)
  process.stdout.write(md)
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
