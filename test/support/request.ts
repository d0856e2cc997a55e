// Sends one request line into a Component's FIFO queue (no sockets) and resolves with its reply,
// and the module policy of such an in-process kv component: for tests that drive one directly.
import { MEMORY_BASE } from '../../host/abi/abi.js';
import type { Component } from '../../host/component/component.js';
import type { ModulePolicy } from '../../host/modules/check.js';
import { DEFAULT_FUEL } from '../../host/modules/fuel-budgets.js';

/** Metered, no WASI, 512 pages above the memory base: room for the migration tests' records. */
export const KV_TEST_POLICY: Readonly<ModulePolicy> = Object.freeze({
  memoryBase: MEMORY_BASE,
  maxPages: (MEMORY_BASE >> 16) + 512,
  maxModuleBytes: 1 << 20,
  allowWasi: false,
  fuel: DEFAULT_FUEL,
});

export function requestThrough(component: Component, line: string): Promise<string> {
  return new Promise((resolve) => {
    component.enqueue({
      kind: 'message',
      channel: 0,
      peer: 'test',
      payload: Buffer.from(line),
      replyTo: {
        reply: (bytes) => {
          resolve(bytes.toString());
          return 0;
        },
      },
    });
  });
}
