export { BETAPOOL_RULES, type BetapoolOptions, BetapoolPolicy, cpuPercent } from './betapool.js'
export {
  bottleneckUtilisation,
  feedForwardTarget,
  gilBoundUtilisationOneCore,
  gilEnabled,
  type Observation,
  observe,
} from './estimate.js'
export { makePolicy, type PolicySpec } from './factory.js'
export { GAUGE_DEFAULTS, type GaugeOptions, GaugePolicy } from './gauge.js'
export { DecisionHistory, type DecisionRecord } from './history.js'
export { PAPER_RULES, type PaperOptions, PaperPolicy } from './paper.js'
export type { ControlInput, Decision, Policy, TaskWindowStats } from './policy.js'
export {
  bestStaticSize,
  DEFAULT_PLANT,
  kneeSize,
  type Phase,
  Plant,
  type PlantConfig,
  plantPoint,
  type SimulationOptions,
  type SimulationStep,
  simulate,
  WORKLOADS,
  type Workload,
} from './simulate.js'
export { StaticPolicy } from './static.js'
