/**
 * The one place where a test prepares a module itself (checks, instrumentation, compile and
 * warm-up, as the engine does before a swap), for unit tests that drive the swap procedure
 * without an engine. Modules come from build/modules (bundled examples) and build/hostile.
 */
import { MEMORY_BASE } from '../../host/abi/abi.js';
import { ModuleFactory } from '../../host/component/module-factory.js';
import type { ModulePolicy } from '../../host/modules/check.js';
import type { PreparedModule } from '../../host/modules/prepared.js';
import { TEST_FUEL, TEST_MEMORY_BYTES } from '../hostile/corpus.js';

/** Prepares modules outside an engine; its worker thread does not keep a test process alive. */
const factory = new ModuleFactory();

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
  return factory.prepare(bytes, { name, version }, testPolicy(options));
}
