/**
 * Does the speed the bench's probe reads depend on how busy our own load keeps the CPU? The speed probe
 * (`gilgauge_workloads.speed_probe`, every 20 ms) runs on CPU 0 beside a load that keeps the CPU busy a set
 * share of the time (benches/fixtures/duty_load.py): none, about a quarter, about half, all of it. The
 * conditions take turns, round after round, so that the host's own changes of speed fall on all of them.
 * If the probe read the host alone, every condition would read the same ns per iteration.
 *
 *   npx tsx benches/speed-under-load.ts [--seconds 8] [--rounds 4] [--cpu 0] [--name speed-under-load]
 *
 * Writes benches/results/NAME.{json,md}.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import path from 'node:path'
import { HostSpeedProbe } from '../src/bench/host-speed.js'
import { processCpuMs } from '../src/bench/process-cpu.js'
import { arg, commandLine, median, writeResult } from './stats.js'

const ROOT = path.join(__dirname, '..')
const PYTHON = process.env.GILGAUGE_BENCH_PYTHON ?? path.join(ROOT, '.venv', 'bin', 'python')
const SECONDS = Number(arg('seconds', '8'))
const ROUNDS = Number(arg('rounds', '4'))
const CPU = Number(arg('cpu', '0'))
const NAME = arg('name', 'speed-under-load')
/** The first second of each turn is not counted: the load and the probe start up. */
const SETTLE_MS = 1000

const CONDITIONS = [
  { name: 'idle (probe alone)', load: null },
  { name: 'load 1 ms, sleep 3 ms', load: [1, 3] },
  { name: 'load 2 ms, sleep 2 ms', load: [2, 2] },
  { name: 'load 10 ms, sleep 1 ms', load: [10, 1] },
  { name: 'load without sleep', load: [10, 0] },
] as const

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Turn {
  condition: string
  round: number
  /** Median and mean ns per iteration the probe read over the counted part of the turn. */
  medianNs: number | null
  meanNs: number | null
  samples: number
  /** Share of the CPU the load process used over the counted part (null: no load). */
  loadBusy: number | null
}

async function turn(condition: (typeof CONDITIONS)[number], round: number): Promise<Turn> {
  let load: ChildProcess | null = null
  if (condition.load) {
    const script = path.join(ROOT, 'benches', 'fixtures', 'duty_load.py')
    load = spawn(PYTHON, [script, String(CPU), String(condition.load[0]), String(condition.load[1])], {
      stdio: 'ignore',
    })
  }
  const probe = HostSpeedProbe.start(PYTHON, path.join(ROOT, 'python'), [CPU])
  try {
    await sleep(SETTLE_MS)
    const from = Date.now()
    const cpu0 = load?.pid ? processCpuMs(load.pid) : null
    await sleep(SECONDS * 1000 - SETTLE_MS)
    const cpu1 = load?.pid ? processCpuMs(load.pid) : null
    const to = Date.now()
    const counted = probe.samples.filter((s) => s.atMs > from && s.atMs <= to).map((s) => s.nsPerIter)
    const failure = probe.error()
    if (failure) throw new Error(`speed probe: ${failure}`)
    return {
      condition: condition.name,
      round,
      medianNs: counted.length > 0 ? median(counted) : null,
      meanNs: probe.speedOver(from, to),
      samples: counted.length,
      loadBusy:
        cpu0 !== null && cpu1 !== null ? Math.round(((cpu1 - cpu0) / (to - from)) * 1000) / 1000 : null,
    }
  } finally {
    await probe.stop()
    load?.kill('SIGKILL')
  }
}

async function main(): Promise<void> {
  const command = commandLine('benches/speed-under-load.ts')
  const turns: Turn[] = []
  for (let round = 0; round < ROUNDS; round++) {
    // Each round starts one condition further along, so that none always follows another.
    for (let i = 0; i < CONDITIONS.length; i++) {
      const condition = CONDITIONS[(i + round) % CONDITIONS.length] as (typeof CONDITIONS)[number]
      process.stderr.write(`round ${round + 1}/${ROUNDS}: ${condition.name}\n`)
      turns.push(await turn(condition, round))
    }
  }
  const full = CONDITIONS.at(-1)?.name
  // Each round's ratio to the full-load turn of the same round: the host's drift between rounds cancels.
  const ratioInRound = (name: string, round: number): number | null => {
    const a = turns.find((t) => t.round === round && t.condition === name)?.medianNs
    const b = turns.find((t) => t.round === round && t.condition === full)?.medianNs
    return a && b ? a / b : null
  }
  const summary = CONDITIONS.map((c) => {
    const of = turns.filter((t) => t.condition === c.name)
    const medians = of.map((t) => t.medianNs).filter((v): v is number => v !== null)
    const busy = of.map((t) => t.loadBusy).filter((v): v is number => v !== null)
    const ratios = Array.from({ length: ROUNDS }, (_, round) => ratioInRound(c.name, round)).filter(
      (v): v is number => v !== null,
    )
    return {
      condition: c.name,
      medianNs: medians.length > 0 ? median(medians) : null,
      minNs: medians.length > 0 ? Math.min(...medians) : null,
      maxNs: medians.length > 0 ? Math.max(...medians) : null,
      // No load process: none of the CPU was ours but the probe's.
      loadBusy: busy.length > 0 ? median(busy) : null,
      ratioToFull: ratios.length > 0 ? median(ratios) : null,
      ratioMin: ratios.length > 0 ? Math.min(...ratios) : null,
      ratioMax: ratios.length > 0 ? Math.max(...ratios) : null,
    }
  })
  const fullNs = summary.find((s) => s.condition === full)?.medianNs ?? null
  const fmt = (x: number | null, digits = 1) => (x === null ? '—' : x.toFixed(digits))
  const md = [
    "# The probe's speed against our own load",
    '',
    '```',
    command,
    '```',
    '',
    `${new Date().toISOString()}. On CPU ${CPU}: the speed probe (10 000 iterations of \`x += 1\` every 20 ms, timed by ` +
      `its thread's CPU clock) beside a load that keeps the CPU busy part of the time; ${ROUNDS} rounds of ` +
      `${SECONDS} s turns (the first second not counted), the conditions in turn.`,
    '',
    "| condition | load's share of the CPU (median) | probe ns per iteration: median over rounds (min–max of the rounds' medians) | / with the CPU full (same round): median (min–max over rounds) |",
    '|---|---:|---|---:|',
    ...summary.map(
      (s) =>
        `| ${s.condition} | ${s.loadBusy === null ? '0 % (no load)' : `${(s.loadBusy * 100).toFixed(0)} %`} | ${fmt(s.medianNs)} (${fmt(s.minNs)}–${fmt(s.maxNs)}) | ${fmt(s.ratioToFull, 2)} (${fmt(s.ratioMin, 2)}–${fmt(s.ratioMax, 2)}) |`,
    ),
    '',
    fullNs === null
      ? ''
      : 'A ratio above 1: the probe ran slower while our own load left the CPU idle more of the time. The bench ' +
        'therefore takes a run to one host speed only when it kept the CPUs as busy as the best static pool ' +
        '(src/bench/host-adjust.ts).',
    '',
  ].join('\n')
  writeResult(ROOT, NAME, command, { seconds: SECONDS, rounds: ROUNDS, cpu: CPU, turns, summary }, md)
  process.stdout.write(md)
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
