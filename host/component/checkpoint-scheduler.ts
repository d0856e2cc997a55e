/**
 * Keeps the component's dirty-page checkpoint close to memory, so that the sync at the start of
 * a swap has little left to copy: after each drain of the queue, at most every IDLE_SYNC_MS,
 * off the swap path and never inside an event (timers run outside the dispatcher's loop).
 */
import type { DirtyPageCheckpoint } from '../abi/checkpoint.js';

/** How soon after the queue went idle the checkpoint copies the pages written meanwhile. */
const IDLE_SYNC_MS = 20;

export class CheckpointScheduler {
  readonly #checkpoint: DirtyPageCheckpoint;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(checkpoint: DirtyPageCheckpoint) {
    this.#checkpoint = checkpoint;
  }

  get checkpoint(): DirtyPageCheckpoint {
    return this.#checkpoint;
  }

  /** The queue just went idle: sync soon, unless a sync is already planned. */
  idle(): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (!this.#stopped) this.#checkpoint.sync();
    }, IDLE_SYNC_MS);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
