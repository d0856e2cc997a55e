/**
 * What a handed-over module claims to be, and the small rules read off a claim and a policy.
 * Apart from checked-bytes.ts so that the engine's main thread can use them without loading
 * binaryen: its 14 MB of JavaScript is the prepare worker's to compile, not every engine's.
 */
import { createHash } from 'node:crypto';
import type { ModulePolicy } from './check.js';
import { DEFAULT_FUEL, type FuelBudgets } from './fuel-budgets.js';

/** What a module claims to be when it is handed over: the name it is stored under, maybe a version. */
export interface ClaimedModule {
  name: string;
  version?: string;
}

/** The version a rejection names: the claimed one, or a placeholder until the module has told its own. */
export const labelOf = (claimed: ClaimedModule): string => claimed.version ?? '(unversioned)';

/** The budgets a policy meters with: DEFAULT_FUEL when it says nothing, null when it runs unmetered. */
export const fuelOf = (policy: ModulePolicy): FuelBudgets | null => (policy.fuel === undefined ? DEFAULT_FUEL : policy.fuel);

/** Everything a prepared module depends on besides the engine's code, as one string. */
export function preparationKey(bytes: Uint8Array, claimed: ClaimedModule, policy: ModulePolicy): string {
  const fuel = fuelOf(policy);
  return JSON.stringify([
    createHash('sha256').update(bytes).digest('hex'),
    claimed.name,
    policy.memoryBase,
    policy.maxPages,
    policy.maxModuleBytes,
    policy.allowWasi,
    policy.trackDirtyPages === true,
    // Keys sorted: the same budgets written in another order are the same instrumentation.
    fuel && Object.fromEntries(Object.entries(fuel).sort(([a], [b]) => a.localeCompare(b))),
  ]);
}
