import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import test from 'ava'
import {
  BridgeExitedError,
  CancelledError,
  ProtocolError,
  PythonBridge,
  PythonError,
  type PythonPoolStats,
  TimeoutError,
  UnknownFunctionError,
} from '../src/bridge/index.js'
import { sendRawLine } from '../src/bridge/internal.js'
import { ClosedError, InvalidArgumentError } from '../src/errors.js'
import { BRIDGE_FIXTURES, processAlive, spawnTools } from './fixtures/bridge/helpers.js'
import { PYTHON } from './helpers/python.js'

/** The companion's counters once `settled` holds for them (read every 25 ms, for up to 1 s), else the last read. */
async function pythonStatsWhen(
  bridge: PythonBridge,
  settled: (stats: PythonPoolStats) => boolean,
): Promise<PythonPoolStats> {
  let stats = await bridge.pythonStats()
  for (let i = 0; i < 40 && !settled(stats); i++) {
    await new Promise((resolve) => setTimeout(resolve, 25))
    stats = await bridge.pythonStats()
  }
  return stats
}

test('hello describes the Python process', async (t) => {
  const bridge = await spawnTools({ pool: 3 })
  t.teardown(() => bridge.close())
  const hello = bridge.hello
  t.is(hello.protocol, 1)
  t.is(bridge.pid, hello.pid)
  t.true(existsSync(`/proc/${hello.pid}`))
  t.regex(hello.pythonVersion, /^3\.\d+\.\d+$/)
  t.is(typeof hello.gilEnabled, 'boolean')
  t.true(hello.functions.includes('echo'))
  t.true(hello.functions.includes('add'), 'register(name=...) uses the given name')
  t.false(hello.functions.includes('add_numbers'))
  t.true(hello.cores >= 1)
  t.is(bridge.pool.size, 3)
  t.is((await bridge.pythonStats()).live, 3)

  // _PyRuntime's address lies in a mapping of the file the companion named.
  const address = hello.runtime.address
  t.truthy(address)
  const maps = readFileSync(`/proc/${hello.pid}/maps`, 'utf8').split('\n')
  const mapping = maps.find((line) => {
    const [range] = line.split(' ')
    const [start, end] = (range ?? '').split('-').map((x) => BigInt(`0x${x || '0'}`))
    return address !== null && start !== undefined && end !== undefined && start <= address && address < end
  })
  t.truthy(mapping, 'the address is mapped in the Python process')
  if (hello.runtime.size !== null) {
    t.true(hello.runtime.size > 0)
    t.true(
      maps.some((line) => line.endsWith(` ${hello.runtime.object}`)),
      'the object named is mapped',
    )
    // In the object's own mapping, or in the anonymous .bss right after it (zero-initialised on 3.8–3.9).
    t.true(mapping?.endsWith(hello.runtime.object ?? '?') || /\s\d+\s*$/.test(mapping ?? ''), mapping)
  }
})

test('a call returns its value and the task timings from a real worker thread', async (t) => {
  const bridge = await spawnTools()
  t.teardown(() => bridge.close())
  t.is(await bridge.call('add', [2, 3]), 5)
  const value = { text: 'grüße ✓', list: [1, 2.5, null, true], nested: { a: [] } }
  t.deepEqual(await bridge.call('echo', [value]), value)

  const result = await bridge.callWithTimings<number>('spin', [200_000])
  t.is(result.value, 200_000)
  t.true(result.wallNs > 0)
  t.true(result.cpuNs > 0, 'a pure-Python loop uses thread CPU time')
  t.true(result.cpuNs <= result.wallNs * 1.2 + 1e6)
  t.true(result.queueNs >= 0)
  t.true(result.latencyNs >= result.wallNs)
  t.not(result.tid, bridge.pid, 'tasks run in worker threads, not the main thread')
  t.true(existsSync(`/proc/${bridge.pid}/task/${result.tid}`), 'tid is a thread of the Python process')
  const reported = await bridge.callWithTimings('native_tid')
  t.is(reported.value, reported.tid, 'tid is the worker’s threading.get_native_id()')
})

test('print() and raw writes to fd 1 inside a task do not corrupt the stream', async (t) => {
  const bridge = await spawnTools()
  t.teardown(() => bridge.close())
  const stderr: string[] = []
  bridge.on('stderr', (text) => stderr.push(text))
  const protocolErrors: Error[] = []
  bridge.on('protocolError', (error) => protocolErrors.push(error))
  const values = await Promise.all(Array.from({ length: 20 }, (_, i) => bridge.call('chatty', [i])))
  t.deepEqual(
    values,
    Array.from({ length: 20 }, (_, i) => i),
  )
  t.is(await bridge.call('add', [1, 1]), 2)
  t.deepEqual(protocolErrors, [])
  await bridge.close()
  t.true(stderr.join('').includes('print() from a task'), 'user output went to stderr')
  t.true(stderr.join('').includes('forged'), 'C-level writes to fd 1 went to stderr')
})

