/**
 * The public API of the `wasm-hotswap` package: what `import … from 'wasm-hotswap'` gives a
 * program that embeds the engine. Only re-exports live here; anything not exported from this
 * file is internal and may change without notice. README.md ("Embedding the engine") shows it
 * in use.
 */

// Everything non-deterministic a module can observe (clocks, randomness).
export type { Environment } from './abi/imports.js';
export {
  type ComponentState,
  type ComponentStatus,
  type FaultRecord,
  UpgradeInProgress,
} from './component/component.js';
export type { TrapKind } from './component/instance.js';
// What an upgrade, a fault and a status report look like.
export type { SnapshotPolicy, SwapPhase, SwapReport } from './component/swap.js';
// Configuration: a file read and validated, and the shapes it produces.
export {
  type ComponentConfig,
  ConfigError,
  type ConfigOverrides,
  type ControlConfig,
  DEFAULT_PROBATION,
  type EngineConfig,
  type ListenConfig,
  loadConfig,
  type ProbationConfig,
} from './config.js';
// What `hotswap start` runs: the engine with the SQLite repository, history and control API.
export { ControlPlane, type ControlPlaneOptions } from './control/plane.js';
// The engine: components, their sources, upgrades and rollbacks.
export { Engine, type EngineOptions, NotFound, UnknownComponent, type UpgradeTarget } from './engine.js';
// Joining an engine to a fleet over NATS JetStream, and rolling a version out to it (docs/FLEET.md).
export { type AgentOptions, FleetAgent } from './fleet/agent.js';
export { type Outcome, Rollout, type RolloutOptions } from './fleet/rollout.js';
export { Logger, type LogLevelName } from './log.js';
export { ModuleRejected } from './modules/errors.js';
export { BundledModules } from './repository/bundled.js';
export { type ModuleRepository, type StoredModule, VersionConflict } from './repository/repository.js';
// Where modules come from.
export { ModuleStore, type ModuleVersion, type NewVersion } from './repository/store.js';
