/** The Markdown report of a bench run. */

import { type CostSplit, costSplit, mainLoss } from './cost-split.js'
import {
  adjustedVerdict,
  BUSY_MATCH,
  type SpeedAdjusted,
  speedAdjusted,
  totalVariantAtSpeed,
  type VariantAtSpeed,
  variantAtSpeed,
} from './host-adjust.js'
import { stolenSummary } from './host-cpu.js'
import { GAUGE_GOAL } from './shortfalls.js'
import { nativeAtSettledSizes, spread } from './stats.js'
import {
  type Column,
  count,
  LABEL,
  passVerdict,
  summariseVariantPairs,
  type VariantPair,
  variantPairs,
  verdictLines,
} from './summary.js'
import type { BenchResult, PeerResult, ProfileCoresResult, Spread } from './types.js'

export const num = (x: number | null | undefined, digits = 1): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits)

/** A spread as "median (min–max)", or the median alone when there was one value. */
export function eff(s: Spread | null | undefined, digits = 2): string {
  if (!s) return '—'
  return s.n > 1
    ? `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`
    : s.median.toFixed(digits)
}

function thr(s: Spread | null | undefined): string {
  if (!s) return '—'
  const digits = s.median >= 100 ? 0 : 1
  return s.n > 1
    ? `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`
    : s.median.toFixed(digits)
}

const pct = (x: number | null | undefined, digits = 0): string =>
  x === null || x === undefined ? '—' : `${(x * 100).toFixed(digits)} %`
const peer = (r: ProfileCoresResult, mode: string): PeerResult | undefined =>
  r.peers.find((p) => p.mode === mode)
const cores = (n: number) => `${n}`

function cliffText(r: ProfileCoresResult): string {
  if (r.cliff.dropAt512Plus !== null) return `−${pct(r.cliff.dropAt512Plus)}`
  if (r.cliff.largestN !== null) return `n/a (largest N ${r.cliff.largestN}: −${pct(r.cliff.dropAtLargest)})`
  return '—'
}

/** The held-out static runs' size(s) and throughput, or why there is none. */
function heldOutText(r: ProfileCoresResult): string {
  const h = r.heldOut
  if (!h) return '—'
  const sizes = [...new Set(h.runs.map((x) => x.n))].join('/')
  if (!h.throughput)
    return `${sizes}: ${h.runs.find((x) => x.error)?.error?.slice(0, 60) ?? 'nothing measured'}`
  return `${sizes}, ${thr(h.throughput)}`
}

/**
 * How many times each policy ran, from the pairs themselves: a merged result holds pairs measured with
 * different repeat counts (its config says only the largest). Said per core count, and per profile where a
 * core count mixes them.
 */
function repeatsText(result: BenchResult): string {
  const pairs = result.results
    .filter((r) => !r.unavailable)
    .map((r) => ({ r, n: Math.max(0, ...r.adaptive.map((a) => a.runs.length)) }))
  const counts = [...new Set(pairs.map((p) => p.n))]
  if (counts.length <= 1) return `${counts[0] ?? result.config.repeats}`
  const byCores = [...new Set(pairs.map((p) => p.r.cores))].sort((a, b) => a - b)
  return byCores
    .map((cores) => {
      const here = pairs.filter((p) => p.r.cores === cores)
      const ns = [...new Set(here.map((p) => p.n))].sort((a, b) => b - a)
      if (ns.length === 1) return `${ns[0]} on ${cores} core(s)`
      const groups = ns.map(
        (n) =>
          `${n} for ${here
            .filter((p) => p.n === n)
            .map((p) => p.r.profile)
            .join(', ')}`,
      )
      return `on ${cores} core(s) ${groups.join(', ')}`
    })
    .join('; ')
}

