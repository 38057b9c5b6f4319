import type { ChildProcess } from 'node:child_process'

/**
 * Python processes to kill if Node exits while they run. This covers a
 * normal exit (process.exit, the event loop running dry); a Node killed by
 * a signal is covered on the Python side (PR_SET_PDEATHSIG, stdin EOF,
 * getppid watchdog).
 */
const live = new Set<ChildProcess>()
let installed = false

function killAll(): void {
  for (const child of live) child.kill('SIGKILL')
}

export function killWithNode(child: ChildProcess): void {
  if (!installed) {
    process.once('exit', killAll)
    installed = true
  }
  live.add(child)
  child.once('exit', () => live.delete(child))
}
