/**
 * What the host did with the CPUs while a pair ran: per CPU, the shares of its time that were stolen (the
 * hypervisor ran something else while this CPU had work), idle, and busy (anything running in this machine:
 * the companion, and whatever else shared the CPU). On a shared virtual machine the stolen share is the
 * capacity a static pool and a policy both lost, and it moves between runs: the report shows it beside the
 * results it explains.
 */
import { readFileSync } from 'node:fs'
import { median, round } from './stats.js'

/** One CPU's counters from /proc/stat, in USER_HZ ticks since boot. */
export interface CpuTicks {
  busy: number
  idle: number
  steal: number
}

/** A CPU's time over a span, as shares of its total ticks. */
export interface CpuShare {
  cpu: number
  busy: number
  idle: number
  steal: number
}

/**
 * The per-CPU lines of /proc/stat ("cpuN user nice system idle iowait irq softirq steal …"). Lines of other
 * kinds, and CPU lines too short to hold steal (kernels before 2.6.11), are left out: that CPU reads as
 * unmeasured, not as never stolen.
 */
export function parseProcStat(text: string): Map<number, CpuTicks> {
  const cpus = new Map<number, CpuTicks>()
  for (const line of text.split('\n')) {
    const match = /^cpu(\d+)\s+(.*)$/.exec(line)
    if (!match) continue
    const fields = (match[2] ?? '').trim().split(/\s+/).map(Number)
    if (fields.length < 8 || fields.slice(0, 8).some((v) => !Number.isFinite(v))) continue
    const [user, nice, system, idle, iowait, irq, softirq, steal] = fields as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ]
    // guest and guest_nice (fields 9–10) are already inside user and nice.
    cpus.set(Number(match[1]), {
      busy: user + nice + system + irq + softirq,
      idle: idle + iowait,
      steal,
    })
  }
  return cpus
}

/** /proc/stat now, or null where it cannot be read (not Linux, or no procfs). */
export function readCpuTicks(path = '/proc/stat'): Map<number, CpuTicks> | null {
  try {
    return parseProcStat(readFileSync(path, 'utf8'))
  } catch {
    return null
  }
}

/**
 * Each CPU's shares between two reads, for the CPUs present in both with ticks between them (a span too
 * short for one tick says nothing), in CPU order.
 */
export function cpuShares(before: Map<number, CpuTicks>, after: Map<number, CpuTicks>): CpuShare[] {
  const shares: CpuShare[] = []
  for (const [cpu, a] of [...after].sort(([x], [y]) => x - y)) {
    const b = before.get(cpu)
    if (!b) continue
    const busy = a.busy - b.busy
    const idle = a.idle - b.idle
    const steal = a.steal - b.steal
    const total = busy + idle + steal
    // Counters only grow; a negative delta is a CPU that went offline and came back (counters reset).
    if (total <= 0 || busy < 0 || idle < 0 || steal < 0) continue
    shares.push({
      cpu,
      busy: round(busy / total),
      idle: round(idle / total),
      steal: round(steal / total),
    })
  }
  return shares
}

/** The mean stolen share over `cpus`, or null when none of them was measured. */
export function stolenShare(shares: CpuShare[], cpus: number[]): number | null {
  const of = shares.filter((s) => cpus.includes(s.cpu))
  if (of.length === 0) return null
  return round(of.reduce((sum, s) => sum + s.steal, 0) / of.length)
}

/** The stolen share of the CPUs a pair's Python process ran on, per measured pair, and their median. */
export interface StolenSummary {
  pairs: Array<{ profile: string; cores: number; stolen: number }>
  median: number
  most: { profile: string; cores: number; stolen: number }
}

export function stolenSummary(
  rows: Array<{ profile: string; cores: number; cpus: number[]; hostCpu?: CpuShare[] }>,
): StolenSummary | null {
  const pairs = rows.flatMap((r) => {
    const stolen = r.hostCpu ? stolenShare(r.hostCpu, r.cpus) : null
    return stolen === null ? [] : [{ profile: r.profile, cores: r.cores, stolen }]
  })
  const most = pairs.reduce<StolenSummary['most'] | null>((m, p) => (m && m.stolen >= p.stolen ? m : p), null)
  const mid = median(pairs.map((p) => p.stolen))
  if (!most || mid === null) return null
  return { pairs, median: round(mid), most }
}
