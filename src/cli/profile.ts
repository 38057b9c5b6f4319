import { type ChildProcess, spawn } from 'node:child_process'
import { constants as osConstants } from 'node:os'
import { GilgaugeError, InvalidArgumentError } from '../errors.js'
import { decompose } from '../model/decompose.js'
import type { Window } from '../model/types.js'
import { ThreadMonitor } from '../monitor/thread-monitor.js'
import type { ProbeSnapshot } from '../native.js'
import { renderPlain, renderView, windowJson } from './render.js'

export interface ProfileOptions {
  pid?: number
  command?: string[]
  json: boolean
  durationMs?: number
  intervalMs: number
  hz?: number
  /** Force the live (TTY) view on or off; default: on when stdout is a TTY. */
  live?: boolean
}

const FOOTER_LINES = 3

/**
 * `gilgauge profile`: watches a process (or starts one) and prints a window
 * per interval — a live view on a TTY, plain lines otherwise, NDJSON with --json.
 * Resolves with the exit code to use.
 */
export async function profile(options: ProfileOptions): Promise<number> {
  if ((options.pid === undefined) === (options.command === undefined || options.command.length === 0)) {
    throw new InvalidArgumentError('give either --pid PID or -- COMMAND [ARGS…]')
  }
  const live = options.live ?? (!options.json && process.stdout.isTTY === true)
  const color = live && !process.env.NO_COLOR
  const footer: string[] = []
  let child: ChildProcess | undefined
  let pid = options.pid as number
  if (options.command) {
    child = startCommand(options.command, live, footer)
    pid = await spawned(child, options.command[0] as string)
  }

  const monitor = ThreadMonitor.watch(pid, { intervalMs: options.intervalMs, hz: options.hz })
  const first: ProbeSnapshot = monitor.snapshot()
  const started = Date.now()
  let stopping = false
  const stop = (): void => {
    stopping = true
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  let drawnLines = 0
  let last: Window | undefined
  try {
    while (!monitor.ended && !stopping) {
      const leftMs =
        options.durationMs === undefined
          ? Number.POSITIVE_INFINITY
          : options.durationMs - (Date.now() - started)
      if (leftMs <= 0) break
      const w = await nextOrStop(monitor, () => stopping)
      if (!w) break
      last = w
      const elapsedMs = Date.now() - started
      if (options.json) {
        process.stdout.write(`${windowJson(w)}\n`)
      } else if (live) {
        const lines = renderView(w, { elapsedMs, footer: footer.slice(-FOOTER_LINES) }, color)
        // Redraw in place: up to the first line of the previous frame, clear below.
        if (drawnLines > 0) process.stdout.write(`\x1b[${drawnLines}F\x1b[J`)
        process.stdout.write(`${lines.join('\n')}\n`)
        drawnLines = lines.length
      } else {
        process.stdout.write(`${renderPlain(w, elapsedMs)}\n`)
      }
    }
    const whole = decompose(first, last ? monitor.snapshot() : first)
    if (!options.json) {
      process.stdout.write(`\nwhole run: ${renderPlain(whole, Date.now() - started)}\n`)
    }
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    monitor.close()
  }
  if (child) return finishCommand(child, stopping || options.durationMs !== undefined)
  return 0
}

/** Waits for the next window, checking every 100 ms whether we were asked to stop. */
async function nextOrStop(monitor: ThreadMonitor, stopped: () => boolean): Promise<Window | null> {
  const pending = monitor.next()
  let done = false
  pending.then(
    () => {
      done = true
    },
    () => {
      done = true
    },
  )
  while (!done) {
    if (stopped()) return null
    await new Promise((r) => setTimeout(r, 100))
  }
  return pending
}

function startCommand(command: string[], live: boolean, footer: string[]): ChildProcess {
  const [file, ...args] = command as [string, ...string[]]
  if (!live) return spawn(file, args, { stdio: ['inherit', 'inherit', 'inherit'] })
  // In the live view the command's output would tear the frame: keep its last lines as a footer.
  const child = spawn(file, args, { stdio: ['inherit', 'pipe', 'pipe'] })
  const keep = (chunk: Buffer): void => {
    for (const line of chunk.toString().split('\n')) {
      if (line.trim()) footer.push(`> ${line}`)
    }
    footer.splice(0, Math.max(0, footer.length - FOOTER_LINES))
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  return child
}

function spawned(child: ChildProcess, file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid as number))
    child.once('error', (err) =>
      reject(new GilgaugeError('ENOPROC', `could not start '${file}': ${err.message}`, { cause: err })),
    )
  })
}

/** Ends the profiled command when we stopped first; its own exit code otherwise (0 if we ended it). */
async function finishCommand(child: ChildProcess, terminate: boolean): Promise<number> {
  if (child.exitCode === null && child.signalCode === null) {
    if (!terminate) {
      await new Promise((r) => child.once('exit', r))
    } else {
      child.kill('SIGTERM')
      await new Promise((r) => child.once('exit', r))
      return 0
    }
  }
  if (child.exitCode !== null) return child.exitCode
  return 128 + (osConstants.signals[child.signalCode as NodeJS.Signals] ?? 0)
}
