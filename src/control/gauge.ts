/**
 * gilgauge's own policy (DESIGN.md §4): feed-forward from the decomposition, feedback to confirm.
 *
 * Each interval:
 *  1. An interval with fewer than `minCompletions` completions is not used (held, recorded as such).
 *     With `judgeAtHostSpeed` (off) and a host speed probe, throughput is read at the first interval's speed.
 *  2. Phase check: per-task cpu or per-task genuine wait moving by more than `phaseChangeRatio`, or
 *     throughput at an unchanged size leaving its band, the same way in two intervals in a row, is a
 *     change. When it moves the knee by `phaseKneeRatio` or more it starts a new phase: everything learnt
 *     about sizes is forgotten and the steps start large again. A smaller move is drift (this host slows
 *     and speeds up under its neighbours: per-task cpu ×0.65–1.6 on workloads that never change, knee
 *     ×0.47–1.94): the throughputs measured before it are dropped, as they no longer compare, and the
 *     rest (floor, ceiling, refused moves, the target's bias) is kept. Not while a probe, fill, shed or
 *     trim is being judged.
 *  3. Feed-forward target (estimate.ts), smoothed (EWMA 0.5), times a feedback `bias` (1 at a phase start).
 *     With `gilBoundFloorOneCore` (off), on one core where the GIL binds, at least that floor, reached in
 *     one move, back only when its mean fell beyond the band for means.
 *  3a. Warm-up: after a growth, intervals in which the new workers have not all finished a first task, or in
 *     which first tasks cost materially more CPU than the others (per-thread set-up such as an ONNX Runtime
 *     session), are not used — neither to judge the move nor to detect a phase (up to MAX_WARMUP_INTERVALS).
 *  4. Feedback on the last move, judged on the first interval at the new size against the mean throughput
 *     measured at the old size: a drop beyond the noise band goes back; a growth that gained less than half
 *     the band while contention (gil + lock + runq share) rose by `contentionRise` goes back (on one core,
 *     where a thread more can only queue for the core, one that gained nothing); a probe that did not gain a
 *     full band goes back. Going back sets the bias so the target is the old size. With
 *     `growOnMeansOneCore`, a growth on one core is judged on means instead, like a fill.
 *  5. At target (within a deadband): after two quiet intervals, move to the best-known size if it is better
 *     beyond noise; else, while the bottleneck (the GIL or the cores) is measurably short of busy and
 *     threads genuinely wait, fill: grow in proportion to the shortfall (up to `fillCapKnees` × the knee)
 *     and keep the growth only if the bottleneck got busier and throughput did not fall beyond noise (the
 *     band for means on one core, the noise floor where threads run at once), or throughput rose beyond
 *     noise (on one core, or with `fillKeptAtNoLossMultiCore`, did not fall); a refused fill is not tried again in the phase (on one core, where
 *     the bottleneck was no less busy, up to `fillRetriesOneCore` times after four quiet intervals); else
 *     probe one step up (once per phase unless probes keep paying) to look past the knee.
 *  5a. Idle workers while calls wait: when fewer than size / `headroom` workers are busy (Little's law:
 *     completions/s × a task's wall time in its worker) while the caller has calls outstanding beyond the
 *     pool, the pool is not what limits throughput — handing calls to it is (the caller's event loop, the
 *     pipe, the companion's reader thread, which needs the GIL too). Two such intervals in a row cap the
 *     pool at `headroom` × the busy workers until it saturates again (busy ≥ `saturatedOccupancy` × size):
 *     the same margin the knee gets, over the workers the calls actually keep busy.
 *  5b. Hand-offs: when the up-probe is spent and the GIL sits free while threads wait for it at least
 *     `handoffShedAbove` of the time (window.total.gilBusy − gilHeld), shed a fifth of the pool for
 *     `probeWindows` intervals. Past a point every GIL release with a waiter is a hand-off, and more
 *     threads make more of them while neither the GIL's held time nor the cores fill (measured in
 *     benches/results/effective-workers.md: pandas on two cores peaks at 8–9 threads with the GIL held
 *     0.39–0.41 and hand-offs 0.22–0.31; at 10 they take 0.43 and throughput is 7–9 % lower). The
 *     smaller pool is kept when it ran at least as fast, and is then the phase's ceiling: the
 *     feed-forward reads the lower CPU per task a smaller convoy costs as room to grow, and would walk
 *     the pool back into it.
 *  5c. Trim: where the GIL is the bottleneck while cores stand spare (its knee below the cores'), the
 *     headroom's extra threads run on other cores and fight for the GIL across them (seen as hand-offs of
 *     at least `trimMinHandoff` of the time; without them a thread more only queues), and one thread fewer
 *     can be faster (measured in benches/results/bench-pass10-repeats2: cpu-heavy on two cores, 1 thread
 *     2 814–3 094/s against 2 275–2 384/s at 4). While one thread is at least `trimMinThreadShare` of the
 *     pool, so that its effect can show through the noise, a settled pool tries one thread fewer for
 *     `probeWindows` intervals before filling or probing, and keeps it, as its ceiling, when it ran at least
 *     as fast. A refused trim is not tried again from the same size in the phase.
 *  6. Otherwise step toward the target by a fraction (0.8, then ×0.6 per move, floor `minGain`, divided by
 *     1 + direction reversals), at least 1. Never grow without a backlog, or while contention rises and
 *     throughput does not.
 *
 * Without a window (rusage tier) only per-task cpu and wall are known; wall − cpu mixes genuine waits with
 * GIL waits. The policy then takes the smallest per-task wall − cpu seen in the phase as the genuine wait
 * (an upper bound: GIL waits only add to it) and, once at target, probes one step down to discover whether
 * the wait shrinks with fewer threads (contention) or not (genuine). This is slower (about three intervals
 * per step when shrinking) and blind to runq; see the report for what it cannot see.
 */
import {
  bottleneckKnee,
  cpuBusyShare,
  gilBoundUtilisationOneCore,
  gilEnabled,
  kneeBounds,
  type Observation,
  observe,
} from './estimate.js'
import type { ControlInput, Decision, Policy } from './policy.js'
import { clampSize, RunningStats, round3 } from './util.js'

/** When contention judges a growth on one core (see GaugeOptions.contentionHoldsGrowthOneCore). */
export const CONTENTION_HOLDS_GROWTH = ['always', 'unlessGilBound', 'never'] as const
export type ContentionHoldsGrowth = (typeof CONTENTION_HOLDS_GROWTH)[number]

