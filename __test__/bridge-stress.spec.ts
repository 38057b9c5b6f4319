import test from 'ava'
import { CancelledError } from '../src/bridge/index.js'
import { spawnTools, waitFor } from './fixtures/bridge/helpers.js'

const CALLS = 10_000
const ABORTABLE = 500

/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0
    return state / 2 ** 32
  }
}

test.serial(
  '10 000 calls while the pool is resized at random: each runs and is answered exactly once',
  async (t) => {
    const bridge = await spawnTools({ pool: { min: 1, max: 16, initial: 4 } })
    t.teardown(() => bridge.close())
    const protocolErrors: Error[] = []
    bridge.on('protocolError', (error) => protocolErrors.push(error))
    const next = random(0x5eed)

    let resizing = true
    const resizes = (async () => {
      let count = 0
      while (resizing) {
        await bridge.pool.resize(1 + Math.floor(next() * 16), 'random')
        count++
        await new Promise((resolve) => setTimeout(resolve, 1 + next() * 5))
      }
      return count
    })()

    // Calls go out in bursts so that resizes land while work is queued and running.
    const answers: Array<Promise<number>> = []
    const abortable: Array<Promise<'ran' | 'cancelled'>> = []
    const inline: Array<Promise<number>> = []
    for (let i = 0; i < CALLS; i++) {
      answers.push(bridge.call<number>('record', [i]))
      if (i % 20 === 0) {
        const id = CALLS + i / 20
        const controller = new AbortController()
        setTimeout(() => controller.abort(), next() * 3)
        abortable.push(
          bridge.call('record', [id], { signal: controller.signal }).then(
            () => 'ran' as const,
            (error: unknown) => {
              if (!(error instanceof CancelledError)) throw error
              return 'cancelled' as const
            },
          ),
        )
      }
      // Resize requests interleaved with the calls in the stream, and not awaited,
      // land while the companion's workers are busy with earlier calls.
      if (i % 100 === 50) inline.push(bridge.pool.resize(1 + Math.floor(next() * 16), 'inline'))
      if (i % 250 === 249) await new Promise((resolve) => setTimeout(resolve, 2))
    }
    const values = await Promise.all(answers)
    const outcomes = await Promise.all(abortable)
    resizing = false
    const resizeCount = (await resizes) + (await Promise.all(inline)).length
    t.is(abortable.length, ABORTABLE)

    t.deepEqual(
      values,
      Array.from({ length: CALLS }, (_, i) => i),
      'each call resolved with its own value',
    )
    // Abandoned calls still running in Python must finish before we read the record.
    t.true(await waitFor(() => bridge.stats().inFlight === 0, 10_000))

    const recorded = await bridge.call<number[]>('recorded')
    const timesRun = new Map<number, number>()
    for (const id of recorded) timesRun.set(id, (timesRun.get(id) ?? 0) + 1)
    const duplicates = [...timesRun].filter(([, n]) => n > 1)
    const missing = Array.from({ length: CALLS }, (_, i) => i).filter((i) => !timesRun.has(i))
    t.deepEqual(duplicates, [], 'no call ran twice')
    t.deepEqual(missing, [], 'no call was lost')

    // An aborted call either never ran (the companion cancelled it while queued)
    // or ran exactly once; the companion's cancel count closes the books.
    const python = await bridge.pythonStats()
    const abortedRan = Array.from({ length: ABORTABLE }, (_, k) => CALLS + k).filter((id) =>
      timesRun.has(id),
    ).length
    t.is(abortedRan + python.cancelled, ABORTABLE, 'every abortable call either ran once or was cancelled')
    t.true(outcomes.filter((o) => o === 'ran').length <= abortedRan, 'a call that resolved did run in Python')
    t.is(recorded.length, CALLS + abortedRan)
    t.is(python.completed, CALLS + abortedRan + 1, 'the companion completed each task once (+ recorded())')
    t.is(bridge.stats().completions, CALLS + abortedRan + 1, 'one result per task arrived here')
    t.deepEqual(protocolErrors, [])
    // Shrinking parked threads and growing took them back (the linger, 30 s, outlasts the run): never more
    // distinct workers than the largest size, however often it changed.
    const workers = bridge.takeTaskWindow().busyNsByTid.size
    t.true(workers > 1 && workers <= 16, `${workers} distinct worker threads ran tasks`)
    t.true(python.live + python.parked <= 16, `${python.live} live + ${python.parked} parked`)
    t.true(python.started <= 16, `${python.started} worker threads started`)
    t.true(resizeCount >= 100, `resized ${resizeCount} times during the run`)
    t.log(
      `${resizeCount} resizes, ${workers} worker threads; ${python.cancelled} aborted calls cancelled before they ran, ${abortedRan} ran`,
    )
  },
)
