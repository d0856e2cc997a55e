/**
 * The public API of the `wasm-hotswap` package: what `import … from 'wasm-hotswap'` gives a
 * program that embeds the engine. Only re-exports live here; anything not exported from this
 * file is internal and may change without notice. README.md ("Embedding the engine") shows it
 * in use.
 */

// The engine: components, their sources, upgrades and rollbacks.
export { Engine, UnknownComponent, NotFound, type EngineOptions, type UpgradeTarget } from './engine.js';

// Configuration: a file read and validated, and the shapes it produces.
export {
  loadConfig,
  ConfigError,
  DEFAULT_PROBATION,
  type EngineConfig,
  type ComponentConfig,
  type ListenConfig,
  type ControlConfig,
  type ProbationConfig,
  type ConfigOverrides,
} from './config.js';

// What `hotswap start` runs: the engine with the SQLite repository, history and control API.
export { ControlPlane, type ControlPlaneOptions } from './control/plane.js';

// Where modules come from.
export { ModuleStore, type ModuleVersion, type NewVersion } from './repository/store.js';
export { BundledModules } from './repository/bundled.js';
export { VersionConflict, type ModuleRepository, type StoredModule } from './repository/repository.js';

// What an upgrade, a fault and a status report look like.
export type { SwapReport, SwapPhase, SnapshotPolicy } from './component/swap.js';
export {
  UpgradeInProgress,
  type ComponentStatus,
  type ComponentState,
  type FaultRecord,
} from './component/component.js';
export type { TrapKind } from './component/instance.js';
export { ModuleRejected } from './modules/errors.js';

// Everything non-deterministic a module can observe (clocks, randomness).
export type { Environment } from './abi/imports.js';
export { Logger, type LogLevelName } from './log.js';
