/**
 * How many of a static pool's workers are busy, by Little's law (completions/s × mean wall time in a
 * worker), when the caller always has calls waiting. A pool whose workers sit idle while calls wait is
 * not the bottleneck: the delivery path (Node's event loop, the pipe, the companion's reader thread) is.
 *
 *   npx tsx benches/pool-occupancy.ts [--pairs io-dominant:2:8,16,32 …] [--seconds 4] [--repeats 3] [--name F]
 *
 * Each point: a fresh companion at N threads pinned to the pair's CPUs, the bench's closed-loop load
 * (max(2N, 32) calls outstanding), 1.5 s warm-up, then 500 ms windows for `seconds`; medians over the
 * windows, then over repeats (points interleaved, the order rotated each repeat). Writes
 * benches/results/F.{json,md} (F: pool-occupancy unless --name says otherwise).
 */
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { pinNodeAwayFrom } from '../src/bench/affinity.js'
import { cpusFor, PYTHON_MALLOC_ENV } from '../src/bench/config.js'
import { ClosedLoop, sleep } from '../src/bench/load.js'
import { concurrencyFor } from '../src/bench/runners.js'
import { percentile, rotated } from '../src/bench/stats.js'
import { gilRangeOf } from '../src/bridge/adaptive.js'
import { PythonBridge } from '../src/bridge/index.js'
import { decompose } from '../src/model/decompose.js'
import { ThreadMonitor } from '../src/monitor/thread-monitor.js'
import type { ProbeSnapshot } from '../src/native.js'
import { arg, commandLine, median, writeResult } from './stats.js'

const ROOT = path.join(__dirname, '..')
const PYTHON = process.env.GILGAUGE_BENCH_PYTHON ?? path.join(ROOT, '.venv', 'bin', 'python')
const SECONDS = Number(arg('seconds', '4'))
const REPEATS = Number(arg('repeats', '3'))
const PAIRS = arg(
  'pairs',
  'io-dominant:2:8,16,24,32;io-heavy:2:16,32,48;balanced:2:4,8;io-dominant:1:16,32;cpu-heavy:1:2,4;sensor-fusion:1:32,64',
)
  .split(';')
  .map((p) => {
    const [profile, cores, sizes] = p.split(':')
    return { profile: profile as string, cores: Number(cores), sizes: (sizes ?? '').split(',').map(Number) }
  })

interface Point {
  profile: string
  cores: number
  n: number
  throughput: number
  /** Mean busy workers (Little's law) and that over N. */
  busy: number
  occupancy: number
  /** Mean time a call waited in the companion before a worker took it (ms). */
  queueMs: number
  /** Node's event-loop utilisation over the measured windows. */
  loopUtilisation: number
  /** Companion CPU time per completed task (ms), all its threads. */
  cpuPerTaskMs: number
  /** Voluntary context switches per completed task, all threads: GIL hand-offs show here. */
  switchesPerTask: number
  /** Share of the sampler's reads of the GIL's `locked` field that found it held (null if not read). */
  gilHeld: number | null
  /** Share of those reads that found it held, or free while a sampled thread waited for it (a hand-off). */
  gilBusy: number | null
  /** Share of busy thread-time lost to contention (gil + lock + runq), from the monitor's windows. */
  contention: number
  /** busy × (1 − contention): workers doing their own work (CPU or genuine waits) at any moment. */
  effectiveWorkers: number
  /** Each 500 ms window's tasks/s: a pool that flips between two regimes shows two clusters. */
  windows: number[]
}

/** Sums over the companion's threads; a static pool's threads live as long as the process. */
function totals(s: ProbeSnapshot): {
  cpuNs: number
  switches: number
  held: number
  busy: number
  read: number
} {
  let cpuNs = 0
  let switches = 0
  for (const t of s.threads) {
    cpuNs += t.cpuNs
    switches += t.voluntarySwitches
  }
  const busy = s.gilHeldTicks + s.gilFreeWantedTicks
  return { cpuNs, switches, held: s.gilHeldTicks, busy, read: s.gilStateTicks }
}

