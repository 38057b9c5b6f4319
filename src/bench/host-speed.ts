/**
 * The host's speed while the bench measures: one `gilgauge_workloads.speed_probe` per CPU of the pair, each
 * timing a fixed bit of Python every 20 ms (~3 % of the CPU, the same beside every policy). On this kind of
 * host a vCPU runs Python at one of two speeds ~1.7× apart, switching every few tens of ms and invisibly
 * to steal (benches/results/host-speed.md); an interval's mean ns per iteration says which share of it ran
 * slow, so that runs made minutes apart can be compared at one speed (host-adjust.ts).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'

export interface SpeedSample {
  /** Wall clock (ms since the epoch) at the end of the probe's timed work. */
  atMs: number
  /** CPU ns the probe paid per iteration: higher = a slower host. */
  nsPerIter: number
}

/** One probe line `<epoch ms> <ns per iteration>`; null for anything else. */
export function parseSpeedLine(line: string): SpeedSample | null {
  const match = /^(\d+(?:\.\d+)?) (\d+(?:\.\d+)?)$/.exec(line.trim())
  if (!match) return null
  const atMs = Number(match[1])
  const nsPerIter = Number(match[2])
  return nsPerIter > 0 ? { atMs, nsPerIter } : null
}

/** Fewer samples than this in an interval (100 ms of probing) say nothing about its speed. */
export const MIN_SAMPLES = 5

/** Mean ns per iteration of the samples taken in (fromMs, toMs]; null when there are too few. */
export function meanSpeed(samples: SpeedSample[], fromMs: number, toMs: number): number | null {
  let sum = 0
  let count = 0
  for (const s of samples) {
    if (s.atMs > fromMs && s.atMs <= toMs) {
      sum += s.nsPerIter
      count++
    }
  }
  return count >= MIN_SAMPLES ? Math.round((sum / count) * 100) / 100 : null
}

/** The probes of one pair's CPUs, from `start` until `stop`. */
export class HostSpeedProbe {
  readonly samples: SpeedSample[] = []
  private readonly children: ChildProcessWithoutNullStreams[]
  private failure: string | null = null

  private constructor(python: string, pythonPath: string, cpus: number[]) {
    this.children = cpus.map((cpu) => {
      const child = spawn(python, ['-m', 'gilgauge_workloads.speed_probe', '--cpu', String(cpu)], {
        env: { ...process.env, PYTHONPATH: pythonPath },
      })
      let rest = ''
      child.stdout.on('data', (d: Buffer) => {
        const lines = (rest + d.toString()).split('\n')
        rest = lines.pop() ?? ''
        for (const line of lines) {
          const sample = parseSpeedLine(line)
          if (sample) this.samples.push(sample)
        }
      })
      child.stderr.on('data', (d: Buffer) => {
        this.failure = d.toString().trim().split('\n').pop() ?? 'failed'
      })
      child.on('error', (error) => {
        this.failure = error.message
      })
      return child
    })
  }

  static start(python: string, pythonPath: string, cpus: number[]): HostSpeedProbe {
    return new HostSpeedProbe(python, pythonPath, cpus)
  }

  /** Mean ns per iteration over (fromMs, toMs] (epoch ms), all CPUs pooled; null when not sampled. */
  speedOver(fromMs: number, toMs: number): number | null {
    return meanSpeed(this.samples, fromMs, toMs)
  }

  /** What the probe wrote on stderr or why it could not start, if anything. */
  error(): string | null {
    return this.failure
  }

  /** Close the probes' stdin (they exit on EOF) and wait for them; killed after a second. */
  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve()
            const kill = setTimeout(() => child.kill('SIGKILL'), 1000)
            child.once('close', () => {
              clearTimeout(kill)
              resolve()
            })
            child.stdin.end()
          }),
      ),
    )
  }
}
