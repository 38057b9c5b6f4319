/**
 * The NDJSON wire format shared with python/gilgauge_bridge/protocol.py (see
 * its docstring for the full message list). Field names are the companion's
 * snake_case; PythonBridge turns them into the camelCase public types.
 */

export const PROTOCOL_VERSION = 1

/** Companion default, also ours: the longest line either side sends. */
export const DEFAULT_MAX_LINE_BYTES = 1 << 20

export interface HelloMessage {
  type: 'hello'
  protocol: number
  pid: number
  python: string
  python_version: [number, number, number]
  implementation: string
  executable: string
  gil_enabled: boolean
  runtime: { address: number | null; size: number | null; object: string | null }
  functions: string[]
  pool: { size: number }
  cores: number
  max_line_bytes: number
}

export interface WireError {
  type: string
  message: string
  traceback?: string
}

interface ResultTimings {
  /** null when the call was refused before it reached the pool. */
  queue_ns: number | null
  wall_ns: number | null
  cpu_ns: number | null
  tid: number | null
  /** Present (true) on a worker's first task since it started or was taken back from parking. */
  joined?: boolean
}

export type ResultMessage =
  | ({ type: 'result'; id: number; ok: true; value: unknown } & ResultTimings)
  | ({ type: 'result'; id: number; ok: false; error: WireError } & ResultTimings)

export interface CancelledMessage {
  type: 'cancelled'
  id: number
  cancelled: boolean
  state: 'queued' | 'running' | 'unknown'
}

export interface ResizedMessage {
  type: 'resized'
  id: number
  from: number
  to: number
  live: number
}

export interface StatsMessage {
  type: 'stats'
  id: number
  size: number
  live: number
  idle: number
  parked: number
  started: number
  queued: number
  running: number
  completed: number
  cancelled: number
  cores: number
  protocol_errors: number
}

export interface ErrorMessage {
  type: 'error'
  id: number | string | null
  error: WireError
}

export interface ByeMessage {
  type: 'bye'
  id: number
  completed: number
}

export type IncomingMessage =
  | HelloMessage
  | ResultMessage
  | CancelledMessage
  | ResizedMessage
  | StatsMessage
  | ErrorMessage
  | ByeMessage

export type OutgoingMessage =
  | { type: 'call'; id: number; fn: string; args: unknown[] }
  | { type: 'cancel'; id: number }
  | { type: 'resize'; id: number; size: number }
  | { type: 'stats'; id: number }
  | { type: 'shutdown'; id: number }

/** The JSON text of an incoming line as a message, or null if it is not one. */
export function parseIncoming(line: string): IncomingMessage | null {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return null
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null
  const type = (value as { type?: unknown }).type
  return typeof type === 'string' ? (value as IncomingMessage) : null
}

/**
 * Splits a text stream into lines. A line that grows past `maxChars` without
 * a newline is reported once through `onOverflow` and skipped up to its end,
 * so a runaway writer cannot make us buffer without bound.
 */
export class LineDecoder {
  private buffered = ''
  private discarding = false

  constructor(
    private readonly maxChars: number,
    private readonly onLine: (line: string) => void,
    private readonly onOverflow: (head: string) => void,
  ) {}

  push(chunk: string): void {
    let start = 0
    for (;;) {
      const newline = chunk.indexOf('\n', start)
      if (newline === -1) break
      const piece = chunk.slice(start, newline)
      start = newline + 1
      if (this.discarding) {
        this.discarding = false
        continue
      }
      const line = this.buffered + piece
      this.buffered = ''
      if (line.length > this.maxChars) this.onOverflow(line.slice(0, 200))
      else this.onLine(line)
    }
    if (this.discarding) return
    this.buffered += chunk.slice(start)
    if (this.buffered.length > this.maxChars) {
      this.onOverflow(this.buffered.slice(0, 200))
      this.buffered = ''
      this.discarding = true
    }
  }
}
