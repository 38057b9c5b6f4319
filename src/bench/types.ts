/** The result model of `gilgauge bench` (written as JSON; the Markdown and SVG are made from it). */
import type { GaugeOptions } from '../control/gauge.js'
import type { CpuShare } from './host-cpu.js'
import type { IntervalCost } from './process-cpu.js'

/**
 * What a variant changes: gauge's options, and the bridge's own where a pool mechanism is what is
 * being tried (`parkedLingerMs`: how long shed workers wait to be taken back).
 */
export type VariantOptions = Partial<GaugeOptions> & { parkedLingerMs?: number }

/** 'gauge-variant': gauge with the options of `BenchConfig.gaugeVariant`, run beside gauge (an A/B). */
export type AdaptivePolicyName = 'gauge' | 'paper' | 'betapool' | 'gauge-variant'
export type PeerMode = 'static' | 'betapool' | 'asyncio' | 'multiprocessing'

/** Median and spread of repeated measurements. */
export interface Spread {
  median: number
  min: number
  max: number
  n: number
}

/** One static pool size, measured through the bridge. */
export interface StaticPoint {
  n: number
  /** Completions per second over the measured interval (median over repeats). */
  throughput: Spread | null
  /** p99 of submit→result latency (ms) in the measured interval (median over repeats). */
  p99Ms: number | null
  /** PSS of the Python process at the end of the measured interval (MiB). */
  pssMiB: number | null
  /** How long the warm-up took (ms): at least the configured warm-up, until every thread had a task done. */
  warmupMs: number | null
  /** The Python process's CPU per task and busy CPUs over the measured interval (medians over repeats). */
  cost?: IntervalCost | null
  /** Set when the point was not measured, with the reason. */
  skipped?: string
}

/** One recorded controller decision (DecisionHistory), time relative to the run's start. */
export interface DecisionEntry {
  tMs: number
  from: number
  size: number
  reason: string
  inputs: Record<string, number | string | boolean | null>
}

/** One run of an adaptive policy through the bridge. */
export interface AdaptiveRun {
  /** Steady throughput: completions per second over the last half of the run. */
  throughput: number
  /** Throughput over the whole run (start-up and convergence included). */
  throughputWhole: number
  p99Ms: number | null
  /** Pool size at the end, and the time-weighted mean size over the steady part. */
  finalSize: number
  meanSteadySize: number
  /** First time (ms) after which the size stayed within 5 % (at least ±1) of its final size; null if never moved. */
  convergenceMs: number | null
  /**
   * Worker threads the companion started in the run, the first pool's included; a parked worker taken
   * back is not counted again (absent in older results).
   */
  threadsStarted?: number
  pssMiB: number | null
  /** The Python process's CPU per task and busy CPUs over the steady half (absent in older results). */
  steadyCost?: IntervalCost | null
  resizes: number
  /** [ms since start, size] at every change. */
  sizeSeries: Array<[number, number]>
  /** Completions in each whole second of the run: where in the run its throughput came from. */
  completionsPerSecond?: number[]
  /** Every decision of the policy, with its reason and inputs. */
  decisions: DecisionEntry[]
}

export interface AdaptiveResult {
  policy: AdaptivePolicyName
  /** For 'gauge-variant': the options it ran with (a merged result can hold pairs of different variants). */
  variantOptions?: VariantOptions
  runs: AdaptiveRun[]
  throughput: Spread | null
  /**
   * throughput / best static throughput (same profile and cores, same run), with spread over repeats. The
   * best static throughput is the best of the confirmed candidates (`ProfileCoresResult.confirmed`), each
   * measured as long as the policies' steady half.
   */
  efficiency: Spread | null
  /** throughput / the best 2 s point of the static sweep (biased high: the largest of many short, noisy points). */
  efficiencySweep?: Spread | null
  /** throughput / the best candidate measured just before it (same repeat, same length). */
  efficiencyRef: Spread | null
  /** throughput / the held-out static run of the same repeat (`ProfileCoresResult.heldOut`). */
  efficiencyHeldOut?: Spread | null
  p99Ms: number | null
  finalSize: Spread | null
  convergenceMs: number | null
  pssMiB: number | null
  error?: string
}

/** One run of a Python-native peer (python -m gilgauge_workloads.drive). */
export interface PeerRun {
  ok: boolean
  error?: string
  throughput: number | null
  p99Ms: number | null
  finalSize: number | null
  liveFinal: number | null
  pssMiB: number | null
  /** The host's speed over the measured interval (host-speed.ts); absent when not probed. */
  hostNsPerIter?: number | null
  /** The driver process's CPU over the measured interval / its wall time (absent: not recorded, or multiprocessing). */
  busyCpus?: number | null
  /** The driver's JSON line minus its pool-size series. */
  raw?: Record<string, unknown>
}

export interface PeerResult {
  mode: PeerMode
  /** What it was run with: workers / process count (asyncio, multiprocessing, static) or bounds (betapool). */
  label: string
  workers: number | null
  runs: PeerRun[]
  throughput: Spread | null
  p99Ms: number | null
  finalSize: number | null
  pssMiB: number | null
  /**
   * throughput / the best native ThreadPoolExecutor measured (same driver, same profile and cores): at the
   * bridge's best N and at the sizes PyPI betapool settled on (the static peer's `tried`). The Python-side
   * reference, free of the bridge's protocol cost.
   */
  efficiencyNative: number | null
  /** throughput / the bridge's best static throughput. */
  efficiencyBridge: number | null
  /** For multiprocessing and the native static pool: every count tried, with its throughput (best kept). */
  tried?: Array<{ workers: number; throughput: number | null }>
  error?: string
}

