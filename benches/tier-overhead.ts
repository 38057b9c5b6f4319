/**
 * Throughput cost of each tier on the balanced micro-workload (issue 6):
 * 1000 iterations of `x += 1` then `time.sleep(0.0001)` per task, THREADS
 * workers in a closed loop, under no monitoring, the `sample` tier and the
 * `trace` tier. Runs are interleaved (the order rotates every repeat) so
 * drift on a shared machine hits every mode alike; medians and spread.
 *
 *   npx tsx benches/tier-overhead.ts [--seconds 3] [--repeats 7] [--threads 4] [--hz 200]
 *
 * The trace runs need root or CAP_PERFMON. Writes benches/results/tier-overhead.{json,md}.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createInterface, type Interface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { decompose } from '../src/model/decompose.js'
import { ThreadMonitor } from '../src/monitor/thread-monitor.js'
import { arg, quantile } from './stats.js'

const ROOT = path.join(__dirname, '..')
const FIXTURE = path.join(__dirname, 'fixtures', 'profile_threads.py')
const VENV = path.join(ROOT, '.venv', 'bin', 'python')
const PYTHON = process.env.GILGAUGE_BENCH_PYTHON ?? (existsSync(VENV) ? VENV : 'python3')

const SECONDS = Number(arg('seconds', '3'))
const REPEATS = Number(arg('repeats', '7'))
const THREADS = Number(arg('threads', '4'))
const HZ = Number(arg('hz', '200'))
const MODES = ['none', 'sample', 'trace'] as const
type Mode = (typeof MODES)[number]

interface Run {
  mode: Mode
  repeat: number
  tasksPerS: number
  tier: string | null
  probeCpuShare: number | null
  lostRecords: number
}

async function nextJson(lines: AsyncIterableIterator<string>): Promise<Record<string, unknown>> {
  const { value, done } = await lines.next()
  if (done) throw new Error('the workload exited')
  return JSON.parse(value) as Record<string, unknown>
}

async function once(mode: Mode, repeat: number): Promise<Run> {
  const child: ChildProcess = spawn(PYTHON, [FIXTURE, 'balanced', String(THREADS)], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, PYTHONPATH: path.join(ROOT, 'python') },
  })
  const rl: Interface = createInterface({ input: child.stdout as NonNullable<typeof child.stdout> })
  const lines = rl[Symbol.asyncIterator]()
  let monitor: ThreadMonitor | null = null
  try {
    await nextJson(lines) // ready
    if (mode !== 'none') monitor = ThreadMonitor.watch(child.pid as number, { tier: mode, hz: HZ })
    await sleep(300)
    const first = monitor?.snapshot()
    child.stdin?.write(`go ${SECONDS}\n`)
    const result = await nextJson(lines)
    const tasksPerS = (result.tasks as number) / (result.seconds as number)
    let probeCpuShare: number | null = null
    let lostRecords = 0
    if (monitor && first) {
      // Both snapshots published by the sampler thread (the one taken at
      // open is published by the opening thread, whose CPU time differs).
      const last = monitor.snapshot()
      const w = decompose(first, last)
      probeCpuShare = w.probeCpuShare
      lostRecords = last.threads.reduce((n, t) => n + (t.traceLost ?? 0), 0)
      if (mode === 'trace' && w.tier !== 'trace') throw new Error(`trace refused: ${w.tierReason}`)
    }
    return {
      mode,
      repeat,
      tasksPerS,
      tier: monitor ? (first?.tier ?? null) : null,
      probeCpuShare,
      lostRecords,
    }
  } finally {
    monitor?.close()
    child.kill('SIGKILL')
    rl.close()
  }
}

async function main(): Promise<void> {
  const loadBefore = os.loadavg()
  const runs: Run[] = []
  for (let r = 0; r < REPEATS; r++) {
    // Rotate the order so no mode always runs first (or last) in a repeat.
    const order = MODES.map((_, i) => MODES[(i + r) % MODES.length] as Mode)
    for (const mode of order) {
      const run = await once(mode, r)
      runs.push(run)
      console.error(`repeat ${r} ${mode}: ${run.tasksPerS.toFixed(0)} tasks/s`)
    }
  }
  const base = quantile(
    runs.filter((x) => x.mode === 'none').map((x) => x.tasksPerS),
    0.5,
  )
  // Per repeat, each monitored run against the unmonitored run of the same repeat.
  const paired = (mode: Mode): number[] =>
    [...Array(REPEATS).keys()].map((r) => {
      const none = runs.find((x) => x.repeat === r && x.mode === 'none') as Run
      const m = runs.find((x) => x.repeat === r && x.mode === mode) as Run
      return (1 - m.tasksPerS / none.tasksPerS) * 100
    })
  const summary = MODES.map((mode) => {
    const t = runs.filter((x) => x.mode === mode).map((x) => x.tasksPerS)
    const costs = mode === 'none' ? [] : paired(mode)
    const cpu = runs
      .filter((x) => x.mode === mode && x.probeCpuShare !== null)
      .map((x) => x.probeCpuShare as number)
    return {
      mode,
      medianTasksPerS: quantile(t, 0.5),
      minTasksPerS: Math.min(...t),
      maxTasksPerS: Math.max(...t),
      iqrTasksPerS: [quantile(t, 0.25), quantile(t, 0.75)],
      costVsMedianNonePct: (1 - quantile(t, 0.5) / base) * 100,
      pairedCostPct: costs.length
        ? { median: quantile(costs, 0.5), min: Math.min(...costs), max: Math.max(...costs) }
        : null,
      probeCpuShareMedian: cpu.length ? quantile(cpu, 0.5) : null,
      lostRecords: runs.filter((x) => x.mode === mode).reduce((n, x) => n + x.lostRecords, 0),
    }
  })
  const command = `npx tsx benches/tier-overhead.ts --seconds ${SECONDS} --repeats ${REPEATS} --threads ${THREADS} --hz ${HZ}`
  const meta = {
    command,
    date: new Date().toISOString(),
    python: PYTHON,
    kernel: os.release(),
    cpus: os.cpus().length,
    workload: 'balanced: 1000 × `x += 1`, then time.sleep(0.0001)',
    threads: THREADS,
    seconds: SECONDS,
    repeats: REPEATS,
    hz: HZ,
    loadavgBefore: loadBefore,
    loadavgAfter: os.loadavg(),
  }
  const out = path.join(__dirname, 'results')
  mkdirSync(out, { recursive: true })
  writeFileSync(path.join(out, 'tier-overhead.json'), `${JSON.stringify({ meta, summary, runs }, null, 2)}\n`)
  const f0 = (x: number): string => x.toFixed(0)
  const f1 = (x: number): string => x.toFixed(1)
  const md = [
    '# Throughput cost of the probe tiers',
    '',
    `Made by \`${command}\` (as root) on ${meta.date.slice(0, 10)}, kernel ${meta.kernel}, ${meta.cpus} CPUs shared with other work (1-min load average ${(meta.loadavgBefore[0] ?? 0).toFixed(1)} before, ${(meta.loadavgAfter[0] ?? 0).toFixed(1)} after): read the spread before the medians.`,
    `Workload: ${meta.workload}, ${THREADS} threads in a closed loop, ${SECONDS} s per run, ${REPEATS} repeats of the three modes interleaved (order rotated each repeat), a fresh Python process per run. Sampling rate ${HZ} Hz in both monitored modes (the trace tier keeps sampling).`,
    '',
    '| mode | median tasks/s | IQR | min–max | cost vs median of none | paired cost per repeat: median (min … max) | probe CPU (share of one CPU) | lost records |',
    '|---|---:|---|---|---:|---|---:|---:|',
    ...summary.map(
      (s) =>
        `| ${s.mode} | ${f0(s.medianTasksPerS)} | ${f0(s.iqrTasksPerS[0] as number)}–${f0(s.iqrTasksPerS[1] as number)} | ${f0(s.minTasksPerS)}–${f0(s.maxTasksPerS)} | ${s.mode === 'none' ? '—' : `${f1(s.costVsMedianNonePct)} %`} | ${s.pairedCostPct ? `${f1(s.pairedCostPct.median)} % (${f1(s.pairedCostPct.min)} … ${f1(s.pairedCostPct.max)})` : '—'} | ${s.probeCpuShareMedian === null ? '—' : `${f1(s.probeCpuShareMedian * 100)} %`} | ${s.lostRecords} |`,
    ),
    '',
    'Cost > 0 means fewer tasks per second than without monitoring. "Paired" compares each monitored run with the unmonitored run of the same repeat.',
    '',
  ]
  writeFileSync(path.join(out, 'tier-overhead.md'), md.join('\n'))
  console.log(md.join('\n'))
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
