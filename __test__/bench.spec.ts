import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import test from 'ava'
import { pinNodeAwayFrom } from '../src/bench/affinity.js'
import {
  againstHeldOut,
  type CombinedPair,
  combinedMarkdown,
  combinePasses,
  missMargin,
  passDisagreement,
  steadyTail,
  tailOverSteadyHalf,
} from '../src/bench/combine.js'
import { fullConfig } from '../src/bench/config.js'
import { costSplit, mainLoss } from '../src/bench/cost-split.js'
import { cpuShares, parseProcStat, stolenSummary } from '../src/bench/host-cpu.js'
import { merge } from '../src/bench/index.js'
import { describeError } from '../src/bench/load.js'
import { markdownReport } from '../src/bench/markdown.js'
import { intervalCost, medianCost, parseProcessCpuTicks } from '../src/bench/process-cpu.js'
import { adaptiveRun, staticSweep, type Target } from '../src/bench/runners.js'
import { findShortfalls, reasonKind } from '../src/bench/shortfalls.js'
import {
  confirmedBest,
  convergenceTime,
  meanSize,
  percentile,
  rotated,
  settledSizes,
  spread,
  topSizes,
} from '../src/bench/stats.js'
import { passVerdict, summariseVariantPairs, variantPairs, verdictLines } from '../src/bench/summary.js'
import { chartSvg } from '../src/bench/svg.js'
import type {
  AdaptivePolicyName,
  AdaptiveResult,
  BenchResult,
  ProfileCoresResult,
} from '../src/bench/types.js'
import { parseVariant, splitVariant } from '../src/bench/variant.js'
import { PythonError } from '../src/bridge/index.js'
import { DRIFT_REASON, PHASE_CHANGE_REASON } from '../src/control/gauge.js'
import { PYTHON } from './helpers/python.js'

test('convergence: first time after which the size stays within 5 % (±1) of its final size', (t) => {
  t.is(convergenceTime([[0, 4]], 4), null, 'never moved')
  t.is(
    convergenceTime(
      [
        [0, 4],
        [500, 8],
        [1000, 16],
        [1500, 15],
        [2000, 40],
        [2500, 16],
      ],
      16,
    ),
    2500,
  )
  t.is(
    convergenceTime(
      [
        [0, 4],
        [500, 99],
        [1000, 100],
      ],
      100,
    ),
    500,
  )
})

test('time-weighted mean size and percentiles', (t) => {
  const series: Array<[number, number]> = [
    [0, 2],
    [1000, 4],
    [3000, 8],
  ]
  t.is(meanSize(series, 0, 4000), (2 * 1000 + 4 * 2000 + 8 * 1000) / 4000)
  t.is(meanSize(series, 2000, 4000), 6)
  t.is(percentile([5, 1, 4, 2, 3], 0.99), 5)
  t.is(percentile([], 0.5), null)
  t.deepEqual(spread([3, null, 1, 2]), { median: 2, min: 1, max: 3, n: 3 })
})

function adaptive(policy: AdaptivePolicyName, eff: number, size: number): AdaptiveResult {
  const s = (x: number) => ({ median: x, min: x, max: x, n: 1 })
  return {
    policy,
    runs: [
      {
        throughput: eff * 100,
        throughputWhole: eff * 90,
        p99Ms: 3,
        finalSize: size,
        meanSteadySize: size,
        convergenceMs: 1000,
        pssMiB: 10,
        resizes: 2,
        sizeSeries: [
          [0, 4],
          [500, size],
        ],
        decisions: [
          { tMs: 500, from: 4, size, reason: `target ${size}: 4 → ${size}`, inputs: { cpuMs: 0.1 } },
        ],
      },
    ],
    throughput: s(eff * 100),
    efficiency: s(eff),
    efficiencySweep: s(eff * 0.8),
    efficiencyRef: s(eff),
    efficiencyHeldOut: s(eff + 0.05),
    p99Ms: 3,
    finalSize: s(size),
    convergenceMs: 1000,
    pssMiB: 10,
  }
}

function fixture(): BenchResult {
  const sweep = [1, 2, 4, 512, 1024].map((n) => ({
    n,
    throughput: { median: n === 4 ? 100 : n >= 512 ? 60 : 50, min: 50, max: 100, n: 1 },
    p99Ms: 1,
    pssMiB: 10,
    warmupMs: 1500,
  }))
  const row: ProfileCoresResult = {
    profile: 'balanced',
    cores: 1,
    cpus: [0],
    sweep: [
      ...sweep,
      { n: 2048, throughput: null, p99Ms: null, pssMiB: null, warmupMs: null, skipped: 'not started' },
    ],
    best: { n: 4, throughput: 100 },
    sweepBest: { n: 4, throughput: 125 },
    confirmed: [
      { n: 4, throughput: { median: 100, min: 98, max: 101, n: 3 }, runs: [98, 100, 101] },
      { n: 512, throughput: { median: 70, min: 70, max: 70, n: 1 }, runs: [70] },
      { n: 1024, throughput: null, runs: [null], skipped: 'not started: warm-up cap' },
    ],
    cliff: { dropAt512Plus: 0.4, dropAtLargest: 0.4, largestN: 1024 },
    heldOut: { runs: [{ n: 4, throughput: 95 }], throughput: { median: 95, min: 95, max: 95, n: 1 } },
    adaptive: [adaptive('gauge', 0.9, 5), adaptive('paper', 0.92, 12), adaptive('betapool', 0.5, 20)],
    peers: [],
    elapsedMs: 1,
  }
  return {
    tool: 'gilgauge bench',
    command: 'npx gilgauge bench --profiles balanced',
    config: fullConfig(),
    environment: {
      date: '',
      host: 'h',
      kernel: 'k',
      cpuModel: 'cpu',
      logicalCpus: 2,
      memTotalMiB: 1024,
      node: 'v20',
      python: 'python',
      pythonVersion: '3.11.7',
      openblasCoretype: null,
      commit: null,
      shared: 'shared',
    },
    startedAt: '',
    finishedAt: '',
    elapsedMs: 1,
    results: [row],
    shortfalls: findShortfalls([row]),
    missing: [],
  }
}

test('shortfalls name gauge below the goal and below a better policy, with its decisions as evidence', (t) => {
  const result = fixture()
  const whats = result.shortfalls.map((s) => s.what)
  t.true(whats.some((w) => w.startsWith('gauge below 0.95')))
  t.true(whats.some((w) => w.startsWith('gauge below paper')))
  t.false(whats.some((w) => w.startsWith('gauge below betapool')))
  t.regex(result.shortfalls[0]?.evidence ?? '', /vs the held-out static run 0\.95; settled at 5/)
  t.is(reasonKind('target 12 (wait 3.5): 4 → 12'), 'target # (wait #): # → #')
})

