/**
 * Errors of the Python bridge (DESIGN.md §6). Each has a stable `code` from
 * src/errors.ts; match on the code, not on the class or the message.
 */
import { GilgaugeError } from '../errors.js'

/** How the Python process ended; `stderrTail` is the last of what it wrote to stderr. */
export interface ExitInfo {
  exitCode: number | null
  signal: NodeJS.Signals | null
  stderrTail: string
}

/**
 * The Python process is gone (or never started): every call pending at that
 * moment, and every later one, is rejected with this.
 */
export class BridgeExitedError extends GilgaugeError {
  readonly exitCode: number | null
  readonly signal: NodeJS.Signals | null
  readonly stderrTail: string
  constructor(info: ExitInfo, message?: string, options?: { cause?: unknown }) {
    const how = info.signal ? `was killed by ${info.signal}` : `exited with code ${info.exitCode}`
    const tail = info.stderrTail.trim() ? `\n--- stderr (tail) ---\n${info.stderrTail.trimEnd()}` : ''
    super(
      'EBRIDGEEXITED',
      `${message ?? `the Python process ${how}: see its stderr below, then spawn a new bridge`}${tail}`,
      options,
    )
    this.exitCode = info.exitCode
    this.signal = info.signal
    this.stderrTail = info.stderrTail
  }
}

/** The two sides did not understand each other: a malformed, oversized or unexpected message. */
export class ProtocolError extends GilgaugeError {
  constructor(message: string) {
    super('EPROTOCOL', message)
  }
}

/**
 * A call took longer than its `timeoutMs`. The companion was asked to cancel
 * it: a call still queued never runs; one already running cannot be
 * interrupted and runs to its end in Python (its result is dropped).
 */
export class TimeoutError extends GilgaugeError {
  readonly fn: string
  readonly timeoutMs: number
  constructor(fn: string, timeoutMs: number) {
    super(
      'ETIMEDOUT',
      `call to '${fn}' timed out after ${timeoutMs} ms: raise timeoutMs, or look at why the pool is slow (bridge.stats())`,
    )
    this.fn = fn
    this.timeoutMs = timeoutMs
  }
}

/** A call was aborted through its AbortSignal; same cancel rules as TimeoutError. */
export class CancelledError extends GilgaugeError {
  readonly fn: string
  constructor(fn: string, options?: { cause?: unknown }) {
    super('ECANCELLED', `call to '${fn}' was cancelled by its AbortSignal`, options)
    this.fn = fn
  }
}

/** The Python function raised. `pythonType` is its exception class (module-qualified unless builtin). */
export class PythonError extends GilgaugeError {
  readonly pythonType: string
  readonly pythonMessage: string
  readonly traceback: string
  readonly fn: string
  constructor(fn: string, pythonType: string, pythonMessage: string, traceback: string) {
    super('EPYTHON', `'${fn}' raised ${pythonType}: ${pythonMessage}`)
    this.fn = fn
    this.pythonType = pythonType
    this.pythonMessage = pythonMessage
    this.traceback = traceback
  }
}

/** No function of that name was registered by the script. */
export class UnknownFunctionError extends GilgaugeError {
  readonly fn: string
  constructor(fn: string, detail: string) {
    super('EINVAL', `${detail}: register it with @register in the script, or check the name`)
    this.fn = fn
  }
}
