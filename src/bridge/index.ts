export { type AdaptiveOptions, adaptiveController } from './adaptive.js'
export { AttachedView, type AttachedWindow, type AttachOptions, recommend } from './attach.js'
export {
  type BridgeHello,
  type BridgeStats,
  type CallOptions,
  type CallResult,
  type ExitEvent,
  PythonBridge,
  type PythonPoolStats,
  type ResizeEvent,
  type SpawnOptions,
} from './bridge.js'
export {
  type ControlledBridge,
  type ControllerFactory,
  ControllerLoop,
  type ControllerOptions,
  setAdaptiveControllerFactory,
  type WindowSource,
} from './controller.js'
export {
  BridgeExitedError,
  CancelledError,
  type ExitInfo,
  ProtocolError,
  PythonError,
  TimeoutError,
  UnknownFunctionError,
} from './errors.js'
export { MAX_POOL_SIZE, type PoolOption } from './pool-options.js'
