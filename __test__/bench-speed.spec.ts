import path from 'node:path'
import test from 'ava'
import { combinedMarkdown, combinePasses, efficiencyAtSpeed } from '../src/bench/combine.js'
import { fullConfig } from '../src/bench/config.js'
import { adjustedVerdict, atSpeed, speedAdjusted, variantAtSpeed } from '../src/bench/host-adjust.js'
import { HostSpeedProbe, MIN_SAMPLES, meanSpeed, parseSpeedLine } from '../src/bench/host-speed.js'
import { peerRun, staticSweep, type Target } from '../src/bench/runners.js'
import type {
  AdaptivePolicyName,
  AdaptiveResult,
  AdaptiveRun,
  BenchResult,
  PeerRun,
  ProfileCoresResult,
} from '../src/bench/types.js'
import { PYTHON } from './helpers/python.js'

const PYTHON_PATH = path.join(__dirname, '..', 'python')

test('speed probe lines: epoch ms and ns per iteration, anything else is not a sample', (t) => {
  t.deepEqual(parseSpeedLine('1764576000123.4 57.31\n'), { atMs: 1764576000123.4, nsPerIter: 57.31 })
  t.deepEqual(parseSpeedLine('1764576000123 33'), { atMs: 1764576000123, nsPerIter: 33 })
  for (const bad of [
    '',
    'Traceback (most recent call last):',
    '1764576000123.4',
    '1 0.00',
    '1 -3',
    '1 2 3',
    'a 5',
  ]) {
    t.is(parseSpeedLine(bad), null, bad)
  }
})

test('mean speed over an interval: samples inside it only, and none from too few', (t) => {
  const samples = [10, 20, 30, 40, 50, 60, 70].map((atMs, i) => ({ atMs, nsPerIter: i < 3 ? 30 : 60 }))
  // (10, 70]: 20 … 70, six samples, two fast (30 ns) and four slow (60 ns).
  t.is(meanSpeed(samples, 10, 70), 50)
  t.is(meanSpeed(samples, 0, 70), 47.14) // (3 × 30 + 4 × 60) / 7
  t.is(meanSpeed(samples, 20, 70), 54) // (30 + 4 × 60) / 5
  t.is(MIN_SAMPLES, 5)
  t.is(meanSpeed(samples, 30, 70), null, 'four samples say nothing')
  t.is(meanSpeed([], 0, 1e15), null)
})

test('a throughput at another speed: in proportion to the slowdown for a pool that fills its CPUs, less for one that waits', (t) => {
  // Measured 90/s while the host ran 10 % slower than the reference.
  t.is(atSpeed(90, 55, 50, 1), 99.00000000000001)
  t.is(atSpeed(90, 55, 50, 0), 90)
  t.is(Math.round((atSpeed(90, 55, 50, 0.5) ?? 0) * 1000) / 1000, 94.393)
  t.is(atSpeed(90, null, 50, 1), null)
  t.is(atSpeed(null, 55, 50, 1), null)
})

function run(throughput: number, hostNsPerIter: number | null, busyCpus = 1): AdaptiveRun {
  return {
    decisions: [],
    throughput,
    throughputWhole: throughput,
    p99Ms: 1,
    finalSize: 4,
    meanSteadySize: 4,
    convergenceMs: 0,
    pssMiB: 10,
    resizes: 0,
    sizeSeries: [] as Array<[number, number]>,
    steadyCost: { cpuMsPerTask: 10 / throughput, busyCpus, hostNsPerIter },
  }
}

function policy(name: AdaptivePolicyName, throughput: number, hostNsPerIter: number | null): AdaptiveResult {
  const s = { median: throughput, min: throughput, max: throughput, n: 1 }
  return {
    policy: name,
    runs: [run(throughput, hostNsPerIter)],
    throughput: s,
    efficiency: null,
    efficiencySweep: null,
    efficiencyRef: null,
    efficiencyHeldOut: null,
    p99Ms: 1,
    finalSize: null,
    convergenceMs: null,
    pssMiB: null,
  }
}

const cost = (hostNsPerIter: number, busyCpus = 1) => ({ cpuMsPerTask: 1, busyCpus, hostNsPerIter })
const peerFixture = (throughput: number, hostNsPerIter: number): PeerRun => ({
  ok: true,
  throughput,
  p99Ms: 1,
  finalSize: 4,
  liveFinal: 4,
  pssMiB: 10,
  hostNsPerIter,
})

