/** Orchestration: every profile × core count, in order; results aggregated as they come. */
import { pinNodeAwayFrom } from './affinity.js'
import { ALL_PROFILES, cpusFor, plannedMs, policiesOf } from './config.js'
import { cpuShares, readCpuTicks } from './host-cpu.js'
import { HostSpeedProbe } from './host-speed.js'
import { describeError } from './load.js'
import { type IntervalCost, medianCost } from './process-cpu.js'
import type { Progress } from './progress.js'
import {
  adaptiveRun,
  checkProfile,
  concurrencyFor,
  type PeerArgs,
  peerRun,
  type SweepPointRaw,
  staticSweep,
  type Target,
} from './runners.js'
import { confirmedBest, median, rotated, round, settledSizes, spread, topSizes } from './stats.js'
import type {
  AdaptivePolicyName,
  AdaptiveResult,
  AdaptiveRun,
  BenchConfig,
  HeldOutRun,
  PeerMode,
  PeerResult,
  PeerRun,
  ProfileCoresResult,
  StaticPoint,
} from './types.js'

export interface RunContext {
  python: string
  pythonPath: string
  progress: Progress
  /** Called after each profile × cores with the results so far (to save partial results). */
  onResult?: (result: ProfileCoresResult) => void | Promise<void>
}

export function checkProfiles(names: string[]): void {
  const unknown = names.filter((n) => !ALL_PROFILES.includes(n))
  if (unknown.length > 0) {
    throw new Error(`unknown profile(s) ${unknown.join(', ')}; known: ${ALL_PROFILES.join(', ')}`)
  }
}

export async function runAll(cfg: BenchConfig, ctx: RunContext): Promise<ProfileCoresResult[]> {
  const results: ProfileCoresResult[] = []
  const combos = cfg.profiles.flatMap((profile) => cfg.cores.map((cores) => ({ profile, cores })))
  for (const [i, { profile, cores }] of combos.entries()) {
    const label = `${profile} · ${cores} core${cores > 1 ? 's' : ''} (${i + 1}/${combos.length})`
    const nodeCpus = pinNodeAwayFrom(cpusFor(cores))
    const ticksBefore = readCpuTicks()
    // Every measured interval of the pair records the host's speed, so that runs made minutes apart can
    // also be compared at one speed (host-adjust.ts).
    const probe = cfg.speedProbe
      ? HostSpeedProbe.start(ctx.python, ctx.pythonPath, cpusFor(cores))
      : undefined
    const result = await runOne(profile, cores, cfg, ctx, label, i, probe).catch((error: unknown) => {
      // One pair that fails must not cost the rest of a long run: record why, go on.
      const why = `failed: ${describeError(error)}`
      ctx.progress.say(`${label}: ${why}`)
      return { ...emptyResult(profile, cores), unavailable: why }
    })
    if (probe) {
      await probe.stop()
      const error = probe.error()
      result.speedProbe = { samples: probe.samples.length, ...(error ? { error } : {}) }
    }
    result.nodeCpus = nodeCpus
    const ticksAfter = readCpuTicks()
    if (ticksBefore && ticksAfter) result.hostCpu = cpuShares(ticksBefore, ticksAfter)
    results.push(result)
    await ctx.onResult?.(result)
  }
  return results
}

/** A result with nothing measured yet. */
function emptyResult(profile: string, cores: number): ProfileCoresResult {
  return {
    profile,
    cores,
    cpus: cpusFor(cores),
    sweep: [],
    best: null,
    cliff: { dropAt512Plus: null, dropAtLargest: null, largestN: null },
    adaptive: [],
    peers: [],
    elapsedMs: 0,
  }
}

