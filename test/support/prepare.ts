/**
 * The one place where a test prepares a module itself (checks, instrumentation, compile and
 * warm-up, as the engine does before a swap), for unit tests that drive the swap procedure
 * without an engine. Modules come from build/modules (bundled examples) and build/hostile.
 */
import { MEMORY_BASE } from '../../host/abi/abi.js';
import type { ModulePolicy } from '../../host/modules/check.js';
import { type PreparedModule, prepareModule } from '../../host/modules/prepared.js';
import { TEST_FUEL, TEST_MEMORY_BYTES } from '../hostile/corpus.js';

/** The policy of the test components: small fuel budgets, 16 MiB above memoryBase. */
export function testPolicy(options: { trackDirtyPages?: boolean } = {}): ModulePolicy {
  return {
    memoryBase: MEMORY_BASE,
    maxPages: TEST_MEMORY_BYTES / 65536,
    maxModuleBytes: 1024 * 1024,
    allowWasi: false,
    fuel: TEST_FUEL,
    trackDirtyPages: options.trackDirtyPages ?? true,
  };
}

/** Prepares `bytes`, claimed as `name@version`, under the test policy. */
export function prepareForTest(
  bytes: Uint8Array,
  name: string,
  version: string,
  options: { trackDirtyPages?: boolean } = {},
): Promise<PreparedModule> {
  return prepareModule(bytes, { name, version }, testPolicy(options));
}
