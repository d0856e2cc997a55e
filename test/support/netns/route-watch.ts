// Watches kernel routes in a lab while something disruptive happens (upgrades, a SIGKILL): every
// 100 ms each (host, prefix) pair is looked up, and each lookup that finds no route is noted with
// its time, so a test can assert that no route flapped.
import type { Lab } from './lab.js';

export interface RouteWatch {
  /** "<host> lost <prefix> at <ms> ms", one per failed lookup, in order. */
  readonly missing: string[];
  /** Ends the watch after its current round. */
  stop(): Promise<void>;
}

export function watchRoutes(lab: Pick<Lab, 'route'>, pairs: readonly (readonly [host: string, prefix: string])[]): RouteWatch {
  const missing: string[] = [];
  let watching = true;
  const w0 = Date.now();
  const done = (async () => {
    while (watching) {
      for (const [host, prefix] of pairs) {
        if (!(await lab.route(host, prefix))) missing.push(`${host} lost ${prefix} at ${Date.now() - w0} ms`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    missing,
    stop: async () => {
      watching = false;
      await done;
    },
  };
}