/** One core; the best pool (N = 4) measured at 50 ns, gauge and the rivals at other speeds. */
function pair(cores = 1, busy = 1): ProfileCoresResult {
  return {
    profile: 'balanced',
    cores,
    cpus: cores === 1 ? [0] : [0, 1],
    sweep: [],
    best: { n: 4, throughput: 100 },
    confirmed: [
      {
        n: 4,
        throughput: { median: 100, min: 100, max: 100, n: 2 },
        runs: [100, 100],
        costs: [cost(50, busy), cost(50, busy)],
      },
      // Measured lower, but in a slow spell: at the reference speed it is 8 × 62.5 / 50 = 10 % below N = 4.
      { n: 8, throughput: { median: 72, min: 72, max: 72, n: 1 }, runs: [72], costs: [cost(62.5, busy)] },
    ],
    cliff: { dropAt512Plus: null, dropAtLargest: null, largestN: null },
    heldOut: {
      runs: [{ n: 4, throughput: 80, cost: cost(62.5, busy) }],
      throughput: { median: 80, min: 80, max: 80, n: 1 },
    },
    adaptive: [policy('gauge', 90, 55), policy('paper', 95, 50), policy('betapool', 100, 45)],
    peers: [
      {
        mode: 'static',
        label: '',
        workers: 4,
        runs: [peerFixture(100, 50)],
        throughput: null,
        p99Ms: null,
        finalSize: null,
        pssMiB: null,
        efficiencyNative: 1,
        efficiencyBridge: 1,
      },
      {
        mode: 'betapool',
        label: '',
        workers: null,
        runs: [peerFixture(80, 50)],
        throughput: null,
        p99Ms: null,
        finalSize: null,
        pssMiB: null,
        efficiencyNative: 0.8,
        efficiencyBridge: 0.8,
      },
    ],
    elapsedMs: 1,
  }
}

test('a pair at one speed: each column taken to the reference speed before it is compared', (t) => {
  const a = speedAdjusted(pair())
  if (!a) return t.fail('no adjustment')
  t.is(a.share, 1)
  // Speeds 50, 50, 62.5 (confirmations), 55, 50, 45 (policies), 62.5 (held out), 50, 50 (peers): median 50.
  t.is(a.refNsPerIter, 50)
  t.deepEqual(a.best, { n: 4, throughput: 100 })
  // gauge measured 0.90 of the best pool but ran 10 % slower: 0.99 at one speed; betapool the other way.
  t.deepEqual(a.efficiency, { gauge: 0.99, paper: 0.95, betapool: 0.9, 'pypi-betapool': 0.8 })
  t.deepEqual(a.runs.gauge, { adjusted: 1, measured: 0 })
  // The PyPI betapool's driver recorded no busy CPUs here (results before it did): as measured.
  t.deepEqual(a.runs['pypi-betapool'], { adjusted: 0, measured: 1 })
  // The held-out run of N = 4 read 0.8 of its confirmation, in a 25 % slower spell: 1.0 at one speed.
  t.deepEqual(a.heldOut, { measured: 0.8, adjusted: 1 })
  // Read like a column against the best pool at one speed, it is the best pool again.
  t.is(a.heldOutEfficiency, 1)
})

test('at one speed the best size can change, and a pool that fills one CPU of two is adjusted by half', (t) => {
  const slowSpell = pair()
  const n8 = slowSpell.confirmed?.[1]
  if (n8) n8.runs = [90] // 90 × 62.5 / 50 = 112.5 at the reference speed: better than N = 4's 100.
  t.deepEqual(speedAdjusted(slowSpell)?.best, { n: 8, throughput: 112.5 })

  const twoCores = speedAdjusted(pair(2, 1))
  t.is(twoCores?.share, 0.5)
  t.is(twoCores?.efficiency.gauge, Math.round(0.9 * Math.sqrt(55 / 50) * 1000) / 1000)
})

test('a run that kept the CPUs less busy than the best pool counts as measured: its speed is partly its own', (t) => {
  const p = pair()
  // paper left a third of the core idle and read a slower speed: not the host's alone.
  const paper = p.adaptive.find((a) => a.policy === 'paper')
  if (paper) paper.runs = [run(70, 75, 0.66)]
  // gauge within 0.05 of the best pool's busy CPUs: adjusted as before.
  const gauge = p.adaptive.find((a) => a.policy === 'gauge')
  if (gauge) gauge.runs = [run(90, 55, 0.96)]
  const a = speedAdjusted(p)
  t.is(a?.efficiency.paper, 0.7)
  t.deepEqual(a?.runs.paper, { adjusted: 0, measured: 1 })
  t.is(a?.efficiency.gauge, 0.99)
})

