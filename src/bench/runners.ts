/** The three kinds of measurement: a static sweep and an adaptive run through the bridge, a Python-native peer. */
import { spawn } from 'node:child_process'
import { adaptiveController } from '../bridge/adaptive.js'
import { type PoolOption, PythonBridge, type SpawnOptions } from '../bridge/index.js'
import type { PolicySpec } from '../control/factory.js'
import { DecisionHistory } from '../control/history.js'
import { PYTHON_MALLOC_ENV } from './config.js'
import type { HostSpeedProbe } from './host-speed.js'
import { ClosedLoop, sleep } from './load.js'
import { type IntervalCost, intervalCost, processCpuMs } from './process-cpu.js'
import { pssMiB } from './pss.js'
import { convergenceTime, meanSize, percentile, round } from './stats.js'
import type { AdaptivePolicyName, AdaptiveRun, BenchConfig, PeerMode, PeerRun } from './types.js'
import { splitVariant } from './variant.js'

export interface Target {
  python: string
  pythonPath: string
  /** The task the load calls. */
  profile: string
  cpus: number[]
  /** The module the companion imports for it (default: the shipped workloads). */
  module?: string
  /** The host's speed on `cpus`, sampled while this target is measured (absent: not sampled). */
  probe?: HostSpeedProbe
}

/** `cost` with the host's speed over [fromMs, toMs] (epoch ms) when the target is probed. */
function withHostSpeed(
  cost: IntervalCost | null,
  target: Target,
  fromMs: number,
  toMs: number,
): IntervalCost | null {
  if (!cost || !target.probe) return cost
  return { ...cost, hostNsPerIter: target.probe.speedOver(fromMs, toMs) }
}

/** Outstanding calls for a pool of `size`: enough that it never runs dry. */
export const concurrencyFor = (size: number): number => Math.max(2 * size, 32)

/** A companion running the workloads for `target`, as every bench run starts one. */
export async function spawnBridge(target: Target, pool: PoolOption, extra: Partial<SpawnOptions> = {}) {
  return PythonBridge.spawn({
    module: target.module ?? 'gilgauge_workloads.tasks',
    python: target.python,
    pool,
    cpus: target.cpus,
    env: { ...PYTHON_MALLOC_ENV, PYTHONPATH: target.pythonPath },
    forwardStderr: false,
    startTimeoutMs: 60_000,
    ...extra,
  })
}

/** Kill the companion without draining (thousands of calls may still be queued). */
export async function discard(bridge: PythonBridge): Promise<void> {
  await bridge.close({ drainTimeoutMs: 0, graceMs: 0 }).catch(() => {})
}

/** Why the profile cannot run here, or null when one call of it succeeds. */
export async function checkProfile(target: Target): Promise<string | null> {
  let bridge: PythonBridge | null = null
  try {
    bridge = await spawnBridge(target, 1)
    if (!bridge.hello.functions.includes(target.profile)) return `no such profile '${target.profile}'`
    await bridge.call(target.profile, [], { timeoutMs: 60_000 })
    return null
  } catch (error) {
    return error instanceof Error ? (error.message.split('\n')[0] ?? 'failed') : String(error)
  } finally {
    if (bridge) await discard(bridge)
  }
}

export interface SweepPointRaw {
  n: number
  throughput: number | null
  p99Ms: number | null
  pssMiB: number | null
  warmupMs: number | null
  /** The Python process's CPU over the measured interval. */
  cost?: IntervalCost | null
  skipped?: string
}

/**
 * One pass of the static sweep in one companion, growing the pool through `sizes`. Each point: warm up
 * for at least `warmupMs` and until N tasks completed at that size (every thread had work; a synchronised
 * start has drained), at most `warmupCapMs`; then count completions over `measureMs`. A point that cannot
 * warm up in time, or a process above the PSS limit, ends the sweep (later points are marked skipped).
 */