async function runOne(
  profile: string,
  cores: number,
  cfg: BenchConfig,
  ctx: RunContext,
  label: string,
  /** The pair's place in the run: where its rotation of the policies starts. */
  pairIndex: number,
  probe: HostSpeedProbe | undefined,
): Promise<ProfileCoresResult> {
  const started = performance.now()
  const plan = plannedMs(cfg)
  const { progress } = ctx
  const target: Target = {
    python: ctx.python,
    pythonPath: ctx.pythonPath,
    profile,
    cpus: cpusFor(cores),
    probe,
  }
  const result = emptyResult(profile, cores)

  progress.say(`${label}: checking that the profile runs`)
  const why = await checkProfile(target)
  progress.advance(plan.check)
  if (why) {
    result.unavailable = why
    progress.drop(plan.total - plan.check)
    progress.say(`${label}: skipped, cannot run here: ${why}`)
    result.elapsedMs = Math.round(performance.now() - started)
    return result
  }

  // 1. Static sweep through the bridge.
  const passes: SweepPointRaw[][] = []
  for (let r = 0; r < cfg.sweepRepeats; r++) {
    const rep = cfg.sweepRepeats > 1 ? ` [sweep ${r + 1}/${cfg.sweepRepeats}]` : ''
    passes.push(
      await staticSweep(target, cfg.sweep, cfg, (n) => {
        progress.say(`${label}: static N=${n}${rep}`)
        progress.advance(plan.point)
      }),
    )
    const measured = passes[passes.length - 1]?.filter((p) => !p.skipped).length ?? 0
    progress.drop((cfg.sweep.length - measured) * plan.point)
  }
  result.sweep = aggregateSweep(cfg.sweep, passes)
  const sweepBest = bestOf(result.sweep)
  result.sweepBest = sweepBest
  result.cliff = cliffOf(result.sweep, sweepBest)
  if (!sweepBest) {
    result.unavailable = 'no static point could be measured'
    result.elapsedMs = Math.round(performance.now() - started)
    return result
  }
  const candidates = topSizes(result.sweep, cfg.confirmTop)
  progress.say(
    `${label}: best static point N=${sweepBest.n} at ${sweepBest.throughput.toFixed(1)}/s; confirming N=${candidates.join(', ')}`,
  )

  // 2. Candidates confirmed and adaptive policies run, both through the bridge; repeats interleaved so
  // that machine noise spreads over all.
  const policies = policiesOf(cfg)
  const runs = new Map<AdaptivePolicyName, AdaptiveRun[]>(policies.map((p) => [p, []]))
  const refs = new Map<AdaptivePolicyName, Array<number | null>>(policies.map((p) => [p, []]))
  const errors = new Map<AdaptivePolicyName, string>()
  const confirmRuns = new Map<number, Array<number | null>>(candidates.map((n) => [n, []]))
  const confirmCosts = new Map<number, Array<IntervalCost | null>>(candidates.map((n) => [n, []]))
  const confirmSkipped = new Map<number, string>()
  const heldOutRuns: HeldOutRun[] = []
  /** For each policy's runs, the held-out run of the same repeat. */
  const heldOutRefs = new Map<AdaptivePolicyName, HeldOutRun[]>(policies.map((p) => [p, []]))
  for (let r = 0; r < cfg.repeats; r++) {
    const rep = cfg.repeats > 1 ? ` [${r + 1}/${cfg.repeats}]` : ''
    let bestThisRepeat: { n: number; throughput: number } | null = null
    for (const n of candidates) {
      progress.say(`${label}: static N=${n} for ${cfg.policyMs / 2000} s (confirming)${rep}`)
      const [point] = await staticSweep(target, [n], cfg, () => {}, cfg.policyMs / 2)
      const t = point?.throughput ?? null
      confirmRuns.get(n)?.push(t)
      confirmCosts.get(n)?.push(point?.cost ?? null)
      if (point?.skipped) confirmSkipped.set(n, point.skipped)
      if (t !== null && (bestThisRepeat === null || t > bestThisRepeat.throughput))
        bestThisRepeat = { n, throughput: t }
      progress.advance(plan.reference / cfg.confirmTop)
    }
    progress.drop(((cfg.confirmTop - candidates.length) * plan.reference) / cfg.confirmTop)
    const heldOutN = bestThisRepeat?.n ?? sweepBest.n
    const heldOut: HeldOutRun = { n: heldOutN, throughput: null }
    heldOutRuns.push(heldOut)
    // The order rotates each repeat, and starts one further along each pair, so that no policy always runs
    // first after the confirmations, nor always after another (one repeat of an A/B included).
    for (const entry of rotated([...policies, HELD_OUT], r + pairIndex)) {
      if (entry === HELD_OUT) {
        progress.say(
          `${label}: static N=${heldOutN} for ${cfg.policyMs / 1000} s, timed like a policy (held out)${rep}`,
        )
        try {
          const run = await adaptiveRun(target, { static: heldOutN }, cfg)
          heldOut.throughput = run.throughput
          heldOut.completionsPerSecond = run.completionsPerSecond
          heldOut.cost = run.steadyCost ?? null
        } catch (error) {
          heldOut.error = error instanceof Error ? error.message : String(error)
        }
        progress.advance(plan.policy)
        continue
      }
      const policy = entry
      progress.say(`${label}: ${policy} for ${cfg.policyMs / 1000} s from N=${cfg.initialSize}${rep}`)
      try {
        runs.get(policy)?.push(await adaptiveRun(target, policy, cfg))
        refs.get(policy)?.push(bestThisRepeat?.throughput ?? null)
        heldOutRefs.get(policy)?.push(heldOut)
      } catch (error) {
        errors.set(policy, error instanceof Error ? error.message : String(error))
      }
      progress.advance(plan.policy)
    }
  }
  result.heldOut = {
    runs: heldOutRuns,
    throughput: spread(heldOutRuns.map((h) => h.throughput)),
  }
  result.confirmed = candidates.map((n) => {
    const measured = confirmRuns.get(n) ?? []
    const skipped = confirmSkipped.get(n)
    const costs = confirmCosts.get(n) ?? []
    return { n, throughput: spread(measured), runs: measured, costs, ...(skipped ? { skipped } : {}) }
  })
  const best = confirmedBest(result.confirmed) ?? sweepBest
  result.best = best
  progress.say(`${label}: best static N=${best.n} at ${best.throughput.toFixed(1)}/s (confirmed)`)
  result.adaptive = policies.map((policy) => ({
    ...aggregateAdaptive(
      policy,
      runs.get(policy) ?? [],
      refs.get(policy) ?? [],
      (heldOutRefs.get(policy) ?? []).map((h) => h.throughput),
      best.throughput,
      sweepBest.throughput,
      errors.get(policy),
    ),
    ...(policy === 'gauge-variant' ? { variantOptions: cfg.gaugeVariant } : {}),
  }))

  // 3. Python-native peers (drive.py).
  result.peers = await runPeers(target, cfg, best.n, best.throughput, progress, label)
  result.elapsedMs = Math.round(performance.now() - started)
  return result
}

