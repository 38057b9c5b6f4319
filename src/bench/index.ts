/**
 * `gilgauge bench`: every policy side by side with a static sweep (issue 4). Writes
 * <out>/bench.json, <out>/bench.md, <out>/decisions.json and <out>/charts/<profile>.svg.
 */

import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { InvalidArgumentError } from '../errors.js'
import { combinedMarkdown, combinePasses } from './combine.js'
import { fullConfig, PYTHON_MALLOC_ENV, plannedMs, quickConfig } from './config.js'
import { markdownReport } from './markdown.js'
import { Progress } from './progress.js'
import { checkProfiles, runAll } from './run.js'
import { findShortfalls } from './shortfalls.js'
import { chartSvg } from './svg.js'
import type { AdaptiveRun, BenchConfig, BenchEnvironment, BenchResult, ProfileCoresResult } from './types.js'
import { parseVariant } from './variant.js'

export type { BenchResult } from './types.js'

const REPO = path.resolve(__dirname, '..', '..')

export interface BenchOptions {
  profiles?: string[]
  cores?: number[]
  repeats?: number
  sweepRepeats?: number
  /** Seconds per adaptive-policy run. */
  policySeconds?: number
  quick?: boolean
  out?: string
  python?: string
  /** The command line, recorded in the report. */
  command?: string
  /** Only re-render the report of this result directory (see rerender). */
  render?: string
  /** Combine the results of these directories (passes) into `out` (see combine). */
  combine?: string[]
  /** Merge the pairs these directories measured into one result in `out` (see merge). */
  merge?: string[]
  /** Gauge's (and the bridge's) options for a variant run beside gauge in every repeat (`--variant`, see parseVariant). */
  variant?: string
}

export function benchConfig(options: BenchOptions): BenchConfig {
  const cfg = options.quick ? quickConfig() : fullConfig()
  if (options.profiles) {
    checkProfiles(options.profiles)
    cfg.profiles = options.profiles
  }
  if (options.cores) {
    const max = os.availableParallelism()
    const bad = options.cores.filter((c) => c > max)
    if (bad.length > 0)
      throw new InvalidArgumentError(`--cores ${bad.join(',')}: this machine has ${max} CPUs`)
    cfg.cores = options.cores
  }
  if (options.repeats) cfg.repeats = options.repeats
  if (options.sweepRepeats) cfg.sweepRepeats = options.sweepRepeats
  if (options.policySeconds) cfg.policyMs = options.policySeconds * 1000
  if (options.variant !== undefined) cfg.gaugeVariant = parseVariant(options.variant)
  return cfg
}

function sh(cmd: string, args: string[]): string | null {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return null
  }
}

function environment(python: string): BenchEnvironment {
  const mem = /MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))
  return {
    date: new Date().toISOString(),
    host: os.hostname(),
    kernel: `${os.type()} ${os.release()}`,
    cpuModel: os.cpus()[0]?.model ?? '?',
    logicalCpus: os.availableParallelism(),
    memTotalMiB: mem ? Math.round(Number(mem[1]) / 1024) : 0,
    node: process.version,
    python,
    pythonVersion: sh(python, ['-c', 'import sys; print(sys.version.split()[0])']),
    openblasCoretype: process.env.OPENBLAS_CORETYPE ?? null,
    pythonEnv: PYTHON_MALLOC_ENV,
    commit: sh('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']),
    dirty: (sh('git', ['-C', REPO, 'status', '--porcelain', '--', 'src', 'python']) ?? '')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean),
    shared:
      'The machine was shared: other engineers used the same 2 CPUs during the run, so single points can be off by 10–20 %.',
  }
}

