/** `--variant key=value,…`: the options of the variant a bench run measures beside gauge. */
import { CONTENTION_HOLDS_GROWTH, GAUGE_DEFAULTS, type GaugeOptions } from '../control/gauge.js'
import { InvalidArgumentError } from '../errors.js'
import type { VariantOptions } from './types.js'

/** The bridge's spawn options a variant may change; each takes a number >= 0. */
const BRIDGE_OPTIONS = ['parkedLingerMs'] as const

/** Options whose default is null (the rule is off) and that take a number to turn it on. */
const OFF_UNLESS_NUMBER: ReadonlyArray<keyof GaugeOptions> = [
  'gilBoundHeadroomOneCore',
  'gilBoundFloorOneCore',
]

/** Options that take a number or null (the step is off). */
const NULLABLE: ReadonlyArray<keyof GaugeOptions> = [
  'fillBelow',
  'handoffShedAbove',
  'trimMinThreadShare',
  ...OFF_UNLESS_NUMBER,
]

/** Options that take one of a few words. */
const CHOICES: Partial<Record<keyof GaugeOptions, readonly string[]>> = {
  contentionHoldsGrowthOneCore: CONTENTION_HOLDS_GROWTH,
}

/**
 * Parses "fillRetriesOneCore=0,probe=false" into gauge options, each checked against gauge's own, and
 * the bridge's options of BRIDGE_OPTIONS ("parkedLingerMs=0").
 */
export function parseVariant(text: string): VariantOptions {
  const options: Record<string, number | boolean | string | null> = {}
  for (const item of text.split(',').map((x) => x.trim())) {
    const [key = '', value, ...rest] = item.split('=')
    const isBridgeOption = (BRIDGE_OPTIONS as readonly string[]).includes(key)
    if (!isBridgeOption && (!(key in GAUGE_DEFAULTS) || key === 'gilEnabled')) {
      const known = [...Object.keys(GAUGE_DEFAULTS).filter((k) => k !== 'gilEnabled'), ...BRIDGE_OPTIONS]
      throw new InvalidArgumentError(
        `--variant: '${key}' is not a gauge or bridge option; use one of ${known.join(', ')}`,
      )
    }
    if (value === undefined || rest.length > 0) {
      throw new InvalidArgumentError(`--variant: write each option as key=value, got '${item}'`)
    }
    if (isBridgeOption) {
      const ms = Number(value)
      if (value.trim() === '' || !Number.isFinite(ms) || ms < 0)
        throw new InvalidArgumentError(`--variant: ${key} takes a number of ms >= 0, got '${value}'`)
      options[key] = ms
      continue
    }
    const name = key as keyof GaugeOptions
    const kind = OFF_UNLESS_NUMBER.includes(name) ? 'number' : typeof GAUGE_DEFAULTS[name]
    const choices = CHOICES[name]
    if (choices?.includes(value)) options[name] = value
    else if (value === 'null' && NULLABLE.includes(name)) options[name] = null
    else if (kind === 'boolean' && (value === 'true' || value === 'false')) options[name] = value === 'true'
    else if (kind === 'number' && value.trim() !== '' && Number.isFinite(Number(value)))
      options[name] = Number(value)
    else {
      const expected = choices
        ? `one of ${choices.join(', ')}`
        : kind === 'boolean'
          ? 'true or false'
          : `a number${NULLABLE.includes(name) ? ' or null' : ''}`
      throw new InvalidArgumentError(`--variant: ${key} takes ${expected}, got '${value}'`)
    }
  }
  return options as VariantOptions
}

/** A variant's options split into gauge's and the bridge's spawn options. */
export function splitVariant(options: VariantOptions): {
  gauge: Partial<GaugeOptions>
  bridge: { parkedLingerMs?: number }
} {
  const { parkedLingerMs, ...gauge } = options
  return { gauge, bridge: parkedLingerMs === undefined ? {} : { parkedLingerMs } }
}