test('the PyPI betapool against the native static pool: at one speed where both loaded the CPUs alike', (t) => {
  const p = pair()
  const withBusy = (mode: string, busyCpus: number, hostNsPerIter: number) => {
    const peer = p.peers.find((x) => x.mode === mode)
    for (const run of peer?.runs ?? []) Object.assign(run, { busyCpus, hostNsPerIter })
  }
  withBusy('static', 0.95, 50)
  withBusy('betapool', 0.96, 60)
  // 80/s in a 20 % slower spell, at the same load as the native pool: 0.96 at one speed.
  t.is(speedAdjusted(p)?.efficiency['pypi-betapool'], 0.96)
  withBusy('betapool', 0.5, 60)
  t.is(speedAdjusted(p)?.efficiency['pypi-betapool'], 0.8)
})

test("a pair without speed readings, or without its best pool's CPU, is not adjusted", (t) => {
  const unprobed = pair()
  for (const c of unprobed.confirmed ?? [])
    c.costs = c.costs?.map((k) => (k ? { cpuMsPerTask: k.cpuMsPerTask, busyCpus: k.busyCpus } : null))
  for (const p of unprobed.adaptive) for (const r of p.runs) r.steadyCost = { cpuMsPerTask: 1, busyCpus: 1 }
  if (unprobed.heldOut) unprobed.heldOut.runs = [{ n: 4, throughput: 80 }]
  unprobed.peers = []
  t.is(speedAdjusted(unprobed), null)

  const noCpu = pair()
  const best = noCpu.confirmed?.[0]
  if (best) best.costs = [null, null]
  t.is(speedAdjusted(noCpu), null)
})

test("gauge against its variant at one speed: each repeat's two runs, adjusted only where they loaded the CPUs alike", (t) => {
  t.is(variantAtSpeed(pair()), null, 'no variant, no comparison')
  const p = pair()
  const gauge = p.adaptive.find((a) => a.policy === 'gauge')
  if (gauge) gauge.runs = [run(100, 50, 1), run(100, 50, 1)]
  // Repeat 1: the variant read 0.8 of gauge in a 25 % slower spell at the same load: equal at one speed.
  // Repeat 2: the same reading, but the variant left a fifth of the core idle: its speed is partly its own.
  p.adaptive.push({ ...policy('gauge-variant', 80, 62.5), runs: [run(80, 62.5, 1), run(80, 62.5, 0.8)] })
  const a = variantAtSpeed(p)
  t.deepEqual(a?.ratio, { median: 1.125, min: 1, max: 1.25, n: 2 })
  t.is(a?.adjusted, 1)
  t.is(a?.repeats, 2)
  t.is(a?.variantSlower, 2)
  t.is(a?.hostSlowdown?.median, 1.25)
})