export function markdownReport(result: BenchResult, chartDir: string): string {
  const { config: cfg, environment: env } = result
  const lines: string[] = []
  const push = (...l: string[]) => lines.push(...l)
  const rows = result.results
  const nativeYardstick = nativeAtSettledSizes(rows)
    ? "the best native `ThreadPoolExecutor` measured by the same driver, at the bridge's best N and at the sizes PyPI betapool settled on (its setting and its live threads)"
    : "a native `ThreadPoolExecutor` at the bridge's best N, run by the same driver"
  push(
    `# gilgauge bench: ${cfg.quick ? 'quick smoke run' : 'policies against the static sweep'}`,
    '',
    'Made with:',
    '',
    '```',
    result.command,
    '```',
    '',
    `${result.startedAt} → ${result.finishedAt} (${(result.elapsedMs / 60_000).toFixed(1)} min) on ${env.cpuModel}, ` +
      `${env.logicalCpus} logical CPUs, ${Math.round(env.memTotalMiB / 1024)} GiB, ${env.kernel}; Node ${env.node}, ` +
      `Python ${env.pythonVersion ?? '?'} (${env.python}); OPENBLAS_CORETYPE=${env.openblasCoretype ?? '(unset)'}; ` +
      `commit ${env.commit ?? '?'}.`,
    '',
    `**${env.shared}**`,
    '',
    ...stolenLines(rows),
    ...(env.dirty && env.dirty.length > 0
      ? [`Uncommitted changes in the working tree when the run started: ${env.dirty.join('; ')}.`, '']
      : []),
    ...(result.notes ?? []).flatMap((n) => [n, '']),
    '## Headline: efficiency = steady throughput / best static throughput (same profile, cores and run)',
    '',
    ...(rows.some((r) => r.confirmed)
      ? [
          `The best static throughput: the sweep's ${cfg.confirmTop} best sizes (one ${cfg.measureMs / 1000} s point per N) are each run again ` +
            `in a fresh companion for ${cfg.policyMs / 2000} s, as long as the policies' steady half, before every repeat of the policies; ` +
            'the best of those is the best static pool. The largest of a dozen short points on a shared machine is mostly the luckiest ' +
            '(10–20 % noise), so it is shown beside it ("sweep\'s best point") with gauge against it, not used as the yardstick.',
          '',
        ]
      : []),
    'gauge, paper and betapool (our implementation of its rules) run through the bridge like the static sweep; ' +
      'in brackets where each settled (final pool size). PyPI betapool, asyncio and multiprocessing are ' +
      `Python-native (drive.py) and are divided by ${nativeYardstick} ` +
      '(the bridge adds its own protocol cost, so native and bridge throughputs are ' +
      `not compared directly). Goal: gauge ≥ ${GAUGE_GOAL} and above every other column.`,
    '',
    ...(rows.some((r) => r.heldOut)
      ? [
          '',
          'The best of several confirmations is itself the luckiest of them. So in every repeat the size they chose is run ' +
            `once more, timed like a policy (from that size, ${cfg.policyMs / 1000} s, the same steady half, in the policies' rotation; ` +
            "like the sweep, without gauge's monitor), " +
            'and the last two columns divide gauge by that held-out run, which did not take part in choosing the size. ' +
            "The goal is read on the main columns; the held-out column shows how much of a shortfall is the yardstick's luck.",
        ]
      : []),
    '',
    "| profile | cores | best static N | best static /s | cliff (N ≥ 512) | gauge | paper | betapool (ours) | PyPI betapool | asyncio | multiprocessing | sweep's best point: N, /s | gauge vs sweep's best point | held-out static: N, /s | gauge vs held-out static |",
    '|---|---:|---:|---:|---:|---|---|---|---|---|---|---|---|---|---|',
  )
  for (const r of rows) {
    if (r.unavailable || !r.best) {
      push(`| ${r.profile} | ${cores(r.cores)} | not run: ${r.unavailable ?? '?'} ||||||||||||| |`)
      continue
    }
    const a = (p: string) => {
      const x = r.adaptive.find((y) => y.policy === p)
      if (!x?.efficiency) return x?.error ? `error: ${x.error}` : '—'
      return `${eff(x.efficiency)} [${num(x.finalSize?.median, 0)}]`
    }
    const pe = (mode: string, withSize: boolean) => {
      const p = peer(r, mode)
      if (!p || p.efficiencyNative === null) return p?.error ? `error: ${p.error.slice(0, 60)}` : '—'
      const size = withSize && p.finalSize !== null ? ` [${p.finalSize}]` : ''
      const procs = mode === 'multiprocessing' && p.workers ? ` [${p.workers} proc]` : ''
      return `${num(p.efficiencyNative, 2)}${size}${procs}`
    }
    const sb = r.sweepBest
    const sweepBest = sb ? `${sb.n}, ${num(sb.throughput, sb.throughput >= 100 ? 0 : 1)}` : '—'
    push(
      `| ${r.profile} | ${cores(r.cores)} | ${r.best.n} | ${num(r.best.throughput, r.best.throughput >= 100 ? 0 : 1)} | ${cliffText(r)} | ${a('gauge')} | ${a('paper')} | ${a('betapool')} | ${pe('betapool', true)} | ${pe('asyncio', false)} | ${pe('multiprocessing', false)} | ${sweepBest} | ${eff(r.adaptive.find((y) => y.policy === 'gauge')?.efficiencySweep)} | ${heldOutText(r)} | ${eff(r.adaptive.find((y) => y.policy === 'gauge')?.efficiencyHeldOut)} |`,
    )
  }

  push('', ...verdictLines(passVerdict(rows, cfg.policyMs / 2)))
  push(...speedLines(rows))
  push(...variantLines(rows))

  // Issue 3's integration figure.
  const integ = rows.filter((r) => r.cores === 1 && (r.profile === 'balanced' || r.profile === 'io-heavy'))
  if (integ.length > 0) {
    push(
      '',
      '## Issue 3 integration figure (one core, gauge ≥ 0.90 of the best static pool)',
      '',
      '| profile | gauge efficiency | ≥ 0.90 |',
      '|---|---|---|',
    )
    for (const r of integ) {
      const g = r.adaptive.find((a) => a.policy === 'gauge')?.efficiency
      const label = r.profile === 'io-heavy' ? 'io-heavy (sleep-dominated: 100 it, 1 ms sleep)' : r.profile
      const exact = g
        ? g.n > 1
          ? `${g.median.toFixed(3)} (${g.min.toFixed(3)}–${g.max.toFixed(3)})`
          : g.median.toFixed(3)
        : '—'
      push(`| ${label} | ${exact} | ${g ? (g.median >= 0.9 ? 'yes' : '**no**') : '—'} |`)
    }
  }

  push('', '## Shortfalls', '')
  if (result.shortfalls.length === 0) push('None: gauge met the goal and beat every peer everywhere it ran.')
  else {
    push(
      'Every place where gauge is below the goal or below another policy or peer, with what its own decision ' +
        'record shows (median run; full decision histories with inputs are in `decisions.json`).',
      '',
      "| profile | cores | what | gauge | other | evidence from gauge's decisions |",
      '|---|---:|---|---:|---:|---|',
    )
    for (const s of result.shortfalls) {
      push(
        `| ${s.profile} | ${s.cores} | ${s.what} | ${num(s.gauge, 3)} | ${num(s.other, 3)} | ${s.evidence.replace(/\|/g, '\\|')} |`,
      )
    }
  }
  push(...costLines(rows))
  if (result.missing.length > 0) {
    push('', '## Missing numbers', '', ...result.missing.map((m) => `- ${m}`))
  }

  push(
    '',
    '## Adaptive policies in detail (through the bridge)',
    '',
    `Each run: ${cfg.policyMs / 1000} s from N = ${cfg.initialSize}, bounds 1–${cfg.maxSize} (paper keeps its own 4–128 inside them), ` +
      'steady = the last half. Convergence: first time after which the size stays within 5 % (at least ±1) of its final size. ' +
      'p99: submit → result latency in the steady half (the closed loop keeps max(2 × size, 32) calls outstanding, so latency grows with the size chosen). ' +
      'PSS: the Python process at the end. "vs same repeat": divided by the best candidate static pool run just before ' +
      'the policies (same repeat), which takes out most of the drift of a shared machine.',
    '',
    '| profile | cores | policy | steady /s | whole-run /s | efficiency | vs same repeat | final N | mean N (steady) | converged (s) | p99 (ms) | PSS (MiB) |',
    '|---|---:|---|---|---:|---|---|---:|---:|---:|---:|---:|',
  )
  for (const r of rows) {
    if (r.unavailable || !r.best) continue
    for (const a of r.adaptive) {
      const whole = a.runs.map((x) => x.throughputWhole).sort((x, y) => x - y)
      const mean = a.runs.map((x) => x.meanSteadySize).sort((x, y) => x - y)
      push(
        `| ${r.profile} | ${r.cores} | ${a.policy} | ${thr(a.throughput)} | ${num(whole[Math.floor((whole.length - 1) / 2)], 0)} | ${eff(a.efficiency)} | ${eff(a.efficiencyRef)} | ${a.finalSize ? (a.finalSize.n > 1 ? `${a.finalSize.median} (${a.finalSize.min}–${a.finalSize.max})` : a.finalSize.median) : '—'} | ${num(mean[Math.floor((mean.length - 1) / 2)], 1)} | ${a.convergenceMs === null ? '—' : num(a.convergenceMs / 1000, 1)} | ${num(a.p99Ms, 1)} | ${num(a.pssMiB, 0)} |`,
      )
    }
  }

  push(
    '',
    '## Python-native peers (drive.py)',
    '',
    `Closed loop in Python; ${cfg.peerWarmupMs / 1000} s warm-up, ${cfg.peerMeasureMs / 1000} s measured ` +
      `(PyPI betapool: ${cfg.betapoolWarmupMs / 1000} s + ${cfg.betapoolMeasureMs / 1000} s, min ${cfg.initialSize}, max ${cfg.maxSize}; ` +
      `its final size is its controller's target, live = threads it really runs). "vs native static" divides by ` +
      `${nativeYardstick}. multiprocessing tried ${cfg.processCounts.join(', ')} processes (those ≥ the core count) ` +
      '(spawn start method) and kept the best. PSS summed over the process tree.',
    '',
    '| profile | cores | peer | /s | vs native static | vs bridge best static | final size (live) | p99 (ms) | PSS (MiB) |',
    '|---|---:|---|---|---:|---:|---|---:|---:|',
  )
  for (const r of rows) {
    if (r.unavailable || !r.best) continue
    for (const p of r.peers) {
      const tried =
        p.tried && p.tried.length > 0
          ? ` (tried ${p.tried.map((t) => `${t.workers}: ${num(t.throughput, 0)}`).join(', ')})`
          : ''
      const size =
        p.finalSize === null
          ? '—'
          : `${p.finalSize}${p.runs[0]?.liveFinal != null ? ` (${p.runs[0].liveFinal})` : ''}`
      push(
        `| ${r.profile} | ${r.cores} | ${p.label}${tried}${p.error ? ` — error: ${p.error.slice(0, 80)}` : ''} | ${thr(p.throughput)} | ${num(p.efficiencyNative, 2)} | ${num(p.efficiencyBridge, 2)} | ${size} | ${num(p.p99Ms, 1)} | ${num(p.pssMiB, 0)} |`,
      )
    }
  }

  push(
    '',
    '## Static sweep (through the bridge), tasks per second',
    '',
    `Each point: warm-up at least ${cfg.warmupMs / 1000} s and until N tasks completed at that size (at most ${cfg.warmupCapMs / 1000} s), ` +
      `then ${cfg.measureMs / 1000} s measured; ${cfg.sweepRepeats} pass(es), one companion growing through the sizes, ` +
      `max(2N, 32) calls outstanding. "—" = not run (see the notes below the table).`,
    '',
    `| profile | cores | ${cfg.sweep.map((n) => `N=${n}`).join(' | ')} |`,
    `|---|---:|${cfg.sweep.map(() => '---:').join('|')}|`,
  )
  const skipNotes: string[] = []
  for (const r of rows) {
    if (r.unavailable) continue
    const cells = cfg.sweep.map((n) => {
      const p = r.sweep.find((x) => x.n === n)
      const t = p?.throughput?.median
      if (t === undefined) return '—'
      const s = t.toFixed(t >= 100 ? 0 : 1)
      return (r.sweepBest ?? r.best)?.n === n ? `**${s}**` : s
    })
    push(`| ${r.profile} | ${r.cores} | ${cells.join(' | ')} |`)
    const skipped = r.sweep.find((p) => p.skipped)
    if (skipped) skipNotes.push(`- ${r.profile}, ${r.cores} core(s), N ≥ ${skipped.n}: ${skipped.skipped}`)
  }
  if (skipNotes.length > 0) push('', ...skipNotes)

  const withCandidates = rows.filter((r) => !r.unavailable && r.confirmed && r.confirmed.length > 0)
  if (withCandidates.length > 0) {
    push(
      '',
      `## Best static pool: the sweep's best sizes run again for ${cfg.policyMs / 2000} s, tasks per second`,
      '',
      "Each candidate in a fresh companion, before each repeat of the policies; in bold the best (the efficiencies' denominator).",
      '',
      '| profile | cores | candidates: N = /s (sweep point /s) |',
      '|---|---:|---|',
    )
    for (const r of withCandidates) {
      const cells = (r.confirmed ?? []).map((c) => {
        const point = r.sweep.find((p) => p.n === c.n)?.throughput?.median
        const measured = c.skipped ? `${thr(c.throughput)}, ${c.skipped}` : thr(c.throughput)
        const text = `N=${c.n}: ${measured} (${num(point, point !== undefined && point >= 100 ? 0 : 1)})`
        return r.best?.n === c.n ? `**${text}**` : text
      })
      push(`| ${r.profile} | ${r.cores} | ${cells.join(' · ')} |`)
    }
  }

  push(...hostCpuLines(rows))

  const profiles = [...new Set(rows.filter((r) => !r.unavailable).map((r) => r.profile))]
  if (profiles.length > 0) {
    push('', '## Charts', '')
    for (const p of profiles) push(`![${p}](${chartDir}/${p}.svg)`)
  }
  push(
    '',
    '## Method notes',
    '',
    "- Python pinned by CPU affinity: 1 core = CPU 0, 2 cores = CPUs 0–1. Node (the load generator, the bridge's " +
      "JavaScript side and the monitor's sampling thread) is pinned to the CPUs Python does not use (CPU 1 in the " +
      '1-core runs) and shares both CPUs in the 2-core runs.',
    ...(env.pythonEnv
      ? [
          `- Every Python process ran with ${Object.entries(env.pythonEnv)
            .map(([k, v]) => `${k}=${v}`)
            .join(
              ' ',
            )}: fixed glibc malloc thresholds, so that freed numpy temporaries are not returned to ` +
            'the kernel and faulted in again in some runs and not others (measured on voice: a third of its throughput; see src/bench/config.ts).',
        ]
      : []),
    '- Static sweep, policies and the native static reference use the same closed loop (max(2N, 32) outstanding); ' +
      'for the adaptive policies N is the current size, so the pool always has a backlog.',
    `- Repeats per policy and peer: ${repeatsText(result)}; ${cfg.sweepRepeats} pass(es) of the sweep; medians with (min–max) where more than one.`,
    "- Efficiency compares a policy's steady half with the best static pool of the same run, both measured for " +
      `${cfg.policyMs / 2000} s; the sweep's points (${cfg.measureMs / 1000} s) only choose which sizes are measured so.`,
  )
  return `${lines.join('\n')}\n`
}

