import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import test from 'ava'
import { ThreadMonitor, type Window } from '../src/index.js'
import { decompose } from '../src/model/decompose.js'
import type { ProbeSnapshot, ThreadSnapshot } from '../src/native.js'
import { FIXTURES, PYTHON, startPython, stopPython } from './helpers/python.js'

const WORKLOAD = path.join(FIXTURES, 'probe', 'workload.py')
const ROOT = path.join(__dirname, '..')
const isRoot = process.getuid?.() === 0

/** One window of `workload.py MODE 4` under the trace tier, and the same snapshots split by samples. */
async function traced(mode: string): Promise<{ traced: Window; sampled: Window } | null> {
  const child = await startPython([WORKLOAD, mode, '4', '20'])
  try {
    const monitor = ThreadMonitor.watch(child.pid as number, { tier: 'trace', intervalMs: 1500 })
    try {
      const first = monitor.snapshot()
      if (first.tier !== 'trace') {
        if (isRoot) throw new Error(`root must get the trace tier: ${first.tierReason}`)
        return null
      }
      const w = await monitor.next()
      // The same two snapshots, split by the samples taken in the same run.
      const last = monitor.snapshot()
      return { traced: w, sampled: decompose(first, last, { split: 'samples' }) }
    } finally {
      monitor.close()
    }
  } finally {
    await stopPython(child)
  }
}

const WAITS = ['gil', 'lock', 'io', 'sleep', 'other'] as const
function dominantWait(w: Window): string {
  const s = w.total.shares
  return WAITS.reduce((best, c) => (s[c] > s[best] ? c : best), WAITS[0])
}

function describe(w: Window): string {
  const s = w.total.shares
  const f = (x: number): string => x.toFixed(3)
  return `tier=${w.tier} cpu=${f(s.cpu)} runq=${f(s.runq)} gil=${f(s.gil)} lock=${f(s.lock)} io=${f(s.io)} sleep=${f(s.sleep)} other=${f(s.other)}`
}

for (const [mode, expected] of [
  ['spin', 'gil'],
  ['sleep', 'sleep'],
  ['recv', 'io'],
  ['lock', 'lock'],
] as const) {
  test.serial(`trace tier: ${mode} threads are dominated by ${expected}, as sampling says`, async (t) => {
    const r = await traced(mode)
    if (!r) {
      t.log('skipped: tracing refused and not root')
      t.pass()
      return
    }
    t.log(`traced  ${describe(r.traced)}`)
    t.log(`sampled ${describe(r.sampled)}`)
    t.is(r.traced.tier, 'trace')
    t.is(r.traced.tierReason, null)
    t.is(dominantWait(r.traced), expected)
    t.is(dominantWait(r.sampled), expected)
    if (mode !== 'spin') t.true(r.traced.total.shares[expected] > 0.9)
    const snapshotThreads = r.traced.threads.length
    t.is(snapshotThreads, 4)
  })
}

test.serial('without capabilities, trace falls back to sample and says why', async (t) => {
  if (!isRoot) {
    t.log('skipped: dropping capabilities with setpriv needs root')
    t.pass()
    return
  }
  // An agent running as root without capabilities (systemd
  // CapabilityBoundingSet= empty) watching a Python child it started: same
  // uid and no more capabilities than the child, so /proc is readable
  // (sample) but perf refuses tracepoints without CAP_PERFMON.
  const script = `
    const { spawn } = require('node:child_process')
    const { Probe } = require(${JSON.stringify(path.join(ROOT, 'native.cjs'))})
    const py = spawn(${JSON.stringify(PYTHON)}, [${JSON.stringify(WORKLOAD)}, 'sleep', '2', '10'], { stdio: ['ignore', 'pipe', 'inherit'] })
    py.stdout.once('data', () => {
      const probe = Probe.open(py.pid, { tier: 'trace' })
      const s = probe.snapshot()
      probe.close()
      py.kill('SIGKILL')
      console.log(JSON.stringify({ tier: s.tier, tierReason: s.tierReason ?? null }))
    })`
  const { stdout } = await promisify(execFile)('setpriv', [
    '--inh-caps=-all',
    '--bounding-set=-all',
    '--',
    process.execPath,
    '-e',
    script,
  ])
  const got = JSON.parse(stdout.trim().split('\n').pop() as string) as {
    tier: string
    tierReason: string | null
  }
  t.log(got)
  t.is(got.tier, 'sample')
  t.regex(got.tierReason ?? '', /perf_event_open refused: E(ACCES|PERM) \(needs CAP_PERFMON or root\)/)
})

