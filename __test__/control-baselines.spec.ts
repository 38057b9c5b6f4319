import test from 'ava'
import {
  BetapoolPolicy,
  cpuPercent,
  DecisionHistory,
  GaugePolicy,
  makePolicy,
  PaperPolicy,
  Plant,
  StaticPolicy,
  simulate,
  WORKLOADS,
} from '../src/control/index.js'
import { run, taskInput } from './fixtures/control/inputs.js'

// β of a task with 1 ms CPU in 10 ms wall is 0.9; with cpu = wall it is 0.
const ioBound = { meanCpuNs: 1e6, meanWallNs: 10e6 }
const cpuBound = { meanCpuNs: 10e6, meanWallNs: 10e6 }

test('static holds its size, clamped to the pool bounds', (t) => {
  const p = new StaticPolicy(8)
  t.is(p.decide(taskInput({ size: 3 })).size, 8)
  t.is(p.decide(taskInput({ size: 3, max: 6 })).size, 6)
  t.throws(() => new StaticPolicy(0))
})

test('paper: +1 only after three consecutive grow signals with a backlog', (t) => {
  const sizes = run(
    new PaperPolicy(),
    Array.from({ length: 7 }, () => taskInput({ ...ioBound, size: 4 })),
  ).map((d) => d.size)
  t.deepEqual(sizes, [4, 4, 5, 5, 5, 6, 6])
})

test('paper: EWMA (α 0.2 from 0.5) reaches the veto at β ≤ 0.3 on the third CPU-bound interval', (t) => {
  const p = new PaperPolicy()
  const d = run(
    p,
    Array.from({ length: 3 }, () => taskInput({ ...cpuBound, size: 4 })),
  )
  // β_ewma: 0.4, 0.32 (two signals), 0.256 → veto resets the count; no growth.
  t.deepEqual(
    d.map((x) => x.size),
    [4, 4, 4],
  )
  t.regex(d[2]?.reason ?? '', /veto/)
  t.regex(d[1]?.reason ?? '', /grow signal 2\/3/)
})

test('paper: −1 per interval when the queue is empty, down to 4 inside the pool bounds', (t) => {
  const sizes = run(
    new PaperPolicy(),
    Array.from({ length: 4 }, () => taskInput({ ...ioBound, size: 6, queued: 0 })),
  ).map((d) => d.size)
  t.deepEqual(sizes, [5, 4, 4, 4])
  // Pool bounds win over the paper's 4–128.
  t.is(new PaperPolicy().decide(taskInput({ size: 3, max: 3, queued: 0 })).size, 3)
})

test('paper (documented flaw): β rises with GIL contention, so it keeps growing a CPU-bound pool', (t) => {
  const steps = simulate({
    policy: new PaperPolicy(),
    phases: [{ windows: 40, workload: WORKLOADS.cpuBound }],
    initialSize: 4,
  })
  const last = steps.at(-1)
  // Best is 1 thread; the paper's β (≈ 1 − 1/N under the GIL) never reaches its veto.
  t.true((last?.decision.size ?? 0) >= 15, `ended at ${last?.decision.size}`)
  t.true(Number(last?.decision.inputs.betaEwma) > 0.9)
})

test('betapool: stabilisation from start, then +2 when β > 0.7 and CPU < 85 %', (t) => {
  const p = new BetapoolPolicy()
  // 100 tasks × 1 ms CPU over 0.5 s on 1 core: 20 % CPU.
  const inputs = [500, 1000, 2000, 2500, 3000, 4500].map((nowMs) => taskInput({ ...ioBound, nowMs }))
  const d = run(p, inputs)
  t.deepEqual(
    d.map((x) => x.size),
    [4, 4, 4, 6, 6, 8],
  )
  t.regex(d[0]?.reason ?? '', /stabilising/)
})