/** How much of Python's CPUs the host took during the run, under the shared-machine warning. */
function stolenLines(rows: ProfileCoresResult[]): string[] {
  const s = stolenSummary(rows)
  if (!s) return []
  return [
    `Measured (/proc/stat): the hypervisor took ${pct(s.median, 1)} of the time of the CPUs Python ran on, median over ` +
      `${count(s.pairs.length, 'pair')}; most in ${s.most.profile} on ${count(s.most.cores, 'core')}, ` +
      `${pct(s.most.stolen, 1)} (per pair: "Host CPU" below). A static pool and ` +
      'a policy lose that time alike, but not at the same moments.',
    '',
  ]
}

/** Per pair, each CPU's time while it ran: stolen by the hypervisor, idle, busy. */
function hostCpuLines(rows: ProfileCoresResult[]): string[] {
  const measured = rows.filter((r) => r.hostCpu && r.hostCpu.length > 0)
  if (measured.length === 0) return []
  const cell = (r: ProfileCoresResult, python: boolean) => {
    const of = (r.hostCpu ?? []).filter((c) => r.cpus.includes(c.cpu) === python)
    return of.length === 0
      ? '—'
      : of.map((c) => `CPU ${c.cpu}: ${pct(c.steal, 1)} / ${pct(c.idle, 1)} / ${pct(c.busy, 1)}`).join('; ')
  }
  return [
    '',
    '## Host CPU during each pair',
    '',
    "Each CPU's time from the pair's start to its end (/proc/stat): stolen (the hypervisor ran something else while " +
      'the CPU had work) / idle / busy (anything in this machine, the companion included). Node runs on the CPUs ' +
      'Python does not use, when there are any.',
    '',
    "| profile | cores | Python's CPUs: stolen / idle / busy | other CPUs: stolen / idle / busy |",
    '|---|---:|---|---|',
    ...measured.map((r) => `| ${r.profile} | ${r.cores} | ${cell(r, true)} | ${cell(r, false)} |`),
  ]
}

