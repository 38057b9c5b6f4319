/** Small numeric helpers shared by the policies and the simulator. */

export function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x))
}

/** A pool size: an integer inside [min, max] (and at least 1). */
export function clampSize(n: number, min: number, max: number): number {
  const lo = Math.max(1, Math.round(min))
  return clamp(Math.round(n), lo, Math.max(lo, Math.round(max)))
}

/** Welford's running mean and variance. */
export class RunningStats {
  n = 0
  mean = 0
  private m2 = 0

  add(x: number): void {
    this.n += 1
    const d = x - this.mean
    this.mean += d / this.n
    this.m2 += d * (x - this.mean)
  }

  /** Sum of squared deviations from the mean (for pooling variances). */
  get sumSquares(): number {
    return this.m2
  }
}

/** mulberry32: a tiny seeded PRNG, so simulations and tests are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Round for human-readable reasons and recorded inputs. */
export function round3(x: number): number {
  return Math.round(x * 1000) / 1000
}