test('a Python exception arrives as PythonError with its type and traceback', async (t) => {
  const bridge = await spawnTools()
  t.teardown(() => bridge.close())
  const error = await t.throwsAsync(bridge.call('fail', ['bad input']), { instanceOf: PythonError })
  t.is(error?.code, 'EPYTHON')
  t.is(error?.pythonType, 'tools.ValidationFailed')
  t.is(error?.pythonMessage, 'bad input')
  t.regex(error?.traceback ?? '', /in _deeper/)
  t.regex(error?.traceback ?? '', /raise ValidationFailed\(message\)/)
  t.false((error?.traceback ?? '').includes('gilgauge_bridge'), 'the companion’s own frames are left out')

  const notJson = await t.throwsAsync(bridge.call('not_json'), { instanceOf: PythonError })
  t.is(notJson?.pythonType, 'TypeError')
  t.is(await bridge.call('add', [1, 2]), 3, 'the bridge keeps working')
})

test('only registered functions can be called', async (t) => {
  const bridge = await spawnTools()
  t.teardown(() => bridge.close())
  const error = await t.throwsAsync(bridge.call('os.system', ['true']), { instanceOf: UnknownFunctionError })
  t.is(error?.code, 'EINVAL')
  t.regex(error?.message ?? '', /no function registered as 'os\.system'/)
  await t.throwsAsync(bridge.call('_deeper', ['x']), { instanceOf: UnknownFunctionError })
})

test('a malformed and an oversized line are answered with errors and the bridge keeps working', async (t) => {
  const bridge = await spawnTools({ maxLineBytes: 4096 })
  t.teardown(() => bridge.close())
  const malformed = await bridge[sendRawLine]('{"type":"call","id":900001,"fn":"echo","args":[1,', 900001)
  t.is(malformed?.type, 'error')
  t.regex(JSON.stringify(malformed), /malformed JSON/)

  const oversized = `{"type":"call","id":900002,"fn":"echo","args":["${'x'.repeat(10_000)}"]}`
  const answer = await bridge[sendRawLine](oversized, 900002)
  t.is(answer?.type, 'error')
  t.regex(JSON.stringify(answer), /longer than the 4096-byte limit/)

  const wrongShape = await bridge[sendRawLine]('{"type":"call","id":900003,"fn":"echo","args":"x"}', 900003)
  t.regex(JSON.stringify(wrongShape), /needs a string `fn` and a list `args`/)

  // No id at all: answered with id null, which surfaces as a 'protocolError' event.
  const event = new Promise<ProtocolError>((resolve) => bridge.once('protocolError', resolve))
  await bridge[sendRawLine]('not json at all')
  t.true((await event) instanceof ProtocolError)

  t.is(await bridge.call('echo', ['still fine']), 'still fine')
  const stats = await bridge.pythonStats()
  t.is(stats.protocolErrors, 4)

  // Our side refuses arguments that would exceed the bound, before sending.
  await t.throwsAsync(bridge.call('echo', ['y'.repeat(5000)]), { instanceOf: InvalidArgumentError })
  // A result over the bound is replaced by an error, not sent.
  await t.throwsAsync(bridge.call('huge', [10_000]), { instanceOf: ProtocolError, message: /line limit/ })
  t.is(await bridge.call('add', [20, 22]), 42)
})

test('a timeout rejects, and the queued call it cancels never runs', async (t) => {
  const bridge = await spawnTools({ pool: 1 })
  t.teardown(() => bridge.close())
  const blocker = bridge.call('sleep', [0.6, 'blocker'])
  await new Promise((resolve) => setTimeout(resolve, 100))
  const started = Date.now()
  const timedOut = await t.throwsAsync(
    bridge.call('mark_started', ['queued-then-timeout'], { timeoutMs: 150 }),
    {
      instanceOf: TimeoutError,
    },
  )
  t.is(timedOut?.code, 'ETIMEDOUT')
  t.true(Date.now() - started < 1000, 'the timeout fires while the worker is still busy')
  t.is(await blocker, 'blocker')
  t.false(await bridge.call('was_started', ['queued-then-timeout']), 'the cancelled call never ran')
})