/** CPU ms per task with the digits its size needs. */
function msPerTask(s: Spread | null): string {
  const m = s?.median
  return eff(s, m === undefined || m >= 10 ? 1 : m >= 1 ? 2 : 3)
}

/** Where gauge's throughput went against the best static pool's: busy CPUs, CPU per task. */
function costLines(rows: ProfileCoresResult[]): string[] {
  const splits = rows.flatMap((r) => (r.unavailable ? [] : [costSplit(r)])).filter((s) => s !== null)
  if (splits.length === 0) return []
  const pair = (s: CostSplit) => `${s.profile} ${count(s.cores, 'core')}`
  const short = splits.filter((s) => s.efficiency !== null && s.efficiency < GAUGE_GOAL)
  const byLoss = (kind: 'busy' | 'cost') => short.filter((s) => mainLoss(s) === kind).map(pair)
  const moved = splits
    .map((s) => s.best.cpuMsPerTask)
    .filter((c): c is Spread => c !== null && c.n > 1 && c.median > 0)
    .map((c) => (c.max - c.min) / c.median)
    .sort((a, b) => a - b)
  const cell = (c: { busyCpus: Spread | null; cpuMsPerTask: Spread | null }) =>
    `${eff(c.busyCpus)} · ${msPerTask(c.cpuMsPerTask)}`
  const lines = [
    '',
    "## Where gauge's throughput went: busy CPUs and CPU per task",
    '',
    "Over each run's measured interval, from the Python process's CPU time (/proc/<pid>/stat): the CPUs it kept busy " +
      '(CPU time / wall time) and the CPU it used per completed task. Throughput is the first divided by the second, so ' +
      "gauge's efficiency is the product of the last two columns: busy ratio below 1, gauge left CPU unused (too few " +
      'threads, or waits not covered); per-task ratio below 1, each task cost gauge more CPU (hand-offs of more threads, ' +
      "or a slower draw of the host: the best static pool's own spread over its repeats shows how far the host alone moves it).",
    '',
    '| profile | cores | gauge | best static N: busy CPUs · CPU ms per task | held-out static: busy · ms per task | gauge [N]: busy · ms per task | busy ratio | per-task ratio |',
    '|---|---:|---|---|---|---|---:|---:|',
    ...splits.map(
      (s) =>
        `| ${s.profile} | ${s.cores} | ${num(s.efficiency, 2)} | ${s.best.n}: ${cell(s.best)} | ${cell(s.heldOut)} | [${num(s.policy.size, 0)}] ${cell(s.policy)} | ${num(s.busyRatio, 2)} | ${num(s.costRatio, 2)} |`,
    ),
    '',
  ]
  if (moved.length > 0)
    lines.push(
      `The best static pool's CPU per task moved between its repeats by a median ${pct(moved[Math.floor((moved.length - 1) / 2)])} ` +
        `of its median (at most ${pct(moved.at(-1))}) over ${count(moved.length, 'pair')}.`,
    )
  if (short.length > 0) {
    const busy = byLoss('busy')
    const cost = byLoss('cost')
    lines.push(
      `Of the ${count(short.length, 'pair')} where gauge is below ${GAUGE_GOAL}, the larger factor is CPU left unused on ` +
        `${busy.length}${busy.length > 0 ? ` (${busy.join(', ')})` : ''} and CPU per task on ${cost.length}${cost.length > 0 ? ` (${cost.join(', ')})` : ''}.`,
    )
  }
  return lines
}

