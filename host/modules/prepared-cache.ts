/** The engine's cache of prepared modules, so going back to a version skips preparing it again. */
import type { ModulePolicy } from './check.js';
import { type ClaimedModule, preparationKey } from './claimed.js';
import type { PreparedModule } from './prepared.js';

/** How many prepared modules an engine keeps by default (kv is ~20 KB of code compiled). */
export const PREPARED_CACHE_ENTRIES = 32;

/**
 * The prepared modules an engine has already built, so upgrading back to a version it ran before
 * (a rollback, A → B → A) skips the worker round trip, the binaryen rewriting, the compile and
 * the warm-up: a WebAssembly.Module can be instantiated any number of times, and a
 * PreparedModule is immutable.
 *
 * The key is everything the outcome depends on: the sha256 of the input bytes, the name the
 * module is prepared under, and the policy (memoryBase, maxPages, the size limit, WASI, fuel
 * budgets, dirty-page tracking). Only successes are kept; a rejected module is checked afresh
 * every time. Least recently used entries go first. Each engine owns one.
 */
export class PreparedModuleCache {
  readonly #capacity: number;
  readonly #modules = new Map<string, PreparedModule>();

  constructor(capacity = PREPARED_CACHE_ENTRIES) {
    this.#capacity = capacity;
  }

  /** The cached module for these bytes under this policy, or `prepare()`'s result, which is kept. */
  async get(
    bytes: Uint8Array,
    claimed: ClaimedModule,
    policy: ModulePolicy,
    prepare: () => Promise<PreparedModule>,
  ): Promise<PreparedModule> {
    const key = preparationKey(bytes, claimed, policy);
    const cached = this.#modules.get(key);
    // A claimed version the module doesn't report is a rejection: prepare() words it.
    if (cached && (claimed.version === undefined || claimed.version === cached.version)) {
      this.#modules.delete(key); // re-inserted: Map order is recency order
      this.#modules.set(key, cached);
      return cached;
    }
    const module = await prepare();
    this.#modules.delete(key);
    this.#modules.set(key, module);
    for (const oldest of this.#modules.keys()) {
      if (this.#modules.size <= this.#capacity) break;
      this.#modules.delete(oldest);
    }
    return module;
  }

  clear(): void {
    this.#modules.clear();
  }
}