async function measure(profile: string, cores: number, n: number): Promise<Point> {
  const cpus = cpusFor(cores)
  pinNodeAwayFrom(cpus)
  const bridge = await PythonBridge.spawn({
    module: 'gilgauge_workloads.tasks',
    python: PYTHON,
    pool: n,
    cpus,
    env: { ...PYTHON_MALLOC_ENV, PYTHONPATH: path.join(ROOT, 'python') },
    forwardStderr: false,
    startTimeoutMs: 60_000,
  })
  const loop = new ClosedLoop(bridge, profile, () => concurrencyFor(n))
  let monitor: ThreadMonitor | null = null
  try {
    // The sample tier at a low rate: counters from /proc and the GIL's state, no tracing in the way.
    // Opened inside the try, so that the companion is closed even when the probe cannot open.
    monitor = ThreadMonitor.watch(bridge.pid, { tier: 'sample', hz: 50, gilRange: gilRangeOf(bridge) })
    loop.start()
    await sleep(1500)
    bridge.takeTaskWindow()
    const elu0 = performance.eventLoopUtilization()
    const windows: Array<{
      x: number
      busy: number
      queueMs: number
      cpuMs: number
      switches: number
      contention: number
    }> = []
    // One snapshot per window: its counters and, decomposed against the last one, its shares.
    let lastSnapshot = monitor.snapshot()
    const start = totals(lastSnapshot)
    let last = start
    for (let t = 0; t < SECONDS * 1000; t += 500) {
      await sleep(500)
      const w = bridge.takeTaskWindow()
      const snapshot = monitor.snapshot()
      const now = totals(snapshot)
      const shares = decompose(lastSnapshot, snapshot, { busyNsByTid: w.busyNsByTid }).total.shares
      lastSnapshot = snapshot
      const done = Math.max(1, w.completions)
      windows.push({
        x: w.throughput,
        busy: (w.throughput * w.meanWallNs) / 1e9,
        queueMs: w.meanQueueNs / 1e6,
        cpuMs: (now.cpuNs - last.cpuNs) / 1e6 / done,
        switches: (now.switches - last.switches) / done,
        contention: shares.gil + shares.lock + shares.runq,
      })
      last = now
    }
    const elu = performance.eventLoopUtilization(elu0)
    const med = (f: (w: (typeof windows)[number]) => number) => median(windows.map(f))
    const busy = med((w) => w.busy)
    const read = last.read - start.read
    return {
      profile,
      cores,
      n,
      throughput: Math.round(med((w) => w.x)),
      busy: Math.round(busy * 10) / 10,
      occupancy: Math.round((busy / n) * 100) / 100,
      queueMs: Math.round(med((w) => w.queueMs) * 1000) / 1000,
      loopUtilisation: Math.round(elu.utilization * 100) / 100,
      cpuPerTaskMs: Math.round(med((w) => w.cpuMs) * 100) / 100,
      switchesPerTask: Math.round(med((w) => w.switches) * 10) / 10,
      gilHeld: read > 0 ? Math.round(((last.held - start.held) / read) * 100) / 100 : null,
      contention: Math.round(med((w) => w.contention) * 100) / 100,
      effectiveWorkers: Math.round(med((w) => w.busy * (1 - w.contention)) * 10) / 10,
      gilBusy: read > 0 ? Math.round(((last.busy - start.busy) / read) * 100) / 100 : null,
      windows: windows.map((w) => Math.round(w.x)),
    }
  } finally {
    monitor?.close()
    loop.stop()
    await bridge.close({ drainTimeoutMs: 0, graceMs: 0 }).catch(() => {})
  }
}

/** Median over the runs that read the GIL's state; null when none did (a free-threaded build). */
function gilMedian(runs: Point[], share: (x: Point) => number | null): number | null {
  const read = runs.flatMap((x) => {
    const v = share(x)
    return v === null ? [] : [v]
  })
  return read.length > 0 ? median(read) : null
}

function windowPercentiles(windows: number[]): string {
  return [0.1, 0.5, 0.9].map((p) => percentile(windows, p) ?? 'n/a').join(' / ')
}