test('betapool: warm-up of 10 tasks', (t) => {
  const p = new BetapoolPolicy()
  t.regex(p.decide(taskInput({ ...ioBound, nowMs: 0, completions: 3 })).reason, /stabilising/)
  const d = p.decide(taskInput({ ...ioBound, nowMs: 5000, completions: 3 }))
  t.is(d.size, 4)
  t.regex(d.reason, /warm-up \(6\/10/)
})

test('betapool: β < 0.3 → −1; CPU > 85 % with β in between → −1; β > 0.7 at high CPU holds', (t) => {
  const lowBeta = new BetapoolPolicy()
  lowBeta.decide(taskInput({ ...cpuBound, nowMs: 0 }))
  t.is(lowBeta.decide(taskInput({ ...cpuBound, nowMs: 2000, size: 6 })).size, 5)

  // β 0.5, 100 tasks × 5 ms CPU in 0.5 s on 1 core = 100 % CPU.
  const mid = new BetapoolPolicy()
  mid.decide(taskInput({ meanCpuNs: 5e6, meanWallNs: 10e6, nowMs: 0 }))
  const dMid = mid.decide(taskInput({ meanCpuNs: 5e6, meanWallNs: 10e6, nowMs: 2000, size: 6 }))
  t.is(dMid.size, 5)
  t.regex(dMid.reason, /CPU 100% > 85%/)

  // β 0.9 with 450 tasks × 1 ms in 0.5 s = 90 % CPU: the library's chain holds (no −1).
  const high = new BetapoolPolicy()
  high.decide(taskInput({ ...ioBound, completions: 450, nowMs: 0 }))
  const dHigh = high.decide(taskInput({ ...ioBound, completions: 450, nowMs: 2000, size: 6 }))
  t.is(dHigh.size, 6)
})

test('betapool on 4 cores grows a CPU-bound GIL pool by 2 every 2 s (CPU looks idle: 25 %)', (t) => {
  const steps = simulate({
    policy: new BetapoolPolicy(),
    phases: [{ windows: 21, workload: WORKLOADS.cpuBound }],
    initialSize: 4,
    plant: { cores: 4 },
  })
  const sizes = steps.map((s) => s.size)
  t.is(sizes[4], 4)
  t.is(sizes[5], 6)
  t.is(sizes[9], 8)
  t.is(steps.at(-1)?.decision.size, 14)
  // On one core the same workload shows 100 % CPU and betapool holds.
  const one = simulate({
    policy: new BetapoolPolicy(),
    phases: [{ windows: 20, workload: WORKLOADS.cpuBound }],
    initialSize: 4,
  })
  t.true(one.every((s) => s.size === 4))
})

test('cpuPercent uses the window when there is one, else the tasks', (t) => {
  const seen = new Plant({ cores: 2, handoffPenalty: 0 }).observe(WORKLOADS.cpuBound, 4, 500e6)
  const withWindow = { window: seen.window, tasks: seen.tasks, size: 4, min: 1, max: 8, cores: 2, nowMs: 0 }
  t.true(Math.abs(cpuPercent(withWindow) - 50) < 1)
  t.true(Math.abs(cpuPercent(taskInput({ completions: 100, meanCpuNs: 2.5e6, cores: 1 })) - 50) < 1e-9)
})

test('makePolicy understands names, sizes and options', (t) => {
  t.is(makePolicy('gauge').name, 'gauge')
  t.is(makePolicy('paper').name, 'paper')
  t.is(makePolicy('betapool').name, 'betapool')
  t.is(makePolicy(6).name, 'static(6)')
  t.is(makePolicy({ static: 3 }).decide(taskInput()).size, 3)
  t.is(makePolicy({ gauge: { intervalMs: 250 } }).intervalMs, 250)
  t.is(makePolicy({ paper: { maxThreads: 5 } }).decide(taskInput({ size: 5, ...ioBound })).size, 5)
  t.true(makePolicy({ betapool: { stabilisationMs: 0 } }) instanceof BetapoolPolicy)
  // biome-ignore lint/suspicious/noExplicitAny: checking the error for a bad spec from untyped callers
  t.throws(() => makePolicy('nope' as any), { instanceOf: TypeError })
})

test('decision history keeps every decision with its reason and inputs', (t) => {
  const h = new DecisionHistory(new GaugePolicy(), 5)
  simulate({ policy: h, phases: [{ windows: 8, workload: WORKLOADS.sleepDominated }], initialSize: 4 })
  t.is(h.records.length, 5)
  for (const r of h.records) {
    t.true(r.reason.length > 0)
    t.is(typeof r.inputs.target, 'number')
  }
  t.true(h.changes().every((r) => r.size !== r.from))
  t.is(h.minCompletions, 20, "the wrapped policy's minimum completions are passed on")
  t.is(new DecisionHistory(new StaticPolicy(3)).minCompletions, undefined)
})