test('markdown and SVG carry the headline, the cliff and the policies', (t) => {
  const result = fixture()
  const md = markdownReport(result, 'charts')
  t.true(md.includes('npx gilgauge bench --profiles balanced'))
  t.regex(md, /\| balanced \| 1 \| 4 \| 100 \| −40 % \| 0\.90 \[5\] \| 0\.92 \[12\] \| 0\.50 \[20\] \|/)
  t.regex(md, /\| 4, 125 \| 0\.72 \| /m, "the sweep's best point and gauge against it")
  t.regex(md, /\| 0\.72 \| 4, 95\.0 \| 0\.95 \|$/m, 'the held-out static run and gauge against it')
  // A candidate that measured nothing says why, not 0.
  t.regex(
    md,
    /\| balanced \| 1 \| \*\*N=4: 100 \(98–101\) \(100\)\*\* · N=512: 70\.0 \(60\.0\) · N=1024: —, not started: warm-up cap \(60\.0\) \|/,
  )
  t.true(md.includes('## Shortfalls'))
  const svg = chartSvg('balanced', result.results, [1, 2, 4, 512, 1024, 2048])
  t.true(svg.startsWith('<svg') && svg.trimEnd().endsWith('</svg>'))
  t.true(svg.includes('N ≥ 512 (cliff)'))
  t.true(svg.includes('N ≥ 2048 not run'))
  t.is((svg.match(/<g><title>/g) ?? []).length, 3, 'one marker per adaptive policy')
})

/** The CPUs this process may run on, from /proc/self/status (e.g. "1" or "0-1"). */
const allowedCpus = () => /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]

test('Node is pinned off the Python CPUs pair after pair, not onto them once pinned', (t) => {
  const cpus = os.cpus().length
  if (cpus < 2) {
    t.pass('one CPU: nothing to pin away from')
    return
  }
  const last = cpus - 1
  const every = `0-${last}`
  try {
    t.is(pinNodeAwayFrom([0]), `Node on CPU ${Array.from({ length: last }, (_, i) => i + 1).join(',')}`)
    // The second pair used to read this process's own affinity as the machine and pin Node onto CPU 0.
    t.is(pinNodeAwayFrom([0]), `Node on CPU ${Array.from({ length: last }, (_, i) => i + 1).join(',')}`)
    t.is(allowedCpus(), last === 1 ? '1' : `1-${last}`)
    // A pair on every CPU lets Node run anywhere again.
    t.is(pinNodeAwayFrom(Array.from({ length: cpus }, (_, i) => i)), 'Node shares all CPUs')
    t.is(allowedCpus(), every)
  } finally {
    spawnSync('taskset', ['-a', '-p', '-c', every, String(process.pid)])
  }
})

const procStat = (name: string) => readFileSync(path.join(__dirname, 'fixtures', 'bench', name), 'utf8')

test("/proc/stat per CPU: busy, idle and stolen ticks, and each CPU's shares between two reads", (t) => {
  const before = parseProcStat(procStat('proc-stat-before.txt'))
  const after = parseProcStat(procStat('proc-stat-after.txt'))
  // The aggregate "cpu" line and the other kinds of line are not CPUs.
  t.deepEqual([...before.keys()], [0, 1])
  // cpu0 31195 0 5515 36005 84 0 66 578: user + nice + system + irq + softirq; idle + iowait; steal.
  t.deepEqual(before.get(0), { busy: 31195 + 5515 + 66, idle: 36005 + 84, steal: 578 })
  // Captured 5 s apart while a one-core bench ran: CPU 0 had 475 busy, 23 idle, 2 stolen ticks of 500.
  const shares = cpuShares(before, after)
  t.deepEqual(shares[0], { cpu: 0, busy: 0.95, idle: 0.046, steal: 0.004 })
  t.is(shares.length, 2)
  for (const s of shares) t.true(Math.abs(s.busy + s.idle + s.steal - 1) <= 0.002)
})

test('/proc/stat: a CPU line without steal, garbled, new, or gone backwards is not measured', (t) => {
  const parsed = parseProcStat('cpu0 1 2 3 4 5 6 7\ncpu1 1 2 3 4 5 6 7 x\ncpu2 10 0 10 80 0 0 0 0 0 0\n')
  t.deepEqual([...parsed.keys()], [2], 'cpu0 has no steal field (old kernel); cpu1 is garbled')
  const before = parseProcStat('cpu2 10 0 10 80 0 0 0 0 0 0\ncpu3 50 0 0 50 0 0 0 0 0 0\n')
  const after = parseProcStat(
    'cpu2 40 0 20 130 0 0 0 10 0 0\ncpu3 1 0 0 1 0 0 0 0 0 0\ncpu4 1 0 0 1 0 0 0 0\n',
  )
  // cpu3's counters went back (offline and back); cpu4 was not there before.
  t.deepEqual(cpuShares(before, after), [{ cpu: 2, busy: 0.4, idle: 0.5, steal: 0.1 }])
  t.deepEqual(cpuShares(before, before), [], 'no tick between the reads says nothing')
})

test("/proc/<pid>/stat: every thread's CPU, ended threads included, counted from the name's last parenthesis", (t) => {
  // Captured from a Python process after a thread spun 0.3 s and ended, then the main thread 0.2 s;
  // time.process_time() read 0.587 s: utime 23 + stime 34 ticks.
  const captured = procStat('proc-pid-stat-python.txt')
  t.is(parseProcessCpuTicks(captured), 57)
  // A thread name may hold spaces and parentheses (it is the program's to set).
  t.is(parseProcessCpuTicks(captured.replace('(python3)', '(a) 1 2 (b c)')), 57)
  t.is(parseProcessCpuTicks('not a stat line'), null)
  t.is(parseProcessCpuTicks(captured.slice(0, captured.indexOf(' 23 34'))), null, 'cut before utime')
  t.is(parseProcessCpuTicks(captured.replace(' 23 34 ', ' 23 x ')), null)
})

