/**
 * The `durability` setting of a component (docs/DURABILITY.md): `none` keeps no journal (state
 * lives in memory only), `os` journals every event and releases outputs once the record is
 * written to the operating system (survives kill -9, not a power cut), `fsync` once it is on
 * the disk (survives both; the default).
 */
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { DurableComponent } from './durable-component.js';

export const DURABILITY_LEVELS = ['none', 'os', 'fsync'] as const;
export type Durability = (typeof DURABILITY_LEVELS)[number];
export const DEFAULT_DURABILITY: Durability = 'fsync';

/** The journal of component `name` under `<dataDir>/durable/<name>/`, or null for `none`. */
export function openDurable(dataDir: string, name: string, durability: Durability, log: Logger): DurableComponent | null {
  if (durability === 'none') return null;
  return new DurableComponent({ dir: join(dataDir, 'durable', name), component: name, mode: durability, log });
}
