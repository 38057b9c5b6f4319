import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import test from 'ava'
import { ThreadMonitor, type Window } from '../src/index.js'
import { decompose } from '../src/model/decompose.js'
import { FIXTURES, PYTHON, startPython, stopPython } from './helpers/python.js'
import { snapshot, thread } from './helpers/snapshots.js'

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
  const w = decompose(
    snapshot(0, [before], { tier: 'trace' }),
    snapshot(100 * MS, [after], { tier: 'trace' }),
  )
  t.is(w.total.times.cpu, 20 * MS)
  t.is(w.total.times.runq, 10 * MS)
  t.is(w.total.times.gil, 52.5 * MS)
  t.is(w.total.times.io, 17.5 * MS)
  t.is(w.total.wallNs, 100 * MS)
})

test('split: auto uses samples unless both snapshots are traced; samples/traced force it', (t) => {
  const mixed = decompose(
    snapshot(0, [before], { tier: 'sample' }),
    snapshot(100 * MS, [after], { tier: 'trace' }),
  )
  t.is(mixed.total.times.gil, 70 * MS)
  const forced = decompose(
    snapshot(0, [before], { tier: 'trace' }),
    snapshot(100 * MS, [after], { tier: 'trace' }),
    {
      split: 'samples',
    },
  )
  t.is(forced.total.times.gil, 70 * MS)
  const traced = decompose(
    snapshot(0, [before], { tier: 'sample' }),
    snapshot(100 * MS, [after], { tier: 'sample' }),
    {
      split: 'traced',
    },
  )
  t.is(traced.total.times.io, 17.5 * MS)
})

test('split: a thread without traced time in the window falls back to its samples', (t) => {
  const untraced = thread(1, { ...after, tracedNs: { gil: 0, lock: 0, io: 0, sleep: 0, other: 0 } })
  const w = decompose(
    snapshot(0, [before], { tier: 'trace' }),
    snapshot(100 * MS, [untraced], { tier: 'trace' }),
  )
  t.is(w.total.times.gil, 70 * MS)
})
