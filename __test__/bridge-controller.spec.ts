import test from 'ava'
import { type BridgeStats, type ResizeEvent, setAdaptiveControllerFactory } from '../src/bridge/index.js'
import { DecisionHistory } from '../src/control/history.js'
import type { ControlInput, Decision, Policy } from '../src/control/policy.js'
import { spawnTools, waitFor } from './fixtures/bridge/helpers.js'

/** A policy for the hook's tests: one step up per interval, remembering what it was shown. */
function stepUp(intervalMs: number): Policy & { seen: ControlInput[] } {
  const seen: ControlInput[] = []
  return {
    name: 'step-up',
    intervalMs,
    seen,
    decide(input: ControlInput): Decision {
      seen.push(input)
      return { size: input.size + 1, reason: `step after ${input.tasks.completions} completions`, inputs: {} }
    },
  }
}

test.serial('a controller drives the pool within its bounds and reports each move', async (t) => {
  const policy = stepUp(60)
  const bridge = await spawnTools({
    pool: { min: 1, max: 4, initial: 1 },
    controller: () => ({ policy, windowSource: () => null }),
  })
  t.teardown(() => bridge.close())
  const resizes: ResizeEvent[] = []
  const stats: BridgeStats[] = []
  bridge.on('resize', (event) => resizes.push(event))
  bridge.on('stats', (s) => stats.push(s))
  await Promise.all(Array.from({ length: 8 }, () => bridge.call('sleep', [0.02])))

  t.true(await waitFor(() => resizes.length === 3 && policy.seen.length >= 5, 5000))
  t.deepEqual(
    resizes.map(({ from, to }) => [from, to]),
    [
      [1, 2],
      [2, 3],
      [3, 4],
    ],
    'one step per interval, never past max',
  )
  t.regex(resizes[0]?.reason ?? '', /^step after \d+ completions$/)
  t.is(bridge.pool.size, 4)
  t.is((await bridge.pythonStats()).live, 4)

  const completionsSeen = policy.seen.reduce((sum, input) => sum + input.tasks.completions, 0)
  t.is(completionsSeen, 8, 'each completion is counted in exactly one interval')
  const first = policy.seen[0]
  t.is(first?.window, null)
  t.is(first?.min, 1)
  t.is(first?.max, 4)
  t.is(first?.cores, bridge.cores)
  t.is(first?.hostNsPerIter, null, 'no host speed source, no reading')
  t.true(stats.length >= policy.seen.length - 1, "a 'stats' event follows each tick")
  t.is(bridge.stats().lastDecision?.size, 5, 'the decision is kept as made; the pool was clamped to max')
})

test.serial(
  "a host speed source is asked for each interval's own span, and its reading reaches the policy",
  async (t) => {
    const policy = stepUp(50)
    const spans: Array<[number, number]> = []
    const bridge = await spawnTools({
      pool: { min: 1, max: 8, initial: 1 },
      controller: () => ({
        policy,
        windowSource: () => null,
        hostSpeed: (fromMs, toMs) => {
          spans.push([fromMs, toMs])
          return 100 + spans.length
        },
      }),
    })
    t.teardown(() => bridge.close())
    await Promise.all(Array.from({ length: 4 }, () => bridge.call('sleep', [0.02])))
    t.true(await waitFor(() => policy.seen.length >= 3, 5000))
    t.deepEqual(
      policy.seen.slice(0, 3).map((input) => input.hostNsPerIter),
      [101, 102, 103],
    )
    for (const [i, [from, to]] of spans.entries()) {
      t.true(from < to, `span ${i} runs forward`)
      const next = spans[i + 1]
      // Each interval starts where the one before it was cut: no time is read twice or skipped.
      if (next) t.true(next[0] <= to && next[0] >= from, `span ${i + 1} follows span ${i}`)
    }
  },
)

test.serial("pool: 'adaptive' uses the installed controller factory", async (t) => {
  const policy = stepUp(40)
  setAdaptiveControllerFactory((bridge) => {
    t.true(bridge.pid > 0, 'the factory gets the spawned bridge')
    return { policy, windowSource: () => null }
  })
  t.teardown(() => setAdaptiveControllerFactory(null))
  const bridge = await spawnTools({ pool: 'adaptive' })
  t.teardown(() => bridge.close())
  t.is(bridge.controller?.policy, policy)
  const start = bridge.pool.size
  t.true(await waitFor(() => bridge.pool.size >= start + 2, 3000))
  t.is(bridge.pool.min, 1)
  t.is(bridge.pool.max, 128)
})

test.serial(
  'an interval runs on until it has the policy’s minimum completions (policy wrapped in a DecisionHistory)',
  async (t) => {
    const seen: ControlInput[] = []
    const inner: Policy = {
      name: 'needs-five',
      intervalMs: 40,
      minCompletions: 5,
      decide(input: ControlInput): Decision {
        seen.push(input)
        return { size: input.size, reason: 'hold', inputs: {} }
      },
    }
    // As the bench records decisions: the wrapper must pass the minimum on.
    const policy = new DecisionHistory(inner)
    const bridge = await spawnTools({ pool: 1, controller: () => ({ policy, windowSource: () => null }) })
    t.teardown(() => bridge.close())
    // One worker, 60 ms per task: about one completion per 40 ms interval.
    await Promise.all(Array.from({ length: 12 }, () => bridge.call('sleep', [0.06])))
    t.true(await waitFor(() => seen.length >= 2, 5000))
    for (const input of seen)
      t.true(input.tasks.completions >= 5, `decided on ${input.tasks.completions} completions`)
    // Stretched intervals, not skipped ones: their durations cover the completions.
    t.true((seen[0]?.tasks.durationNs ?? 0) >= 5 * 40e6)
  },
)