export async function staticSweep(
  target: Target,
  sizes: number[],
  cfg: BenchConfig,
  onPoint: (n: number) => void,
  measureMs = cfg.measureMs,
): Promise<SweepPointRaw[]> {
  const out: SweepPointRaw[] = []
  const first = sizes[0] ?? 1
  const bridge = await spawnBridge(target, { min: 1, max: Math.max(...sizes), initial: first })
  let size = first
  const loop = new ClosedLoop(bridge, target.profile, () => concurrencyFor(size))
  let stopReason: string | null = null
  const skip = (n: number, reason: string) => {
    stopReason = reason
    out.push({ n, throughput: null, p99Ms: null, pssMiB: null, warmupMs: null, skipped: reason })
  }
  // A load that stopped on failing calls would read as a stall: this point and the rest are not run.
  const skippedOnFailure = (n: number): boolean => {
    const failure = loop.failure()
    if (failure) skip(n, `not run: ${failure} (N = ${n})`)
    return failure !== null
  }
  try {
    loop.start()
    for (const n of sizes) {
      if (stopReason) {
        skip(n, stopReason)
        continue
      }
      onPoint(n)
      if (n !== size) {
        size = n
        await bridge.pool.resize(n, 'sweep')
      }
      const t0 = performance.now()
      const c0 = loop.count
      await sleep(cfg.warmupMs)
      const warmed = await loop.waitForCount(c0 + n, t0 + cfg.warmupCapMs)
      if (loop.errors > 0 && loop.count === 0) throw new Error(loop.firstError ?? 'calls fail')
      if (skippedOnFailure(n)) continue
      if (!warmed) {
        skip(
          n,
          `not started: fewer than N tasks completed within the ${cfg.warmupCapMs / 1000} s warm-up cap at N = ${n}`,
        )
        continue
      }
      const warmupMs = performance.now() - t0
      const cpu0 = processCpuMs(bridge.pid)
      const m0 = performance.now()
      const e0 = Date.now() // the wall clock the speed probe stamps its samples with
      await sleep(measureMs)
      const m1 = performance.now()
      const e1 = Date.now()
      const cpu1 = processCpuMs(bridge.pid)
      if (skippedOnFailure(n)) continue
      const { completions, latencies } = loop.between(m0, m1)
      const pss = pssMiB(bridge.pid)
      out.push({
        n,
        throughput: round((completions * 1000) / (m1 - m0), 2),
        p99Ms: nullableRound(percentile(latencies, 0.99)),
        pssMiB: pss,
        warmupMs: Math.round(warmupMs),
        cost: withHostSpeed(intervalCost(cpu0, cpu1, completions, m1 - m0), target, e0, e1),
      })
      if (pss !== null && pss > cfg.pssLimitMiB) {
        stopReason = `not run: the Python process used ${Math.round(pss)} MiB PSS at N = ${n} (limit ${cfg.pssLimitMiB} MiB)`
      }
    }
  } finally {
    loop.stop()
    await discard(bridge)
  }
  return out
}

const nullableRound = (x: number | null, digits = 3): number | null => (x === null ? null : round(x, digits))

/**
 * One run of an adaptive policy (or of a fixed size, timed the same way): bounds 1..maxSize from
 * `initialSize`, the same monitor + policy as
 * `pool: { policy }` (adaptiveController), every decision recorded. The load follows the pool
 * (max(2 × size, 32) outstanding). Steady = the last half of the run.
 */
export async function adaptiveRun(
  target: Target,
  policy: AdaptivePolicyName | { static: number },
  cfg: BenchConfig,
): Promise<AdaptiveRun> {
  let history: DecisionHistory | null = null
  const variant = splitVariant(policy === 'gauge-variant' ? (cfg.gaugeVariant ?? {}) : {})
  // A static size (the held-out run of the best size) runs as the sweep does, without a monitor or
  // controller: it stands for what a user's fixed pool would do.
  const bridge =
    typeof policy === 'object'
      ? await spawnBridge(target, policy.static)
      : await spawnBridge(
          target,
          { min: 1, max: cfg.maxSize, initial: cfg.initialSize },
          {
            controller: (b: PythonBridge) => {
              const spec: PolicySpec =
                policy === 'gauge-variant'
                  ? { gauge: { gilEnabled: b.hello.gilEnabled, ...variant.gauge } }
                  : policy
              const base = adaptiveController(b, { policy: spec })
              history = new DecisionHistory(base.policy, 100_000)
              const probe = target.probe
              // Every policy gets the host's speed; only gauge with judgeAtHostSpeed reads it.
              const hostSpeed = probe ? (from: number, to: number) => probe.speedOver(from, to) : undefined
              return { ...base, policy: history, hostSpeed }
            },
            ...variant.bridge,
          },
        )
  const t0 = performance.now()
  const wall0 = Date.now()
  const sizeSeries: Array<[number, number]> = [[0, bridge.pool.size]]
  bridge.on('resize', (e) => sizeSeries.push([Math.round(performance.now() - t0), e.to]))
  const loop = new ClosedLoop(bridge, target.profile, () => concurrencyFor(bridge.pool.size))
  let pss: number | null = null
  let finalSize: number
  let threadsStarted: number
  let cpuAtHalf: number | null = null
  let cpuAtEnd: number | null = null
  let halfReadAt = 0
  let endReadAt = 0
  let halfWallMs = 0
  let endWallMs = 0
  try {
    loop.start()
    await sleep(cfg.policyMs / 2)
    cpuAtHalf = processCpuMs(bridge.pid)
    halfReadAt = performance.now()
    halfWallMs = Date.now()
    await sleep(t0 + cfg.policyMs - halfReadAt)
    cpuAtEnd = processCpuMs(bridge.pid)
    endReadAt = performance.now()
    endWallMs = Date.now()
    pss = pssMiB(bridge.pid)
    finalSize = bridge.pool.size
    threadsStarted = (await bridge.pythonStats()).started
  } finally {
    loop.stop()
    await discard(bridge)
  }
  const failure = loop.failure()
  if (failure) throw new Error(failure)
  if (loop.count === 0) throw new Error(loop.firstError ?? 'no task completed')
  const half = t0 + cfg.policyMs / 2
  const end = t0 + cfg.policyMs
  const steady = loop.between(half, end)
  // Zero in the steady half after completions before it is a stall, not a throughput: say so.
  if (steady.completions === 0) {
    throw new Error(
      `no task completed in the steady half (${loop.count} before it, ${loop.errors} calls failed${loop.firstError ? `: ${loop.firstError}` : ''})`,
    )
  }
  const whole = loop.between(t0, end)
  const records = (history as DecisionHistory | null)?.records ?? []
  return {
    throughput: round((steady.completions * 1000) / (end - half), 2),
    throughputWhole: round((whole.completions * 1000) / (end - t0), 2),
    p99Ms: nullableRound(percentile(steady.latencies, 0.99)),
    finalSize,
    meanSteadySize: round(meanSize(sizeSeries, cfg.policyMs / 2, cfg.policyMs), 2),
    convergenceMs: convergenceTime(sizeSeries, finalSize),
    threadsStarted,
    pssMiB: pss,
    steadyCost: withHostSpeed(
      intervalCost(cpuAtHalf, cpuAtEnd, steady.completions, endReadAt - halfReadAt),
      target,
      halfWallMs,
      endWallMs,
    ),
    resizes: sizeSeries.length - 1,
    sizeSeries,
    completionsPerSecond: Array.from(
      { length: Math.floor(cfg.policyMs / 1000) },
      (_, i) => loop.between(t0 + i * 1000, t0 + (i + 1) * 1000).completions,
    ),
    decisions: records.map((r) => ({
      tMs: r.atMs - wall0,
      from: r.from,
      size: r.size,
      reason: r.reason,
      inputs: r.inputs,
    })),
  }
}

