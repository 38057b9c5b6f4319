/**
 * Why the bench fixes glibc's malloc thresholds (src/bench/config.ts, PYTHON_MALLOC_ENV): the voice
 * workload through the bridge on one core, static pools of 32, 128 and 512 threads, with glibc's default
 * (dynamic) thresholds and with the bench's fixed ones, interleaved. Per task: CPU (the companion's
 * thread clock), minor page faults and system time of the process (/proc/<pid>/stat).
 *
 *   node --import tsx benches/malloc-thresholds.ts   → benches/results/malloc-thresholds.{json,md}
 *   (needs the benchmark's .venv: scripts/setup-python.sh)
 */
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { PYTHON_MALLOC_ENV } from '../src/bench/config.js'
import { PythonBridge } from '../src/bridge/index.js'
import { median } from './stats.js'

const REPO = path.resolve(__dirname, '..')
const SIZES = [32, 128, 512]
const REPEATS = 2
const WARMUP_MS = 3000
const MEASURE_MS = 8000
const SETTINGS: Record<string, Record<string, string>> = { 'glibc default': {}, fixed: PYTHON_MALLOC_ENV }

interface Run {
  setting: string
  n: number
  tasksPerSecond: number
  cpuMsPerTask: number
  minorFaultsPerTask: number
  systemMsPerTask: number
}

/** Minor faults and system time (clock ticks of 10 ms) of the whole process. */
function procStat(pid: number): { minflt: number; stime: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  return { minflt: Number(fields[7]), stime: Number(fields[12]) }
}

async function measure(setting: string, n: number): Promise<Run> {
  const bridge = await PythonBridge.spawn({
    module: 'gilgauge_workloads.tasks',
    python: path.join(REPO, '.venv', 'bin', 'python'),
    pool: n,
    cpus: [0],
    env: { ...SETTINGS[setting], PYTHONPATH: path.join(REPO, 'python') },
    forwardStderr: false,
  })
  let stop = false
  let counting = false
  let done = 0
  let cpuNs = 0
  const caller = async () => {
    while (!stop) {
      const r = await bridge.callWithTimings('voice').catch(() => null)
      if (r && counting) {
        done += 1
        cpuNs += r.cpuNs
      }
    }
  }
  const callers = Array.from({ length: 2 * n }, caller)
  await sleep(WARMUP_MS)
  const s0 = procStat(bridge.pid)
  counting = true
  const t0 = performance.now()
  await sleep(MEASURE_MS)
  counting = false
  const seconds = (performance.now() - t0) / 1000
  const s1 = procStat(bridge.pid)
  stop = true
  await bridge.close({ drainTimeoutMs: 0, graceMs: 0 }).catch(() => {})
  await Promise.allSettled(callers)
  return {
    setting,
    n,
    tasksPerSecond: done / seconds,
    cpuMsPerTask: cpuNs / done / 1e6,
    minorFaultsPerTask: (s1.minflt - s0.minflt) / done,
    systemMsPerTask: ((s1.stime - s0.stime) * 10) / done,
  }
}

async function main(): Promise<void> {
  const runs: Run[] = []
  for (let r = 0; r < REPEATS; r++) {
    for (const n of SIZES) {
      for (const setting of Object.keys(SETTINGS)) {
        const run = await measure(setting, n)
        runs.push(run)
        console.error(JSON.stringify(run))
      }
    }
  }

  const out = path.join(REPO, 'benches', 'results')
  writeFileSync(path.join(out, 'malloc-thresholds.json'), `${JSON.stringify(runs, null, 2)}\n`)
  const fmt = (xs: number[], digits: number) =>
    `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`
  const md = [
    '# glibc malloc thresholds and the voice workload',
    '',
    'Made with `node --import tsx benches/malloc-thresholds.ts` (one core, static pools through the bridge, ' +
      `${WARMUP_MS / 1000} s warm-up, ${MEASURE_MS / 1000} s measured, ${REPEATS} interleaved repeats; median (min–max)). ` +
      `Fixed: ${Object.entries(PYTHON_MALLOC_ENV)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}. The machine is a shared 2-core VM.`,
    '',
    '| malloc | N | tasks/s | CPU ms/task | minor faults/task | system ms/task |',
    '|---|---:|---:|---:|---:|---:|',
  ]
  for (const n of SIZES) {
    for (const setting of Object.keys(SETTINGS)) {
      const rs = runs.filter((r) => r.n === n && r.setting === setting)
      md.push(
        `| ${setting} | ${n} | ${fmt(
          rs.map((r) => r.tasksPerSecond),
          0,
        )} | ${fmt(
          rs.map((r) => r.cpuMsPerTask),
          2,
        )} | ${fmt(
          rs.map((r) => r.minorFaultsPerTask),
          1,
        )} | ${fmt(
          rs.map((r) => r.systemMsPerTask),
          2,
        )} |`,
      )
    }
  }
  writeFileSync(path.join(out, 'malloc-thresholds.md'), `${md.join('\n')}\n`)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