function missingNumbers(results: ProfileCoresResult[]): string[] {
  const out: string[] = []
  for (const r of results) {
    const where = `${r.profile}, ${r.cores} core(s)`
    if (r.unavailable) {
      out.push(`${where}: not run (${r.unavailable})`)
      continue
    }
    if (!r.best) out.push(`${where}: no static throughput`)
    for (const a of r.adaptive) {
      if (!a.efficiency) out.push(`${where}: ${a.policy} produced no number${a.error ? ` (${a.error})` : ''}`)
    }
    if (r.heldOut && !r.heldOut.throughput) {
      const why = r.heldOut.runs.find((h) => h.error)?.error
      out.push(`${where}: the held-out static run produced no number${why ? ` (${why})` : ''}`)
    }
    for (const p of r.peers) {
      if (!p.throughput) out.push(`${where}: ${p.label} produced no number${p.error ? ` (${p.error})` : ''}`)
    }
  }
  return out
}

function write(out: string, result: BenchResult): void {
  mkdirSync(path.join(out, 'charts'), { recursive: true })
  const decisions = result.results.map((r) => ({
    profile: r.profile,
    cores: r.cores,
    policies: r.adaptive.map((a) => ({
      policy: a.policy,
      runs: a.runs.map((run) => ({ sizeSeries: run.sizeSeries, decisions: run.decisions })),
    })),
  }))
  const lean = {
    ...result,
    results: result.results.map((r) => ({
      ...r,
      adaptive: r.adaptive.map((a) => ({
        ...a,
        runs: a.runs.map(({ decisions: _d, ...run }) => ({ ...run, decisionCount: _d.length })),
      })),
    })),
  }
  writeFileSync(path.join(out, 'bench.json'), `${JSON.stringify(lean, null, 1)}\n`)
  writeFileSync(path.join(out, 'decisions.json'), `${JSON.stringify(decisions)}\n`)
  writeFileSync(path.join(out, 'bench.md'), markdownReport(result, 'charts'))
  for (const profile of new Set(result.results.filter((r) => !r.unavailable).map((r) => r.profile))) {
    writeFileSync(
      path.join(out, 'charts', `${profile}.svg`),
      chartSvg(profile, result.results, result.config.sweep),
    )
  }
}

/** A result directory's bench.json (without the decisions, which it keeps apart). */
export function readResult(dir: string): BenchResult {
  const file = path.join(dir, 'bench.json')
  if (!existsSync(file))
    throw new InvalidArgumentError(`no bench.json in ${dir}: pass directories written by gilgauge bench`)
  return JSON.parse(readFileSync(file, 'utf8')) as BenchResult
}

/** A result directory's bench.json with each run's decisions (kept apart in decisions.json) put back. */
function readRun(dir: string): BenchResult {
  const lean = readResult(dir)
  const decisionsFile = path.join(dir, 'decisions.json')
  const decisions = existsSync(decisionsFile)
    ? (JSON.parse(readFileSync(decisionsFile, 'utf8')) as Array<{
        profile: string
        cores: number
        policies: Array<{ policy: string; runs: Array<{ decisions: AdaptiveRun['decisions'] }> }>
      }>)
    : []
  for (const r of lean.results) {
    const d = decisions.find((x) => x.profile === r.profile && x.cores === r.cores)
    for (const a of r.adaptive) {
      if (a.policy === 'gauge-variant' && !a.variantOptions) a.variantOptions = lean.config.gaugeVariant
      const runs = d?.policies.find((p) => p.policy === a.policy)?.runs ?? []
      a.runs.forEach((run, i) => {
        run.decisions = runs[i]?.decisions ?? []
      })
    }
  }
  return lean
}

/**
 * Re-write bench.md and the charts of a finished (or partial) run from its bench.json and decisions.json,
 * recomputing shortfalls and missing numbers (for report fixes without re-measuring).
 */
export function rerender(dir: string): number {
  const out = path.resolve(dir)
  const lean = readRun(out)
  const result = { ...lean, shortfalls: findShortfalls(lean.results), missing: missingNumbers(lean.results) }
  write(out, result)
  process.stderr.write(`re-rendered ${path.join(out, 'bench.md')}\n`)
  return 0
}

/**
 * One result from runs that measured different pairs (`gilgauge bench --merge A,B --out C`): each profile
 * and core count from the first directory that measured it, with its decisions, so that a full run can be
 * assembled from parts measured apart (one core in one session, two cores in another). The notes say which
 * pair came from which run and commit, and whether src/control and python/ differ between them.
 */