export interface PeerArgs {
  mode: PeerMode
  workers?: number
  concurrency?: number
  minWorkers?: number
  maxWorkers?: number
  warmupMs: number
  measureMs: number
}

/** One run of python -m gilgauge_workloads.drive; PSS of its process tree sampled near the end. */
export function peerRun(target: Target, args: PeerArgs): Promise<PeerRun> {
  const argv = ['-m', 'gilgauge_workloads.drive', args.mode, '--profile', target.profile]
  argv.push('--duration', String(args.measureMs / 1000), '--warmup', String(args.warmupMs / 1000))
  argv.push('--cores', target.cpus.join(','))
  if (args.workers !== undefined) argv.push('--workers', String(args.workers))
  if (args.concurrency !== undefined) argv.push('--concurrency', String(args.concurrency))
  if (args.minWorkers !== undefined) argv.push('--min-workers', String(args.minWorkers))
  if (args.maxWorkers !== undefined) argv.push('--max-workers', String(args.maxWorkers))
  return new Promise((resolve) => {
    const child = spawn(target.python, argv, {
      env: { ...process.env, ...PYTHON_MALLOC_ENV, PYTHONPATH: target.pythonPath },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000)
    })
    let pss: number | null = null
    const started = performance.now()
    // Sample PSS through the measured part; keep the last sample (the steady pool).
    const sampler = setInterval(() => {
      if (child.pid === undefined || performance.now() - started < args.warmupMs) return
      const value = pssMiB(child.pid, true)
      if (value !== null) pss = value
    }, 500)
    const limit = setTimeout(() => child.kill('SIGKILL'), args.warmupMs + args.measureMs + 90_000)
    const fail = (error: string): PeerRun => ({
      ok: false,
      error,
      throughput: null,
      p99Ms: null,
      finalSize: null,
      liveFinal: null,
      pssMiB: null,
    })
    child.on('error', (error) => {
      clearInterval(sampler)
      clearTimeout(limit)
      resolve(fail(error.message))
    })
    child.on('close', (code, signal) => {
      clearInterval(sampler)
      clearTimeout(limit)
      const line = stdout.trim().split('\n').pop() ?? ''
      let parsed: Record<string, unknown> | null = null
      try {
        parsed = JSON.parse(line) as Record<string, unknown>
      } catch {
        parsed = null
      }
      if (parsed === null || parsed.ok !== true) {
        const why =
          (parsed?.error as string | undefined) ??
          `drive.py ${signal ? `killed by ${signal}` : `exited with ${code}`}: ${stderr.trim().split('\n').pop() ?? ''}`
        resolve(fail(why))
        return
      }
      const pool = (parsed.pool ?? {}) as { final?: number; live_final?: number; series?: unknown }
      const latency = (parsed.latency_ms ?? {}) as { p99?: number | null }
      const { series: _series, ...poolSummary } = pool
      const window = parsed.window_ms
      const probed =
        target.probe &&
        Array.isArray(window) &&
        typeof window[0] === 'number' &&
        typeof window[1] === 'number'
          ? { hostNsPerIter: target.probe.speedOver(window[0], window[1]) }
          : {}
      const busy = typeof parsed.busy_cpus === 'number' ? { busyCpus: parsed.busy_cpus } : {}
      resolve({
        ...probed,
        ...busy,
        ok: true,
        throughput: typeof parsed.throughput === 'number' ? parsed.throughput : null,
        p99Ms: latency.p99 ?? null,
        finalSize: pool.final ?? null,
        liveFinal: pool.live_final ?? null,
        pssMiB: pss,
        raw: { ...parsed, pool: poolSummary },
      })
    })
  })
}
