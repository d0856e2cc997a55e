/**
 * Fuel budgets, in fuel units, per kind of callback (docs/SAFETY.md, "Fuel"). One unit is spent
 * at every loop iteration and at every entry of a function that loops or calls, so a budget
 * bounds the work a callback can do no matter what it computes. Separate budgets for the
 * lifecycle steps of a swap, because a migration over a million keys legitimately needs far
 * more than one message.
 *
 * The kinds, and which export runs under which, are part of the ABI (EXPORTS in
 * host/abi/abi.ts); this file only sizes them. Kept apart from fuel.ts so that reading a
 * configuration does not load binaryen (14 MB).
 */
import { EXPORT_NAMES, EXPORTS, type ExportName, type FuelKind } from '../abi/abi.js';

export type { FuelKind };

/**
 * One budget per FuelKind: message (on_message), timer (on_timer), signal (on_signal),
 * init (first load over a fresh memory), restart (after a swap, and after a fault),
 * migrate (migrate and migrate_down), lifecycle (term, hold, version, status, abi_version,
 * layout_version and top-level code). A kind added to the ABI without a budget here fails to
 * compile.
 */
export type FuelBudgets = { [K in FuelKind]: number };

/** The fuel global is an i32: the largest budget it can hold. */
export const MAX_FUEL = 0x7fffffff;

export const DEFAULT_FUEL: FuelBudgets = {
  message: 20_000_000,
  timer: 20_000_000,
  signal: 20_000_000,
  init: 200_000_000,
  restart: 200_000_000,
  migrate: 2_000_000_000,
  lifecycle: 20_000_000,
};

/** Which budget each export the host calls runs under, taken from the ABI's export table. */
export const EXPORT_FUEL_KIND: Readonly<Record<ExportName, FuelKind>> = Object.fromEntries(
  EXPORT_NAMES.map((name) => [name, EXPORTS[name].fuel]),
) as Record<ExportName, FuelKind>;
