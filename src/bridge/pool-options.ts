import { availableParallelism } from 'node:os'
import type { PolicySpec } from '../control/factory.js'
import type { Policy } from '../control/policy.js'
import { InvalidArgumentError } from '../errors.js'

/** The companion's own upper limit (python/gilgauge_bridge/pool.py MAX_POOL_SIZE). */
export const MAX_POOL_SIZE = 4096

/** Bounds used by `pool: 'adaptive'`: the controller may move anywhere in [min, max]. */
export const ADAPTIVE_DEFAULTS = { min: 1, max: 128 } as const

/**
 * How big the Python pool is: a fixed size, bounds (with an optional policy
 * that moves the size inside them), or `'adaptive'` (bounds 1–128 and the
 * default controller; see controller.ts).
 */
export type PoolOption =
  | number
  | { min?: number; max?: number; initial?: number; policy?: Policy | PolicySpec }
  | 'adaptive'

export interface PoolBounds {
  min: number
  max: number
  initial: number
  adaptive: boolean
  policy: Policy | PolicySpec | null
}

function checkSize(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_POOL_SIZE) {
    throw new InvalidArgumentError(`pool ${name} must be an integer from 1 to ${MAX_POOL_SIZE}, got ${value}`)
  }
  return value
}

export function normalizePool(pool: PoolOption | undefined): PoolBounds {
  if (pool === undefined || pool === 'adaptive') {
    const initial = Math.min(ADAPTIVE_DEFAULTS.max, Math.max(2, availableParallelism()))
    return { ...ADAPTIVE_DEFAULTS, initial, adaptive: true, policy: null }
  }
  if (typeof pool === 'number') {
    const size = checkSize('size', pool)
    return { min: size, max: size, initial: size, adaptive: false, policy: null }
  }
  if (typeof pool !== 'object' || pool === null) {
    throw new InvalidArgumentError(
      `pool must be a number, { min, max, initial } or 'adaptive', got ${String(pool)}`,
    )
  }
  const min = checkSize('min', pool.min ?? 1)
  const max = checkSize('max', pool.max ?? Math.max(min, ADAPTIVE_DEFAULTS.max))
  if (min > max) throw new InvalidArgumentError(`pool min (${min}) is larger than max (${max})`)
  const initial = checkSize('initial', pool.initial ?? min)
  if (initial < min || initial > max) {
    throw new InvalidArgumentError(`pool initial (${initial}) must lie within [${min}, ${max}]`)
  }
  return { min, max, initial, adaptive: false, policy: pool.policy ?? null }
}