export interface GaugeOptions {
  /** How often to decide (ms). */
  intervalMs: number
  /** Intervals with fewer completions are not used. */
  minCompletions: number
  /** true/false when the caller knows (the companion's hello); 'auto' reads it from the window. */
  gilEnabled: boolean | 'auto'
  /** Smallest relative throughput change ever treated as real. */
  noiseFloor: number
  /** Noise band before repeated measurements at one size give an estimate. */
  initialNoiseBand: number
  /** Relative distance to the target within which the size holds. */
  deadband: number
  /** Fraction of the distance to the target moved by the first step of a phase, and the floor later. */
  firstGain: number
  minGain: number
  /** Rise of the contention share (absolute) that counts as "contention grows". */
  contentionRise: number
  /** Factor of change in per-task cpu or wait that signals a change of the workload. */
  phaseChangeRatio: number
  /** Factor by which such a change must move the knee to start a new phase; smaller moves are drift. */
  phaseKneeRatio: number
  /** Probe past the target once settled. */
  probe: boolean
  /** Intervals spent at a probed size before judging it (their mean is compared). */
  probeWindows: number
  /** The up-probe adds this share of the size (at least one thread). */
  probeStep: number
  /**
   * Fill: grow while the bottleneck is busy less than this share of the time (null: never). The knee
   * assumes task times that vary little; with variable ones the curve keeps rising well past 1.5 × the
   * knee (measured here: vision on one core at 7 threads kept its core 0.79–0.97 busy, median 0.89, and
   * gained to 16). Utilisation comes from CPU time and the GIL's held share, continuous measures that
   * see a gain of a few per cent which the completions' noise hides.
   */
  fillBelow: number | null
  /** Fill never grows past this many times the knee, however idle the bottleneck looks. */
  fillCapKnees: number
  /** Smallest rise of the bottleneck's busy share (absolute) that keeps a fill. */
  fillMinRise: number
  /**
   * Factor applied to the knee 1 + (io + sleep)/cpu. The knee is where the
   * closed loop's asymptotes cross, not where throughput peaks: with variable
   * service times the curve bends early (mean value analysis: 76–90 % of
   * capacity at the knee, 95–99.9 % at 1.5 × the knee for knees of 3–40), and
   * past it the curve is flat until the cliff, far beyond (hundreds of
   * threads). Undershooting costs throughput in proportion; overshooting by
   * half costs almost nothing. Measured here: gauge at the knee reached only
   * 0.5 of the best static pool on two workloads.
   */
  headroom: number
  /**
   * Share of the pool busy at which the cap of step 5a is lifted: the pool is the bottleneck again.
   * Measured (benches/results/pool-occupancy.md): CPU-bound and GIL-bound pools keep 0.95–1.0 of their
   * workers busy; io-dominant on two cores keeps 11 busy at 24 and at 32 threads, 9–11 at 16.
   */
  saturatedOccupancy: number
  /** Hand-off share of wall time at or above which a settled pool sheds threads (step 5b; null: never). */
  handoffShedAbove: number | null
  /** Step 5c trims while one thread is at least this share of a GIL-bound pool (null: never). */
  trimMinThreadShare: number | null
  /**
   * Step 5c trims only while hand-offs (the GIL free though wanted) take at least this share of wall time
   * at the size: the fight across cores that a trim ends. Without it, a thread past the knee only queues
   * for the GIL and covers the spread of the waits. Measured in passes 13–15 on two cores: of the six
   * trims tried at hand-off means of 0.00–0.03 (rag, io-dominant), five lost 1–29 % and went back, and
   * one (rag 4 → 3) was kept on noise, below the sweep's 0.94 at 4. The ten trims kept elsewhere
   * (balanced, cpu-leaning, cpu-heavy, cpu-dominant, analytics) left sizes with hand-off means 0.05–0.35.
   */
  trimMinHandoff: number
  /**
   * On one core, how many times a fill refused while its bottleneck was no less busy may be tried again
   * in a phase (after FILL_RETRY_QUIET_INTERVALS quiet intervals); where threads run at once, or where
   * the bottleneck got less busy, a refused fill ends fills for the phase. A fill is judged on three
   * intervals against the old size's earlier ones, and on one core this host moves throughput at a fixed
   * size by 10–30 % within seconds. Passes 15 and 16 (this judge) refused 16 fills on one core, at −2 %
   * to −28 %; 6 of them with the bottleneck no less busy, among them cpu-heavy 4 → 5 (−28 %), voice
   * 23 → 27 (−28 %) and sensor fusion 11 → 17 (−18 %; it settled at 11, 0.69 of the best). Interleaved
   * static runs (benches/results/pool-occupancy-one-core-large.md, three repeats) put sensor fusion at
   * 316/s at 8 threads and 396/s at 16 and 32, and cpu-heavy at 2 098/s at 4 and 2 183–2 653/s at 8–64;
   * cpu-leaning is flat from 4 to 64 (3 755–4 286/s), so a retried fill costs little where it does not pay.
   */
  fillRetriesOneCore: number
  /**
   * On one core, judge a growth toward the target like a fill, on the mean of `probeWindows` intervals,
   * and do not hold it back on contention. Judged three intervals at a time the pool grows too slowly to
   * reach its target in the steady half: gauge / variant 1.10 (0.94–1.28). Off; docs/gauge-options.md.
   */
  growOnMeansOneCore: boolean
  /**
   * On one core with a GIL, the fill reads the bottleneck's busy share from the GIL's held share alone where
   * the GIL holds most of the CPU (gilBoundUtilisationOneCore): the core's CPU share also counts the
   * hand-offs' overhead, which more threads shrink, and hides room to grow. Over 13 pairs, two repeats,
   * no effect the bench can tell from its noise. Off; docs/gauge-options.md.
   */
  fillOnGilHeldOneCore: boolean
  /**
   * On one core with a GIL, the knee's factor where the GIL holds most of the CPU (null: `headroom`
   * everywhere): the knee divides by a CPU per task that includes overhead more threads shrink. Growths
   * sent back on one interval reset the target, so the factor hardly moved the size. Off;
   * docs/gauge-options.md.
   */
  gilBoundHeadroomOneCore: number | null
  /**
   * On one core, whether contention judges growth: a growth whose first interval gained nothing while
   * contention rose goes back, and no growth starts while contention rises and throughput does not.
   * 'unlessGilBound' skips this where the GIL holds most of the CPU: there a thread more always raises
   * the run-queue share, so it read one noisy interval against zero. Measured against 'always' and
   * 'never' over three to six repeats: docs/gauge-options.md.
   */
  contentionHoldsGrowthOneCore: ContentionHoldsGrowth
  /**
   * On one core with a GIL, where the GIL holds most of the CPU, the smallest size the target takes
   * (null: none), reached in one move and judged on means; refused, it is off for the phase and leaves
   * the bias alone. The knee misses the CPU per task that a larger pool saves there. Over four repeats
   * floor / off 1.015 (0.90–1.26) where it acted: within the noise. Off; docs/gauge-options.md.
   */
  gilBoundFloorOneCore: number | null
  /**
   * Where threads run at once, keep a fill that lost no throughput (mean gain ≥ 0) though the busy share did
   * not rise, as on one core, instead of asking a gain beyond the band for means. At 100–200 tasks/s an
   * interval holds 50–100 completions, and the band, 7–10 %, is as large as what a fill can gain on a
   * plateau: two-core fills refused at +2 % to +7 % (passes 30–35: MobileNetV2 17 → 25 at +6 %, whose
   * confirmations read 150–166/s at 16 and 190–200/s at 32). A fill is capped at `fillCapKnees` × the knee,
   * far below the cliff, and one that lost is still refused. On seven two-core pairs, two repeats, gauge /
   * variant 1.08 (0.96–1.23); ≥ 0.95 of the best static pool gauge 5, the variant 2. Off; docs/gauge-options.md.
   */
  fillKeptAtNoLossMultiCore: boolean
  /**
   * Read every interval's throughput at one host speed: × (ns per iteration of the host's speed probe now /
   * in the first interval probed)^s, s the share of the cores the process kept busy (only CPU time runs
   * slower). This host runs each vCPU at one of two speeds ~1.7× apart, switching every few tens of ms;
   * over 1 s windows the slowest read 1.13× the fastest with one CPU busy and 1.62× with two
   * (benches/results/host-speed.md), against the few per cent a fill or probe must show. Needs
   * `hostNsPerIter` in the input (the bench's probe); without it, or off, throughput is as measured. On
   * seven two-core pairs, two repeats, at one speed gauge / variant 1.01 (0.81–1.18): the probe's half-second
   * reading takes out ~15 % of the interval noise. Off; docs/gauge-options.md.
   */
  judgeAtHostSpeed: boolean
}