test('an invalid tier is an EINVAL error', (t) => {
  t.throws(() => ThreadMonitor.watch(process.pid, { tier: 'fast' as 'auto' }), { message: /tier must be/ })
})

function thread(tid: number, fields: Partial<ThreadSnapshot> = {}): ThreadSnapshot {
  return {
    tid,
    name: `t${tid}`,
    alive: true,
    firstSeenNs: 0,
    lastSeenNs: 0,
    cpuNs: 0,
    runqNs: 0,
    voluntarySwitches: 0,
    involuntarySwitches: 0,
    samples: { running: 0, gil: 0, lock: 0, io: 0, sleep: 0, other: 0 },
    otherSyscalls: [],
    tracedNs: { gil: 0, lock: 0, io: 0, sleep: 0, other: 0 },
    ...fields,
  }
}

function snapshot(takenNs: number, tier: string, threads: ThreadSnapshot[]): ProbeSnapshot {
  return {
    pid: 42,
    openedNs: 0n,
    takenNs,
    tier,
    abi: 'x86_64',
    exited: false,
    hz: 200,
    ticks: 0,
    gilTicks: 0,
    samples: 0,
    probeCpuNs: 0,
    threads,
  }
}

const MS = 1e6
const before = thread(1)
// 100 ms: 20 cpu, 10 runq; 70 off-CPU. Samples say all gil; the trace says
// 3/4 gil and 1/4 io (and its blocked ns include 10 ms of wake-up latency).
const after = thread(1, {
  cpuNs: 20 * MS,
  runqNs: 10 * MS,
  samples: { running: 3, gil: 7, lock: 0, io: 0, sleep: 0, other: 0 },
  tracedNs: { gil: 60 * MS, lock: 0, io: 20 * MS, sleep: 0, other: 0 },
})

test('split: traced proportions split the off-CPU remainder in the trace tier', (t) => {
  const w = decompose(snapshot(0, 'trace', [before]), snapshot(100 * MS, 'trace', [after]))
  t.is(w.total.times.cpu, 20 * MS)
  t.is(w.total.times.runq, 10 * MS)
  t.is(w.total.times.gil, 52.5 * MS)
  t.is(w.total.times.io, 17.5 * MS)
  t.is(w.total.wallNs, 100 * MS)
})

test('split: auto uses samples unless both snapshots are traced; samples/traced force it', (t) => {
  const mixed = decompose(snapshot(0, 'sample', [before]), snapshot(100 * MS, 'trace', [after]))
  t.is(mixed.total.times.gil, 70 * MS)
  const forced = decompose(snapshot(0, 'trace', [before]), snapshot(100 * MS, 'trace', [after]), {
    split: 'samples',
  })
  t.is(forced.total.times.gil, 70 * MS)
  const traced = decompose(snapshot(0, 'sample', [before]), snapshot(100 * MS, 'sample', [after]), {
    split: 'traced',
  })
  t.is(traced.total.times.io, 17.5 * MS)
})

test('split: a thread without traced time in the window falls back to its samples', (t) => {
  const untraced = thread(1, { ...after, tracedNs: { gil: 0, lock: 0, io: 0, sleep: 0, other: 0 } })
  const w = decompose(snapshot(0, 'trace', [before]), snapshot(100 * MS, 'trace', [untraced]))
  t.is(w.total.times.gil, 70 * MS)
})
