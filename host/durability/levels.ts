/**
 * The `durability` setting of a component (docs/DURABILITY.md): `none` keeps no journal (state
 * lives in memory only), `os` journals every event and releases outputs once the record is
 * written to the operating system (survives kill -9, not a power cut), `fsync` once it is on
 * the disk (survives both; the default).
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { DurableComponent } from './durable-component.js';

export const DURABILITY_LEVELS = ['none', 'os', 'fsync'] as const;
export type Durability = (typeof DURABILITY_LEVELS)[number];
export const DEFAULT_DURABILITY: Durability = 'fsync';

/** The journal of component `name` under `<dataDir>/durable/<name>/`, or null for `none`. */
export function openDurable(dataDir: string, name: string, durability: Durability, log: Logger): DurableComponent | null {
  if (durability === 'none') return null;
  return new DurableComponent({ dir: durableDir(dataDir, name), component: name, mode: durability, log });
}

/** Where component `name` keeps its journal, the modules it names and its checkpoints. */
export function durableDir(dataDir: string, name: string): string {
  return join(dataDir, 'durable', name);
}

/**
 * Deletes what crash survival kept of component `name` (a removal with `data=drop`): a component
 * deployed later under the same name starts empty instead of recovering the old state. The
 * component must be stopped (its journal closed) first. True when there was something to delete.
 */
export function dropDurable(dataDir: string, name: string): boolean {
  const dir = durableDir(dataDir, name);
  if (!existsSync(dir)) return false;
  rmSync(dir, { recursive: true, force: true });
  return true;
}