export const GAUGE_DEFAULTS: GaugeOptions = {
  intervalMs: 500,
  minCompletions: 20,
  gilEnabled: 'auto',
  noiseFloor: 0.05,
  initialNoiseBand: 0.15,
  deadband: 0.05,
  firstGain: 0.8,
  minGain: 0.25,
  contentionRise: 0.05,
  phaseChangeRatio: 1.35,
  phaseKneeRatio: 2,
  probe: true,
  probeWindows: 3,
  probeStep: 0.1,
  headroom: 1.5,
  fillBelow: 0.95,
  fillCapKnees: 4,
  fillMinRise: 0.01,
  saturatedOccupancy: 0.9,
  handoffShedAbove: 0.25,
  trimMinThreadShare: 0.2,
  trimMinHandoff: 0.04,
  fillRetriesOneCore: 2,
  growOnMeansOneCore: false,
  fillOnGilHeldOneCore: false,
  gilBoundHeadroomOneCore: null,
  contentionHoldsGrowthOneCore: 'unlessGilBound',
  gilBoundFloorOneCore: null,
  fillKeptAtNoLossMultiCore: false,
  judgeAtHostSpeed: false,
}

/** What was measured at one pool size in the current phase. */
interface SizeRecord {
  throughput: RunningStats
  contention: RunningStats
  utilisation: RunningStats
  handoff: RunningStats
}

interface Move {
  from: number
  to: number
  kind: 'step' | 'grow' | 'floor' | 'probe' | 'fill' | 'shed' | 'trim' | 'best' | 'back'
  /** Per-task wall − cpu at the old size (for judging downward probes). */
  fromApparentWaitNs?: number
  /**
   * What was measured at the new size since this move, for judging a probe or fill on its own intervals:
   * an earlier visit to the same size (the run's first interval, say) must not vote on this one.
   */
  seen: { throughput: RunningStats; utilisation: RunningStats }
}

interface PhaseReference {
  cpuNs: number
  waitNs: number
}

/** Moves judged on `probeWindows` intervals of their own, and how a decision names the wait. */
const JUDGED_MOVE_VERB: Partial<Record<Move['kind'], string>> = {
  probe: 'probing',
  grow: 'growing to',
  floor: 'trying the floor',
  fill: 'filling',
  shed: 'shedding to',
  trim: 'trimming to',
}

/** How a decision that starts a new phase (step 2) begins its reason. */
export const PHASE_CHANGE_REASON = 'workload changed'
/** How a decision that notes drift (step 2: a change too small to start a phase) begins its reason. */
export const DRIFT_REASON = 'workload drifted'

/** The wait step 2 follows: the window's genuine wait, or from task times alone wall − cpu. */
const phaseWait = (obs: Observation): number => (obs.source === 'window' ? obs.waitNs : obs.apparentWaitNs)

const CAP_REVERSALS = 4
/** Longest wait for new workers to warm up before a growth is judged anyway. */
const MAX_WARMUP_INTERVALS = 6
/** First tasks' extra CPU, as a share of the interval's task CPU, that makes an interval a warm-up. */
const WARMUP_CPU_SHARE = 0.1
/** Quiet intervals at a size after a refused fill before one core tries a fill again. */
const FILL_RETRY_QUIET_INTERVALS = 4

/** Step 2's measures (per-task cpu, wait/cpu, throughput at one size): −1 fell, 1 rose, 0 within bounds. */
type Shift = [number, number, number]

/** A growth whose new workers are still setting up. */
interface Warmup {
  newWorkers: number
  firstTasksSeen: number
  intervals: number
}

export class GaugePolicy implements Policy {
  readonly name = 'gauge'
  readonly intervalMs: number
  readonly options: GaugeOptions

  private phase = 0
  private ref: PhaseReference | null = null
  /** Step 2: how the last interval moved past the phase thresholds, if it did. */
  private suspicious: Shift | null = null
  private sizes = new Map<number, SizeRecord>()
  private targetEstimate: number | null = null
  private bias = 1
  private moves = 0
  private reversals = 0
  private lastDirection = 0
  private lastMove: Move | null = null
  private warmup: Warmup | null = null
  private quietIntervals = 0
  private probeAllowed = true
  /** Fills refused in this phase (see judgeFill: none more where threads run at once, a few on one core). */
  private fillRefusals = 0
  /** The last refused fill may be tried again: one core, and the bottleneck was no less busy at its size. */
  private fillRetryable = false
  /**
   * The size the last kept fill reached: the target's floor for the rest of the phase. What the probe
   * reads can move with the size (see decide), and the feed-forward would otherwise walk the pool back.
   */
  private fillFloor = 0
  /** gilBoundFloorOneCore while it applies in this phase (0: none), and whether it was refused. */
  private gilFloor = 0
  private gilFloorRefused = false
  /** Step 5b: the size a kept shed came down to, the target's ceiling for the rest of the phase. */
  private ceiling = Number.POSITIVE_INFINITY
  private shedAllowed = true
  /** Step 5c: sizes from which a trim was refused in this phase. */
  private trimRefusedFrom = new Set<number>()
  /** The GIL is the bottleneck with cores to spare (its knee below the cores' knee), last interval. */
  private gilBoundWithSpareCores = false
  /** The process has one core: threads past the knee can only queue for it (see contentionIsCost). */
  private oneCore = false
  /** On one core, the GIL held most of the CPU in this interval (gilBoundUtilisationOneCore). */
  private gilBoundOneCore = false
  /** The knee (feed-forward target without headroom) of the last interval, for the fill's cap. */
  private knee = 1
  /** Smallest per-task wall − cpu in this phase (tasks-only estimate of genuine wait). */
  private minApparentWaitNs = Number.POSITIVE_INFINITY
  private previous: { size: number; obs: Observation } | null = null
  /** The host speed probe's first reading: `judgeAtHostSpeed` reads every throughput at this speed. */
  private hostReferenceNs: number | null = null
  /** Step 5a: the cap from the workers the calls keep busy (null: none), and the low readings so far. */
  private deliveryCap: number | null = null
  private idleReadings: Array<{ size: number; busy: number }> = []
  /** The first interval of all, kept apart from the sizes' records (see decide); undefined until then. */
  private coldStart: { size: number; record: SizeRecord } | null | undefined = undefined

  /** See Policy.minCompletions: the loop stretches an interval until it has these. */
  get minCompletions(): number {
    return this.options.minCompletions
  }

  constructor(options: Partial<GaugeOptions> = {}) {
    this.options = { ...GAUGE_DEFAULTS, ...options }
    this.intervalMs = this.options.intervalMs
  }