test('interval cost: CPU per completed task and busy CPUs, or nothing when it cannot be known', (t) => {
  t.deepEqual(intervalCost(1000, 1570, 100, 1000), { cpuMsPerTask: 5.7, busyCpus: 0.57 })
  t.is(intervalCost(null, 1570, 100, 1000), null, 'the process could not be read')
  t.is(intervalCost(1000, 1570, 0, 1000), null, 'nothing completed')
  t.is(intervalCost(1570, 1000, 100, 1000), null, 'a counter that went back is not a cost')
  t.deepEqual(
    medianCost([{ cpuMsPerTask: 1, busyCpus: 0.9 }, null, { cpuMsPerTask: 3, busyCpus: 0.5 }, undefined]),
    { cpuMsPerTask: 2, busyCpus: 0.7 },
  )
  t.is(medianCost([null, undefined]), null)
})

test("where gauge's throughput went: the busy-CPU and per-task factors against the best static pool", (t) => {
  const result = fixture()
  const row = result.results[0] as ProfileCoresResult
  const cost = (busyCpus: number, cpuMsPerTask: number) => ({ busyCpus, cpuMsPerTask })
  t.is(costSplit(row), null, 'a result from before CPU was measured has no split')
  // The best static pool (N = 4) busy 0.96–1.0 at 9.5–10.5 ms per task; gauge left a tenth of the CPU idle.
  const best = row.confirmed?.[0]
  if (best) best.costs = [cost(1, 10.5), cost(0.98, 10), cost(0.96, 9.5)]
  const gauge = row.adaptive.find((a) => a.policy === 'gauge')
  for (const run of gauge?.runs ?? []) run.steadyCost = cost(0.882, 10)
  // paper paid more CPU per task at the same busy share.
  const paper = row.adaptive.find((a) => a.policy === 'paper')
  for (const run of paper?.runs ?? []) run.steadyCost = cost(0.98, 10.9)
  const split = costSplit(row)
  t.like(split, { busyRatio: 0.9, costRatio: 1, best: { n: 4 }, policy: { size: 5 } })
  t.is(split && mainLoss(split), 'busy')
  const paperSplit = costSplit(row, 'paper')
  t.like(paperSplit, { busyRatio: 1, costRatio: 0.917 })
  t.is(paperSplit && mainLoss(paperSplit), 'cost')
  const md = markdownReport({ ...result, shortfalls: findShortfalls([row]) }, 'charts')
  t.regex(
    md,
    /\| balanced \| 1 \| 0\.90 \| 4: 0\.98 \(0\.96–1\.00\) · 10\.0 \(9\.5–10\.5\) \| — · — \| \[5\] 0\.88 · 10\.0 \| 0\.90 \| 1\.00 \|/,
  )
  t.regex(md, /moved between its repeats by a median 10 % of its median/)
  t.regex(md, /the larger factor is CPU left unused on 1 \(balanced 1 core\) and CPU per task on 0\./)
  t.regex(
    findShortfalls([row])[0]?.evidence ?? '',
    /busy CPUs 0\.90 of the best static pool's, CPU per task 1\.00/,
  )
})

test("stolen time: per pair over Python's CPUs only, the median and the most, in the report", (t) => {
  const result = fixture()
  const row = result.results[0] as ProfileCoresResult
  const measured: ProfileCoresResult[] = [
    {
      ...row,
      hostCpu: [
        { cpu: 0, busy: 0.9, idle: 0, steal: 0.1 },
        { cpu: 1, busy: 0.2, idle: 0.3, steal: 0.5 },
      ],
    },
    {
      ...row,
      profile: 'voice',
      cores: 2,
      cpus: [0, 1],
      hostCpu: [
        { cpu: 0, busy: 0.98, idle: 0, steal: 0.02 },
        { cpu: 1, busy: 0.96, idle: 0, steal: 0.04 },
      ],
    },
    { ...row, profile: 'rag' },
  ]
  const s = stolenSummary(measured)
  // CPU 1 is Node's in the one-core pair: its 50 % is not Python's loss.
  t.deepEqual(s?.pairs, [
    { profile: 'balanced', cores: 1, stolen: 0.1 },
    { profile: 'voice', cores: 2, stolen: 0.03 },
  ])
  t.is(s?.median, 0.065)
  t.deepEqual(s?.most, { profile: 'balanced', cores: 1, stolen: 0.1 })
  t.is(stolenSummary([row]), null)
  t.false(markdownReport(result, 'charts').includes('## Host CPU'), 'not measured: no section, no claim')
  const md = markdownReport({ ...result, results: measured }, 'charts')
  t.regex(
    md,
    /the hypervisor took 6\.5 % of the time of the CPUs Python ran on, median over 2 pairs; most in balanced on 1 core, 10\.0 %/,
  )
  t.regex(
    md,
    /\| balanced \| 1 \| CPU 0: 10\.0 % \/ 0\.0 % \/ 90\.0 % \| CPU 1: 50\.0 % \/ 30\.0 % \/ 20\.0 % \|/,
  )
  t.regex(
    md,
    /\| voice \| 2 \| CPU 0: 2\.0 % \/ 0\.0 % \/ 98\.0 %; CPU 1: 4\.0 % \/ 0\.0 % \/ 96\.0 % \| — \|/,
  )
})

test('rotated: each repeat starts one further along, so no policy always runs first', (t) => {
  const policies = ['gauge', 'paper', 'betapool'] as const
  t.deepEqual(rotated(policies, 0), ['gauge', 'paper', 'betapool'])
  t.deepEqual(rotated(policies, 1), ['paper', 'betapool', 'gauge'])
  t.deepEqual(rotated(policies, 2), ['betapool', 'gauge', 'paper'])
  t.deepEqual(rotated(policies, 3), ['gauge', 'paper', 'betapool'], 'wraps around')
  t.deepEqual(rotated(policies, -1), ['betapool', 'gauge', 'paper'])
  t.deepEqual(rotated([], 2), [])
  t.deepEqual([...policies], ['gauge', 'paper', 'betapool'], 'the input is left as it was')
})

test("candidates: the sweep's best sizes, and the best of their longer runs", (t) => {
  const point = (n: number, median: number | null) => ({
    n,
    throughput: median === null ? null : { median, min: median, max: median, n: 1 },
    p99Ms: null,
    pssMiB: null,
    warmupMs: null,
  })
  const sweep = [point(1, 10), point(2, 30), point(4, 29), point(8, null), point(16, 31), point(32, 5)]
  t.deepEqual(topSizes(sweep, 3), [2, 4, 16], 'the three highest, in size order; unmeasured points never')
  t.deepEqual(topSizes(sweep, 10), [1, 2, 4, 16, 32])
  t.deepEqual(
    confirmedBest([
      { n: 2, throughput: { median: 27 } },
      { n: 4, throughput: null },
      { n: 16, throughput: { median: 28 } },
    ]),
    { n: 16, throughput: 28 },
    'the sweep ranked 16 first, its longer run decides',
  )
  t.is(confirmedBest([{ n: 2, throughput: null }]), null)
})

