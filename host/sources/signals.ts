// Routes real POSIX signals (SIGHUP, SIGUSR1, SIGUSR2) to the components that subscribed.
import { SIGNALS, type SignalName } from '../abi/abi.js';

/**
 * Routes real POSIX signals to the components that subscribed to them. Installing a handler
 * also stops Node's default action (SIGHUP would otherwise end the process). A signal meeting a
 * full queue is dropped and counted by the component (signals coalesce in the kernel anyway).
 */
export class SignalRouter {
  readonly #handlers = new Map<SignalName, () => void>();

  constructor(deliver: (name: SignalName) => void) {
    for (const name of Object.keys(SIGNALS) as SignalName[]) {
      const handler = (): void => deliver(name);
      process.on(name, handler);
      this.#handlers.set(name, handler);
    }
  }

  close(): void {
    for (const [name, handler] of this.#handlers) process.off(name, handler);
    this.#handlers.clear();
  }
}