  decide(input: ControlInput): Decision {
    const size = clampSize(input.size, input.min, input.max)
    const opt = this.options
    const gil = gilEnabled(input, opt.gilEnabled)
    const base = { size: input.size, phase: this.phase, gil, completions: input.tasks.completions }

    if (input.tasks.completions < opt.minCompletions) {
      this.lastMove = null // an unusable interval cannot confirm or refute the last move
      return {
        size,
        reason: `interval not used: ${input.tasks.completions} completions < ${opt.minCompletions}`,
        inputs: base,
      }
    }
    const obs = observe(input, gil)
    if (!obs) return { size, reason: 'interval not used: no task CPU time measured', inputs: base }
    const hostFactor = this.hostSpeedFactor(input)
    if (hostFactor !== null) obs.throughput *= hostFactor
    this.oneCore = input.cores <= 1
    // The GIL's held share where, on one core, it holds most of the CPU; else null (the options below).
    const gilBoundBusy = gil && this.oneCore && input.window ? gilBoundUtilisationOneCore(input.window) : null
    this.gilBoundOneCore = gilBoundBusy !== null
    if (opt.fillOnGilHeldOneCore) obs.utilisation = gilBoundBusy ?? obs.utilisation
    // Once seen, the floor holds for the phase: the GIL's held share wavers about the guard's line.
    if (opt.gilBoundFloorOneCore !== null && this.gilBoundOneCore && !this.gilFloorRefused)
      this.gilFloor = opt.gilBoundFloorOneCore
    const warming = this.stillWarming(input)
    if (warming)
      return { size, reason: warming, inputs: { ...base, warmupCompletions: input.tasks.warmupCompletions } }

    // While a probe or fill is judged the size is new, and what the probe measures can move with the size
    // itself (measured: balanced on one core, (io+sleep)/cpu 3 at 8 threads, 1.0–1.5 at 12–14); it would
    // look like a new workload and start a phase before the move is judged. Judge it first.
    const judging = this.moveUnderJudgement(size) !== null
    const phaseNote = judging ? null : this.checkPhase(obs, size)
    // Two readings in a row means adjacent intervals: a reading before the judged ones does not pair with
    // one after them.
    if (judging) this.suspicious = null
    if (obs.source === 'tasks') {
      this.minApparentWaitNs = Math.min(this.minApparentWaitNs, obs.apparentWaitNs)
      obs.waitNs = this.minApparentWaitNs
      obs.contentionShare =
        Math.max(0, obs.apparentWaitNs - this.minApparentWaitNs) / (obs.cpuNs + obs.apparentWaitNs)
    }

    const busyWorkers = this.noteBusyWorkers(input)
    const knees = kneeBounds(obs, gil, input.cores)
    this.knee = bottleneckKnee(knees)
    this.gilBoundWithSpareCores = knees.gil !== null && knees.gil < 0.95 * knees.cores
    const headroom =
      opt.gilBoundHeadroomOneCore !== null && gilBoundBusy !== null
        ? opt.gilBoundHeadroomOneCore
        : opt.headroom
    const raw = headroom * this.knee
    // Readings at a size being judged do not move the estimate: judging it decides whether they count.
    if (!judging || this.targetEstimate === null)
      this.targetEstimate = this.targetEstimate === null ? raw : 0.5 * this.targetEstimate + 0.5 * raw
    const band = this.noiseBand()
    const here = this.recordAt(size)
    const judged = this.judgeLastMove(obs, size, band)
    // The pool and its load start together: the first interval holds the ramp to the first completions
    // (measured: slm on one core, 24.9/s in its first second, 33–37/s at the same size after). It is kept
    // apart: only the first move is judged against it, and it is not a sample of the size or the noise.
    let record = here
    if (this.coldStart === undefined) {
      this.coldStart = { size, record: newRecord() }
      record = this.coldStart.record
    }
    record.throughput.add(obs.throughput)
    if (obs.contentionShare !== null) record.contention.add(obs.contentionShare)
    if (obs.utilisation !== null) record.utilisation.add(obs.utilisation)
    if (obs.handoffShare !== null) record.handoff.add(obs.handoffShare)

    const target = clampSize(
      Math.min(this.sizeCap, Math.max(this.fillFloor, this.gilFloor, this.targetEstimate * this.bias)),
      input.min,
      input.max,
    )
    const best = this.bestKnown()
    const inputs = {
      ...base,
      source: obs.source,
      phase: this.phase,
      cpuMs: round3(obs.cpuNs / 1e6),
      // The knee's wait: the window's io + sleep in units of task CPU (see estimate.ts), short of the
      // task's own wait by the CPU spent outside tasks. apparentWaitMs is the task's own wall − cpu.
      waitMs: round3(obs.waitNs / 1e6),
      apparentWaitMs: round3(obs.apparentWaitNs / 1e6),
      runqMs: round3(obs.runqNs / 1e6),
      waitPerCpu: round3(obs.waitNs / obs.cpuNs),
      gilShare: obs.gilShare === null ? null : round3(obs.gilShare),
      runqShare: obs.runqShare === null ? null : round3(obs.runqShare),
      contention: obs.contentionShare === null ? null : round3(obs.contentionShare),
      handoff: obs.handoffShare === null ? null : round3(obs.handoffShare),
      utilisation: obs.utilisation === null ? null : round3(obs.utilisation),
      throughput: round3(obs.throughput),
      hostNsPerIter: input.hostNsPerIter ?? null,
      hostFactor: hostFactor === null ? null : round3(hostFactor),
      p99Ms: round3(obs.p99Ns / 1e6),
      rawTarget: round3(raw),
      target,
      bias: round3(this.bias),
      fillFloor: this.fillFloor,
      busyWorkers: round3(busyWorkers),
      deliveryCap: this.deliveryCap,
      noiseBand: round3(band),
      bestSize: best?.size ?? null,
      bestThroughput: best ? round3(best.throughput) : null,
    }
    const decided = this.choose(obs, size, target, band, judged, input)
    this.previous = { size, obs }
    const reason = phaseNote ? `${phaseNote}; ${decided.reason}` : decided.reason
    return { size: decided.size, reason, inputs: { ...inputs, gain: round3(decided.gain) } }
  }