function aggregateSweep(sizes: number[], passes: SweepPointRaw[][]): StaticPoint[] {
  return sizes.map((n) => {
    const points = passes.map((pass) => pass.find((p) => p.n === n)).filter((p) => p !== undefined)
    const measured = points.filter((p) => !p.skipped)
    if (measured.length === 0) {
      const skipped = points.find((p) => p.skipped)?.skipped ?? 'not run'
      return { n, throughput: null, p99Ms: null, pssMiB: null, warmupMs: null, skipped }
    }
    return {
      n,
      throughput: spread(measured.map((p) => p.throughput)),
      p99Ms: median(measured.map((p) => p.p99Ms).filter((v): v is number => v !== null)),
      pssMiB: median(measured.map((p) => p.pssMiB).filter((v): v is number => v !== null)),
      warmupMs: median(measured.map((p) => p.warmupMs).filter((v): v is number => v !== null)),
      cost: medianCost(measured.map((p) => p.cost)),
    }
  })
}

function bestOf(sweep: StaticPoint[]): { n: number; throughput: number } | null {
  let best: { n: number; throughput: number } | null = null
  for (const p of sweep) {
    const t = p.throughput?.median
    if (t !== undefined && (best === null || t > best.throughput)) best = { n: p.n, throughput: t }
  }
  return best
}