/** The efficiencies again at one host speed, and how much closer that brings two runs of the same pool. */
function speedLines(rows: ProfileCoresResult[]): string[] {
  const pairs = rows.flatMap((r) => {
    const a = r.unavailable ? null : speedAdjusted(r)
    return a ? [{ r, a }] : []
  })
  if (pairs.length === 0) return []
  const v = adjustedVerdict(rows)
  const gap = v.sameSizeGap
  const cell = (a: SpeedAdjusted, column: Column) =>
    `${num(a.efficiency[column], 2)}${a.runs[column].measured > 0 ? '*' : ''}`
  const lines = [
    '',
    '## At one host speed',
    '',
    'A speed probe beside the pool (`gilgauge_workloads.speed_probe`, ~3 % of each CPU, the same beside every run) times ' +
      'a fixed bit of Python every 20 ms; each measured interval gets its mean ns per iteration h. A throughput T is ' +
      "taken to the pair's median speed h_ref as T × (h / h_ref)^s, s the share of the pair's CPUs its best static " +
      'pool kept busy, when its run kept the CPUs as busy as its yardstick (within ' +
      `${BUSY_MATCH} × cores): a vCPU our own load leaves idle runs slower, so h then says something about the run ` +
      'too, not only the host (1.25× slower idle than full in benches/results/speed-under-load.md). Other runs (marked *) keep their measured ' +
      "efficiency; so do the PyPI betapool's where its driver did not record busy CPUs (results before it did). The " +
      'yardstick: the best static pool, its size chosen again among the confirmed ones at h_ref; for the PyPI ' +
      'betapool the native static pool. See src/bench/host-adjust.ts.',
    '',
    '| profile | cores | s | h_ref ns | best N at h_ref | gauge | paper | betapool (ours) | PyPI betapool | held-out / confirmation: measured → at h_ref |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...pairs.map(
      ({ r, a }) =>
        `| ${r.profile} | ${r.cores} | ${num(a.share, 2)} | ${num(a.refNsPerIter, 1)} | ${a.best.n} | ${cell(a, 'gauge')} | ${cell(a, 'paper')} | ${cell(a, 'betapool')} | ${cell(a, 'pypi-betapool')} | ${num(a.heldOut.measured, 3)} → ${num(a.heldOut.adjusted, 3)} |`,
    ),
    '',
    `At h_ref, gauge ≥ ${GAUGE_GOAL} on ${v.meetsGoal} of ${v.pairs} pairs, at or above all three rivals on ${v.aboveAllRivals}, both on ${v.both}. ` +
      v.rivals
        .map((x) => `gauge / ${LABEL[x.rival]} ${eff(x.ratio)}, higher on ${x.gaugeHigher} of ${x.pairs}`)
        .join('; ') +
      '.',
    `The same static size run twice (held-out run against its confirmation) differs by |1 − ratio| ${eff(gap.measured, 3)} ` +
      `as measured and ${eff(gap.adjusted, 3)} at h_ref (median (min–max) over pairs): what is left after the adjustment ` +
      'is the noise the speed probe does not explain.',
  ]
  return lines
}