async function main(): Promise<void> {
  const plan = PAIRS.flatMap((p) => p.sizes.map((n) => ({ profile: p.profile, cores: p.cores, n })))
  const runs: Point[] = []
  for (let r = 0; r < REPEATS; r++) {
    for (const p of rotated(plan, r)) {
      const point = await measure(p.profile, p.cores, p.n)
      process.stderr.write(`repeat ${r + 1}/${REPEATS} ${JSON.stringify(point)}\n`)
      runs.push(point)
    }
  }
  const rows = plan.map((p) => {
    const mine = runs.filter((x) => x.profile === p.profile && x.cores === p.cores && x.n === p.n)
    const m = (f: (x: Point) => number) => median(mine.map(f))
    const range = (f: (x: Point) => number) => `${Math.min(...mine.map(f))}–${Math.max(...mine.map(f))}`
    return {
      ...p,
      throughput: m((x) => x.throughput),
      throughputRange: range((x) => x.throughput),
      busy: m((x) => x.busy),
      occupancy: m((x) => x.occupancy),
      occupancyRange: range((x) => x.occupancy),
      queueMs: m((x) => x.queueMs),
      loopUtilisation: m((x) => x.loopUtilisation),
      cpuPerTaskMs: m((x) => x.cpuPerTaskMs),
      switchesPerTask: m((x) => x.switchesPerTask),
      gilHeld: gilMedian(mine, (x) => x.gilHeld),
      gilBusy: gilMedian(mine, (x) => x.gilBusy),
      contention: m((x) => x.contention),
      effectiveWorkers: m((x) => x.effectiveWorkers),
      windows: mine.flatMap((x) => x.windows),
    }
  })
  // Quoted where a shell would split the argument (--pairs uses ';').
  const command = commandLine('benches/pool-occupancy.ts')
  const md = [
    '# Busy workers of a static pool under a closed loop',
    '',
    `Made by \`${command}\` on ${new Date().toISOString().slice(0, 10)}, ${REPEATS} repeats (interleaved), ${SECONDS} s each after 1.5 s warm-up; medians over 500 ms windows, then over repeats. Node (load and bridge) pinned away from Python's CPUs when one is left (one core), sharing both otherwise.`,
    '',
    'busy = completions/s × mean wall time of a task in its worker (Little’s law); occupancy = busy / N. The load keeps max(2N, 32) calls outstanding, so a worker that is not busy is waiting for a call that Node has and the companion has not handed over yet.',
    '',
    'CPU per task is all the companion’s threads’ CPU time over the completions (its reader thread included); voluntary switches per task likewise (a GIL hand-off is one); GIL held is the share of the sampler’s reads of the GIL’s `locked` field that found it held; GIL busy adds the reads that found it free while a sampled thread waited for it (a hand-off under way). The 500 ms windows of all repeats are pooled for their 10th, 50th and 90th percentiles: a pool that flips between two regimes shows a wide gap.',
    '',
    '| profile | cores | N | tasks/s (min–max) | busy workers | occupancy (min–max) | queued in the companion (ms) | Node event-loop utilisation | CPU per task (ms) | voluntary switches per task | GIL held | GIL busy | contention | effective workers | windows tasks/s p10 / p50 / p90 |',
    '|---|---:|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...rows.map(
      (r) =>
        `| ${r.profile} | ${r.cores} | ${r.n} | ${r.throughput} (${r.throughputRange}) | ${r.busy} | ${r.occupancy} (${r.occupancyRange}) | ${r.queueMs} | ${r.loopUtilisation} | ${r.cpuPerTaskMs} | ${r.switchesPerTask} | ${r.gilHeld ?? 'n/a'} | ${r.gilBusy ?? 'n/a'} | ${r.contention} | ${r.effectiveWorkers} | ${windowPercentiles(r.windows)} |`,
    ),
    '',
  ].join('\n')
  writeResult(ROOT, arg('name', 'pool-occupancy'), command, { runs, rows }, md)
  process.stdout.write(md)
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
