/** Bench configurations: the full run and the quick smoke test. */
import type { AdaptivePolicyName, BenchConfig } from './types.js'

export const ALL_PROFILES = [
  'io-heavy',
  'io-dominant',
  'balanced',
  'cpu-leaning',
  'cpu-heavy',
  'cpu-dominant',
  'vision',
  'voice',
  'sensor-fusion',
  'rag',
  'slm',
  'analytics',
  'onnx-mobilenetv2',
]

export const POLICIES = ['gauge', 'paper', 'betapool'] as const

/** The adaptive policies a run measures: POLICIES, and gauge's variant when the config has one. */
export const policiesOf = (cfg: BenchConfig): AdaptivePolicyName[] =>
  cfg.gaugeVariant ? [...POLICIES, 'gauge-variant'] : [...POLICIES]

/** N = 1, 2, 4 … 2048. */
export const FULL_SWEEP = Array.from({ length: 12 }, (_, i) => 2 ** i)

export function fullConfig(): BenchConfig {
  return {
    profiles: ALL_PROFILES,
    cores: [1, 2],
    repeats: 1,
    sweepRepeats: 1,
    quick: false,
    sweep: FULL_SWEEP,
    warmupMs: 1500,
    warmupCapMs: 6000,
    measureMs: 2000,
    policyMs: 20_000,
    initialSize: 4,
    maxSize: 2048,
    peerWarmupMs: 1500,
    peerMeasureMs: 2500,
    betapoolWarmupMs: 8_000,
    betapoolMeasureMs: 8_000,
    processCounts: [1, 2, 4],
    confirmTop: 3,
    pssLimitMiB: 4096,
    speedProbe: true,
  }
}

export function quickConfig(): BenchConfig {
  return {
    ...fullConfig(),
    profiles: ['balanced', 'sensor-fusion'],
    cores: [1],
    quick: true,
    sweep: [1, 4, 16, 64],
    warmupMs: 1000,
    warmupCapMs: 4000,
    measureMs: 1500,
    policyMs: 10_000,
    maxSize: 1024,
    peerWarmupMs: 1000,
    peerMeasureMs: 1500,
    betapoolWarmupMs: 4000,
    betapoolMeasureMs: 4000,
    processCounts: [1, 2],
    confirmTop: 2,
  }
}

/**
 * glibc malloc settings for every Python process the bench starts (static pools, policies and peers alike).
 * By default glibc moves its mmap threshold and trims freed heap top back to the kernel; numpy's
 * temporaries of a few hundred KiB (voice's FFT frames, vision's frames) are then faulted in again on
 * every task, more or less depending on how the heap happens to settle. benches/results/malloc-thresholds.md
 * (voice, one core): with the defaults 406–437 minor faults and 0.6–0.8 ms system time per task at 32
 * and 128 threads (374–405 tasks/s) but 54 at 512 (513/s); with these fixed thresholds 0.5–5 faults and
 * 491–546 tasks/s at every size. The bench compares pool sizes, not heap states: fixed thresholds.
 */
export const PYTHON_MALLOC_ENV: Record<string, string> = {
  MALLOC_MMAP_THRESHOLD_: String(32 * 1024 * 1024),
  MALLOC_TRIM_THRESHOLD_: String(256 * 1024 * 1024),
}

/** Cores 1 → CPU 0, cores 2 → CPUs 0 and 1. */
export const cpusFor = (cores: number): number[] => Array.from({ length: cores }, (_, i) => i)

/** Planned machine time (ms) of one profile at one core count, for the progress estimate. */
export function plannedMs(cfg: BenchConfig): {
  check: number
  point: number
  policy: number
  reference: number
  peers: number
  total: number
} {
  const check = 2000
  const point = cfg.warmupMs + cfg.measureMs + 300
  const policy = cfg.policyMs + 1500
  const reference = cfg.confirmTop * (cfg.warmupMs + cfg.policyMs / 2 + 500)
  const peer = cfg.peerWarmupMs + cfg.peerMeasureMs + 1500
  // Native static at the bridge's best N and at up to two sizes PyPI betapool settled on, asyncio.
  const peers =
    cfg.repeats * (4 * peer + cfg.betapoolWarmupMs + cfg.betapoolMeasureMs + 1500) +
    (cfg.processCounts.length + cfg.repeats - 1) * (peer + 1000)
  // Per repeat: the policies, the held-out static run (run like a policy) and the confirmations.
  const total =
    check +
    cfg.sweepRepeats * cfg.sweep.length * point +
    cfg.repeats * ((policiesOf(cfg).length + 1) * policy + reference) +
    peers
  return { check, point, policy, reference, peers, total }
}
