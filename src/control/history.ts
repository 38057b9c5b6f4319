import type { ControlInput, Decision, Policy } from './policy.js'

/** One recorded decision: when, from which size, and what was decided on what inputs. */
export interface DecisionRecord extends Decision {
  atMs: number
  from: number
}

/**
 * Wraps any policy and keeps its last `limit` decisions, so a user (or a test) can see why the pool has
 * the size it has. The wrapped policy is unchanged.
 */
export class DecisionHistory implements Policy {
  readonly records: DecisionRecord[] = []

  constructor(
    readonly policy: Policy,
    readonly limit = 1000,
  ) {}

  get name(): string {
    return this.policy.name
  }

  get intervalMs(): number {
    return this.policy.intervalMs
  }

  /** Forwarded: without it the controller loop never stretches a short interval for the wrapped policy. */
  get minCompletions(): number | undefined {
    return this.policy.minCompletions
  }

  decide(input: ControlInput): Decision {
    const decision = this.policy.decide(input)
    this.records.push({ ...decision, atMs: input.nowMs, from: input.size })
    if (this.records.length > this.limit) this.records.splice(0, this.records.length - this.limit)
    return decision
  }

  /** Only the decisions that changed the size. */
  changes(): DecisionRecord[] {
    return this.records.filter((r) => r.size !== r.from)
  }
}
