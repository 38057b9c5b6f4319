import { type ChildProcess, spawn as spawnProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { resolve as resolvePath } from 'node:path'
import type { TaskWindowStats } from '../control/policy.js'
import { ClosedError, InvalidArgumentError } from '../errors.js'
import type { Window } from '../model/types.js'
import { adaptiveController } from './adaptive.js'
import { AttachedView, type AttachOptions } from './attach.js'
import { killWithNode } from './children.js'
import {
  adaptiveControllerFactory,
  type ControlledBridge,
  ControllerLoop,
  type ControllerOptions,
} from './controller.js'
import {
  BridgeExitedError,
  CancelledError,
  type ExitInfo,
  ProtocolError,
  PythonError,
  TimeoutError,
  UnknownFunctionError,
} from './errors.js'
import { sendRawLine } from './internal.js'
import { MAX_POOL_SIZE, normalizePool, type PoolBounds, type PoolOption } from './pool-options.js'
import {
  DEFAULT_MAX_LINE_BYTES,
  type HelloMessage,
  type IncomingMessage,
  LineDecoder,
  type OutgoingMessage,
  PROTOCOL_VERSION,
  parseIncoming,
  type ResultMessage,
} from './protocol.js'
import { TaskStatsRecorder } from './task-stats.js'

/** The directory holding the gilgauge_bridge package: <package root>/python, from src/bridge or dist/bridge. */
const PYTHON_PACKAGE_DIR = resolvePath(__dirname, '..', '..', 'python')

/** How much of the Python process's stderr is kept for error messages. */
const STDERR_TAIL_CHARS = 8192

export interface SpawnOptions {
  /** Python file that registers functions with `from gilgauge_bridge import register`. */
  script?: string
  /** Or an importable module that does (found through PYTHONPATH / cwd). */
  module?: string
  /** Python executable; default `python3` on PATH. */
  python?: string
  /** Default 'adaptive'. See PoolOption. */
  pool?: PoolOption
  /** Policy driving the pool (see controller.ts); a factory gets the spawned bridge (for its pid). */
  controller?: ControllerOptions | ((bridge: PythonBridge) => ControllerOptions)
  /** Extra environment for the Python process (merged over process.env). */
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** Longest protocol line in either direction; default 1 MiB. Bounds call arguments and results. */
  maxLineBytes?: number
  /** Give up if the companion has not said hello by then; default 30 000 ms. */
  startTimeoutMs?: number
  /** Copy the Python process's stderr (including user print()) to ours; default true. */
  forwardStderr?: boolean
  /** Emit 'stats' this often when no controller does; default 0 (never). */
  statsIntervalMs?: number
  /** Pin the Python process to these CPUs (its affinity, set before any thread starts). */
  cpus?: number[]
  /**
   * How long a worker the pool shrank past waits, parked with its thread-local state, to be taken back by a
   * growth before it exits; default 30 000 ms, 0: it exits at once.
   */
  parkedLingerMs?: number
}

export interface CallOptions {
  /** Reject with TimeoutError after this long; a still queued call is then never run. */
  timeoutMs?: number
  /** Abort to reject with CancelledError; a still queued call is then never run. */
  signal?: AbortSignal
}

/** A call's value and what the companion measured for it. */
export interface CallResult<T = unknown> {
  value: T
  /** Waiting in the companion's queue before a worker took it (ns). */
  queueNs: number
  /** Wall and thread-CPU time of the function in the worker (ns). */
  wallNs: number
  cpuNs: number
  /** Native thread id of the worker that ran it (a tid of the Python pid). */
  tid: number
  /** From call() to the result arriving here (ns). */
  latencyNs: number
}

/** What the companion said about itself at start. */
export interface BridgeHello {
  protocol: number
  pid: number
  /** e.g. '3.11.7' */
  pythonVersion: string
  /** sys.version, with build details. */
  pythonBuild: string
  implementation: string
  executable: string
  gilEnabled: boolean
  /** Address and size (from the ELF symbol; null if unknown) of `_PyRuntime`, which holds the GIL (DESIGN.md §2.1). */
  runtime: { address: bigint | null; size: number | null; object: string | null }
  functions: string[]
  cores: number
  maxLineBytes: number
}

export interface BridgeStats {
  size: number
  min: number
  max: number
  /** Calls being run now (estimated: outstanding calls up to the pool size). */
  inFlight: number
  /** Calls waiting for a worker (outstanding beyond the pool size). */
  queued: number
  /** Results received since spawn (failed calls included). */
  completions: number
  /** Latency from call() to result over the most recent 1024 tasks (ms). */
  latencyP50Ms: number
  latencyP99Ms: number
  /** The controller's last window and decision, if a controller runs. */
  lastWindow: Window | null
  lastDecision: { size: number; reason: string } | null
}

export interface ResizeEvent {
  from: number
  to: number
  reason: string
  window: Window | null
}

export interface ExitEvent extends ExitInfo {
  /** True when close() asked for it. */
  expected: boolean
}

/** The companion's own counters, from bridge.pythonStats(). */
export interface PythonPoolStats {
  size: number
  live: number
  idle: number
  /** Surplus workers waiting, with their thread-local state, to be taken back when the pool grows. */
  parked: number
  /** Worker threads started since the companion began (a parked worker taken back is not a new one). */
  started: number
  queued: number
  running: number
  completed: number
  cancelled: number
  cores: number
  protocolErrors: number
}

interface PendingCall {
  fn: string
  submittedNs: bigint
  resolve: (result: CallResult) => void
  reject: (error: Error) => void
  cleanup: () => void
}

type State = 'starting' | 'open' | 'closing' | 'exited'

export interface PythonBridge {
  on(event: 'resize', listener: (event: ResizeEvent) => void): this
  on(event: 'stats', listener: (stats: BridgeStats) => void): this
  on(event: 'exit', listener: (event: ExitEvent) => void): this
  on(event: 'stderr', listener: (text: string) => void): this
  /** A message from the companion that answers nothing we asked (e.g. an error for id null). */
  on(event: 'protocolError', listener: (error: ProtocolError) => void): this
  on(event: string, listener: (...args: never[]) => void): this
}

/**
 * A Python process running registered functions in a resizable thread pool
 * (DESIGN.md §5). Create with `PythonBridge.spawn`.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: typed event overloads for EventEmitter
export class PythonBridge extends EventEmitter implements ControlledBridge {
  /** Set once the companion said hello (spawn resolves after it). */
  hello!: BridgeHello
  readonly pool: {
    /** Target size (the companion parks surplus workers as they finish their task). */
    readonly size: number
    readonly min: number
    readonly max: number
    /** Set the pool size; resolves with it once the companion applied it. */
    resize(size: number, reason?: string, window?: Window | null): Promise<number>
  }

  private readonly child: ChildProcess
  private readonly maxLineBytes: number
  private state: State = 'starting'
  private nextId = 1
  private size: number
  private readonly bounds: PoolBounds
  private readonly calls = new Map<number, PendingCall>()
  /** Calls given up on here (timeout, abort) whose final answer has not come: they still occupy the pool. */
  private readonly abandoned = new Set<number>()
  /** Requests other than calls (resize, stats, test lines), by id. */
  private readonly requests = new Map<
    number,
    { answer: (message: IncomingMessage) => void; fail: (error: Error) => void }
  >()
  private readonly taskStats = new TaskStatsRecorder(process.hrtime.bigint())
  private stderrTail = ''
  private exitInfo: ExitInfo | null = null
  private readonly exited: Promise<ExitInfo>
  private closing: Promise<void> | null = null
  private controllerLoop: ControllerLoop | null = null
  private statsTimer: NodeJS.Timeout | null = null
  private helloWaiter: { resolve: () => void; reject: (error: Error) => void } | null = null
  private readonly drainWaiters: Array<() => void> = []

  private constructor(options: SpawnOptions, bounds: PoolBounds) {
    super()
    this.bounds = bounds
    this.size = bounds.initial
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES
    const bridge = this
    this.pool = {
      get size() {
        return bridge.size
      },
      min: bounds.min,
      max: bounds.max,
      resize: (size, reason, window) => this.resize(size, reason ?? 'manual', window ?? null),
    }

    const source =
      options.script !== undefined ? ['--script', options.script] : ['--module', options.module ?? '']
    const args = ['-m', 'gilgauge_bridge', ...source]
    args.push('--workers', String(bounds.initial), '--max-line-bytes', String(this.maxLineBytes))
    if (options.cpus) args.push('--cpus', options.cpus.join(','))
    if (options.parkedLingerMs !== undefined)
      args.push('--parked-linger-s', String(options.parkedLingerMs / 1000))
    const env = { ...process.env, ...options.env }
    env.PYTHONPATH = [PYTHON_PACKAGE_DIR, env.PYTHONPATH].filter(Boolean).join(':')
    env.GILGAUGE_PARENT_PID = String(process.pid)
    this.child = spawnProcess(options.python ?? 'python3', args, {
      cwd: options.cwd,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    killWithNode(this.child)
    this.exited = this.watchExit()
    this.readProtocol()
    this.readStderr(options.forwardStderr ?? true)
    // Writes after the process died fail with EPIPE; the exit handling reports that.
    this.child.stdin?.on('error', () => {})
  }

  /**
   * A monitor-only view of a Python process gilgauge did not start: windows
   * and a recommended pool size, no resizing. Async for symmetry with spawn.
   */
  static async attach(options: AttachOptions): Promise<AttachedView> {
    return new AttachedView(options)
  }

  /** Start a companion and resolve once it is ready (after its hello). */
  static async spawn(options: SpawnOptions): Promise<PythonBridge> {
    if ((options.script === undefined) === (options.module === undefined)) {
      throw new InvalidArgumentError('PythonBridge.spawn needs exactly one of `script` and `module`')
    }
    const linger = options.parkedLingerMs
    if (linger !== undefined && !(Number.isFinite(linger) && linger >= 0)) {
      throw new InvalidArgumentError(`parkedLingerMs must be a number of ms >= 0, got ${linger}`)
    }
    const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES
    if (!Number.isInteger(maxLineBytes) || maxLineBytes < 1024) {
      throw new InvalidArgumentError(`maxLineBytes must be an integer >= 1024, got ${maxLineBytes}`)
    }
    const bridge = new PythonBridge(options, normalizePool(options.pool))
    await bridge.waitForHello(options.startTimeoutMs ?? 30_000)
    bridge.startController(options)
    return bridge
  }

  /** The Python process id. */
  get pid(): number {
    return this.hello.pid
  }

  /** CPUs the Python process may run on, from its affinity at start. */
  get cores(): number {
    return this.hello.cores
  }

  /** The running controller, if any (see controller.ts). */
  get controller(): ControllerLoop | null {
    return this.controllerLoop
  }

  // -- calls ---------------------------------------------------------------

  /** Run the registered Python function `fn` with `args`; resolves with its return value. */
  async call<T = unknown>(fn: string, args: unknown[] = [], options: CallOptions = {}): Promise<T> {
    return (await this.callWithTimings<T>(fn, args, options)).value
  }

  /** Like call(), with the companion's measurements of the task. */
  callWithTimings<T = unknown>(
    fn: string,
    args: unknown[] = [],
    options: CallOptions = {},
  ): Promise<CallResult<T>> {
    return new Promise<CallResult<T>>((resolve, reject) => {
      const refusal = this.refuseCall(fn, args, options)
      if (refusal) return reject(refusal)
      const id = this.nextId++
      let line: string
      try {
        line = JSON.stringify({ type: 'call', id, fn, args } satisfies OutgoingMessage)
      } catch (error) {
        return reject(
          new InvalidArgumentError(`arguments of '${fn}' cannot be sent as JSON: ${String(error)}`),
        )
      }
      if (Buffer.byteLength(line) > this.maxLineBytes) {
        return reject(
          new InvalidArgumentError(
            `arguments of '${fn}' take ${Buffer.byteLength(line)} bytes, more than maxLineBytes (${this.maxLineBytes})`,
          ),
        )
      }
      let timer: NodeJS.Timeout | undefined
      const { signal, timeoutMs } = options
      const onAbort = () => this.giveUp(id, new CancelledError(fn, { cause: signal?.reason }))
      if (timeoutMs !== undefined)
        timer = setTimeout(() => this.giveUp(id, new TimeoutError(fn, timeoutMs)), timeoutMs)
      signal?.addEventListener('abort', onAbort, { once: true })
      this.calls.set(id, {
        fn,
        submittedNs: process.hrtime.bigint(),
        resolve: resolve as (result: CallResult) => void,
        reject,
        cleanup: () => {
          if (timer) clearTimeout(timer)
          signal?.removeEventListener('abort', onAbort)
        },
      })
      this.writeLine(line)
    })
  }

  private refuseCall(fn: string, args: unknown, options: CallOptions): Error | null {
    if (this.state === 'exited' && this.exitInfo) return new BridgeExitedError(this.exitInfo)
    if (this.state !== 'open') return new ClosedError('PythonBridge')
    if (typeof fn !== 'string' || fn === '') return new InvalidArgumentError('fn must be a non-empty string')
    if (!Array.isArray(args)) return new InvalidArgumentError(`args of '${fn}' must be an array`)
    const { timeoutMs, signal } = options
    if (timeoutMs !== undefined && !(timeoutMs >= 0 && timeoutMs <= 2 ** 31 - 1)) {
      return new InvalidArgumentError(`timeoutMs must be a number from 0 to 2^31-1, got ${timeoutMs}`)
    }
    if (signal?.aborted) return new CancelledError(fn, { cause: signal.reason })
    return null
  }

  /** Reject a call here and ask the companion not to run it (it may be running already). */
  private giveUp(id: number, error: Error): void {
    const call = this.settle(id)
    if (!call) return
    call.reject(error)
    if (this.state === 'exited') return
    this.abandoned.add(id)
    this.send({ type: 'cancel', id })
  }

  /** Remove a pending call; null if it was already settled. */
  private settle(id: number): PendingCall | null {
    const call = this.calls.get(id)
    if (!call) return null
    this.calls.delete(id)
    call.cleanup()
    if (this.calls.size === 0) for (const wake of this.drainWaiters.splice(0)) wake()
    return call
  }

  // -- pool ----------------------------------------------------------------

  private async resize(size: number, reason: string, window: Window | null): Promise<number> {
    if (this.state !== 'open')
      throw this.state === 'exited' && this.exitInfo
        ? new BridgeExitedError(this.exitInfo)
        : new ClosedError('PythonBridge')
    if (!Number.isInteger(size) || size < this.bounds.min || size > this.bounds.max || size > MAX_POOL_SIZE) {
      throw new InvalidArgumentError(
        `pool size must be an integer within [${this.bounds.min}, ${this.bounds.max}], got ${size}`,
      )
    }
    this.size = size
    const answer = await this.request({ type: 'resize', id: this.nextId++, size })
    if (answer.type !== 'resized') throw new ProtocolError(`expected 'resized', got '${answer.type}'`)
    if (answer.from !== answer.to) this.emit('resize', { from: answer.from, to: answer.to, reason, window })
    return answer.to
  }

  /** The companion's own counters (a round trip). */
  async pythonStats(): Promise<PythonPoolStats> {
    if (this.state !== 'open' && this.state !== 'closing') throw new ClosedError('PythonBridge')
    const answer = await this.request({ type: 'stats', id: this.nextId++ })
    if (answer.type !== 'stats') throw new ProtocolError(`expected 'stats', got '${answer.type}'`)
    const { size, live, idle, parked, started, queued, running, completed, cancelled, cores } = answer
    return {
      size,
      live,
      idle,
      parked,
      started,
      queued,
      running,
      completed,
      cancelled,
      cores,
      protocolErrors: answer.protocol_errors,
    }
  }

  /** Calls sent and not finished in Python: ours, plus the abandoned ones it still works on. */
  private outstanding(): { inFlight: number; queued: number } {
    const total = this.calls.size + this.abandoned.size
    const inFlight = Math.min(total, this.size)
    return { inFlight, queued: total - inFlight }
  }

  stats(): BridgeStats {
    const { p50Ns, p99Ns } = this.taskStats.recentLatency()
    const decision = this.controllerLoop?.lastDecision
    return {
      size: this.size,
      min: this.bounds.min,
      max: this.bounds.max,
      ...this.outstanding(),
      completions: this.taskStats.completions,
      latencyP50Ms: p50Ns / 1e6,
      latencyP99Ms: p99Ns / 1e6,
      lastWindow: this.controllerLoop?.lastWindow ?? null,
      lastDecision: decision ? { size: decision.size, reason: decision.reason } : null,
    }
  }

  /** Completions since the previous takeTaskWindow(). */
  pendingCompletions(): number {
    return this.taskStats.pendingCompletions
  }

  /** Task stats since the previous take (for the controller loop; see control/policy.ts). */
  takeTaskWindow(): TaskWindowStats {
    const { queued, inFlight } = this.outstanding()
    return this.taskStats.take(process.hrtime.bigint(), queued, inFlight)
  }

  /** Let `options.policy` drive the pool size from now on (replaces any running controller). */
  attachController(options: ControllerOptions): ControllerLoop {
    this.controllerLoop?.stop()
    const loop = new ControllerLoop(this, options, () => this.emit('stats', this.stats()))
    this.controllerLoop = loop
    if (this.state === 'open') loop.start()
    return loop
  }

  private startController(options: SpawnOptions): void {
    const chosen = options.controller
    if (chosen) {
      this.attachController(typeof chosen === 'function' ? chosen(this) : chosen)
    } else if (this.bounds.adaptive || this.bounds.policy) {
      // A monitor of this process feeding the policy (default: gauge), unless
      // the application installed its own factory.
      const factory = adaptiveControllerFactory()
      this.attachController(
        factory ? factory(this) : adaptiveController(this, { policy: this.bounds.policy ?? 'gauge' }),
      )
    }
    if (!this.controllerLoop && (options.statsIntervalMs ?? 0) > 0) {
      this.statsTimer = setInterval(() => this.emit('stats', this.stats()), options.statsIntervalMs)
      this.statsTimer.unref()
    }
  }

  // -- closing -------------------------------------------------------------

  /**
   * Wait for pending calls to settle, then ask the companion to shut down and
   * wait for it to exit; after `graceMs` (default 5000) it is killed. With
   * `drainTimeoutMs`, pending calls still unsettled by then are rejected
   * (BridgeExitedError) by killing the process. Calls made after close() are
   * rejected with ClosedError.
   */
  close(options: { graceMs?: number; drainTimeoutMs?: number } = {}): Promise<void> {
    if (!this.closing) this.closing = this.shutDown(options.graceMs ?? 5000, options.drainTimeoutMs)
    return this.closing
  }

  private async shutDown(graceMs: number, drainTimeoutMs: number | undefined): Promise<void> {
    if (this.state !== 'exited') this.state = 'closing'
    this.stopTimers()
    const drained = await this.waitUntil(this.drained(), drainTimeoutMs)
    if (this.state === 'exited') return
    if (drained) {
      this.send({ type: 'shutdown', id: this.nextId++ })
      this.child.stdin?.end()
      if (await this.waitUntil(this.exited, graceMs)) return
    }
    this.child.kill('SIGKILL')
    await this.exited
  }

  private drained(): Promise<void> {
    if (this.calls.size === 0) return Promise.resolve()
    return new Promise((resolve) => this.drainWaiters.push(resolve))
  }

  /** True if `promise` settled within `ms` (no limit when undefined); never rejects. */
  private async waitUntil(promise: Promise<unknown>, ms: number | undefined): Promise<boolean> {
    const settled = promise.then(
      () => true,
      () => true,
    )
    if (ms === undefined) return settled
    let timer: NodeJS.Timeout | undefined
    const expired = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms)
    })
    const result = await Promise.race([settled, expired, this.exited.then(() => true)])
    clearTimeout(timer)
    return result
  }

  private stopTimers(): void {
    this.controllerLoop?.stop()
    if (this.statsTimer) clearInterval(this.statsTimer)
    this.statsTimer = null
  }

  // -- the process ------------------------------------------------------------

  private waitForHello(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.child.kill('SIGKILL')
        reject(
          new ProtocolError(`the Python companion did not start within ${timeoutMs} ms (startTimeoutMs)`),
        )
      }, timeoutMs)
      this.helloWaiter = {
        resolve: () => {
          clearTimeout(timer)
          resolve()
        },
        reject: (error) => {
          clearTimeout(timer)
          reject(error)
        },
      }
    })
  }

  private watchExit(): Promise<ExitInfo> {
    return new Promise<ExitInfo>((resolve) => {
      let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null
      let spawnError: Error | null = null
      let stdoutEnded = false
      let stderrEnded = false
      let finished = false
      const finish = () => {
        if (finished) return
        finished = true
        const info = {
          exitCode: exit?.code ?? null,
          signal: exit?.signal ?? null,
          stderrTail: this.stderrTail,
        }
        this.onExit(info, spawnError)
        resolve(info)
      }
      // Finish once the process is gone and its last protocol lines and stderr
      // are read; a grandchild holding stderr open must not delay that long.
      const maybeFinish = () => {
        if (exit && stdoutEnded && stderrEnded) finish()
      }
      this.child.once('exit', (code, signal) => {
        exit = { code, signal }
        maybeFinish()
        setTimeout(finish, 500).unref()
      })
      this.child.once('error', (error) => {
        // Could not start the executable (ENOENT, EACCES): no 'exit' follows.
        spawnError = error
        if (this.child.pid === undefined) finish()
      })
      this.child.stdout?.once('close', () => {
        stdoutEnded = true
        maybeFinish()
      })
      this.child.stderr?.once('close', () => {
        stderrEnded = true
        maybeFinish()
      })
    })
  }

  private onExit(info: ExitInfo, spawnError: Error | null): void {
    const expected = this.state === 'closing'
    this.state = 'exited'
    this.exitInfo = info
    this.stopTimers()
    const starting = this.helloWaiter
    this.helloWaiter = null
    if (starting) {
      const message = spawnError
        ? `could not start '${this.child.spawnfile}' (${(spawnError as NodeJS.ErrnoException).code ?? spawnError.message}): install Python 3.8+ or pass the \`python\` option`
        : `the Python companion ${info.signal ? `was killed by ${info.signal}` : `exited with code ${info.exitCode}`} before it was ready: the script probably failed to import (see its stderr below)`
      starting.reject(new BridgeExitedError(info, message, { cause: spawnError ?? undefined }))
    }
    for (const id of [...this.calls.keys()]) this.settle(id)?.reject(new BridgeExitedError(info))
    this.abandoned.clear()
    for (const request of this.requests.values()) request.fail(new BridgeExitedError(info))
    this.requests.clear()
    this.emit('exit', { ...info, expected } satisfies ExitEvent)
  }

  private readProtocol(): void {
    const stdout = this.child.stdout
    if (!stdout) return
    stdout.setEncoding('utf8')
    // Our side of the bound: the companion never sends longer lines (it
    // replaces oversized results with an error), so a longer one is a fault.
    const decoder = new LineDecoder(
      this.maxLineBytes + 1024,
      (line) => this.onLine(line),
      (head) => this.emit('protocolError', new ProtocolError(`oversized line from the companion: ${head}…`)),
    )
    stdout.on('data', (chunk: string) => decoder.push(chunk))
  }

  private readStderr(forward: boolean): void {
    const stderr = this.child.stderr
    if (!stderr) return
    stderr.setEncoding('utf8')
    stderr.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL_CHARS)
      if (forward) process.stderr.write(chunk)
      this.emit('stderr', chunk)
    })
  }

  private onLine(line: string): void {
    if (line.trim() === '') return
    const message = parseIncoming(line)
    if (!message) {
      this.emit(
        'protocolError',
        new ProtocolError(`unreadable line from the companion: ${line.slice(0, 200)}`),
      )
      return
    }
    switch (message.type) {
      case 'hello':
        this.onHello(message)
        return
      case 'result':
        this.onResult(message)
        return
      case 'cancelled':
        if (message.cancelled || message.state === 'unknown') this.abandoned.delete(message.id)
        return
      case 'error': {
        const error = new ProtocolError(`the companion refused a request: ${message.error.message}`)
        const id = typeof message.id === 'number' ? message.id : null
        const call = id === null ? null : this.settle(id)
        if (call) {
          call.reject(error)
          return
        }
        if (id !== null && this.answer(id, message)) return
        this.emit('protocolError', error)
        return
      }
      default:
        if (!this.answer(message.id, message)) {
          this.emit('protocolError', new ProtocolError(`unexpected '${message.type}' for id ${message.id}`))
        }
    }
  }

  private onHello(message: HelloMessage): void {
    const waiter = this.helloWaiter
    this.helloWaiter = null
    if (!waiter) return
    if (message.protocol !== PROTOCOL_VERSION) {
      this.child.kill('SIGKILL')
      waiter.reject(
        new ProtocolError(
          `the companion speaks protocol ${message.protocol}, this gilgauge speaks ${PROTOCOL_VERSION}: use the python/ directory of the same gilgauge version`,
        ),
      )
      return
    }
    this.hello = {
      protocol: message.protocol,
      pid: message.pid,
      pythonVersion: message.python_version.join('.'),
      pythonBuild: message.python,
      implementation: message.implementation,
      executable: message.executable,
      gilEnabled: message.gil_enabled,
      runtime: {
        address: message.runtime.address === null ? null : BigInt(message.runtime.address),
        size: message.runtime.size,
        object: message.runtime.object,
      },
      functions: message.functions,
      cores: message.cores,
      maxLineBytes: message.max_line_bytes,
    }
    this.state = 'open'
    waiter.resolve()
  }

  private onResult(message: ResultMessage): void {
    const pending = this.calls.get(message.id)
    const ran = message.wall_ns !== null
    const timing = {
      // null for a call given up on here: nobody waited for it, so it has no latency.
      latencyNs: pending ? Number(process.hrtime.bigint() - pending.submittedNs) : null,
      queueNs: message.queue_ns ?? 0,
      wallNs: message.wall_ns ?? 0,
      cpuNs: message.cpu_ns ?? 0,
      tid: message.tid ?? 0,
    }
    if (ran) this.taskStats.record({ ...timing, joined: message.joined === true })
    this.abandoned.delete(message.id)
    const call = this.settle(message.id)
    if (!call) return
    if (message.ok) {
      call.resolve({ value: message.value, ...timing, latencyNs: timing.latencyNs ?? 0 })
      return
    }
    call.reject(this.callError(call.fn, message.error))
  }

  private callError(fn: string, error: { type: string; message: string; traceback?: string }): Error {
    switch (error.type) {
      case 'UnknownFunction':
        return new UnknownFunctionError(fn, error.message)
      case 'ShuttingDown':
        return new ClosedError('PythonBridge')
      case 'ResultTooLarge':
        return new ProtocolError(`${error.message}: return less, or raise maxLineBytes`)
      default:
        return new PythonError(fn, error.type, error.message, error.traceback ?? '')
    }
  }

  // -- writing -------------------------------------------------------------

  private send(message: OutgoingMessage): void {
    this.writeLine(JSON.stringify(message))
  }

  private writeLine(line: string): void {
    this.child.stdin?.write(`${line}\n`)
  }

  /** Send a request and resolve with the companion's answer to its id. */
  private request(message: OutgoingMessage): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const answer = (message: IncomingMessage) => {
        if (message.type === 'error') reject(new ProtocolError(message.error.message))
        else resolve(message)
      }
      this.requests.set(message.id, { answer, fail: reject })
      this.send(message)
    })
  }

  /** Deliver an answer to a waiting request; false if none waits for `id`. */
  private answer(id: number, message: IncomingMessage): boolean {
    const request = this.requests.get(id)
    if (!request) return false
    this.requests.delete(id)
    request.answer(message)
    return true
  }

  /** @internal Test hook: see internal.ts. */
  [sendRawLine](line: string, answerId?: number): Promise<IncomingMessage | null> {
    if (answerId === undefined) {
      this.writeLine(line)
      return Promise.resolve(null)
    }
    return new Promise((resolve, reject) => {
      this.requests.set(answerId, { answer: resolve, fail: reject })
      this.writeLine(line)
    })
  }
}
