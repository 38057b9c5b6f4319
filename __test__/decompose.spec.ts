import test from 'ava'
import { decompose } from '../src/model/decompose.js'
import { snapshot, thread } from './helpers/snapshots.js'

const MS = 1e6

test('cpu and runq are exact; the off-CPU rest is split by the wait samples', (t) => {
  const before = snapshot(0, [thread(1)])
  const after = snapshot(1000 * MS, [
    thread(1, {
      lastSeenNs: 1000 * MS,
      cpuNs: 200 * MS,
      runqNs: 100 * MS,
      samples: { running: 60, gil: 90, lock: 0, io: 30, sleep: 20, other: 0 },
    }),
  ])
  const w = decompose(before, after)
  const times = w.total.times
  t.is(times.cpu, 200 * MS)
  t.is(times.runq, 100 * MS)
  // 700 ms off CPU, split 90:30:20 (the running samples are not part of the split).
  t.is(Math.round(times.gil), 450 * MS)
  t.is(Math.round(times.io), 150 * MS)
  t.is(Math.round(times.sleep), 100 * MS)
  t.is(w.total.wallNs, 1000 * MS)
  t.true(Math.abs(w.total.betaPaper - 0.8) < 1e-12)
  t.true(Math.abs(w.total.betaIo - 0.25) < 1e-12)
  t.is(w.samples, 0)
  t.is(w.threads[0]?.samples, 200)
})

test('a thread born in the window counts from its birth, one that died until its death', (t) => {
  const before = snapshot(0, [thread(1), thread(2)])
  const after = snapshot(1000 * MS, [
    thread(1, { lastSeenNs: 1000 * MS, cpuNs: 1000 * MS }),
    thread(2, { alive: false, lastSeenNs: 300 * MS, cpuNs: 300 * MS }),
    thread(3, {
      firstSeenNs: 600 * MS,
      lastSeenNs: 1000 * MS,
      cpuNs: 100 * MS,
      samples: { running: 0, gil: 0, lock: 0, io: 0, sleep: 5, other: 0 },
    }),
  ])
  const w = decompose(before, after)
  const byTid = new Map(w.threads.map((th) => [th.tid, th]))
  t.is(byTid.get(2)?.wallNs, 300 * MS)
  t.false(byTid.get(2)?.alive)
  t.is(byTid.get(3)?.wallNs, 400 * MS)
  t.is(Math.round(byTid.get(3)?.times.sleep ?? 0), 300 * MS)
  t.is(w.total.wallNs, 1700 * MS)
  // A thread already dead before the next window is not in it.
  const later = decompose(
    after,
    snapshot(
      2000 * MS,
      after.threads.filter((th) => th.tid !== 1),
    ),
  )
  t.false(later.threads.some((th) => th.tid === 2))
})

test('shares sum to 1 and β figures are time-weighted over busy threads, not averaged', (t) => {
  const before = snapshot(0, [thread(1), thread(2)])
  const after = snapshot(1000 * MS, [
    thread(1, { lastSeenNs: 1000 * MS, cpuNs: 1000 * MS }),
    thread(2, {
      firstSeenNs: 900 * MS,
      lastSeenNs: 1000 * MS,
      samples: { running: 0, gil: 0, lock: 0, io: 10, sleep: 0, other: 0 },
    }),
  ])
  const w = decompose(before, after)
  const sum = Object.values(w.total.shares).reduce((a, b) => a + b, 0)
  t.true(Math.abs(sum - 1) < 1e-12)
  // Mean of per-thread β would be (0 + 1) / 2 = 0.5; time-weighted it is 100/1100.
  t.true(Math.abs(w.total.betaPaper - 100 / 1100) < 1e-12)
})

test('idle pool workers are counted apart and never enter the ratios', (t) => {
  const before = snapshot(0, [thread(1), thread(2), thread(9)])
  const after = snapshot(1000 * MS, [
    // Busy 400 ms (100 cpu + 300 sleep), then waited for work on the queue's lock.
    thread(1, {
      lastSeenNs: 1000 * MS,
      cpuNs: 100 * MS,
      samples: { running: 0, gil: 0, lock: 120, io: 0, sleep: 60, other: 0 },
    }),
    thread(2, { lastSeenNs: 1000 * MS, cpuNs: 1000 * MS }),
    // Not a worker (e.g. the companion's reader thread): idle throughout.
    thread(9, {
      lastSeenNs: 1000 * MS,
      samples: { running: 0, gil: 0, lock: 0, io: 200, sleep: 0, other: 0 },
    }),
  ])
  const busy = new Map([
    [1, 400 * MS],
    [2, 1000 * MS],
  ])
  const w = decompose(before, after, { busyNsByTid: busy })
  t.is(Math.round(w.total.wallNs), 1400 * MS)
  t.is(Math.round(w.total.idleNs), 1600 * MS)
  t.is(Math.round(w.total.times.lock), 0)
  t.is(Math.round(w.total.times.sleep), 300 * MS)
  t.is(w.total.times.io, 0)
  t.is(w.total.busyThreads, 2)
})

test('gilSaturation is the share of ticks with a GIL waiter; the final flag follows the target', (t) => {
  const before = snapshot(0, [], { ticks: 100, gilTicks: 10 })
  const after = snapshot(1000 * MS, [], { ticks: 300, gilTicks: 160, exited: true })
  const w = decompose(before, after)
  t.is(w.total.gilSaturation, 0.75)
  t.true(w.final)
  t.is(w.total.wallNs, 0)
  t.is(w.total.betaPaper, 0)
})

test('the GIL is busy while held and while free with a thread waiting for it; unmeasured, neither is known', (t) => {
  const before = snapshot(0, [thread(1)], { gilStateTicks: 100, gilHeldTicks: 50, gilFreeWantedTicks: 10 })
  const after = snapshot(1000 * MS, [thread(1, { lastSeenNs: 1000 * MS, cpuNs: 400 * MS })], {
    gilStateTicks: 300,
    gilHeldTicks: 130,
    gilFreeWantedTicks: 70,
  })
  const w = decompose(before, after)
  // 200 reads in the window: 80 held, 60 free while wanted (hand-offs), 60 free and unwanted.
  t.is(w.total.gilHeld, 0.4)
  t.is(w.total.gilBusy, 0.7)
  const unread = decompose(before, snapshot(1000 * MS, after.threads, { ...before, takenNs: 1000 * MS }))
  t.is(unread.total.gilHeld, null)
  t.is(unread.total.gilBusy, null)
})