  /** Steps 4–6 of the class comment. */
  private choose(
    obs: Observation,
    size: number,
    target: number,
    band: number,
    judged: { size: number; reason: string } | null,
    input: ControlInput,
  ): { size: number; reason: string; gain: number } {
    if (judged) return { ...this.move(size, judged.size, 'back'), reason: judged.reason, gain: 0 }
    const pending = this.moveUnderJudgement(size)
    if (pending) {
      return {
        size,
        reason: `${JUDGED_MOVE_VERB[pending.kind]} ${size} (against ${pending.from})`,
        gain: 0,
      }
    }

    const prev = this.previous
    const here = this.sizes.get(size)
    // Contention growing at an unchanged size while throughput stays flat: give a thread back.
    if (
      this.contentionIsCost(obs) &&
      prev &&
      prev.size === size &&
      here &&
      here.contention.n >= 3 &&
      obs.contentionShare !== null
    ) {
      const rise = obs.contentionShare - here.contention.mean
      const flat = Math.abs(obs.throughput / here.throughput.mean - 1) <= band
      if (rise > 2 * this.options.contentionRise && flat && size > input.min) {
        const to = size - 1
        this.fillFloor = Math.min(this.fillFloor, to)
        this.move(size, to, 'step')
        return { size: to, reason: `contention up ${pct(rise)} at flat throughput: −1`, gain: 0 }
      }
    }

    const deadband = Math.max(0.75, this.options.deadband * size) * (1 + 0.5 * this.reversals)
    const delta = target - size
    if (Math.abs(delta) < deadband) {
      this.quietIntervals += 1
      return { ...this.settled(obs, size, target, band, input), gain: 0 }
    }

    const floor = clampSize(Math.min(this.gilFloor, target), input.min, input.max)
    if (this.gilFloor > 0 && floor > size && obs.backlog) {
      // The move is judged against this size's own intervals, not the run's first (see decide).
      if (!here || here.throughput.n < 2)
        return { size, reason: `GIL-bound on one core: measuring ${size} before the floor ${floor}`, gain: 0 }
      this.move(size, floor, 'floor')
      this.moves += 1
      return { size: floor, reason: `GIL-bound on one core: ${size} → ${floor}, the floor`, gain: 0 }
    }
    const gain =
      Math.max(this.options.minGain, this.options.firstGain * 0.6 ** this.moves) / (1 + this.reversals)
    const step = Math.sign(delta) * Math.max(1, Math.round(Math.abs(delta) * gain))
    const to = clampSize(size + step, input.min, input.max)
    const onMeans = to > size && this.oneCore && this.options.growOnMeansOneCore
    if (to > size) {
      if (!obs.backlog)
        return { size, reason: `target ${target} but no backlog: growing would not help`, gain }
      const rising =
        onMeans || !this.contentionJudgesGrowth(obs) ? null : this.contentionRisingAlone(obs, band)
      if (rising) return { size, reason: `target ${target} but ${rising}: no growth`, gain }
    }
    if (to === size) return { size, reason: `target ${target}, at a bound`, gain }
    this.move(size, to, onMeans ? 'grow' : 'step')
    this.moves += 1
    const why = `${obs.source === 'window' ? '(io+sleep)/cpu' : '(wall−cpu)/cpu'} ${round3(obs.waitNs / obs.cpuNs)}`
    return { size: to, reason: `target ${target} (${why}): ${size} → ${to}`, gain }
  }

  /** At target: go to a better-known size, probe, or hold. */
  private settled(obs: Observation, size: number, target: number, band: number, input: ControlInput) {
    const best = this.bestKnown()
    const here = this.sizes.get(size)
    const cap = this.sizeCap
    if (
      this.quietIntervals >= 2 &&
      best &&
      here &&
      here.throughput.n >= 2 &&
      best.size !== size &&
      best.size <= cap
    ) {
      if (best.throughput > here.throughput.mean * (1 + band)) {
        this.bias = best.size / (this.targetEstimate ?? best.size)
        this.fillFloor = Math.min(this.fillFloor, best.size)
        if (best.size < this.gilFloor) this.refuseGilFloor()
        this.move(size, best.size, 'best')
        return {
          size: best.size,
          reason: `size ${best.size} did better by ${pct(best.throughput / here.throughput.mean - 1)}: back to it`,
        }
      }
    }
    const trim = this.quietIntervals >= 2 ? this.trimStep(obs, size, input) : null
    if (trim) {
      this.move(size, trim.to, 'trim')
      return { size: trim.to, reason: trim.reason }
    }
    const fill = this.quietIntervals >= 2 ? this.fillStep(obs, size, input) : null
    if (fill) {
      this.move(size, fill.to, 'fill')
      return { size: fill.to, reason: fill.reason }
    }
    if (this.options.probe && this.probeAllowed && this.quietIntervals >= 2) {
      const step = Math.max(1, Math.round(this.options.probeStep * size))
      // With a window, look past the knee; from task times alone, look below to expose contention.
      const to = clampSize(obs.source === 'window' ? size + step : size - step, input.min, input.max)
      if (to !== size && (to < size || (obs.backlog && to <= cap))) {
        this.move(size, to, 'probe')
        if (this.lastMove) this.lastMove.fromApparentWaitNs = obs.apparentWaitNs
        return { size: to, reason: `at target ${target}: probing ${to}` }
      }
    }
    const shed = this.quietIntervals >= 2 ? this.shedStep(obs, size, input) : null
    if (shed) {
      this.move(size, shed.to, 'shed')
      return { size: shed.to, reason: shed.reason }
    }
    return { size, reason: `at target ${target}: hold` }
  }

  /** Step 5's fill: where to grow while the bottleneck is short of busy, or null. */
  private fillStep(
    obs: Observation,
    size: number,
    input: ControlInput,
  ): { to: number; reason: string } | null {
    const below = this.options.fillBelow
    const busy = this.sizes.get(size)?.utilisation
    if (below === null || !busy || busy.n < 2 || busy.mean >= below) return null
    if (this.fillRefusals > 0) {
      // On one core a refused fill is most often the host's noise (see fillRetriesOneCore): try again
      // after a few quiet intervals, a bounded number of times.
      const retry = this.fillRetryable && this.fillRefusals <= this.options.fillRetriesOneCore
      if (!retry || this.quietIntervals < FILL_RETRY_QUIET_INTERVALS) return null
    }
    // Growth hides only genuine waits, and only helps when work is queued for a worker.
    if (!obs.backlog || obs.waitNs < 0.05 * obs.cpuNs) return null
    const cap = clampSize(Math.min(this.options.fillCapKnees * this.knee, this.sizeCap), input.min, input.max)
    // Near saturation each thread adds little: a step of one would gain less than the noise can show.
    const share = Math.min(0.5, 10 * (below - busy.mean))
    const to = Math.min(cap, size + Math.max(1, Math.round(size * share)))
    if (to <= size) return null
    return { to, reason: `bottleneck busy ${pct(busy.mean)} < ${pct(below)}: filling ${to}` }
  }

  /** Step 5b: where to shed to while hand-offs keep the GIL idle though wanted, or null. */
  private shedStep(
    obs: Observation,
    size: number,
    input: ControlInput,
  ): { to: number; reason: string } | null {
    const above = this.options.handoffShedAbove
    if (above === null || !this.shedAllowed || obs.source !== 'window') return null
    const handoff = this.handoffMean(size)
    if (handoff === null || handoff < above) return null
    const to = clampSize(size - Math.max(1, Math.round(0.2 * size)), input.min, input.max)
    if (to >= size) return null
    return { to, reason: `GIL free while wanted ${pct(handoff)} ≥ ${pct(above)}: shedding to ${to}` }
  }

  /** The hand-off share at `size` over its intervals in this phase, or null before two of them. */
  private handoffMean(size: number): number | null {
    const handoff = this.sizes.get(size)?.handoff
    return handoff && handoff.n >= 2 ? handoff.mean : null
  }

  /** Step 5c: one thread fewer while the GIL binds with cores to spare and one thread counts, or null. */
  private trimStep(
    obs: Observation,
    size: number,
    input: ControlInput,
  ): { to: number; reason: string } | null {
    const share = this.options.trimMinThreadShare
    if (share === null || obs.source !== 'window' || !this.gilBoundWithSpareCores) return null
    if (1 / size < share || this.trimRefusedFrom.has(size)) return null
    const handoff = this.handoffMean(size)
    if (handoff === null || handoff < this.options.trimMinHandoff) return null
    const to = clampSize(size - 1, input.min, input.max)
    if (to >= size) return null
    return { to, reason: `GIL-bound with cores to spare (knee ${round3(this.knee)}): trying ${to}` }
  }

