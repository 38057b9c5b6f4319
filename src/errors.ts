/**
 * Typed errors with a stable `code` and a sentence that says what to do
 * (DESIGN.md §6). Match on `code`, not on the class or the message.
 */
export type ErrorCode =
  | 'ENOPROC'
  | 'EPERM'
  | 'EUNSUPPORTED'
  | 'EPARSE'
  | 'EIO'
  | 'EINVAL'
  | 'ECLOSED'
  | 'EBRIDGEEXITED'
  | 'EPROTOCOL'
  | 'ETIMEDOUT'
  | 'ECANCELLED'
  | 'EPYTHON'

export class GilgaugeError extends Error {
  readonly code: ErrorCode
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

/** The process does not exist. */
export class NoProcessError extends GilgaugeError {
  readonly pid: number
  constructor(pid: number, message?: string) {
    super('ENOPROC', message ?? `no process with pid ${pid}: check the pid, or start the process first`)
    this.pid = pid
  }
}

/** Not allowed to read what a tier needs; `tierAvailable` is the best tier that still works. */
export class PermissionDeniedError extends GilgaugeError {
  readonly tierAvailable: string
  constructor(message: string, tierAvailable: string) {
    super('EPERM', message)
    this.tierAvailable = tierAvailable
  }
}

/** Not Linux, or a platform with no prebuilt binary. */
export class UnsupportedError extends GilgaugeError {
  constructor(message: string) {
    super('EUNSUPPORTED', message)
  }
}

/** A bad argument from the caller. */
export class InvalidArgumentError extends GilgaugeError {
  constructor(message: string) {
    super('EINVAL', message)
  }
}

/** The object was closed; make a new one. */
export class ClosedError extends GilgaugeError {
  constructor(what: string) {
    super('ECLOSED', `${what} is closed: create a new one`)
  }
}

/**
 * Converts an error thrown by the native binding (whose message starts with
 * `[CODE] `) into the matching typed error.
 */
export function fromNativeError(err: unknown, pid?: number): GilgaugeError {
  if (err instanceof GilgaugeError) return err
  const message = err instanceof Error ? err.message : String(err)
  const match = /^\[([A-Z]+)\] (.*)$/s.exec(message)
  if (!match) return new GilgaugeError('EIO', message, { cause: err })
  const [, code, text] = match as unknown as [string, string, string]
  switch (code) {
    case 'ENOPROC':
      return new NoProcessError(pid ?? -1, text)
    case 'EPERM': {
      const tier = /the '([a-z]+)' tier still works/.exec(text)?.[1] ?? 'rusage'
      return new PermissionDeniedError(text, tier)
    }
    case 'EUNSUPPORTED':
      return new UnsupportedError(text)
    case 'EPARSE':
    case 'EIO':
    case 'EINVAL':
      return new GilgaugeError(code, text, { cause: err })
    default:
      return new GilgaugeError('EIO', message, { cause: err })
  }
}
