/**
 * `wasm-hotswap/testing`: run a module in this process, over a fresh persistent memory, with a
 * virtual clock: send messages, fire timers, deliver signals, upgrade, and see faults and quota
 * hits, in milliseconds and without sockets (docs/SDK.md, "Testing a module"). Only re-exports.
 */
export type { FaultRecord } from '../component/fault-recovery.js';
export type { SwapReport } from '../component/swap.js';
export { ModuleRejected } from '../modules/errors.js';
export { ModuleChecks } from './module-checks.js';
export { type Sent, TestComponent, type TestComponentOptions } from './test-component.js';
export { VirtualClock } from './virtual-clock.js';
