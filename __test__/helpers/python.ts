import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import path from 'node:path'

export const PYTHON = process.env.GILGAUGE_TEST_PYTHON ?? 'python3'
export const FIXTURES = path.join(__dirname, '..', 'fixtures')

/** Starts a real Python process and resolves once it prints `ready`. */
export async function startPython(args: string[], readyLine = 'ready'): Promise<ChildProcess> {
  const child = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  let buffered = ''
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString()
      if (buffered.split('\n').includes(readyLine)) {
        child.stdout?.off('data', onData)
        resolve()
      }
    }
    child.stdout?.on('data', onData)
    child.once('exit', (code) => reject(new Error(`python exited with ${code} before it was ready`)))
    child.once('error', reject)
  })
  return child
}

export async function stopPython(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGKILL')
  await once(child, 'exit')
}
