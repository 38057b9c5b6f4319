/** Which mechanism produced a window (DESIGN.md §2.3). */
export type Tier = 'trace' | 'sample' | 'rusage'

/** The classes that busy wall time splits into; they sum to wall. */
export const CLASSES = ['cpu', 'runq', 'gil', 'lock', 'io', 'sleep', 'other'] as const
export type WaitClass = (typeof CLASSES)[number]

/** Nanoseconds per class. */
export type ClassTimes = Record<WaitClass, number>
/** Fractions of busy wall time per class; they sum to 1 (or are all 0 with no busy time). */
export type Shares = Record<WaitClass, number>

/** One thread over one window. */
export interface ThreadWindow {
  tid: number
  name: string
  /** Still alive at the window's end. */
  alive: boolean
  /** Busy wall time of this thread in the window (ns): its lifetime in the window less idle. */
  wallNs: number
  /** Time an idle pool worker spent waiting for work (ns); not part of wallNs. */
  idleNs: number
  times: ClassTimes
  shares: Shares
  /** Samples of this thread in the window. */
  samples: number
  betaPaper: number
  betaIo: number
}

/** The whole process over one window; every ratio is time-weighted over busy thread-time. */
export interface WindowTotal {
  wallNs: number
  idleNs: number
  times: ClassTimes
  shares: Shares
  /** The paper's β = 1 − Σcpu / Σwall. */
  betaPaper: number
  /** Genuine blocking: (io + sleep) / wall. */
  betaIo: number
  gilShare: number
  lockShare: number
  runqShare: number
  /** Share of sampling ticks in which some busy thread waited for the GIL. */
  gilSaturation: number
  /**
   * Share of the window's wall time the GIL was held, from its `locked` field read at the sampling ticks
   * (null when not measured: no GIL, no permission to read the target's memory, or not found yet). With
   * `times.cpu` it splits CPU into GIL-held (serial) and GIL-free (parallel) work.
   */
  gilHeld: number | null
  /**
   * Share of the window's wall time the GIL was held, or free while a thread waited for it (a hand-off
   * under way: the GIL idle though work wants it); null when `gilHeld` is. Hand-offs cost wall time that
   * no thread's CPU shows: a pool whose GIL is held 40 % of the time can still have its GIL busy all of it.
   */
  gilBusy: number | null
  /** Threads with busy time in the window. */
  busyThreads: number
}

export interface GilRangeInfo {
  start: bigint
  end: bigint
  source: 'elf-symbol' | 'explicit'
  objectPath: string
}

/** The difference of two probe snapshots, decomposed (DESIGN.md §2). */
export interface Window {
  pid: number
  tier: Tier
  /** Why the tier is not the best one, when it is not. */
  tierReason: string | null
  abi: string
  gilRange: GilRangeInfo | null
  /** Why the GIL's hold time (`total.gilHeld`) is not measured, when it is not. */
  gilStateNote: string | null
  /** ns after the probe opened, at the window's start and end. */
  startNs: number
  endNs: number
  durationNs: number
  /** Thread samples taken in the window (error bars scale with 1/√samples). */
  samples: number
  /** Sampling ticks in the window. */
  ticks: number
  threads: ThreadWindow[]
  total: WindowTotal
  /** CPU time the probe's sampler thread used in the window (ns), and as a share of the window. */
  probeCpuNs: number
  probeCpuShare: number
  /** The target exited: this is the last window. */
  final: boolean
}