test('the native yardstick is also measured where PyPI betapool settled: its setting and its live threads', (t) => {
  const run = (finalSize: number | null, liveFinal: number | null, ok = true) => ({
    ok,
    finalSize,
    liveFinal,
  })
  t.deepEqual(
    settledSizes([run(18, 11)], 64),
    [18, 11],
    'vision on 1 core: set to 18, 11 threads live, best N 64',
  )
  t.deepEqual(settledSizes([run(18, 18)], 64), [18], 'one size when both agree')
  t.deepEqual(settledSizes([run(8, 8)], 8), [], 'nothing new when it settled on the best N')
  t.deepEqual(
    settledSizes([run(17, 10), run(19, 12), run(300, 300, false)], 64),
    [18, 11],
    'medians of the runs that worked',
  )
  t.deepEqual(settledSizes([run(null, null)], 4), [], 'no size reported, nothing to measure')
  t.deepEqual(settledSizes([], 4), [])
})

test('a failed pair is reported with where its Python task raised', (t) => {
  const error = new PythonError(
    'onnx-mobilenetv2',
    'RecursionError',
    'maximum recursion depth exceeded',
    'Traceback (most recent call last):\n  File "/x/tasks.py", line 9, in run\n    f()\n  File "/x/edge_ai.py", line 341, in _onnx_session\n    sess = ort.InferenceSession(path)\nRecursionError: maximum recursion depth exceeded\n',
  )
  t.is(
    describeError(error),
    `'onnx-mobilenetv2' raised RecursionError: maximum recursion depth exceeded (File "/x/edge_ai.py", line 341, in _onnx_session)`,
  )
  t.is(describeError(new Error('spawn failed')), 'spawn failed')
  t.is(describeError('odd'), 'odd')
})

/** The combined report of passes 'a' and 'b', as `--combine a,b --out c` writes it. */
function twoPassReport(first: BenchResult, second: BenchResult, pairs: CombinedPair[]): string {
  const sources = [
    { dir: 'a', result: first },
    { dir: 'b', result: second },
  ]
  return combinedMarkdown(sources, pairs, 'npx gilgauge bench --combine a,b --out c', 'one commit')
}

test('passes combined: per pair the median over passes decides, each pass against its own best', (t) => {
  const first = fixture() // gauge 0.90, paper 0.92, betapool 0.50
  const second = fixture()
  const row = second.results[0] as ProfileCoresResult
  row.adaptive = [adaptive('gauge', 1.02, 9), adaptive('paper', 0.96, 12), adaptive('betapool', 0.6, 20)]
  // The best size run again: 0.95 of the best static pool in the first pass, 0.90 in the second.
  row.heldOut = { runs: [{ n: 4, throughput: 90 }], throughput: { median: 90, min: 90, max: 90, n: 1 } }
  second.results.push({ ...row, cores: 2, unavailable: 'failed: boom' })
  const pairs = combinePasses([
    { dir: 'a', result: first },
    { dir: 'b', result: second },
  ])
  t.is(pairs.length, 2)
  const [one, two] = pairs
  t.is(one?.median.gauge?.median, 0.96)
  t.is(one?.median.paper?.median, 0.94)
  t.is(one?.median.gauge?.n, 2)
  t.true(one?.meetsGoal)
  t.deepEqual(one?.belowRivals, [])
  t.is(one?.passes[1]?.gaugeSize, 9)
  t.deepEqual(
    one?.passes.map((x) => x?.heldOut),
    [0.95, 0.9],
  )
  t.true(Math.abs((one?.medianHeldOut?.median ?? 0) - 0.925) < 1e-9)
  const ceiling = againstHeldOut(pairs)
  t.is(ceiling.runs, 2, 'a pass where the pair failed has no held-out number')
  t.is(ceiling.gaugeMeets, 1)
  t.is(ceiling.heldOutMeets, 1)
  t.true(Math.abs((ceiling.ratio?.median ?? 0) - (0.9 / 0.95 + 1.02 / 0.9) / 2) < 1e-9)
  t.is(ceiling.pairs, 1)
  t.is(ceiling.gaugeMedianMeets, 1, 'gauge: median 0.96')
  t.is(ceiling.heldOutMedianMeets, 0, 'the best size run again: median 0.925')
  // Failed in its only pass: no number, no verdict.
  t.is(two?.meetsGoal, null)
  t.deepEqual(two?.passes, [null, null])
  // Below a rival on the median even though one pass was above it.
  const third = fixture()
  ;(third.results[0] as ProfileCoresResult).adaptive[1] = adaptive('paper', 1.1, 12)
  const [worse] = combinePasses([
    { dir: 'a', result: first },
    { dir: 'c', result: third },
  ])
  t.deepEqual(worse?.belowRivals, ['paper'])
  t.false(worse?.meetsGoal)
  // Median gauge 0.90, paper 1.01: the rival's lead (0.11) is the larger miss, not the goal's 0.05.
  t.true(Math.abs((worse ? (missMargin(worse) ?? 0) : 0) - 0.11) < 1e-9)
  t.is(one ? missMargin(one) : null, 0, 'met: no margin')
  t.is(two ? missMargin(two) : undefined, null, 'no gauge number: no margin')
  const md = twoPassReport(first, second, pairs)
  t.regex(md, /gauge ≥ 0\.95: 1 of 1 pairs; not below any of the three: 1 of 1; both: 1 of 1\./)
  t.regex(
    md,
    /Pair by pair in each pass \(2\): gauge ≥ 0\.95 in 1, the best size run again in 1; gauge \/ the best size run again: 1\.04 \(0\.95–1\.13\)\./,
  )
  t.regex(md, /On the medians over passes \(1 pairs\): gauge ≥ 0\.95 on 1, the best size run again on 0\./)
  t.regex(md, /\| balanced \| 1 \| 2 \|.*\| 0\.93 \(0\.90–0\.95\) \| 0\.90 \[5\] · 1\.02 \[9\] \| met \|/)
  t.notRegex(md, /native yardstick differs/, 'both passes divide PyPI betapool the same way')
  // The second pass also measured the native pool at PyPI betapool's sizes: the report says which pass did.
  const nativeRun = { ok: true, throughput: 100, p99Ms: null, finalSize: 8, liveFinal: 8, pssMiB: null }
  row.peers = [
    {
      mode: 'static',
      label: 'ThreadPoolExecutor(8)',
      workers: 8,
      runs: [nativeRun],
      throughput: spread([100]),
      p99Ms: null,
      finalSize: 8,
      pssMiB: null,
      efficiencyNative: 1,
      efficiencyBridge: 1,
      tried: [
        { workers: 4, throughput: 90 },
        { workers: 8, throughput: 100 },
      ],
    },
  ]
  t.regex(
    twoPassReport(first, second, pairs),
    /PyPI betapool's native yardstick differs: passes 2 divide by the best native pool among the bridge's best N and PyPI betapool's own sizes, passes 1 by the bridge's best N alone/,
  )
  t.regex(
    md,
    /\| balanced \| 1 \| 2 \| 0\.96 \(0\.90–1\.02\) \| 0\.94 \(0\.92–0\.96\) \|.*\| 0\.90 \[5\] · 1\.02 \[9\] \| met \|/,
  )
})