  /**
   * A shed or trim is judged on the mean of `probeWindows` intervals: kept when the smaller pool was at
   * least as fast (fewer threads for the same work), and then it is the phase's ceiling; otherwise back, and
   * no more sheds this phase (trims: none from that size).
   */
  private judgeReduction(
    move: Move,
    before: SizeRecord,
    obs: Observation,
  ): { size: number; reason: string } | null {
    const judged = this.meanGain(move, before, obs)
    if (!judged) return null
    const { gain } = judged
    if (gain >= 0) {
      this.bias = move.to / (this.targetEstimate ?? move.to)
      this.ceiling = move.to
      this.fillFloor = Math.min(this.fillFloor, move.to)
      this.rebasePhase(obs)
      return null
    }
    if (move.kind === 'trim') this.trimRefusedFrom.add(move.from)
    else this.shedAllowed = false
    this.bias = move.from / (this.targetEstimate ?? move.from)
    return {
      size: move.from,
      reason: `${move.kind} ${move.from} → ${move.to}: throughput ${pct(gain)}: back to ${move.from}`,
    }
  }

  /** Judge the move that led to this interval; returns where to go back to, if anywhere. */
  private judgeLastMove(
    obs: Observation,
    size: number,
    singleBand: number,
  ): { size: number; reason: string } | null {
    const move = this.lastMove
    this.lastMove = null
    if (!move || move.to !== size || move.kind === 'back') return null
    const known = this.sizes.get(move.from)
    const before = known?.throughput.n
      ? known
      : this.coldStart?.size === move.from
        ? this.coldStart.record
        : undefined
    if (!before || before.throughput.n === 0) return null
    let gain = obs.throughput / before.throughput.mean - 1
    let band = singleBand
    const grew = move.to > move.from
    if (move.kind === 'fill') return this.judgeFill(move, before, obs)
    if (move.kind === 'grow' || move.kind === 'floor') return this.judgeGrowthOnMeans(move, before, obs)
    if (move.kind === 'shed' || move.kind === 'trim') return this.judgeReduction(move, before, obs)
    if (move.kind === 'probe' && grew) {
      // A probe is judged on the mean of several intervals, against a band for means, not single values.
      const judged = this.meanGain(move, before, obs)
      if (!judged) return null
      gain = judged.gain
      band = this.meanBand(judged.k, before.throughput.n) ?? band
    }
    const back = (why: string) => {
      this.bias = move.from / (this.targetEstimate ?? move.from)
      if (move.kind === 'probe') this.probeAllowed = false
      return { size: move.from, reason: `${move.from} → ${move.to} ${why}: back to ${move.from}` }
    }
    if (gain < -band) return back(`lowered throughput ${pct(gain)} (noise band ${pct(band)})`)
    const contentionUp =
      obs.contentionShare !== null && before.contention.n > 0
        ? obs.contentionShare - before.contention.mean > this.options.contentionRise
        : false
    if (grew && this.contentionJudgesGrowth(obs) && gain < this.contentionPrice(obs, band) && contentionUp)
      return back(`gained ${pct(gain)} while contention rose`)
    if (move.kind === 'probe') {
      if (grew && gain < band) return back(`probe gained only ${pct(gain)}`)
      if (grew) {
        this.bias = move.to / (this.targetEstimate ?? move.to)
        this.rebasePhase(obs)
      }
      // A downward probe pays when it exposed contention (the tasks' wall − cpu fell).
      if (!grew && !(obs.apparentWaitNs < 0.9 * (move.fromApparentWaitNs ?? 0))) this.probeAllowed = false
    }
    return null
  }

  /** gilBoundFloorOneCore measured slower than a smaller size: off for the rest of the phase. */
  private refuseGilFloor(): void {
    this.gilFloor = 0
    this.gilFloorRefused = true
  }

  /**
   * A one-core growth (growOnMeansOneCore) or the move to gilBoundFloorOneCore: back only when its mean fell
   * beyond the band for means.
   */
  private judgeGrowthOnMeans(
    move: Move,
    before: SizeRecord,
    obs: Observation,
  ): { size: number; reason: string } | null {
    const judged = this.meanGain(move, before, obs)
    if (!judged) return null
    const { k, gain } = judged
    const tolerance = this.meanBand(k, before.throughput.n) ?? this.options.noiseFloor
    if (gain >= -tolerance) {
      if (move.kind === 'floor') this.rebasePhase(obs)
      return null
    }
    // A refused floor leaves the bias alone: the size before it may be where the pool started, not a
    // measured optimum, and the estimate should go on steering.
    if (move.kind === 'floor') this.refuseGilFloor()
    else this.bias = move.from / (this.targetEstimate ?? move.from)
    return {
      size: move.from,
      reason: `${move.from} → ${move.to} lowered throughput ${pct(gain)} over ${k} intervals (band for means ${pct(tolerance)}): back to ${move.from}`,
    }
  }

  /**
   * A judged move's mean throughput over its own intervals against the old size's mean, once it has
   * `probeWindows` of them (k: how many); before that null, and this interval is kept for later.
   */
  private meanGain(move: Move, before: SizeRecord, obs: Observation): { k: number; gain: number } | null {
    const k = move.seen.throughput.n + 1
    if (k < this.options.probeWindows) {
      this.judgeLater(move, obs)
      return null
    }
    return { k, gain: meanWith(move.seen.throughput, obs.throughput) / before.throughput.mean - 1 }
  }

  /** Not enough intervals at the new size yet: keep this one for the move's judgement. */
  private judgeLater(move: Move, obs: Observation): null {
    move.seen.throughput.add(obs.throughput)
    if (obs.utilisation !== null) move.seen.utilisation.add(obs.utilisation)
    this.lastMove = move
    return null
  }

  /** The probe, fill, shed or trim waiting to be judged at this size, if any. */
  private moveUnderJudgement(size: number): Move | null {
    const m = this.lastMove
    return m && m.kind in JUDGED_MOVE_VERB && m.to === size ? m : null
  }

  /**
   * A fill is judged on the mean of `probeWindows` intervals: kept when the bottleneck got busier by
   * `fillMinRise` and throughput did not fall beyond what the noise explains (a gain of a few per cent cannot
   * be asked of the completions' noise, but a real fall can be refused), or when throughput gained beyond
   * the band for means (on one core, did not fall) whatever the busy share says; otherwise back, and no
   * more fills this phase (on one core, `fillRetriesOneCore` more after a few quiet intervals).
   * What the noise explains: the band for means on one core, the noise floor where threads run at once.
   * Refused as falls in pass 13 were −2 % to −19 % with the core busier, on one core's plateau (rag 6 → 7
   * at −18 % in a band for single intervals of 50 %), where the static sweeps rose further.
   */
  private judgeFill(
    move: Move,
    before: SizeRecord,
    obs: Observation,
  ): { size: number; reason: string } | null {
    const at = move.seen
    const judged = this.meanGain(move, before, obs)
    if (!judged) return null
    const { k, gain } = judged
    const busyAfter = obs.utilisation === null ? null : meanWith(at.utilisation, obs.utilisation)
    const rise = busyAfter === null || before.utilisation.n === 0 ? null : busyAfter - before.utilisation.mean
    // On one core a thread more queues for the core, and a fall within the noise is the host's (per-task
    // CPU ×2 within seconds here), not the fill's: only a fall beyond the band for means refuses. Where
    // threads run at once, those past the knee fight across cores: any fall of the noise floor refuses (see
    // contentionIsCost).
    const tolerance = this.oneCore
      ? (this.meanBand(k, before.throughput.n) ?? this.options.noiseFloor)
      : this.options.noiseFloor
    const busier = rise !== null && rise >= this.options.fillMinRise && gain > -tolerance
    // The busy share reads only the GIL and the cores; a bottleneck it cannot see (measured: io-dominant on
    // two cores, 0.55 busy at every size, +12 % from 21 to 32 threads) shows in throughput alone.
    const faster =
      gain >= this.fillMustGain(obs, this.meanBand(k, before.throughput.n) ?? Number.POSITIVE_INFINITY)
    if (busier || faster) {
      this.bias = move.to / (this.targetEstimate ?? move.to)
      this.fillFloor = move.to
      this.rebasePhase(obs)
      return null
    }
    this.fillRefusals += 1
    // Throughput fell while the bottleneck was no less busy: the host's noise, or a cost that a retry,
    // measured again at other moments, shows again. A bottleneck less busy at the larger size is a loss the
    // continuous measure saw (the simulated plant past its peak: −2 % to −16 %) and is not retried.
    this.fillRetryable = this.oneCore && rise !== null && rise >= 0
    this.bias = move.from / (this.targetEstimate ?? move.from)
    const busyNote =
      rise === null ? 'busy share unknown' : `bottleneck busy ${rise >= 0 ? '+' : ''}${pct(rise)}`
    return {
      size: move.from,
      reason: `fill ${move.from} → ${move.to}: ${busyNote}, throughput ${gain >= 0 ? '+' : ''}${pct(gain)}: back to ${move.from}`,
    }
  }

