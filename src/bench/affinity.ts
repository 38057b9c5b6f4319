/**
 * Keeps this Node process (the load generator and the bridge's JavaScript side, monitor thread included)
 * off the CPUs the Python process is pinned to, when there are CPUs left over; otherwise lets it run
 * anywhere. Uses taskset(1) on all of Node's threads; a failure only leaves Node unpinned.
 *
 * The CPUs to choose from are the machine's (os.cpus()), not this process's affinity
 * (os.availableParallelism()): once pinned away, the process sees only the CPUs left to it, and the next
 * pair would read them as the whole machine and pin Node onto Python's CPU.
 */
import { execFileSync } from 'node:child_process'
import os from 'node:os'

export function pinNodeAwayFrom(pythonCpus: number[]): string {
  const all = Array.from({ length: os.cpus().length }, (_, i) => i)
  const rest = all.filter((c) => !pythonCpus.includes(c))
  const cpus = rest.length > 0 ? rest : all
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpus.join(','), String(process.pid)], { stdio: 'ignore' })
    return rest.length > 0 ? `Node on CPU ${cpus.join(',')}` : 'Node shares all CPUs'
  } catch {
    return 'Node unpinned (taskset failed)'
  }
}