export function merge(dirs: string[], out: string | undefined, command: string): number {
  if (dirs.length < 2)
    throw new InvalidArgumentError('--merge needs at least two result directories, comma-separated')
  if (!out) throw new InvalidArgumentError('--merge needs --out DIR for the merged result')
  const sources = dirs.map((dir) => ({ dir, result: readRun(path.resolve(dir)) }))
  const order = fullConfig().profiles
  const taken: Array<{ dir: string; result: ProfileCoresResult }> = []
  for (const { dir, result } of sources) {
    for (const r of result.results) {
      if (r.unavailable || taken.some((t) => t.result.profile === r.profile && t.result.cores === r.cores))
        continue
      taken.push({ dir, result: r })
    }
  }
  taken.sort(
    (a, b) =>
      order.indexOf(a.result.profile) - order.indexOf(b.result.profile) || a.result.cores - b.result.cores,
  )
  const results = taken.map((t) => t.result)
  const first = sources[0]?.result as BenchResult
  const notes = [
    `Merged by \`${command}\` from ${sources.length} runs; the code that decides (src/control) and the workloads (python/) are ${sameCodeAcross(sources.map((s) => s.result))}`,
    ...sources.map(({ dir, result }) => {
      const pairs = taken.filter((t) => t.dir === dir).map((t) => `${t.result.profile}-${t.result.cores}`)
      return `- ${dir} (commit ${result.environment.commit ?? '?'}, started ${result.startedAt}, ${result.config.repeats} repeat(s)): ${pairs.length > 0 ? pairs.join(', ') : 'no pair taken'}.`
    }),
  ]
  const merged: BenchResult = {
    ...first,
    command,
    config: {
      ...first.config,
      profiles: [...new Set(results.map((r) => r.profile))],
      cores: [...new Set(results.map((r) => r.cores))].sort((a, b) => a - b),
      repeats: Math.max(...sources.map((s) => s.result.config.repeats)),
      // Each pair's variant, if any, is on its own result (variantOptions): runs may have had different ones.
      gaugeVariant: undefined,
    },
    startedAt: sources.map((s) => s.result.startedAt).sort()[0] ?? first.startedAt,
    finishedAt:
      sources
        .map((s) => s.result.finishedAt)
        .sort()
        .at(-1) ?? first.finishedAt,
    elapsedMs: sources.reduce((sum, s) => sum + s.result.elapsedMs, 0),
    results,
    shortfalls: findShortfalls(results),
    missing: missingNumbers(results),
    notes,
  }
  const target = path.resolve(out)
  write(target, merged)
  process.stderr.write(`merged ${results.length} pairs into ${path.join(target, 'bench.md')}\n`)
  return 0
}

/** Whether src/control and python/ are the same at every pass's commit, said in a sentence. */
function sameCodeAcross(results: BenchResult[]): string {
  const commits = [...new Set(results.map((r) => r.environment.commit ?? '?'))]
  const dirty = results.flatMap((r) => r.environment.dirty ?? [])
  const note = dirty.length > 0 ? ` (uncommitted changes in some pass: ${dirty.join('; ')})` : ''
  if (commits.includes('?')) return `unknown: a pass does not name its commit${note}.`
  const changed = commits
    .slice(1)
    .flatMap((c) =>
      (
        sh('git', [
          '-C',
          REPO,
          'diff',
          '--name-only',
          commits[0] as string,
          c,
          '--',
          'src/control',
          'python',
        ]) ?? '?'
      ).split('\n'),
    )
    .filter(Boolean)
  if (commits.length === 1) return `one commit, ${commits[0]}${note}.`
  return changed.length === 0
    ? `identical at commits ${commits.join(', ')} (git diff of src/control and python/ is empty)${note}.`
    : `**differs** between commits ${commits.join(', ')}: ${[...new Set(changed)].join(', ')}${note}.`
}

