import path from 'node:path'
import { ClosedLoop } from '../bench/load.js'
import { PythonBridge } from '../bridge/index.js'
import type { Window } from '../model/types.js'
import { stackedBar } from './render.js'

/** A phase of the demo workload: each task spins `iterations` in Python, then sleeps `waitMs`. */
export interface DemoPhase {
  name: string
  iterations: number
  waitMs: number
  seconds: number
}

/** I/O-heavy, then CPU-heavy, then mixed: the pool should grow, shrink, then settle between. */
export const DEMO_PHASES: DemoPhase[] = [
  { name: 'io-heavy', iterations: 2000, waitMs: 2, seconds: 10 },
  { name: 'cpu-heavy', iterations: 20000, waitMs: 0.05, seconds: 10 },
  { name: 'mixed', iterations: 5000, waitMs: 1, seconds: 10 },
]

export interface DemoOptions {
  python: string
  live: boolean
  phases?: DemoPhase[]
  /** CPUs to pin the Python process to (default: all it may use). */
  cpus?: number[]
}

interface PhaseSummary {
  phase: string
  throughput: number
  finalSize: number
  resizes: number
  p99Ms: number
}

const PYTHON_DIR = path.join(__dirname, '..', '..', 'python')

/**
 * `gilgauge demo`: runs the phase workload under the adaptive (gauge) pool with
 * a closed-loop load, showing the pool size, the reason for each resize and the
 * decomposition; ends with a summary per phase.
 */
export async function demo(options: DemoOptions): Promise<number> {
  const phases = options.phases ?? DEMO_PHASES
  const bridge = await PythonBridge.spawn({
    module: 'gilgauge_workloads.phases',
    python: options.python,
    pool: { min: 1, max: 256, initial: 4, policy: 'gauge' },
    cpus: options.cpus,
    env: { PYTHONPATH: PYTHON_DIR },
  })
  const reasons: string[] = []
  let resizes = 0
  bridge.on('resize', (e: { from: number; to: number; reason: string }) => {
    resizes++
    reasons.push(`${e.from} → ${e.to}: ${e.reason}`)
    if (!options.live) process.stdout.write(`  resize ${e.from} → ${e.to}: ${e.reason}\n`)
  })
  const summaries: PhaseSummary[] = []
  let drawn = 0
  try {
    for (const phase of phases) {
      if (!options.live)
        process.stdout.write(
          `phase ${phase.name}: ${phase.iterations} iterations + ${phase.waitMs} ms sleep per task\n`,
        )
      const resizesBefore = resizes
      const started = Date.now()
      const until = started + phase.seconds * 1000
      // Closed loop: twice the pool (at least 64) calls outstanding, so the pool is never starved.
      const loop = new ClosedLoop(bridge, 'phase_task', () => Math.max(64, 2 * bridge.pool.size), [
        phase.iterations,
        phase.waitMs,
      ])
      loop.start()
      while (Date.now() < until) {
        await new Promise((r) => setTimeout(r, 1000))
        const elapsed = (Date.now() - started) / 1000
        const lines = frame(phase, elapsed, loop.count / elapsed, bridge, reasons)
        if (options.live) {
          if (drawn > 0) process.stdout.write(`\x1b[${drawn}F\x1b[J`)
          process.stdout.write(`${lines.join('\n')}\n`)
          drawn = lines.length
        } else {
          process.stdout.write(`  ${lines[1]}\n`)
        }
      }
      loop.stop()
      const completed = loop.count
      const seconds = (Date.now() - started) / 1000
      summaries.push({
        phase: phase.name,
        throughput: completed / seconds,
        finalSize: bridge.pool.size,
        resizes: resizes - resizesBefore,
        p99Ms: bridge.stats().latencyP99Ms,
      })
    }
  } finally {
    await bridge.close()
  }
  process.stdout.write('\nsummary (gauge policy, closed-loop load)\n')
  process.stdout.write('phase        tasks/s  final pool  resizes  p99 ms\n')
  for (const s of summaries) {
    process.stdout.write(
      `${s.phase.padEnd(11)} ${s.throughput.toFixed(0).padStart(8)} ${String(s.finalSize).padStart(11)} ${String(s.resizes).padStart(8)} ${s.p99Ms.toFixed(1).padStart(7)}\n`,
    )
  }
  return 0
}

function frame(
  phase: DemoPhase,
  elapsed: number,
  throughput: number,
  bridge: PythonBridge,
  reasons: string[],
): string[] {
  const stats = bridge.stats()
  const w: Window | null = bridge.controller?.lastWindow ?? null
  const lines = [
    `gilgauge demo  phase ${phase.name} (${phase.iterations} it + ${phase.waitMs} ms sleep)  ${elapsed.toFixed(0)}/${phase.seconds}s`,
    `pool ${stats.size}  tasks/s ${throughput.toFixed(0)}  p50 ${stats.latencyP50Ms.toFixed(1)} ms  p99 ${stats.latencyP99Ms.toFixed(1)} ms`,
  ]
  if (w) {
    const t = w.total
    lines.push(`[${stackedBar(t.shares, 60, true)}]`)
    lines.push(
      `cpu ${pct(t.shares.cpu)} runq ${pct(t.shares.runq)} gil ${pct(t.shares.gil)} lock ${pct(t.shares.lock)} io+sleep ${pct(t.betaIo)}  β paper ${t.betaPaper.toFixed(2)}`,
    )
  }
  lines.push('recent resizes:')
  for (const r of reasons.slice(-4)) lines.push(`  ${r}`.slice(0, 80))
  return lines
}

const pct = (x: number): string => `${(x * 100).toFixed(0)}%`