/** The A/B section: gauge against its variant, for the pairs that ran one (`--variant`). */
function variantLines(rows: ProfileCoresResult[]): string[] {
  const pairs = variantPairs(rows)
  if (pairs.length === 0) return []
  const atSpeed = new Map<VariantPair, VariantAtSpeed | undefined>(
    pairs.map((p) => {
      const row = rows.find((r) => r.profile === p.profile && r.cores === p.cores)
      return [p, (row && variantAtSpeed(row)) ?? undefined]
    }),
  )
  const speedSummary = (of: VariantPair[]) => variantSpeedSummary(of.map((p) => atSpeed.get(p)))
  const variants = [...new Set(pairs.map((p) => p.options))]
  const one = variants.length === 1
  const counted = pairs.some((p) => p.gaugeThreads || p.variantThreads)
  const summary = (label: string, of: VariantPair[]) => {
    const s = summariseVariantPairs(of)
    return (
      `gauge / variant over ${count(of.length, 'pair')}${label}: median ${eff(s.ratio)}; gauge higher on ${s.gaugeHigher}. ` +
      `≥ ${GAUGE_GOAL} of the best static pool: gauge on ${s.meetsGoal.gauge}, the variant on ${s.meetsGoal.variant}.`
    )
  }
  return [
    '',
    '## gauge against its variant',
    '',
    `${one ? `The variant is gauge with ${variants[0] || 'its defaults'}.` : "Each pair's variant is named in its row."} ` +
      "Both ran in every repeat's rotation, timed alike; the ratio pairs each repeat's two runs. Efficiencies are " +
      'against the same best static pool.',
    'The last two columns put each repeat\'s two runs at one host speed (as "At one host speed" does): the ' +
      "speed probe's ns per iteration in the variant's run over gauge's (above 1: the host ran the variant " +
      `slower), and gauge / variant with both runs taken to one speed where they kept the CPUs alike (busy CPUs ` +
      `within ${BUSY_MATCH} × cores of each other; in brackets, the repeats so taken), as measured otherwise.` +
      (counted ? ' Threads started: worker threads each run started, median, gauge / variant.' : ''),
    '',
    `| profile | cores |${one ? '' : ' variant |'} gauge | variant | gauge / variant | gauge size | variant size |${counted ? ' threads started |' : ''} host ns, variant / gauge | gauge / variant at one speed |`,
    `|---|---:|${one ? '' : '---|'}---|---|---|---|---|${counted ? '---|' : ''}---|---|`,
    ...pairs.map((p) => {
      const a = atSpeed.get(p)
      const adjusted = a ? `${eff(a.ratio)} [${a.adjusted} of ${a.repeats}]` : '—'
      return `| ${p.profile} | ${cores(p.cores)} |${one ? '' : ` ${p.options} |`} ${eff(p.gauge)} | ${eff(p.variant)} | ${eff(p.ratio)} | ${eff(p.gaugeSize, 0)} | ${eff(p.variantSize, 0)} |${counted ? ` ${p.gaugeThreads?.median ?? '—'} / ${p.variantThreads?.median ?? '—'} |` : ''} ${eff(a?.hostSlowdown)} | ${adjusted} |`
    }),
    '',
    ...(one
      ? [summary('', pairs), speedSummary(pairs)]
      : variants.flatMap((o) => {
          const of = pairs.filter((p) => p.options === o)
          return [`- ${summary(` with ${o}`, of)}`, `  ${speedSummary(of)}`]
        })),
  ]
}

/** Over pairs: gauge / variant at one speed, and how often the host ran the variant slower. */
function variantSpeedSummary(of: Array<VariantAtSpeed | undefined>): string {
  const total = totalVariantAtSpeed(of.filter((a): a is VariantAtSpeed => a !== undefined))
  const { pairRatios: ratios, repeats, variantSlower: slower, probed } = total
  if (ratios.length === 0) return 'No pair has speed readings for both runs.'
  return (
    `At one speed: gauge / variant over ${count(ratios.length, 'pair')}: median ${eff(spread(ratios))}; gauge higher on ` +
    `${ratios.filter((m) => m > 1).length}. The probe read the host slower in the variant's run in ${slower} of ` +
    `${probed} probed repeats (of ${repeats}).`
  )
}
