/**
 * The process-wide list of live labs and the exit and signal handlers that tear them down, so a
 * crashing or interrupted test still removes its namespaces and daemons. Process-wide on
 * purpose: exit handlers belong to the process, not to one lab.
 */

/** What the registry needs of a lab. */
export interface Cleanable {
  cleanupSync(): void;
}

class LabRegistry {
  readonly #live = new Set<Cleanable>();
  #handlersInstalled = false;
  #created = 0;

  /** A number for the next lab of this process (its namespace prefix carries it). */
  nextNumber(): number {
    return this.#created++;
  }

  add(lab: Cleanable): void {
    this.#live.add(lab);
    this.#installHandlers();
  }

  delete(lab: Cleanable): void {
    this.#live.delete(lab);
  }

  #cleanAll(): void {
    for (const lab of [...this.#live]) lab.cleanupSync();
  }

  #installHandlers(): void {
    if (this.#handlersInstalled) return;
    this.#handlersInstalled = true;
    // 'exit' also fires after an uncaught exception or an unhandled rejection.
    process.on('exit', () => this.#cleanAll());
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      const onSignal = (): void => {
        this.#cleanAll();
        // Re-raise with the default action so the exit status says "signal".
        process.removeListener(sig, onSignal);
        process.kill(process.pid, sig);
      };
      process.on(sig, onSignal);
    }
  }
}

export const labRegistry = new LabRegistry();