test('an AbortSignal rejects with CancelledError and the queued call never runs', async (t) => {
  const bridge = await spawnTools({ pool: 1 })
  t.teardown(() => bridge.close())
  const blocker = bridge.call('sleep', [0.5, 'blocker'])
  const controller = new AbortController()
  const queued = bridge.call('mark_started', ['aborted'], { signal: controller.signal })
  setTimeout(() => controller.abort(new Error('user pressed stop')), 100)
  const error = await t.throwsAsync(queued, { instanceOf: CancelledError })
  t.is(error?.code, 'ECANCELLED')
  t.is(await blocker, 'blocker')
  t.false(await bridge.call('was_started', ['aborted']))
  t.is((await bridge.pythonStats()).cancelled, 1)

  // Already aborted: rejected without being sent.
  await t.throwsAsync(bridge.call('mark_started', ['pre-aborted'], { signal: AbortSignal.abort() }), {
    instanceOf: CancelledError,
  })
  t.false(await bridge.call('was_started', ['pre-aborted']))
})

test('a running call cannot be interrupted: it finishes in Python after its timeout', async (t) => {
  const bridge = await spawnTools({ pool: 1 })
  t.teardown(() => bridge.close())
  await t.throwsAsync(bridge.call('mark_started', ['running', 0.4], { timeoutMs: 100 }), {
    instanceOf: TimeoutError,
  })
  t.is(bridge.stats().inFlight, 1, 'the abandoned call still occupies its worker')
  t.true(await bridge.call('was_started', ['running']))
  t.is(bridge.stats().inFlight, 0)
})

test('close() drains in-flight calls, then stops the process; later calls are refused', async (t) => {
  const bridge = await spawnTools({ pool: 2 })
  const exits: unknown[] = []
  bridge.on('exit', (event) => exits.push(event))
  const calls = [
    bridge.call('sleep', [0.3, 'a']),
    bridge.call('sleep', [0.3, 'b']),
    bridge.call('sleep', [0.3, 'c']),
  ]
  await new Promise((resolve) => setTimeout(resolve, 50))
  const closed = bridge.close()
  await t.throwsAsync(bridge.call('echo', [1]), { instanceOf: ClosedError })
  t.deepEqual(await Promise.all(calls), ['a', 'b', 'c'])
  await closed
  t.like(exits, [{ exitCode: 0, signal: null, expected: true }])
  t.false(processAlive(bridge.pid))
  await t.throwsAsync(bridge.call('echo', [1]), { instanceOf: BridgeExitedError })
  await bridge.close() // idempotent
})

test('stats() and takeTaskWindow() count completions and latencies', async (t) => {
  const bridge = await spawnTools({ pool: 2 })
  t.teardown(() => bridge.close())
  bridge.takeTaskWindow()
  await Promise.all(Array.from({ length: 10 }, () => bridge.call('sleep', [0.01])))
  const stats = bridge.stats()
  t.is(stats.completions, 10)
  t.is(stats.inFlight, 0)
  t.is(stats.queued, 0)
  t.true(stats.latencyP50Ms >= 10)
  t.true(stats.latencyP99Ms >= stats.latencyP50Ms)
  const window = bridge.takeTaskWindow()
  t.is(window.completions, 10)
  t.true(window.meanWallNs >= 10e6)
  t.true(window.meanCpuNs < window.meanWallNs, 'sleeping uses little CPU')
  t.true(window.throughput > 0)
  const busyThreads = [...window.busyNsByTid.keys()]
  t.is(busyThreads.length, 2, 'both workers ran tasks')
  t.true(busyThreads.every((tid) => existsSync(`/proc/${bridge.pid}/task/${tid}`)))
  t.is(bridge.takeTaskWindow().completions, 0, 'a take starts a new interval')
})

test('a pool grown again takes its parked workers back: the same threads, their own state kept', async (t) => {
  const bridge = await spawnTools({ pool: { min: 1, max: 8, initial: 4 } })
  t.teardown(() => bridge.close())
  const round = () =>
    Promise.all(Array.from({ length: 8 }, () => bridge.callWithTimings<number>('thread_state', [0.05])))
  const before = await round()
  t.deepEqual([...new Set(before.map((r) => r.value))].sort(), [1, 2, 3, 4])
  const tids = new Set(before.map((r) => r.tid))
  // The companion flags each new thread's first task: four warm-ups.
  t.is(bridge.takeTaskWindow().warmupCompletions, 4)
  await bridge.pool.resize(1)
  t.like(await pythonStatsWhen(bridge, (s) => s.parked === 3), { live: 1, parked: 3 })
  bridge.takeTaskWindow()
  await bridge.pool.resize(4)
  const after = await round()
  // No thread-local state was built again, and no new thread ran a task.
  t.true(
    after.every((r) => r.value >= 1 && r.value <= 4),
    JSON.stringify(after.map((r) => r.value)),
  )
  t.true(after.every((r) => tids.has(r.tid)))
  t.like(await bridge.pythonStats(), { live: 4, parked: 0, started: 4 })
  // The three taken back each count their first task since as a warm-up, as a new thread's would.
  t.is(bridge.takeTaskWindow().warmupCompletions, 3)
})

