/** Proportional set size of a process tree, from /proc/<pid>/smaps_rollup (Linux). */
import { readdirSync, readFileSync } from 'node:fs'

function readPssKiB(pid: number): number | null {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
    const match = /^Pss:\s+(\d+)\s+kB/m.exec(text)
    return match ? Number(match[1]) : null
  } catch {
    return null // gone, or not ours
  }
}

/** Direct children of `pid` (over all its threads' children lists). */
function childrenOf(pid: number): number[] {
  const out: number[] = []
  let tids: string[]
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    return out
  }
  for (const tid of tids) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim()
      if (text) for (const c of text.split(/\s+/)) out.push(Number(c))
    } catch {
      // thread ended meanwhile
    }
  }
  return out
}

/** PSS (MiB) summed over `pid` and, with `withChildren`, all its descendants; null if unreadable. */
export function pssMiB(pid: number, withChildren = false): number | null {
  const own = readPssKiB(pid)
  if (own === null) return null
  let total = own
  if (withChildren) {
    const seen = new Set<number>([pid])
    const stack = childrenOf(pid)
    while (stack.length > 0) {
      const child = stack.pop() as number
      if (seen.has(child)) continue
      seen.add(child)
      total += readPssKiB(child) ?? 0
      stack.push(...childrenOf(child))
    }
  }
  return Math.round((total / 1024) * 10) / 10
}