  /** Step 3a: a reason to skip this interval while a growth's new workers set up, or null. */
  private stillWarming(input: ControlInput): string | null {
    const w = this.warmup
    if (!w) return null
    const t = input.tasks
    w.firstTasksSeen += t.warmupCompletions
    w.intervals += 1
    const steady = t.completions - t.warmupCompletions
    const extraCpu = t.warmupCpuNs - t.warmupCompletions * t.meanCpuNs
    const taskCpu = steady * t.meanCpuNs + t.warmupCpuNs
    const costly = t.warmupCompletions > 0 && extraCpu > WARMUP_CPU_SHARE * taskCpu
    const pending = w.firstTasksSeen < w.newWorkers
    if ((pending || costly) && w.intervals <= MAX_WARMUP_INTERVALS) {
      const done = Math.min(w.firstTasksSeen, w.newWorkers)
      return `interval not used: ${w.newWorkers} new workers warming up (${done} finished a first task${costly ? `, first tasks +${pct(extraCpu / taskCpu)} of task CPU` : ''})`
    }
    this.warmup = null
    return null
  }

  /**
   * Whether contention rising with the pool is a sign that the pool is too large. From task times alone it
   * is the only sign of GIL contention. With a window, wherever threads can run at once: on two cores the
   * threads past the knee fight across cores for the GIL or the caches (pass 13: balanced and analytics,
   * GIL-bound, peak at 2–4 threads; vision, bound by its cores, at 4; each falls 20–35 % by 16). On one
   * core a thread more can only queue for the core, and for the GIL the running thread holds: that is the
   * pool keeping the core full, and at one size it moves with the host's per-task CPU (rag: 12 and 20 ms in
   * turn). There the paper's controller, which runs at 13 threads on average, ran at or above gauge at
   * 2–9 threads on 7–8 of 13 profiles in each of passes 10–13; on two cores gauge ran above it on 9–11.
   */
  private contentionIsCost(obs: Observation): boolean {
    return obs.source !== 'window' || !this.oneCore
  }

  /** Whether rising contention may hold back or undo a growth (see contentionHoldsGrowthOneCore). */
  private contentionJudgesGrowth(obs: Observation): boolean {
    if (this.contentionIsCost(obs)) return true
    const rule = this.options.contentionHoldsGrowthOneCore
    return rule === 'always' || (rule === 'unlessGilBound' && !this.gilBoundOneCore)
  }

  /**
   * The gain a growth must show to keep it while contention rose: half the band where contention is a cost;
   * on one core, only a gain (pass 13: rag on one core, 5 → 6 at +14 % was refused by half a 50 % band).
   */
  private contentionPrice(obs: Observation, band: number): number {
    return this.contentionIsCost(obs) ? band / 2 : 0
  }

  /**
   * The gain a fill must show in throughput alone to be kept: the band where contention is a cost; on one
   * core, none, as for any growth there: a thread more can only queue for the core, and a growth that lost
   * nothing is kept. Pass 14 on one core undid fills that gained 3–9 % because the busy share, as noisy as
   * throughput, rose less than 1 % (sensor fusion 10 → 15 at +4 %, 14 → 21 at +3 %; io-heavy 16 → 24 at
   * +9 %), where the static sweeps ran 10–40 % higher at the larger sizes. Probes keep the full band: a
   * probe is blind, and kept at no gain it walks the pool up 10 % at a time past the knee.
   */
  private fillMustGain(obs: Observation, band: number): number {
    if (!this.contentionIsCost(obs)) return 0
    return this.options.fillKeptAtNoLossMultiCore && obs.source === 'window' ? 0 : band
  }

  /** "gil/runq rising and throughput not", compared with the previous interval. */
  private contentionRisingAlone(obs: Observation, band: number): string | null {
    const prev = this.previous?.obs
    if (!prev || prev.contentionShare === null || obs.contentionShare === null) return null
    const rise = obs.contentionShare - prev.contentionShare
    const gain = obs.throughput / prev.throughput - 1
    if (rise > this.options.contentionRise && gain < this.contentionPrice(obs, band)) {
      return `contention up ${pct(rise)} while throughput ${gain >= 0 ? '+' : ''}${pct(gain)}`
    }
    return null
  }

  private move(from: number, to: number, kind: Move['kind']): { size: number } {
    const direction = Math.sign(to - from)
    if (direction !== 0 && this.lastDirection !== 0 && direction !== this.lastDirection) {
      this.reversals = Math.min(CAP_REVERSALS, this.reversals + 1)
    }
    if (direction !== 0) this.lastDirection = direction
    this.lastMove = {
      from,
      to,
      kind,
      seen: { throughput: new RunningStats(), utilisation: new RunningStats() },
    }
    this.warmup = to > from ? { newWorkers: to - from, firstTasksSeen: 0, intervals: 0 } : null
    this.quietIntervals = 0
    return { size: to }
  }