test('passes combined at one speed: each pass taken to its own host speed before the medians', (t) => {
  const pass = (dir: string, gaugeAt: number) => {
    const p = pair()
    const gauge = p.adaptive.find((a) => a.policy === 'gauge')
    if (gauge) {
      gauge.runs = [run(90, gaugeAt)]
      gauge.efficiency = { median: 0.9, min: 0.9, max: 0.9, n: 1 }
    }
    const result = {
      command: `npx gilgauge bench --out ${dir}`,
      startedAt: 's',
      finishedAt: 'f',
      environment: { commit: 'c' },
      results: [p],
    } as unknown as BenchResult
    return { dir, result }
  }
  // gauge measured 0.90 in both passes, in a 10 % and a 5 % slower spell.
  const sources = [pass('a', 55), pass('b', 52.5)]
  const [measured] = combinePasses(sources)
  const [atSpeed] = combinePasses(sources, efficiencyAtSpeed)
  t.is(measured?.median.gauge?.median, 0.9)
  t.is(measured?.meetsGoal, false)
  t.is(atSpeed?.median.gauge?.median, (0.99 + 0.945) / 2)
  t.is(atSpeed?.meetsGoal, true)
  // The held-out run read 0.8 of the best pool in a 25 % slower spell: 1.0 at one speed, in both passes.
  t.is(measured?.medianHeldOut?.median, 0.8)
  t.is(atSpeed?.medianHeldOut?.median, 1)
  const md = combinedMarkdown(
    sources,
    combinePasses(sources),
    'npx gilgauge bench --combine a,b --out c',
    'one commit',
  )
  t.regex(md, /## The verdict at one host speed\n[^#]*gauge ≥ 0\.95: 1 of 1 pairs/)
  t.regex(md, /\| balanced \| 1 \| 2 \| 0\.97 \(0\.94–0\.99\) \|/)
  // Against the best size run again: as measured neither reaches the goal; at one speed gauge once, it twice.
  t.regex(
    md,
    /## gauge against the best static size run again\n[^#]*gauge ≥ 0\.95 in 0, the best size run again in 0;/,
  )
  t.regex(md, /## The verdict at one host speed\n[^#]*gauge ≥ 0\.95 in 1, the best size run again in 2;/)
})

test('the verdict at one speed counts the goal and the rivals, and how close two runs of one size come', (t) => {
  const behind = pair()
  const gauge = behind.adaptive[0]
  if (gauge) gauge.runs = [run(80, 55)] // 0.88 at one speed: below the goal and below paper.
  const v = adjustedVerdict([pair(), behind, { ...pair(), unavailable: 'failed: x' }])
  t.is(v.pairs, 2)
  t.is(v.meetsGoal, 1)
  t.is(v.aboveAllRivals, 1)
  t.is(v.both, 1)
  const paper = v.rivals.find((r) => r.rival === 'paper')
  t.is(paper?.gaugeHigher, 1)
  t.is(paper?.pairs, 2)
  t.is(v.sameSizeGap.measured?.median, 0.2)
  t.is(v.sameSizeGap.adjusted?.median, 0)
})

test('the speed probe samples the CPU it is given until stopped, and each measured point gets a speed', async (t) => {
  const probe = HostSpeedProbe.start(PYTHON, PYTHON_PATH, [0])
  const from = Date.now()
  const spins: Target = {
    python: PYTHON,
    pythonPath: [PYTHON_PATH, path.join(__dirname, 'fixtures', 'bench')].join(':'),
    profile: 'spins',
    module: 'breaking',
    cpus: [0],
    probe,
  }
  const shortRuns = { ...fullConfig(), warmupMs: 300, warmupCapMs: 1500, measureMs: 600 }
  const points = await staticSweep(spins, [1, 2], shortRuns, () => {})
  const to = Date.now()
  await probe.stop()
  const after = probe.samples.length
  t.is(probe.error(), null)
  // Every 20 ms for over a second, on a CPU shared with the pool: dozens of samples, each a plausible speed.
  t.true(after >= 20, `${after} samples`)
  t.true(
    probe.samples.every(
      (s) => s.nsPerIter > 1 && s.nsPerIter < 5000 && s.atMs >= from - 1000 && s.atMs <= to + 1000,
    ),
    JSON.stringify(probe.samples.slice(0, 5)),
  )
  for (const p of points) {
    const h = p.cost?.hostNsPerIter
    t.true(typeof h === 'number' && h > 1 && h < 5000, JSON.stringify(p))
  }
  // Stopped means gone: no sample arrives later.
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.is(probe.samples.length, after)
})

test("a native peer's run records its measured window's speed and the CPUs its pool kept busy", async (t) => {
  const probe = HostSpeedProbe.start(PYTHON, PYTHON_PATH, [0])
  const target: Target = { python: PYTHON, pythonPath: PYTHON_PATH, profile: 'cpu-heavy', cpus: [0], probe }
  const before = Date.now()
  const run = await peerRun(target, { mode: 'static', workers: 2, warmupMs: 300, measureMs: 800 })
  await probe.stop()
  t.true(run.ok, run.error)
  const window = run.raw?.window_ms as [number, number] | undefined
  // The driver's measured interval, on the wall clock the probe stamps its samples with.
  t.true(
    window !== undefined && window[0] > before && Math.abs(window[1] - window[0] - 800) < 5,
    JSON.stringify(window),
  )
  t.true(
    typeof run.hostNsPerIter === 'number' && run.hostNsPerIter > 1 && run.hostNsPerIter < 5000,
    `${run.hostNsPerIter}`,
  )
  // cpu-heavy spins 5000 iterations per task on two threads, pinned to one CPU shared with the other tests:
  // busy part of the time (0.3 in a CI run), never more than that CPU.
  t.true(typeof run.busyCpus === 'number' && run.busyCpus > 0.05 && run.busyCpus <= 1.05, `${run.busyCpus}`)
})
