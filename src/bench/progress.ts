/** Progress on stderr: what runs now, and the time left (planned durations, scaled by how the run went so far). */

export class Progress {
  private readonly started = performance.now()
  private plannedDone = 0
  private current = ''

  constructor(
    private readonly plannedTotalMs: number,
    private readonly write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  ) {}

  /** Mark `plannedMs` of the plan as done. */
  advance(plannedMs: number): void {
    this.plannedDone += plannedMs
  }

  /** Forget planned work that will not run (a skipped profile or points). */
  drop(plannedMs: number): void {
    this.plannedDone += plannedMs
  }

  leftMs(): number {
    const elapsed = performance.now() - this.started
    const rest = Math.max(0, this.plannedTotalMs - this.plannedDone)
    // Scale the rest by how long the plan's done part really took (not before some of it is done).
    const scale = this.plannedDone > 0.1 * this.plannedTotalMs ? elapsed / this.plannedDone : 1
    return rest * Math.min(3, Math.max(0.5, scale))
  }

  say(what: string): void {
    this.current = what
    const elapsed = (performance.now() - this.started) / 1000
    this.write(`[bench ${fmt(elapsed)} elapsed, ~${fmt(this.leftMs() / 1000)} left] ${this.current}`)
  }
}

function fmt(seconds: number): string {
  const s = Math.round(seconds)
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`
}
