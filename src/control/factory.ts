import { type BetapoolOptions, BetapoolPolicy } from './betapool.js'
import { type GaugeOptions, GaugePolicy } from './gauge.js'
import { type PaperOptions, PaperPolicy } from './paper.js'
import type { Policy } from './policy.js'
import { StaticPolicy } from './static.js'

/** How a user names a policy: a name, a fixed size, or a name with its options. */
export type PolicySpec =
  | 'gauge'
  | 'paper'
  | 'betapool'
  | number
  | { static: number }
  | { gauge: Partial<GaugeOptions> }
  | { paper: PaperOptions }
  | { betapool: BetapoolOptions }

export function makePolicy(spec: PolicySpec): Policy {
  if (typeof spec === 'number') return new StaticPolicy(spec)
  if (spec === 'gauge') return new GaugePolicy()
  if (spec === 'paper') return new PaperPolicy()
  if (spec === 'betapool') return new BetapoolPolicy()
  if (typeof spec === 'object' && spec !== null) {
    if ('static' in spec) return new StaticPolicy(spec.static)
    if ('gauge' in spec) return new GaugePolicy(spec.gauge)
    if ('paper' in spec) return new PaperPolicy(spec.paper)
    if ('betapool' in spec) return new BetapoolPolicy(spec.betapool)
  }
  throw new TypeError(
    `unknown policy ${JSON.stringify(spec)}: use 'gauge', 'paper', 'betapool', a size, or { static: n }`,
  )
}
