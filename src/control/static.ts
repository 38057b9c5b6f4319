import type { ControlInput, Decision, Policy } from './policy.js'
import { clampSize } from './util.js'

/** A fixed pool size: the baseline every adaptive policy is compared with. */
export class StaticPolicy implements Policy {
  readonly name: string
  readonly intervalMs: number

  constructor(
    readonly size: number,
    options: { intervalMs?: number } = {},
  ) {
    if (!Number.isFinite(size) || size < 1) throw new RangeError(`static pool size must be >= 1, got ${size}`)
    this.name = `static(${size})`
    this.intervalMs = options.intervalMs ?? 500
  }

  decide(input: ControlInput): Decision {
    const size = clampSize(this.size, input.min, input.max)
    return {
      size,
      reason: size === this.size ? `static size ${size}` : `static size ${this.size}, clamped to ${size}`,
      inputs: { size: input.size, configured: this.size, min: input.min, max: input.max },
    }
  }
}
