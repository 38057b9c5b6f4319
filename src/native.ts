import type * as Native from '../native.cjs'
import { UnsupportedError } from './errors.js'

export type { ProbeOptions, ProbeSnapshot, ThreadSnapshot } from '../native.cjs'

let binding: typeof Native | undefined

/**
 * The native binding, loaded on first use so that importing gilgauge on an
 * unsupported platform fails only when the probe is needed, with a clear error.
 */
export function native(): typeof Native {
  if (binding) return binding
  if (process.platform !== 'linux') {
    throw new UnsupportedError(
      `gilgauge reads /proc and runs on Linux only (this is ${process.platform}-${process.arch})`,
    )
  }
  try {
    binding = require('../native.cjs') as typeof Native
  } catch (err) {
    const detail = err instanceof Error ? err.message.split('\n')[0] : String(err)
    throw new UnsupportedError(
      `no gilgauge binary for linux-${process.arch} could be loaded (${detail}): ` +
        'install the matching gilgauge-linux-* package, or build from source with a Rust toolchain: npm run build',
    )
  }
  return binding
}