function cliffOf(
  sweep: StaticPoint[],
  best: { n: number; throughput: number } | null,
): ProfileCoresResult['cliff'] {
  const measured = sweep.filter((p) => p.throughput !== null)
  const last = measured[measured.length - 1]
  if (!best || !last?.throughput) return { dropAt512Plus: null, dropAtLargest: null, largestN: null }
  const high = measured.filter((p) => p.n >= 512).map((p) => p.throughput?.median as number)
  return {
    dropAt512Plus: high.length > 0 ? round(1 - Math.min(...high) / best.throughput, 3) : null,
    dropAtLargest: round(1 - last.throughput.median / best.throughput, 3),
    largestN: last.n,
  }
}

/** The held-out static run's place in the policies' rotation. */
const HELD_OUT = 'held-out static' as const

const ratio = (value: number, reference: number | null | undefined): number | null =>
  reference ? round(value / reference, 3) : null

function aggregateAdaptive(
  policy: AdaptivePolicyName,
  runs: AdaptiveRun[],
  refs: Array<number | null>,
  heldOut: Array<number | null>,
  bestThroughput: number,
  sweepBestThroughput: number,
  error: string | undefined,
): AdaptiveResult {
  return {
    policy,
    runs,
    throughput: spread(runs.map((r) => r.throughput)),
    efficiency: spread(runs.map((r) => round(r.throughput / bestThroughput, 3))),
    efficiencySweep: spread(runs.map((r) => round(r.throughput / sweepBestThroughput, 3))),
    efficiencyRef: spread(runs.map((r, i) => ratio(r.throughput, refs[i]))),
    efficiencyHeldOut: spread(runs.map((r, i) => ratio(r.throughput, heldOut[i]))),
    p99Ms: median(runs.map((r) => r.p99Ms).filter((v): v is number => v !== null)),
    finalSize: spread(runs.map((r) => r.finalSize)),
    convergenceMs: median(runs.map((r) => r.convergenceMs).filter((v): v is number => v !== null)),
    pssMiB: median(runs.map((r) => r.pssMiB).filter((v): v is number => v !== null)),
    ...(error && runs.length === 0 ? { error } : {}),
  }
}

