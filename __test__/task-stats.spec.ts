import test from 'ava'
import { TaskStatsRecorder } from '../src/bridge/task-stats.js'

/** A finished task; `joined`: its worker's first since it started or came back from parking. */
const task = (tid: number, cpuNs: number, latencyNs: number | null = 1e6, joined = false) => ({
  latencyNs,
  queueNs: 0,
  wallNs: cpuNs * 2,
  cpuNs,
  tid,
  joined,
})
const first = (tid: number, cpuNs: number) => task(tid, cpuNs, 1e6, true)

test("a worker's first task is a warm-up, outside the per-task means", (t) => {
  const r = new TaskStatsRecorder(0n)
  // Two workers: the first task of each carries a 100 ms set-up.
  r.record(first(11, 100e6))
  r.record(first(12, 100e6))
  const firsts = r.take(500_000_000n, 0, 2)
  t.is(firsts.completions, 2)
  t.is(firsts.warmupCompletions, 2)
  t.is(firsts.warmupCpuNs, 200e6)
  // Only warm-up tasks finished: the means are theirs rather than nothing.
  t.is(firsts.meanCpuNs, 100e6)
  for (const tid of [11, 12, 11, 12]) r.record(task(tid, 2e6))
  // A new worker (a growth) finishes its first task in this interval.
  r.record(first(13, 90e6))
  const second = r.take(1_000_000_000n, 0, 3)
  t.is(second.completions, 5)
  t.is(second.warmupCompletions, 1)
  t.is(second.warmupCpuNs, 90e6)
  t.is(second.meanCpuNs, 2e6)
  t.is(second.meanWallNs, 4e6)
  t.is(second.throughput, 10)
})

test('a worker taken back from parking counts its first task as a warm-up again, though its tid is known', (t) => {
  const r = new TaskStatsRecorder(0n)
  r.record(first(11, 50e6))
  for (let i = 0; i < 3; i++) r.record(task(11, 2e6))
  r.take(500_000_000n, 0, 1)
  // The pool shrank and grew: worker 11 is back, and the companion flags its first task since.
  r.record(first(11, 2e6))
  r.record(task(11, 2e6))
  const back = r.take(1_000_000_000n, 0, 1)
  t.is(back.warmupCompletions, 1)
  t.is(back.warmupCpuNs, 2e6)
  t.is(back.meanCpuNs, 2e6)
})

test('interval latency percentiles come from the tasks finished in the interval', (t) => {
  const r = new TaskStatsRecorder(0n)
  for (let i = 1; i <= 100; i++) r.record(task(7, 1e6, i * 1e6))
  // An abandoned call has no latency and does not count in the percentiles.
  r.record(task(7, 1e6, null))
  const s = r.take(1_000_000_000n, 0, 1)
  t.is(s.p50Ns, 50e6)
  t.is(s.p99Ns, 99e6)
  t.is(r.take(2_000_000_000n, 0, 1).p99Ns, 0)
})