/** One held-out static run: the size run, its steady throughput, or why it measured nothing. */
export interface HeldOutRun {
  n: number
  throughput: number | null
  /** As AdaptiveRun's: a fixed pool's drift within the run, beside the policies' runs. */
  completionsPerSecond?: number[]
  /** As AdaptiveRun's steadyCost. */
  cost?: IntervalCost | null
  error?: string
}

export interface ProfileCoresResult {
  profile: string
  cores: number
  cpus: number[]
  /** Where this Node process (load generator, bridge, monitor) ran meanwhile. */
  nodeCpus?: string
  /**
   * Each CPU's time while the pair ran (/proc/stat): busy, idle, and stolen by the hypervisor. Absent in
   * results written before it was recorded, or where /proc/stat cannot be read.
   */
  hostCpu?: CpuShare[]
  /** The host-speed probe that ran beside the pair: samples taken, and its error if any. */
  speedProbe?: { samples: number; error?: string | null }
  /**
   * Set when the profile was not measured: it cannot run here (missing dependency or model), or the run
   * failed ("failed: …", with the error); nothing else is then filled in.
   */
  unavailable?: string
  sweep: StaticPoint[]
  /**
   * The best static pool: the confirmed candidate with the highest median throughput (the sweep's best
   * point when nothing could be confirmed). Every efficiency divides by this.
   */
  best: { n: number; throughput: number } | null
  /** The best point of the static sweep (one short measurement per N), from which candidates are chosen. */
  sweepBest?: { n: number; throughput: number } | null
  /**
   * The sweep's best few sizes, each run again in a fresh companion before every repeat of the policies,
   * for as long as the policies' steady half. Choosing the best of many 2 s points picks the luckiest
   * (noise on a shared machine is 10–20 %); measuring the chosen sizes again, as long as the policies
   * are measured, removes that bias and compares like with like.
   */
  confirmed?: Array<{
    n: number
    throughput: Spread | null
    runs: Array<number | null>
    /** Each run's CPU per task and busy CPUs, in the order of `runs` (absent in older results). */
    costs?: Array<IntervalCost | null>
    /** Why a run of this candidate measured nothing (null in `runs`), e.g. the warm-up cap from a cold pool. */
    skipped?: string
  }>
  /** Drop from peak at N ≥ 512: 1 − max(throughput at N ≥ 512) / peak... see cliff fields. */
  cliff: {
    /** 1 − (lowest throughput at N ≥ 512) / peak; null when no point ≥ 512 was measured. */
    dropAt512Plus: number | null
    /** 1 − throughput at the largest measured N / peak. */
    dropAtLargest: number | null
    largestN: number | null
  }
  /**
   * The best static pool run once more in every repeat, timed like a policy: a fixed pool of the size the
   * repeat's confirmations chose (no monitor, as in the sweep), run for as long as a policy, measured over
   * the same steady half, in the policies' rotation. The largest of several noisy confirmations is biased high (it
   * is the luckiest of them); this run did not take part in choosing the size, so it is not.
   */
  heldOut?: { runs: HeldOutRun[]; throughput: Spread | null } | null
  /** Kept for results written before `confirmed`: one static pool at the sweep's best N, run like a candidate. */
  reference?: { n: number; throughput: Spread | null; runs: Array<number | null> } | null
  adaptive: AdaptiveResult[]
  peers: PeerResult[]
  elapsedMs: number
}

export interface Shortfall {
  profile: string
  cores: number
  what: string
  gauge: number | null
  other: number | null
  /** What gauge's decisions show (reasons of its last decisions, where it settled). */
  evidence: string
}

export interface BenchConfig {
  profiles: string[]
  cores: number[]
  repeats: number
  sweepRepeats: number
  quick: boolean
  sweep: number[]
  warmupMs: number
  warmupCapMs: number
  measureMs: number
  policyMs: number
  initialSize: number
  maxSize: number
  peerWarmupMs: number
  peerMeasureMs: number
  betapoolWarmupMs: number
  betapoolMeasureMs: number
  processCounts: number[]
  /** How many of the sweep's best sizes are measured again as long as the policies' steady half. */
  confirmTop: number
  /** A static point whose Python process exceeds this PSS ends the sweep (MiB). */
  pssLimitMiB: number
  /**
   * Options that make gauge's variant (`--variant`): when set, 'gauge-variant' runs in every repeat's
   * rotation beside gauge, so that a rule change is compared within one run rather than across runs.
   */
  gaugeVariant?: VariantOptions
  /** Sample the host's speed on the pair's CPUs through all its runs (host-speed.ts, host-adjust.ts). */
  speedProbe?: boolean
}

export interface BenchEnvironment {
  date: string
  host: string
  kernel: string
  cpuModel: string
  logicalCpus: number
  memTotalMiB: number
  node: string
  python: string
  pythonVersion: string | null
  openblasCoretype: string | null
  /** Environment given to every Python process of the run (glibc malloc settings; see config.ts). */
  pythonEnv?: Record<string, string>
  commit: string | null
  /** Files of src/ and python/ that differed from the commit when the run started (git status). */
  dirty?: string[]
  shared: string
}

export interface BenchResult {
  tool: string
  command: string
  config: BenchConfig
  environment: BenchEnvironment
  startedAt: string
  finishedAt: string
  elapsedMs: number
  results: ProfileCoresResult[]
  shortfalls: Shortfall[]
  /** Free-text notes about the run (kept by --render). */
  notes?: string[]
  /** Missing numbers (a policy or peer that produced none): the quick mode fails on any. */
  missing: string[]
}
