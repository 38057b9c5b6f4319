import { spawn } from 'node:child_process'
import { once } from 'node:events'
import path from 'node:path'
import test from 'ava'
import { BridgeExitedError, type ExitEvent } from '../src/bridge/index.js'
import { BRIDGE_FIXTURES, processAlive, spawnTools, TOOLS, waitFor } from './fixtures/bridge/helpers.js'
import { PYTHON } from './helpers/python.js'

test('killing the Python process mid-call rejects every pending call with BridgeExitedError', async (t) => {
  const bridge = await spawnTools({ pool: 2 })
  const exits: ExitEvent[] = []
  bridge.on('exit', (event) => exits.push(event))
  const pending = Array.from({ length: 5 }, (_, i) => bridge.call('sleep', [30, i]))
  await new Promise((resolve) => setTimeout(resolve, 200))
  process.kill(bridge.pid, 'SIGKILL')

  const results = await Promise.allSettled(pending)
  for (const result of results) {
    t.is(result.status, 'rejected')
    const error = (result as PromiseRejectedResult).reason as BridgeExitedError
    t.true(error instanceof BridgeExitedError)
    t.is(error.code, 'EBRIDGEEXITED')
    t.is(error.signal, 'SIGKILL')
    t.is(error.exitCode, null)
    t.regex(error.stderrTail, /tools\.py loaded in pid \d+/)
    t.regex(error.message, /killed by SIGKILL/)
  }
  t.like(exits, [{ signal: 'SIGKILL', expected: false }])
  await t.throwsAsync(bridge.call('echo', [1]), { instanceOf: BridgeExitedError })
  await t.throwsAsync(bridge.pool.resize(3), { instanceOf: BridgeExitedError })
  await bridge.close()
})

/** Starts fixtures/bridge/spawn-and-wait.ts in a child Node; resolves with it and its bridge's Python pid. */
async function nodeWithBridge(mode: 'wait' | 'exit') {
  const node = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(BRIDGE_FIXTURES, 'spawn-and-wait.ts'), mode],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, GILGAUGE_TEST_PYTHON: PYTHON },
    },
  )
  let output = ''
  const pid = await new Promise<number>((resolve, reject) => {
    node.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('\n')) resolve(Number.parseInt(output, 10))
    })
    node.once('exit', (code) => reject(new Error(`node exited with ${code} before printing a pid`)))
  })
  return { node, pid }
}

test('a SIGKILLed parent leaves no Python process behind', async (t) => {
  const { node, pid } = await nodeWithBridge('wait')
  t.true(processAlive(pid))
  node.kill('SIGKILL')
  await once(node, 'exit')
  t.true(await waitFor(() => !processAlive(pid), 5000), `python ${pid} is gone within 5 s`)
})

test('a parent that exits normally with an open bridge kills its Python process', async (t) => {
  const { node, pid } = await nodeWithBridge('exit')
  await once(node, 'exit')
  t.true(await waitFor(() => !processAlive(pid), 3000), `python ${pid} is gone within 3 s`)
})

test('the companion exits when its stdin closes', async (t) => {
  const python = spawn(PYTHON, ['-m', 'gilgauge_bridge', '--script', TOOLS], {
    stdio: ['pipe', 'pipe', 'ignore'],
    env: { ...process.env, PYTHONPATH: path.join(__dirname, '..', 'python') },
  })
  const exited = once(python, 'exit')
  const [hello] = (await once(python.stdout, 'data')) as [Buffer]
  t.regex(hello.toString(), /^\{"type":"hello"/)
  // A call still running when stdin closes does not keep the process alive.
  python.stdin.write('{"type":"call","id":1,"fn":"sleep","args":[30]}\n')
  python.stdin.end()
  const timer = setTimeout(() => python.kill('SIGKILL'), 5000)
  const [code, signal] = (await exited) as [number | null, string | null]
  clearTimeout(timer)
  t.is(signal, null, 'it exited by itself, not by our kill')
  t.is(code, 0)
})
