// What a component's configuration allows its modules (memory cap, module size, WASI, fuel, dirty
// tracking), as the ModulePolicy that preparing and checking a module take.
import { MEMORY_BASE } from '../abi/abi.js';
import type { ComponentConfig } from '../config.js';
import type { ModulePolicy } from '../modules/check.js';

export function policyOf(config: ComponentConfig): ModulePolicy {
  return {
    memoryBase: MEMORY_BASE,
    maxPages: Math.floor(config.limits.memoryBytes / 65536),
    maxModuleBytes: config.limits.moduleBytes,
    allowWasi: config.wasi,
    trackDirtyPages: config.snapshot === 'incremental',
    ...(config.limits.fuel !== undefined ? { fuel: config.limits.fuel } : {}),
  };
}
