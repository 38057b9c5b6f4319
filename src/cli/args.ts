import { InvalidArgumentError } from '../errors.js'

/** Parses "10s", "500ms", "2m", "1.5" (seconds) into milliseconds. */
export function parseDuration(text: string, what = 'duration'): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim())
  if (!match) {
    throw new InvalidArgumentError(`${what} '${text}' is not a duration: write e.g. 10s, 500ms or 2m`)
  }
  const value = Number(match[1])
  const unit = match[2] ?? 's'
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit] as number
  return value * factor
}

export function parsePositiveInt(text: string, what: string): number {
  const value = Number(text)
  if (!Number.isInteger(value) || value <= 0) {
    throw new InvalidArgumentError(`${what} must be a positive integer, got '${text}'`)
  }
  return value
}