test('passes combined: the pairs where gauge is below the best size run again in every pass, from three passes', (t) => {
  // fixture(): gauge 0.90 and the held-out run 0.95 of the best static pool, so gauge / held-out 0.947.
  const passes = (n: number) => Array.from({ length: n }, (_, i) => ({ dir: `p${i}`, result: fixture() }))
  t.deepEqual(againstHeldOut(combinePasses(passes(2))).alwaysBelow, [], 'two passes say too little')
  const three = againstHeldOut(combinePasses(passes(3)))
  t.is(three.alwaysBelow.length, 1)
  t.is(three.alwaysBelow[0]?.pair, 'balanced, 1')
  t.is(three.alwaysBelow[0]?.passes, 3)
  t.true(Math.abs((three.alwaysBelow[0]?.median ?? 0) - 0.9 / 0.95) < 1e-9)
  // One pass where gauge ran above its held-out run: not below in every pass.
  const mixed = passes(3)
  const middle = fixture()
  ;(middle.results[0] as ProfileCoresResult).adaptive[0] = adaptive('gauge', 1.0, 4)
  mixed[1] = { dir: 'p1', result: middle }
  t.deepEqual(againstHeldOut(combinePasses(mixed)).alwaysBelow, [])
  const md = combinedMarkdown(
    passes(3),
    combinePasses(passes(3)),
    'npx gilgauge bench --combine p0,p1,p2 --out c',
    'one commit',
  )
  t.regex(
    md,
    /in every one of its passes \(3 or more; by chance alone 1 in 2\^passes for each pair\): balanced, 1 \(3 passes, median 0\.95\)\./,
  )
})

test('passes combined: how far passes disagree, per measure, over pairs with two passes or more', (t) => {
  const first = fixture() // gauge 0.90, paper 0.92, betapool 0.50, best static 100/s
  const second = fixture()
  const row = second.results[0] as ProfileCoresResult
  row.adaptive = [adaptive('gauge', 1.02, 9), adaptive('paper', 0.96, 12), adaptive('betapool', 0.5, 20)]
  row.best = { n: 8, throughput: 125 }
  // A second pair measured once: it has no range and must not pull the medians to 0.
  first.results.push({ ...(first.results[0] as ProfileCoresResult), profile: 'vision' })
  const pairs = combinePasses([
    { dir: 'a', result: first },
    { dir: 'b', result: second },
  ])
  const d = Object.fromEntries(passDisagreement(pairs).map((x) => [x.what, x]))
  t.is(d['best static']?.pairs, 1)
  t.is(d['best static']?.median, 0.25)
  t.is(d.gauge?.maxPair, 'balanced, 1')
  t.true(Math.abs((d.gauge?.max ?? 0) - 0.12) < 1e-9)
  t.true(Math.abs((d.paper?.median ?? 0) - 0.04) < 1e-9)
  t.is(d.betapool?.max, 0)
  // No PyPI betapool numbers in the fixture: no row rather than a range of nothing.
  t.is(d['pypi-betapool'], undefined)
  const md = twoPassReport(first, second, pairs)
  t.regex(md, /\| best static throughput \| 1 \| 25 % \| 25 % \(balanced, 1\) \|/)
  t.regex(md, /\| gauge efficiency \| 1 \| 0\.12 \| 0\.12 \(balanced, 1\) \|/)
  // vision (one pass: gauge 0.90, paper 0.92) misses the goal by 0.05, less than gauge's range of 0.12.
  t.regex(
    md,
    /Of the 1 pairs that miss the goal on their medians, 1 miss it by less than gauge's median range across passes \(0\.12\): vision, 1 \(0\.05\)\. The others miss by more: none\./,
  )
})

