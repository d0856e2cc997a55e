// The health gate after an upgrade: counts a new version's faults in a window and gives the
// verdict that rolls it back.
import type { ProbationConfig } from './options.js';

/**
 * The health gate after an upgrade (docs/SAFETY.md, "Probation"). A version that was just
 * swapped in is watched for `windowMs`; if it faults more than `maxFaults` times in that window,
 * `fault()` returns the verdict and the component rolls back to the version it replaced.
 * Faults of a version that is not on probation (or after the window) only count as faults.
 */
export class Probation {
  readonly #config: ProbationConfig;
  readonly #now: () => number;
  #version: string | null = null;
  #since = 0;
  #faults: string[] = [];
  #violations = 0;

  constructor(config: ProbationConfig, now: () => number = () => performance.now()) {
    this.#config = config;
    this.#now = now;
  }

  /** The version now on probation, or null. */
  get version(): string | null {
    if (this.#version !== null && this.#now() - this.#since > this.#config.windowMs) this.end();
    return this.#version;
  }

  /** A new version went live after an upgrade: its window starts now. */
  begin(version: string): void {
    this.#version = version;
    this.#since = this.#now();
    this.#faults = [];
    this.#violations = 0;
  }

  /** The version left (rolled back, or replaced again): stop watching it. */
  end(): void {
    this.#version = null;
    this.#faults = [];
    this.#violations = 0;
  }

  /**
   * Counts a quota violation of `version` (a callback that hit a quota; docs/SAFETY.md). Returns
   * why it must be rolled back once more than `limit` callbacks did so within its window.
   */
  quotaViolation(version: string, resource: string, limit: number): string | null {
    if (this.version !== version) return null;
    this.#violations++;
    if (this.#violations <= limit) return null;
    const verdict =
      `probation: ${this.#violations} callbacks over an import quota within ${Math.round(this.#now() - this.#since)} ms of the ` +
      `upgrade to ${version} (limit ${limit} in ${this.#config.windowMs} ms); last: ${resource}`;
    this.end();
    return verdict;
  }

  /**
   * Counts a fault of `version`. Returns why it must be rolled back once it has faulted more
   * than `maxFaults` times within its window, else null.
   */
  fault(version: string, error: string): string | null {
    if (this.version !== version) return null;
    this.#faults.push(error);
    if (this.#faults.length <= this.#config.maxFaults) return null;
    const verdict =
      `probation: ${this.#faults.length} faults within ${Math.round(this.#now() - this.#since)} ms of the upgrade to ` +
      `${version} (limit ${this.#config.maxFaults} in ${this.#config.windowMs} ms); last: ${error}`;
    this.end();
    return verdict;
  }
}
