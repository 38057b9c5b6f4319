/**
 * Keeps this Node process (the load generator and the bridge's JavaScript side, monitor thread included)
 * off the CPUs the Python process is pinned to, when there are CPUs left over; otherwise lets it run
 * anywhere. Uses taskset(1) on all of Node's threads; a failure only leaves Node unpinned.
 */
import { execFileSync } from 'node:child_process'
import os from 'node:os'

export function pinNodeAwayFrom(pythonCpus: number[]): string {
  const all = Array.from({ length: os.availableParallelism() }, (_, i) => i)
  const rest = all.filter((c) => !pythonCpus.includes(c))
  const cpus = rest.length > 0 ? rest : all
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpus.join(','), String(process.pid)], { stdio: 'ignore' })
    return rest.length > 0 ? `Node on CPU ${cpus.join(',')}` : 'Node shares all CPUs'
  } catch {
    return 'Node unpinned (taskset failed)'
  }
}
