// The engine's live stream (GET /v1/stream, server-sent events): samples of every component's
// counters, and every swap, fault and refusal as it happens. Read-only, so it needs no token and
// a plain EventSource will do: nothing secret ever goes into its URL.

/**
 * @typedef {{ name: string, version: string | null, state: string, queueDepth: number, events: number,
 *   eventsPerSec: number | null, faults: number, dropped: number }} ComponentSample
 * @typedef {{ at: number, components: ComponentSample[] }} Sample
 */

export class LiveStream {
  /** @type {Sample[]} */
  samples = [];
  /** The phases a swap report can list, in the order the swap runs them (from the engine). */
  /** @type {string[]} */
  phases = [];
  #backlog = 300;
  /** @type {Record<string, ((data: any) => void)[]>} */
  #listeners = {};

  /** @param {'hello' | 'sample' | 'swap' | 'fault' | 'rejected' | 'state'} event @param {(data: any) => void} listener */
  on(event, listener) {
    (this.#listeners[event] ??= []).push(listener);
  }

  start() {
    const source = new EventSource('/v1/stream');
    source.addEventListener('open', () => this.#emit('state', 'live'));
    source.addEventListener('error', () => this.#emit('state', source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting'));
    source.addEventListener('hello', (e) => {
      const hello = JSON.parse(/** @type {MessageEvent} */ (e).data);
      this.phases = hello.phases;
      this.samples = hello.samples;
      this.#backlog = Math.max(this.#backlog, hello.samples.length);
      this.#emit('hello', hello);
    });
    source.addEventListener('sample', (e) => {
      const sample = JSON.parse(/** @type {MessageEvent} */ (e).data);
      this.samples.push(sample);
      if (this.samples.length > this.#backlog) this.samples.shift();
      this.#emit('sample', sample);
    });
    for (const name of ['swap', 'fault', 'rejected']) {
      source.addEventListener(name, (e) => this.#emit(name, JSON.parse(/** @type {MessageEvent} */ (e).data)));
    }
  }

  /** The latest sample of one component, or null. @param {string} name @returns {ComponentSample | null} */
  latest(name) {
    const last = this.samples.at(-1);
    return last?.components.find((c) => c.name === name) ?? null;
  }

  /** @param {string} event @param {unknown} data */
  #emit(event, data) {
    for (const listener of this.#listeners[event] ?? []) listener(data);
  }
}