test("passes combined: each run's last quarter against its steady half, per policy and for the best size run again", (t) => {
  t.is(tailOverSteadyHalf([10, 10, 10]), null, 'under four seconds: no quarter to read')
  t.is(tailOverSteadyHalf([5, 5, 0, 0]), null, 'nothing completed in the steady half')
  // Steady half 8, 8, 12, 12 (mean 10); last quarter 12, 12: still gaining at the end.
  t.is(tailOverSteadyHalf([1, 2, 3, 4, 8, 8, 12, 12]), 1.2)
  // An odd length: the steady half is the last 3 of 5, the last quarter the last 2.
  t.is(tailOverSteadyHalf([0, 0, 6, 3, 3]), 3 / 4)
  const first = fixture()
  const row = first.results[0] as ProfileCoresResult
  const gaugeRun = row.adaptive[0]?.runs[0] as AdaptiveResult['runs'][number]
  gaugeRun.completionsPerSecond = [1, 2, 3, 4, 8, 8, 12, 12]
  const paperRun = row.adaptive[1]?.runs[0] as AdaptiveResult['runs'][number]
  paperRun.completionsPerSecond = [9, 9, 9, 9, 10, 10, 10, 10]
  // The held-out static pool slowed at the end (the host's drift), and one run recorded no seconds.
  row.heldOut = {
    runs: [
      { n: 4, throughput: 95, completionsPerSecond: [9, 9, 9, 9, 10, 10, 8, 8] },
      { n: 4, throughput: 90 },
    ],
    throughput: { median: 92.5, min: 90, max: 95, n: 2 },
  }
  const second = fixture()
  const secondGauge = (second.results[0] as ProfileCoresResult).adaptive[0]
    ?.runs[0] as AdaptiveResult['runs'][number]
  secondGauge.completionsPerSecond = [10, 10, 10, 10, 10, 10, 10, 10]
  const sources = [
    { dir: 'a', result: first },
    { dir: 'b', result: second },
  ]
  const tail = Object.fromEntries(steadyTail(sources).map((x) => [x.what, x]))
  t.is(tail.gauge?.ratio.n, 2, 'one run from each pass')
  t.true(Math.abs((tail.gauge?.ratio.median ?? 0) - 1.1) < 1e-9)
  t.deepEqual([tail.gauge?.ratio.min, tail.gauge?.ratio.max], [1, 1.2])
  t.is(tail.gauge?.lateFaster, 1, 'an unchanged rate is not faster')
  t.is(tail.paper?.ratio.n, 1)
  t.is(tail.betapool, undefined, 'no run recorded its seconds: no row')
  t.true(Math.abs((tail['held-out']?.ratio.median ?? 0) - 8 / 9) < 1e-9)
  t.is(tail['held-out']?.lateFaster, 0)
  const md = combinedMarkdown(
    sources,
    combinePasses(sources),
    'npx gilgauge bench --combine a,b --out c',
    'one commit',
  )
  t.regex(md, /## The run's last quarter against its steady half/)
  t.regex(md, /\| gauge \| 2 \| 1\.10 \(1\.00–1\.20\) \| 1 \|/)
  t.regex(md, /\| the best size run again \| 1 \| 0\.89 \| 0 \|/)
})

test("a native peer's failed task names the frames it failed in (a RecursionError's loop)", (t) => {
  const code = [
    'from gilgauge_workloads.drive import _where',
    'def deep(n): return deep(n + 1)',
    'try: deep(0)',
    'except RecursionError as e: print(_where(e))',
  ].join('\n')
  const out = spawnSync(PYTHON, ['-c', code], {
    env: { ...process.env, PYTHONPATH: path.join(__dirname, '..', 'python') },
    encoding: 'utf8',
  })
  t.is(out.status, 0, out.stderr)
  t.is(out.stdout.trim(), '<string>:2 deep < <string>:2 deep < <string>:2 deep')
})

test("a pass's verdict over pairs: the goal against both yardsticks, and gauge against each rival", (t) => {
  const first = fixture().results[0] as ProfileCoresResult
  const second: ProfileCoresResult = {
    ...first,
    cores: 2,
    heldOut: { runs: [{ n: 4, throughput: 110 }], throughput: { median: 110, min: 110, max: 110, n: 1 } },
    adaptive: [adaptive('gauge', 1.0, 4), adaptive('paper', 0.8, 12), adaptive('betapool', 0.9, 20)],
  }
  // A workload change declared in the first half of one run and in the steady half of the other.
  const change = (tMs: number) => ({
    tMs,
    from: 4,
    size: 6,
    reason: `${PHASE_CHANGE_REASON} (…): phase 1`,
    inputs: {},
  })
  first.adaptive[0]?.runs[0]?.decisions.push(change(3_000))
  second.adaptive[0]?.runs[0]?.decisions.push(change(12_000))
  // Drift is counted apart and does not make a run one with a change.
  first.adaptive[0]?.runs[0]?.decisions.push({ ...change(14_000), reason: `${DRIFT_REASON} (…)` })
  const v = passVerdict([first, second, { ...first, cores: 3, unavailable: 'not run' }], 10_000)
  t.is(v.phases.runs, 2)
  t.is(v.phases.declared, 2)
  t.is(v.phases.drifts, 1)
  t.is(v.phases.runsChangedInSteadyHalf, 1)
  t.is(v.phases.efficiencyChanged?.median, 1)
  t.is(v.phases.efficiencyUnchanged?.median, 0.9)
  t.is(v.pairs, 2, 'a pair that did not run is not counted')
  t.is(v.meetsGoal, 1)
  t.is(v.heldOutPairs, 2)
  t.is(v.meetsGoalHeldOut, 2, 'gauge at 0.90 of the best confirmation is 0.95 of its held-out run')
  t.is(v.aboveAllRivals, 1)
  const paper = v.rivals.find((r) => r.rival === 'paper')
  t.is(paper?.gaugeHigher, 1)
  t.is(paper?.pairs, 2)
  t.is(v.rivals.find((r) => r.rival === 'pypi-betapool')?.pairs, 0, 'no PyPI number, no ratio')
  t.true(Math.abs((v.heldOutVsConfirmation?.median ?? 0) - 1.025) < 1e-9)
  t.is(v.heldOutVsConfirmation?.n, 2)
  t.is(v.heldOutBelowConfirmation, 1)
  t.is(v.heldOutMeetsGoal, 2, 'a held-out run at 0.95 of the best confirmation meets the goal')
  const lines = verdictLines(v).join('\n')
  t.regex(lines, /gauge ≥ 0\.95 of the best static pool on 1 \(against the held-out static run: 2 of 2\)/)
  t.regex(lines, /gauge \/ paper, pair by pair: median 1\.11 \(0\.98–1\.25\); gauge higher on 1 of 2/)
  t.regex(
    lines,
    /declared 2 workload changes in 2 runs; .* 1 run declared one in the steady half and ran at 1\.00/,
  )
  t.regex(lines, /noted 1 smaller change as drift/)
  t.regex(
    lines,
    /The best static size itself, run once more, reached ≥ 0\.95 of the best static pool on 2 of 2/,
  )
  // Without a change in a steady half there is no "ran at —" for it.
  const calm = verdictLines(passVerdict([{ ...first, adaptive: [adaptive('gauge', 0.9, 4)] }], 10_000)).join(
    '\n',
  )
  t.regex(calm, /declared 0 workload changes in 1 run; .* None was in a steady half; the runs ran at 0\.90 /)
  t.notRegex(calm, /ran at —/)
})

test('--merge: one result of two runs that measured different pairs, each pair from the first run that has it', (t) => {
  // Two committed runs: five one-core pairs, and a full pass that measured them too.
  const part = 'benches/results/bench-one-core-misses-drift-repeats2'
  const full = 'benches/results/bench-pass13'
  const out = mkdtempSync(path.join(os.tmpdir(), 'gilgauge-merge-'))
  try {
    t.is(merge([part, full], out, 'npx gilgauge bench --merge a,b --out c'), 0)
    const merged = JSON.parse(readFileSync(path.join(out, 'bench.json'), 'utf8')) as BenchResult
    const read = (dir: string) =>
      JSON.parse(readFileSync(path.join(dir, 'bench.json'), 'utf8')) as BenchResult
    const pair = (r: BenchResult, profile: string, cores: number) =>
      r.results.find((x) => x.profile === profile && x.cores === cores)
    t.is(merged.results.length, 26)
    // Taken from the first run where it measured the pair, from the second elsewhere.
    t.deepEqual(pair(merged, 'rag', 1)?.best, pair(read(part), 'rag', 1)?.best)
    t.notDeepEqual(pair(merged, 'rag', 1)?.best, pair(read(full), 'rag', 1)?.best)
    t.deepEqual(pair(merged, 'rag', 2)?.best, pair(read(full), 'rag', 2)?.best)
    t.is(merged.config.repeats, 2)
    t.true(merged.notes?.some((n) => n.includes(part) && n.includes('rag-1') && !n.includes('rag-2')))
    // Each run's decisions follow its pair.
    const decisions = JSON.parse(readFileSync(path.join(out, 'decisions.json'), 'utf8')) as Array<{
      profile: string
      cores: number
      policies: Array<{ policy: string; runs: unknown[] }>
    }>
    const ragOne = decisions.find((d) => d.profile === 'rag' && d.cores === 1)
    t.is(ragOne?.policies.find((p) => p.policy === 'gauge')?.runs.length, 2)
    const report = readFileSync(path.join(out, 'bench.md'), 'utf8')
    t.true(report.includes('Merged by'))
    // The method notes say how often each pair ran, not the larger count of the two runs.
    const repeats =
      /- Repeats per policy and peer: on 1 core\(s\) 2 for ([^;]+), 1 for ([^;]+); 1 on 2 core\(s\);/.exec(
        report,
      )
    t.deepEqual(
      repeats?.[1]?.split(', ').sort(),
      read(part)
        .results.map((r) => r.profile)
        .sort(),
      report,
    )
    t.is(repeats?.[2]?.split(', ').length, 8)
    t.throws(() => merge([part], out, 'x'), { message: /at least two result directories/ })
    t.throws(() => merge([part, os.tmpdir()], out, 'x'), { message: /no bench.json in/ })
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
})

/** A bench target on the tasks of `fixtures/bench/breaking.py`, pinned to the first CPU. */
function breakingTarget(task: string): Target {
  return {
    python: PYTHON,
    pythonPath: [path.join(__dirname, '..', 'python'), path.join(__dirname, 'fixtures', 'bench')].join(':'),
    profile: task,
    module: 'breaking',
    cpus: [0],
  }
}

const shortRuns = { ...fullConfig(), policyMs: 4000, warmupMs: 300, warmupCapMs: 1500, measureMs: 500 }

test('a run whose calls start failing is an error naming the failure, not a low throughput', async (t) => {
  const error = await t.throwsAsync(adaptiveRun(breakingTarget('works_then_fails'), { static: 2 }, shortRuns))
  t.regex(
    error?.message ?? '',
    /^20 calls failed and the load stopped after \d+ completed: .*the device went away/,
  )
})

test('a run that stops completing before its steady half is an error, not a throughput of 0', async (t) => {
  const error = await t.throwsAsync(adaptiveRun(breakingTarget('works_then_hangs'), { static: 2 }, shortRuns))
  t.regex(error?.message ?? '', /^no task completed in the steady half \(\d+ before it, 0 calls failed\)/)
})

test('a sweep whose calls start failing marks the point and the rest not run, with the failure', async (t) => {
  const points = await staticSweep(breakingTarget('works_then_fails'), [1, 2, 4], shortRuns, () => {})
  const failed = points.filter((p) => p.skipped?.includes('the device went away'))
  t.true(failed.length >= 2, JSON.stringify(points))
  t.true(
    failed.every((p) => p.throughput === null),
    JSON.stringify(points),
  )
  t.is(points.at(-1)?.skipped, failed[0]?.skipped)
})

test("a run measures the Python process's CPU: busy CPUs over CPU per task is its throughput", async (t) => {
  const spins = breakingTarget('spins')
  const points = await staticSweep(spins, [1, 2], { ...shortRuns, measureMs: 1000 }, () => {})
  const run = await adaptiveRun(spins, { static: 1 }, { ...shortRuns, policyMs: 3000 })
  const measured = [
    ...points.map((p) => ({ throughput: p.throughput, cost: p.cost })),
    { throughput: run.throughput, cost: run.steadyCost },
  ]
  for (const { throughput, cost } of measured) {
    const what = JSON.stringify({ throughput, cost })
    // Each call spins 2 ms of its thread's CPU; the bridge adds little to that.
    t.true(cost !== null && cost !== undefined && cost.cpuMsPerTask >= 2 && cost.cpuMsPerTask < 6, what)
    // Pinned to one CPU, shared with the other tests: busy some of the time, never more than that CPU.
    t.true(cost !== null && cost !== undefined && cost.busyCpus > 0 && cost.busyCpus <= 1.05, what)
    const implied = ((cost?.busyCpus ?? 0) * 1000) / (cost?.cpuMsPerTask ?? 1)
    t.true(Math.abs(implied / (throughput ?? 1) - 1) < 0.05, `${what}: implies ${implied}/s`)
  }
})

test("a run's completions per second cover the whole run and add up to its whole-run throughput", async (t) => {
  const run = await adaptiveRun(breakingTarget('steady'), { static: 2 }, { ...shortRuns, policyMs: 3000 })
  const perSecond = run.completionsPerSecond ?? []
  t.is(perSecond.length, 3)
  // Two threads of 5 ms tasks: far from none in any second.
  t.true(
    perSecond.every((c) => c > 50),
    JSON.stringify(perSecond),
  )
  t.is(
    perSecond.reduce((a, b) => a + b, 0),
    Math.round(run.throughputWhole * 3),
  )
  // A call that sleeps 5 ms costs the process far less than 5 ms of CPU.
  t.true((run.steadyCost?.cpuMsPerTask ?? 99) < 2, JSON.stringify(run.steadyCost))
})

test("--variant: gauge options checked against gauge's own, with an error that names what to write", (t) => {
  t.deepEqual(parseVariant('fillRetriesOneCore=0,probe=false,fillBelow=null'), {
    fillRetriesOneCore: 0,
    probe: false,
    fillBelow: null,
  })
  // An option off by default (null) takes a number to turn it on.
  t.deepEqual(parseVariant('gilBoundHeadroomOneCore=2'), { gilBoundHeadroomOneCore: 2 })
  t.deepEqual(parseVariant('gilBoundFloorOneCore=16'), { gilBoundFloorOneCore: 16 })
  // The bridge's linger for parked workers, in ms.
  t.deepEqual(parseVariant('parkedLingerMs=0,probe=false'), { parkedLingerMs: 0, probe: false })
  t.deepEqual(splitVariant({ parkedLingerMs: 0, probe: false }), {
    gauge: { probe: false },
    bridge: { parkedLingerMs: 0 },
  })
  t.deepEqual(splitVariant({ probe: false }), { gauge: { probe: false }, bridge: {} })
  // An option that takes one of a few words.
  t.deepEqual(parseVariant('contentionHoldsGrowthOneCore=never'), {
    contentionHoldsGrowthOneCore: 'never',
  })
  for (const [text, message] of [
    [
      'contentionHoldsGrowthOneCore=false',
      /contentionHoldsGrowthOneCore takes one of always, unlessGilBound, never, got 'false'/,
    ],
    ['gilBoundHeadroomOneCore=true', /gilBoundHeadroomOneCore takes a number or null, got 'true'/],
    [
      'fillRetries=0',
      /'fillRetries' is not a gauge or bridge option; use one of .*fillRetriesOneCore.*parkedLingerMs/,
    ],
    ['probe=0', /probe takes true or false, got '0'/],
    ['headroom=null', /headroom takes a number, got 'null'/],
    ['headroom=', /headroom takes a number, got ''/],
    ['headroom', /write each option as key=value, got 'headroom'/],
    ['gilEnabled=true', /'gilEnabled' is not a gauge or bridge option/],
    ['parkedLingerMs=-1', /parkedLingerMs takes a number of ms >= 0, got '-1'/],
    ['parkedLingerMs=never', /parkedLingerMs takes a number of ms >= 0, got 'never'/],
  ] as const) {
    const error = t.throws(() => parseVariant(text))
    t.is((error as { code?: string }).code, 'EINVAL')
    t.regex(error?.message ?? '', message)
  }
})

test("gauge against its variant: each repeat's runs paired, each pair named with its own variant", (t) => {
  const result = fixture()
  const row = result.results[0] as ProfileCoresResult
  t.notRegex(markdownReport(result, 'charts'), /gauge against its variant/)
  const variant = (eff: number, size: number, options: AdaptiveResult['variantOptions']) => ({
    ...adaptive('gauge-variant', eff, size),
    variantOptions: options,
  })
  row.adaptive.push(variant(0.75, 3, { fillRetriesOneCore: 0 }))
  const other: ProfileCoresResult = {
    ...row,
    cores: 2,
    adaptive: [adaptive('gauge', 0.8, 4), variant(1.0, 6, { fillRetriesOneCore: 0 })],
  }
  const pairs = variantPairs([row, other])
  const c = summariseVariantPairs(pairs)
  t.is(pairs.length, 2)
  t.true(Math.abs((pairs[0]?.ratio?.median ?? 0) - 1.2) < 1e-9, 'gauge 90/s against the variant 75/s')
  t.is(c.gaugeHigher, 1)
  t.deepEqual(c.meetsGoal, { gauge: 0, variant: 1 })
  result.results.push(other)
  const md = markdownReport(result, 'charts')
  t.regex(md, /## gauge against its variant\n\nThe variant is gauge with fillRetriesOneCore=0\./)
  t.regex(md, /\| balanced \| 1 \| 0\.90 \| 0\.75 \| 1\.20 \| 5 \| 3 \|/)
  t.regex(md, /gauge \/ variant over 2 pairs: median 1\.00 \(0\.80–1\.20\); gauge higher on 1\./)
  // The variant is gauge itself: never a rival in the shortfalls.
  t.false(findShortfalls(result.results).some((s) => /gauge-variant/.test(s.what)))
  // Runs merged from two A/Bs: each pair says which variant it ran, and each variant has its own summary.
  other.adaptive[1] = variant(1.0, 6, { handoffShedAbove: null })
  const merged = markdownReport(result, 'charts')
  t.regex(merged, /Each pair's variant is named in its row\./)
  t.regex(merged, /\| balanced \| 2 \| handoffShedAbove=null \| 0\.80 \| 1\.00 \| 0\.80 \| 4 \| 6 \|/)
  t.regex(merged, /- gauge \/ variant over 1 pair with fillRetriesOneCore=0: median 1\.20/)
  t.regex(merged, /- gauge \/ variant over 1 pair with handoffShedAbove=null: median 0\.80/)
  // Results that count threads started show them; older ones (above) have no such column.
  t.notRegex(merged, /threads started/)
  const [gaugeRun] = (other.adaptive[0] as AdaptiveResult).runs
  const [variantRun] = (other.adaptive[1] as AdaptiveResult).runs
  if (gaugeRun && variantRun) Object.assign(gaugeRun, { threadsStarted: 12 })
  if (variantRun) Object.assign(variantRun, { threadsStarted: 31 })
  t.regex(markdownReport(result, 'charts'), /\| 4 \| 6 \| 12 \/ 31 \| .* \|\n/)
  t.regex(markdownReport(result, 'charts'), /\| 5 \| 3 \| — \/ — \|/)
})

test("the variant's options reach the policy it runs", async (t) => {
  // Decisions every 200 ms instead of gauge's 500 ms: about 15 in 3 s, where the defaults make about 6.
  const run = await adaptiveRun(breakingTarget('steady'), 'gauge-variant', {
    ...shortRuns,
    policyMs: 3000,
    gaugeVariant: { intervalMs: 200 },
  })
  t.true(run.decisions.length >= 10, run.decisions.map((d) => `${d.tMs} ${d.reason}`).join('\n'))
  // The companion counts the threads it started: the first pool's at least.
  t.true((run.threadsStarted ?? 0) >= shortRuns.initialSize, `${run.threadsStarted} threads started`)
  // A bridge option in the variant goes to the variant's bridge (which refuses a negative linger), and
  // only there: gauge itself runs on the default bridge.
  const refused = await t.throwsAsync(
    adaptiveRun(breakingTarget('steady'), 'gauge-variant', {
      ...shortRuns,
      gaugeVariant: { parkedLingerMs: -1 },
    }),
  )
  t.regex(refused?.message ?? '', /parkedLingerMs must be a number of ms >= 0, got -1/)
  const gauge = await adaptiveRun(breakingTarget('steady'), 'gauge', {
    ...shortRuns,
    policyMs: 1000,
    gaugeVariant: { parkedLingerMs: -1 },
  })
  t.true(gauge.throughput > 0)
})
