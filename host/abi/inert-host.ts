// Host services with no effects, for running a module away from any component: the warm-up of a
// module being prepared, and tests and benchmarks that drive an instance directly.
import { type HostServices, systemEnvironment } from './imports.js';
import type { PersistentMemory } from './memory.js';

/**
 * HostServices over `memory` that do nothing: replies and sends are accepted and dropped, logs
 * are discarded, no timer is ever set. Pass `overrides` for the calls a caller wants to see (a
 * warm-up collects `output`, a test collects `reply`).
 */
export function inertHost(memory: PersistentMemory, overrides: Partial<Omit<HostServices, 'memory'>> = {}): HostServices {
  return {
    memory,
    environment: systemEnvironment,
    reply: () => 0,
    send: () => 0,
    log: () => {},
    setTimer: () => {},
    cancelTimer: () => false,
    timerDueIn: () => -1,
    output: () => {},
    ...overrides,
  };
}
