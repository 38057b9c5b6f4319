/**
 * How steady is the speed this machine's CPUs run Python at? The same pure-Python work (the
 * micro-workloads' `x += 1` loop) timed chunk after chunk by its thread's CPU clock, first on CPU 0 alone,
 * then on CPUs 0 and 1 at once. Nothing about the work changes, so its CPU time per iteration moves only
 * with the host: another tenant on the same physical core, frequency, caches. The hypervisor's steal
 * (/proc/stat) does not show that: the CPU is ours, it is only slower. The bench's runs (10 s each) differ
 * by the same amount between windows of that length, whatever pool they run.
 *
 *   npx tsx benches/host-speed.ts [--seconds 60] [--iterations 400000] [--name host-speed]
 *
 * Writes benches/results/NAME.{json,md}.
 */
import { spawn } from 'node:child_process'
import path from 'node:path'
import { cpuShares, readCpuTicks } from '../src/bench/host-cpu.js'
import { arg, commandLine, median, quantile, writeResult } from './stats.js'

const ROOT = path.join(__dirname, '..')
const PYTHON = process.env.GILGAUGE_BENCH_PYTHON ?? path.join(ROOT, '.venv', 'bin', 'python')
const SECONDS = Number(arg('seconds', '60'))
const ITERATIONS = Number(arg('iterations', '400000'))
const NAME = arg('name', 'host-speed')
/** Window lengths compared: a sweep point (2 s) and a confirmation or a policy's steady half (10 s). */
const WINDOWS_S = [1, 2, 10]

interface Chunk {
  /** ns of thread CPU per iteration. */
  nsPerIteration: number
  /** Wall / CPU of the chunk: above 1 when the thread was off its CPU meanwhile (preempted, stolen). */
  wallOverCpu: number
  atMs: number
}

function spinOn(cpu: number): Promise<Chunk[]> {
  const script = path.join(ROOT, 'benches', 'fixtures', 'spin_chunks.py')
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [script, String(cpu), String(SECONDS), String(ITERATIONS)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
    })
    child.on('error', reject)
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`spin_chunks.py on CPU ${cpu} exited with ${code}`))
      resolve(
        out
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as { cpu_ns: number; wall_ns: number; at_ms: number })
          .map((c) => ({
            nsPerIteration: c.cpu_ns / ITERATIONS,
            wallOverCpu: c.wall_ns / c.cpu_ns,
            atMs: c.at_ms,
          })),
      )
    })
  })
}

/** Mean ns per iteration of each whole window of `seconds`, from the first chunk on. */
function windowMeans(chunks: Chunk[], seconds: number): number[] {
  const start = chunks[0]?.atMs ?? 0
  const sums = new Map<number, { sum: number; n: number }>()
  for (const c of chunks) {
    const w = Math.floor((c.atMs - start) / (seconds * 1000))
    const s = sums.get(w) ?? { sum: 0, n: 0 }
    s.sum += c.nsPerIteration
    s.n += 1
    sums.set(w, s)
  }
  const whole = Math.floor(SECONDS / seconds)
  return [...sums.entries()].filter(([w]) => w < whole).map(([, s]) => s.sum / s.n)
}

const r3 = (x: number) => Math.round(x * 1000) / 1000

/** Median and longest duration (ms) of runs of consecutive chunks that satisfy `inSpell`. */
function spells(
  chunks: Chunk[],
  inSpell: (c: Chunk) => boolean,
): { n: number; medianMs: number; longestMs: number } {
  const lengths: number[] = []
  let startMs: number | null = null
  let lastMs = 0
  for (const c of chunks) {
    if (inSpell(c)) {
      if (startMs === null) startMs = c.atMs - c.nsPerIteration * ITERATIONS * 1e-6
      lastMs = c.atMs
    } else if (startMs !== null) {
      lengths.push(lastMs - startMs)
      startMs = null
    }
  }
  if (startMs !== null) lengths.push(lastMs - startMs)
  return {
    n: lengths.length,
    medianMs: lengths.length > 0 ? Math.round(median(lengths)) : 0,
    longestMs: lengths.length > 0 ? Math.round(Math.max(...lengths)) : 0,
  }
}

/** Counts per bin of `width`, keyed by the bin's lower edge. */
function histogram(xs: number[], width: number): Record<string, number> {
  const bins: Record<string, number> = {}
  for (const x of [...xs].sort((a, b) => a - b)) {
    const edge = String(Math.floor(x / width) * width)
    bins[edge] = (bins[edge] ?? 0) + 1
  }
  return bins
}