/** Combine passes (result directories) into <out>/combined.json and <out>/combined.md. */
export function combine(dirs: string[], out: string | undefined, command: string): number {
  if (dirs.length < 2)
    throw new InvalidArgumentError('--combine needs at least two result directories, comma-separated')
  if (!out) throw new InvalidArgumentError('--combine needs --out DIR for the combined report')
  const sources = dirs.map((dir) => ({ dir, result: readResult(path.resolve(dir)) }))
  const pairs = combinePasses(sources)
  const target = path.resolve(out)
  mkdirSync(target, { recursive: true })
  const sameCode = sameCodeAcross(sources.map((s) => s.result))
  writeFileSync(
    path.join(target, 'combined.json'),
    `${JSON.stringify({ command, sources: sources.map((s) => ({ dir: s.dir, commit: s.result.environment.commit, startedAt: s.result.startedAt })), sameCode, pairs }, null, 1)}\n`,
  )
  writeFileSync(path.join(target, 'combined.md'), combinedMarkdown(sources, pairs, command, sameCode))
  process.stderr.write(`combined ${dirs.length} passes into ${path.join(target, 'combined.md')}\n`)
  return 0
}

/** Run the benchmark; returns the process exit code (quick mode: 1 if any policy or peer gave no number). */
export async function bench(options: BenchOptions): Promise<number> {
  if (options.render) return rerender(options.render)
  if (options.combine)
    return combine(options.combine, options.out, options.command ?? 'gilgauge bench --combine')
  if (options.merge) return merge(options.merge, options.out, options.command ?? 'gilgauge bench --merge')
  const cfg = benchConfig(options)
  const python = options.python ?? path.join(REPO, '.venv', 'bin', 'python')
  if (!existsSync(python)) {
    throw new InvalidArgumentError(
      `no Python at ${python}: run scripts/setup-python.sh (it creates .venv) or pass --python PATH`,
    )
  }
  const out = path.resolve(
    options.out ??
      (cfg.quick ? path.join(os.tmpdir(), `gilgauge-bench-quick-${process.pid}`) : 'benches/results/latest'),
  )
  const plan = plannedMs(cfg).total * cfg.profiles.length * cfg.cores.length
  const progress = new Progress(plan)
  progress.say(
    `${cfg.profiles.length} profile(s) × cores ${cfg.cores.join(',')}, planned ≈ ${Math.round(plan / 60_000)} min; writing to ${out}`,
  )
  const startedAt = new Date()
  const started = performance.now()
  const env = environment(python)
  const results: ProfileCoresResult[] = []
  const snapshot = (): BenchResult => ({
    tool: 'gilgauge bench',
    command: options.command ?? 'gilgauge bench',
    config: cfg,
    environment: env,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    elapsedMs: Math.round(performance.now() - started),
    results,
    shortfalls: findShortfalls(results),
    missing: missingNumbers(results),
  })
  await runAll(cfg, {
    python,
    pythonPath: path.join(REPO, 'python'),
    progress,
    onResult: (r) => {
      results.push(r)
      write(out, snapshot()) // partial results survive a crash
    },
  })
  const result = snapshot()
  write(out, result)
  progress.say(`done in ${(result.elapsedMs / 60_000).toFixed(1)} min: ${path.join(out, 'bench.md')}`)
  for (const r of results) {
    if (r.unavailable) continue
    const e = (p: string) => r.adaptive.find((a) => a.policy === p)?.efficiency?.median?.toFixed(2) ?? '—'
    process.stderr.write(
      `  ${r.profile.padEnd(17)} ${r.cores} core(s): best N=${r.best?.n} ${r.best?.throughput.toFixed(1)}/s  gauge ${e('gauge')}  paper ${e('paper')}  betapool ${e('betapool')}  PyPI betapool ${r.peers.find((p) => p.mode === 'betapool')?.efficiencyNative?.toFixed(2) ?? '—'}${result.config.gaugeVariant ? `  gauge variant ${e('gauge-variant')}` : ''}\n`,
    )
  }
  if (result.missing.length > 0) {
    process.stderr.write(`missing numbers:\n${result.missing.map((m) => `  ${m}`).join('\n')}\n`)
    if (cfg.quick) return 1
  }
  return 0
}
