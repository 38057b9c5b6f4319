import type { ProbeSnapshot, ThreadSnapshot } from '../../src/native.js'

/** A thread's cumulative counters, zero unless given. */
export function thread(tid: number, fields: Partial<ThreadSnapshot> = {}): ThreadSnapshot {
  return {
    tid,
    name: `t${tid}`,
    alive: true,
    firstSeenNs: 0,
    lastSeenNs: 0,
    cpuNs: 0,
    runqNs: 0,
    voluntarySwitches: 0,
    involuntarySwitches: 0,
    samples: { running: 0, gil: 0, lock: 0, io: 0, sleep: 0, other: 0 },
    otherSyscalls: [],
    tracedNs: { gil: 0, lock: 0, io: 0, sleep: 0, other: 0 },
    ...fields,
  }
}

/** A probe snapshot of the sample tier at `takenNs`, as the binding returns it. */
export function snapshot(
  takenNs: number,
  threads: ThreadSnapshot[],
  extra: Partial<ProbeSnapshot> = {},
): ProbeSnapshot {
  return {
    pid: 42,
    openedNs: 0n,
    takenNs,
    tier: 'sample',
    abi: 'x86_64',
    exited: false,
    hz: 200,
    ticks: 0,
    gilTicks: 0,
    gilStateTicks: 0,
    gilHeldTicks: 0,
    gilFreeWantedTicks: 0,
    samples: 0,
    probeCpuNs: 0,
    threads,
    ...extra,
  }
}