function summary(chunks: Chunk[]) {
  const ns = chunks.map((c) => c.nsPerIteration)
  const mid = median(ns)
  return {
    chunks: ns.length,
    nsPerIteration: {
      median: r3(mid),
      p10: r3(quantile(ns, 0.1)),
      p90: r3(quantile(ns, 0.9)),
      min: r3(Math.min(...ns)),
      max: r3(Math.max(...ns)),
    },
    /** Share of chunks at least 20 % slower than the median one. */
    slowChunks: r3(ns.filter((x) => x >= 1.2 * mid).length / ns.length),
    /** Share of chunks at least 20 % faster than the median one, and how long such a fast spell lasts. */
    fastChunks: r3(ns.filter((x) => x <= 0.8 * mid).length / ns.length),
    fastSpellMs: spells(chunks, (c) => c.nsPerIteration <= 0.8 * mid),
    /** Chunks per 5 ns of ns per iteration: two regimes show as two heaps. */
    histogram: histogram(ns, 5),
    wallOverCpuMedian: r3(median(chunks.map((c) => c.wallOverCpu))),
    /** Per window length: slowest / fastest window mean, over the whole windows. */
    windows: Object.fromEntries(
      WINDOWS_S.map((s) => {
        const means = windowMeans(chunks, s)
        return [`${s}s`, { n: means.length, slowestOverFastest: r3(Math.max(...means) / Math.min(...means)) }]
      }),
    ),
  }
}

/** Pearson correlation of two CPUs' 1 s window means over the windows both have. */
function correlation(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length)
  const x = a.slice(0, n)
  const y = b.slice(0, n)
  const mx = x.reduce((s, v) => s + v, 0) / n
  const my = y.reduce((s, v) => s + v, 0) / n
  let sxy = 0
  let sxx = 0
  let syy = 0
  for (let i = 0; i < n; i++) {
    const dx = (x[i] as number) - mx
    const dy = (y[i] as number) - my
    sxy += dx * dy
    sxx += dx * dx
    syy += dy * dy
  }
  return r3(sxy / Math.sqrt(sxx * syy))
}

async function phase(cpus: number[]) {
  const before = readCpuTicks()
  const runs = await Promise.all(cpus.map(spinOn))
  const after = readCpuTicks()
  const shares = before && after ? cpuShares(before, after).filter((s) => cpus.includes(s.cpu)) : []
  return {
    cpus,
    perCpu: cpus.map((cpu, i) => ({ cpu, ...summary(runs[i] ?? []) })),
    steal: shares.map((s) => ({ cpu: s.cpu, steal: s.steal })),
    correlation1s:
      runs.length === 2 ? correlation(windowMeans(runs[0] ?? [], 1), windowMeans(runs[1] ?? [], 1)) : null,
  }
}

async function main(): Promise<void> {
  const alone = await phase([0])
  process.stderr.write(`CPU 0 alone: ${JSON.stringify(alone)}\n`)
  const both = await phase([0, 1])
  process.stderr.write(`CPUs 0 and 1: ${JSON.stringify(both)}\n`)
  const command = commandLine('benches/host-speed.ts')
  const row = (label: string, p: Awaited<ReturnType<typeof phase>>) =>
    p.perCpu.map((c) => {
      const n = c.nsPerIteration
      const w = c.windows as Record<string, { slowestOverFastest: number }>
      return `| ${label} | ${c.cpu} | ${n.median} | ${n.p10} – ${n.p90} | ${n.min} – ${n.max} | ${(c.fastChunks * 100).toFixed(1)} % (${c.fastSpellMs.n}; ${c.fastSpellMs.medianMs}, ${c.fastSpellMs.longestMs} ms) | ${(c.slowChunks * 100).toFixed(1)} % | ${WINDOWS_S.map((s) => w[`${s}s`]?.slowestOverFastest ?? '—').join(' | ')} | ${c.wallOverCpuMedian} | ${((p.steal.find((s) => s.cpu === c.cpu)?.steal ?? 0) * 100).toFixed(1)} % |`
    })
  const md = [
    '# How steady the host runs Python',
    '',
    '```',
    command,
    '```',
    '',
    `${new Date().toISOString()}. The same pure-Python work (${ITERATIONS} iterations of \`x += 1\` per chunk), ` +
      `timed by its thread's CPU clock for ${SECONDS} s per phase: CPU 0 alone, then CPUs 0 and 1 at once.`,
    '',
    `| phase | CPU | ns per iteration, median | p10 – p90 | min – max | chunks ≤ 0.8 × median (spells; median, longest) | chunks ≥ 1.2 × median | slowest / fastest window: ${WINDOWS_S.map((s) => `${s} s`).join(' | ')} | wall / CPU | stolen |`,
    `|---|---:|---:|---|---|---|---:|${WINDOWS_S.map(() => '---:').join('|')}|---:|---:|`,
    ...row('CPU 0 alone', alone),
    ...row('CPUs 0 and 1', both),
    '',
    'Chunks per 5 ns of ns per iteration (lower edge: count), CPU 0 alone: ' +
      Object.entries(alone.perCpu[0]?.histogram ?? {})
        .map(([edge, n]) => `${edge}: ${n}`)
        .join(', '),
    '',
    both.correlation1s === null
      ? ''
      : `Correlation of the two CPUs' 1 s windows when both ran: ${both.correlation1s} (near 1: the whole host slows ` +
        'together; near 0: each CPU is slowed on its own, as by another tenant on its physical core).',
    '',
  ].join('\n')
  writeResult(ROOT, NAME, command, { iterations: ITERATIONS, seconds: SECONDS, alone, both }, md)
  process.stdout.write(md)
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
