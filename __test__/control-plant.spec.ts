import test from 'ava'
import {
  bestStaticSize,
  DEFAULT_PLANT,
  kneeSize,
  Plant,
  plantPoint,
  WORKLOADS,
} from '../src/control/index.js'

const noPenalty = { ...DEFAULT_PLANT, handoffPenalty: 0 }
const w = WORKLOADS.sleepDominated // c = 1 ms, w = 19 ms, knee 20

test('throughput follows min(N/(c+w), 1/c) away from the knee', (t) => {
  t.true(Math.abs(plantPoint(w, 2, noPenalty).throughput - 2 / 0.02) < 2)
  t.true(Math.abs(plantPoint(w, 80, noPenalty).throughput - 1000) < 10)
  t.true(plantPoint(w, 20, noPenalty).throughput < 1000)
  t.is(plantPoint(WORKLOADS.cpuBound, 1, noPenalty).throughput, 500)
})

test('the cliff: past the knee each thread costs; the best static size is near the knee', (t) => {
  const best = bestStaticSize(w, DEFAULT_PLANT)
  t.true(best.size >= 20 && best.size <= 26, `${best.size}`)
  t.true(plantPoint(w, 80, DEFAULT_PLANT).throughput < 0.6 * best.throughput)
})

test('gil share grows past the knee; runq carries contention without a GIL', (t) => {
  const plant = new Plant({ shareNoise: 0 })
  const low = plant.observe(w, 4, 500e6).window
  const high = plant.observe(w, 40, 500e6).window
  t.true((low?.total.gilShare ?? 1) < 0.05)
  t.true((high?.total.gilShare ?? 0) > 0.4)
  t.truthy(high?.gilRange)

  const free = new Plant({ gil: false, cores: 4, shareNoise: 0 })
  t.is(kneeSize(w, free.cfg), 80)
  const seen = free.observe(w, 160, 500e6).window
  t.is(seen?.gilRange, null)
  t.is(seen?.total.gilShare, 0)
  t.true((seen?.total.runqShare ?? 0) > 0.3)
})

test('windows are sums over busy threads whose classes add up to wall time', (t) => {
  const seen = new Plant().observe(w, 10, 500e6)
  const total = seen.window?.total
  t.truthy(total)
  if (!total) return
  const sum = Object.values(total.times).reduce((a, b) => a + b, 0)
  t.true(Math.abs(sum - total.wallNs) / total.wallNs < 1e-9)
  t.is(total.wallNs, 10 * 500e6)
  t.is(seen.window?.threads.length, 10)
  // Per-task ratio equals the ratio of sums.
  t.true(Math.abs((total.times.io + total.times.sleep) / total.times.cpu - 19) < 1)
  t.is(seen.tasks.meanCpuNs, 1e6)
})

test('rusage tier has no window; offered load below capacity leaves workers idle; seeds repeat', (t) => {
  t.is(new Plant({ tier: 'rusage' }).observe(w, 4, 500e6).window, null)
  const idle = new Plant({ arrivalRate: 100 }).observe(w, 10, 500e6)
  t.is(idle.tasks.queued, 0)
  t.true((idle.window?.total.idleNs ?? 0) > 0)
  t.true(Math.abs(idle.tasks.throughput - 100) < 1)
  const a = new Plant({ noise: 0.1, seed: 9 }).observe(w, 10, 500e6).tasks.completions
  const b = new Plant({ noise: 0.1, seed: 9 }).observe(w, 10, 500e6).tasks.completions
  t.is(a, b)
})