  /** Step 2: detect a new workload phase; returns a note when one starts. */
  private checkPhase(obs: Observation, size: number): string | null {
    const ref = this.ref
    if (!ref) {
      this.rebasePhase(obs)
      return null
    }
    const cpuShift = Math.log(obs.cpuNs / ref.cpuNs)
    // From task times alone, wall − cpu also moves with the size; compare it only at an unchanged size.
    const sameSize = this.previous?.size === size
    const wait = phaseWait(obs)
    // The wait matters through the target 1 + wait/cpu: compare that, so that noise in a wait that is
    // tiny next to the cpu (a CPU-bound phase) does not look like a new workload.
    const comparable = obs.source === 'window' || sameSize
    const waitShift = comparable ? Math.log((1 + wait / obs.cpuNs) / (1 + ref.waitNs / ref.cpuNs)) : 0
    const record = this.sizes.get(size)
    const throughputShift =
      sameSize && record !== undefined && record.throughput.n >= 3
        ? obs.throughput / record.throughput.mean - 1
        : 0

    // Which measures moved beyond their threshold, and which way. A new workload moves them the same way
    // two intervals in a row; noise swings them back and forth (bench-pass10-repeats2/decisions.json: sensor
    // fusion on one core, per-task cpu 1.4 and 2.4 ms in turn near one size, read as four workload changes in
    // 20 s when any two large readings in a row counted).
    const threshold = Math.log(this.options.phaseChangeRatio)
    const moved: Shift = [
      Math.abs(cpuShift) > threshold ? Math.sign(cpuShift) : 0,
      Math.abs(waitShift) > threshold ? Math.sign(waitShift) : 0,
      Math.abs(throughputShift) > 2 * this.noiseBand() ? Math.sign(throughputShift) : 0,
    ]
    const lastShift = this.suspicious
    if (lastShift && moved.some((m, i) => m !== 0 && m === lastShift[i])) {
      const shift = `per-task cpu ×${round3(obs.cpuNs / ref.cpuNs)}, wait/cpu ${round3(ref.waitNs / ref.cpuNs)} → ${round3(wait / obs.cpuNs)}`
      // Where the wait is not comparable (task times at a changed size), the knee is estimated with the
      // reference's wait.
      const kneeShift = comparable
        ? Math.exp(waitShift)
        : (1 + ref.waitNs / obs.cpuNs) / (1 + ref.waitNs / ref.cpuNs)
      if (Math.max(kneeShift, 1 / kneeShift) < this.options.phaseKneeRatio) {
        this.noteDrift(obs)
        return `${DRIFT_REASON} (${shift}, knee ×${round3(kneeShift)}): throughputs measured before it dropped`
      }
      this.startPhase(obs)
      return `${PHASE_CHANGE_REASON} (${shift}): phase ${this.phase}`
    }
    if (moved.some((m) => m !== 0)) {
      this.suspicious = moved
      return null
    }
    this.suspicious = null
    ref.cpuNs = 0.7 * ref.cpuNs + 0.3 * obs.cpuNs
    if (comparable) ref.waitNs = 0.7 * ref.waitNs + 0.3 * wait
    return null
  }

  /** A kept probe or fill: its size's readings are the phase's reference from now on. */
  private rebasePhase(obs: Observation): void {
    this.ref = { cpuNs: obs.cpuNs, waitNs: phaseWait(obs) }
    this.suspicious = null
  }

  /**
   * Step 2's drift: the throughputs measured so far were measured on a faster or slower host, so they no
   * longer compare with what comes; what was learnt about sizes from them stands.
   */
  private noteDrift(obs: Observation): void {
    this.rebasePhase(obs)
    this.sizes.clear()
    this.coldStart = null
    this.quietIntervals = 0
  }

  private startPhase(obs: Observation): void {
    this.phase += 1
    this.rebasePhase(obs)
    this.sizes.clear()
    this.coldStart = null
    this.targetEstimate = null
    this.bias = 1
    this.moves = 0
    this.reversals = 0
    this.lastDirection = 0
    this.lastMove = null
    this.quietIntervals = 0
    this.probeAllowed = true
    this.fillRefusals = 0
    this.fillRetryable = false
    this.fillFloor = 0
    this.gilFloor = 0
    this.gilFloorRefused = false
    this.ceiling = Number.POSITIVE_INFINITY
    this.shedAllowed = true
    this.trimRefusedFrom.clear()
    this.minApparentWaitNs = Number.POSITIVE_INFINITY
    this.previous = null
    this.deliveryCap = null
    this.idleReadings = []
  }

  /** `judgeAtHostSpeed`'s factor for this interval's throughput; null when off or not probed. */
  private hostSpeedFactor(input: ControlInput): number | null {
    const ns = input.hostNsPerIter
    if (!this.options.judgeAtHostSpeed || !ns || ns <= 0) return null
    this.hostReferenceNs ??= ns
    return (ns / this.hostReferenceNs) ** cpuBusyShare(input)
  }

  /** Step 5a: read how many workers were busy, set or lift the cap; returns the busy workers. */
  private noteBusyWorkers(input: ControlInput): number {
    const t = input.tasks
    const busy = (t.throughput * t.meanWallNs) / 1e9
    const size = input.size
    // The run's first interval holds the pool's start, when workers wait for their first calls.
    const started = this.coldStart !== undefined
    // Calls the caller has sent beyond the pool's size.
    const callsWaiting = t.queued > 0
    if (started && callsWaiting && this.options.headroom * busy < size - 0.5) {
      // Two readings in a row at one size: one alone may be a stall of the whole machine.
      if (this.idleReadings.some((r) => r.size !== size)) this.idleReadings = []
      this.idleReadings.push({ size, busy })
      if (this.idleReadings.length >= 2) {
        const mean = this.idleReadings.reduce((a, r) => a + r.busy, 0) / this.idleReadings.length
        this.deliveryCap = Math.max(input.min, Math.round(this.options.headroom * mean))
        this.idleReadings = []
      }
      return busy
    }
    this.idleReadings = []
    if (busy >= this.options.saturatedOccupancy * size) this.deliveryCap = null
    return busy
  }

  /** The idle-worker cap of step 5a and the shed ceiling of step 5b, or no bound. */
  private get sizeCap(): number {
    return Math.min(this.deliveryCap ?? Number.POSITIVE_INFINITY, this.ceiling)
  }

  private recordAt(size: number): SizeRecord {
    let r = this.sizes.get(size)
    if (!r) {
      r = newRecord()
      this.sizes.set(size, r)
    }
    return r
  }

  private bestKnown(): { size: number; throughput: number } | null {
    let best: { size: number; throughput: number } | null = null
    for (const [size, r] of this.sizes) {
      if (r.throughput.n > 0 && (!best || r.throughput.mean > best.throughput))
        best = { size, throughput: r.throughput.mean }
    }
    return best
  }

  /** Relative standard deviation of throughput at a fixed size, pooled over sizes; null until measured. */
  private relativeSd(): number | null {
    let squares = 0
    let dof = 0
    for (const r of this.sizes.values()) {
      if (r.throughput.n < 2 || r.throughput.mean <= 0) continue
      squares += r.throughput.sumSquares / r.throughput.mean ** 2
      dof += r.throughput.n - 1
    }
    return dof < 2 ? null : Math.sqrt(squares / dof)
  }

  /** Relative change of one interval's throughput that counts as real: 3σ. */
  private noiseBand(): number {
    const sd = this.relativeSd()
    if (sd === null) return Math.max(this.options.noiseFloor, this.options.initialNoiseBand)
    return Math.min(0.5, Math.max(this.options.noiseFloor, 3 * sd))
  }

  /** Difference of a k-interval mean and an n-interval mean that counts as real: 2σ of the difference. */
  private meanBand(k: number, n: number): number | null {
    const sd = this.relativeSd()
    if (sd === null) return null
    return Math.min(0.5, Math.max(this.options.noiseFloor, 2 * sd * Math.sqrt(1 / k + 1 / n)))
  }
}

function newRecord(): SizeRecord {
  return {
    throughput: new RunningStats(),
    contention: new RunningStats(),
    utilisation: new RunningStats(),
    handoff: new RunningStats(),
  }
}

function pct(x: number): string {
  return `${Math.round(x * 100)}%`
}

/** Mean of the values recorded since a move and this interval's value. */
function meanWith(recorded: RunningStats, value: number): number {
  return (recorded.mean * recorded.n + value) / (recorded.n + 1)
}