test('a parked worker exits when its linger runs out, and a later growth starts a new thread', (t) => {
  // The pool itself, in a real Python process, with a linger of 0.3 s instead of 30 s.
  const script = `
import sys, threading, time
sys.path.insert(0, sys.argv[1])
from gilgauge_bridge.pool import ResizablePool
pool = ResizablePool(lambda task, joined: None, 4, parked_linger_s=0.3)
time.sleep(0.1)
pool.resize(1)
time.sleep(0.1)
parked = pool.counters()["parked"]
threads_parked = threading.active_count() - 1
time.sleep(0.6)
after = pool.counters()["parked"]
threads_after = threading.active_count() - 1
pool.resize(2)
print(parked, threads_parked, after, threads_after, pool.counters()["live"], threading.active_count() - 1)
`
  const run = spawnSync(PYTHON, ['-c', script, path.join(__dirname, '..', 'python')], {
    encoding: 'utf8',
    timeout: 30_000,
  })
  t.is(run.status, 0, run.stderr)
  // Parked: 3 waiting, 4 threads alive; after the linger: none parked, 1 thread; grown to 2: a new thread.
  t.is(run.stdout.trim(), '3 4 0 1 2 2')
})

test('parkedLingerMs: 0 lets surplus workers exit at once; a negative linger is refused before spawning', async (t) => {
  await t.throwsAsync(spawnTools({ parkedLingerMs: -1 }), {
    instanceOf: InvalidArgumentError,
    message: /parkedLingerMs/,
  })
  const bridge = await spawnTools({ pool: { min: 1, max: 4, initial: 4 }, parkedLingerMs: 0 })
  t.teardown(() => bridge.close())
  await bridge.pool.resize(1)
  t.like(await pythonStatsWhen(bridge, (s) => s.live === 1), { live: 1, parked: 0 })
  // Growing again starts new threads: four at spawn, three now.
  await bridge.pool.resize(4)
  t.like(await bridge.pythonStats(), { live: 4, started: 7 })
})

test('resize grows and shrinks the Python pool and emits resize events', async (t) => {
  const bridge = await spawnTools({ pool: { min: 1, max: 8, initial: 2 } })
  t.teardown(() => bridge.close())
  const events: unknown[] = []
  bridge.on('resize', (event) => events.push(event))
  t.is(await bridge.pool.resize(6), 6)
  t.is(bridge.pool.size, 6)
  t.is((await bridge.pythonStats()).live, 6)
  t.is(await bridge.pool.resize(1, 'test'), 1)
  // Surplus idle workers park as soon as they are woken.
  t.like(await pythonStatsWhen(bridge, (s) => s.live === 1), { live: 1, parked: 5 }, 'parked, not gone')
  t.deepEqual(events, [
    { from: 2, to: 6, reason: 'manual', window: null },
    { from: 6, to: 1, reason: 'test', window: null },
  ])
  await t.throwsAsync(bridge.pool.resize(9), { instanceOf: InvalidArgumentError })
  await t.throwsAsync(bridge.pool.resize(0), { instanceOf: InvalidArgumentError })
})

test('a script that fails to import rejects spawn with its traceback', async (t) => {
  const error = await t.throwsAsync(
    PythonBridge.spawn({
      script: path.join(BRIDGE_FIXTURES, 'bad_import.py'),
      python: PYTHON,
      forwardStderr: false,
    }),
    { instanceOf: BridgeExitedError },
  )
  t.is(error?.code, 'EBRIDGEEXITED')
  t.is(error?.exitCode, 3)
  t.regex(error?.stderrTail ?? '', /ModuleNotFoundError: No module named 'gilgauge_missing_dependency'/)
  t.regex(error?.message ?? '', /failed to import/)
})

test('a missing Python executable rejects spawn with a typed error', async (t) => {
  const error = await t.throwsAsync(
    PythonBridge.spawn({
      script: path.join(BRIDGE_FIXTURES, 'tools.py'),
      python: '/nonexistent/python3',
      pool: 1,
    }),
    { instanceOf: BridgeExitedError },
  )
  t.regex(error?.message ?? '', /could not start '\/nonexistent\/python3' \(ENOENT\)/)
})
