/**
 * The default controller of `pool: 'adaptive'`: a ThreadMonitor on the
 * companion's process (told the GIL's address by the companion itself) feeding
 * the gauge policy. Installed by the package entry (src/index.ts).
 */

import { makePolicy, type PolicySpec } from '../control/factory.js'
import type { Policy } from '../control/policy.js'
import { ThreadMonitor } from '../monitor/thread-monitor.js'
import type { PythonBridge } from './bridge.js'
import type { ControllerOptions } from './controller.js'

export interface AdaptiveOptions {
  /** The policy; default 'gauge'. */
  policy?: PolicySpec | Policy
  /** Sampling rate of the monitor (default 200 Hz). */
  hz?: number
  /**
   * The monitor's tier; default 'sample'. The policy needs shares, not exact
   * intervals, and the trace tier puts every syscall of the machine on the
   * kernel's traced path: with a bridge doing ~20 000 small tasks/s that cost
   * a quarter of the throughput in the bench, sampling about 1 %.
   */
  tier?: 'auto' | 'trace' | 'sample'
}

/** The GIL's range as the companion reported it, when it knows both address and size. */
export function gilRangeOf(bridge: PythonBridge): { start: bigint; end: bigint } | undefined {
  const { address, size } = bridge.hello.runtime
  if (address === null || size === null || !bridge.hello.gilEnabled) return undefined
  return { start: address, end: address + BigInt(size) }
}

function isPolicy(value: unknown): value is Policy {
  return typeof value === 'object' && value !== null && typeof (value as Policy).decide === 'function'
}

/** Builds monitor + policy for one bridge; the monitor closes when the controller stops. */
export function adaptiveController(bridge: PythonBridge, options: AdaptiveOptions = {}): ControllerOptions {
  const spec = options.policy ?? 'gauge'
  const policy = isPolicy(spec)
    ? spec
    : makePolicy(spec === 'gauge' ? { gauge: { gilEnabled: bridge.hello.gilEnabled } } : spec)
  let monitor: ThreadMonitor | null = null
  try {
    monitor = ThreadMonitor.watch(bridge.pid, {
      hz: options.hz,
      gilRange: gilRangeOf(bridge),
      tier: options.tier ?? 'sample',
    })
  } catch (error) {
    // Without a probe (e.g. not permitted) the policy falls back to the tasks' own times.
    bridge.emit('warning', error)
  }
  return {
    policy,
    windowSource: (tasks) => {
      if (!monitor || monitor.ended) return null
      return monitor.window({ busyNsByTid: tasks.busyNsByTid })
    },
    onStop: () => monitor?.close(),
  }
}