async function runPeers(
  target: Target,
  cfg: BenchConfig,
  bestN: number,
  bestThroughput: number,
  progress: Progress,
  label: string,
): Promise<PeerResult[]> {
  const peerMs = cfg.peerWarmupMs + cfg.peerMeasureMs + 1500
  const short = { warmupMs: cfg.peerWarmupMs, measureMs: cfg.peerMeasureMs }
  const repeat = async (what: string, args: PeerArgs, times: number, planned: number): Promise<PeerRun[]> => {
    const out: PeerRun[] = []
    for (let r = 0; r < times; r++) {
      const rep = times > 1 ? ` [${r + 1}/${times}]` : ''
      progress.say(`${label}: ${what}${rep}`)
      out.push(await peerRun(target, args))
      progress.advance(planned)
    }
    return out
  }
  const conc = concurrencyFor(bestN)
  const nativeAt = (workers: number, planned: number) =>
    repeat(
      `native ThreadPoolExecutor(${workers}) (drive.py static)`,
      { mode: 'static', workers, concurrency: concurrencyFor(workers), ...short },
      cfg.repeats,
      planned,
    )
  const nativeBestN = await nativeAt(bestN, peerMs)
  const betapoolRuns = await repeat(
    `PyPI betapool (min ${cfg.initialSize}, max ${cfg.maxSize}) for ${(cfg.betapoolWarmupMs + cfg.betapoolMeasureMs) / 1000} s`,
    {
      mode: 'betapool',
      minWorkers: cfg.initialSize,
      maxWorkers: cfg.maxSize,
      // Its closed loop keeps max_workers tasks outstanding (drive.py's default for betapool) only up
      // to a sane bound: the pool cannot grow past a few dozen threads in the time given anyway.
      concurrency: Math.min(cfg.maxSize, 256),
      warmupMs: cfg.betapoolWarmupMs,
      measureMs: cfg.betapoolMeasureMs,
    },
    cfg.repeats,
    cfg.betapoolWarmupMs + cfg.betapoolMeasureMs + 1500,
  )
  // The native yardstick is the best static pool measured natively: at the bridge's best N and at the
  // sizes PyPI betapool settled on (see settledSizes), so that its efficiency is against a static pool
  // of its own size too, as gauge's is against the sweep around its size.
  const native = [{ workers: bestN, runs: nativeBestN }]
  const settled = settledSizes(betapoolRuns, bestN)
  for (const n of settled) native.push({ workers: n, runs: await nativeAt(n, peerMs) })
  progress.drop((2 - settled.length) * cfg.repeats * peerMs)
  const nativeMedian = (runs: PeerRun[]) =>
    spread(runs.filter((r) => r.ok).map((r) => r.throughput))?.median ?? null
  const nativeBest = native.reduce((a, b) =>
    (nativeMedian(b.runs) ?? -1) > (nativeMedian(a.runs) ?? -1) ? b : a,
  )
  const nativeRuns = nativeBest.runs
  const nativeThroughput = nativeMedian(nativeRuns)
  const asyncioRuns = await repeat(
    `asyncio.to_thread on ${bestN} threads`,
    { mode: 'asyncio', workers: bestN, concurrency: conc, ...short },
    cfg.repeats,
    peerMs,
  )
  // multiprocessing: each count once, then the best one repeated.
  const tried: Array<{ workers: number; run: PeerRun }> = []
  // Counts below the core count cannot use the cores: skipped.
  for (const workers of cfg.processCounts.filter((n) => n >= target.cpus.length)) {
    const [run] = await repeat(
      `multiprocessing ProcessPoolExecutor(${workers})`,
      { mode: 'multiprocessing', workers, ...short },
      1,
      peerMs + 1000,
    )
    if (run) tried.push({ workers, run })
  }
  const bestProc = tried
    .filter((t) => t.run.ok && t.run.throughput !== null)
    .sort((a, b) => (b.run.throughput as number) - (a.run.throughput as number))[0]
  const mpRuns = bestProc ? [bestProc.run] : []
  if (bestProc && cfg.repeats > 1) {
    mpRuns.push(
      ...(await repeat(
        `multiprocessing ProcessPoolExecutor(${bestProc.workers}) again`,
        { mode: 'multiprocessing', workers: bestProc.workers, ...short },
        cfg.repeats - 1,
        peerMs + 1000,
      )),
    )
  }
  const make = (
    mode: PeerMode,
    label: string,
    workers: number | null,
    runs: PeerRun[],
    extra: Partial<PeerResult> = {},
  ): PeerResult => {
    const ok = runs.filter((r) => r.ok)
    const throughput = spread(ok.map((r) => r.throughput))
    const t = throughput?.median ?? null
    return {
      mode,
      label,
      workers,
      runs,
      throughput,
      p99Ms: median(ok.map((r) => r.p99Ms).filter((v): v is number => v !== null)),
      finalSize: median(ok.map((r) => r.finalSize).filter((v): v is number => v !== null)),
      pssMiB: median(ok.map((r) => r.pssMiB).filter((v): v is number => v !== null)),
      efficiencyNative: t !== null && nativeThroughput ? round(t / nativeThroughput, 3) : null,
      efficiencyBridge: t !== null ? round(t / bestThroughput, 3) : null,
      ...(ok.length === 0 ? { error: runs[0]?.error ?? 'not run' } : {}),
      ...extra,
    }
  }
  return [
    make(
      'static',
      `ThreadPoolExecutor(${nativeBest.workers})`,
      nativeBest.workers,
      nativeRuns,
      native.length > 1
        ? { tried: native.map((c) => ({ workers: c.workers, throughput: nativeMedian(c.runs) })) }
        : {},
    ),
    make('betapool', `PyPI betapool (${cfg.initialSize}–${cfg.maxSize})`, null, betapoolRuns),
    make('asyncio', `asyncio.to_thread, ${bestN} threads`, bestN, asyncioRuns),
    make(
      'multiprocessing',
      bestProc ? `ProcessPoolExecutor(${bestProc.workers})` : 'ProcessPoolExecutor',
      bestProc?.workers ?? null,
      mpRuns,
      {
        tried: tried.map((t) => ({ workers: t.workers, throughput: t.run.throughput })),
        ...(bestProc ? {} : { error: tried[0]?.run.error ?? 'not run' }),
      },
    ),
  ]
}
