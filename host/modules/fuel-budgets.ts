/**
 * Fuel budgets, in fuel units, per kind of callback (docs/SAFETY.md, "Fuel"). One unit is spent
 * at every loop iteration and at every entry of a function that loops or calls, so a budget
 * bounds the work a callback can do no matter what it computes. Separate budgets for the
 * lifecycle steps of a swap, because a migration over a million keys legitimately needs far
 * more than one message.
 *
 * Kept apart from fuel.ts so that reading a configuration does not load binaryen (14 MB).
 */
export interface FuelBudgets {
  /** on_message */
  message: number;
  /** on_timer */
  timer: number;
  /** on_signal */
  signal: number;
  /** init (first load over a fresh memory) */
  init: number;
  /** restart (after a swap, and after a fault) */
  restart: number;
  /** migrate and migrate_down */
  migrate: number;
  /** term, hold, version, status, abi_version, layout_version and top-level (start) code */
  lifecycle: number;
}
export type FuelKind = keyof FuelBudgets;

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

/** Which budget each export the host calls runs under (the ABI's exports, docs/ABI.md). */
export const EXPORT_FUEL_KIND: Readonly<Record<string, FuelKind>> = {
  on_message: 'message',
  on_timer: 'timer',
  on_signal: 'signal',
  init: 'init',
  restart: 'restart',
  migrate: 'migrate',
  migrate_down: 'migrate',
  term: 'lifecycle',
  hold: 'lifecycle',
  version: 'lifecycle',
  status: 'lifecycle',
  abi_version: 'lifecycle',
  layout_version: 'lifecycle',
};
